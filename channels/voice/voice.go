// Package voice receives the call centre's call events (offered, answered,
// abandoned, ended), which feed KPIs 1 and 2. Tickets from calls are created by
// agents through the API.
package voice

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"hotline/httpx"
	"hotline/normalize"
)

// Event is one call event of the contract.
type Event struct {
	CallID       string    `json:"call_id"`
	Event        string    `json:"event"`
	At           time.Time `json:"at"`
	Caller       string    `json:"caller"`
	AgentID      string    `json:"agent_id"`
	RecordingURL string    `json:"recording_url"`
}

// Recorder stores a call event once; duplicate reports a redelivery.
type Recorder interface {
	RecordCall(ctx context.Context, e Event) (duplicate bool, err error)
}

var events = map[string]bool{"offered": true, "answered": true, "abandoned": true, "ended": true}

// Parse reads and checks one event. "at" is RFC 3339 or Unix seconds.
func Parse(body []byte) (Event, error) {
	var raw struct {
		CallID       string          `json:"call_id"`
		Event        string          `json:"event"`
		At           json.RawMessage `json:"at"`
		Caller       string          `json:"caller"`
		AgentID      string          `json:"agent_id"`
		RecordingURL string          `json:"recording_url"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&raw); err != nil {
		return Event{}, fmt.Errorf("%w: %v", normalize.ErrInvalid, err)
	}
	e := Event{CallID: strings.TrimSpace(raw.CallID), Event: raw.Event, AgentID: raw.AgentID, RecordingURL: raw.RecordingURL}
	if e.CallID == "" || len(e.CallID) > 64 {
		return Event{}, fmt.Errorf("%w: call_id missing or too long", normalize.ErrInvalid)
	}
	if !events[e.Event] {
		return Event{}, fmt.Errorf("%w: event must be offered, answered, abandoned or ended", normalize.ErrInvalid)
	}
	at, err := parseAt(raw.At)
	if err != nil {
		return Event{}, fmt.Errorf("%w: at: %v", normalize.ErrInvalid, err)
	}
	e.At = at
	if raw.Caller != "" {
		p, ok := normalize.Phone(raw.Caller)
		if !ok {
			return Event{}, fmt.Errorf("%w: invalid caller number", normalize.ErrInvalid)
		}
		e.Caller = p
	}
	if len(e.AgentID) > 64 || len(e.RecordingURL) > 500 {
		return Event{}, fmt.Errorf("%w: agent_id or recording_url too long", normalize.ErrInvalid)
	}
	return e, nil
}

func parseAt(raw json.RawMessage) (time.Time, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return time.Time{}, fmt.Errorf("missing")
	}
	if s[0] == '"' {
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			return time.Time{}, err
		}
		return time.Parse(time.RFC3339, str)
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return time.Time{}, err
	}
	secs, err := n.Int64()
	if err != nil || secs <= 0 {
		return time.Time{}, fmt.Errorf("must be RFC 3339 or Unix seconds")
	}
	return time.Unix(secs, 0), nil
}

// Webhook serves POST /channels/voice/events.
type Webhook struct {
	Recorder Recorder
	Token    func() string
	MaxBody  int64
	Log      *slog.Logger
}

// Routes registers the webhook.
func (w *Webhook) Routes(r gin.IRouter) { r.POST("/channels/voice/events", w.event) }

func (w *Webhook) event(c *gin.Context) {
	if !httpx.TokenOK(c.Query("token"), w.Token()) {
		httpx.Error(c, http.StatusUnauthorized, "bad_token", "missing or wrong webhook token")
		return
	}
	body, ok := httpx.ReadBody(c, w.MaxBody)
	if !ok {
		return
	}
	e, err := Parse(body)
	if err != nil {
		httpx.Error(c, http.StatusBadRequest, "malformed", err.Error())
		return
	}
	dup, err := w.Recorder.RecordCall(c.Request.Context(), e)
	if err != nil {
		w.Log.Error("voice event", "request_id", httpx.ID(c), "err", err)
		httpx.Error(c, http.StatusServiceUnavailable, "store_unavailable", "event not stored, please retry")
		return
	}
	c.JSON(http.StatusOK, gin.H{"ok": true, "duplicate": dup})
}
