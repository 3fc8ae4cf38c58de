// Package province is the provincial exchange (省长信箱 cases, contract section
// "provincial exchange"): the signed inbound webhook that turns a case sent
// down by the provincial office into a province_mailbox ticket, the outbox
// senders that report events back and send cases up, and the background
// fetcher of a case's attachments. It never imports the store: what it needs
// is declared here as small interfaces.
package province

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The contract's signature headers.
const (
	HeaderTimestamp   = "X-Hotline-Timestamp"
	HeaderNonce       = "X-Hotline-Nonce"
	HeaderSignature   = "X-Hotline-Signature"
	HeaderIdempotency = "Idempotency-Key"
)

// DefaultWindow is how far a request's timestamp may be from our clock.
const DefaultWindow = 300 * time.Second

// Verification failures; every one is a 401 at the HTTP edge.
var (
	ErrUnsigned     = errors.New("missing signature headers")
	ErrStale        = errors.New("timestamp outside the allowed window")
	ErrBadSignature = errors.New("bad signature")
	ErrReplay       = errors.New("nonce already used")
)

// Sign returns the contract's signature: lowercase hex of
// HMAC-SHA256(secret, timestamp + "\n" + nonce + "\n" + body).
func Sign(secret, timestamp, nonce string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte{'\n'})
	m.Write([]byte(nonce))
	m.Write([]byte{'\n'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// NewNonce returns 16 random bytes in hex.
func NewNonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// SignRequest sets the three signature headers on req for body, signed with
// secret at now.
func SignRequest(req *http.Request, secret string, body []byte, now time.Time) {
	ts := strconv.FormatInt(now.Unix(), 10)
	nonce := NewNonce()
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderNonce, nonce)
	req.Header.Set(HeaderSignature, Sign(secret, ts, nonce, body))
}

// NonceStore remembers nonces: Claim records nonce for ttl and reports whether
// it was new (false: a replay). Implementations: RedisNonces, MemoryNonces,
// and the database's (store.ClaimProvinceNonce).
type NonceStore interface {
	Claim(ctx context.Context, nonce string, ttl time.Duration) (fresh bool, err error)
}

// Verifier checks the signature headers of a request.
type Verifier struct {
	// Secrets returns the accepted secrets: the current one, and the previous
	// one during a key rollover. Empty strings are ignored.
	Secrets func() []string
	Window  time.Duration // DefaultWindow when 0
	Nonces  NonceStore
	Now     func() time.Time // time.Now when nil
}

// Verify checks timestamp, signature and nonce of a request with body. It
// returns one of the Err* values above (wrapped), or a NonceStore failure
// (which is not the client's fault). The nonce is claimed only once the
// signature is good, so unsigned traffic cannot fill the nonce store.
func (v *Verifier) Verify(ctx context.Context, h http.Header, body []byte) error {
	ts, nonce, sig := h.Get(HeaderTimestamp), h.Get(HeaderNonce), strings.ToLower(h.Get(HeaderSignature))
	if ts == "" || nonce == "" || sig == "" {
		return ErrUnsigned
	}
	if len(nonce) > 128 || len(sig) != 64 {
		return ErrBadSignature
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrStale
	}
	window := v.Window
	if window <= 0 {
		window = DefaultWindow
	}
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	if d := now.Sub(time.Unix(sec, 0)); d > window || d < -window {
		return ErrStale
	}
	if !v.signedBy(ts, nonce, sig, body) {
		return ErrBadSignature
	}
	// A request is valid for window either side of now, so its nonce must be
	// remembered for twice the window.
	fresh, err := v.Nonces.Claim(ctx, nonce, 2*window)
	if err != nil {
		return err
	}
	if !fresh {
		return ErrReplay
	}
	return nil
}

// signedBy compares in constant time against every accepted secret (all of
// them, so the timing does not tell which one matched).
func (v *Verifier) signedBy(ts, nonce, sig string, body []byte) bool {
	got, err := hex.DecodeString(sig)
	if err != nil {
		return false
	}
	ok := false
	for _, s := range v.Secrets() {
		if s == "" {
			continue
		}
		want, _ := hex.DecodeString(Sign(s, ts, nonce, body))
		if hmac.Equal(got, want) {
			ok = true
		}
	}
	return ok
}
