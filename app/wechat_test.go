package app_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"hotline/app"
	"hotline/auth"
	mailch "hotline/channels/mail"
	"hotline/channels/wechat"
	"hotline/configs"
	"hotline/metrics"
	"hotline/store/storetest"
	"hotline/ticket"
)

const (
	wxAppID  = "wxhotlinetest001"
	wxToken  = "wx-callback-token"
	wxAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
)

// wxAPI is WeChat's API as hotline uses it: the token and custom/send.
type wxAPI struct {
	mu   sync.Mutex
	sent []map[string]any
}

func (w *wxAPI) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch r.URL.Path {
	case "/cgi-bin/token":
		fmt.Fprint(rw, `{"access_token":"ACCESS","expires_in":7200}`)
	case "/cgi-bin/message/custom/send":
		var m map[string]any
		json.NewDecoder(r.Body).Decode(&m)
		if r.URL.Query().Get("access_token") != "ACCESS" {
			fmt.Fprint(rw, `{"errcode":40001,"errmsg":"invalid credential"}`)
			return
		}
		w.sent = append(w.sent, m)
		fmt.Fprint(rw, `{"errcode":0,"errmsg":"ok"}`)
	default:
		http.NotFound(rw, r)
	}
}

func (w *wxAPI) texts(openid string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, m := range w.sent {
		if m["touser"] == openid {
			txt, _ := m["text"].(map[string]any)
			out = append(out, fmt.Sprint(txt["content"]))
		}
	}
	return out
}

type wxEnv struct {
	*env
	api *wxAPI
	msg int
}

func startWeChat(t *testing.T, driver string) *wxEnv {
	t.Helper()
	gw := &gateway{}
	gwSrv := httptest.NewServer(gw)
	t.Cleanup(gwSrv.Close)
	api := &wxAPI{}
	apiSrv := httptest.NewServer(api)
	t.Cleanup(apiSrv.Close)
	t.Cleanup(func() { wechat.SetAPIBase("") })
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
	cfg.WeChat.AppID, cfg.WeChat.AppSecret, cfg.WeChat.Token = wxAppID, "wx-secret", wxToken
	cfg.WeChat.EncodingAESKey, cfg.WeChat.APIBase = wxAESKey, apiSrv.URL
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
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
	return &wxEnv{env: e, api: api}
}

// send posts a message as WeChat does in safe mode and returns the status and
// the passive reply's text ("" for "success").
func (w *wxEnv) send(openid, inner string, msgID string, tamper bool) (int, string) {
	t := w.t
	t.Helper()
	doc := fmt.Sprintf(`<xml><ToUserName><![CDATA[gh_12345]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName><CreateTime>%d</CreateTime>%s<MsgId>%s</MsgId></xml>`,
		openid, time.Now().Unix(), inner, msgID)
	enc, err := wechat.Encrypt([]byte(doc), wxAESKey, wxAppID)
	if err != nil {
		t.Fatal(err)
	}
	ts, nonce := strconv.FormatInt(time.Now().Unix(), 10), "98765"
	sig := wechat.Signature(wxToken, ts, nonce, enc)
	if tamper {
		sig = wechat.Signature("not-the-token", ts, nonce, enc)
	}
	q := url.Values{"timestamp": {ts}, "nonce": {nonce}, "encrypt_type": {"aes"}, "msg_signature": {sig},
		"signature": {wechat.Signature(wxToken, ts, nonce)}, "openid": {openid}}
	body := "<xml><ToUserName><![CDATA[gh_12345]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>"
	resp, err := http.Post(w.srv.URL+"/channels/wechat?"+q.Encode(), "text/xml", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) == "success" {
		return resp.StatusCode, ""
	}
	var sealed struct{ Encrypt, MsgSignature, TimeStamp, Nonce string }
	if err := xml.Unmarshal(b, &sealed); err != nil {
		t.Fatalf("reply %s: %v", b, err)
	}
	if sealed.MsgSignature != wechat.Signature(wxToken, sealed.TimeStamp, sealed.Nonce, sealed.Encrypt) {
		t.Fatal("reply signature does not verify")
	}
	plain, err := wechat.Decrypt(sealed.Encrypt, wxAESKey, wxAppID)
	if err != nil {
		t.Fatal(err)
	}
	var r struct{ ToUserName, Content string }
	xml.Unmarshal(plain, &r)
	if r.ToUserName != openid {
		t.Fatalf("reply to %q", r.ToUserName)
	}
	return 200, r.Content
}

func wxText(s string) string {
	return "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[" + s + "]]></Content>"
}

func TestWeChatEndToEnd(t *testing.T) {
	for _, d := range storetest.Drivers() {
		t.Run(d, func(t *testing.T) {
			w := startWeChat(t, d)
			const openid = "oCitizen0001"
			thanks := "您好！您的留言已收到，这是我们应该做的，感谢您对我们工作的关心与支持，我们将在今后的工作中更好的为广大市民服务。"

			// Thanks: answered in the response with the WeChat text, however often it comes.
			for range 3 {
				code, reply := w.send(openid, wxText("谢谢你们，问题已经解决了，非常感谢！"), "70001", false)
				if code != 200 || reply != thanks {
					t.Fatalf("thanks = %d %q", code, reply)
				}
			}
			ts := w.tickets("channel=wechat")
			if len(ts) != 1 || ts[0].Citizen.OpenID != openid || ts[0].Status != ticket.StatusClosed {
				t.Fatalf("tickets %+v", ts)
			}
			tk := w.ticket(ts[0].No)
			if len(tk.Messages) != 2 || tk.Messages[1].Delivery != ticket.DeliverySent || tk.Messages[1].Kind != ticket.ReplyThanks {
				t.Fatalf("messages %+v", tk.Messages)
			}

			// A bad signature stores nothing.
			if code, _ := w.send(openid, wxText("路灯坏了"), "70002", true); code != http.StatusUnauthorized {
				t.Fatalf("bad signature = %d", code)
			}

			// A complaint waits for an agent, whose reply goes out as a customer-service message.
			code, reply := w.send(openid, wxText("我要投诉小区物业乱收费，每个月多收五十元停车费"), "70003", false)
			if code != 200 || reply != "" {
				t.Fatalf("complaint = %d %q", code, reply)
			}
			if n := len(w.tickets("channel=wechat")); n != 2 {
				t.Fatalf("%d WeChat tickets, want 2", n)
			}
			var complaint ticket.Ticket
			for _, x := range w.tickets("channel=wechat") {
				if x.Status == ticket.StatusIntake {
					complaint = x
				}
			}
			w.do("POST", "/api/v1/tickets/"+complaint.No+"/replies", w.token, `{"text":"已联系物业核实，多收费用将于本月退还。"}`, 201, nil)
			eventually(t, "agent reply sent by custom/send", func() bool { return len(w.api.texts(openid)) == 1 })
			if got := w.api.texts(openid); got[0] != "已联系物业核实，多收费用将于本月退还。" {
				t.Fatalf("custom/send got %q (the passive thanks must not be sent again)", got)
			}
			eventually(t, "delivery recorded", func() bool {
				m := w.ticket(complaint.No).Messages
				return m[len(m)-1].Delivery == ticket.DeliverySent
			})

			// Status by message.
			_, reply = w.send(openid, wxText("查询 "+complaint.No), "70004", false)
			if !strings.Contains(reply, complaint.No) || !strings.Contains(reply, "已联系物业核实") {
				t.Fatalf("status reply %q", reply)
			}
			if _, reply = w.send("oStranger", wxText("查询 "+complaint.No), "70005", false); strings.Contains(reply, "已联系物业核实") {
				t.Fatalf("a stranger learns the result: %q", reply)
			}

			// Binding: a code by SMS, then the code back.
			_, reply = w.send(openid, wxText("绑定 13800138000"), "70006", false)
			if !strings.Contains(reply, "138****8000") {
				t.Fatalf("bind reply %q", reply)
			}
			var sms string
			eventually(t, "code SMS", func() bool {
				got := w.gw.texts("13800138000")
				if len(got) == 1 {
					sms = got[0]
				}
				return sms != ""
			})
			codeNum := regexp.MustCompile(`\d{6}`).FindString(sms)
			_, reply = w.send(openid, wxText("验证 "+codeNum), "70007", false)
			if !strings.HasPrefix(reply, "绑定成功") {
				t.Fatalf("verify reply %q", reply)
			}
			if c := w.ticket(complaint.No).Citizen; c.Phone != "13800138000" || c.OpenID != openid {
				t.Fatalf("citizen after binding %+v", c)
			}
		})
	}
}

// TestWeChatBindingAPI: centre staff confirm a pending binding (or a phone
// they give), see it, and undo it; conflicts are 409, other roles 403. The
// endpoints are in the OpenAPI document, and passive replies are counted on
// /metrics.
func TestWeChatBindingAPI(t *testing.T) {
	for _, d := range storetest.Drivers() {
		t.Run(d, func(t *testing.T) {
			w := startWeChat(t, d)
			const openid, phone = "oCitizen0002", "13800138000"
			if code, _ := w.send(openid, wxText("我要投诉小区物业乱收费，每个月多收五十元停车费"), "71001", false); code != 200 {
				t.Fatalf("message %d", code)
			}
			if _, reply := w.send(openid, wxText("绑定 "+phone), "71002", false); !strings.Contains(reply, "138****8000") {
				t.Fatalf("bind reply %q", reply)
			}
			agent := w.login("agent1", auth.RoleIntake, nil)
			cg := w.unitID("市城市管理局")
			unit := w.login("cg1", auth.RoleUnit, &cg)
			base := "/api/v1/contacts/wechat/" + openid + "/binding"

			var v struct {
				OpenID     string     `json:"openid"`
				Status     string     `json:"status"`
				Phone      string     `json:"phone"`
				VerifiedBy string     `json:"verified_by"`
				VerifiedAt *time.Time `json:"verified_at"`
			}
			w.do("GET", base, "", "", 401, nil)
			w.do("GET", base, unit, "", 403, nil)
			w.do("POST", base+"/confirm", unit, `{}`, 403, nil)
			w.do("GET", base, agent, "", 200, &v)
			if v.OpenID != openid || v.Status != "pending" || v.Phone != phone {
				t.Fatalf("pending %+v", v)
			}
			w.do("POST", base+"/confirm", agent, `{"phone":"12"}`, 400, nil)
			w.do("POST", base+"/confirm", agent, `{"phone":"1","x":1}`, 400, nil)
			// The phone the citizen asked for, confirmed by the agent who called them.
			w.do("POST", base+"/confirm", agent, `{}`, 200, &v)
			if v.Status != "verified" || v.Phone != phone || v.VerifiedBy != "agent1" || v.VerifiedAt == nil {
				t.Fatalf("confirmed %+v", v)
			}
			ts := w.tickets("channel=wechat")
			if len(ts) != 1 || ts[0].Citizen.Phone != phone {
				t.Fatalf("tickets after binding %+v", ts)
			}
			w.do("POST", base+"/confirm", w.token, `{"phone":"138-0013-8000"}`, 200, &v) // already bound
			if v.VerifiedBy != "agent1" {
				t.Fatalf("re-confirmation changed the binding: %+v", v)
			}
			var e struct{ Error struct{ Code string } }
			w.do("POST", base+"/confirm", agent, `{"phone":"13900139000"}`, 409, &e)
			if e.Error.Code != "other_phone" {
				t.Fatalf("other phone: %+v", e)
			}
			w.send("oOther0001", wxText("你好，我想咨询一下办理居住证需要什么材料"), "71003", false)
			w.do("POST", "/api/v1/contacts/wechat/oOther0001/binding/confirm", agent, `{"phone":"`+phone+`"}`, 409, &e)
			if e.Error.Code != "phone_taken" {
				t.Fatalf("taken phone: %+v", e)
			}
			w.do("POST", "/api/v1/contacts/wechat/oOther0001/binding/confirm", agent, `{}`, 400, &e)
			if e.Error.Code != "phone_required" {
				t.Fatalf("no phone: %+v", e)
			}
			w.do("POST", "/api/v1/contacts/wechat/oNobody/binding/confirm", agent, `{"phone":"13700137000"}`, 404, nil)
			w.do("GET", "/api/v1/contacts/wechat/bad%21id/binding", agent, "", 400, nil)

			// Undone: the WeChat ticket is the openid's alone again.
			w.do("DELETE", base, agent, "", 204, nil)
			w.do("DELETE", base, agent, "", 404, nil)
			v.Phone, v.VerifiedBy, v.VerifiedAt = "", "", nil // omitted when empty
			w.do("GET", base, agent, "", 200, &v)
			if v.Status != "none" || v.Phone != "" || v.VerifiedBy != "" || v.VerifiedAt != nil {
				t.Fatalf("after unbind %+v", v)
			}
			if c := w.ticket(ts[0].No).Citizen; c.Phone != "" || c.OpenID != openid {
				t.Fatalf("citizen after unbind %+v", c)
			}

			// Every /api/v1 route of this server (WeChat on) is documented.
			var doc struct {
				Paths map[string]map[string]any `json:"paths"`
			}
			w.do("GET", "/api/v1/openapi.json", "", "", 200, &doc)
			param := regexp.MustCompile(`:(\w+)`)
			for _, r := range w.app.Handler.(*gin.Engine).Routes() {
				p, ok := strings.CutPrefix(r.Path, "/api/v1")
				if !ok || strings.HasPrefix(p, "/submissions") || strings.HasPrefix(p, "/inbox") || strings.Contains(p, ":action") {
					continue
				}
				p = param.ReplaceAllString(strings.ReplaceAll(p, ":no", ":ticket_no"), "{$1}")
				if doc.Paths[p][strings.ToLower(r.Method)] == nil {
					t.Errorf("%s %s is not in openapi.json", r.Method, p)
				}
			}

			// The binding request's answer was a passive reply (a command).
			resp, err := http.Get(w.srv.URL + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, want := range []string{`hotline_wechat_passive_replies_total{kind="command"} 1`, `hotline_mail_connected 0`,
				`hotline_mail_letters_total{outcome="ticket"} 0`} {
				if !strings.Contains(string(body), want) {
					t.Errorf("/metrics lacks %q", want)
				}
			}
		})
	}
}

// TestMetricLabelsMatchChannels: the label values metrics pre-declares are
// the ones the channels report.
func TestMetricLabelsMatchChannels(t *testing.T) {
	mailOutcomes := []string{mailch.OutcomeTicket, mailch.OutcomeJoined, mailch.OutcomeDuplicate, mailch.OutcomeRejected, mailch.OutcomeError}
	kinds := []string{wechat.PassiveReply, wechat.PassiveRepeat, wechat.PassiveCommand, wechat.PassiveWelcome, wechat.PassiveRefusal}
	if fmt.Sprint(mailOutcomes) != fmt.Sprint(metrics.MailOutcomes) || fmt.Sprint(kinds) != fmt.Sprint(metrics.WeChatPassiveKinds) {
		t.Fatalf("mail %v / %v, wechat %v / %v", mailOutcomes, metrics.MailOutcomes, kinds, metrics.WeChatPassiveKinds)
	}
}
