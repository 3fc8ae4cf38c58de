package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

// TestMailAndWeChatSeries: the receiver's and WeChat's series exist from the
// start (at 0) and move with the calls.
func TestMailAndWeChatSeries(t *testing.T) {
	m := New()
	out := scrape(t, m)
	for _, want := range []string{
		"# TYPE hotline_mail_letters_total counter", `hotline_mail_letters_total{outcome="joined"} 0`,
		"# TYPE hotline_mail_connected gauge", "hotline_mail_connected 0",
		"# TYPE hotline_wechat_passive_replies_total counter", `hotline_wechat_passive_replies_total{kind="welcome"} 0`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("fresh registry lacks %q", want)
		}
	}
	m.MailLetter("ticket")
	m.MailLetter("ticket")
	m.MailConnected(true)
	m.WeChatPassiveReply("reply")
	out = scrape(t, m)
	for _, want := range []string{`hotline_mail_letters_total{outcome="ticket"} 2`, "hotline_mail_connected 1", `hotline_wechat_passive_replies_total{kind="reply"} 1`} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q", want)
		}
	}
	m.MailConnected(false)
	if out = scrape(t, m); !strings.Contains(out, "hotline_mail_connected 0") {
		t.Error("gauge not reset")
	}
}
