// Package app wires hotline together from its configuration: the store, the
// intake pipeline, the channels, the outbox worker and the HTTP server.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"hotline/api"
	"hotline/auth"
	mailch "hotline/channels/mail"
	"hotline/channels/sms"
	"hotline/channels/voice"
	"hotline/classify"
	"hotline/configs"
	"hotline/httpx"
	"hotline/intake"
	"hotline/kb"
	"hotline/live"
	"hotline/metrics"
	"hotline/normalize"
	"hotline/outbox"
	"hotline/pipeline"
	"hotline/replies"
	"hotline/store"
	"hotline/ticket"
)

// App is one running hotline process.
type App struct {
	Cfg     *configs.Config
	Log     *slog.Logger
	Store   *store.Store
	Redis   *redis.Client
	Metrics *metrics.Metrics
	Intake  *intake.Service
	Outbox  *outbox.Worker
	KB      *kb.Index
	// Mail follows the mayor's mailbox (mailbox.imap.addr set); started by Serve.
	Mail    *mailch.Receiver
	Live    live.Hub // the inbox's live updates (app/inbox.go)
	Handler http.Handler

	// Pipeline runs the handling loop's transitions (app/pipeline.go).
	Pipeline *pipeline.Service

	smsToken, voiceToken string
	// Stderr receives the one-time notices (generated admin password, tokens).
	Stderr io.Writer
}

// OpenStore opens the configured database (and runs migrations).
func OpenStore(ctx context.Context, cfg *configs.Config) (*store.Store, error) {
	return store.Open(ctx, store.Options{
		Driver: cfg.Store.Driver, DSN: cfg.Store.DSN, MaxOpenConns: cfg.Store.MaxOpenConns,
		NumberBlock: cfg.Store.TicketNumberBlock, Location: cfg.City.Location(),
	})
}

// New builds the whole application; Close releases it.
func New(ctx context.Context, cfg *configs.Config, log *slog.Logger, stderr io.Writer) (*App, error) {
	a := &App{Cfg: cfg, Log: log, Stderr: stderr, Metrics: metrics.New()}
	var err error
	if a.Store, err = OpenStore(ctx, cfg); err != nil {
		return nil, err
	}
	if err := a.init(ctx); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) init(ctx context.Context) error {
	cfg := a.Cfg
	if cfg.Redis.URL != "" {
		opt, err := redis.ParseURL(cfg.Redis.URL)
		if err != nil {
			return fmt.Errorf("redis.url: %w", err)
		}
		a.Redis = redis.NewClient(opt)
	}
	if err := a.ensureAdmin(ctx); err != nil {
		return err
	}
	var err error
	if a.smsToken, err = a.secret(ctx, "sms.webhook_token", cfg.SMS.WebhookToken); err != nil {
		return err
	}
	if a.voiceToken, err = a.secret(ctx, "voice.webhook_token", cfg.Voice.WebhookToken); err != nil {
		return err
	}
	cls, err := a.classifier()
	if err != nil {
		return err
	}
	if a.KB, err = kb.NewIndex(); err != nil {
		return err
	}
	if err := a.ReloadKB(ctx); err != nil {
		return err
	}
	smsReplies, err := replies.New(cfg.Replies.SMS)
	if err != nil {
		return err
	}
	wechatReplies, err := replies.New(cfg.WeChat.Replies)
	if err != nil {
		return fmt.Errorf("wechat.replies: %w", err)
	}
	a.Intake = intake.New(a.Store, cls, a.KB, a.Metrics, intake.Options{
		Options:      store.IngestOptions{ThreadWindow: cfg.Intake.ThreadWindow, RawMax: cfg.Intake.RawMaxBytes},
		MaxTextChars: cfg.Intake.MaxTextChars,
		KBMinScore:   cfg.KB.ConfidentScore,
		AutoReply:    map[normalize.Channel]replies.Set{normalize.SMS: smsReplies, normalize.WeChat: wechatReplies},
		Threaded:     map[normalize.Channel]bool{normalize.SMS: true, normalize.WeChat: true},
	})
	senders, err := a.senders()
	if err != nil {
		return err
	}
	a.Outbox = outbox.New(a.Store, senders, a.Metrics, outbox.Options{
		Workers: cfg.Outbox.Workers, PollInterval: cfg.Outbox.PollInterval, Batch: cfg.Outbox.Batch,
		Lease: cfg.Outbox.Lease, BackoffBase: cfg.Outbox.BackoffBase, BackoffMax: cfg.Outbox.BackoffMax,
		MaxAttempts: cfg.Outbox.MaxAttempts, SendTimeout: cfg.SMS.Outbound.Timeout,
	}, a.Log.With("component", "outbox"))
	a.Metrics.OutboxDepth(a.Store.OutboxDepth)
	if err := a.initPipeline(ctx); err != nil { // app/pipeline.go
		return err
	}
	a.Handler = a.router()
	return nil
}

func (a *App) classifier() (*classify.Classifier, error) {
	if a.Cfg.Classify.DataFile == "" {
		return classify.Default(a.Cfg.City, a.Cfg.Classify.MinChars)
	}
	b, err := os.ReadFile(a.Cfg.Classify.DataFile)
	if err != nil {
		return nil, fmt.Errorf("classify.data_file: %w", err)
	}
	d, err := classify.ParseData(b)
	if err != nil {
		return nil, fmt.Errorf("classify.data_file: %w", err)
	}
	return classify.New(d, configs.Divisions(), a.Cfg.City, a.Cfg.Classify.MinChars)
}

// ReloadKB rebuilds the in-memory knowledge-base index from the database.
func (a *App) ReloadKB(ctx context.Context) error {
	recs, err := a.Store.ListKB(ctx)
	if err != nil {
		return err
	}
	entries := make([]kb.Entry, len(recs))
	for i, r := range recs {
		entries[i] = kb.Entry{ID: r.ID, ExternalID: r.ExternalID, Question: r.Question, Keywords: r.Keywords,
			Answer: r.Answer, Unit: r.Unit, ValidUntil: r.ValidUntil}
	}
	return a.KB.Replace(entries)
}

func (a *App) senders() (map[string]outbox.Sender, error) {
	out := map[string]outbox.Sender{}
	o := a.Cfg.SMS.Outbound
	switch o.Provider {
	case "log":
		out[ticket.ViaSMS] = sms.LogSender{Log: a.Log.With("component", "sms")}
	case "http":
		out[ticket.ViaSMS] = sms.HTTPSender{URL: o.HTTPURL, Client: &http.Client{Timeout: o.Timeout}}
	case "cmpp":
		return nil, errors.New("sms.outbound.provider cmpp: the CMPP client is not available in this build (see README)")
	}
	if err := a.addWeChatSender(out); err != nil {
		return nil, err
	}
	if err := a.addMailSender(out); err != nil {
		return nil, err
	}
	if err := a.addProvinceSenders(out); err != nil {
		return nil, err
	}
	return out, nil
}

// ensureAdmin creates the first account when there is none.
func (a *App) ensureAdmin(ctx context.Context) error {
	n, err := a.Store.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	pw, generated := a.Cfg.Admin.Password, false
	if pw == "" {
		pw, generated = auth.RandomPassword(), true
	}
	hash, err := auth.Hash(pw, a.Cfg.Auth.BcryptCost)
	if err != nil {
		return fmt.Errorf("admin password: %w", err)
	}
	if _, err := a.Store.CreateUser(ctx, "admin", "管理员", auth.RoleAdmin, hash, nil); err != nil {
		if errors.Is(err, ticket.ErrConflict) {
			return nil // another instance was first
		}
		return err
	}
	if generated {
		fmt.Fprintf(a.Stderr, "created user \"admin\" with password: %s  (shown once; set HOTLINE_ADMIN_PASSWORD to choose it)\n", pw)
	}
	return nil
}

// secret returns the configured secret, or the one generated and stored on the
// first start (printed once).
func (a *App) secret(ctx context.Context, key, configured string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	v, created, err := a.Store.SettingOrCreate(ctx, key, auth.NewToken)
	if err != nil {
		return "", err
	}
	if created {
		fmt.Fprintf(a.Stderr, "generated %s: %s  (shown once; stored in the database, or set it in the config)\n", key, v)
	}
	return v, nil
}

func (a *App) router() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	if err := r.SetTrustedProxies(a.Cfg.HTTP.TrustedProxies); err != nil {
		a.Log.Error("http.trusted_proxies", "err", err) // validated by configs.Load
	}
	r.Use(httpx.Recover(a.Log), httpx.RequestID(), a.Metrics.Middleware(), httpx.AccessLog(a.Log))
	r.NoRoute(func(c *gin.Context) { httpx.Error(c, http.StatusNotFound, "not_found", "no such path") })
	r.NoMethod(func(c *gin.Context) {
		httpx.Error(c, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed")
	})
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", a.ready)
	r.GET("/metrics", gin.WrapH(a.Metrics.Handler()))

	maxBody := a.Cfg.HTTP.MaxBodyBytes
	ingest := &notifying{s: a.Intake, notify: a.Outbox.Notify, survey: a.surveyAnswer}
	(&sms.Webhook{Intake: ingest, Token: func() string { return a.smsToken }, MaxBody: maxBody,
		MaxChars: a.Cfg.Intake.MaxTextChars, Loc: a.Cfg.City.Location(), Log: a.Log}).Routes(r)
	(&voice.Webhook{Recorder: callRecorder{a.Store}, Token: func() string { return a.voiceToken }, MaxBody: maxBody, Log: a.Log}).Routes(r)
	a.webRoutes(r)
	a.inboxRoutes(r)
	a.provinceRoutes(r)
	if err := a.wechatRoutes(r); err != nil { // the configuration was checked by senders()
		a.Log.Error("wechat channel not started", "err", err)
	}
	(&api.API{Store: a.Store, Intake: a.Intake, Notify: a.Outbox.Notify, TokenTTL: a.Cfg.Auth.TokenTTL, MaxBody: maxBody, Log: a.Log}).Routes(r)
	a.pipelineRoutes(r) // app/pipeline.go
	return r
}

func (a *App) ready(c *gin.Context) {
	if err := a.Store.Ping(c.Request.Context()); err != nil {
		httpx.Error(c, http.StatusServiceUnavailable, "database_unavailable", "database does not answer")
		return
	}
	if a.Redis != nil {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		if err := a.Redis.Ping(ctx).Err(); err != nil {
			httpx.Error(c, http.StatusServiceUnavailable, "redis_unavailable", "redis does not answer")
			return
		}
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

// notifying wakes the outbox once a message with replies is committed.
type notifying struct {
	s      *intake.Service
	notify func()
	// survey, when set, takes SMS answers to a follow-up survey (handled).
	survey func(ctx context.Context, env normalize.Envelope) (r ticket.Receipt, handled bool, err error)
}

func (n *notifying) IngestEnvelope(ctx context.Context, env normalize.Envelope) (ticket.Receipt, error) {
	if n.survey != nil && env.Channel == normalize.SMS {
		if r, handled, err := n.survey(ctx, env); handled || err != nil {
			return r, err
		}
	}
	r, err := n.s.Ingest(ctx, env, "")
	if err == nil && len(r.Decision.Replies) > 0 {
		n.notify()
	}
	return r.Receipt, err
}

type callRecorder struct{ s *store.Store }

func (c callRecorder) RecordCall(ctx context.Context, e voice.Event) (bool, error) {
	return c.s.RecordCallEvent(ctx, store.CallEventInput{CallID: e.CallID, Event: e.Event, At: e.At,
		Caller: e.Caller, AgentID: e.AgentID, RecordingURL: e.RecordingURL})
}

// Serve runs the HTTP server and the outbox worker until ctx is cancelled, then
// shuts down gracefully: stop accepting, drain requests, drain the worker.
// ready is called with the bound address once the listener is up.
func (a *App) Serve(ctx context.Context, ready func(addr string)) error {
	ln, err := net.Listen("tcp", a.Cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", a.Cfg.HTTP.Addr, err)
	}
	srv := &http.Server{
		Handler: a.Handler, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: a.Cfg.HTTP.ReadTimeout, WriteTimeout: a.Cfg.HTTP.WriteTimeout,
		ErrorLog: slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.Outbox.Run(workCtx)
	}()
	a.startMail(workCtx, &wg)
	a.startPipeline(workCtx, &wg) // app/pipeline.go
	a.startLive(ctx, &wg)
	if iv := a.Cfg.KB.ReloadInterval; iv > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.reloadKBEvery(workCtx, iv)
		}()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	a.Log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), a.Cfg.HTTP.ShutdownTimeout)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil {
		a.Log.Error("http shutdown", "err", serr)
	}
	stopWork()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-sctx.Done():
		a.Log.Warn("outbox did not drain in time; leased items will be retried after their lease")
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// reloadKBEvery picks up knowledge-base imports made by other processes.
func (a *App) reloadKBEvery(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.ReloadKB(ctx); err != nil && ctx.Err() == nil {
				a.Log.Error("kb reload", "err", err)
			}
		}
	}
}

// Close releases the database and Redis.
func (a *App) Close() {
	if a.Redis != nil {
		a.Redis.Close()
	}
	if a.Store != nil {
		a.Store.Close()
	}
}
