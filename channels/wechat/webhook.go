package wechat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"hotline/httpx"
	"hotline/normalize"
	"hotline/ticket"
)

// Ingester commits an envelope (synchronously: when it returns without error
// the message is stored) and returns the auto-replies intake decided. On a
// duplicate (Receipt.Duplicate) replies is empty.
type Ingester interface {
	Ingest(ctx context.Context, env normalize.Envelope) (r ticket.Receipt, replies []ticket.Reply, err error)
}

// Status is what a citizen may learn about one of their tickets.
type Status struct {
	TicketNo string
	Status   ticket.Status
	Result   string // the answer, once the ticket is answered or closed
}

// Bind outcomes of Store.RequestBinding and Store.VerifyBinding.
const (
	BindCodeSent        = "code_sent"        // a code went out by SMS
	BindTooSoon         = "too_soon"         // a code was sent less than a minute ago
	BindAlreadyVerified = "already_verified" // this openid is bound to this phone
	BindPhoneTaken      = "phone_taken"      // the phone belongs to another WeChat user
	BindOtherPhone      = "other_phone"      // this openid is bound to another phone
	BindVerified        = "verified"         // the code was right: bound
	BindBadCode         = "bad_code"         // wrong or expired code, or no pending binding
)

// Store is what the channel reads and writes besides intake.
type Store interface {
	// PassiveReply returns the auto-reply recorded with an inbound message
	// (answered passively the first time), "" when there was none: a retry of
	// the same message gets the same answer.
	PassiveReply(ctx context.Context, inboundMessageID int64) (string, error)
	// TicketStatus returns the ticket if openid may see it, else
	// ticket.ErrNotFound. LatestTicketStatus does the same for the newest one.
	TicketStatus(ctx context.Context, openid, ticketNo string) (Status, error)
	LatestTicketStatus(ctx context.Context, openid string) (Status, error)
	// RequestBinding starts binding phone to openid: it records the pending
	// binding and queues smsText (which holds code) to the phone.
	RequestBinding(ctx context.Context, openid, phone, code, smsText string) (string, error)
	// VerifyBinding completes it when code is the one sent. It returns the
	// outcome and the phone concerned.
	VerifyBinding(ctx context.Context, openid, code string) (outcome, phone string, err error)
}

// Config is the channel's part of the configuration (wechat.*).
type Config struct {
	AppID          string
	Token          string
	EncodingAESKey string // empty: plain mode only; set: safe mode required
	WelcomeText    string
	StatusMenuKey  string
	// MaxBody bounds the request body (http.max_body_bytes).
	MaxBody int64
	// MaxChars bounds a message's text (intake.max_text_chars), for the reply
	// that tells the citizen why a message was not taken.
	MaxChars int
	// MaxSkew is how far the request's timestamp may be from now (5 minutes).
	MaxSkew time.Duration
}

// Kinds of passive replies, as counted by Observer.WeChatPassiveReply.
const (
	PassiveReply   = "reply"   // intake's standard reply (thanks, suggestion, a knowledge-base answer ...)
	PassiveRepeat  = "repeat"  // the same reply again, to WeChat's retry of a message
	PassiveCommand = "command" // the answer to 查询 / 绑定 / 验证 or the status menu
	PassiveWelcome = "welcome" // the welcome text to a new follower
	PassiveRefusal = "refusal" // why a message could not be taken
)

// Observer is told about every passive reply sent (metrics.Metrics is one).
type Observer interface {
	WeChatPassiveReply(kind string)
}

// Webhook serves GET and POST /channels/wechat.
type Webhook struct {
	cfg    Config
	intake Ingester
	store  Store
	log    *slog.Logger
	// Now is the clock (tests set it to replay WeChat's published sample).
	Now func() time.Time
	// Notify wakes the outbox after a binding code SMS was queued (may be nil).
	Notify func()
	// Observe, when set, counts the passive replies.
	Observe Observer
}

// NewWebhook checks the configuration and builds the callback handler.
func NewWebhook(cfg Config, in Ingester, st Store, log *slog.Logger) (*Webhook, error) {
	Quiet()
	if cfg.Token == "" {
		return nil, errors.New("wechat.token is required")
	}
	if cfg.AppID == "" {
		return nil, errors.New("wechat.app_id is required")
	}
	if cfg.EncodingAESKey != "" {
		if err := checkAESKey(cfg.EncodingAESKey); err != nil {
			return nil, err
		}
	}
	if cfg.MaxSkew <= 0 {
		cfg.MaxSkew = 5 * time.Minute
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if log == nil {
		log = slog.Default()
	}
	return &Webhook{cfg: cfg, intake: in, store: st, log: log, Now: time.Now}, nil
}

// Routes registers the callback on r.
func (w *Webhook) Routes(r gin.IRouter) {
	r.GET("/channels/wechat", w.verifyURL)
	r.POST("/channels/wechat", w.callback)
}

// fresh checks the request's timestamp; on failure it has answered.
func (w *Webhook) fresh(c *gin.Context) (string, bool) {
	ts := c.Query("timestamp")
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		httpx.Error(c, http.StatusUnauthorized, "bad_signature", "missing or malformed timestamp")
		return "", false
	}
	skew := w.Now().Sub(time.Unix(n, 0))
	if skew > w.cfg.MaxSkew || skew < -w.cfg.MaxSkew {
		httpx.Error(c, http.StatusForbidden, "stale_timestamp", "timestamp too far from the server's clock")
		return "", false
	}
	return ts, true
}

// verifyURL answers WeChat's server URL check: echostr back when the signature
// over token, timestamp and nonce is right.
func (w *Webhook) verifyURL(c *gin.Context) {
	ts, ok := w.fresh(c)
	if !ok {
		return
	}
	if !signatureOK(c.Query("signature"), w.cfg.Token, ts, c.Query("nonce")) {
		httpx.Error(c, http.StatusUnauthorized, "bad_signature", "signature does not match wechat.token")
		return
	}
	c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(c.Query("echostr")))
}

// callback receives a message or event: authenticate, store, then reply.
func (w *Webhook) callback(c *gin.Context) {
	ts, ok := w.fresh(c)
	if !ok {
		return
	}
	nonce := c.Query("nonce")
	safe := c.Query("encrypt_type") == "aes"
	switch {
	case safe && w.cfg.EncodingAESKey == "":
		httpx.Error(c, http.StatusForbidden, "safe_mode_not_configured", "encrypt_type=aes but wechat.encoding_aes_key is not set")
		return
	case !safe && w.cfg.EncodingAESKey != "":
		// With a key configured, plain posts are a downgrade: refuse them.
		httpx.Error(c, http.StatusForbidden, "safe_mode_required", "wechat.encoding_aes_key is set: only encrypted callbacks are accepted")
		return
	case !safe && !signatureOK(c.Query("signature"), w.cfg.Token, ts, nonce):
		httpx.Error(c, http.StatusUnauthorized, "bad_signature", "signature does not match wechat.token")
		return
	}
	body, ok := httpx.ReadBody(c, w.cfg.MaxBody)
	if !ok {
		return
	}
	plain := body
	if safe {
		enc, err := parseEncrypted(body)
		if err != nil {
			httpx.Error(c, http.StatusBadRequest, "malformed", err.Error())
			return
		}
		if !signatureOK(c.Query("msg_signature"), w.cfg.Token, ts, nonce, enc) {
			httpx.Error(c, http.StatusUnauthorized, "bad_signature", "msg_signature does not match")
			return
		}
		plain, err = Decrypt(enc, w.cfg.EncodingAESKey, w.cfg.AppID)
		switch {
		case errors.Is(err, ErrAppIDMismatch):
			httpx.Error(c, http.StatusForbidden, "appid_mismatch", "message is for another AppID")
			return
		case err != nil:
			httpx.Error(c, http.StatusBadRequest, "malformed", err.Error())
			return
		}
	}
	m, err := ParseMessage(plain)
	if err != nil {
		httpx.Error(c, http.StatusBadRequest, "malformed", err.Error())
		return
	}
	text, kind, err := w.handle(c.Request.Context(), m, plain)
	if err != nil {
		// Not stored: a 5xx makes WeChat deliver again (three times).
		w.log.Error("wechat callback", "request_id", httpx.ID(c), "msg_type", m.MsgType, "err", err)
		httpx.Error(c, http.StatusServiceUnavailable, "store_unavailable", "message not stored, please retry")
		return
	}
	if w.reply(c, m, text, safe, nonce) && w.Observe != nil {
		w.Observe.WeChatPassiveReply(kind)
	}
}

// reply answers "success" (nothing to say) or a passive text reply, sealed in
// safe mode; it tells whether a passive reply went out.
func (w *Webhook) reply(c *gin.Context, m Message, text string, safe bool, nonce string) bool {
	if text == "" {
		c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte("success"))
		return false
	}
	now := w.Now()
	doc, err := TextReply(m, fitPassive(text), now)
	if err == nil && safe {
		if nonce == "" {
			nonce = randomNonce()
		}
		doc, err = SealReply(doc, w.cfg.Token, w.cfg.EncodingAESKey, w.cfg.AppID, nonce, now)
	}
	if err != nil {
		// The message is stored; the citizen only misses the instant answer.
		w.log.Error("wechat passive reply", "request_id", httpx.ID(c), "err", err)
		c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte("success"))
		return false
	}
	c.Data(http.StatusOK, "application/xml; charset=utf-8", doc)
	return true
}

// maxPassiveBytes is WeChat's limit for a passive text reply (2048 bytes);
// longer ones are not shown to the citizen at all.
const maxPassiveBytes = 2048

// fitPassive cuts an over-long reply on a character boundary and says so; the
// whole text stays on the ticket and can be sent as a customer-service message.
func fitPassive(text string) string {
	if len(text) <= maxPassiveBytes {
		return text
	}
	const more = "……（内容较长，已截断）"
	cut := maxPassiveBytes - len(more)
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut] + more
}

// handle does what m asks and returns the passive reply text ("" for none)
// and its kind (Passive*). An error means nothing was stored and WeChat
// should retry.
func (w *Webhook) handle(ctx context.Context, m Message, raw []byte) (text, kind string, err error) {
	if m.IsEvent() {
		return w.event(ctx, m)
	}
	if m.MsgType == "text" {
		if cmd, ok := ParseCommand(m.Content); ok {
			text, err := w.command(ctx, m.FromUserName, cmd)
			return text, PassiveCommand, err
		}
	}
	env, _ := m.Envelope(raw)
	// The channel answers the auto-reply in the HTTP response: the store records
	// it as sent instead of queueing a customer-service message (no double send).
	env.Meta["passive_reply"] = "1"
	r, replies, err := w.intake.Ingest(ctx, env)
	switch {
	case errors.Is(err, normalize.ErrInvalid):
		w.log.Info("wechat message refused", "msg_type", m.MsgType, "err", err)
		return w.refusal(), PassiveRefusal, nil
	case err != nil:
		return "", "", err
	case r.Duplicate:
		// A retry: answer what the first delivery answered, if anything.
		text, err := w.store.PassiveReply(ctx, r.MessageID)
		return text, PassiveRepeat, err
	case len(replies) > 0:
		return replies[0].Text, PassiveReply, nil
	}
	return "", "", nil
}

func (w *Webhook) refusal() string {
	if w.cfg.MaxChars > 0 {
		return fmt.Sprintf("您好！您的留言未能受理：内容为空或超过%d字。请修改后重新发送留言。", w.cfg.MaxChars)
	}
	return "您好！您的留言未能受理：内容为空或无法识别。请修改后重新发送留言。"
}

// event handles subscribe (welcome), unsubscribe (nothing) and menu clicks.
// Events make no ticket, and each of them is idempotent, so a retried event
// needs no dedup record.
func (w *Webhook) event(ctx context.Context, m Message) (text, kind string, err error) {
	switch strings.ToLower(m.Event) {
	case "subscribe":
		return w.cfg.WelcomeText, PassiveWelcome, nil
	case "click":
		if w.cfg.StatusMenuKey != "" && m.EventKey == w.cfg.StatusMenuKey {
			text, err := w.command(ctx, m.FromUserName, Command{Kind: CmdStatus})
			return text, PassiveCommand, err
		}
	}
	return "", "", nil
}

// command answers a status query, a binding request or a verification code.
func (w *Webhook) command(ctx context.Context, openid string, cmd Command) (string, error) {
	switch cmd.Kind {
	case CmdStatus:
		var st Status
		var err error
		if cmd.TicketNo == "" {
			st, err = w.store.LatestTicketStatus(ctx, openid)
		} else {
			st, err = w.store.TicketStatus(ctx, openid, cmd.TicketNo)
		}
		switch {
		case errors.Is(err, ticket.ErrNotFound) && cmd.TicketNo == "":
			return "您好！暂未查到您通过本公众号反映的诉求。如需查询其他工单，请发送“查询 工单号”。", nil
		case errors.Is(err, ticket.ErrNotFound):
			return fmt.Sprintf("您好！未查到工单 %s，或该工单不是您通过本公众号提交的。请核对工单号。", cmd.TicketNo), nil
		case err != nil:
			return "", err
		}
		return StatusText(st), nil
	case CmdBindUsage:
		return "绑定手机请发送“绑定 手机号”，例如：绑定 13800138000。", nil
	case CmdBind:
		code := randomCode()
		sms := fmt.Sprintf("您正在将本手机号绑定到12345市民热线微信公众号，验证码：%s，10分钟内有效。如非本人操作，请忽略本短信。", code)
		outcome, err := w.store.RequestBinding(ctx, openid, cmd.Phone, code, sms)
		if err != nil {
			return "", err
		}
		if outcome == BindCodeSent && w.Notify != nil {
			w.Notify()
		}
		return bindText(outcome, cmd.Phone), nil
	case CmdVerify:
		outcome, phone, err := w.store.VerifyBinding(ctx, openid, cmd.Code)
		if err != nil {
			return "", err
		}
		return bindText(outcome, phone), nil
	}
	return "", nil
}

var statusNames = map[ticket.Status]string{
	ticket.StatusIntake:    "已受理，正在办理中",
	ticket.StatusAnswered:  "已答复",
	ticket.StatusClosed:    "已办结",
	ticket.StatusArchived:  "已办结",
	ticket.StatusDiscarded: "未受理（内容无效）",
}

// StatusText is the citizen-facing answer to a status query.
func StatusText(st Status) string {
	name, ok := statusNames[st.Status]
	if !ok {
		name = st.Status.PublicLabel() // the pipeline's internal steps are "办理中" to citizens
	}
	s := fmt.Sprintf("您好！工单 %s 的办理状态：%s。", st.TicketNo, name)
	if st.Result != "" {
		s += "\n办理结果：" + st.Result
	}
	return s
}

func bindText(outcome, phone string) string {
	masked := normalize.MaskPhone(phone)
	switch outcome {
	case BindCodeSent:
		return fmt.Sprintf("验证码已发送至 %s，请在10分钟内回复“验证 验证码”完成绑定。", masked)
	case BindTooSoon:
		return "验证码已发送，请稍后再试，或直接回复“验证 验证码”。"
	case BindAlreadyVerified:
		return fmt.Sprintf("您已绑定手机 %s，无需重复绑定。", masked)
	case BindPhoneTaken:
		return fmt.Sprintf("手机 %s 已与其他微信号绑定。如需更换，请拨打12345热线。", masked)
	case BindOtherPhone:
		return "您的微信已绑定其他手机号。如需更换，请拨打12345热线。"
	case BindVerified:
		return fmt.Sprintf("绑定成功！手机 %s 已与您的微信绑定，您可通过本公众号查询该手机号反映的诉求。", masked)
	case BindBadCode:
		return "验证码错误或已过期，请重新发送“绑定 手机号”获取验证码。"
	}
	return "绑定未完成，请稍后再试。"
}

func randomCode() string {
	b := make([]byte, 4)
	rand.Read(b)
	n := (uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])) % 1000000
	return fmt.Sprintf("%06d", n)
}

func randomNonce() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
