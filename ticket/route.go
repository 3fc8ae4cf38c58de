package ticket

import "hotline/normalize"

// Outbound routes: how a reply reaches the citizen.
const (
	ViaSMS      = "sms"
	ViaWeChat   = "wechat"
	ViaEmail    = "email"
	ViaProvince = "province"
)

// Route picks how a reply on a ticket of channel ch reaches citizen c: the
// channel the citizen used where it can carry a reply, else SMS to their phone,
// else e-mail. ok is false when the citizen cannot be reached at all.
func Route(ch normalize.Channel, c Citizen) (via, to string, ok bool) {
	switch {
	case ch == normalize.WeChat && c.OpenID != "":
		return ViaWeChat, c.OpenID, true
	case ch == normalize.MayorMailbox && c.Email != "":
		return ViaEmail, c.Email, true
	case ch == normalize.ProvinceMailbox:
		return ViaProvince, "", true
	case c.Phone != "" && isMobile(c.Phone):
		return ViaSMS, c.Phone, true
	case c.Email != "":
		return ViaEmail, c.Email, true
	}
	return "", "", false
}

func isMobile(p string) bool { return len(p) == 11 && p[0] == '1' }

// RouteVia is the recipient of citizen c on an explicitly chosen route, e.g. SMS
// to the bound phone when a WeChat customer-service window has closed.
func RouteVia(via string, c Citizen) (to string, ok bool) {
	switch via {
	case ViaSMS:
		return c.Phone, c.Phone != "" && isMobile(c.Phone)
	case ViaWeChat:
		return c.OpenID, c.OpenID != ""
	case ViaEmail:
		return c.Email, c.Email != ""
	}
	return "", false
}
