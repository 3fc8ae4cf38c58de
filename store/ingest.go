package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"hotline/normalize"
	"hotline/ticket"
)

// afterCreate holds per-channel work done in the transaction that creates a
// ticket (set from feature files' init, e.g. province.go).
var afterCreate = map[normalize.Channel]func(tx *gorm.DB, t *Ticket, env normalize.Envelope) error{}

// IngestOptions tune one Ingest call.
type IngestOptions struct {
	// Thread: join the contact's open intake ticket of the same channel opened
	// within ThreadWindow instead of opening a new one.
	Thread       bool
	ThreadWindow time.Duration
	// RawMax cuts the stored raw payload (0: keep all).
	RawMax int
	Actor  string
	// JoinTicket adds the message to this ticket whatever its status, leaving
	// its content as it is (an SMS survey answer such as "1").
	JoinTicket string
	// PassiveReplies: the channel answers decide's replies in its own response
	// (WeChat's passive reply), so they are recorded as sent outbound messages,
	// linked to this inbound message, and nothing is queued in the outbox.
	PassiveReplies bool
}

// Ingest stores an inbound message exactly once: it matches the contact, joins
// or opens a ticket, applies decide's classification and status, and queues
// decide's replies in the outbox, all in one transaction. A message whose
// channel+dedup key is already stored changes nothing and returns Duplicate.
func (s *Store) Ingest(ctx context.Context, env normalize.Envelope, o IngestOptions, decide ticket.Decide) (ticket.Receipt, error) {
	if r, ok, err := s.findInbound(ctx, env.Channel, env.DedupKey); err != nil || ok {
		return r, err
	}
	var r ticket.Receipt
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		r, err = s.ingestTx(ctx, tx, env, o, decide)
		return err
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		// Another delivery of the same message won the race: report its ticket.
		if r, ok, ferr := s.findInbound(ctx, env.Channel, env.DedupKey); ferr == nil && ok {
			return r, nil
		}
	}
	if err != nil {
		return ticket.Receipt{}, fmt.Errorf("ingest %s %s: %w", env.Channel, env.DedupKey, err)
	}
	return r, nil
}

func (s *Store) findInbound(ctx context.Context, ch normalize.Channel, key string) (ticket.Receipt, bool, error) {
	var row struct {
		ID       int64
		TicketID int64
		No       string
	}
	err := s.db.WithContext(ctx).Raw(`SELECT m.id, m.ticket_id, t.no FROM messages m JOIN tickets t ON t.id = m.ticket_id
		WHERE m.channel = ? AND m.dedup_key = ?`, string(ch), key).Scan(&row).Error
	if err != nil || row.ID == 0 {
		return ticket.Receipt{}, false, err
	}
	return ticket.Receipt{TicketNo: row.No, TicketID: row.TicketID, MessageID: row.ID, Duplicate: true}, true, nil
}

func (s *Store) ingestTx(ctx context.Context, tx *gorm.DB, env normalize.Envelope, o IngestOptions, decide ticket.Decide) (ticket.Receipt, error) {
	now := time.Now().UTC()
	actor := o.Actor
	if actor == "" {
		actor = "system"
	}
	contact, isNew, err := upsertContact(tx, env.Sender)
	if err != nil {
		return ticket.Receipt{}, err
	}
	var joined *Ticket
	if o.JoinTicket != "" {
		var t Ticket
		if err := tx.Where("no = ?", o.JoinTicket).Take(&t).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ticket.Receipt{}, ticket.ErrNotFound
			}
			return ticket.Receipt{}, err
		}
		joined = &t
	} else if o.Thread && !isNew { // a new contact has no ticket to join
		var t Ticket
		err := tx.Where("contact_id = ? AND status = ? AND channel = ? AND created_at >= ?",
			contact.ID, string(ticket.StatusIntake), string(env.Channel), now.Add(-o.ThreadWindow)).
			Order("created_at DESC").Limit(1).Find(&t).Error
		if err != nil {
			return ticket.Receipt{}, err
		}
		if t.ID != 0 {
			joined = &t
		}
	}
	var thread *ticket.Thread
	if joined != nil {
		thread = &ticket.Thread{ID: joined.ID, No: joined.No, Status: ticket.Status(joined.Status), Content: joined.Content,
			Classification: ticket.Classification{Nature: ticket.Nature(joined.Nature), Category: joined.Category, Flags: splitFlags(joined.Flags)}}
	}
	d := decide(thread)

	t := joined
	from := ""
	var batch replyBatch // written at the end, one statement per table
	if t == nil {
		no, err := s.numbers.Next(ctx, tx, now) // the day it was registered, not the provider's clock
		if err != nil {
			return ticket.Receipt{}, err
		}
		t = &Ticket{
			No: no, Channel: string(env.Channel), Status: string(ticket.StatusIntake), ContactID: contact.ID,
			Confidential: env.Confidential, ReplyWanted: env.ReplyWanted, Title: clip(env.Title, 300),
			Content: env.Text, CallID: env.Meta["call_id"], ExternalRef: env.Meta["case_id"],
			CreatedAt: now, UpdatedAt: now,
		}
		applyDecision(t, d)
		if err := tx.Create(t).Error; err != nil {
			return ticket.Receipt{}, err
		}
		if h := afterCreate[env.Channel]; h != nil {
			// The hook may read the audit trail: write the event before it.
			if err := addEvent(tx, t.ID, "created", actor, "", t.Status, d.Note); err != nil {
				return ticket.Receipt{}, err
			}
			if err := h(tx, t, env); err != nil {
				return ticket.Receipt{}, err
			}
		} else {
			batch.event(t.ID, "created", actor, "", t.Status, d.Note, now)
		}
	} else {
		from = t.Status
		if o.JoinTicket == "" {
			t.Content = strings.TrimSpace(t.Content + "\n" + env.Text)
		}
		applyDecision(t, d)
		t.UpdatedAt = now
		if err := tx.Model(t).Select("content", "nature", "category", "flags", "status", "updated_at").Updates(t).Error; err != nil {
			return ticket.Receipt{}, err
		}
		batch.event(t.ID, "message_joined", actor, from, t.Status, d.Note, now)
	}

	key := env.DedupKey
	atts, _ := json.Marshal(env.Attachments)
	m := Message{
		TicketID: t.ID, Channel: string(env.Channel), Direction: "in", DedupKey: &key, Text: env.Text,
		Attachments: string(atts), Raw: clipBytes(env.Raw, o.RawMax), Delivery: ticket.DeliveryReceived,
		Actor: actor, At: env.ReceivedAt.UTC(), CreatedAt: now,
	}
	if len(env.Attachments) == 0 {
		m.Attachments = ""
	}
	citizen := citizenOf(contact)
	var passive []ticket.Reply
	for _, rep := range d.Replies {
		if o.PassiveReplies {
			passive = append(passive, rep) // recorded below, linked to the inbound message
			continue
		}
		batch.add(t, citizen, rep, "system", now)
	}
	if err := batch.write(tx, &m); err != nil {
		return ticket.Receipt{}, err
	}
	for _, rep := range passive {
		if err := recordPassiveReply(tx, t, rep, m.ID, now); err != nil {
			return ticket.Receipt{}, err
		}
	}
	return ticket.Receipt{TicketNo: t.No, TicketID: t.ID, MessageID: m.ID, Joined: joined != nil}, nil
}

func applyDecision(t *Ticket, d ticket.Decision) {
	if d.Classification.Nature != "" {
		t.Nature = string(d.Classification.Nature)
	}
	if d.Classification.Category != "" {
		t.Category = d.Classification.Category
	}
	t.Flags = strings.Join(d.Classification.Flags, ",")
	if d.Status != "" {
		t.Status = string(d.Status)
		if d.Status == ticket.StatusClosed || d.Status == ticket.StatusDiscarded {
			now := time.Now().UTC()
			t.ClosedAt = &now
		}
	}
}

// upsertContact finds the contact by phone, else openid, else e-mail, creating
// it if needed (isNew), and fills in what it did not know yet.
func upsertContact(tx *gorm.DB, s normalize.Sender) (c Contact, isNew bool, err error) {
	var col, val string
	switch {
	case s.Phone != "":
		col, val = "phone", s.Phone
	case s.OpenID != "":
		col, val = "openid", s.OpenID
	case s.Email != "":
		col, val = "email", s.Email
	default:
		// Anonymous (e.g. a web letter without phone): a contact of its own.
		c = Contact{Name: clip(s.Name, 100), Address: clip(s.Address, 300)}
		return c, true, tx.Create(&c).Error
	}
	if col == "email" {
		// E-mail has no unique index (people share addresses): take the newest.
		if err := tx.Where("email = ?", val).Order("id DESC").Limit(1).Find(&c).Error; err != nil {
			return c, false, err
		}
		if c.ID == 0 {
			c = Contact{Name: clip(s.Name, 100), Email: clip(s.Email, 200), Address: clip(s.Address, 300)}
			return c, true, tx.Create(&c).Error
		}
	} else {
		c = Contact{Name: clip(s.Name, 100), Phone: s.Phone, OpenID: s.OpenID, Email: clip(s.Email, 200), Address: clip(s.Address, 300)}
		// One round trip: insert, or touch the existing row, and read it back.
		err := tx.Clauses(clause.OnConflict{
			Columns:     []clause.Column{{Name: col}},
			TargetWhere: clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: col + " <> ''"}}},
			DoUpdates:   clause.Assignments(map[string]any{"updated_at": time.Now().UTC()}),
		}, clause.Returning{}).Create(&c).Error
		if err != nil {
			return c, false, err
		}
		// Insert stamps both times alike; the conflict update moves only updated_at.
		isNew = c.CreatedAt.Equal(c.UpdatedAt)
	}
	// Learn what the contact did not have yet; never overwrite what we knew.
	upd := map[string]any{}
	if c.Name == "" && s.Name != "" {
		upd["name"] = clip(s.Name, 100)
	}
	if c.Address == "" && s.Address != "" {
		upd["address"] = clip(s.Address, 300)
	}
	if c.Email == "" && s.Email != "" {
		upd["email"] = clip(s.Email, 200)
	}
	if len(upd) > 0 {
		if err := tx.Model(&c).Updates(upd).Error; err != nil {
			return c, isNew, err
		}
	}
	return c, isNew, nil
}

func addEvent(tx *gorm.DB, ticketID int64, typ, actor, from, to, note string) error {
	return tx.Create(&TicketEvent{TicketID: ticketID, Type: typ, Actor: actor, From: from, To: to, Note: note, At: time.Now().UTC()}).Error
}

// queueReply writes an outbound message and its outbox item.
func queueReply(tx *gorm.DB, t *Ticket, c ticket.Citizen, rep ticket.Reply, actor string, now time.Time) (Message, error) {
	var b replyBatch
	b.add(t, c, rep, actor, now)
	if err := b.write(tx, nil); err != nil {
		return Message{}, err
	}
	return b.msgs[0], nil
}

// replyBatch gathers outbound messages, their outbox items and audit events so
// that a transaction writes each kind with one statement.
type replyBatch struct {
	msgs   []Message
	routes []route // parallel to msgs; via "" when the citizen is unreachable
	events []TicketEvent
}

type route struct{ via, to, ticketNo, kind, text string }

func (b *replyBatch) add(t *Ticket, c ticket.Citizen, rep ticket.Reply, actor string, now time.Time) {
	b.addVia(t, c, rep, actor, now, "")
}

// addVia is add on a chosen route ("" = the ticket's own, see ticket.Route).
func (b *replyBatch) addVia(t *Ticket, c ticket.Citizen, rep ticket.Reply, actor string, now time.Time, via string) {
	m := Message{TicketID: t.ID, Channel: t.Channel, Direction: "out", Kind: rep.Kind, Text: rep.Text,
		Delivery: ticket.DeliveryQueued, Actor: actor, At: now, CreatedAt: now}
	var to string
	var ok bool
	if via == "" {
		via, to, ok = ticket.Route(normalize.Channel(t.Channel), c)
	} else {
		to, ok = ticket.RouteVia(via, c)
		m.Channel = viaChannel(via, t.Channel)
	}
	if !ok {
		m.Delivery, m.Error = ticket.DeliveryDead, "citizen has no reachable address"
		b.event(t.ID, "reply_undeliverable", actor, "", "", m.Error, now)
		via = ""
	} else {
		b.event(t.ID, "reply_queued", actor, "", "", rep.Kind, now)
	}
	b.msgs = append(b.msgs, m)
	b.routes = append(b.routes, route{via: via, to: to, ticketNo: t.No, kind: rep.Kind, text: rep.Text})
}

func (b *replyBatch) event(ticketID int64, typ, actor, from, to, note string, at time.Time) {
	b.events = append(b.events, TicketEvent{TicketID: ticketID, Type: typ, Actor: actor, From: from, To: to, Note: note, At: at})
}

// write inserts the messages (after first, e.g. the inbound message, when not
// nil), then the outbox items that point at them, then the events.
func (b *replyBatch) write(tx *gorm.DB, first *Message) error {
	msgs := b.msgs
	if first != nil {
		msgs = append([]Message{*first}, b.msgs...)
	}
	if len(msgs) > 0 {
		if err := tx.Create(&msgs).Error; err != nil {
			return err
		}
	}
	if first != nil {
		*first, msgs = msgs[0], msgs[1:]
	}
	b.msgs = msgs
	var items []OutboxItem
	for i, r := range b.routes {
		if r.via == "" {
			continue
		}
		payload, _ := json.Marshal(map[string]string{"text": r.text, "ticket_no": r.ticketNo, "kind": r.kind})
		now := msgs[i].CreatedAt
		items = append(items, OutboxItem{TicketID: msgs[i].TicketID, MessageID: &msgs[i].ID, Kind: r.via,
			OrderKey: r.via + ":" + r.ticketNo, Recipient: r.to, Payload: string(payload), Status: outboxPending,
			NextAttemptAt: now, CreatedAt: now, UpdatedAt: now})
	}
	if len(items) > 0 {
		if err := tx.Create(&items).Error; err != nil {
			return err
		}
	}
	if len(b.events) > 0 {
		return tx.Create(&b.events).Error
	}
	return nil
}

// viaChannel is the channel an explicitly routed message is shown under.
func viaChannel(via, fallback string) string {
	switch via {
	case ticket.ViaSMS:
		return string(normalize.SMS)
	case ticket.ViaWeChat:
		return string(normalize.WeChat)
	case ticket.ViaEmail:
		return string(normalize.MayorMailbox)
	}
	return fallback
}

func citizenOf(c Contact) ticket.Citizen {
	return ticket.Citizen{Name: c.Name, Phone: c.Phone, Address: c.Address, Email: c.Email, OpenID: c.OpenID}
}

func splitFlags(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// cut on a rune boundary
	for n > 0 && n < len(s) && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}

func clipBytes(b []byte, n int) []byte {
	if n <= 0 || len(b) <= n {
		return b
	}
	return b[:n]
}
