package wechat

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"hotline/normalize"
)

func TestEnvelopes(t *testing.T) {
	cases := []struct {
		file    string
		text    string
		title   string
		address string
		atts    []normalize.Attachment
		meta    map[string]string
	}{
		{file: "voice.xml", text: "我家楼下的井盖丢了",
			atts: []normalize.Attachment{{Name: "voice", ContentType: "audio/amr", Ref: "media_voice_1"}}},
		{file: "image.xml",
			atts: []normalize.Attachment{{Name: "image", ContentType: "image/jpeg", Ref: "media_image_1", URL: "http://mmbiz.qpic.cn/abc"}}},
		{file: "location.xml", text: "位置：山东省德州市德城区东风中路（纬度 37.434，经度 116.359）", address: "山东省德州市德城区东风中路",
			meta: map[string]string{"latitude": "37.434", "longitude": "116.359"}},
		{file: "link.xml", text: "小区噪音扰民\n夜间施工\nhttps://example.org/a", title: "小区噪音扰民"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			m, err := ParseMessage(raw)
			if err != nil {
				t.Fatal(err)
			}
			env, ok := m.Envelope(raw)
			if !ok {
				t.Fatal("no envelope")
			}
			if err := env.Validate(0); err != nil {
				t.Fatalf("envelope invalid: %v", err)
			}
			if env.Text != c.text || env.Title != c.title || env.Sender.Address != c.address || env.Sender.OpenID != "oUser" {
				t.Fatalf("envelope = %+v", env)
			}
			if env.DedupKey != "msg:"+m.MsgID || string(env.Raw) != string(raw) {
				t.Fatalf("key %q / raw kept %v", env.DedupKey, string(env.Raw) == string(raw))
			}
			if !reflect.DeepEqual(env.Attachments, c.atts) {
				t.Fatalf("attachments = %+v, want %+v", env.Attachments, c.atts)
			}
			for k, v := range c.meta {
				if env.Meta[k] != v {
					t.Fatalf("meta[%s] = %q, want %q", k, env.Meta[k], v)
				}
			}
		})
	}
}

func TestVoiceWithoutRecognitionKeepsTheMedia(t *testing.T) {
	m, err := ParseMessage([]byte(`<xml><FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>voice</MsgType><MediaId>m1</MediaId><Format>speex</Format><MsgId>9</MsgId></xml>`))
	if err != nil {
		t.Fatal(err)
	}
	env, _ := m.Envelope(nil)
	if err := env.Validate(0); err != nil {
		t.Fatal(err)
	}
	if env.Text != "" || len(env.Attachments) != 1 || env.Attachments[0].Ref != "m1" || env.Attachments[0].ContentType != "audio/speex" {
		t.Fatalf("envelope = %+v", env)
	}
}

func TestEventDedupKey(t *testing.T) {
	m, err := ParseMessage([]byte(eventMsg("subscribe", "qrscene_1")))
	if err != nil {
		t.Fatal(err)
	}
	if m.DedupKey() != "evt:oUser:1764200000:subscribe" {
		t.Fatalf("key = %q", m.DedupKey())
	}
	if _, ok := m.Envelope(nil); ok {
		t.Fatal("an event became an envelope")
	}
}

func TestParseMessageRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"empty":         ``,
		"not xml":       `{"a":1}`,
		"other root":    `<msg><FromUserName>o</FromUserName></msg>`,
		"no from":       `<xml><CreateTime>1</CreateTime><MsgType>text</MsgType><MsgId>1</MsgId></xml>`,
		"no type":       `<xml><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgId>1</MsgId></xml>`,
		"bad time":      `<xml><FromUserName>o</FromUserName><CreateTime>yesterday</CreateTime><MsgType>text</MsgType><MsgId>1</MsgId></xml>`,
		"no msgid":      `<xml><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>`,
		"event no name": `<xml><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType></xml>`,
		"doctype":       `<!DOCTYPE xml [<!ENTITY x "y">]><xml><FromUserName>&x;</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><MsgId>1</MsgId></xml>`,
		"trailing":      `<xml><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><MsgId>1</MsgId></xml><xml></xml>`,
		"unclosed":      `<xml><FromUserName>o</FromUserName>`,
		"latin1":        "<xml><FromUserName>o\xff</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><MsgId>1</MsgId></xml>",
	} {
		if _, err := ParseMessage([]byte(doc)); !errors.Is(err, normalize.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}

func TestParseCommand(t *testing.T) {
	cases := []struct {
		in   string
		want Command
		ok   bool
	}{
		{"查询 20261127-000001", Command{Kind: CmdStatus, TicketNo: "20261127-000001"}, true},
		{"查询：２０２６１１２７－０００００１", Command{Kind: CmdStatus, TicketNo: "20261127-000001"}, true},
		{"查询工单20261127-000001", Command{Kind: CmdStatus, TicketNo: "20261127-000001"}, true},
		{" 查询 ", Command{Kind: CmdStatus}, true},
		{"查询进度", Command{Kind: CmdStatus}, true},
		{"进度查询", Command{Kind: CmdStatus}, true},
		{"查询一下为什么路灯不亮", Command{}, false},
		{"绑定 13800138000", Command{Kind: CmdBind, Phone: "13800138000"}, true},
		{"绑定手机号：+86 138 0013 8000", Command{Kind: CmdBind, Phone: "13800138000"}, true},
		{"绑定 12345", Command{Kind: CmdBindUsage}, true},
		{"绑定 05342345678", Command{Kind: CmdBindUsage}, true},
		{"绑定", Command{Kind: CmdBindUsage}, true},
		{"绑定了银行卡被扣钱", Command{}, false},
		{"验证 123456", Command{Kind: CmdVerify, Code: "123456"}, true},
		{"验证码123456", Command{Kind: CmdVerify, Code: "123456"}, true},
		{"验证一下", Command{}, false},
		{"路灯坏了", Command{}, false},
	}
	for _, c := range cases {
		got, ok := ParseCommand(c.in)
		if ok != c.ok || got != c.want {
			t.Errorf("ParseCommand(%q) = %+v, %v; want %+v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
