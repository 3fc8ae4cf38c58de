package app

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"hotline/api"
	"hotline/channels/web"
	"hotline/inbox"
	"hotline/kpi"
	"hotline/live"
	"hotline/normalize"
	"hotline/replies"
	"hotline/store"
)

// inboxRoutes mounts the unified inbox (/, /login, /logout, /inbox/...) and
// creates the live hub its pages listen to: Redis pub/sub when Redis is
// configured, else in-process.
func (a *App) inboxRoutes(r gin.IRouter) {
	cfg := a.Cfg
	if a.Live == nil {
		if a.Redis != nil {
			a.Live = live.NewRedis(a.Redis, "hotline:live", a.Log.With("component", "live"))
		} else {
			a.Live = live.NewLocal()
		}
	}
	var categories []string
	if cls, err := a.classifier(); err == nil {
		categories = cls.Categories()
	} else {
		a.Log.Error("inbox: no categories", "err", err)
	}
	sets := map[normalize.Channel]replies.Set{}
	if s, err := replies.New(cfg.Replies.SMS); err == nil { // checked by init already
		sets[normalize.SMS] = s
	}
	if s, err := replies.New(cfg.WeChat.Replies); err == nil {
		sets[normalize.WeChat] = s
	}
	var limiter inbox.Limiter = web.NewMemoryLimiter()
	if a.Redis != nil {
		limiter = &web.RedisLimiter{Client: a.Redis, Prefix: "hotline:rl:"}
	}
	accounts := &api.API{Store: a.Store, TokenTTL: cfg.Auth.TokenTTL, MaxBody: cfg.HTTP.MaxBodyBytes, Log: a.Log}
	hot := cfg.Pipeline.Hot
	h := &inbox.Handler{
		Store:   a.Store,
		Login:   accounts.Login,
		KB:      a.KB,
		Files:   a.attachments(),
		Hub:     a.Live,
		Limiter: limiter,
		Replies: sets,
		Notify:  a.Outbox.Notify,
		Opt: inbox.Options{
			SLA: cfg.Inbox.SLA, Canned: cfg.Inbox.Canned, Categories: categories,
			Site: cfg.City.Name + "12345热线", City: cfg.City.Name, Province: cfg.City.Province,
			Location:     cfg.City.Location(),
			SecureCookie: strings.HasPrefix(strings.ToLower(cfg.HTTP.PublicURL), "https://"),
			SessionTTL:   cfg.Auth.TokenTTL, MaxBody: cfg.HTTP.MaxBodyBytes, BcryptCost: cfg.Auth.BcryptCost,
			PageSize: cfg.Inbox.PageSize,
			Hot:      kpi.HotOptions{Window: hot.Window, Baseline: hot.BaselineWindows, MinCount: hot.MinCount, Factor: hot.Factor},
		},
		Log: a.Log.With("component", "inbox"),
	}
	// The handling panel, the work queues and the KPI dashboard call the
	// pipeline, the store and the KPI service directly (the same Transition and
	// queries as the API).
	if a.Pipeline != nil {
		h.Pipeline, h.Work, h.KPI, h.Alerts = a.Pipeline, a.Store, a.KPI(), a.Store
		h.Opt.AnswerAlertWithin = cfg.Pipeline.AnswerAlertWithin
		if dl := a.Pipeline.Deadlines(); dl != nil {
			h.Opt.ExtensionMaxDays = dl.ExtensionMaxDays
		}
	}
	h.Routes(r)
}

// startLive runs the live updates in the background of Serve. It is given the
// serve context itself (not the work context), so open event streams end as
// soon as shutdown begins instead of holding the HTTP drain.
func (a *App) startLive(ctx context.Context, wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.RunLive(ctx)
	}()
}

// RunLive polls the change feed and (with Redis) relays other instances'
// events until ctx is cancelled, then closes the hub, ending every stream.
func (a *App) RunLive(ctx context.Context) {
	if a.Live == nil {
		return
	}
	defer a.Live.Close()
	var wg sync.WaitGroup
	p := &live.Poller{Source: changeFeed{a.Store}, Hub: a.Live, Interval: a.Cfg.Inbox.LivePoll, Log: a.Log.With("component", "live")}
	if rh, ok := a.Live.(*live.Redis); ok {
		p.Lock = live.NewRedisLease(a.Redis, "hotline:live:poller")
		wg.Add(1)
		go func() {
			defer wg.Done()
			rh.Run(ctx)
		}()
	}
	p.Run(ctx)
	wg.Wait()
}

// changeFeed adapts the store to the live poller.
type changeFeed struct{ s *store.Store }

func (f changeFeed) Changes(ctx context.Context, since time.Time, limit int) ([]live.Change, time.Time, error) {
	cs, cut, err := f.s.TicketChanges(ctx, since, limit)
	out := make([]live.Change, len(cs))
	for i, c := range cs {
		out[i] = live.Change{TicketID: c.TicketID, TicketNo: c.No, UnitID: c.UnitID, At: c.At, Delivery: c.Delivery}
	}
	return out, cut, err
}
