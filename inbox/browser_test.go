package inbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"hotline/auth"
	"hotline/configs"
	"hotline/kpi/sim"
	"hotline/store"
)

// ChromiumEnv names the browser the end-to-end test drives (.ci/chromium.sh
// sets it to Debian's /usr/bin/chromium).
const ChromiumEnv = "HOTLINE_TEST_CHROMIUM"

// browser starts a fresh headless Chromium (own profile) and returns a tab.
func browser(t *testing.T) (context.Context, *dialogs) {
	t.Helper()
	bin := os.Getenv(ChromiumEnv)
	if bin == "" {
		t.Skipf("%s is unset: the end-to-end browser test needs Chromium (apt-get install chromium; .ci/chromium.sh sets it)", ChromiumEnv)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "zh-CN"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 768),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1366, 768)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	d := &dialogs{}
	events := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			d.add(ev.Message)
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return ctx, d
}

// dialogs records every alert a page opened: an executed XSS payload.
type dialogs struct {
	mu  sync.Mutex
	got []string
}

func (d *dialogs) add(m string) { d.mu.Lock(); d.got = append(d.got, m); d.mu.Unlock() }
func (d *dialogs) list() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.got...)
}

func run[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// js runs a statement in the page.
func js(t *testing.T, ctx context.Context, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr, chromedp.EvalIgnoreExceptions)); err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	b := run(t, ctx, "screenshot "+name, chromedp.CaptureScreenshot())
	dir := t.TempDir()
	if os.Getenv("HOTLINE_UPDATE_SCREENSHOTS") == "1" {
		dir = filepath.Join("..", "docs")
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d bytes)", p, len(b))
}

func (e *env) post(path, token, body string) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		e.t.Fatalf("POST %s: %d", path, resp.StatusCode)
	}
}

// TestBrowserEndToEnd drives the inbox in real headless Chromium: sign in, an
// SMS posted to the webhook appears in the open inbox without a reload, the
// agent answers with a standard reply, the delivery state turns to sent live,
// citizen markup stays text, and a unit user cannot open another unit's ticket.
func TestBrowserEndToEnd(t *testing.T) {
	e := start(t, "sqlite", func(c *configs.Config) { c.Inbox.LivePoll = 200 * time.Millisecond })
	ctx, alerts := browser(t)
	base := e.srv.URL
	// the gateway answers slowly, so the agent sees "queued" turn into "sent"
	e.gw.setDelay(1500 * time.Millisecond)

	if _, _, err := e.app.Store.UpsertKB(context.Background(), []store.KBRecord{{Question: "路灯不亮找谁维修？",
		Keywords: []string{"路灯", "不亮"}, Answer: "已通知供电公司维修，预计明天修复。", Unit: "市城管局"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.app.ReloadKB(context.Background()); err != nil {
		t.Fatal(err)
	}

	// some tickets on other channels, for a realistic inbox
	admin := e.apiToken("admin", adminPass)
	e.post("/api/v1/tickets", admin, `{"channel":"voice","call_id":"c-1","name":"王先生","phone":"13700137000","content":"咨询新生儿落户需要带哪些材料","reply_wanted":true}`)
	e.post("/api/v1/submissions", "", `{"channel":"website","name":"李女士","phone":"13600136000","title":"小区门口道路破损","content":"德城区新湖大道小区门口道路破损严重，雨天积水，请尽快修复。"}`)
	e.post("/api/v1/submissions", "", `{"channel":"mayor_mailbox","name":"赵先生","phone":"13500135000","email":"zhao@example.com","title":"建议增加公交线路","content":"建议增加从天衢新区到高铁站的公交线路，方便市民出行。"}`)
	e.sms("s-0", "13900139000", "我要投诉小区物业乱收费，每个月多收五十元停车费")

	// 1. sign in
	do(t, ctx, "sign in",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "admin"),
		chromedp.SendKeys(chromedp.ID("password"), adminPass),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.CSS("#rows tr.row")),
	)
	if loc := run(t, ctx, "location", chromedp.Location()); !strings.HasSuffix(loc, "/inbox") {
		t.Fatalf("after sign-in at %s", loc)
	}
	eventually(t, "live stream connected", func() bool {
		s, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.ID("live-state")))
		return s == "实时"
	})

	// 2. an SMS with an XSS payload appears in the open inbox, no reload
	js(t, ctx, `window.__noReload = 42`)
	xss := `<script>alert(1)</script>路灯坏了三天 <img src=x onerror=alert(1)>`
	no := e.sms("s-1", "13800138000", xss)
	sel := fmt.Sprintf(`#rows tr.row[data-no="%s"]`, no)
	do(t, ctx, "new SMS appears live", chromedp.WaitVisible(chromedp.CSS(sel)))
	if v := run(t, ctx, "marker", chromedp.Evaluate[int](`window.__noReload || 0`)); v != 42 {
		t.Fatal("the inbox reloaded instead of updating in place")
	}
	txt := run(t, ctx, "row text", chromedp.TextContent(chromedp.CSS(sel+" .c-txt")))
	if !strings.Contains(txt, "<script>alert(1)</script>") || !strings.Contains(txt, "<img src=x onerror=alert(1)>") {
		t.Fatalf("payload not shown as text: %q", txt)
	}
	if n := run(t, ctx, "injected nodes", chromedp.Evaluate[int](`document.querySelectorAll('#rows script, #rows img').length`)); n != 0 {
		t.Fatalf("payload became %d DOM nodes", n)
	}
	if s := run(t, ctx, "countdown", chromedp.TextContent(chromedp.CSS(sel+" .countdown"))); !strings.HasPrefix(s, "剩余") {
		t.Fatalf("countdown %q", s)
	}

	// keyboard: j/k move the selection, / focuses the search
	first := run(t, ctx, "selected", chromedp.Evaluate[string](`document.querySelector('#rows tr.selected').dataset.no`))
	do(t, ctx, "j", chromedp.KeyEvent("j"))
	second := run(t, ctx, "selected", chromedp.Evaluate[string](`document.querySelector('#rows tr.selected').dataset.no`))
	do(t, ctx, "k", chromedp.KeyEvent("k"))
	back := run(t, ctx, "selected", chromedp.Evaluate[string](`document.querySelector('#rows tr.selected').dataset.no`))
	if first == second || back != first {
		t.Fatalf("j/k: %s -> %s -> %s", first, second, back)
	}
	do(t, ctx, "/", chromedp.KeyEvent("/"))
	if id := run(t, ctx, "focus", chromedp.Evaluate[string](`document.activeElement.id`)); id != "search" {
		t.Fatalf("/ focused %q", id)
	}
	js(t, ctx, `document.getElementById('search').value = ''; document.activeElement.blur()`)
	js(t, ctx, fmt.Sprintf(`sessionStorage.setItem('inbox.selected', %q)`, no))
	do(t, ctx, "settle", chromedp.Sleep(300*time.Millisecond))
	screenshot(t, ctx, "inbox.png")

	// 3. open it (r = reply), answer with standard reply 1
	js(t, ctx, fmt.Sprintf(`document.querySelector('#rows tr[data-no="%s"] .c-txt').click()`, no))
	do(t, ctx, "open the ticket", chromedp.WaitVisible(chromedp.ID("timeline")))
	mtext := run(t, ctx, "message", chromedp.TextContent(chromedp.CSS("#timeline li.msg.in .mtext")))
	if mtext != xss {
		t.Fatalf("message text %q", mtext)
	}
	do(t, ctx, "r focuses the reply", chromedp.KeyEvent("r"))
	if id := run(t, ctx, "focus", chromedp.Evaluate[string](`document.activeElement.id`)); id != "reply-text" {
		t.Fatalf("r focused %q", id)
	}
	// the knowledge-base hit goes into template 1
	answer := "已通知供电公司维修，预计明天修复"
	do(t, ctx, "knowledge base",
		chromedp.SendKeys(chromedp.ID("kb-q"), "路灯不亮"),
		chromedp.Submit(chromedp.ID("kb-q")),
		chromedp.WaitVisible(chromedp.CSS("#kb-results .kb-use")),
		chromedp.Click(chromedp.CSS("#kb-results .kb-use")),
	)
	if v := run(t, ctx, "answer field", chromedp.Value(chromedp.ID("ph-answer"))); strings.TrimSuffix(v, "。") != answer {
		t.Fatalf("KB answer not inserted: %q", v)
	}
	want := "您好！您的短信已收到，现已落实，答复结果如下：" + answer + "。感谢您对我们的信任！"
	if v := run(t, ctx, "reply text", chromedp.Value(chromedp.ID("reply-text"))); v != want {
		t.Fatalf("template 1 rendered %q", v)
	}
	do(t, ctx, "send",
		chromedp.Click(chromedp.ID("send")),
		chromedp.WaitVisible(chromedp.CSS(`#timeline li.msg.out[data-delivery="queued"]`)),
	)
	js(t, ctx, `window.__noReload = 43`)
	do(t, ctx, "delivery turns to sent live", chromedp.WaitVisible(chromedp.CSS(`#timeline li.msg.out[data-delivery="sent"]`)))
	if v := run(t, ctx, "marker", chromedp.Evaluate[int](`window.__noReload || 0`)); v != 43 {
		t.Fatal("the ticket page reloaded instead of updating in place")
	}
	if got := e.gw.texts("13800138000"); len(got) != 1 || got[0] != want {
		t.Fatalf("gateway got %q", got)
	}
	js(t, ctx, `window.scrollTo(0, 0)`)
	do(t, ctx, "settle", chromedp.Sleep(300*time.Millisecond))
	screenshot(t, ctx, "ticket.png")

	// a tablet (portrait): no horizontal scrolling, the list becomes cards
	do(t, ctx, "tablet", chromedp.EmulateViewport(820, 1180, chromedp.EmulatePortrait, chromedp.EmulateTouch))
	for _, p := range []string{"/inbox/tickets/" + no, "/inbox"} {
		do(t, ctx, "tablet "+p, chromedp.Navigate(base+p), chromedp.WaitVisible(chromedp.CSS("main")))
		if w := run(t, ctx, "width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 820 {
			t.Errorf("%s is %dpx wide on a tablet", p, w)
		}
	}
	if n := run(t, ctx, "cards", chromedp.Evaluate[string](`getComputedStyle(document.querySelector('#rows tr.row')).display`)); n != "grid" {
		t.Errorf("list rows on a tablet display as %q, want cards (grid)", n)
	}
	do(t, ctx, "laptop", chromedp.EmulateViewport(1366, 768))

	// 4. a unit user cannot open another unit's ticket (page and API)
	u7, u8 := int64(7), int64(8)
	e.addUser("water", auth.RoleUnit, &u7)
	own := e.sms("s-2", "13800138222", "小区停水三天了，没有任何通知")
	e.setUnit(own, u7, "市水务集团")
	e.setUnit(no, u8, "市供电公司")
	do(t, ctx, "sign out and in as the unit",
		chromedp.Navigate(base+"/inbox"),
		chromedp.WaitVisible(chromedp.CSS("form.logout button")),
		chromedp.Click(chromedp.CSS("form.logout button")),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "water"),
		chromedp.SendKeys(chromedp.ID("password"), "water-password"),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#rows tr.row[data-no="%s"]`, own))),
	)
	if n := run(t, ctx, "rows", chromedp.Evaluate[int](`document.querySelectorAll('#rows tr.row').length`)); n != 1 {
		t.Fatalf("unit sees %d tickets", n)
	}
	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(base+"/inbox/tickets/"+no))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusNotFound {
		t.Fatalf("unit opened another unit's ticket: %d", resp.Status)
	}
	body := run(t, ctx, "404 page", chromedp.TextContent(chromedp.CSS("main")))
	if !strings.Contains(body, "工单不存在") || strings.Contains(body, "路灯") {
		t.Fatalf("404 page: %q", body)
	}
	tok := e.apiToken("water", "water-password")
	if s := e.apiStatus(tok, "/api/v1/tickets/"+no); s != http.StatusNotFound {
		t.Fatalf("API: unit opened another unit's ticket: %d", s)
	}
	var list struct {
		Tickets []struct {
			TicketNo string `json:"ticket_no"`
		}
	}
	req, _ := http.NewRequest("GET", base+"/api/v1/tickets", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(r2.Body).Decode(&list)
	r2.Body.Close()
	if len(list.Tickets) != 1 || list.Tickets[0].TicketNo != own {
		t.Fatalf("API list for the unit: %+v", list.Tickets)
	}

	if a := alerts.list(); len(a) > 0 {
		t.Fatalf("a page opened dialogs (script ran): %q", a)
	}
}

// signIn signs the browser out (if signed in) and in as user.
func signIn(t *testing.T, ctx context.Context, base, user, pw string) {
	t.Helper()
	do(t, ctx, "open", chromedp.Navigate(base+"/login"), chromedp.WaitVisible(chromedp.CSS("main")))
	if n := run(t, ctx, "signed in?", chromedp.Evaluate[int](`document.querySelectorAll('form.logout button').length`)); n > 0 {
		do(t, ctx, "sign out", chromedp.Click(chromedp.CSS("form.logout button")), chromedp.WaitVisible(chromedp.ID("username")))
	}
	do(t, ctx, "sign in as "+user,
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), user),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.CSS("form.logout button")),
	)
}

// openAction opens the panel's form of action on the current ticket page.
func openAction(t *testing.T, ctx context.Context, action string) {
	t.Helper()
	sel := "#act-" + action
	do(t, ctx, "open "+action, chromedp.WaitVisible(chromedp.CSS(sel+" > summary")), chromedp.Click(chromedp.CSS(sel+" > summary")),
		chromedp.WaitVisible(chromedp.CSS(sel+" button[type=submit]")))
}

// submitAction submits the form and waits for the status to read want.
func submitAction(t *testing.T, ctx context.Context, action, want string) {
	t.Helper()
	do(t, ctx, "submit "+action, chromedp.Click(chromedp.CSS("#act-"+action+" button[type=submit]")))
	eventually(t, action+" → "+want, func() bool {
		s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById('status')||{}).textContent || ''`))
		return s == want
	})
}

// openFromQueue follows the nav link to a queue and opens the ticket there.
func openFromQueue(t *testing.T, ctx context.Context, queue, no string) {
	t.Helper()
	row := fmt.Sprintf(`#rows tr.row[data-no="%s"] .c-no a`, no)
	do(t, ctx, "queue "+queue,
		chromedp.Click(chromedp.CSS(`header.bar nav a[href="/inbox/queues/`+queue+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(row)),
		chromedp.Click(chromedp.CSS(row)),
		chromedp.WaitVisible(chromedp.ID("handling")),
	)
}

// TestBrowserHandlingLoop walks an SMS ticket through the loop in Chromium by
// the right roles, each from their own queue: the intake agent transfers it,
// the clerk dispatches it, the unit accepts and replies (a vague reply is
// refused with the reason), the follow-up agent records satisfaction and the
// ticket reads 已办结. Then the admin opens the KPI dashboard of a simulated
// month and sees the eleven figures.
func TestBrowserHandlingLoop(t *testing.T) {
	e := start(t, "sqlite", func(c *configs.Config) {
		c.Inbox.LivePoll = 200 * time.Millisecond
		c.Pipeline.Hot.MinCount = 5
	})
	ctx, alerts := browser(t)
	base := e.srv.URL
	loc := e.app.Cfg.City.Location()
	now := time.Now().In(loc)
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc).AddDate(0, -1, 0)
	if _, err := sim.Run(context.Background(), e.app.Store, e.app.Pipeline.Deadlines(),
		sim.Options{Month: month, Tickets: 2000, Seed: 11, Now: now}); err != nil {
		t.Fatal(err)
	}
	cg := e.unitID("市城市管理局")
	e.addUser("agent", auth.RoleIntake, nil)
	e.addUser("clerk", auth.RoleTransfer, nil)
	e.addUser("chengguan", auth.RoleUnit, &cg)
	e.addUser("follow", auth.RoleFollowUp, nil)
	rumour := e.hotSpike(8)
	no := e.sms("loop-1", "13800138555", "解放北路路灯坏了一个月了，晚上很黑，请尽快修理")
	status := func() string { return run(t, ctx, "status", chromedp.TextContent(chromedp.ID("status"))) }

	// 受理坐席: 转办 to 市城市管理局 (typed into the unit picker).
	signIn(t, ctx, base, "agent", "agent-password")
	do(t, ctx, "open the ticket", chromedp.Navigate(base+"/inbox/tickets/"+no), chromedp.WaitVisible(chromedp.ID("handling")))
	if n := run(t, ctx, "clerk's form", chromedp.Evaluate[int](`document.querySelectorAll('#act-dispatch').length`)); n != 0 {
		t.Fatal("the intake agent is offered the clerk's dispatch")
	}
	openAction(t, ctx, "transfer")
	do(t, ctx, "pick the unit",
		chromedp.SendKeys(chromedp.CSS(`#act-transfer input[name=unit]`), "市城市管理局"),
		chromedp.SendKeys(chromedp.CSS(`#act-transfer input[name=note]`), "路灯维修"),
	)
	submitAction(t, ctx, "transfer", "待转办审核")

	// 转办坐席: from the 待转办 queue, 审核转派 (the proposal is prefilled).
	signIn(t, ctx, base, "clerk", "clerk-password")
	openFromQueue(t, ctx, "transfer", no)
	openAction(t, ctx, "dispatch")
	if v := run(t, ctx, "proposed unit", chromedp.Value(chromedp.CSS(`#act-dispatch input[name=unit]`))); v != "市城市管理局" {
		t.Fatalf("dispatch prefilled with %q", v)
	}
	submitAction(t, ctx, "dispatch", "已转办待签收")

	// 承办单位: from 本单位, 签收, then a vague reply is refused with the reason.
	signIn(t, ctx, base, "chengguan", "chengguan-password")
	openFromQueue(t, ctx, "unit", no)
	openAction(t, ctx, "accept")
	submitAction(t, ctx, "accept", "承办中")
	openAction(t, ctx, "reply")
	do(t, ctx, "vague reply",
		chromedp.SendKeys(chromedp.CSS(`#act-reply textarea[name=text]`), "已安排城管部门处理"),
		chromedp.Click(chromedp.CSS(`#act-reply button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("act-error")),
	)
	msg := run(t, ctx, "refusal", chromedp.TextContent(chromedp.ID("act-error")))
	if !strings.Contains(msg, "答复不符合办理标准") || !strings.Contains(msg, "答复内容不具体") {
		t.Fatalf("refusal reads %q", msg)
	}
	if s := status(); s != "承办中" {
		t.Fatalf("after the refused reply: %s", s)
	}
	js(t, ctx, `window.scrollTo(0, 0)`)
	do(t, ctx, "settle", chromedp.Sleep(200*time.Millisecond))
	screenshot(t, ctx, "handling.png")
	js(t, ctx, `document.querySelector('#act-reply textarea[name=text]').value = ''`)
	do(t, ctx, "a proper reply",
		chromedp.SendKeys(chromedp.CSS(`#act-reply textarea[name=text]`), "经现场核实，路灯线路老化属实，已于今日更换电缆并恢复照明，今后每周巡查一次。"),
	)
	submitAction(t, ctx, "reply", "已回复待回访")

	// 回访坐席: from 待回访, satisfied on both counts: 已办结.
	signIn(t, ctx, base, "follow", "follow-password")
	openFromQueue(t, ctx, "followup", no)
	openAction(t, ctx, "followup")
	do(t, ctx, "ratings",
		chromedp.SetValue(chromedp.CSS(`#act-followup select[name=service_rating]`), "satisfied"),
		chromedp.SetValue(chromedp.CSS(`#act-followup select[name=result_rating]`), "satisfied"),
		chromedp.SetValue(chromedp.CSS(`#act-followup select[name=unit_replied]`), "1"),
	)
	submitAction(t, ctx, "followup", "已办结")
	rec := run(t, ctx, "record", chromedp.TextContent(chromedp.ID("record")))
	for _, want := range []string{"市城市管理局", "已回复", "电话回访", "满意"} {
		if !strings.Contains(rec, want) {
			t.Errorf("handling record lacks %q: %q", want, rec)
		}
	}

	// 管理员: the KPI dashboard of the simulated month.
	signIn(t, ctx, base, "admin", adminPass)
	do(t, ctx, "dashboard",
		chromedp.Click(chromedp.CSS(`header.bar nav a[href="/inbox/kpis"]`)),
		chromedp.WaitVisible(chromedp.ID("kpi-table")),
	)
	js(t, ctx, fmt.Sprintf(`document.getElementById('kpi-from').value = %q; document.getElementById('kpi-to').value = %q`,
		month.Format(time.DateOnly), month.AddDate(0, 1, -1).Format(time.DateOnly)))
	do(t, ctx, "the simulated month",
		chromedp.Click(chromedp.ID("kpi-go")),
		chromedp.WaitVisible(chromedp.CSS(`a#kpi-xlsx[href*="from=`+month.Format(time.DateOnly)+`"]`)),
	)
	values := run(t, ctx, "figures", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#kpi-table tr.kpi .value')).map(function (td) { return td.textContent })`))
	if len(values) != 11 {
		t.Fatalf("%d figures", len(values))
	}
	for i, v := range values {
		if !strings.HasSuffix(v, "%") {
			t.Errorf("KPI %d shows %q", i+1, v)
		}
	}
	if n := run(t, ctx, "targets", chromedp.Evaluate[int](`document.querySelectorAll('.chart svg line.target').length`)); n != 11 {
		t.Errorf("%d charts with a target line", n)
	}
	if href := run(t, ctx, "export", chromedp.Evaluate[string](`document.getElementById('kpi-xlsx').getAttribute('href')`)); !strings.Contains(href, "from="+month.Format(time.DateOnly)) {
		t.Errorf("export link %q", href)
	}
	do(t, ctx, "settle", chromedp.Sleep(200*time.Millisecond))
	screenshot(t, ctx, "kpis.png")

	// The hot issue's 呈报 link opens the newest of its tickets with the form open.
	do(t, ctx, "呈报 a hot issue",
		chromedp.Click(chromedp.CSS(`.hot-list a.escalate`)),
		chromedp.WaitVisible(chromedp.CSS(`#act-escalate textarea[name=text]`)),
	)
	if loc := run(t, ctx, "location", chromedp.Location()); !strings.Contains(loc, "/inbox/tickets/"+rumour[len(rumour)-1]) {
		t.Fatalf("呈报 opened %s", loc)
	}
	do(t, ctx, "呈阅件", chromedp.SendKeys(chromedp.CSS(`#act-escalate textarea[name=text]`), "网传自来水有毒，一小时内来电激增，建议及时辟谣"))
	submitAction(t, ctx, "escalate", "呈报待批示")

	if a := alerts.list(); len(a) > 0 {
		t.Fatalf("a page opened dialogs: %q", a)
	}
}
