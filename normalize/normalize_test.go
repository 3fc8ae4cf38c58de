package normalize

import (
	"errors"
	"testing"
)

func TestPhone(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"13800138000", "13800138000", true},
		{"+86 138-0013-8000", "13800138000", true},
		{"008613800138000", "13800138000", true},
		{"8613800138000", "13800138000", true},
		{"１３８００１３８０００", "13800138000", true},
		{"0534-2345678", "05342345678", true},
		{"010-12345678", "01012345678", true},
		{"12800138000", "", false},
		{"1380013800", "", false},
		{"138001380000", "", false},
		{"abc", "", false},
		{"", "", false},
		{"138 0013 800a", "", false},
	}
	for _, c := range cases {
		got, ok := Phone(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("Phone(%q) = %q,%v; want %q,%v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := Envelope{Channel: SMS, DedupKey: "1", Sender: Sender{Phone: "13800138000"}, Text: " 路灯坏了\r\n\x00 "}
	if err := ok.Validate(100); err != nil {
		t.Fatal(err)
	}
	if ok.Text != "路灯坏了" || ok.ReceivedAt.IsZero() {
		t.Fatalf("not cleaned: %q", ok.Text)
	}
	bad := []Envelope{
		{Channel: "fax", DedupKey: "1", Sender: Sender{Phone: "13800138000"}, Text: "x"},
		{Channel: SMS, Sender: Sender{Phone: "13800138000"}, Text: "x"},
		{Channel: SMS, DedupKey: "1", Sender: Sender{Phone: "13800138000"}, Text: "  "},
		{Channel: SMS, DedupKey: "1", Sender: Sender{Phone: "13800138000"}, Text: "\xff\xfe"},
		{Channel: SMS, DedupKey: "1", Text: "路灯坏了"},
		{Channel: SMS, DedupKey: "1", Sender: Sender{Phone: "13800138000"}, Text: "路灯坏了路灯坏了路灯坏了"},
	}
	for i, e := range bad {
		if err := e.Validate(10); !errors.Is(err, ErrInvalid) {
			t.Errorf("case %d: got %v, want ErrInvalid", i, err)
		}
	}
}
