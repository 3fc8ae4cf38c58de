package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"hotline/normalize"
	"hotline/ticket"
)

// TicketFilter selects tickets for the inbox and the API. Empty fields do not
// filter. Pagination is by keyset (Before: the last row of the previous page)
// or, for the contract's ?page=, by offset.
type TicketFilter struct {
	Channel  string
	Status   string
	Category string
	Phone    string
	Query    string // ticket number, phone or a piece of the content
	UnitID   *int64
	Assignee *int64
	Limit    int
	Page     int // 1-based; ignored when Before is set
	Before   *Cursor
}

// Cursor is a position in the newest-first ticket order.
type Cursor struct {
	CreatedAt time.Time
	ID        int64
}

// Encode renders the cursor as an opaque URL-safe token.
func (c Cursor) Encode() string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d,%d", c.CreatedAt.UnixNano(), c.ID))
}

// ParseCursor reads a token made by Encode.
func ParseCursor(s string) (*Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	ns, id, ok := strings.Cut(string(b), ",")
	if !ok {
		return nil, errors.New("bad cursor")
	}
	n, err1 := strconv.ParseInt(ns, 10, 64)
	i, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil {
		return nil, errors.New("bad cursor")
	}
	return &Cursor{CreatedAt: time.Unix(0, n).UTC(), ID: i}, nil
}

// ListTickets returns a page of tickets, newest first, and the cursor of the
// next page (nil at the end): the inbox's query (ListInbox) without its extras.
func (s *Store) ListTickets(ctx context.Context, f TicketFilter) ([]ticket.Ticket, *Cursor, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	in := InboxFilter{Channel: f.Channel, Status: f.Status, Category: f.Category, Query: f.Query, Phone: f.Phone,
		UnitID: f.UnitID, Assignee: f.Assignee, Limit: f.Limit, Before: f.Before}
	if f.Page > 1 {
		in.Offset = (f.Page - 1) * f.Limit
	}
	items, next, err := s.ListInbox(ctx, in)
	if err != nil {
		return nil, nil, err
	}
	out := make([]ticket.Ticket, len(items))
	for i, it := range items {
		out[i] = it.Ticket
	}
	return out, next, nil
}

type ticketRow struct {
	Ticket
	CName    string
	CPhone   string
	CEmail   string
	COpenid  string
	CAddress string
}

func (r ticketRow) view() ticket.Ticket {
	v := viewOf(r.Ticket)
	v.Citizen = ticket.Citizen{Name: r.CName, Phone: r.CPhone, Email: r.CEmail, OpenID: r.COpenid, Address: r.CAddress}
	return v
}

func viewOf(t Ticket) ticket.Ticket {
	return ticket.Ticket{
		ID: t.ID, No: t.No, Channel: normalize.Channel(t.Channel), Status: ticket.Status(t.Status),
		Nature: ticket.Nature(t.Nature), Category: t.Category, Flags: append([]string{}, splitFlags(t.Flags)...), ContactID: t.ContactID,
		Confidential: t.Confidential, ReplyWanted: t.ReplyWanted, Title: t.Title, Content: t.Content,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, Unit: t.UnitName, UnitID: t.UnitID, DueAt: t.DueAt, CallID: t.CallID,
	}
}

// GetTicket returns a ticket with its messages (in the order the hotline
// received or wrote them) and its audit trail.
func (s *Store) GetTicket(ctx context.Context, no string) (ticket.Ticket, error) {
	db := s.db.WithContext(ctx)
	var t Ticket
	if err := db.Where("no = ?", no).Take(&t).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return ticket.Ticket{}, ticket.ErrNotFound
		}
		return ticket.Ticket{}, err
	}
	v := viewOf(t)
	var c Contact
	if err := db.Where("id = ?", t.ContactID).Limit(1).Find(&c).Error; err != nil {
		return v, err
	}
	v.Citizen = citizenOf(c)
	var msgs []Message
	// In the order we received or wrote them: a provider's clock (the inbound
	// `at`) may be off, and must not put an answer before its question.
	if err := db.Where("ticket_id = ?", t.ID).Order("created_at, id").Omit("raw").Find(&msgs).Error; err != nil {
		return v, err
	}
	v.Messages = make([]ticket.Message, len(msgs))
	for i, m := range msgs {
		v.Messages[i] = ticket.Message{ID: m.ID, Direction: m.Direction, Channel: normalize.Channel(m.Channel), Kind: m.Kind,
			Text: m.Text, At: m.At, Delivery: m.Delivery, Error: m.Error, Attempts: m.Attempts}
		if m.Attachments != "" {
			_ = json.Unmarshal([]byte(m.Attachments), &v.Messages[i].Attachments)
		}
	}
	var evs []TicketEvent
	if err := db.Where("ticket_id = ?", t.ID).Order("at, id").Find(&evs).Error; err != nil {
		return v, err
	}
	v.Events = make([]ticket.Event, len(evs))
	for i, e := range evs {
		v.Events[i] = ticket.Event{Type: e.Type, Actor: e.Actor, From: e.From, To: e.To, Note: e.Note, At: e.At}
	}
	return v, nil
}

// Reply queues an agent's reply through the ticket's channel.
func (s *Store) Reply(ctx context.Context, no, actor string, rep ticket.Reply) (ticket.Message, error) {
	return s.ReplyVia(ctx, no, actor, rep, "")
}

// ReplyVia queues an agent's reply on a chosen route (ticket.ViaSMS ...; "" is
// the ticket's own channel): e.g. SMS to the bound phone of a WeChat citizen
// whose customer-service window has closed. An unreachable route is ErrConflict.
func (s *Store) ReplyVia(ctx context.Context, no, actor string, rep ticket.Reply, via string) (ticket.Message, error) {
	var out ticket.Message
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var t Ticket
		if err := tx.Where("no = ?", no).Take(&t).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ticket.ErrNotFound
			}
			return err
		}
		if t.Status == string(ticket.StatusArchived) {
			return fmt.Errorf("%w: ticket %s is archived (read-only)", ticket.ErrConflict, no)
		}
		var c Contact
		if err := tx.Where("id = ?", t.ContactID).Limit(1).Find(&c).Error; err != nil {
			return err
		}
		if via != "" {
			if _, ok := ticket.RouteVia(via, citizenOf(c)); !ok {
				return fmt.Errorf("%w: the citizen has no address for %s", ticket.ErrConflict, via)
			}
		}
		now := time.Now().UTC()
		var b replyBatch
		b.addVia(&t, citizenOf(c), rep, actor, now, via)
		if err := b.write(tx, nil); err != nil {
			return err
		}
		if err := tx.Model(&t).Update("updated_at", now).Error; err != nil {
			return err
		}
		m := b.msgs[0]
		out = ticket.Message{ID: m.ID, Direction: "out", Channel: normalize.Channel(m.Channel), Kind: m.Kind, Text: m.Text, At: m.At, Delivery: m.Delivery, Error: m.Error}
		return nil
	})
	return out, err
}

func looksLikeTicketNo(s string) bool {
	if len(s) != 15 || s[8] != '-' {
		return false
	}
	for i, r := range s {
		if i != 8 && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

func escapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// CountInbound counts stored inbound messages of a channel whose dedup key is in
// keys, grouped by key: the load test's integrity check.
func (s *Store) CountInbound(ctx context.Context, ch normalize.Channel, keys []string) (map[string]int, error) {
	out := make(map[string]int, len(keys))
	for start := 0; start < len(keys); start += 500 {
		end := min(start+500, len(keys))
		var rows []struct {
			DedupKey string
			N        int
		}
		err := s.db.WithContext(ctx).Model(&Message{}).Select("dedup_key, count(*) AS n").
			Where("channel = ? AND dedup_key IN ?", string(ch), keys[start:end]).Group("dedup_key").Scan(&rows).Error
		if err != nil {
			return nil, fmt.Errorf("count inbound: %w", err)
		}
		for _, r := range rows {
			out[r.DedupKey] = r.N
		}
	}
	return out, nil
}
