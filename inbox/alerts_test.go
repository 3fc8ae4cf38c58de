package inbox_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"hotline/auth"
	"hotline/pipeline"
)

var navAlertsRE = regexp.MustCompile(`<a id="nav-alerts" data-live href="/inbox/alerts"[^>]*>预警(?: <span class="count"[^>]*>(\d+)</span>)?</a>`)

// navAlerts is the nav's open-alert count; -1 when the item is hidden.
func navAlerts(body string) int {
	m := navAlertsRE.FindStringSubmatch(body)
	switch {
	case m == nil:
		return -1
	case m[1] == "":
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// alertIDs are the alert rows of the alert page.
func alertIDs(body string) []string {
	return regexpAll(`<tr class="alert-row[^"]*" data-alert="(\d+)">`, body)
}

func TestAlertsPage(t *testing.T) {
	forDrivers(t, func(t *testing.T, driver string) {
		e := start(t, driver)
		ctx := context.Background()
		u7, u8 := int64(7), int64(8)
		lead := e.as("lead", auth.RoleSupervisor, nil)
		water := e.as("water", auth.RoleUnit, &u7)
		roads := e.as("roads", auth.RoleUnit, &u8)
		nounit := e.as("nounit", auth.RoleUnit, nil)

		_, body := lead.get("/inbox", 200)
		if n := navAlerts(body); n != 0 {
			t.Fatalf("nav count before any alert: %d", n)
		}

		// The scheduler, on a fake clock 150 s after the SMS came in, raises
		// the 3-minute alert (answer_alert_within 2m).
		no := e.sms("al1", "13800138011", "小区门口下水道堵了")
		var at time.Time
		if err := e.app.Store.DB().Raw(`SELECT at FROM messages WHERE channel = 'sms' AND dedup_key = ?`, "aliyun:al1").Scan(&at).Error; err != nil {
			t.Fatal(err)
		}
		sch := pipeline.NewScheduler(e.app.Pipeline, pipeline.SchedulerOptions{AnswerAlertWithin: 2 * time.Minute})
		r, err := sch.Tick(ctx, at.Add(150*time.Second))
		if err != nil || r.Alerts != 1 {
			t.Fatalf("scheduler round: %+v %v", r, err)
		}

		// Two overdue alerts on unit tickets (as the overdue transition writes them).
		mine := e.sms("al2", "13800138012", "停水三天")
		other := e.sms("al3", "13800138013", "路灯不亮")
		e.setUnit(mine, u7, "市水务集团")
		e.setUnit(other, u8, "市城管局")
		for _, x := range []string{mine, other} {
			tk, err := e.app.Store.GetTicket(ctx, x)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.app.Store.RaiseAlert(ctx, "overdue", x+"/1", &tk.ID, "工单"+x+"承办逾期", at.Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
		}

		// The centre sees all three, newest first, in Chinese, linked to the tickets.
		_, body = lead.get("/inbox", 200)
		if n := navAlerts(body); n != 3 {
			t.Fatalf("nav count: %d, want 3", n)
		}
		_, body = lead.get("/inbox/alerts", 200)
		ids := alertIDs(body)
		if len(ids) != 3 || navAlerts(body) != 3 {
			t.Fatalf("alert rows: %v", ids)
		}
		for _, want := range []string{"短信即将超过3分钟未答复", "工单逾期", `<a href="/inbox/tickets/` + no + `">`,
			`<a href="/inbox/tickets/` + mine + `">`, "市城管局", "已知悉"} {
			if !strings.Contains(body, want) {
				t.Fatalf("alert page lacks %q", want)
			}
		}
		if strings.Index(body, "tickets/"+no) > strings.Index(body, "tickets/"+mine) {
			t.Fatal("alerts not newest first")
		}
		sms := ids[0]

		// A unit sees only the alerts of its own tickets and cannot acknowledge.
		_, body = water.get("/inbox", 200)
		if n := navAlerts(body); n != 1 {
			t.Fatalf("unit nav count: %d, want 1", n)
		}
		_, body = water.get("/inbox/alerts", 200)
		if len(alertIDs(body)) != 1 || !strings.Contains(body, mine) || strings.Contains(body, other) || strings.Contains(body, no) {
			t.Fatalf("unit alert page: %v", alertIDs(body))
		}
		if strings.Contains(body, `/ack"`) {
			t.Fatal("unit offered the acknowledge button")
		}
		if resp, _ := water.post("/inbox/alerts/"+alertIDs(body)[0]+"/ack", url.Values{}, "auto"); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("unit ack: %d", resp.StatusCode)
		}
		_, body = roads.get("/inbox/alerts", 200)
		if ids := alertIDs(body); len(ids) != 1 || !strings.Contains(body, other) || strings.Contains(body, mine) {
			t.Fatalf("other unit's alert page: %v", ids)
		}
		_, body = nounit.get("/inbox", 200)
		if navAlerts(body) != -1 {
			t.Fatal("nav shows alerts to a unit user without a unit")
		}
		nounit.get("/inbox/alerts", http.StatusForbidden)

		// Acknowledging needs the CSRF token.
		if resp, _ := lead.post("/inbox/alerts/"+sms+"/ack", url.Values{}, ""); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("ack without csrf: %d", resp.StatusCode)
		}
		if resp, _ := lead.post("/inbox/alerts/"+sms+"/ack", url.Values{}, "not-the-token"); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("ack with a wrong csrf: %d", resp.StatusCode)
		}
		_, body = lead.get("/inbox/alerts", 200)
		if len(alertIDs(body)) != 3 {
			t.Fatal("alert acknowledged without a CSRF token")
		}
		resp, _ := lead.post("/inbox/alerts/"+sms+"/ack", url.Values{}, "auto")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/inbox/alerts?acked=1" {
			t.Fatalf("ack: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		_, body = lead.get("/inbox/alerts?acked=1", 200)
		if ids := alertIDs(body); len(ids) != 2 || strings.Contains(body, "tickets/"+no) || navAlerts(body) != 2 {
			t.Fatalf("after ack: %v, nav %d", ids, navAlerts(body))
		}
		if !strings.Contains(body, "已知悉该预警") {
			t.Fatal("no flash after ack")
		}
		// The toggle shows it again, acknowledged by whom.
		_, body = lead.get("/inbox/alerts?all=1", 200)
		if len(alertIDs(body)) != 3 || !strings.Contains(body, "lead 已知悉") {
			t.Fatalf("all alerts: %v", alertIDs(body))
		}
		// Twice: someone else was first.
		resp, _ = lead.post("/inbox/alerts/"+sms+"/ack", url.Values{"all": {"1"}}, "auto")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/inbox/alerts?all=1&gone=1" {
			t.Fatalf("second ack: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		// The scheduler does not raise it again (only the two later SMSs').
		if r, _ := sch.Tick(ctx, at.Add(170*time.Second)); r.Alerts != 2 {
			t.Fatalf("next round: %+v", r)
		}
		_, body = lead.get("/inbox/alerts", 200)
		if strings.Contains(body, "tickets/"+no+`"`) || navAlerts(body) != 4 {
			t.Fatalf("acknowledged alert came back: nav %d", navAlerts(body))
		}
		if resp, _ := lead.post("/inbox/alerts/x/ack", url.Values{}, "auto"); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("ack of a bad id: %d", resp.StatusCode)
		}
	})
}
