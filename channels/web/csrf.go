package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// CSRF protection of the form posts: a random value in an HttpOnly cookie, and
// in the form a token that is the HMAC of that value under a server key. A
// cross-site page can make the browser send the cookie but cannot read it, so
// it cannot produce the token; and without the server key, planting a cookie
// (say from a sibling subdomain) does not help either.

const csrfCookie = "hotline_form"

func newCookieValue() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// csrfToken is the form token for cookie value v.
func csrfToken(key []byte, v string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("csrf\x00" + v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrfOK checks the token posted with the form against the cookie.
func csrfOK(key []byte, cookie, token string) bool {
	if len(key) == 0 || len(cookie) < 32 || token == "" {
		return false
	}
	return hmac.Equal([]byte(token), []byte(csrfToken(key, cookie)))
}

// dedupKey derives the submission's dedup key from the form's one-time id and
// the cookie, so a re-post of the same form (double click, reload) is one
// ticket, and nobody can aim at another citizen's key.
func formDedupKey(cookie, formID string) string {
	m := hmac.New(sha256.New, []byte(cookie))
	m.Write([]byte("form\x00" + formID))
	return "form:" + base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:32]
}

func secureRequest(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}
