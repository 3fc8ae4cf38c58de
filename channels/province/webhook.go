package province

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

// Ingester commits an envelope and returns once it is stored (the intake
// service). Committing a province case also records its hash, its deadline,
// the "accepted" event and the attachment fetches, in the same transaction.
type Ingester interface {
	IngestEnvelope(ctx context.Context, env normalize.Envelope) (ticket.Receipt, error)
}

// Cases finds an inbound case already stored: its ticket and the hash of its
// canonical payload.
type Cases interface {
	ProvinceCase(ctx context.Context, caseID string) (ticketNo, hash string, ok bool, err error)
}

// Webhook serves POST /channels/province/cases.
type Webhook struct {
	Intake   Ingester
	Cases    Cases
	Verifier *Verifier
	MaxBody  int64
	Loc      *time.Location // the city's time zone, for times without an offset
	Log      *slog.Logger
	// Notify wakes the outbox (the "accepted" event and attachment fetches
	// were queued); may be nil.
	Notify func()
}

// Routes registers the webhook on r.
func (w *Webhook) Routes(r gin.IRouter) {
	r.POST("/channels/province/cases", w.receive)
}

func (w *Webhook) configured() bool {
	for _, s := range w.Verifier.Secrets() {
		if s != "" {
			return true
		}
	}
	return false
}

func (w *Webhook) receive(c *gin.Context) {
	if !w.configured() {
		httpx.Error(c, http.StatusServiceUnavailable, "province_not_configured", "province.secret is not set")
		return
	}
	body, ok := httpx.ReadBody(c, w.MaxBody)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	if err := w.Verifier.Verify(ctx, c.Request.Header, body); err != nil {
		switch {
		case errors.Is(err, ErrUnsigned):
			httpx.Error(c, http.StatusUnauthorized, "unsigned", "missing X-Hotline-Timestamp, X-Hotline-Nonce or X-Hotline-Signature")
		case errors.Is(err, ErrStale):
			httpx.Error(c, http.StatusUnauthorized, "stale_timestamp", "timestamp more than 300 s off")
		case errors.Is(err, ErrBadSignature):
			httpx.Error(c, http.StatusUnauthorized, "bad_signature", "signature does not match")
		case errors.Is(err, ErrReplay):
			httpx.Error(c, http.StatusUnauthorized, "replayed_nonce", "nonce already used")
		default:
			w.Log.Error("province nonce store", "request_id", httpx.ID(c), "err", err)
			httpx.Error(c, http.StatusServiceUnavailable, "nonce_store_unavailable", "could not check the nonce, please retry")
		}
		return
	}
	in, err := ParseCase(body, w.Loc)
	if err != nil {
		httpx.Error(c, http.StatusBadRequest, "invalid_case", err.Error())
		return
	}
	// A case we have: the same one is answered with its ticket, a changed one
	// is a conflict; nothing is stored either way.
	if w.answerKnown(c, in) {
		return
	}
	r, err := w.Intake.IngestEnvelope(ctx, in.Envelope(body))
	switch {
	case err == nil:
	case errors.Is(err, normalize.ErrInvalid):
		httpx.Error(c, http.StatusBadRequest, "invalid_case", err.Error())
		return
	default:
		w.Log.Error("province ingest", "request_id", httpx.ID(c), "case_id", in.CaseID, "err", err)
		httpx.Error(c, http.StatusServiceUnavailable, "store_unavailable", "case not stored, please retry")
		return
	}
	if r.Duplicate && w.answerKnown(c, in) { // a concurrent delivery won the race
		return
	}
	if !r.Duplicate {
		w.Log.Info("province case accepted", "request_id", httpx.ID(c), "case_id", in.CaseID, "ticket_no", r.TicketNo)
		if w.Notify != nil {
			w.Notify()
		}
	}
	c.JSON(http.StatusOK, gin.H{"ticket_no": r.TicketNo})
}

// answerKnown answers for a case already stored and reports whether it did.
func (w *Webhook) answerKnown(c *gin.Context, in Inbound) bool {
	no, hash, ok, err := w.Cases.ProvinceCase(c.Request.Context(), in.CaseID)
	switch {
	case err != nil:
		w.Log.Error("province case lookup", "request_id", httpx.ID(c), "case_id", in.CaseID, "err", err)
		httpx.Error(c, http.StatusServiceUnavailable, "store_unavailable", "case not stored, please retry")
		return true
	case !ok:
		return false
	case hash != in.Hash:
		httpx.Error(c, http.StatusConflict, "case_changed", "case "+in.CaseID+" was already received with different content (ticket "+no+")")
		return true
	}
	c.JSON(http.StatusOK, gin.H{"ticket_no": no})
	return true
}
