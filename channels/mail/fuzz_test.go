package mail

import (
	"testing"
	"unicode/utf8"
)

func FuzzParse(f *testing.F) {
	for _, name := range []string{"gbk.eml", "gb18030.eml", "utf8-qp.eml", "html-only.eml", "attachment.eml", "autoreply.eml", "bounce.eml", "no-message-id.eml"} {
		f.Add(load(f, name))
	}
	f.Add([]byte("Subject: =?gb2312?B?\xff\xfe?=\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/html; charset=gbk\r\n\r\n<p>\xb2\xe2</p>\r\n--x"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		l, err := Parse(raw)
		if err != nil {
			return
		}
		for _, s := range []string{l.Text, l.Subject, l.FromName, l.MessageID} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 out of Parse: %q", s)
			}
		}
		env := l.Envelope(1, 1, 5000)
		if len(env.DedupKey) > 200 || env.DedupKey == "" {
			t.Fatalf("key %q", env.DedupKey)
		}
		if l.FromAddr != "" {
			if err := env.Validate(5000); err != nil {
				t.Fatalf("letter with a sender fails validation: %v", err)
			}
		}
		HTMLToText(string(raw))
	})
}
