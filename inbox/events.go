package inbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"hotline/live"
	"hotline/ticket"
)

// Heartbeat is how often an idle stream sends a comment (keeps proxies from
// closing it) and re-checks the session.
var Heartbeat = 20 * time.Second

// events streams "ticket changed" notifications as Server-Sent Events. A unit
// user only hears of their unit's tickets. The stream ends when the session
// ends or the hub closes (shutdown); EventSource then reconnects.
func (h *Handler) events(c *gin.Context) {
	if h.Hub == nil {
		h.errorPage(c, http.StatusServiceUnavailable, "实时更新不可用", "实时更新未启用。")
		return
	}
	u, _ := currentUser(c)
	tok := c.GetString(tokenKey)
	w := c.Writer
	rc := http.NewResponseController(w)
	// The server's write timeout is for ordinary responses; a stream is exempt
	// and bounds each write itself instead.
	if err := rc.SetWriteDeadline(time.Time{}); err != nil {
		h.Log.Warn("inbox events: cannot lift the write deadline", "err", err)
	}
	sub := h.Hub.Subscribe()
	defer sub.Close()

	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	send := func(s string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(15 * time.Second))
		if _, err := w.WriteString(s); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send("retry: 3000\n: hello\n\n") {
		return
	}
	hb := time.NewTicker(Heartbeat)
	defer hb.Stop()
	ctx := c.Request.Context()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hb.C:
			if _, err := h.Store.UserByToken(ctx, tok); err != nil {
				if errors.Is(err, ticket.ErrNotFound) {
					send("event: signed_out\ndata: {}\n\n")
					return
				}
			}
			if !send(": ping\n\n") {
				return
			}
		case ev, ok := <-sub.C:
			if !ok {
				return
			}
			if sub.Lost() {
				ev = live.Event{Kind: live.KindResync, At: ev.At}
			}
			if !centre(u) && ev.Kind != live.KindResync && (u.UnitID == nil || ev.UnitID == nil || *ev.UnitID != *u.UnitID) {
				continue
			}
			b, _ := json.Marshal(struct {
				Kind     string `json:"kind"`
				TicketNo string `json:"ticket_no,omitempty"`
			}{ev.Kind, ev.TicketNo})
			if !send(fmt.Sprintf("event: change\ndata: %s\n\n", b)) {
				return
			}
		}
	}
}
