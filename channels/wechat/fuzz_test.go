package wechat

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"hotline/normalize"
)

// FuzzParseMessage drives the XML decoding path of the callback: the safe-mode
// envelope, the message, the envelope it becomes and the commands in its text.
func FuzzParseMessage(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.xml"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(textMsg("1", "查询 20261127-000001")))
	f.Add([]byte(eventMsg("CLICK", "查询进度")))
	f.Add([]byte(`<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[` + sampleEncrypt + `]]></Encrypt></xml>`))
	f.Add([]byte(`<?xml version="1.0"?><!-- c --><xml><FromUserName>o</FromUserName></xml>`))
	f.Add([]byte(`<xml><Content><![CDATA[]]]]><![CDATA[>]]></Content></xml>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		if enc, err := parseEncrypted(doc); err == nil {
			if enc == "" {
				t.Fatal("empty Encrypt accepted")
			}
			_, _ = Decrypt(enc, sampleAESKey, sampleAppID) // must not panic
		} else if !errors.Is(err, normalize.ErrInvalid) {
			t.Fatalf("parseEncrypted error not ErrInvalid: %v", err)
		}
		m, err := ParseMessage(doc)
		if err != nil {
			if !errors.Is(err, normalize.ErrInvalid) {
				t.Fatalf("error not ErrInvalid: %v", err)
			}
			return
		}
		if m.FromUserName == "" || m.MsgType == "" {
			t.Fatalf("accepted without sender or type: %+v", m)
		}
		key := m.DedupKey()
		if len(key) > 4*maxIDLen+8 {
			t.Fatalf("dedup key too long: %d", len(key))
		}
		env, ok := m.Envelope(doc)
		if ok == m.IsEvent() {
			t.Fatalf("envelope ok=%v for event=%v", ok, m.IsEvent())
		}
		if ok {
			if env.Channel != normalize.WeChat || env.DedupKey != key || env.Sender.OpenID == "" {
				t.Fatalf("bad envelope %+v", env)
			}
			if err := env.Validate(0); err == nil && !utf8.ValidString(env.Text) {
				t.Fatal("invalid UTF-8 passed validation")
			}
		}
		if cmd, ok := ParseCommand(m.Content); ok && cmd.Kind == CmdBind && len(cmd.Phone) != 11 {
			t.Fatalf("bind to %q", cmd.Phone)
		}
		if _, err := TextReply(m, m.Content, m.Time()); err != nil {
			t.Fatalf("reply to an accepted message fails: %v", err)
		}
	})
}
