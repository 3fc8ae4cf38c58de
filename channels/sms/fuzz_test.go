package sms

import (
	"errors"
	"testing"
	"unicode/utf8"

	"hotline/normalize"
)

func FuzzParseAliyun(f *testing.F) {
	f.Add([]byte(`[{"phone_number":"13800138000","content":"路灯坏了","send_time":"2026-11-26 08:15:00","dest_code":"1","sequence_id":1,"sign_name":"s"}]`))
	f.Add([]byte(`[{"phone_number":"13800138000","content":"\u0000","sequence_id":"x"}]`))
	f.Add([]byte(`[{}]`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		envs, err := ParseAliyun(body, shanghai)
		if err != nil {
			if !errors.Is(err, normalize.ErrInvalid) {
				t.Fatalf("error not ErrInvalid: %v", err)
			}
			return
		}
		for _, e := range envs {
			if e.DedupKey == "" || e.Sender.Phone == "" {
				t.Fatalf("accepted without key or phone: %+v", e)
			}
			if err := e.Validate(0); err == nil && !utf8.ValidString(e.Text) {
				t.Fatalf("invalid UTF-8 passed validation")
			}
		}
	})
}

func FuzzParseTencent(f *testing.F) {
	f.Add([]byte(`{"extend":"","mobile":"13800138000","nationcode":"86","sign":"s","text":"谢谢","time":1764115200}`))
	f.Add([]byte(`{"mobile":"13800138000","time":"1764115200"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := ParseTencent(body)
		if err != nil {
			if !errors.Is(err, normalize.ErrInvalid) {
				t.Fatalf("error not ErrInvalid: %v", err)
			}
			return
		}
		if len(e.DedupKey) > 200 || e.Sender.Phone == "" {
			t.Fatalf("bad envelope %+v", e)
		}
	})
}
