package web

import (
	"net/url"
	"testing"
	"unicode/utf8"

	"hotline/normalize"
)

func checkNormalized(t *testing.T, s Submission) {
	n, fe := s.Normalize(0)
	if fe != nil {
		if fe.Error() == "" {
			t.Fatalf("errors without message: %#v", fe)
		}
		return
	}
	if n.Content == "" || !utf8.ValidString(n.Content) || utf8.RuneCountInString(n.Content) > DefaultMaxContent {
		t.Fatalf("bad content accepted: %q", n.Content)
	}
	if n.Phone != "" {
		if p, ok := normalize.Phone(n.Phone); !ok || p != n.Phone {
			t.Fatalf("phone not normalized: %q", n.Phone)
		}
	}
	if utf8.RuneCountInString(n.Title) > MaxTitle || utf8.RuneCountInString(n.Name) > MaxName {
		t.Fatalf("limits not applied")
	}
	env := n.Envelope("k", nil)
	if err := env.Validate(DefaultMaxContent); err != nil {
		t.Fatalf("accepted submission fails envelope validation: %v (%+v)", err, n)
	}
}

func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(`{"channel":"website","name":"王五","phone":"13800138000","content":"路灯坏了","confidential":true}`))
	f.Add([]byte(`{"channel":"mayor_mailbox","email":"a@b.cn","content":"\u0000x"}`))
	f.Add([]byte(`{"content":"` + "\xff" + `"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := ParseJSON(body)
		if err != nil {
			return
		}
		checkNormalized(t, s)
	})
}

func FuzzParseValues(f *testing.F) {
	f.Add("channel=website&content=%E8%B7%AF%E7%81%AF&phone=%2B86+138+0013+8000&reply_wanted=on")
	f.Add("channel=mayor_mailbox&content=x&email=a%40b")
	f.Add("content=%ff%fe&title=%00")
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		checkNormalized(t, ParseValues(v))
	})
}

func TestQueryCode(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c := NewQueryCode()
		if len(c) != QueryCodeLen || seen[c] {
			t.Fatalf("code %q", c)
		}
		for _, r := range c {
			if r == 'O' || r == '0' || r == 'I' || r == '1' {
				t.Fatalf("look-alike in %q", c)
			}
		}
		seen[c] = true
	}
	if HashQueryCode("20261127-000001", "abcd-efgh jk") != HashQueryCode("20261127-000001", "ABCDEFGHJK") {
		t.Fatal("typing variants differ")
	}
	if HashQueryCode("20261127-000001", "ABCDEFGHJK") == HashQueryCode("20261127-000002", "ABCDEFGHJK") {
		t.Fatal("hash not bound to the ticket")
	}
}
