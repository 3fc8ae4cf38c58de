package app

import (
	"context"
	"errors"

	"github.com/gin-gonic/gin"
	"github.com/silenceper/wechat/v2/cache"

	"hotline/api"
	"hotline/channels/wechat"
	"hotline/intake"
	"hotline/normalize"
	"hotline/outbox"
	"hotline/store"
	"hotline/ticket"
)

// The WeChat official account channel (wechat.*): on when wechat.app_id is set.

// wechatRoutes registers GET/POST /channels/wechat.
func (a *App) wechatRoutes(r gin.IRouter) error {
	c := a.Cfg.WeChat
	if c.AppID == "" {
		return nil
	}
	h, err := wechat.NewWebhook(wechat.Config{
		AppID: c.AppID, Token: c.Token, EncodingAESKey: c.EncodingAESKey,
		WelcomeText: c.WelcomeText, StatusMenuKey: c.StatusMenuKey,
		MaxBody: a.Cfg.HTTP.MaxBodyBytes, MaxChars: a.Cfg.Intake.MaxTextChars,
	}, wechatIntake{a.Intake}, wechatStore{a.Store}, a.Log.With("component", "wechat"))
	if err != nil {
		return err
	}
	h.Notify = a.Outbox.Notify // a binding code SMS was queued
	h.Observe = a.Metrics
	h.Routes(r)
	// The agents' side of phone binding (confirm, undo).
	(&api.Contacts{
		API:      &api.API{Store: a.Store, Intake: a.Intake, Notify: a.Outbox.Notify, TokenTTL: a.Cfg.Auth.TokenTTL, MaxBody: a.Cfg.HTTP.MaxBodyBytes, Log: a.Log},
		Contacts: a.Store,
	}).Routes(r)
	return nil
}

// addWeChatSender adds the customer-service sender of ticket.ViaWeChat to out
// when the channel is on, and checks the channel's configuration (so that a
// bad one stops the start, before the routes are built).
func (a *App) addWeChatSender(out map[string]outbox.Sender) error {
	c := a.Cfg.WeChat
	if c.AppID == "" {
		return nil
	}
	switch {
	case c.AppSecret == "":
		return errors.New("wechat.app_secret is required when wechat.app_id is set (agents' replies are sent with it)")
	case c.Token == "":
		return errors.New("wechat.token is required when wechat.app_id is set")
	}
	if _, err := wechat.NewWebhook(wechat.Config{AppID: c.AppID, Token: c.Token, EncodingAESKey: c.EncodingAESKey}, nil, nil, a.Log); err != nil {
		return err
	}
	// The access token is shared through Redis when there is one, so that
	// instances do not invalidate each other's tokens.
	var tokens cache.Cache
	if a.Redis != nil {
		tokens = wechat.NewRedisCache(a.Redis, "hotline:wechat:")
	}
	s, err := wechat.NewSender(wechat.SenderConfig{AppID: c.AppID, AppSecret: c.AppSecret, APIBase: c.APIBase, Cache: tokens}, wechatStore{a.Store})
	if err != nil {
		return err
	}
	out[ticket.ViaWeChat] = s
	return nil
}

// wechatIntake commits WeChat envelopes with the sender's openid as actor (it
// ties the ticket to that openid for status queries, see store.WeChatActor)
// and returns the auto-replies for the passive reply.
type wechatIntake struct{ s *intake.Service }

func (w wechatIntake) Ingest(ctx context.Context, env normalize.Envelope) (ticket.Receipt, []ticket.Reply, error) {
	r, err := w.s.Ingest(ctx, env, store.WeChatActor(env.Sender.OpenID))
	return r.Receipt, r.Decision.Replies, err
}

// wechatStore adapts the store to the channel's interfaces.
type wechatStore struct{ s *store.Store }

func (w wechatStore) PassiveReply(ctx context.Context, id int64) (string, error) {
	return w.s.PassiveReply(ctx, id)
}

func (w wechatStore) TicketStatus(ctx context.Context, openid, no string) (wechat.Status, error) {
	st, err := w.s.TicketStatusForOpenID(ctx, openid, no)
	return wechat.Status{TicketNo: st.TicketNo, Status: st.Status, Result: st.Result}, err
}

func (w wechatStore) LatestTicketStatus(ctx context.Context, openid string) (wechat.Status, error) {
	st, err := w.s.LatestTicketForOpenID(ctx, openid)
	return wechat.Status{TicketNo: st.TicketNo, Status: st.Status, Result: st.Result}, err
}

func (w wechatStore) RequestBinding(ctx context.Context, openid, phone, code, smsText string) (string, error) {
	return w.s.RequestPhoneBinding(ctx, openid, phone, code, smsText)
}

func (w wechatStore) VerifyBinding(ctx context.Context, openid, code string) (string, string, error) {
	return w.s.VerifyPhoneBinding(ctx, openid, code)
}

func (w wechatStore) BoundPhone(ctx context.Context, openid string) (string, bool, error) {
	return w.s.BoundPhone(ctx, openid)
}

var (
	_ wechat.Ingester = wechatIntake{}
	_ wechat.Store    = wechatStore{}
	_ wechat.Binder   = wechatStore{}
)
