package inbox_test

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"hotline/auth"
	"hotline/channels/web"
	"hotline/configs"
	"hotline/inbox"
	"hotline/live"
	"hotline/normalize"
	"hotline/ticket"
)

func TestLoginLogoutAndSession(t *testing.T) {
	e := start(t, "sqlite")
	jar := &agent{e: e, c: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	// signed out: / and /inbox lead to the sign-in form
	resp, _ := jar.get("/", http.StatusSeeOther)
	if resp.Header.Get("Location") != "/login" {
		t.Fatalf("/ signed out -> %s", resp.Header.Get("Location"))
	}
	resp, _ = jar.get("/inbox/tickets/x", http.StatusSeeOther)
	if !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
		t.Fatalf("/inbox signed out -> %s", resp.Header.Get("Location"))
	}
	_, body := jar.get("/login", 200)
	for _, want := range []string{`name="username"`, `type="password"`, `name="csrf"`} {
		if !strings.Contains(body, want) {
			t.Errorf("login form lacks %s", want)
		}
	}
	// a post without the login form's token is refused
	resp, _ = jar.post("/login", url.Values{"username": {"admin"}, "password": {adminPass}}, "")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("login without csrf: %d", resp.StatusCode)
	}

	a := e.login("admin", adminPass)
	var session *http.Cookie
	for _, c := range a.c.Jar.Cookies(mustURL(e.srv.URL)) {
		if c.Name == "hotline_session" {
			session = c
		}
	}
	if session == nil {
		t.Fatal("no session cookie")
	}
	resp, _ = a.get("/", http.StatusSeeOther)
	if resp.Header.Get("Location") != "/inbox" {
		t.Fatalf("/ signed in -> %s", resp.Header.Get("Location"))
	}
	// wrong password: 401 and the form again
	j2 := &agent{e: e, c: &http.Client{Jar: newJar(), CheckRedirect: a.c.CheckRedirect}}
	_, body = j2.get("/login", 200)
	tok := formCSRF.FindStringSubmatch(body)[1]
	resp, body = j2.post("/login", url.Values{"csrf": {tok}, "username": {"admin"}, "password": {"wrong-password"}}, "")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "用户名或密码错误") {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	// repeated failures are throttled per user name (and client IP)
	defer func(n int64) { inbox.LoginAttempts = n }(inbox.LoginAttempts)
	inbox.LoginAttempts = 3
	for range 2 {
		j2.post("/login", url.Values{"csrf": {tok}, "username": {"admin"}, "password": {"wrong-password"}}, "")
	}
	resp, body = j2.post("/login", url.Values{"csrf": {tok}, "username": {"admin"}, "password": {adminPass}}, "")
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "次数过多") {
		t.Fatalf("after 3 failures: %d", resp.StatusCode)
	}
	// log out: needs the CSRF token; afterwards the session is gone
	resp, _ = a.post("/logout", url.Values{}, "")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("logout without csrf: %d", resp.StatusCode)
	}
	resp, _ = a.post("/logout", url.Values{}, "auto")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("logout: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = a.get("/inbox", http.StatusSeeOther)
	if !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatal("session still valid after logout")
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	e := start(t, "sqlite", func(c *configs.Config) { c.HTTP.PublicURL = "https://12345.example.gov.cn" })
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Jar: newJar()}
	a := &agent{e: e, c: c}
	_, body := a.get("/login", 200)
	tok := formCSRF.FindStringSubmatch(body)[1]
	resp, _ := a.post("/login", url.Values{"csrf": {tok}, "username": {"admin"}, "password": {adminPass}}, "")
	var raw string
	for _, v := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(v, "hotline_session=") {
			raw = v
		}
	}
	for _, want := range []string{"HttpOnly", "SameSite=Lax", "Secure", "Path=/"} {
		if !strings.Contains(raw, want) {
			t.Errorf("session cookie %q lacks %s", raw, want)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := start(t, "sqlite")
	a := e.login("admin", adminPass)
	resp, _ := a.get("/inbox", 200)
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Fatalf("CSP %q", csp)
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatal("missing frame or cache headers")
	}
	for _, p := range []string{"/inbox/assets/inbox.js", "/inbox/assets/inbox.css"} {
		r, body := a.get(p, 200)
		if body == "" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("%s not served", p)
		}
	}
}

func TestListFiltersSearchAndXSS(t *testing.T) {
	forDrivers(t, func(t *testing.T, driver string) {
		e := start(t, driver)
		xss := `<script>alert(1)</script>路灯坏了 <img src=x onerror=alert(1)>`
		n1 := e.sms("1", "13800138001", xss)
		n2 := e.sms("2", "13800138002", "我要投诉小区物业乱收费，每个月多收五十元停车费")
		a := e.login("admin", adminPass)
		_, body := a.get("/inbox", 200)
		for _, no := range []string{n1, n2} {
			if !strings.Contains(body, `data-no="`+no+`"`) {
				t.Fatalf("list lacks %s", no)
			}
		}
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
			t.Fatal("citizen text rendered as markup in the list")
		}
		if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Fatal("citizen text not shown escaped")
		}
		if !strings.Contains(body, "data-deadline=") || !strings.Contains(body, "剩余") {
			t.Fatal("no SLA countdown on waiting tickets")
		}
		_, body = a.get("/inbox/tickets/"+n1, 200)
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") ||
			!strings.Contains(body, "&lt;img src=x onerror=alert(1)&gt;") {
			t.Fatal("citizen text rendered as markup on the ticket page")
		}
		for q, want := range map[string]string{
			"q=13800138002": n2, "q=" + n1: n1, "q=" + url.QueryEscape("物业"): n2,
			"channel=sms&q=" + url.QueryEscape("路灯"): n1, "category=" + url.QueryEscape("城建环保"): n2,
		} {
			_, body := a.get("/inbox?"+q, 200)
			if !strings.Contains(body, `data-no="`+want+`"`) {
				t.Errorf("%s: lacks %s", q, want)
			}
			other := n1
			if want == n1 {
				other = n2
			}
			if q != "category="+url.QueryEscape("城建环保") && strings.Contains(body, `data-no="`+other+`"`) {
				t.Errorf("%s: shows %s too", q, other)
			}
		}
		_, body = a.get("/inbox?channel=wechat", 200)
		if strings.Contains(body, `data-no="`) {
			t.Error("channel filter shows sms tickets for wechat")
		}
		// claiming moves a ticket from "unassigned" to "mine"
		a.mustPost("/inbox/tickets/"+n2+"/claim", url.Values{}, http.StatusSeeOther)
		_, body = a.get("/inbox?mine=1", 200)
		if !strings.Contains(body, n2) || strings.Contains(body, n1) {
			t.Error("mine filter")
		}
		_, body = a.get("/inbox?unassigned=1", 200)
		if strings.Contains(body, n2) || !strings.Contains(body, n1) {
			t.Error("unassigned filter")
		}
	})
}

func TestPagination(t *testing.T) {
	e := start(t, "sqlite", func(c *configs.Config) { c.Inbox.PageSize = 3 })
	for i := range 7 {
		e.sms("p"+string(rune('0'+i)), "1380013800"+string(rune('0'+i)), "路灯坏了好几天了，位置在新湖大道")
	}
	a := e.login("admin", adminPass)
	seen := map[string]bool{}
	path := "/inbox"
	pages := 0
	for path != "" {
		_, body := a.get(path, 200)
		pages++
		for _, m := range regexpAll(`data-no="([^"]+)"`, body) {
			if seen[m] {
				t.Fatalf("%s on two pages", m)
			}
			seen[m] = true
		}
		path = ""
		if m := regexpAll(`rel="next" href="([^"]+)"`, body); len(m) > 0 {
			path = htmlUnescape(m[0])
		}
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
	}
	if len(seen) != 7 || pages != 3 {
		t.Fatalf("%d tickets over %d pages", len(seen), pages)
	}
}

func TestReplyStandardTemplateAndClaims(t *testing.T) {
	e := start(t, "sqlite")
	e.addUser("zhang", auth.RoleIntake, nil)
	e.addUser("li", auth.RoleIntake, nil)
	no := e.sms("1", "13900139000", "请问新生儿落户需要带哪些材料？")
	zhang := e.login("zhang", "zhang-password")
	li := e.login("li", "li-password")

	// no CSRF token: refused
	resp, _ := zhang.post("/inbox/tickets/"+no+"/reply", url.Values{"text": {"x"}}, "")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("reply without csrf: %d", resp.StatusCode)
	}
	resp, _ = zhang.post("/inbox/tickets/"+no+"/reply", url.Values{"text": {"x"}}, li.csrf)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("reply with another session's csrf: %d", resp.StatusCode)
	}
	// unfilled placeholders are refused, the text stays in the box
	body := zhang.mustPost("/inbox/tickets/"+no+"/reply", url.Values{"kind": {"answered"},
		"text": {"您好！您的短信已收到，现已落实，答复结果如下：{answer}。感谢您对我们的信任！"}}, http.StatusBadRequest)
	if !strings.Contains(body, "占位") || !strings.Contains(body, "{answer}") {
		t.Fatal("placeholder error not shown")
	}
	// template 1 filled: sent as the standard reply; zhang now holds the ticket
	text := "您好！您的短信已收到，现已落实，答复结果如下：携带出生医学证明和父母户口簿到户籍所在地派出所办理。感谢您对我们的信任！"
	zhang.mustPost("/inbox/tickets/"+no+"/reply", url.Values{"kind": {"answered"}, "text": {text}}, http.StatusSeeOther)
	tk, err := e.app.Store.GetTicket(context.Background(), no)
	if err != nil {
		t.Fatal(err)
	}
	last := tk.Messages[len(tk.Messages)-1]
	if last.Direction != "out" || last.Kind != "answered" || last.Text != text {
		t.Fatalf("reply %+v", last)
	}
	// template 1 on a ticket at intake is the standard's 答复: it closes the ticket
	if tk.Status != ticket.StatusClosed {
		t.Fatalf("answered with template 1 but status %s", tk.Status)
	}
	eventually(t, "reply delivered", func() bool { return len(e.gw.texts("13900139000")) == 1 })
	eventually(t, "delivery state sent", func() bool {
		tk, _ := e.app.Store.GetTicket(context.Background(), no)
		return tk.Messages[len(tk.Messages)-1].Delivery == "sent"
	})
	// an edited standard text is the agent's own reply
	zhang.mustPost("/inbox/tickets/"+no+"/reply", url.Values{"kind": {"thanks"}, "text": {"您好！感谢来信。"}}, http.StatusSeeOther)
	tk, _ = e.app.Store.GetTicket(context.Background(), no)
	if k := tk.Messages[len(tk.Messages)-1].Kind; k != "agent" {
		t.Fatalf("edited template sent as %q", k)
	}

	// li sees who holds it and cannot reply without taking over
	_, body = li.get("/inbox/tickets/"+no, 200)
	if !strings.Contains(body, "坐席zhang") || !strings.Contains(body, `id="held-warning"`) || !strings.Contains(body, `name="takeover"`) {
		t.Fatal("holder not shown to the second agent")
	}
	body = li.mustPost("/inbox/tickets/"+no+"/reply", url.Values{"text": {"我来回复"}}, http.StatusConflict)
	if !strings.Contains(body, "坐席zhang") || !strings.Contains(body, "我来回复") {
		t.Fatal("409 page lacks the holder or the typed text")
	}
	li.mustPost("/inbox/tickets/"+no+"/claim", url.Values{}, http.StatusConflict)
	li.mustPost("/inbox/tickets/"+no+"/reply", url.Values{"text": {"我来回复"}, "takeover": {"1"}}, http.StatusSeeOther)
	tk, _ = e.app.Store.GetTicket(context.Background(), no)
	var took bool
	for _, ev := range tk.Events {
		took = took || (ev.Type == "taken_over" && ev.Actor == "li" && strings.Contains(ev.Note, "坐席zhang"))
	}
	if !took {
		t.Fatalf("take-over not in the audit trail: %+v", tk.Events)
	}
	// now zhang is the one warned; releasing is only for the holder
	zhang.mustPost("/inbox/tickets/"+no+"/release", url.Values{}, http.StatusConflict)
	li.mustPost("/inbox/tickets/"+no+"/release", url.Values{}, http.StatusSeeOther)
	zhang.mustPost("/inbox/tickets/"+no+"/claim", url.Values{}, http.StatusSeeOther)
}

func TestClassifyAndKB(t *testing.T) {
	e := start(t, "sqlite")
	no := e.sms("1", "13900139000", "小区楼下的路灯坏了，晚上很黑")
	a := e.login("admin", adminPass)
	a.mustPost("/inbox/tickets/"+no+"/classify", url.Values{"nature": {"complaint"}, "category": {"服务业"}}, http.StatusSeeOther)
	tk, _ := e.app.Store.GetTicket(context.Background(), no)
	if tk.Nature != "complaint" || tk.Category != "服务业" {
		t.Fatalf("classification %s %s", tk.Nature, tk.Category)
	}
	if ev := tk.Events[len(tk.Events)-1]; ev.Type != "reclassified" || !strings.Contains(ev.Note, "投诉·服务业") {
		t.Fatalf("event %+v", ev)
	}
	a.mustPost("/inbox/tickets/"+no+"/classify", url.Values{"nature": {"bogus"}, "category": {"服务业"}}, http.StatusBadRequest)
	_, body := a.get("/inbox/kb?q="+url.QueryEscape("落户"), 200)
	if !strings.HasPrefix(body, `{"hits":`) {
		t.Fatalf("kb: %s", body)
	}
	// the six standard texts of the ticket's channel are offered
	_, body = a.get("/inbox/tickets/"+no, 200)
	if strings.Count(body, `class="tpl"`) != 6 || !strings.Contains(body, "{answer}") {
		t.Fatal("standard replies missing")
	}
}

func TestUnitSeesOnlyItsTickets(t *testing.T) {
	forDrivers(t, func(t *testing.T, driver string) {
		e := start(t, driver)
		u7, u8 := int64(7), int64(8)
		e.addUser("water", auth.RoleUnit, &u7)
		mine := e.sms("1", "13800138001", "小区停水三天了，没有任何通知")
		other := e.sms("2", "13800138002", "路灯坏了好几天了")
		secret := e.sms("3", "13800138003", "举报某单位违规收费")
		e.setUnit(mine, u7, "市水务集团")
		e.setUnit(other, u8, "市城管局")
		e.setUnit(secret, u7, "市水务集团")
		if err := e.app.Store.DB().Exec(`UPDATE tickets SET confidential = ? WHERE no = ?`, true, secret).Error; err != nil {
			t.Fatal(err)
		}
		w := e.login("water", "water-password")
		_, body := w.get("/inbox", 200)
		if !strings.Contains(body, mine) || strings.Contains(body, other) {
			t.Fatal("unit list shows another unit's ticket")
		}
		if strings.Contains(body, "13800138001") || !strings.Contains(body, "138****8001") {
			t.Fatal("unit list shows an unmasked phone")
		}
		if strings.Contains(body, "13800138003") || strings.Contains(body, "138****8003") {
			t.Fatal("confidential contact shown to a unit")
		}
		w.get("/inbox/tickets/"+other, http.StatusNotFound)
		_, body = w.get("/inbox/tickets/"+secret, 200)
		if strings.Contains(body, "8003") || !strings.Contains(body, "保密") {
			t.Fatal("confidential ticket page shows contact data to a unit")
		}
		// units cannot act as the centre
		resp, _ := w.post("/inbox/tickets/"+mine+"/reply", url.Values{"text": {"x"}}, "auto")
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("unit reply: %d", resp.StatusCode)
		}
		w.get("/inbox/admin/users", http.StatusForbidden)
		// the API enforces the same
		tok := e.apiToken("water", "water-password")
		if s := e.apiStatus(tok, "/api/v1/tickets/"+other); s != http.StatusNotFound {
			t.Fatalf("API other unit's ticket: %d", s)
		}
		if s := e.apiStatus(tok, "/api/v1/tickets/"+mine); s != http.StatusOK {
			t.Fatalf("API own unit's ticket: %d", s)
		}
	})
}

func TestAdminUsers(t *testing.T) {
	e := start(t, "sqlite")
	e.addUser("zhang", auth.RoleIntake, nil)
	z := e.login("zhang", "zhang-password")
	z.get("/inbox/admin/users", http.StatusForbidden)
	resp, _ := z.post("/inbox/admin/users", url.Values{"username": {"x1"}, "role": {"admin"}, "password": {"12345678"}}, "auto")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("non-admin added a user: %d", resp.StatusCode)
	}
	a := e.login("admin", adminPass)
	_, body := a.get("/inbox/admin/users", 200)
	for _, r := range []string{"受理坐席", "转办坐席", "回访坐席", "督办室", "承办单位", "管理员"} {
		if !strings.Contains(body, r) {
			t.Errorf("role %s not offered", r)
		}
	}
	a.mustPost("/inbox/admin/users", url.Values{"username": {"unit9"}, "display_name": {"市供电公司"}, "role": {"unit_user"},
		"unit_id": {"9"}, "password": {"unit9-password"}}, http.StatusSeeOther)
	a.mustPost("/inbox/admin/users", url.Values{"username": {"unit9"}, "role": {"intake_agent"}, "password": {"unit9-password"}}, http.StatusConflict)
	a.mustPost("/inbox/admin/users", url.Values{"username": {"u2"}, "role": {"unit_user"}, "password": {"unit9-password"}}, http.StatusBadRequest)
	a.mustPost("/inbox/admin/users", url.Values{"username": {"u3"}, "role": {"intake_agent"}, "password": {"short"}}, http.StatusBadRequest)
	u := e.login("unit9", "unit9-password")
	if _, body := u.get("/inbox", 200); !strings.Contains(body, "承办单位") {
		t.Fatal("unit user's role not shown")
	}
}

func TestEventStream(t *testing.T) {
	e := start(t, "sqlite")
	u7 := int64(7)
	e.addUser("water", auth.RoleUnit, &u7)
	a := e.login("admin", adminPass)
	w := e.login("water", "water-password")
	open := func(ag *agent) (*bufio.Reader, func()) {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/inbox/events", nil)
		resp, err := ag.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		return bufio.NewReader(resp.Body), func() { cancel(); resp.Body.Close() }
	}
	ra, closeA := open(a)
	defer closeA()
	rw, closeW := open(w)
	defer closeW()
	no := e.sms("1", "13800138001", "路灯坏了好几天了")
	waitFor := func(r *bufio.Reader, want string) {
		t.Helper()
		done := make(chan bool, 1)
		go func() {
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					done <- false
					return
				}
				if strings.HasPrefix(line, "data:") && strings.Contains(line, want) {
					done <- true
					return
				}
			}
		}()
		select {
		case ok := <-done:
			if !ok {
				t.Fatalf("stream ended before %s", want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no event for %s", want)
		}
	}
	waitFor(ra, no)
	// the unit hears of the ticket only once it is theirs
	e.setUnit(no, u7, "市水务集团")
	waitFor(rw, no)

	resp, _ := (&agent{e: e, c: &http.Client{}}).get("/inbox/events", 0)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("events without a session: %d", resp.StatusCode)
	}
}

// TestEventsAcrossInstances: two instances on one PostgreSQL database and one
// Redis; an SMS taken in by the first shows on the second's event stream.
func TestEventsAcrossInstances(t *testing.T) {
	redisURL := os.Getenv("HOTLINE_TEST_REDIS_URL")
	if redisURL == "" || os.Getenv("HOTLINE_TEST_POSTGRES_DSN") == "" {
		t.Skip("needs HOTLINE_TEST_REDIS_URL and HOTLINE_TEST_POSTGRES_DSN")
	}
	withRedis := func(c *configs.Config) { c.Redis.URL = redisURL }
	a := start(t, "postgres", withRedis)
	// A holds the poll lease; B would poll only hourly, so what B hears came
	// from A through Redis.
	eventually(t, "A holds the poll lease", func() bool {
		n, _ := a.app.Redis.Exists(context.Background(), "hotline:live:poller").Result()
		return n == 1
	})
	b := start(t, "postgres", withRedis, func(c *configs.Config) {
		c.Store.DSN = a.app.Cfg.Store.DSN
		c.Inbox.LivePoll = time.Hour
	})
	if _, ok := b.app.Live.(*live.Redis); !ok {
		t.Fatalf("hub with Redis is %T", b.app.Live)
	}
	ag := b.login("admin", adminPass)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", b.srv.URL+"/inbox/events", nil)
	resp, err := ag.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	no := a.sms("x-1", "13800138001", "路灯坏了好几天了")
	got := make(chan bool, 1)
	go func() {
		r := bufio.NewReader(resp.Body)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				got <- false
				return
			}
			if strings.HasPrefix(line, "data:") && strings.Contains(line, no) {
				got <- true
				return
			}
		}
	}()
	select {
	case ok := <-got:
		if !ok {
			t.Fatal("stream ended")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("instance B never heard of instance A's ticket")
	}
}

func TestAttachments(t *testing.T) {
	e := start(t, "sqlite")
	u7 := int64(7)
	e.addUser("water", auth.RoleUnit, &u7)
	files := &web.Attachments{Dir: e.app.Cfg.Website.AttachmentsDir, MaxBytes: 1 << 20, MaxFiles: 5}
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 64)...)
	att, err := files.Save("现场照片.png", bytes.NewReader(png))
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.app.Intake.Ingest(context.Background(), normalize.Envelope{Channel: normalize.Website, DedupKey: "form:att-1",
		Sender: normalize.Sender{Name: "李女士", Phone: "13600136000"}, Title: "道路破损", Text: "小区门口道路破损严重，见附件照片。",
		Attachments: []normalize.Attachment{att}, ReceivedAt: time.Now()}, "")
	if err != nil {
		t.Fatal(err)
	}
	a := e.login("admin", adminPass)
	_, body := a.get("/inbox/tickets/"+r.TicketNo, 200)
	links := regexpAll(`href="(/inbox/tickets/[^"]+/attachments/[^"]+)"`, body)
	if len(links) != 1 || !strings.Contains(body, "现场照片.png") {
		t.Fatalf("attachment not listed: %v", links)
	}
	resp, got := a.get(links[0], 200)
	if got != string(png) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "image/png") {
		t.Fatalf("download: %q %s", resp.Header.Get("Content-Type"), got)
	}
	a.get("/inbox/tickets/"+r.TicketNo+"/attachments/999/0", http.StatusNotFound)
	// a unit sees the attachment of its own ticket, not of a confidential one
	w := e.login("water", "water-password")
	w.get(links[0], http.StatusNotFound)
	e.setUnit(r.TicketNo, u7, "市住建局")
	w.get(links[0], 200)
	if err := e.app.Store.DB().Exec(`UPDATE tickets SET confidential = ? WHERE no = ?`, true, r.TicketNo).Error; err != nil {
		t.Fatal(err)
	}
	w.get(links[0], http.StatusNotFound)
	if _, body := w.get("/inbox/tickets/"+r.TicketNo, 200); strings.Contains(body, "现场照片") || strings.Contains(body, "13600136000") {
		t.Fatal("confidential attachment or phone shown to the unit")
	}
}

func TestReplyOnChosenRoute(t *testing.T) {
	e := start(t, "sqlite")
	r, err := e.app.Intake.Ingest(context.Background(), normalize.Envelope{Channel: normalize.MayorMailbox, DedupKey: "mail:1",
		Sender: normalize.Sender{Name: "赵先生", Phone: "13500135000", Email: "zhao@example.com"}, Title: "建议增加公交线路",
		Text: "建议增加从天衢新区到高铁站的公交线路。", ReceivedAt: time.Now()}, "")
	if err != nil {
		t.Fatal(err)
	}
	a := e.login("admin", adminPass)
	_, body := a.get("/inbox/tickets/"+r.TicketNo, 200)
	if !strings.Contains(body, `name="via"`) || !strings.Contains(body, `<option value="sms">短信发送至 135****5000</option>`) {
		t.Fatal("no SMS alternative offered for a mail citizen with a phone")
	}
	a.mustPost("/inbox/tickets/"+r.TicketNo+"/reply", url.Values{"text": {"您好，已转交市交通运输局研究。"}, "via": {"fax"}}, http.StatusBadRequest)
	a.mustPost("/inbox/tickets/"+r.TicketNo+"/reply", url.Values{"text": {"您好，已转交市交通运输局研究。"}, "via": {"wechat"}}, http.StatusConflict)
	a.mustPost("/inbox/tickets/"+r.TicketNo+"/reply", url.Values{"text": {"您好，已转交市交通运输局研究。"}, "via": {"sms"}}, http.StatusSeeOther)
	eventually(t, "SMS to the mail citizen", func() bool { return len(e.gw.texts("13500135000")) == 1 })
}
