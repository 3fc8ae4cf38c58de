// Package api serves the agent API of the contract (/api/v1/...) and the health
// endpoints. Handlers are thin: they parse, call the domain, and map its errors
// to the contract's JSON errors.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"hotline/auth"
	"hotline/httpx"
	"hotline/intake"
	"hotline/normalize"
	"hotline/store"
	"hotline/ticket"
)

// Store is what the API reads and writes.
type Store interface {
	ListTickets(ctx context.Context, f store.TicketFilter) ([]ticket.Ticket, *store.Cursor, error)
	GetTicket(ctx context.Context, no string) (ticket.Ticket, error)
	ReplyVia(ctx context.Context, no, actor string, rep ticket.Reply, via string) (ticket.Message, error)
	UserForLogin(ctx context.Context, username string) (store.UserView, string, error)
	SaveToken(ctx context.Context, tok string, userID int64, expires time.Time) error
	UserByToken(ctx context.Context, tok string) (store.UserView, error)
	DeleteToken(ctx context.Context, tok string) error
}

// Intake creates agent-entered tickets.
type Intake interface {
	Ingest(ctx context.Context, env normalize.Envelope, actor string) (intake.Result, error)
}

// API holds the handlers' dependencies.
type API struct {
	Store    Store
	Intake   Intake
	Notify   func() // wakes the outbox after a reply is queued
	TokenTTL time.Duration
	MaxBody  int64
	Log      *slog.Logger
}

// Routes registers the agent API on r.
func (a *API) Routes(r gin.IRouter) {
	v1 := r.Group("/api/v1")
	v1.POST("/auth/login", a.login)
	authed := v1.Group("", a.RequireUser)
	authed.POST("/auth/logout", a.logout)
	authed.GET("/me", a.me)
	authed.GET("/tickets", a.listTickets)
	authed.GET("/tickets/:no", a.getTicket)
	authed.POST("/tickets", a.requireRole(centreRoles...), a.createTicket)
	authed.POST("/tickets/:no/replies", a.requireRole(centreRoles...), a.reply)
}

var centreRoles = []string{auth.RoleIntake, auth.RoleTransfer, auth.RoleFollowUp, auth.RoleSupervisor, auth.RoleAdmin}

// fail maps domain errors to the contract's errors.
func (a *API) fail(c *gin.Context, err error) {
	switch {
	case errors.Is(err, ticket.ErrNotFound):
		httpx.Error(c, http.StatusNotFound, "not_found", "not found")
	case errors.Is(err, ticket.ErrForbidden):
		httpx.Error(c, http.StatusForbidden, "forbidden", "not allowed for your role")
	case errors.Is(err, ticket.ErrConflict):
		httpx.Error(c, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, normalize.ErrInvalid):
		httpx.Error(c, http.StatusBadRequest, "invalid", err.Error())
	default:
		a.Log.Error("api", "request_id", httpx.ID(c), "path", c.FullPath(), "err", err)
		httpx.Error(c, http.StatusInternalServerError, "internal", "internal error")
	}
}

// bindJSON reads a size-limited JSON body strictly; on failure it has answered.
func (a *API) bindJSON(c *gin.Context, v any) bool {
	body, ok := httpx.ReadBody(c, a.MaxBody)
	if !ok {
		return false
	}
	if err := decodeStrict(body, v); err != nil {
		httpx.Error(c, http.StatusBadRequest, "malformed_json", err.Error())
		return false
	}
	return true
}

func bearer(c *gin.Context) string {
	h := c.GetHeader("Authorization")
	if t, ok := strings.CutPrefix(h, "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	return ""
}
