package province

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSignKnownVector(t *testing.T) {
	// python3: hmac.new(b'S3cret', b'1764115200\nabc123\n{"case_id":"X"}', hashlib.sha256).hexdigest()
	got := Sign("S3cret", "1764115200", "abc123", []byte(`{"case_id":"X"}`))
	if want := "b98ee175620dcdea5964bf7a9f308b233ccc810216f8602dc6534dbe9d2fac56"; got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

type failingNonces struct{}

func (failingNonces) Claim(context.Context, string, time.Duration) (bool, error) {
	return false, errors.New("redis down")
}

func TestVerify(t *testing.T) {
	now := time.Unix(1764115200, 0)
	body := []byte(`{"case_id":"SD-1","content":"路灯坏了"}`)
	headers := func(secret string, ts time.Time, nonce string, body []byte) http.Header {
		h := http.Header{}
		s := strconv.FormatInt(ts.Unix(), 10)
		h.Set(HeaderTimestamp, s)
		h.Set(HeaderNonce, nonce)
		h.Set(HeaderSignature, Sign(secret, s, nonce, body))
		return h
	}
	newV := func() *Verifier {
		return &Verifier{Secrets: func() []string { return []string{"new-key", "old-key"} }, Nonces: &MemoryNonces{}, Now: func() time.Time { return now }}
	}
	cases := []struct {
		name string
		h    http.Header
		body []byte
		want error
	}{
		{"current secret", headers("new-key", now, "n1", body), body, nil},
		{"previous secret during rollover", headers("old-key", now, "n2", body), body, nil},
		{"uppercase hex", func() http.Header {
			h := headers("new-key", now, "n3", body)
			h.Set(HeaderSignature, strings.ToUpper(h.Get(HeaderSignature)))
			return h
		}(), body, nil},
		{"299 s behind", headers("new-key", now.Add(-299*time.Second), "n4", body), body, nil},
		{"299 s ahead", headers("new-key", now.Add(299*time.Second), "n5", body), body, nil},
		{"301 s behind", headers("new-key", now.Add(-301*time.Second), "n6", body), body, ErrStale},
		{"301 s ahead", headers("new-key", now.Add(301*time.Second), "n7", body), body, ErrStale},
		{"unknown secret", headers("guess", now, "n8", body), body, ErrBadSignature},
		{"body changed", headers("new-key", now, "n9", body), []byte(`{"case_id":"SD-2"}`), ErrBadSignature},
		{"missing signature", func() http.Header {
			h := headers("new-key", now, "n10", body)
			h.Del(HeaderSignature)
			return h
		}(), body, ErrUnsigned},
		{"timestamp not a number", func() http.Header {
			h := headers("new-key", now, "n11", body)
			h.Set(HeaderTimestamp, "yesterday")
			return h
		}(), body, ErrStale},
		{"signature not hex", func() http.Header {
			h := headers("new-key", now, "n12", body)
			h.Set(HeaderSignature, strings.Repeat("z", 64))
			return h
		}(), body, ErrBadSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := newV().Verify(context.Background(), c.h, c.body); !errors.Is(err, c.want) || (c.want == nil && err != nil) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
		})
	}

	t.Run("replay", func(t *testing.T) {
		v := newV()
		h := headers("new-key", now, "same", body)
		if err := v.Verify(context.Background(), h, body); err != nil {
			t.Fatal(err)
		}
		if err := v.Verify(context.Background(), h, body); !errors.Is(err, ErrReplay) {
			t.Fatalf("second use: %v", err)
		}
		// signed with the other key, same nonce: still a replay
		if err := v.Verify(context.Background(), headers("old-key", now, "same", body), body); !errors.Is(err, ErrReplay) {
			t.Fatalf("same nonce, other key: %v", err)
		}
	})
	t.Run("bad signature does not burn the nonce", func(t *testing.T) {
		v := newV()
		if err := v.Verify(context.Background(), headers("guess", now, "x", body), body); !errors.Is(err, ErrBadSignature) {
			t.Fatal(err)
		}
		if err := v.Verify(context.Background(), headers("new-key", now, "x", body), body); err != nil {
			t.Fatalf("genuine request after a forged one with its nonce: %v", err)
		}
	})
	t.Run("no secret configured", func(t *testing.T) {
		v := &Verifier{Secrets: func() []string { return []string{"", ""} }, Nonces: &MemoryNonces{}, Now: func() time.Time { return now }}
		if err := v.Verify(context.Background(), headers("", now, "e", body), body); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("empty secret must never verify: %v", err)
		}
	})
	t.Run("nonce store down", func(t *testing.T) {
		v := newV()
		v.Nonces = failingNonces{}
		err := v.Verify(context.Background(), headers("new-key", now, "f", body), body)
		if err == nil || errors.Is(err, ErrReplay) || errors.Is(err, ErrBadSignature) {
			t.Fatalf("store failure must be reported as such: %v", err)
		}
	})
}

func TestSignRequestVerifies(t *testing.T) {
	body := []byte(`{"event":"accepted"}`)
	req, _ := http.NewRequest("POST", "http://x/cases/1/events", nil)
	SignRequest(req, "k", body, time.Now())
	v := &Verifier{Secrets: func() []string { return []string{"k"} }, Nonces: &MemoryNonces{}}
	if err := v.Verify(context.Background(), req.Header, body); err != nil {
		t.Fatal(err)
	}
	if h := req.Header.Get(HeaderSignature); h != strings.ToLower(h) || len(h) != 64 {
		t.Fatalf("signature must be lowercase hex: %q", h)
	}
}

func TestMemoryNoncesExpire(t *testing.T) {
	m := &MemoryNonces{}
	ctx := context.Background()
	if ok, _ := m.Claim(ctx, "a", 20*time.Millisecond); !ok {
		t.Fatal("first claim")
	}
	if ok, _ := m.Claim(ctx, "a", 20*time.Millisecond); ok {
		t.Fatal("second claim within ttl")
	}
	time.Sleep(30 * time.Millisecond)
	if ok, _ := m.Claim(ctx, "a", time.Minute); !ok {
		t.Fatal("claim after expiry")
	}
}

func newSigned(secret string, body []byte) (http.Header, error) {
	req, err := http.NewRequest("POST", "http://x/", nil)
	if err != nil {
		return nil, err
	}
	SignRequest(req, secret, body, time.Now())
	return req.Header, nil
}
