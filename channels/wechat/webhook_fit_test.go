package wechat

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFitPassive(t *testing.T) {
	short := "您好！您的留言已收到。"
	if fitPassive(short) != short {
		t.Fatal("short reply changed")
	}
	long := strings.Repeat("答复内容", 300) // 3600 bytes
	got := fitPassive(long)
	if len(got) > maxPassiveBytes || !utf8.ValidString(got) || !strings.HasSuffix(got, "（内容较长，已截断）") {
		t.Fatalf("len %d valid %v", len(got), utf8.ValidString(got))
	}
}
