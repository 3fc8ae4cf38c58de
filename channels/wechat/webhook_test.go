package wechat

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"hotline/normalize"
	"hotline/ticket"
)

const (
	testToken = "t0ken"
	testAppID = "wxhotline0000001"
	testKey   = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
)

// fakeIntake stores envelopes once per dedup key, like the real store.
type fakeIntake struct {
	mu      sync.Mutex
	envs    []normalize.Envelope
	byKey   map[string]ticket.Receipt
	replies []ticket.Reply
	err     error
}

func (f *fakeIntake) Ingest(_ context.Context, env normalize.Envelope) (ticket.Receipt, []ticket.Reply, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return ticket.Receipt{}, nil, f.err
	}
	if err := env.Validate(100); err != nil {
		return ticket.Receipt{}, nil, err
	}
	if f.byKey == nil {
		f.byKey = map[string]ticket.Receipt{}
	}
	if r, ok := f.byKey[env.DedupKey]; ok {
		r.Duplicate = true
		return r, nil, nil
	}
	f.envs = append(f.envs, env)
	r := ticket.Receipt{TicketNo: "20261127-000001", TicketID: 1, MessageID: int64(len(f.envs))}
	f.byKey[env.DedupKey] = r
	return r, f.replies, nil
}

func (f *fakeIntake) stored() []normalize.Envelope {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]normalize.Envelope(nil), f.envs...)
}

type fakeStore struct {
	passive  map[int64]string
	statuses map[string]Status // by ticket no, visible to "oOwner"
	bindReq  []string
	sms      string
	verify   []string
}

func (f *fakeStore) PassiveReply(_ context.Context, id int64) (string, error) {
	return f.passive[id], nil
}

func (f *fakeStore) TicketStatus(_ context.Context, openid, no string) (Status, error) {
	st, ok := f.statuses[no]
	if !ok || openid != "oOwner" {
		return Status{}, ticket.ErrNotFound
	}
	return st, nil
}

func (f *fakeStore) LatestTicketStatus(ctx context.Context, openid string) (Status, error) {
	return f.TicketStatus(ctx, openid, "20261127-000009")
}

func (f *fakeStore) RequestBinding(_ context.Context, openid, phone, code, sms string) (string, error) {
	f.bindReq = append(f.bindReq, openid+" "+phone+" "+code)
	f.sms = sms
	return BindCodeSent, nil
}

func (f *fakeStore) VerifyBinding(_ context.Context, openid, code string) (string, string, error) {
	f.verify = append(f.verify, openid+" "+code)
	if code == "123456" {
		return BindVerified, "13800138000", nil
	}
	return BindBadCode, "", nil
}

type rig struct {
	srv    *httptest.Server
	intake *fakeIntake
	store  *fakeStore
	hook   *Webhook
	now    time.Time
	cfg    Config
}

func newRig(t *testing.T, aesKey string) *rig {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	r := &rig{intake: &fakeIntake{}, store: &fakeStore{passive: map[int64]string{}, statuses: map[string]Status{}}, now: time.Unix(1764200000, 0)}
	r.cfg = Config{AppID: testAppID, Token: testToken, EncodingAESKey: aesKey, WelcomeText: "欢迎关注", StatusMenuKey: "查询进度", MaxBody: 64 << 10, MaxChars: 100}
	h, err := NewWebhook(r.cfg, r.intake, r.store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	h.Now = func() time.Time { return r.now }
	r.hook = h
	e := gin.New()
	h.Routes(e)
	r.srv = httptest.NewServer(e)
	t.Cleanup(r.srv.Close)
	return r
}

// post sends doc the way WeChat does: signed, and in safe mode encrypted.
func (r *rig) post(t *testing.T, doc string, mutate func(q url.Values)) (int, string) {
	t.Helper()
	ts := strconv.FormatInt(r.now.Unix(), 10)
	nonce := "1234567"
	q := url.Values{"timestamp": {ts}, "nonce": {nonce}, "signature": {Signature(testToken, ts, nonce)}, "openid": {"oUser"}}
	body := doc
	if r.cfg.EncodingAESKey != "" {
		enc, err := Encrypt([]byte(doc), r.cfg.EncodingAESKey, r.cfg.AppID)
		if err != nil {
			t.Fatal(err)
		}
		body = "<xml><ToUserName><![CDATA[gh_account]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>"
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", Signature(testToken, ts, nonce, enc))
	}
	if mutate != nil {
		mutate(q)
	}
	return r.raw(t, http.MethodPost, q, body)
}

func (r *rig) raw(t *testing.T, method string, q url.Values, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, r.srv.URL+"/channels/wechat?"+q.Encode(), strings.NewReader(body))
	req.Header.Set("Content-Type", "text/xml")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// replyText opens a passive reply (sealed or not) and returns its Content.
func (r *rig) replyText(t *testing.T, body string) string {
	t.Helper()
	if body == "success" {
		return ""
	}
	doc := []byte(body)
	if r.cfg.EncodingAESKey != "" {
		var sealed struct{ Encrypt, MsgSignature, TimeStamp, Nonce string }
		if err := xml.Unmarshal(doc, &sealed); err != nil {
			t.Fatalf("sealed reply: %v: %s", err, body)
		}
		if !signatureOK(sealed.MsgSignature, testToken, sealed.TimeStamp, sealed.Nonce, sealed.Encrypt) {
			t.Fatalf("reply signature does not verify: %s", body)
		}
		var err error
		if doc, err = Decrypt(sealed.Encrypt, r.cfg.EncodingAESKey, r.cfg.AppID); err != nil {
			t.Fatal(err)
		}
	}
	var m struct{ ToUserName, FromUserName, MsgType, Content string }
	if err := xml.Unmarshal(doc, &m); err != nil {
		t.Fatalf("reply: %v: %s", err, doc)
	}
	if m.ToUserName != "oUser" || m.FromUserName != "gh_account" || m.MsgType != "text" {
		t.Fatalf("reply addressed wrongly: %+v", m)
	}
	return m.Content
}

func textMsg(id, content string) string {
	return fmt.Sprintf(`<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName><CreateTime>1764200000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content><MsgId>%s</MsgId></xml>`, content, id)
}

func eventMsg(event, key string) string {
	return fmt.Sprintf(`<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName><CreateTime>1764200000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[%s]]></Event><EventKey><![CDATA[%s]]></EventKey></xml>`, event, key)
}

func TestURLCheck(t *testing.T) {
	r := newRig(t, "")
	ts := strconv.FormatInt(r.now.Unix(), 10)
	q := url.Values{"timestamp": {ts}, "nonce": {"42"}, "echostr": {"7788"}, "signature": {Signature(testToken, ts, "42")}}
	if code, body := r.raw(t, http.MethodGet, q, ""); code != 200 || body != "7788" {
		t.Fatalf("URL check = %d %q", code, body)
	}
	q.Set("signature", Signature("other", ts, "42"))
	if code, _ := r.raw(t, http.MethodGet, q, ""); code != http.StatusUnauthorized {
		t.Fatalf("bad signature = %d, want 401", code)
	}
	old := strconv.FormatInt(r.now.Add(-6*time.Minute).Unix(), 10)
	q = url.Values{"timestamp": {old}, "nonce": {"42"}, "echostr": {"7788"}, "signature": {Signature(testToken, old, "42")}}
	if code, _ := r.raw(t, http.MethodGet, q, ""); code != http.StatusForbidden {
		t.Fatalf("stale timestamp = %d, want 403", code)
	}
}

func TestTextMessageStoredOnceWithPassiveReply(t *testing.T) {
	for _, mode := range []struct{ name, key string }{{"plain", ""}, {"safe", testKey}} {
		t.Run(mode.name, func(t *testing.T) {
			r := newRig(t, mode.key)
			r.intake.replies = []ticket.Reply{{Kind: ticket.ReplyThanks, Text: "您好！您的留言已收到，感谢。"}}
			code, body := r.post(t, textMsg("1001", "谢谢你们修好了路灯"), nil)
			if code != 200 {
				t.Fatalf("status %d: %s", code, body)
			}
			if got := r.replyText(t, body); got != "您好！您的留言已收到，感谢。" {
				t.Fatalf("passive reply = %q", got)
			}
			envs := r.intake.stored()
			if len(envs) != 1 {
				t.Fatalf("stored %d envelopes", len(envs))
			}
			e := envs[0]
			if e.Channel != normalize.WeChat || e.DedupKey != "msg:1001" || e.Sender.OpenID != "oUser" || e.Text != "谢谢你们修好了路灯" {
				t.Fatalf("envelope = %+v", e)
			}
			if e.Meta["passive_reply"] != "1" || !strings.Contains(string(e.Raw), "<MsgId>1001</MsgId>") {
				t.Fatalf("meta/raw = %v / %s", e.Meta, e.Raw)
			}
			if !e.ReceivedAt.Equal(time.Unix(1764200000, 0)) {
				t.Fatalf("received at %v", e.ReceivedAt)
			}

			// WeChat's retries: the same answer, nothing stored again.
			r.store.passive[1] = "您好！您的留言已收到，感谢。"
			for range 3 {
				code, body = r.post(t, textMsg("1001", "谢谢你们修好了路灯"), nil)
				if code != 200 || r.replyText(t, body) != "您好！您的留言已收到，感谢。" {
					t.Fatalf("retry = %d %q", code, body)
				}
			}
			if n := len(r.intake.stored()); n != 1 {
				t.Fatalf("stored %d envelopes after retries", n)
			}

			// No auto-reply decided: "success".
			r.intake.replies = nil
			if code, body = r.post(t, textMsg("1002", "小区门口路灯不亮已经一周了"), nil); code != 200 || body != "success" {
				t.Fatalf("no reply = %d %q", code, body)
			}
		})
	}
}

func TestRejectedCallbacksStoreNothing(t *testing.T) {
	plain := newRig(t, "")
	safe := newRig(t, testKey)
	other := func(q url.Values) { q.Set("timestamp", strconv.FormatInt(plain.now.Add(-10*time.Minute).Unix(), 10)) }
	cases := []struct {
		name   string
		r      *rig
		mutate func(url.Values)
		body   string
		want   int
	}{
		{"plain bad signature", plain, func(q url.Values) { q.Set("signature", Signature("wrong", q.Get("timestamp"), q.Get("nonce"))) }, "", 401},
		{"plain no signature", plain, func(q url.Values) { q.Del("signature") }, "", 401},
		{"plain stale", plain, other, "", 403},
		{"plain future", plain, func(q url.Values) { q.Set("timestamp", strconv.FormatInt(plain.now.Add(6*time.Minute).Unix(), 10)) }, "", 403},
		{"plain but aes requested without key", plain, func(q url.Values) { q.Set("encrypt_type", "aes") }, "", 403},
		{"safe bad msg_signature", safe, func(q url.Values) { q.Set("msg_signature", strings.Repeat("0", 40)) }, "", 401},
		{"safe plain post refused", safe, func(q url.Values) { q.Del("encrypt_type") }, "", 403},
		{"safe stale", safe, other, "", 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := c.r.post(t, textMsg("2001", "路灯坏了"), c.mutate)
			if code != c.want {
				t.Fatalf("status %d, want %d: %s", code, c.want, body)
			}
			if !strings.Contains(body, `"error"`) {
				t.Fatalf("body is not the contract's error: %s", body)
			}
		})
	}
	if n := len(plain.intake.stored()) + len(safe.intake.stored()); n != 0 {
		t.Fatalf("%d envelopes stored from rejected callbacks", n)
	}
}

func TestSafeModeAppIDMismatch(t *testing.T) {
	r := newRig(t, testKey)
	r.cfg.AppID = "wxsomebodyelse01" // the sender encrypts for another account
	code, body := r.post(t, textMsg("3001", "路灯坏了"), nil)
	if code != http.StatusForbidden || !strings.Contains(body, "appid_mismatch") {
		t.Fatalf("status %d: %s", code, body)
	}
	if n := len(r.intake.stored()); n != 0 {
		t.Fatalf("stored %d", n)
	}
}

// The published sample goes through the HTTP handler as WeChat sent it.
func TestPublishedSampleThroughCallback(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	in := &fakeIntake{}
	h, err := NewWebhook(Config{AppID: sampleAppID, Token: sampleToken, EncodingAESKey: sampleAESKey}, in, &fakeStore{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.Now = func() time.Time { return time.Unix(1409659813+30, 0) }
	e := gin.New()
	h.Routes(e)
	q := url.Values{"msg_signature": {sampleMsgSig}, "timestamp": {sampleTimestamp}, "nonce": {sampleNonce}, "encrypt_type": {"aes"}}
	body := "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[" + sampleEncrypt + "]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>"
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/channels/wechat?"+q.Encode(), strings.NewReader(body)))
	if w.Code != 200 || w.Body.String() != "success" {
		t.Fatalf("sample = %d %q", w.Code, w.Body.String())
	}
	envs := in.stored()
	if len(envs) != 1 || envs[0].Text != "hello" || envs[0].Sender.OpenID != "mycreate" || envs[0].DedupKey != "msg:4561255354251345929" {
		t.Fatalf("stored %+v", envs)
	}
	// One second past the five minutes: refused.
	h.Now = func() time.Time { return time.Unix(1409659813+301, 0) }
	w = httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/channels/wechat?"+q.Encode(), strings.NewReader(body)))
	if w.Code != http.StatusForbidden {
		t.Fatalf("stale sample = %d", w.Code)
	}
}

func TestEventsAndCommands(t *testing.T) {
	r := newRig(t, testKey)
	r.store.statuses["20261127-000009"] = Status{TicketNo: "20261127-000009", Status: ticket.StatusClosed, Result: "已修复路灯"}
	r.store.statuses["20261127-000123"] = Status{TicketNo: "20261127-000123", Status: ticket.StatusIntake}

	check := func(doc, want string) {
		t.Helper()
		code, body := r.post(t, doc, nil)
		if code != 200 {
			t.Fatalf("status %d: %s", code, body)
		}
		if got := r.replyText(t, body); got != want {
			t.Fatalf("reply = %q, want %q", got, want)
		}
	}
	check(eventMsg("subscribe", ""), "欢迎关注")
	check(eventMsg("unsubscribe", ""), "")
	check(eventMsg("CLICK", "other"), "")
	check(eventMsg("VIEW", "https://example.org"), "")

	// Status as "oUser", who owns nothing in the fake store.
	check(eventMsg("CLICK", "查询进度"), "您好！暂未查到您通过本公众号反映的诉求。如需查询其他工单，请发送“查询 工单号”。")
	check(textMsg("4001", "查询 20261127-000123"), "您好！未查到工单 20261127-000123，或该工单不是您通过本公众号提交的。请核对工单号。")

	check(textMsg("4002", "绑定 138-0013-8000"), "验证码已发送至 138****8000，请在10分钟内回复“验证 验证码”完成绑定。")
	if len(r.store.bindReq) != 1 || !strings.HasPrefix(r.store.bindReq[0], "oUser 13800138000 ") {
		t.Fatalf("bind requests %v", r.store.bindReq)
	}
	code := strings.Fields(r.store.bindReq[0])[2]
	if len(code) != 6 || !strings.Contains(r.store.sms, code) {
		t.Fatalf("code %q not in SMS %q", code, r.store.sms)
	}
	check(textMsg("4003", "绑定"), "绑定手机请发送“绑定 手机号”，例如：绑定 13800138000。")
	check(textMsg("4004", "验证 123456"), "绑定成功！手机 138****8000 已与您的微信绑定，您可通过本公众号查询该手机号反映的诉求。")
	check(textMsg("4005", "验证 000000"), "验证码错误或已过期，请重新发送“绑定 手机号”获取验证码。")
	if n := len(r.intake.stored()); n != 0 {
		t.Fatalf("events and commands stored %d envelopes", n)
	}
}

func TestStatusForOwner(t *testing.T) {
	r := newRig(t, "")
	r.store.statuses["20261127-000009"] = Status{TicketNo: "20261127-000009", Status: ticket.StatusClosed, Result: "已修复路灯"}
	doc := strings.ReplaceAll(eventMsg("CLICK", "查询进度"), "oUser", "oOwner")
	code, body := r.post(t, doc, nil)
	if code != 200 || !strings.Contains(body, "工单 20261127-000009 的办理状态：已办结。\n办理结果：已修复路灯") {
		t.Fatalf("owner status = %d %s", code, body)
	}
}

func TestIngestFailures(t *testing.T) {
	r := newRig(t, "")
	code, body := r.post(t, textMsg("5001", strings.Repeat("长", 101)), nil)
	if code != 200 || r.replyText(t, body) != "您好！您的留言未能受理：内容为空或超过100字。请修改后重新发送留言。" {
		t.Fatalf("too long = %d %q", code, body)
	}
	r.intake.err = errors.New("database is down")
	if code, _ := r.post(t, textMsg("5002", "路灯坏了"), nil); code != http.StatusServiceUnavailable {
		t.Fatalf("store down = %d, want 503 so that WeChat retries", code)
	}
	if code, _ := r.post(t, "<xml><MsgType>text</MsgType></xml>", nil); code != http.StatusBadRequest {
		t.Fatalf("malformed = %d", code)
	}
	if code, _ := r.post(t, "<xml><Content>"+strings.Repeat("x", 70<<10)+"</Content></xml>", nil); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("too large = %d", code)
	}
}

type countObserver struct {
	mu    sync.Mutex
	kinds map[string]int
}

func (o *countObserver) WeChatPassiveReply(kind string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.kinds == nil {
		o.kinds = map[string]int{}
	}
	o.kinds[kind]++
}

// TestPassiveRepliesCounted: every passive reply is counted by kind;
// "success" answers are not.
func TestPassiveRepliesCounted(t *testing.T) {
	r := newRig(t, testKey)
	obs := &countObserver{}
	r.hook.Observe = obs
	r.intake.replies = []ticket.Reply{{Kind: ticket.ReplyThanks, Text: "感谢"}}
	r.post(t, textMsg("2001", "谢谢"), nil) // reply
	r.store.passive[1] = "感谢"
	r.post(t, textMsg("2001", "谢谢"), nil) // repeat
	r.intake.replies = nil
	r.post(t, textMsg("2002", "路灯坏了"), nil)                   // success: not counted
	r.post(t, textMsg("2003", "查询"), nil)                     // command
	r.post(t, eventMsg("subscribe", ""), nil)                 // welcome
	r.post(t, eventMsg("CLICK", "查询进度"), nil)                 // command
	r.post(t, eventMsg("unsubscribe", ""), nil)               // nothing
	r.post(t, textMsg("2004", strings.Repeat("长", 101)), nil) // refusal (MaxChars 100)
	want := map[string]int{PassiveReply: 1, PassiveRepeat: 1, PassiveCommand: 2, PassiveWelcome: 1, PassiveRefusal: 1}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if fmt.Sprint(obs.kinds) != fmt.Sprint(want) {
		t.Fatalf("counted %v, want %v", obs.kinds, want)
	}
}
