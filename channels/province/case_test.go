package province

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"hotline/normalize"
)

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

func TestParseCase(t *testing.T) {
	body, err := os.ReadFile("testdata/case.json")
	if err != nil {
		t.Fatal(err)
	}
	in, err := ParseCase(body, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	if in.CaseID != "SD-2026-000123" || in.Citizen.Phone != "13805340001" || !in.Confidential || !in.ReplyWanted {
		t.Fatalf("parsed %+v", in)
	}
	if want := time.Date(2026, 11, 26, 9, 30, 0, 0, shanghai); !in.Received.Equal(want) {
		t.Fatalf("received %v", in.Received)
	}
	if want := time.Date(2026, 12, 1, 23, 59, 59, 0, shanghai); !in.Due.Equal(want) {
		t.Fatalf("a due date is the end of that day in the city: %v", in.Due)
	}
	if len(in.Attachments) != 2 || in.Attachments[0].Name != "现场照片.jpg" || in.Attachments[1].Name != "说明.pdf" {
		t.Fatalf("attachments %+v", in.Attachments)
	}
	env := in.Envelope(body)
	if err := env.Validate(5000); err != nil {
		t.Fatal(err)
	}
	if env.Channel != normalize.ProvinceMailbox || env.DedupKey != "case:SD-2026-000123" || env.Meta[MetaCaseID] != in.CaseID ||
		env.Meta[MetaCaseHash] != in.Hash || env.Meta[MetaDueAt] != "2026-12-01T15:59:59Z" || env.Meta[MetaSource] != "山东省省长信箱" ||
		!env.Confidential || !env.ReplyWanted || env.Sender.Name != "王先生" || len(env.Attachments) != 2 || env.Attachments[0].URL == "" {
		t.Fatalf("envelope %+v", env)
	}
}

func TestCaseHashIsCanonical(t *testing.T) {
	a := `{"case_id":"C1","title":"路灯","content":"路灯坏了","citizen":{"phone":"13800138000"},"due_at":"2026-12-01T08:00:00+08:00"}`
	same := `{ "due_at": "2026-12-01T00:00:00Z", "citizen": {"phone": "+86 138 0013 8000"},
	  "content": "路灯坏了\r\n", "title": " 路灯", "case_id": "C1", "unknown_field": 1 }`
	changed := `{"case_id":"C1","title":"路灯","content":"路灯坏了两周了","citizen":{"phone":"13800138000"},"due_at":"2026-12-01T08:00:00+08:00"}`
	later := `{"case_id":"C1","title":"路灯","content":"路灯坏了","citizen":{"phone":"13800138000"},"due_at":"2026-12-02T08:00:00+08:00"}`
	h := func(s string) string {
		in, err := ParseCase([]byte(s), shanghai)
		if err != nil {
			t.Fatal(err)
		}
		return in.Hash
	}
	if h(a) != h(same) {
		t.Fatal("key order, spacing, phone format and time zone must not change the hash")
	}
	if h(a) == h(changed) || h(a) == h(later) {
		t.Fatal("a changed case must hash differently")
	}
}

func TestParseCaseRejects(t *testing.T) {
	cases := map[string]string{
		"not json":            `case`,
		"array":               `[]`,
		"null":                `null`,
		"no case_id":          `{"content":"x"}`,
		"case_id with slash":  `{"case_id":"a/b","content":"x"}`,
		"case_id with space":  `{"case_id":"a b","content":"x"}`,
		"case_id too long":    `{"case_id":"` + strings.Repeat("a", 65) + `","content":"x"}`,
		"empty case":          `{"case_id":"a"}`,
		"bad phone":           `{"case_id":"a","content":"x","citizen":{"phone":"call me"}}`,
		"bad due_at":          `{"case_id":"a","content":"x","due_at":"next week"}`,
		"bad received_at":     `{"case_id":"a","content":"x","received_at":"2026-13-01"}`,
		"attachment not http": `{"case_id":"a","content":"x","attachments":[{"name":"a","url":"file:///etc/passwd"}]}`,
		"attachment relative": `{"case_id":"a","content":"x","attachments":[{"name":"a","url":"/files/a"}]}`,
		"confidential string": `{"case_id":"a","content":"x","confidential":"yes"}`,
		"too many attachments": `{"case_id":"a","content":"x","attachments":[` +
			strings.TrimSuffix(strings.Repeat(`{"url":"http://x/a"},`, MaxAttachments+1), ",") + `]}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseCase([]byte(body), shanghai); !errors.Is(err, normalize.ErrInvalid) {
				t.Fatalf("want ErrInvalid, got %v", err)
			}
		})
	}
}

func TestParseCaseTimes(t *testing.T) {
	for s, want := range map[string]time.Time{
		"2026-11-26T09:30:00Z":      time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC),
		"2026-11-26T09:30:00+08:00": time.Date(2026, 11, 26, 1, 30, 0, 0, time.UTC),
		"2026-11-26 09:30:00":       time.Date(2026, 11, 26, 9, 30, 0, 0, shanghai),
		"2026-11-26":                time.Date(2026, 11, 26, 0, 0, 0, 0, shanghai),
	} {
		b, _ := json.Marshal(map[string]any{"case_id": "t", "content": "x", "received_at": s})
		in, err := ParseCase(b, shanghai)
		if err != nil || !in.Received.Equal(want) {
			t.Fatalf("%s: %v %v", s, in.Received, err)
		}
	}
}

func TestTitleOnlyCase(t *testing.T) {
	in, err := ParseCase([]byte(`{"case_id":"t","title":"噪音扰民"}`), shanghai)
	if err != nil {
		t.Fatal(err)
	}
	if env := in.Envelope(nil); env.Text != "噪音扰民" || env.Validate(0) != nil {
		t.Fatalf("%+v", env)
	}
}

func TestParseEvent(t *testing.T) {
	e, err := ParseEvent([]byte(`{"event":"replied","at":"2026-11-27T10:00:00+08:00","ticket_no":"20261127-000001","unit":"市城管局","text":"已修复"}`))
	if err != nil || e.Unit != "市城管局" {
		t.Fatalf("%+v %v", e, err)
	}
	for _, bad := range []string{`{"event":"done","at":"2026-11-27T10:00:00Z","ticket_no":"1"}`, `{"event":"closed","at":"now","ticket_no":"1"}`, `{"event":"closed","at":"2026-11-27T10:00:00Z"}`} {
		if _, err := ParseEvent([]byte(bad)); !errors.Is(err, normalize.ErrInvalid) {
			t.Fatalf("%s: %v", bad, err)
		}
	}
}
