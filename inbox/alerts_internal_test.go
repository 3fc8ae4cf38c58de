package inbox

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestAlertKindsLabelled checks that every alert kind the pipeline writes
// (FlowTx.Alert in transitions, Store.RaiseAlert in the scheduler) has a
// Chinese label on the alert page.
func TestAlertKindsLabelled(t *testing.T) {
	files, err := filepath.Glob("../pipeline/*.go")
	if err != nil || len(files) == 0 {
		t.Fatal("no pipeline sources", err)
	}
	re := regexp.MustCompile(`(?:\.Alert\(|RaiseAlert\(ctx, )"([a-z_]+)"`)
	found := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			found[m[1]] = true
		}
	}
	if len(found) < 3 {
		t.Fatalf("found only %v: the pattern is out of date", found)
	}
	h := &Handler{Opt: Options{SLA: 3 * time.Minute, AnswerAlertWithin: 2 * time.Minute}}
	for k := range found {
		if !slices.Contains(alertKinds, k) || strings.HasPrefix(h.alertKindLabel(k, ""), "其他预警") {
			t.Errorf("alert kind %q has no Chinese label", k)
		}
	}
	for _, c := range []struct{ kind, ch, want string }{
		{"unanswered", "sms", "短信即将超过3分钟未答复"},
		{"unanswered", "wechat", "微信即将超过3分钟未答复"},
		{"overdue", "", "工单逾期"},
		{"followup_late", "", "回访超期"},
		{"something", "", "其他预警（something）"},
	} {
		if got := h.alertKindLabel(c.kind, c.ch); got != c.want {
			t.Errorf("%s/%s: %q, want %q", c.kind, c.ch, got, c.want)
		}
	}
	h.Opt.AnswerAlertWithin = 5 * time.Minute
	if got := h.alertKindLabel("unanswered", "sms"); got != "短信超过3分钟未答复" {
		t.Errorf("late alert: %q", got)
	}
}
