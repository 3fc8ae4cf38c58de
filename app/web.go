package app

import (
	"context"
	"sync"

	"github.com/gin-gonic/gin"

	"hotline/auth"
	"hotline/channels/web"
	"hotline/store"
)

// webRoutes serves the website channel and the mayor's mailbox form
// (/submit, /mayor, /api/v1/submissions, /query).
func (a *App) webRoutes(r gin.IRouter) {
	w := a.Cfg.Website
	var limiter web.Limiter = web.NewMemoryLimiter()
	if a.Redis != nil {
		limiter = &web.RedisLimiter{Client: a.Redis, Prefix: "hotline:rl:"}
	}
	(&web.Handler{
		Intake:  &notifying{s: a.Intake, notify: a.Outbox.Notify},
		Store:   webStore{a.Store},
		Limiter: limiter,
		Files:   a.attachments(),
		CSRFKey: a.csrfKey(),
		Limits: web.Limits{PerIP: w.RatePerIP, PerPhone: w.RatePerPhone, Window: w.RateWindow,
			QueryPerIP: w.QueryAttemptsPerIP, MaxContent: a.Cfg.Intake.MaxTextChars},
		MaxBody: a.Cfg.HTTP.MaxBodyBytes,
		Site:    a.Cfg.City.Name + "12345政务服务便民热线",
		Log:     a.Log.With("component", "web"),
	}).Routes(r)
}

// attachments is where website and e-mail attachments are kept.
func (a *App) attachments() *web.Attachments {
	w := a.Cfg.Website
	return &web.Attachments{Dir: w.AttachmentsDir, MaxBytes: w.MaxAttachmentBytes, MaxFiles: w.MaxAttachments}
}

// csrfKey returns the form-token key, generated once and kept in the database
// so that every instance accepts every instance's forms. It is loaded on first
// use (and again after a failure), never printed.
func (a *App) csrfKey() func(ctx context.Context) ([]byte, error) {
	var mu sync.Mutex
	var key []byte
	return func(ctx context.Context) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		if key != nil {
			return key, nil
		}
		v, _, err := a.Store.SettingOrCreate(ctx, "website.csrf_key", auth.NewToken)
		if err != nil {
			return nil, err
		}
		key = []byte(v)
		return key, nil
	}
}

// webStore adapts the store to the website channel.
type webStore struct{ s *store.Store }

func (w webStore) SaveQueryCode(ctx context.Context, ticketID int64, hash string) (bool, error) {
	return w.s.SaveQueryCode(ctx, ticketID, hash)
}

func (w webStore) PublicStatus(ctx context.Context, no, hash string) (web.Status, error) {
	p, err := w.s.PublicStatus(ctx, no, hash)
	if err != nil {
		return web.Status{}, err
	}
	return web.Status{TicketNo: p.TicketNo, Channel: p.Channel, Status: p.Status, Title: p.Title, Unit: p.Unit,
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, ClosedAt: p.ClosedAt, Result: p.Result, ResultAt: p.ResultAt}, nil
}
