package inbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/app"
	"hotline/auth"
	"hotline/configs"
	"hotline/store/storetest"
)

// gateway is a fake SMS gateway for the http provider.
type gateway struct {
	mu    sync.Mutex
	got   []map[string]string
	delay time.Duration
}

func (g *gateway) setDelay(d time.Duration) { g.mu.Lock(); g.delay = d; g.mu.Unlock() }

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	d := g.delay
	g.mu.Unlock()
	time.Sleep(d)
	g.mu.Lock()
	defer g.mu.Unlock()
	var m map[string]string
	json.NewDecoder(r.Body).Decode(&m)
	g.got = append(g.got, m)
}

func (g *gateway) texts(to string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for _, m := range g.got {
		if m["to"] == to {
			out = append(out, m["text"])
		}
	}
	return out
}

type env struct {
	t   testing.TB
	srv *httptest.Server
	gw  *gateway
	app *app.App
}

const (
	smsToken  = "test-sms-token"
	adminPass = "admin-pass-123"
)

// start runs the whole application (as app/app_test.go does) with the outbox
// worker and the live poller, behind an httptest server.
func start(t testing.TB, driver string, tweak ...func(*configs.Config)) *env {
	t.Helper()
	gw := &gateway{}
	gwSrv := httptest.NewServer(gw)
	t.Cleanup(gwSrv.Close)
	o := storetest.Options(t, driver)
	cfg, err := configs.Load("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store.Driver, cfg.Store.DSN = o.Driver, o.DSN
	cfg.Admin.Password = adminPass
	cfg.Auth.BcryptCost = 4
	cfg.SMS.WebhookToken = smsToken
	cfg.Voice.WebhookToken = "test-voice-token"
	cfg.SMS.Outbound.Provider, cfg.SMS.Outbound.HTTPURL = "http", gwSrv.URL
	cfg.Outbox.PollInterval = 20 * time.Millisecond
	cfg.Outbox.BackoffBase = 10 * time.Millisecond
	cfg.Inbox.LivePoll = 100 * time.Millisecond
	cfg.Website.AttachmentsDir = t.TempDir()
	for _, f := range tweak {
		f(cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.New(context.Background(), cfg, log, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); a.Outbox.Run(ctx) }()
	go func() { defer wg.Done(); a.RunLive(ctx) }()
	srv := httptest.NewServer(a.Handler)
	t.Cleanup(func() {
		cancel() // ends the live streams first, so Close does not wait for them
		wg.Wait()
		srv.Close()
		a.Close()
	})
	return &env{t: t, srv: srv, gw: gw, app: a}
}

// addUser creates an account directly in the store.
func (e *env) addUser(name, role string, unit *int64) {
	e.t.Helper()
	hash, err := auth.Hash(name+"-password", 4)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.app.Store.CreateUser(context.Background(), name, "坐席"+name, role, hash, unit); err != nil {
		e.t.Fatal(err)
	}
}

// sms posts an Aliyun uplink and returns the ticket number it made.
func (e *env) sms(seq, phone, text string) string {
	e.t.Helper()
	b, _ := json.Marshal([]map[string]any{{"phone_number": phone, "content": text, "send_time": "2026-11-26 09:30:00",
		"dest_code": "12345", "sequence_id": seq, "sign_name": "德州12345"}})
	resp, err := http.Post(e.srv.URL+"/channels/sms/aliyun?token="+smsToken, "application/json", strings.NewReader(string(b)))
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		e.t.Fatalf("sms webhook: %d", resp.StatusCode)
	}
	var no string
	err = e.app.Store.DB().Raw(`SELECT t.no FROM tickets t JOIN messages m ON m.ticket_id = t.id WHERE m.channel = 'sms' AND m.dedup_key = ?`, "aliyun:"+seq).Scan(&no).Error
	if err != nil || no == "" {
		e.t.Fatalf("ticket of sms %s: %q %v", seq, no, err)
	}
	return no
}

// setUnit assigns a ticket to a handling unit (the pipeline's job; tests set it).
func (e *env) setUnit(no string, unit int64, name string) {
	e.t.Helper()
	err := e.app.Store.DB().Exec(`UPDATE tickets SET unit_id = ?, unit_name = ?, updated_at = ? WHERE no = ?`, unit, name, time.Now().UTC(), no).Error
	if err != nil {
		e.t.Fatal(err)
	}
}

// agent is a browser-like client with a cookie jar.
type agent struct {
	e    *env
	c    *http.Client
	csrf string
}

var csrfRE = regexp.MustCompile(`name="csrf-token" content="([^"]*)"`)
var formCSRF = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

func (e *env) login(user, pw string) *agent {
	e.t.Helper()
	jar, _ := cookiejar.New(nil)
	a := &agent{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	_, body := a.get("/login", 200)
	m := formCSRF.FindStringSubmatch(body)
	if m == nil {
		e.t.Fatal("no csrf on the login form")
	}
	resp, _ := a.post("/login", url.Values{"csrf": {m[1]}, "username": {user}, "password": {pw}}, "")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/inbox" {
		e.t.Fatalf("login %s: %d %s", user, resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body = a.get("/inbox", 200)
	if m := csrfRE.FindStringSubmatch(body); m != nil {
		a.csrf = html.UnescapeString(m[1])
	}
	if a.csrf == "" {
		e.t.Fatal("no csrf meta after login")
	}
	return a
}

func (a *agent) get(path string, want int) (*http.Response, string) {
	a.e.t.Helper()
	resp, err := a.c.Get(a.e.srv.URL + path)
	if err != nil {
		a.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if want != 0 && resp.StatusCode != want {
		a.e.t.Fatalf("GET %s: %d, want %d: %.400s", path, resp.StatusCode, want, b)
	}
	return resp, string(b)
}

// post sends a form; csrf "" sends none, "auto" the session's.
func (a *agent) post(path string, form url.Values, csrf string) (*http.Response, string) {
	a.e.t.Helper()
	if csrf == "auto" {
		csrf = a.csrf
	}
	if csrf != "" {
		form.Set("csrf", csrf)
	}
	resp, err := a.c.PostForm(a.e.srv.URL+path, form)
	if err != nil {
		a.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (a *agent) mustPost(path string, form url.Values, want int) string {
	a.e.t.Helper()
	resp, body := a.post(path, form, "auto")
	if resp.StatusCode != want {
		a.e.t.Fatalf("POST %s: %d, want %d: %.600s", path, resp.StatusCode, want, body)
	}
	return body
}

// apiToken logs in through the agent API.
func (e *env) apiToken(user, pw string) string {
	e.t.Helper()
	resp, err := http.Post(e.srv.URL+"/api/v1/auth/login", "application/json",
		strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, user, pw)))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&r)
	if r.Token == "" {
		e.t.Fatalf("api login %s: %d", user, resp.StatusCode)
	}
	return r.Token
}

func (e *env) apiStatus(token, path string) int {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("never happened: %s", what)
}

// forDrivers runs f on SQLite, and on PostgreSQL when HOTLINE_TEST_POSTGRES_DSN is set.
func forDrivers(t *testing.T, f func(t *testing.T, driver string)) {
	for _, d := range storetest.Drivers() {
		t.Run(d, func(t *testing.T) { f(t, d) })
	}
}

func newJar() http.CookieJar {
	j, _ := cookiejar.New(nil)
	return j
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func regexpAll(pattern, s string) []string {
	var out []string
	for _, m := range regexp.MustCompile(pattern).FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

func htmlUnescape(s string) string { return html.UnescapeString(s) }
