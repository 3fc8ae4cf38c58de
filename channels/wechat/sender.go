package wechat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/officialaccount"
	oaconfig "github.com/silenceper/wechat/v2/officialaccount/config"
	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/util"
	"github.com/sirupsen/logrus"

	"hotline/normalize"
	"hotline/ticket"
)

// DefaultAPIBase is where the library sends every API call.
const DefaultAPIBase = "https://api.weixin.qq.com"

var quiet sync.Once

// Quiet silences logrus, which the library sets to debug on stdout at init and
// would use to log citizens' messages. hotline logs with slog.
func Quiet() {
	quiet.Do(func() {
		logrus.SetOutput(io.Discard)
		logrus.SetLevel(logrus.WarnLevel)
	})
}

// SetAPIBase redirects every call of the library (access token, customer
// service ...) from api.weixin.qq.com to base, for private gateways and tests.
// The library keeps the modifier in a package variable: one base per process.
func SetAPIBase(base string) {
	base = strings.TrimRight(strings.TrimSpace(base), "/")
	if base == "" || base == DefaultAPIBase {
		util.SetURIModifier(nil)
		return
	}
	util.SetURIModifier(func(uri string) string {
		if rest, ok := strings.CutPrefix(uri, DefaultAPIBase); ok {
			return base + rest
		}
		return uri
	})
}

// Binder tells the sender whether a WeChat user has a bound phone, to offer
// SMS when WeChat refuses a message.
type Binder interface {
	BoundPhone(ctx context.Context, openid string) (phone string, verified bool, err error)
}

// Sender delivers agents' replies as customer-service text messages
// (cgi-bin/message/custom/send). It is the outbox sender of ticket.ViaWeChat.
type Sender struct {
	token  credential.AccessTokenContextHandle
	cache  cache.Cache
	appID  string
	binder Binder
}

// SenderConfig configures NewSender.
type SenderConfig struct {
	AppID, AppSecret string
	// APIBase replaces https://api.weixin.qq.com (see SetAPIBase).
	APIBase string
	// Cache holds the access token: NewRedisCache to share it between
	// instances, NewMemoryCache for one process.
	Cache cache.Cache
}

// NewSender builds the sender; binder may be nil.
func NewSender(cfg SenderConfig, binder Binder) (*Sender, error) {
	Quiet()
	if cfg.AppID == "" || cfg.AppSecret == "" {
		return nil, errors.New("wechat.app_id and wechat.app_secret are required to send")
	}
	if cfg.Cache == nil {
		cfg.Cache = NewMemoryCache()
	}
	SetAPIBase(cfg.APIBase)
	oa := officialaccount.NewOfficialAccount(&oaconfig.Config{AppID: cfg.AppID, AppSecret: cfg.AppSecret, Cache: cfg.Cache})
	h, ok := oa.GetContext().AccessTokenHandle.(credential.AccessTokenContextHandle)
	if !ok {
		return nil, errors.New("wechat: access token handle without context support")
	}
	return &Sender{token: h, cache: cfg.Cache, appID: cfg.AppID, binder: binder}, nil
}

// customSendURL is the library's customer-service endpoint (message.Manager).
const customSendURL = DefaultAPIBase + "/cgi-bin/message/custom/send"

// Send delivers one reply. It does what the library's message.Manager.Send
// does (same message type, same endpoint, same access token) but with the
// outbox's context, so that a hung connection ends with the send timeout, and
// with WeChat's errcode kept, so that refusals that retrying cannot fix are
// permanent.
func (s *Sender) Send(ctx context.Context, m ticket.Outgoing) error {
	if m.To == "" {
		return ticket.Permanent(errors.New("no openid"))
	}
	if strings.TrimSpace(m.Text) == "" {
		return ticket.Permanent(errors.New("empty text"))
	}
	tok, err := s.token.GetAccessTokenContext(ctx)
	if err != nil {
		// Wrong secret, IP not whitelisted, WeChat down: the operator can fix
		// it, so the outbox retries with backoff.
		return fmt.Errorf("wechat access token: %w", err)
	}
	resp, err := util.PostJSONContext(ctx, customSendURL+"?access_token="+tok, message.NewCustomerTextMessage(m.To, m.Text))
	if err != nil {
		return fmt.Errorf("wechat custom send: %w", err)
	}
	err = util.DecodeWithCommonError(resp, "custom/send")
	var ce *util.CommonError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return s.classify(ctx, m.To, ce)
	default:
		return fmt.Errorf("wechat custom send: unreadable answer: %w", err)
	}
}

// Refusals that retrying cannot fix, with the reason shown on the ticket.
var permanentCodes = map[int64]string{
	40003: "openid 无效（不是本公众号的用户）",
	43004: "用户已取消关注，无法接收客服消息",
	43019: "用户已将公众号拉黑",
	45015: "超出客服消息回复时限（用户48小时内未与公众号互动）",
	45047: "客服消息下行条数超过上限（需用户再次发送消息）",
	48001: "公众号未获得客服消息接口权限",
	45002: "消息内容超长",
	40008: "消息类型无效",
	47001: "消息格式错误",
}

// Access-token errors: drop the cached token and retry.
var tokenCodes = map[int64]bool{40001: true, 40014: true, 42001: true}

func (s *Sender) classify(ctx context.Context, openid string, ce *util.CommonError) error {
	if tokenCodes[ce.ErrCode] {
		_ = cache.DeleteContext(ctx, s.cache, credential.CacheKeyOfficialAccountPrefix+"_access_token_"+s.appID)
		return fmt.Errorf("wechat custom send: access token rejected (errcode %d), refreshed for the next attempt", ce.ErrCode)
	}
	reason, permanent := permanentCodes[ce.ErrCode]
	if !permanent {
		return fmt.Errorf("wechat custom send: errcode %d: %s", ce.ErrCode, ce.ErrMsg)
	}
	msg := fmt.Sprintf("errcode %d: %s", ce.ErrCode, reason)
	if s.binder != nil {
		if phone, verified, err := s.binder.BoundPhone(ctx, openid); err == nil && phone != "" {
			state := "已验证"
			if !verified {
				state = "未验证"
			}
			msg += fmt.Sprintf("；该用户绑定了手机 %s（%s），可改用短信回复", normalize.MaskPhone(phone), state)
		}
	}
	return ticket.Permanent(errors.New(msg))
}
