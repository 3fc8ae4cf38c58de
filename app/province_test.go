package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hotline/app"
	"hotline/auth"
	"hotline/channels/province"
	"hotline/configs"
	"hotline/provincesim"
	"hotline/store"
	"hotline/store/storetest"
	"hotline/ticket"
)

const provSecret = "province-test-secret"

// provWorld is a simulated provincial platform and a hotline front whose
// handler can be swapped, so that one test can run several hotline processes
// (a crash, a restart) on the same database.
type provWorld struct {
	t       *testing.T
	sim     *provincesim.Sim
	simURL  string
	front   *httptest.Server
	handler atomic.Pointer[http.Handler]
	dbOpts  store.Options
	attDir  string
}

func provSetup(t *testing.T, driver string) *provWorld {
	t.Helper()
	w := &provWorld{t: t, dbOpts: storetest.Options(t, driver), attDir: t.TempDir()}
	w.front = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		h := w.handler.Load()
		if h == nil {
			http.Error(rw, "hotline is down", http.StatusServiceUnavailable)
			return
		}
		(*h).ServeHTTP(rw, r)
	}))
	t.Cleanup(w.front.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.sim = provincesim.New(provincesim.Options{Listen: ln.Addr().String(), Secret: provSecret, Hotline: w.front.URL, CasePrefix: "SD-T"})
	srv := httptest.NewUnstartedServer(w.sim.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	w.simURL = srv.URL
	return w
}

func (w *provWorld) config() *configs.Config {
	w.t.Helper()
	cfg, err := configs.Load("")
	if err != nil {
		w.t.Fatal(err)
	}
	cfg.Store.Driver, cfg.Store.DSN = w.dbOpts.Driver, w.dbOpts.DSN
	cfg.Admin.Password = "admin-pass-123"
	cfg.Auth.BcryptCost = 4
	cfg.SMS.WebhookToken, cfg.Voice.WebhookToken = "t-sms", "t-voice"
	cfg.Outbox.PollInterval = 20 * time.Millisecond
	cfg.Outbox.BackoffBase = 10 * time.Millisecond
	cfg.Outbox.BackoffMax = 100 * time.Millisecond
	cfg.Outbox.MaxAttempts = 100 // attachment fetches retry a slow server; province events ignore the limit
	cfg.Province.BaseURL = w.simURL
	cfg.Province.Secret = provSecret
	cfg.Province.AttachmentsDir = w.attDir
	cfg.Province.AttachmentMaxBytes = 1024
	cfg.Province.AttachmentTimeout = 300 * time.Millisecond
	return cfg
}

// open starts a hotline process on cfg behind the front (with its outbox
// worker running when worker is set); stop ends it.
func (w *provWorld) open(cfg *configs.Config, worker bool) (a *app.App, stop func()) {
	w.t.Helper()
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	if worker {
		go func() { a.Outbox.Run(ctx); close(done) }()
	} else {
		close(done)
	}
	w.handler.Store(&a.Handler)
	var once sync.Once
	stop = func() {
		once.Do(func() {
			w.handler.Store(nil)
			cancel()
			<-done
			a.Close()
		})
	}
	w.t.Cleanup(stop)
	return a, stop
}

func (w *provWorld) request(method, path, token string, body []byte) (int, []byte) {
	w.t.Helper()
	req, _ := http.NewRequest(method, w.front.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (w *provWorld) login(user, pw string) string {
	w.t.Helper()
	code, b := w.request("POST", "/api/v1/auth/login", "", []byte(`{"username":"`+user+`","password":"`+pw+`"}`))
	var out struct{ Token string }
	if code != 200 || json.Unmarshal(b, &out) != nil {
		w.t.Fatalf("login %s: %d %s", user, code, b)
	}
	return out.Token
}

func (w *provWorld) ticket(token, no string) ticket.Ticket {
	w.t.Helper()
	code, b := w.request("GET", "/api/v1/tickets/"+no, token, nil)
	var tk ticket.Ticket
	if code != 200 || json.Unmarshal(b, &tk) != nil {
		w.t.Fatalf("ticket %s: %d %s", no, code, b)
	}
	return tk
}

// signedPost posts a case signed as the caller says, to h (a hotline's
// handler) or, when h is nil, to the front.
func (w *provWorld) signedPost(h http.Handler, body []byte, secret string, ts time.Time, nonce string) (int, string) {
	w.t.Helper()
	req := httptest.NewRequest("POST", "/channels/province/cases", bytes.NewReader(body))
	tss := strconv.FormatInt(ts.Unix(), 10)
	if secret != "" {
		req.Header.Set(province.HeaderTimestamp, tss)
		req.Header.Set(province.HeaderNonce, nonce)
		req.Header.Set(province.HeaderSignature, province.Sign(secret, tss, nonce, body))
	}
	if h == nil {
		h = *w.handler.Load()
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func provEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("never happened: %s", what)
}

func hasEvent(tk ticket.Ticket, typ, noteContains string) bool {
	for _, e := range tk.Events {
		if e.Type == typ && strings.Contains(e.Note, noteContains) {
			return true
		}
	}
	return false
}

func statusOf(err error) int {
	var se *provincesim.StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}

func TestProvinceInboundCase(t *testing.T) {
	for _, d := range storetest.Drivers() {
		t.Run(d, func(t *testing.T) {
			w := provSetup(t, d)
			a, _ := w.open(w.config(), true)
			ctx := context.Background()
			token := w.login("admin", "admin-pass-123")

			c := w.sim.SampleCase(1)
			c.Confidential = true
			no, err := w.sim.SendCase(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			// the same case again: the same ticket, nothing stored
			if again, err := w.sim.SendCase(ctx, c); err != nil || again != no {
				t.Fatalf("same case again: %q %v", again, err)
			}
			// a changed case under a known case_id: 409
			changed := c
			changed.Content += "（补充：已经两个月了）"
			if _, err := w.sim.SendCase(ctx, changed); statusOf(err) != http.StatusConflict {
				t.Fatalf("changed case: %v", err)
			}
			code, b := w.request("GET", "/api/v1/tickets?channel=province_mailbox", token, nil)
			var list struct{ Tickets []ticket.Ticket }
			if json.Unmarshal(b, &list); code != 200 || len(list.Tickets) != 1 {
				t.Fatalf("tickets %d %s", code, b)
			}
			tk := w.ticket(token, no)
			due, _ := time.Parse(time.RFC3339, c.DueAt)
			if tk.Channel != "province_mailbox" || tk.Title != c.Title || tk.Content != c.Content || !tk.Confidential || !tk.ReplyWanted ||
				tk.Citizen.Name != "王先生" || tk.Citizen.Phone != c.Citizen.Phone || tk.DueAt == nil || !tk.DueAt.Equal(due) {
				t.Fatalf("ticket %+v", tk)
			}
			// accepted goes back to the province, signed, with an idempotency key
			provEventually(t, "accepted delivered", func() bool { return len(w.sim.Accepted()) == 1 })
			got := w.sim.Accepted()[0]
			if got.CaseID != c.CaseID || got.Event.Event != "accepted" || got.Event.TicketNo != no || got.Key == "" || got.Redelivery {
				t.Fatalf("delivery %+v", got)
			}
			// the attachment is fetched after the answer and recorded on the ticket
			provEventually(t, "attachment fetched", func() bool { return hasEvent(w.ticket(token, no), "attachment_fetched", "情况说明.txt") })
			att := w.ticket(token, no).Messages[0].Attachments[0]
			if body, err := os.ReadFile(filepath.Join(w.attDir, filepath.FromSlash(att.Path))); err != nil || !strings.Contains(string(body), "省长信箱") {
				t.Fatalf("stored attachment %+v: %v", att, err)
			}
			// the fetch records the file before the worker marks its item sent
			provEventually(t, "outbox drained", func() bool {
				pending, dead, _ := a.Store.OutboxDepth(ctx)
				return pending == 0 && dead == 0
			})
		})
	}
}

func TestProvinceSignature(t *testing.T) {
	for _, d := range storetest.Drivers() {
		t.Run(d, func(t *testing.T) {
			w := provSetup(t, d)
			cfg := w.config()
			cfg.Province.PreviousSecret = "the-old-secret" // a key rollover in progress
			a1, _ := w.open(cfg, false)
			now := time.Now()
			body, _ := json.Marshal(w.sim.SampleCase(2))
			for _, c := range []struct {
				name   string
				secret string
				ts     time.Time
				nonce  string
				want   int
				code   string
			}{
				{"unsigned", "", now, "", 401, "unsigned"},
				{"wrong secret", "a-guess", now, "n-1", 401, "bad_signature"},
				{"301 s old", provSecret, now.Add(-301 * time.Second), "n-2", 401, "stale_timestamp"},
				{"301 s ahead", provSecret, now.Add(301 * time.Second), "n-3", 401, "stale_timestamp"},
				{"good", provSecret, now.Add(-200 * time.Second), "n-4", 200, ""},
				{"replayed nonce", provSecret, now, "n-4", 401, "replayed_nonce"},
				{"previous secret", "the-old-secret", now, "n-5", 200, ""},
			} {
				code, resp := w.signedPost(nil, body, c.secret, c.ts, c.nonce)
				if code != c.want || !strings.Contains(resp, c.code) {
					t.Fatalf("%s: %d %s", c.name, code, resp)
				}
			}
			// A second instance on the same database knows the nonces of the
			// first (no Redis: they are in the database).
			a2, _ := w.open(cfg, false)
			if code, resp := w.signedPost(a2.Handler, body, provSecret, now, "n-5"); code != 401 {
				t.Fatalf("replay on another instance: %d %s", code, resp)
			}
			if code, _ := w.signedPost(a2.Handler, body, provSecret, now, "n-6"); code != 200 {
				t.Fatalf("fresh nonce on another instance: %d", code)
			}
			_ = a1
			// Once the rollover is over, the old secret is refused.
			cfg2 := w.config()
			a3, _ := w.open(cfg2, false)
			if code, _ := w.signedPost(a3.Handler, body, "the-old-secret", now, "n-7"); code != 401 {
				t.Fatalf("old secret after the rollover: %d", code)
			}
			// Without a secret the channel is off.
			cfg3 := w.config()
			cfg3.Province.Secret = ""
			a4, _ := w.open(cfg3, false)
			if code, _ := w.signedPost(a4.Handler, body, provSecret, now, "n-8"); code != 503 {
				t.Fatalf("unconfigured: %d", code)
			}
			if code, _ := w.signedPost(a4.Handler, body, "", now, "n-9"); code != 503 {
				t.Fatalf("unconfigured, unsigned: %d", code)
			}
		})
	}
}

func TestProvinceRedisNonces(t *testing.T) {
	u := os.Getenv("HOTLINE_TEST_REDIS_URL")
	if u == "" {
		t.Skip("HOTLINE_TEST_REDIS_URL unset (e.g. redis://127.0.0.1:6379/15): Redis nonce store not tested end to end")
	}
	// Two instances with separate databases share only Redis: a replay on the
	// second is caught, so the nonces are in Redis.
	w1, w2 := provSetup(t, "sqlite"), provSetup(t, "sqlite")
	c1, c2 := w1.config(), w2.config()
	c1.Redis.URL, c2.Redis.URL = u, u
	a1, _ := w1.open(c1, false)
	a2, _ := w2.open(c2, false)
	body, _ := json.Marshal(w1.sim.SampleCase(3))
	nonce := province.NewNonce()
	if code, resp := w1.signedPost(a1.Handler, body, provSecret, time.Now(), nonce); code != 200 {
		t.Fatalf("first: %d %s", code, resp)
	}
	if code, resp := w2.signedPost(a2.Handler, body, provSecret, time.Now(), nonce); code != 401 || !strings.Contains(resp, "replayed_nonce") {
		t.Fatalf("replay through Redis: %d %s", code, resp)
	}
}

func TestProvinceAttachments(t *testing.T) {
	for _, d := range storetest.Drivers() {
		t.Run(d, func(t *testing.T) {
			w := provSetup(t, d)
			gate := make(chan struct{})
			var slowCalls atomic.Int32
			mux := http.NewServeMux()
			mux.HandleFunc("/gated.txt", func(rw http.ResponseWriter, r *http.Request) {
				select { // held until the test has its answer
				case <-gate:
					io.WriteString(rw, "gated")
				case <-r.Context().Done():
				}
			})
			mux.HandleFunc("/slow.txt", func(rw http.ResponseWriter, r *http.Request) {
				if slowCalls.Add(1) <= 2 { // slower than attachment_timeout twice, then fine
					select {
					case <-time.After(2 * time.Second):
					case <-r.Context().Done():
						return
					}
				}
				io.WriteString(rw, "slow")
			})
			mux.HandleFunc("/huge.bin", func(rw http.ResponseWriter, r *http.Request) { rw.Write(make([]byte, 4096)) })
			files := httptest.NewServer(mux)
			defer files.Close()

			_, _ = w.open(w.config(), true)
			token := w.login("admin", "admin-pass-123")
			c := w.sim.SampleCase(4)
			c.Attachments = []province.Attachment{
				{Name: "gated.txt", URL: files.URL + "/gated.txt"},
				{Name: "slow.txt", URL: files.URL + "/slow.txt"},
				{Name: "huge.bin", URL: files.URL + "/huge.bin"},
				{Name: "missing.jpg", URL: files.URL + "/missing.jpg"},
			}
			no, err := w.sim.SendCase(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			// answered while a download is still held: nothing blocks the response
			if hasEvent(w.ticket(token, no), "attachment_fetched", "gated.txt") {
				t.Fatal("gated attachment fetched before the gate opened")
			}
			close(gate)
			provEventually(t, "all attachments settled", func() bool {
				tk := w.ticket(token, no)
				return hasEvent(tk, "attachment_fetched", "gated.txt") && hasEvent(tk, "attachment_fetched", "slow.txt") &&
					hasEvent(tk, "delivery_dead", "huge.bin") && hasEvent(tk, "delivery_dead", "missing.jpg")
			})
			tk := w.ticket(token, no)
			if !hasEvent(tk, "delivery_dead", "larger than 1024 bytes") || !hasEvent(tk, "delivery_dead", "HTTP 404") {
				t.Fatalf("dead letters %+v", tk.Events)
			}
			if slowCalls.Load() < 3 {
				t.Fatalf("slow attachment fetched after %d calls: timeouts were not retried", slowCalls.Load())
			}
			atts := tk.Messages[0].Attachments
			if len(atts) != 4 || atts[0].Path == "" || atts[1].Path == "" || atts[2].Path != "" || atts[3].Path != "" {
				t.Fatalf("attachments %+v", atts)
			}
			var n int
			filepath.WalkDir(w.attDir, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					n++
				}
				return nil
			})
			if n != 2 {
				t.Fatalf("%d files stored, want 2", n)
			}
		})
	}
}

func TestProvinceDownThenInOrder(t *testing.T) {
	for _, d := range storetest.Drivers() {
		t.Run(d, func(t *testing.T) {
			w := provSetup(t, d)
			a, _ := w.open(w.config(), true)
			ctx := context.Background()
			w.sim.FailFor(time.Second) // the province is down
			no, err := w.sim.SendCase(ctx, w.sim.SampleCase(5))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range []struct{ event, unit, text string }{
				{"transferred", "市城市管理局", "请于5个工作日内办结"},
				{"replied", "市城市管理局", "路灯已于11月28日修复"},
				{"closed", "", "办结"},
			} {
				if err := a.Store.QueueProvinceEvent(ctx, no, e.event, e.unit, e.text); err != nil {
					t.Fatal(err)
				}
			}
			a.Outbox.Notify()
			provEventually(t, "four events delivered", func() bool { return len(w.sim.Accepted()) == 4 })
			var order []string
			keys := map[string]bool{}
			for _, d := range w.sim.Accepted() {
				order = append(order, d.Event.Event)
				if d.Redelivery || d.Key == "" || keys[d.Key] || d.Event.TicketNo != no {
					t.Fatalf("delivery %+v", d)
				}
				keys[d.Key] = true
			}
			if strings.Join(order, ",") != "accepted,transferred,replied,closed" {
				t.Fatalf("order %v", order)
			}
			if r := w.sim.Accepted()[2].Event; r.Unit != "市城市管理局" || r.Text != "路灯已于11月28日修复" {
				t.Fatalf("replied %+v", r)
			}
			failed := 0
			for _, d := range w.sim.Events() {
				if d.Status == 500 {
					failed++
				}
			}
			if failed == 0 {
				t.Fatal("the province was never down")
			}
			time.Sleep(100 * time.Millisecond)
			if n := len(w.sim.Accepted()); n != 4 {
				t.Fatalf("%d deliveries after the last", n)
			}
		})
	}
}

func TestProvinceKilledBeforeDelivery(t *testing.T) {
	for _, d := range storetest.Drivers() {
		t.Run(d, func(t *testing.T) {
			w := provSetup(t, d)
			ctx := context.Background()
			// The first process commits the case and a ticket change, and dies
			// before its worker delivers anything.
			a1, kill := w.open(w.config(), false)
			no, err := w.sim.SendCase(ctx, w.sim.SampleCase(6))
			if err != nil {
				t.Fatal(err)
			}
			if err := a1.Store.QueueProvinceEvent(ctx, no, "transferred", "市住建局", ""); err != nil {
				t.Fatal(err)
			}
			kill()
			if n := len(w.sim.Events()); n != 0 {
				t.Fatalf("%d deliveries before the restart", n)
			}
			// A new process on the same database delivers them, once each.
			a2, _ := w.open(w.config(), false)
			provEventually(t, "delivered after the restart", func() bool {
				a2.Outbox.RunOnce(ctx)
				return len(w.sim.Accepted()) == 2
			})
			got := w.sim.Accepted()
			if got[0].Event.Event != "accepted" || got[1].Event.Event != "transferred" || got[0].Key == got[1].Key || got[0].Redelivery || got[1].Redelivery {
				t.Fatalf("deliveries %+v", got)
			}
			// Killed after the province's 2xx but before the outcome was
			// recorded: the lease runs out and the event goes again, with the
			// same Idempotency-Key, so the province recognises the redelivery.
			if err := a2.Store.QueueProvinceEvent(ctx, no, "closed", "", "办结"); err != nil {
				t.Fatal(err)
			}
			jobs, err := a2.Store.ClaimOutbox(ctx, 10, 200*time.Millisecond)
			if err != nil || len(jobs) != 1 {
				t.Fatalf("claim %+v %v", jobs, err)
			}
			var p struct {
				Text, TicketNo, Kind string
				Meta                 map[string]string
			}
			json.Unmarshal([]byte(jobs[0].Payload), &p)
			s := &province.Sender{BaseURL: w.simURL, Secret: func() string { return provSecret }}
			if err := s.Send(ctx, ticket.Outgoing{ID: jobs[0].ID, To: jobs[0].Recipient, Kind: p.Kind, Text: p.Text,
				TicketNo: no, Meta: map[string]string{"at": p.Meta["at"], "unit": p.Meta["unit"]}}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(250 * time.Millisecond) // the dead worker's lease expires
			provEventually(t, "redelivered", func() bool {
				a2.Outbox.RunOnce(ctx)
				return len(w.sim.Accepted()) == 4
			})
			got = w.sim.Accepted()
			if got[2].Key != got[3].Key || got[2].Redelivery || !got[3].Redelivery || got[3].Event.Event != "closed" {
				t.Fatalf("redelivery %+v", got[2:])
			}
			a2.Outbox.RunOnce(ctx)
			if n := len(w.sim.Accepted()); n != 4 {
				t.Fatalf("%d deliveries: a delivered event went again", n)
			}
		})
	}
}

func TestProvinceDeadLetter(t *testing.T) {
	for _, d := range storetest.Drivers() {
		t.Run(d, func(t *testing.T) {
			w := provSetup(t, d)
			refusing := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				http.Error(rw, `{"error":"unknown case"}`, http.StatusUnprocessableEntity)
			}))
			defer refusing.Close()
			cfg := w.config()
			cfg.Province.BaseURL = refusing.URL
			a, _ := w.open(cfg, true)
			token := w.login("admin", "admin-pass-123")
			c := w.sim.SampleCase(7)
			c.Attachments = nil
			no, err := w.sim.SendCase(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			provEventually(t, "dead letter on the ticket", func() bool {
				return hasEvent(w.ticket(token, no), "delivery_dead", "province answered 422")
			})
			if _, dead, _ := a.Store.OutboxDepth(context.Background()); dead != 1 {
				t.Fatalf("dead %d", dead)
			}
		})
	}
}

func TestProvinceSendUp(t *testing.T) {
	for _, d := range storetest.Drivers() {
		t.Run(d, func(t *testing.T) {
			w := provSetup(t, d)
			a, _ := w.open(w.config(), true)
			ctx := context.Background()
			token := w.login("admin", "admin-pass-123")
			code, b := w.request("POST", "/api/v1/tickets", token, []byte(`{"channel":"website","name":"李女士","phone":"13905340002",
				"title":"省管高速收费站拥堵","content":"京台高速德州收费站每天早高峰拥堵严重，希望省里协调增开车道。","reply_wanted":true}`))
			var tk ticket.Ticket
			if json.Unmarshal(b, &tk); code != 201 {
				t.Fatalf("create %d %s", code, b)
			}
			path := "/api/v1/tickets/" + tk.No + "/province"
			if code, _ := w.request("POST", path, "", []byte(`{}`)); code != 401 {
				t.Fatalf("anonymous: %d", code)
			}
			hash, _ := auth.Hash("unit-pass-123", 4)
			if _, err := a.Store.CreateUser(ctx, "unit1", "承办单位", auth.RoleUnit, hash, nil); err != nil {
				t.Fatal(err)
			}
			if code, _ := w.request("POST", path, w.login("unit1", "unit-pass-123"), []byte(`{}`)); code != 403 {
				t.Fatalf("unit user: %d", code)
			}
			code, b = w.request("POST", path, token, []byte(`{"note":"属省级事权，转省平台"}`))
			var out struct {
				CaseID string `json:"case_id"`
			}
			json.Unmarshal(b, &out)
			if code != 202 || out.CaseID != tk.No {
				t.Fatalf("send up: %d %s", code, b)
			}
			if code, _ := w.request("POST", path, token, nil); code != 409 {
				t.Fatalf("twice: %d", code)
			}
			provEventually(t, "case received by the province", func() bool { return len(w.sim.CasesUp()) == 1 })
			up := w.sim.CasesUp()[0]
			if up.Case.CaseID != tk.No || up.Case.Title != tk.Title || up.Case.Citizen.Phone != "13905340002" || !up.Case.ReplyWanted || up.Key == "" {
				t.Fatalf("case up %+v", up)
			}
			provEventually(t, "answer recorded", func() bool { return hasEvent(w.ticket(token, tk.No), "province_answered", "province_case_no") })
			if !hasEvent(w.ticket(token, tk.No), "province_sent_up", "属省级事权") {
				t.Fatal("sent-up event missing")
			}
			// a case the province sent down is not sent back up
			no, err := w.sim.SendCase(ctx, w.sim.SampleCase(8))
			if err != nil {
				t.Fatal(err)
			}
			if code, _ := w.request("POST", "/api/v1/tickets/"+no+"/province", token, nil); code != 409 {
				t.Fatalf("province case: %d", code)
			}
			if code, _ := w.request("POST", "/api/v1/tickets/20990101-000001/province", token, nil); code != 404 {
				t.Fatalf("unknown ticket: %d", code)
			}
		})
	}
}

func TestProvinceAgentReplyReachesProvince(t *testing.T) {
	w := provSetup(t, "sqlite")
	_, _ = w.open(w.config(), true)
	token := w.login("admin", "admin-pass-123")
	c := w.sim.SampleCase(9)
	c.Attachments = nil
	no, err := w.sim.SendCase(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if code, b := w.request("POST", "/api/v1/tickets/"+no+"/replies", token, []byte(`{"text":"已联系供电公司，三日内修复。"}`)); code != 201 {
		t.Fatalf("reply %d %s", code, b)
	}
	provEventually(t, "reply delivered as replied", func() bool { return len(w.sim.Accepted()) == 2 })
	if r := w.sim.Accepted()[1]; r.Event.Event != "replied" || r.Event.Text != "已联系供电公司，三日内修复。" || r.CaseID != c.CaseID {
		t.Fatalf("reply %+v", r)
	}
	provEventually(t, "reply marked sent", func() bool {
		m := w.ticket(token, no).Messages
		return len(m) == 2 && m[1].Delivery == ticket.DeliverySent
	})
}
