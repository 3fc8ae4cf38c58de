package sms

import (
	"errors"
	"testing"
	"time"

	"hotline/normalize"
)

var shanghai = time.FixedZone("CST", 8*3600)

func TestParseAliyun(t *testing.T) {
	body := `[{"phone_number":"13800138000","content":"小区路灯坏了","send_time":"2026-11-26 08:15:00","dest_code":"1234","sequence_id":1234567890123,"sign_name":"德州12345"},
	          {"phone_number":"+8613900139000","content":"谢谢","send_time":"2026-11-26 08:16:00","dest_code":"1234","sequence_id":"abc-9","sign_name":"德州12345"}]`
	envs, err := ParseAliyun([]byte(body), shanghai)
	if err != nil {
		t.Fatal(err)
	}
	if len(envs) != 2 {
		t.Fatalf("%d envelopes", len(envs))
	}
	e := envs[0]
	if e.Channel != normalize.SMS || e.DedupKey != "aliyun:1234567890123" || e.Sender.Phone != "13800138000" || e.Text != "小区路灯坏了" {
		t.Fatalf("first: %+v", e)
	}
	if !e.ReceivedAt.Equal(time.Date(2026, 11, 26, 0, 15, 0, 0, time.UTC)) {
		t.Fatalf("time %v", e.ReceivedAt)
	}
	if envs[1].DedupKey != "aliyun:abc-9" || envs[1].Sender.Phone != "13900139000" {
		t.Fatalf("second: %+v", envs[1])
	}
	if e.Meta["dest_code"] != "1234" || len(e.Raw) == 0 {
		t.Fatalf("meta/raw: %+v", e.Meta)
	}
}

func TestParseAliyunRejects(t *testing.T) {
	for name, body := range map[string]string{
		"not json":       `{`,
		"object":         `{"phone_number":"13800138000"}`,
		"empty array":    `[]`,
		"no sequence":    `[{"phone_number":"13800138000","content":"x"}]`,
		"bad phone":      `[{"phone_number":"12345","content":"x","sequence_id":1}]`,
		"bad time":       `[{"phone_number":"13800138000","content":"x","sequence_id":1,"send_time":"yesterday"}]`,
		"sequence obj":   `[{"phone_number":"13800138000","content":"x","sequence_id":{}}]`,
		"trailing":       `[{"phone_number":"13800138000","content":"x","sequence_id":1}] []`,
		"one bad of two": `[{"phone_number":"13800138000","content":"x","sequence_id":1},{"phone_number":"1","content":"x","sequence_id":2}]`,
	} {
		if _, err := ParseAliyun([]byte(body), shanghai); !errors.Is(err, normalize.ErrInvalid) {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

func TestParseTencent(t *testing.T) {
	body := `{"extend":"","mobile":"13800138000","nationcode":"86","sign":"德州12345","text":"暖气不热","time":1764115200}`
	e, err := ParseTencent([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if e.Sender.Phone != "13800138000" || e.Text != "暖气不热" || e.ReceivedAt.Unix() != 1764115200 {
		t.Fatalf("%+v", e)
	}
	again, _ := ParseTencent([]byte(body))
	if again.DedupKey != e.DedupKey {
		t.Fatal("dedup key not stable")
	}
	other, _ := ParseTencent([]byte(`{"mobile":"13800138000","nationcode":"86","text":"暖气不热了","time":1764115200}`))
	if other.DedupKey == e.DedupKey {
		t.Fatal("different text, same key")
	}
	for name, bad := range map[string]string{
		"no time":     `{"mobile":"13800138000","text":"x"}`,
		"bad mobile":  `{"mobile":"1380","text":"x","time":1}`,
		"foreign":     `{"mobile":"13800138000","nationcode":"1","text":"x","time":1764115200}`,
		"array":       `[]`,
		"time string": `{"mobile":"13800138000","text":"x","time":"soon"}`,
	} {
		if _, err := ParseTencent([]byte(bad)); !errors.Is(err, normalize.ErrInvalid) {
			t.Errorf("%s: got %v", name, err)
		}
	}
}
