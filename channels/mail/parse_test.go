package mail

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hotline/normalize"
)

func load(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseFixtures(t *testing.T) {
	for _, c := range []struct {
		file                    string
		id, subject, name, from string
		text                    []string // substrings of the body
		notText                 []string
		parts                   int
		noAuto                  bool
		fromHTML                bool
	}{
		{file: "gbk.eml", id: "20261126091200.GBK001@example.cn", subject: "反映路灯损坏问题", name: "张喆", from: "zhangzhe@example.cn",
			text: []string{"张喆", "朱镕", "路灯坏了一个多月"}},
		{file: "gb18030.eml", id: "gb18030-4byte@example.cn", subject: "生僻字𠀀无法录入", name: "李𪚥", from: "li@example.cn",
			text: []string{"“𠀀”和“𪚥”", "13800138000"}},
		{file: "utf8-qp.eml", id: "utf8-qp-1@example.com", subject: "关于增设公交专线的建议", name: "王五", from: "wangwu@example.com",
			text: []string{"建议在火车站增设公交专线，方便旅客出行。\n此致"}, notText: []string{"HTML版本"}},
		{file: "html-only.eml", id: "html-only-1@example.com", subject: "物业不作为", from: "zhao@example.com", fromHTML: true,
			text:    []string{"市长您好：\n", "我们小区 物业<长期>不作为，", "垃圾&杂物堆积。\n请 尽快处理。", "地址 德城区天衢路1号"},
			notText: []string{"alert", "color", "标题不要", "<p>", "&nbsp;", "tracker"}},
		{file: "attachment.eml", id: "attach-1@example.com", subject: "道路积水（附照片）", name: "Qian Liu", from: "qian@example.com",
			text: []string{"积水严重"}, parts: 2},
		{file: "autoreply.eml", id: "ooo-1@example.com", subject: "自动回复：您的来信已收到", from: "sun@example.com", noAuto: true, text: []string{"休假"}},
		{file: "bounce.eml", id: "bounce-1@mx.example.com", subject: "Undelivered Mail Returned to Sender", name: "Mail Delivery System",
			from: "mailer-daemon@mx.example.com", noAuto: true, text: []string{"could not"}, parts: 2},
		{file: "no-message-id.eml", subject: "噪音扰民", from: "zhou@example.com", text: []string{"楼下饭店夜间噪音扰民。"}},
		{file: "reply.eml", id: "20261127100200.REPLY01@example.cn", subject: "Re: 反映路灯损坏问题", name: "张喆", from: "zhangzhe@example.cn",
			text: []string{"解放北路32号门口，一共三盏"}},
	} {
		t.Run(c.file, func(t *testing.T) {
			l, err := Parse(load(t, c.file))
			if err != nil {
				t.Fatal(err)
			}
			if l.MessageID != c.id || l.Subject != c.subject || l.FromName != c.name || l.FromAddr != c.from {
				t.Fatalf("header: id=%q subject=%q name=%q from=%q", l.MessageID, l.Subject, l.FromName, l.FromAddr)
			}
			for _, s := range c.text {
				if !strings.Contains(l.Text, s) {
					t.Errorf("text lacks %q:\n%s", s, l.Text)
				}
			}
			for _, s := range c.notText {
				if strings.Contains(l.Text, s) {
					t.Errorf("text has %q:\n%s", s, l.Text)
				}
			}
			if len(l.Parts) != c.parts || (l.NoAutoReply != "") != c.noAuto || l.FromHTML != c.fromHTML {
				t.Fatalf("parts=%d noauto=%q html=%v", len(l.Parts), l.NoAutoReply, l.FromHTML)
			}
			env := l.Envelope(7, 42, 5000)
			if err := env.Validate(5000); err != nil {
				t.Fatalf("envelope invalid: %v", err)
			}
			if env.Channel != normalize.MayorMailbox || env.Sender.Email != c.from || env.Title != c.subject {
				t.Fatalf("envelope %+v", env)
			}
			wantKey := "mid:" + c.id
			if c.id == "" {
				wantKey = "uid:7:42"
			}
			if env.DedupKey != wantKey || (env.Meta["no_autoreply"] == "1") != c.noAuto || env.Meta["message_id"] != c.id {
				t.Fatalf("key %q meta %v", env.DedupKey, env.Meta)
			}
		})
	}
}

func TestParseDetails(t *testing.T) {
	l, _ := Parse(load(t, "utf8-qp.eml"))
	if strings.Join(l.References, " ") != "root@example.com earlier@example.com" || len(l.InReplyTo) != 1 || l.InReplyTo[0] != "earlier@example.com" {
		t.Fatalf("threading %v %v", l.References, l.InReplyTo)
	}
	l, _ = Parse(load(t, "reply.eml"))
	want := []string{"hotline.1.20261127000001@dezhou.gov.example", "20261126091200.GBK001@example.cn"}
	if ids := ReplyIDs(l); strings.Join(ids, " ") != strings.Join(want, " ") {
		t.Fatalf("reply ids %v", ids)
	}
	l, _ = Parse(load(t, "attachment.eml"))
	if l.Parts[0].Name != "现场照片.png" || l.Parts[0].ContentType != "image/png" || len(l.Parts[0].Data) < 60 || l.Parts[1].Name != "setup.exe" {
		t.Fatalf("parts %+v", l.Parts)
	}
}

func TestAutoReasons(t *testing.T) {
	for raw, want := range map[string]bool{
		"From: a@example.com\r\nAuto-Submitted: no\r\n\r\nhi":                  false,
		"From: a@example.com\r\nAuto-Submitted: auto-generated\r\n\r\nhi":      true,
		"From: a@example.com\r\nPrecedence: bulk\r\n\r\nhi":                    true,
		"From: a@example.com\r\nPrecedence: list\r\n\r\nhi":                    true,
		"From: a@example.com\r\nPrecedence: junk\r\n\r\nhi":                    true,
		"From: a@example.com\r\nList-Id: <x.example.com>\r\n\r\nhi":            true,
		"From: no-reply@example.com\r\n\r\nhi":                                 true,
		"From: NoReply@example.com\r\n\r\nhi":                                  true,
		"From: do_not_reply@example.com\r\n\r\nhi":                             true,
		"From: postmaster@example.com\r\n\r\nhi":                               true,
		"From: Mailer-Daemon@example.com\r\n\r\nhi":                            true,
		"From: noreplyer@example.com\r\n\r\nhi":                                false,
		"From: a@example.com\r\nX-Auto-Response-Suppress: All\r\n\r\nhi":       true,
		"From: a@example.com\r\nReturn-Path: <>\r\n\r\nhi":                     true,
		"From: citizen@example.com\r\nSubject: =?utf-8?B?5L2g5aW9?=\r\n\r\nhi": false,
	} {
		l, err := Parse([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		if (l.NoAutoReply != "") != want {
			t.Errorf("%q: reason %q", raw, l.NoAutoReply)
		}
	}
}

func TestEnvelopeEdges(t *testing.T) {
	l := &Letter{Subject: "只有标题", FromAddr: "a@b.cn"}
	if e := l.Envelope(1, 2, 100); e.Text != "只有标题" || e.DedupKey != "uid:1:2" {
		t.Fatalf("%+v", e)
	}
	l = &Letter{Text: strings.Repeat("长", 300), FromAddr: "a@b.cn", MessageID: strings.Repeat("x", 250) + "@b.cn"}
	e := l.Envelope(1, 2, 100)
	if n := len([]rune(e.Text)); n != 100 || !strings.Contains(e.Text, "正文过长") {
		t.Fatalf("cut to %d: %q", n, e.Text)
	}
	if len(e.DedupKey) > 200 || !strings.HasPrefix(e.DedupKey, "mid:sha256:") {
		t.Fatalf("key %q", e.DedupKey)
	}
	if err := e.Validate(100); err != nil {
		t.Fatal(err)
	}
}
