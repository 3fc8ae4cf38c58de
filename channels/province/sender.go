package province

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"hotline/ticket"
)

// KindCaseUp is the kind (Outgoing.Kind) of a ticket.ViaProvince item that
// sends a case up; for an event the kind is the event's name.
const KindCaseUp = "case_up"

// Meta keys of outbox items of the exchange.
const (
	MetaAt   = "at"
	MetaUnit = "unit"
	MetaBody = "body" // a sent-up case: the JSON to post
)

// Answers records what the province answered to a sent-up case.
type Answers interface {
	ProvinceAnswered(ctx context.Context, ticketNo, caseID string, status int, body string) error
}

// CaseOf finds the case_id of a ticket the province sent down (an error
// wrapping ticket.ErrNotFound when there is none).
type CaseOf interface {
	ProvinceCaseOf(ctx context.Context, ticketNo string) (string, error)
}

// Sender is the outbox sender of ticket.ViaProvince: it posts an event to
// {BaseURL}/cases/{case_id}/events, or a sent-up case to {BaseURL}/cases,
// signed, with the outbox item id as Idempotency-Key so that the province can
// recognise a redelivery. 2xx is done; a 4xx other than 408/425/429 is
// permanent (dead letter, shown on the ticket); anything else is retried.
//
// An item whose kind is neither an event nor KindCaseUp is an agent's reply on
// a province_mailbox ticket (ticket.Route sends those to the province): it is
// reported as "replied" with the reply's text.
type Sender struct {
	BaseURL string
	Secret  func() string
	Client  *http.Client
	Answers Answers
	Cases   CaseOf
	Now     func() time.Time
}

// Send delivers one item.
// MaxAttempts tells the outbox never to give up on a province event for lack
// of attempts: only a permanent refusal (4xx) dead-letters it, so a province
// that is down for hours receives every event, in order, when it is back.
func (s *Sender) MaxAttempts() int { return 0 }

func (s *Sender) Send(ctx context.Context, m ticket.Outgoing) error {
	if s.BaseURL == "" {
		return errors.New("province.base_url is not set")
	}
	secret := s.Secret()
	if secret == "" {
		return errors.New("province.secret is not set")
	}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	caseID := m.To
	if caseID == "" && s.Cases != nil {
		var err error
		if caseID, err = s.Cases.ProvinceCaseOf(ctx, m.TicketNo); err != nil {
			if errors.Is(err, ticket.ErrNotFound) {
				return ticket.Permanent(fmt.Errorf("ticket %s has no provincial case", m.TicketNo))
			}
			return err
		}
	}
	if caseID == "" {
		return ticket.Permanent(errors.New("no case_id"))
	}
	base := strings.TrimRight(s.BaseURL, "/")
	var target string
	var body []byte
	if m.Kind == KindCaseUp {
		target, body = base+"/cases", []byte(m.Meta[MetaBody])
		if !json.Valid(body) {
			return ticket.Permanent(errors.New("sent-up case is not JSON"))
		}
	} else {
		e := Event{Event: m.Kind, At: m.Meta[MetaAt], TicketNo: m.TicketNo, Unit: m.Meta[MetaUnit], Text: m.Text}
		if !ValidEvent(e.Event) {
			e.Event = EventReplied
		}
		if e.At == "" {
			e.At = now.Format(time.RFC3339)
		}
		target = base + "/cases/" + url.PathEscape(caseID) + "/events"
		body, _ = json.Marshal(e)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return ticket.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderIdempotency, strconv.FormatInt(m.ID, 10))
	SignRequest(req, secret, body, now)
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("province unreachable: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		if m.Kind == KindCaseUp && s.Answers != nil {
			if err := s.Answers.ProvinceAnswered(ctx, m.TicketNo, caseID, code, string(answer)); err != nil {
				// Retried: the province recognises the redelivery by its key.
				return fmt.Errorf("record the province's answer: %w", err)
			}
		}
		return nil
	case code == http.StatusRequestTimeout || code == http.StatusTooEarly || code == http.StatusTooManyRequests:
		return fmt.Errorf("province answered %d: %s", code, snippet(answer))
	case code >= 400 && code < 500:
		return ticket.Permanent(fmt.Errorf("province answered %d: %s", code, snippet(answer)))
	default:
		return fmt.Errorf("province answered %d: %s", code, snippet(answer))
	}
}

func snippet(b []byte) string {
	return clipRunes(strings.TrimSpace(string(bytes.ToValidUTF8(b, nil))), 200)
}
