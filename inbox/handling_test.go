package inbox_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"hotline/auth"
	"hotline/configs"
	"hotline/kpi"
	"hotline/kpi/sim"
	"hotline/pipeline"
)

func (e *env) unitID(name string) int64 {
	e.t.Helper()
	u, err := e.app.Store.FindUnit(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return u.ID
}

func (e *env) status(no string) string {
	e.t.Helper()
	t, err := e.app.Store.GetTicket(context.Background(), no)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(t.Status)
}

// as signs a new user of role in.
func (e *env) as(name, role string, unit *int64) *agent {
	e.t.Helper()
	e.addUser(name, role, unit)
	return e.login(name, name+"-password")
}

// act posts an action of the handling panel and checks the status code.
func (a *agent) act(no, action string, form url.Values, want int) string {
	a.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	resp, body := a.post("/inbox/tickets/"+no+"/act/"+action, form, "auto")
	if resp.StatusCode != want {
		a.e.t.Fatalf("%s %s: %d, want %d: %s", action, no, resp.StatusCode, want, alertOf(body))
	}
	return body
}

var alertRE = regexp.MustCompile(`(?s)<div class="alert" role="alert" id="act-error">(.*?)</div>`)

// alertOf is the panel's refusal, as text.
func alertOf(body string) string {
	m := alertRE.FindStringSubmatch(body)
	if m == nil {
		if len(body) > 300 {
			body = body[:300]
		}
		return body
	}
	return htmlUnescape(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[1], " "))
}

// actionsOf lists the panel's forms (act-...) on a ticket page.
func actionsOf(body string) []string {
	return regexpAll(`<details class="act[^"]*" id="act-([a-z_]+)"`, body)
}

var rawEvent = regexp.MustCompile(`<li class="ev">[^<]*<time[^>]*>[^<]*</time> <strong>([a-z_]+)</strong>`)

// TestHandlingPanel walks an SMS ticket through the loop in the inbox: each
// role sees the actions it may take now and can post them; the others see no
// such form and are refused with a readable message and their next steps.
func TestHandlingPanel(t *testing.T) {
	forDrivers(t, func(t *testing.T, driver string) {
		e := start(t, driver)
		cg, zj, edu := e.unitID("市城市管理局"), e.unitID("市住房和城乡建设局"), e.unitID("市教育局")
		intake := e.as("agent1", auth.RoleIntake, nil)
		clerk := e.as("clerk1", auth.RoleTransfer, nil)
		follow := e.as("follow1", auth.RoleFollowUp, nil)
		sup := e.as("sup1", auth.RoleSupervisor, nil)
		unit := e.as("cg1", auth.RoleUnit, &cg)
		co := e.as("zj1", auth.RoleUnit, &zj)
		other := e.as("edu1", auth.RoleUnit, &edu)
		no := e.sms("h-1", "13800138111", "解放北路路灯坏了一个月了，晚上很黑，请尽快修理")

		// 受理: the intake agent's forms, with the unit picker's list.
		_, body := intake.get("/inbox/tickets/"+no, 200)
		if got := strings.Join(actionsOf(body), ","); got != "answer,transfer,escalate,discard" {
			t.Fatalf("intake agent's actions %q", got)
		}
		for _, want := range []string{`<datalist id="unit-list">`, `<option value="市城市管理局"`, `name="co_unit"`, `name="urgent"`, "提交转办"} {
			if !strings.Contains(body, want) {
				t.Errorf("transfer form lacks %s", want)
			}
		}
		// The clerk sees no form on an intake ticket and is refused (403) when posting.
		_, body = clerk.get("/inbox/tickets/"+no, 200)
		if a := actionsOf(body); len(a) != 0 || !strings.Contains(body, "您当前没有可进行的办理操作") {
			t.Fatalf("clerk sees %v on an intake ticket", a)
		}
		body = clerk.act(no, "transfer", url.Values{"unit": {"市城市管理局"}}, http.StatusForbidden)
		if msg := alertOf(body); !strings.Contains(msg, "“转办”不属于您的职责") && !strings.Contains(msg, "转办不属于您的职责") || !strings.Contains(msg, "没有可进行的办理操作") {
			t.Fatalf("403 message %q", msg)
		}
		if regexp.MustCompile(`（[a-z_]+）`).MatchString(alertOf(body)) {
			t.Errorf("raw key in %q", alertOf(body))
		}
		// Without the session's CSRF token nothing is posted.
		if resp, _ := intake.post("/inbox/tickets/"+no+"/act/transfer", url.Values{"unit": {"市城市管理局"}}, ""); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("action without csrf: %d", resp.StatusCode)
		}
		// An unknown unit is refused with the name; nothing moved.
		body = intake.act(no, "transfer", url.Values{"unit": {"不存在的局"}}, http.StatusUnprocessableEntity)
		if msg := alertOf(body); !strings.Contains(msg, "找不到承办单位“不存在的局”") {
			t.Fatalf("unknown unit: %q", msg)
		}
		if !strings.Contains(body, `id="act-transfer" open`) || !strings.Contains(body, `value="不存在的局"`) {
			t.Error("the refused form is not shown again with what was typed")
		}
		intake.act(no, "transfer", url.Values{"unit": {"市城市管理局"}, "co_unit": {"市住房和城乡建设局", ""}, "note": {"路灯"}}, http.StatusSeeOther)
		if s := e.status(no); s != "transfer_review" {
			t.Fatalf("after transfer: %s", s)
		}
		// Wrong state: 409 with the status and what may be done now.
		body = intake.act(no, "answer", url.Values{"text": {"已修好"}}, http.StatusConflict)
		if msg := alertOf(body); !strings.Contains(msg, "待转办审核") || !strings.Contains(msg, "不能进行“答复”") {
			t.Fatalf("409 message %q", msg)
		}

		// 转办审核: the clerk's queue and the order prefilled with the proposal.
		_, body = clerk.get("/inbox/queues/transfer", 200)
		if !strings.Contains(body, `data-no="`+no+`"`) || !strings.Contains(body, "待转办") {
			t.Fatal("the ticket is not in the clerk's transfer queue")
		}
		intake.get("/inbox/queues/transfer", http.StatusForbidden)
		unit.get("/inbox/queues/supervision", http.StatusForbidden)
		_, body = clerk.get("/inbox/tickets/"+no, 200)
		if got := strings.Join(actionsOf(body), ","); got != "send_back,dispatch" {
			t.Fatalf("clerk's actions %q", got)
		}
		if !regexp.MustCompile(`(?s)id="act-dispatch".*?name="unit" value="市城市管理局"`).MatchString(body) ||
			!regexp.MustCompile(`(?s)id="act-dispatch".*?name="co_unit" value="市住房和城乡建设局"`).MatchString(body) {
			t.Fatal("dispatch form not prefilled with the proposed units")
		}
		clerk.act(no, "dispatch", url.Values{"unit": {"市城市管理局"}, "co_unit": {"市住房和城乡建设局"}}, http.StatusSeeOther)

		// 承办: another unit cannot see or act; the co-unit sees only its opinion.
		other.get("/inbox/tickets/"+no, http.StatusNotFound)
		other.act(no, "accept", nil, http.StatusNotFound)
		_, body = co.get("/inbox/tickets/"+no, 200)
		if got := strings.Join(actionsOf(body), ","); got != "co_opinion" {
			t.Fatalf("co-unit's actions %q", got)
		}
		body = co.act(no, "accept", nil, http.StatusForbidden)
		if msg := alertOf(body); !strings.Contains(msg, "协办意见") {
			t.Fatalf("co-unit refusal %q lacks its next step", msg)
		}
		co.act(no, "co_opinion", url.Values{"text": {"路灯电缆由我局配合更换"}}, http.StatusSeeOther)
		_, body = unit.get("/inbox/queues/unit", 200)
		if !strings.Contains(body, `data-no="`+no+`"`) || !strings.Contains(body, "主办") {
			t.Fatal("the ticket is not in the unit's queue")
		}
		_, body = unit.get("/inbox/tickets/"+no, 200)
		if got := strings.Join(actionsOf(body), ","); got != "accept,return" {
			t.Fatalf("unit's actions %q", got)
		}
		unit.act(no, "accept", nil, http.StatusSeeOther)
		body = unit.act(no, "request_extension", url.Values{"days": {"9"}, "reason": {"需采购电缆"}}, http.StatusUnprocessableEntity)
		if msg := alertOf(body); !strings.Contains(msg, "不得超过7天") || strings.Contains(msg, "days") {
			t.Fatalf("extension message %q", msg)
		}
		unit.act(no, "request_extension", url.Values{"days": {"3"}, "reason": {"需采购电缆"}}, http.StatusSeeOther)
		follow.act(no, "approve_extension", nil, http.StatusForbidden)
		_, body = clerk.get("/inbox/queues/extensions", 200)
		if !strings.Contains(body, `data-no="`+no+`"`) {
			t.Fatal("the extension is not in the clerk's queue")
		}
		_, body = clerk.get("/inbox/tickets/"+no, 200)
		if !strings.Contains(body, "申请延期3日回复") {
			t.Error("the pending extension is not shown to the clerk")
		}
		clerk.act(no, "approve_extension", url.Values{"note": {"同意"}}, http.StatusSeeOther)
		sup.act(no, "urge", url.Values{"note": {"请尽快"}}, http.StatusSeeOther)

		// A vague reply is refused with the standard's reason; the text stays.
		vague := "正在协调处理中"
		body = unit.act(no, "reply", url.Values{"text": {vague}}, http.StatusUnprocessableEntity)
		if msg := alertOf(body); !strings.Contains(msg, "答复不符合办理标准") || !strings.Contains(msg, "答复内容不具体") {
			t.Fatalf("vague reply message %q", msg)
		}
		if !strings.Contains(body, `id="act-reply" open`) || !strings.Contains(body, ">"+vague+"</textarea>") {
			t.Error("the refused reply is not shown again")
		}
		unit.act(no, "reply", url.Values{"text": {"经现场核实，路灯线路老化属实，已于今日更换电缆并恢复照明，今后每周巡查一次。"}}, http.StatusSeeOther)

		// 回访: the follow-up agent's queue and form; satisfied closes it.
		_, body = follow.get("/inbox/queues/followup", 200)
		if !strings.Contains(body, `data-no="`+no+`"`) {
			t.Fatal("the ticket is not in the follow-up queue")
		}
		unit.act(no, "followup", url.Values{"result_rating": {"satisfied"}}, http.StatusForbidden)
		_, body = follow.get("/inbox/tickets/"+no, 200)
		for _, want := range []string{`name="service_rating"`, `name="result_rating"`, `name="reasonable"`, `name="unit_replied"`, `id="act-contact_failed"`} {
			if !strings.Contains(body, want) {
				t.Errorf("follow-up form lacks %s", want)
			}
		}
		follow.act(no, "followup", url.Values{"service_rating": {"satisfied"}, "result_rating": {"satisfied"}, "reasonable": {"yes"}, "unit_replied": {"1"}}, http.StatusSeeOther)
		if s := e.status(no); s != "closed" {
			t.Fatalf("after follow-up: %s", s)
		}
		_, body = follow.get("/inbox/tickets/"+no+"?done=act&action=followup", 200)
		for _, want := range []string{"已办结", "“回访”已完成", "承办记录", "市城市管理局", "市住房和城乡建设局", "协办", "第 1 次", "已批准",
			"电话回访", "满意", "办理结果被退回", "答复内容不具体", "催办", "签收", "审核转派"} {
			if !strings.Contains(body, want) {
				t.Errorf("closed ticket page lacks %q", want)
			}
		}
		if m := rawEvent.FindAllStringSubmatch(body, -1); len(m) > 0 {
			t.Errorf("raw event types on screen: %v", m)
		}
		// Archive: the follow-up agent may; the unit no longer has anything to do.
		_, body = unit.get("/inbox/tickets/"+no, 200)
		if a := actionsOf(body); len(a) != 0 {
			t.Errorf("unit may still %v", a)
		}
		follow.act(no, "archive", nil, http.StatusSeeOther)
		if s := e.status(no); s != "archived" {
			t.Fatalf("after archive: %s", s)
		}
	})
}

// TestHandlingBranches covers the other branches' forms: send back, return
// and retransfer, escalation with the leader's instruction, rework and close
// by the supervision office, unreachable follow-ups.
func TestHandlingBranches(t *testing.T) {
	e := start(t, "sqlite")
	cg := e.unitID("市城市管理局")
	intake := e.as("agent2", auth.RoleIntake, nil)
	clerk := e.as("clerk2", auth.RoleTransfer, nil)
	follow := e.as("follow2", auth.RoleFollowUp, nil)
	sup := e.as("sup2", auth.RoleSupervisor, nil)
	unit := e.as("cg2", auth.RoleUnit, &cg)
	reply := url.Values{"text": {"经核实，反映的噪音属实，已责令工地夜间22时后停止施工，城管中队每晚巡查。"}}

	// send back (知识库已有明确答复) → answer
	a := e.sms("b-1", "13800138001", "咨询灵活就业养老保险怎么缴费")
	intake.act(a, "transfer", url.Values{"unit": {"市人力资源和社会保障局"}}, http.StatusSeeOther)
	body := clerk.act(a, "send_back", url.Values{"kind": {"kb_answered"}}, http.StatusUnprocessableEntity)
	if msg := alertOf(body); !strings.Contains(msg, "知识库已有明确答复的部门") {
		t.Fatalf("send back without department: %q", msg)
	}
	clerk.act(a, "send_back", url.Values{"kind": {"kb_answered"}, "department": {"市人社局"}}, http.StatusSeeOther)
	intake.act(a, "answer", url.Values{"text": {"可在人社APP上按月缴费"}}, http.StatusSeeOther)
	if s := e.status(a); s != "closed" {
		t.Fatalf("answered: %s", s)
	}

	// return → retransfer; rework and close by the supervision office
	b := e.sms("b-2", "13800138002", "工地夜间施工噪音扰民")
	intake.act(b, "transfer", url.Values{"unit": {"市住房和城乡建设局"}, "urgent": {"1"}}, http.StatusSeeOther)
	clerk.act(b, "dispatch", url.Values{"unit": {"市住房和城乡建设局"}}, http.StatusSeeOther)
	zj := e.unitID("市住房和城乡建设局")
	zjUser := e.as("zj2", auth.RoleUnit, &zj)
	resp, _ := zjUser.post("/inbox/tickets/"+b+"/act/return", url.Values{"reason": {"夜间施工噪音由城管部门负责"}}, "auto")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/inbox/queues/unit?done=return") {
		t.Fatalf("return: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	zjUser.get("/inbox/tickets/"+b, http.StatusNotFound)
	_, body = clerk.get("/inbox/queues/returned", 200)
	if !strings.Contains(body, `data-no="`+b+`"`) {
		t.Fatal("returned ticket not in the clerk's queue")
	}
	clerk.act(b, "retransfer", url.Values{"unit": {"市城市管理局"}}, http.StatusSeeOther)
	unit.act(b, "accept", nil, http.StatusSeeOther)
	unit.act(b, "reply", reply, http.StatusSeeOther)
	follow.act(b, "followup", url.Values{"result_rating": {"unsatisfied"}, "reasonable": {"yes"}}, http.StatusSeeOther)
	if s := e.status(b); s != "supervising" {
		t.Fatalf("unsatisfied: %s", s)
	}
	_, body = sup.get("/inbox/queues/supervision", 200)
	if !strings.Contains(body, `data-no="`+b+`"`) || !strings.Contains(body, "回访不满意（合理诉求）") {
		t.Fatal("unsatisfied ticket not in the supervision queue with its reason")
	}
	_, body = sup.get("/inbox/tickets/"+b, 200)
	for _, want := range []string{`id="act-rework"`, `id="act-close"`, `id="act-retransfer"`} {
		if !strings.Contains(body, want) {
			t.Errorf("supervisor lacks %s", want)
		}
	}
	sup.act(b, "rework", url.Values{"reason": {"噪音仍未解决"}}, http.StatusSeeOther)
	unit.act(b, "reply", reply, http.StatusSeeOther)
	follow.act(b, "contact_failed", nil, http.StatusSeeOther)
	_, body = follow.get("/inbox/tickets/"+b, 200)
	if !strings.Contains(body, "已联系不上 1 次") {
		t.Error("second failed contact not announced")
	}
	follow.act(b, "contact_failed", url.Values{"note": {"关机"}}, http.StatusSeeOther)
	if s := e.status(b); s != "closed" {
		t.Fatalf("unreachable: %s", s)
	}

	// escalate → instruction naming a unit; supervise; close
	c := e.sms("b-3", "13800138003", "网传自来水有毒，很多人在抢购矿泉水")
	intake.act(c, "escalate", url.Values{"text": {"网传自来水有毒谣言，来电激增"}}, http.StatusSeeOther)
	_, body = sup.get("/inbox/queues/escalated", 200)
	if !strings.Contains(body, `data-no="`+c+`"`) {
		t.Fatal("escalated ticket not in the supervision office's queue")
	}
	sup.act(c, "instruct", url.Values{"text": {"请城管局会同水务部门辟谣"}, "unit": {"市城市管理局"}}, http.StatusSeeOther)
	if s := e.status(c); s != "dispatched" {
		t.Fatalf("instructed: %s", s)
	}
	sup.act(c, "supervise", url.Values{"kind": {"hot"}, "note": {"谣言"}}, http.StatusSeeOther)
	body = sup.act(c, "close", url.Values{"note": {"已辟谣"}}, http.StatusConflict)
	if msg := alertOf(body); !strings.Contains(msg, "已转办待签收") || !strings.Contains(msg, "“催办”") {
		t.Errorf("409 message %q", msg)
	}
	_, body = sup.get("/inbox/tickets/"+c, 200)
	if !strings.Contains(body, "领导批示") || !strings.Contains(body, "请城管局会同水务部门辟谣") || !strings.Contains(body, "热点问题") {
		t.Error("instruction or supervision missing from the record")
	}
}

// hotSpike makes a hot issue: 30 ordinary tickets over the last day
// (backdated), then n messages about one rumour now. It returns the rumour's
// tickets.
func (e *env) hotSpike(n int) []string {
	e.t.Helper()
	ordinary := []string{"小区路灯不亮了", "楼下垃圾没人清理", "咨询养老保险缴费", "小区停水了什么时候恢复", "公交车改线了怎么坐"}
	for i := 0; i < 30; i++ {
		no := e.sms(fmt.Sprintf("hb-%d", i), fmt.Sprintf("1390000%04d", i), ordinary[i%5])
		at := time.Now().Add(-time.Duration(2*60+i*40) * time.Minute).UTC()
		if err := e.app.Store.DB().Exec(`UPDATE tickets SET created_at = ? WHERE no = ?`, at, no).Error; err != nil {
			e.t.Fatal(err)
		}
	}
	var nos []string
	for i := 0; i < n; i++ {
		nos = append(nos, e.sms(fmt.Sprintf("hr-%d", i), fmt.Sprintf("1390001%04d", i), fmt.Sprintf("听说自来水有毒，大家都在抢购矿泉水，是真的吗%d", i)))
	}
	return nos
}

// TestKPIDashboard renders the eleven KPIs of a generated month: the figures
// equal the KPI service's, the trend charts draw the targets, the units'
// table and the export work; only the admin and the supervision office may.
func TestKPIDashboard(t *testing.T) {
	e := start(t, "sqlite", func(c *configs.Config) { c.Pipeline.Hot.MinCount = 5 })
	rumour := e.hotSpike(8)
	loc := e.app.Cfg.City.Location()
	month := time.Date(2026, 10, 1, 0, 0, 0, 0, loc)
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, loc)
	ctx := context.Background()
	if _, err := sim.Run(ctx, e.app.Store, e.app.Pipeline.Deadlines(), sim.Options{Month: month, Tickets: 600, Seed: 3, Now: now}); err != nil {
		t.Fatal(err)
	}
	admin := e.login("admin", adminPass)
	q := "?from=2026-10-01&to=2026-10-31"
	_, body := admin.get("/inbox/kpis"+q, 200)
	rows := regexpAll(`<tr class="kpi[^"]*" data-kpi="(\d+)"`, body)
	if len(rows) != 11 {
		t.Fatalf("%d KPI rows", len(rows))
	}
	from, to, _ := kpi.ParseDates("2026-10-01", "2026-10-31", loc)
	rep, err := e.app.KPI().Report(ctx, kpi.Query{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.KPIs {
		if f.Value == nil {
			t.Errorf("%s has no value in the simulated month", f.Key)
			continue
		}
		row := regexp.MustCompile(fmt.Sprintf(`(?s)<tr class="kpi[^"]*" data-kpi="%d">.*?</tr>`, f.ID)).FindString(body)
		want := fmt.Sprintf(`<td class="num">%d</td><td class="num">%d</td>`, f.Numerator, f.Denominator)
		if !strings.Contains(row, want) || !strings.Contains(row, fmt.Sprintf("%.2f%%", *f.Value*100)) {
			t.Errorf("KPI %d row %q lacks %s %.2f%%", f.ID, row, want, *f.Value*100)
		}
		if miss := strings.Contains(row, `class="kpi miss`); miss == f.Met {
			t.Errorf("KPI %d: met %v but miss mark %v", f.ID, f.Met, miss)
		}
	}
	if n := strings.Count(body, `<figure class="chart"`); n != 11 {
		t.Errorf("%d trend charts", n)
	}
	if n := strings.Count(body, `stroke-dasharray="5 4"`); n != 11 {
		t.Errorf("%d dashed target lines", n)
	}
	if n := strings.Count(body, `<polyline class="series"`); n < 11 {
		t.Errorf("%d trend lines", n)
	}
	if !strings.Contains(body, `id="unit-table"`) || strings.Count(body, `<th scope="row">`) < 5 {
		t.Error("no per-unit table")
	}
	if !strings.Contains(body, `href="/inbox/kpis.xlsx?from=2026-10-01&amp;to=2026-10-31"`) {
		t.Error("no export link for the period")
	}
	// the hot issue, with a link to 呈报 one of its tickets
	hot := regexp.MustCompile(`(?s)<section class="panel hot".*?</section>`).FindString(body)
	if !strings.Contains(hot, "抢购矿泉水") || !strings.Contains(hot, `href="/inbox/tickets/`+rumour[len(rumour)-1]+`#act-escalate">呈报</a>`) {
		t.Errorf("hot issues: %s", hot)
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, " style=") {
		t.Error("inline script or style on the dashboard")
	}
	// the export, through the session
	resp, err := admin.c.Get(e.srv.URL + "/inbox/kpis.xlsx" + q)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "spreadsheetml") {
		t.Fatalf("xlsx: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	x, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	xr, _ := x.GetRows(kpi.SheetSummary)
	if len(xr) < 15 || xr[4][1] != "人工接通率" || xr[14][1] != "回访及时率" {
		t.Fatalf("xlsx summary rows %d: %v", len(xr), xr)
	}
	// default period: this month; bad dates: 400 with the defaults
	_, body = admin.get("/inbox/kpis", 200)
	if !strings.Contains(body, `value="`+time.Now().In(loc).Format("2006-01")+`-01"`) {
		t.Error("the default period is not this month")
	}
	_, body = admin.get("/inbox/kpis?from=2026-10-31&to=2026-10-01", http.StatusBadRequest)
	if !strings.Contains(body, "统计期间无效") {
		t.Error("no message for a reversed period")
	}
	// roles: the supervision office may, the others may not (page and export)
	e.as("sup3", auth.RoleSupervisor, nil).get("/inbox/kpis"+q, 200)
	intake := e.as("agent3", auth.RoleIntake, nil)
	intake.get("/inbox/kpis"+q, http.StatusForbidden)
	intake.get("/inbox/kpis.xlsx"+q, http.StatusForbidden)
	cg := e.unitID("市城市管理局")
	e.as("cg3", auth.RoleUnit, &cg).get("/inbox/kpis", http.StatusForbidden)
	_, body = intake.get("/inbox", 200)
	if strings.Contains(body, `href="/inbox/kpis"`) {
		t.Error("the intake agent's nav links the dashboard")
	}
	_, body = admin.get("/inbox", 200)
	for _, want := range []string{`href="/inbox/kpis"`, `href="/inbox/queues/transfer"`, `href="/inbox/queues/supervision"`, `href="/inbox/queues/followup"`} {
		if !strings.Contains(body, want) {
			t.Errorf("admin nav lacks %s", want)
		}
	}
}

// TestEventLabels: every action of the table has a Chinese label (the panel
// and the audit trail show no raw keys).
func TestEventLabels(t *testing.T) {
	for _, a := range pipeline.Actions() {
		if a.Label() == string(a) || regexp.MustCompile(`[a-z]`).MatchString(a.Label()) {
			t.Errorf("action %s has no Chinese label", a)
		}
	}
}
