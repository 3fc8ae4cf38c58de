package normalize

import "strings"

// Phone normalizes a Chinese phone number so the same citizen matches across
// channels: mobiles become 11 digits (country code, spaces and dashes dropped),
// landlines keep their area code ("05342345678"). ok is false for anything else.
func Phone(s string) (phone string, ok bool) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= '０' && r <= '９': // full-width digits typed on phones
			b.WriteRune('0' + (r - '０'))
		case r == '+' && i == 0:
		case r == ' ' || r == '-' || r == '(' || r == ')':
		default:
			return "", false
		}
	}
	d := b.String()
	switch {
	case strings.HasPrefix(d, "0086"):
		d = d[4:]
	case strings.HasPrefix(d, "86") && len(d) == 13:
		d = d[2:]
	}
	switch {
	case len(d) == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9':
		return d, true
	case len(d) >= 10 && len(d) <= 12 && d[0] == '0' && d[1] != '0':
		return d, true // area code (3-4 digits with the 0) + 7-8 digit number
	}
	return "", false
}

// MaskPhone hides the middle of a number for roles that may not see it.
func MaskPhone(p string) string {
	if len(p) < 7 {
		return "****"
	}
	return p[:3] + "****" + p[len(p)-4:]
}
