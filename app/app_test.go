package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/app"
	"hotline/configs"
	"hotline/store/storetest"
	"hotline/ticket"
)

// gateway is a fake SMS gateway for the http provider.
type gateway struct {
	mu   sync.Mutex
	got  []map[string]string
	fail int // answer 500 to this many requests first
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fail > 0 {
		g.fail--
		http.Error(w, "busy", http.StatusInternalServerError)
		return
	}
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
	t     *testing.T
	srv   *httptest.Server
	gw    *gateway
	token string
	app   *app.App
}

const smsToken = "test-sms-token"

func start(t *testing.T, driver string) *env {
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
	cfg.Admin.Password = "admin-pass-123"
	cfg.Auth.BcryptCost = 4
	cfg.SMS.WebhookToken = smsToken
	cfg.Voice.WebhookToken = "test-voice-token"
	cfg.SMS.Outbound.Provider, cfg.SMS.Outbound.HTTPURL = "http", gwSrv.URL
	cfg.Outbox.PollInterval = 20 * time.Millisecond
	cfg.Outbox.BackoffBase = 10 * time.Millisecond
	cfg.HTTP.MaxBodyBytes = 4096
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.New(context.Background(), cfg, log, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Outbox.Run(ctx); close(done) }()
	srv := httptest.NewServer(a.Handler)
	t.Cleanup(func() { srv.Close(); cancel(); <-done; a.Close() })
	e := &env{t: t, srv: srv, gw: gw, app: a}
	var login struct{ Token string }
	e.do("POST", "/api/v1/auth/login", "", `{"username":"admin","password":"admin-pass-123"}`, 200, &login)
	e.token = login.Token
	return e
}

// do sends a request and checks the status; out, if set, receives the JSON.
func (e *env) do(method, path, token, body string, want int, out any) []byte {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return b
}

func (e *env) tickets(query string) []ticket.Ticket {
	var r struct{ Tickets []ticket.Ticket }
	e.do("GET", "/api/v1/tickets?"+query, e.token, "", 200, &r)
	return r.Tickets
}

func (e *env) ticket(no string) ticket.Ticket {
	var t ticket.Ticket
	e.do("GET", "/api/v1/tickets/"+no, e.token, "", 200, &t)
	return t
}

// eventually polls cond until it holds (a generous bound, not a timing claim).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("never happened: %s", what)
}

func aliyun(seq, phone, text string) string {
	b, _ := json.Marshal([]map[string]any{{"phone_number": phone, "content": text, "send_time": "2026-11-26 09:30:00",
		"dest_code": "12345", "sequence_id": seq, "sign_name": "德州12345"}})
	return string(b)
}

func TestSMSEndToEnd(t *testing.T) {
	for _, d := range storetest.Drivers() {
		t.Run(d, func(t *testing.T) {
			e := start(t, d)
			// thanks: answered at once with the standard text, delivered by the gateway
			body := aliyun("9001", "13800138000", "谢谢你们，问题已经解决了，非常感谢！")
			var ack map[string]any
			e.do("POST", "/channels/sms/aliyun?token="+smsToken, "", body, 200, &ack)
			if ack["code"] != float64(0) || ack["msg"] != "接收成功" {
				t.Fatalf("aliyun ack %v", ack)
			}
			e.do("POST", "/channels/sms/aliyun?token="+smsToken, "", body, 200, nil) // redelivery
			ts := e.tickets("phone=13800138000")
			if len(ts) != 1 {
				t.Fatalf("redelivery made %d tickets", len(ts))
			}
			tk := e.ticket(ts[0].No)
			if tk.Channel != "sms" || tk.Status != ticket.StatusClosed || len(tk.Messages) != 2 {
				t.Fatalf("ticket %+v", tk)
			}
			out := tk.Messages[1]
			want := "您好！您的短信已收到，这是我们应该做的，感谢您对我们工作的关心与支持，我们将在今后的工作中更好的为广大市民服务。"
			if out.Direction != "out" || out.Kind != ticket.ReplyThanks || out.Text != want {
				t.Fatalf("auto-reply %+v", out)
			}
			eventually(t, "thanks reply delivered", func() bool { return len(e.gw.texts("13800138000")) == 1 })
			eventually(t, "delivery state sent", func() bool { return e.ticket(tk.No).Messages[1].Delivery == ticket.DeliverySent })

			// a complaint in Tencent's format waits for an agent
			e.do("POST", "/channels/sms/tencent?token="+smsToken, "",
				`{"extend":"","mobile":"13900139000","nationcode":"86","sign":"德州12345","text":"我要投诉小区物业乱收费，每个月多收五十元停车费","time":1764120000}`, 200, nil)
			ts = e.tickets("phone=13900139000")
			if len(ts) != 1 || ts[0].Nature != ticket.Complaint || ts[0].Status != ticket.StatusIntake {
				t.Fatalf("complaint %+v", ts)
			}
			if len(e.ticket(ts[0].No).Messages) != 1 {
				t.Fatal("a complaint must not be auto-answered")
			}
			// the agent answers through the ticket's channel
			e.do("POST", "/api/v1/tickets/"+ts[0].No+"/replies", e.token, `{"text":"已联系物业核实，多收费用将于本月退还。"}`, 201, nil)
			eventually(t, "agent reply delivered", func() bool { return len(e.gw.texts("13900139000")) == 1 })
		})
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	e := start(t, "sqlite")
	good := aliyun("1", "13800138000", "路灯坏了好几天了")
	cases := []struct {
		name, path, body string
		status           int
		code             string
	}{
		{"no token", "/channels/sms/aliyun", good, 401, "bad_token"},
		{"wrong token", "/channels/sms/aliyun?token=nope", good, 401, "bad_token"},
		{"malformed", "/channels/sms/aliyun?token=" + smsToken, `[{"phone_number":`, 400, "malformed"},
		{"bad phone", "/channels/sms/aliyun?token=" + smsToken, aliyun("2", "12345", "路灯坏了"), 400, "malformed"},
		{"empty text", "/channels/sms/aliyun?token=" + smsToken, aliyun("3", "13800138000", "   "), 400, "invalid_message"},
		{"invalid utf-8", "/channels/sms/tencent?token=" + smsToken, "{\"mobile\":\"13800138000\",\"text\":\"\xff\xfe\",\"time\":1764120000}", 400, "malformed"},
		{"too large", "/channels/sms/aliyun?token=" + smsToken, aliyun("4", "13800138000", strings.Repeat("路灯坏了", 400)), 413, "body_too_large"},
		{"voice wrong token", "/channels/voice/events?token=x", `{}`, 401, "bad_token"},
	}
	for _, c := range cases {
		var eb struct {
			Error struct{ Code, Message string }
		}
		e.do("POST", c.path, "", c.body, c.status, &eb)
		if eb.Error.Code != c.code || eb.Error.Message == "" {
			t.Errorf("%s: error body %+v", c.name, eb)
		}
	}
	if ts := e.tickets(""); len(ts) != 0 {
		t.Fatalf("bad input wrote %d tickets", len(ts))
	}
	e.do("POST", "/api/v1/auth/login", "", `{"username":"admin","password":"wrong"}`, 401, nil)
	e.do("GET", "/api/v1/tickets", "", "", 401, nil)
	e.do("GET", "/api/v1/tickets", "not-a-token", "", 401, nil)
}

func TestVoiceCallAndAgentTicket(t *testing.T) {
	e := start(t, "sqlite")
	for _, ev := range []string{
		`{"call_id":"call-1","event":"offered","at":"2026-11-26T09:00:00+08:00","caller":"13700137000"}`,
		`{"call_id":"call-1","event":"answered","at":"2026-11-26T09:00:09+08:00","agent_id":"a01"}`,
		`{"call_id":"call-1","event":"answered","at":"2026-11-26T09:00:09+08:00","agent_id":"a01"}`,
	} {
		e.do("POST", "/channels/voice/events?token=test-voice-token", "", ev, 200, nil)
	}
	c, err := e.app.Store.GetCall(context.Background(), "call-1")
	if err != nil || c.WaitSeconds == nil || *c.WaitSeconds != 9 {
		t.Fatalf("call summary %+v %v", c, err)
	}
	req := `{"channel":"voice","call_id":"call-1","name":"王先生","phone":"13700137000","content":"咨询新生儿落户需要带哪些材料","reply_wanted":true}`
	var t1, t2 ticket.Ticket
	e.do("POST", "/api/v1/tickets", e.token, req, 201, &t1)
	e.do("POST", "/api/v1/tickets", e.token, req, 200, &t2)
	if t1.No != t2.No || t1.Channel != "voice" || t1.CallID != "call-1" || t1.Nature != ticket.Consult {
		t.Fatalf("voice ticket %+v / %+v", t1, t2)
	}
	e.do("POST", "/api/v1/tickets", e.token, `{"channel":"voice","content":"没有通话编号"}`, 400, nil)
	e.do("POST", "/api/v1/tickets", e.token, `{"channel":"voice","call_id":"c2","content":"x","bogus":1}`, 400, nil)
}

func TestHealth(t *testing.T) {
	e := start(t, "sqlite")
	e.do("GET", "/healthz", "", "", 200, nil)
	e.do("GET", "/readyz", "", "", 200, nil)
	m := e.do("GET", "/metrics", "", "", 200, nil)
	if !bytes.Contains(m, []byte("hotline_outbox_pending")) {
		t.Fatal("metrics lack outbox depth")
	}
}

// An agent can answer on another route than the ticket's channel, e.g. SMS to a
// mail citizen's phone; a route the citizen has no address for is refused.
func TestReplyViaChosenRoute(t *testing.T) {
	e := start(t, "sqlite")
	var tk ticket.Ticket
	e.do("POST", "/api/v1/tickets", e.token, `{"channel":"mayor_mailbox","name":"李女士","phone":"13655556666","email":"li@example.cn","content":"反映小区噪音扰民问题"}`, 201, &tk)
	e.do("POST", "/api/v1/tickets/"+tk.No+"/replies", e.token, `{"text":"已转市生态环境局处理。","via":"sms"}`, 201, nil)
	eventually(t, "SMS fallback delivered", func() bool { return len(e.gw.texts("13655556666")) == 1 })
	e.do("POST", "/api/v1/tickets/"+tk.No+"/replies", e.token, `{"text":"x","via":"wechat"}`, 409, nil)
	e.do("POST", "/api/v1/tickets/"+tk.No+"/replies", e.token, `{"text":"x","via":"fax"}`, 400, nil)
}
