package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// The query code lets a citizen see the status of a ticket without an account.
// It is random, shown once, and only its hash (bound to the ticket number) is
// stored. 10 characters of a 32-letter alphabet without look-alikes (no I, O,
// 0, 1): 50 bits, while wrong guesses are rate-limited per IP.

const codeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// QueryCodeLen is the length of a query code.
const QueryCodeLen = 10

// NewQueryCode returns a fresh random query code.
func NewQueryCode() string {
	b := make([]byte, QueryCodeLen)
	rand.Read(b)
	for i := range b {
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)] // 256 % 32 == 0: unbiased
	}
	return string(b)
}

// CleanQueryCode normalizes what a citizen typed: case, spaces, dashes and
// full-width letters or digits do not matter.
func CleanQueryCode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == ' ' || r == '-' || r == '\t' || r == '　':
		case r >= 'Ａ' && r <= 'Ｚ':
			b.WriteRune('A' + (r - 'Ａ'))
		case r >= '０' && r <= '９':
			b.WriteRune('0' + (r - '０'))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// HashQueryCode is what the store keeps for code on ticket no.
func HashQueryCode(ticketNo, code string) string {
	h := sha256.Sum256([]byte("hotline-query-code\x00" + ticketNo + "\x00" + CleanQueryCode(code)))
	return hex.EncodeToString(h[:])
}
