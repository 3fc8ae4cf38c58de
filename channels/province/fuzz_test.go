package province

import (
	"errors"
	"os"
	"testing"
	"unicode/utf8"

	"hotline/normalize"
)

func FuzzParseCase(f *testing.F) {
	if b, err := os.ReadFile("testdata/case.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"case_id":"C1","content":"路灯坏了","due_at":"2026-12-01"}`))
	f.Add([]byte(`{"case_id":"C1","title":"t","citizen":{"phone":"0534-2345678"},"attachments":[{"name":"../../x","url":"http://h/a"}]}`))
	f.Add([]byte(`{"case_id":"\u0000","content":"\u0000"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := ParseCase(body, shanghai)
		if err != nil {
			if !errors.Is(err, normalize.ErrInvalid) {
				t.Fatalf("error not ErrInvalid: %v", err)
			}
			return
		}
		if in.CaseID == "" || len(in.CaseID) > MaxCaseIDLen || !utf8.ValidString(in.CaseID) || len(in.Hash) != 64 {
			t.Fatalf("accepted bad case %+v", in)
		}
		again, err := ParseCase(body, shanghai)
		if err != nil || again.Hash != in.Hash {
			t.Fatalf("hash not deterministic: %v", err)
		}
		for _, a := range in.Attachments {
			if a.Name == "" || a.URL == "" || len(a.Name) > 400 {
				t.Fatalf("attachment %+v", a)
			}
			for _, r := range a.Name {
				if r == '/' || r == '\\' || r < 0x20 {
					t.Fatalf("unsafe attachment name %q", a.Name)
				}
			}
		}
		env := in.Envelope(body)
		if err := env.Validate(0); err != nil && !errors.Is(err, normalize.ErrInvalid) {
			t.Fatalf("validate: %v", err)
		}
		if env.DedupKey != "case:"+in.CaseID || env.Meta[MetaCaseID] != in.CaseID {
			t.Fatalf("envelope %+v", env)
		}
	})
}

func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(`{"event":"accepted","at":"2026-11-27T10:00:00+08:00","ticket_no":"20261127-000001","unit":"","text":"已受理"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := ParseEvent(body)
		if err != nil {
			if !errors.Is(err, normalize.ErrInvalid) {
				t.Fatalf("error not ErrInvalid: %v", err)
			}
			return
		}
		if !ValidEvent(e.Event) || e.TicketNo == "" {
			t.Fatalf("accepted %+v", e)
		}
	})
}
