package sms

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"hotline/httpx"
	"hotline/normalize"
	"hotline/ticket"
)

// Ingester commits an envelope and returns once it is stored.
type Ingester interface {
	IngestEnvelope(ctx context.Context, env normalize.Envelope) (ticket.Receipt, error)
}

// Webhook serves the providers' uplink callbacks.
type Webhook struct {
	Intake  Ingester
	Token   func() string // the current sms.webhook_token
	MaxBody int64
	// MaxChars bounds one message's text, checked for the whole batch up front.
	MaxChars int
	Loc      *time.Location
	Log      *slog.Logger
}

// Routes registers the SMS webhooks on r.
func (w *Webhook) Routes(r gin.IRouter) {
	r.POST("/channels/sms/aliyun", w.aliyun)
	r.POST("/channels/sms/tencent", w.tencent)
}

// authorize checks ?token= and reads the body; on failure it has answered.
func (w *Webhook) authorize(c *gin.Context) ([]byte, bool) {
	if !httpx.TokenOK(c.Query("token"), w.Token()) {
		httpx.Error(c, http.StatusUnauthorized, "bad_token", "missing or wrong webhook token")
		return nil, false
	}
	return httpx.ReadBody(c, w.MaxBody)
}

func (w *Webhook) aliyun(c *gin.Context) {
	body, ok := w.authorize(c)
	if !ok {
		return
	}
	envs, err := ParseAliyun(body, w.Loc)
	if err != nil {
		httpx.Error(c, http.StatusBadRequest, "malformed", err.Error())
		return
	}
	// Validate the whole batch first: a bad element rejects the push unchanged.
	for i := range envs {
		if err := envs[i].Validate(w.MaxChars); err != nil {
			httpx.Error(c, http.StatusBadRequest, "invalid_message", err.Error())
			return
		}
	}
	for _, env := range envs {
		if !w.ingest(c, env) {
			return
		}
	}
	c.JSON(http.StatusOK, gin.H{"code": 0, "msg": "接收成功"})
}

func (w *Webhook) tencent(c *gin.Context) {
	body, ok := w.authorize(c)
	if !ok {
		return
	}
	env, err := ParseTencent(body)
	if err != nil {
		httpx.Error(c, http.StatusBadRequest, "malformed", err.Error())
		return
	}
	if !w.ingest(c, env) {
		return
	}
	c.JSON(http.StatusOK, gin.H{"result": 0, "errmsg": "OK"})
}

// ingest stores one message; only a committed message lets the provider's
// request succeed, so a failure here makes the provider deliver again.
func (w *Webhook) ingest(c *gin.Context, env normalize.Envelope) bool {
	_, err := w.Intake.IngestEnvelope(c.Request.Context(), env)
	switch {
	case err == nil:
		return true
	case errors.Is(err, normalize.ErrInvalid):
		httpx.Error(c, http.StatusBadRequest, "invalid_message", err.Error())
	default:
		w.Log.Error("sms ingest", "request_id", httpx.ID(c), "err", err)
		httpx.Error(c, http.StatusServiceUnavailable, "store_unavailable", "message not stored, please retry")
	}
	return false
}
