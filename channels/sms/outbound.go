package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"hotline/normalize"
	"hotline/ticket"
)

// LogSender records outbound SMS in the log only (development, dry runs).
type LogSender struct{ Log *slog.Logger }

// Send logs the message with the number masked.
func (s LogSender) Send(_ context.Context, m ticket.Outgoing) error {
	s.Log.Info("sms out (log provider)", "outbox_id", m.ID, "to", normalize.MaskPhone(m.To), "ticket_no", m.TicketNo, "kind", m.Kind, "chars", len([]rune(m.Text)))
	return nil
}

// HTTPSender POSTs {"id","to","text"} to a gateway; 2xx means accepted. The id
// is the outbox item id, stable across retries, so the gateway can drop repeats.
type HTTPSender struct {
	URL    string
	Client *http.Client
}

// Send delivers one SMS. 4xx other than 408/429 is permanent.
func (s HTTPSender) Send(ctx context.Context, m ticket.Outgoing) error {
	body, _ := json.Marshal(map[string]string{"id": strconv.FormatInt(m.ID, 10), "to": m.To, "text": m.Text})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return ticket.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Idempotency-Key", "hotline-sms-"+strconv.FormatInt(m.ID, 10))
	resp, err := s.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != 408 && resp.StatusCode != 429:
		return ticket.Permanent(fmt.Errorf("gateway answered %d: %s", resp.StatusCode, snippet))
	default:
		return fmt.Errorf("gateway answered %d: %s", resp.StatusCode, snippet)
	}
}
