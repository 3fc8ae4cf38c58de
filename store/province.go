package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"hotline/normalize"
	"hotline/ticket"
)

// The provincial exchange (see channels/province): the cases exchanged with
// the province, the nonces of signed requests, and the outbox items that
// report a case's events back, send a case up and fetch a case's attachments.
//
// Every outbox item of one ticket's exchange shares the order key
// "province:" + ticket_no, the key the agents' replies on a province_mailbox
// ticket get from queueReply (ticket.Route sends them to the province), so the
// province sees events and replies in the order they were committed. A ticket
// and its case are one to one, so this is the case's order too.

// ProvinceFetchKind is the outbox kind of an attachment to fetch.
const ProvinceFetchKind = "province_fetch"

// Directions of a provincial case.
const (
	provinceIn  = "in"  // sent down by the province
	provinceOut = "out" // sent up by an agent
)

// provinceCase is one case exchanged with the province.
type provinceCase struct {
	ID        int64  `gorm:"primaryKey"`
	Direction string `gorm:"size:3;not null;uniqueIndex:ux_province_cases"`
	CaseID    string `gorm:"size:64;not null;uniqueIndex:ux_province_cases"`
	TicketID  int64  `gorm:"index"`
	// Hash of the canonical payload: a known case_id with another hash is a
	// changed case (409).
	Hash   string `gorm:"size:64"`
	Source string `gorm:"size:100"`
	// DueAt is the province's deadline for the case.
	DueAt     *time.Time
	CreatedAt time.Time
}

func (provinceCase) TableName() string { return "province_cases" }

// provinceNonce is a nonce of a signed inbound request, remembered until
// ExpiresAt (when there is no Redis).
type provinceNonce struct {
	Nonce     string    `gorm:"primaryKey;size:128"`
	ExpiresAt time.Time `gorm:"index"`
}

func (provinceNonce) TableName() string { return "province_nonces" }

func init() {
	register(&gormigrate.Migration{
		ID: "2026112740_province",
		Migrate: func(tx *gorm.DB) error {
			return tx.AutoMigrate(&provinceCase{}, &provinceNonce{})
		},
	})
	afterCreate[normalize.ProvinceMailbox] = provinceCreated
	provinceEventHook = queueProvinceEvent // the pipeline's transitions (store/pipeline.go)
}

// ProvinceCase returns the ticket and payload hash of an inbound case.
func (s *Store) ProvinceCase(ctx context.Context, caseID string) (ticketNo, hash string, ok bool, err error) {
	var row struct {
		No   string
		Hash string
	}
	err = s.db.WithContext(ctx).Raw(`SELECT t.no, c.hash FROM province_cases c JOIN tickets t ON t.id = c.ticket_id
		WHERE c.direction = ? AND c.case_id = ?`, provinceIn, caseID).Scan(&row).Error
	if err != nil || row.No == "" {
		return "", "", false, err
	}
	return row.No, row.Hash, true, nil
}

// provinceCreated runs in the transaction that creates a province_mailbox
// ticket (see afterCreate in ingest.go): it records the case and its hash,
// lets the province's deadline override a later local one, queues the
// "accepted" event (and "closed" when intake closed the case at once), and
// queues the fetch of every attachment.
func provinceCreated(tx *gorm.DB, t *Ticket, env normalize.Envelope) error {
	caseID := env.Meta["case_id"]
	if caseID == "" {
		return nil // entered by an agent, not sent down
	}
	now := time.Now().UTC()
	pc := provinceCase{Direction: provinceIn, CaseID: caseID, TicketID: t.ID, Hash: env.Meta["case_hash"],
		Source: clip(env.Meta["source"], 100), CreatedAt: now}
	if s := env.Meta["due_at"]; s != "" {
		due, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return fmt.Errorf("province due_at %q: %w", s, err)
		}
		due = due.UTC()
		pc.DueAt = &due
		if t.DueAt == nil || due.Before(*t.DueAt) {
			if err := tx.Model(t).Update("due_at", due).Error; err != nil {
				return err
			}
			t.DueAt = &due
			if err := addEvent(tx, t.ID, "due_set", "system", "", "", "省级办理期限 "+due.Format(time.RFC3339)); err != nil {
				return err
			}
		}
	}
	if err := tx.Create(&pc).Error; err != nil {
		return err
	}
	if err := queueProvinceEvent(tx, t, "accepted", "", "已受理，工单号 "+t.No); err != nil {
		return err
	}
	if t.Status == string(ticket.StatusClosed) {
		var note string
		if err := tx.Model(&TicketEvent{}).Where("ticket_id = ? AND type = ?", t.ID, "created").
			Order("id").Limit(1).Pluck("note", &note).Error; err != nil {
			return err
		}
		if err := queueProvinceEvent(tx, t, "closed", "", note); err != nil {
			return err
		}
	}
	for i, a := range env.Attachments {
		if a.URL == "" {
			continue
		}
		idx := strconv.Itoa(i)
		payload, _ := json.Marshal(map[string]any{"ticket_no": t.No, "kind": "attachment",
			"meta": map[string]string{"url": a.URL, "index": idx, "name": a.Name, "case_id": caseID}})
		item := OutboxItem{TicketID: t.ID, Kind: ProvinceFetchKind, OrderKey: ProvinceFetchKind + ":" + t.No + ":" + idx,
			Recipient: clip(a.URL, 200), Payload: string(payload), Status: outboxPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&item).Error; err != nil {
			return err
		}
	}
	return nil
}

// queueProvinceEvent queues event (accepted, transferred, extension_requested,
// extended, replied, returned, closed) of ticket t for the province, inside
// the caller's transaction tx, so that the event is delivered if and only if
// the ticket change commits. Tickets that were not sent down by the province
// have nothing to report: it does nothing for them.
func queueProvinceEvent(tx *gorm.DB, t *Ticket, event, unit, text string) error {
	if t.Channel != string(normalize.ProvinceMailbox) || t.ExternalRef == "" {
		return nil
	}
	now := time.Now().UTC()
	at := now.Format(time.RFC3339)
	caseID := t.ExternalRef
	// kind/text/ticket_no/meta are what the outbox worker hands to the sender;
	// the contract's names are kept alongside for people reading the table.
	payload, _ := json.Marshal(map[string]any{
		"event": event, "at": at, "ticket_no": t.No, "unit": unit, "text": text, "case_id": caseID,
		"kind": event, "meta": map[string]string{"at": at, "unit": unit, "case_id": caseID},
	})
	item := OutboxItem{TicketID: t.ID, Kind: ticket.ViaProvince, OrderKey: ticket.ViaProvince + ":" + t.No, Recipient: caseID,
		Payload: string(payload), Status: outboxPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}
	if err := tx.Create(&item).Error; err != nil {
		return err
	}
	return addEvent(tx, t.ID, "province_event_queued", "system", "", "", event)
}

// QueueProvinceEvent queues an event of ticket no for the province in a
// transaction of its own (for callers outside the store; the pipeline calls
// queueProvinceEvent inside its own transaction). ErrNotFound for an unknown
// ticket, ErrConflict for a ticket the province did not send down.
func (s *Store) QueueProvinceEvent(ctx context.Context, no, event, unit, text string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		t, err := provinceTicket(tx, no)
		if err != nil {
			return err
		}
		if t.Channel != string(normalize.ProvinceMailbox) || t.ExternalRef == "" {
			return fmt.Errorf("%w: ticket %s was not sent down by the province", ticket.ErrConflict, no)
		}
		return queueProvinceEvent(tx, &t, event, unit, text)
	})
}

func provinceTicket(tx *gorm.DB, no string) (Ticket, error) {
	var t Ticket
	if err := tx.Where("no = ?", no).Take(&t).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return t, ticket.ErrNotFound
		}
		return t, err
	}
	return t, nil
}

// ProvinceCaseOf returns the case_id of a ticket sent down by the province
// (ErrNotFound when it was not).
func (s *Store) ProvinceCaseOf(ctx context.Context, no string) (string, error) {
	var ref string
	err := s.db.WithContext(ctx).Model(&Ticket{}).Where("no = ? AND channel = ?", no, string(normalize.ProvinceMailbox)).
		Limit(1).Pluck("external_ref", &ref).Error
	if err == nil && ref == "" {
		err = ticket.ErrNotFound
	}
	return ref, err
}

// ClaimProvinceNonce remembers nonce until now+ttl and reports whether it was
// new. A nonce whose time ran out may be used again (its request's timestamp
// is then outside the window anyway). Expired nonces are purged now and then.
func (s *Store) ClaimProvinceNonce(ctx context.Context, nonce string, ttl time.Duration) (fresh bool, err error) {
	now := time.Now().UTC()
	if last := provinceNoncePurgedAt.Load(); now.UnixNano()-last > int64(provinceNoncePurgeEvery) && provinceNoncePurgedAt.CompareAndSwap(last, now.UnixNano()) {
		s.PurgeProvinceNonces(ctx) // best effort: expired rows only cost space
	}
	res := s.db.WithContext(ctx).Exec(`INSERT INTO province_nonces (nonce, expires_at) VALUES (?, ?)
		ON CONFLICT (nonce) DO UPDATE SET expires_at = excluded.expires_at WHERE province_nonces.expires_at < ?`,
		nonce, now.Add(ttl), now)
	return res.RowsAffected == 1, res.Error
}

const provinceNoncePurgeEvery = time.Minute

var provinceNoncePurgedAt atomic.Int64

// PurgeProvinceNonces deletes the nonces whose time ran out.
func (s *Store) PurgeProvinceNonces(ctx context.Context) (int64, error) {
	res := s.db.WithContext(ctx).Where("expires_at < ?", time.Now().UTC()).Delete(&provinceNonce{})
	return res.RowsAffected, res.Error
}

// ProvinceAttachmentFetched records attachment index of ticket no's case as
// stored at a.Path: on the inbound message, and as an event. recorded is false
// when it was already recorded (a redelivered fetch).
func (s *Store) ProvinceAttachmentFetched(ctx context.Context, no string, index int, a normalize.Attachment) (recorded bool, err error) {
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		t, err := provinceTicket(tx, no)
		if err != nil {
			return err
		}
		q := tx.Where("ticket_id = ? AND direction = ? AND channel = ?", t.ID, "in", string(normalize.ProvinceMailbox)).Order("id").Limit(1)
		if s.driver == "postgres" {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"}) // fetches of one case finish concurrently
		}
		var m Message
		if err := q.Omit("raw").Take(&m).Error; err != nil {
			return fmt.Errorf("case message of %s: %w", no, err)
		}
		var atts []normalize.Attachment
		if err := json.Unmarshal([]byte(m.Attachments), &atts); err != nil || index < 0 || index >= len(atts) {
			return fmt.Errorf("%w: ticket %s has no attachment %d", ticket.ErrNotFound, no, index)
		}
		if atts[index].Path != "" {
			return nil
		}
		atts[index].Path, atts[index].Size, atts[index].ContentType = a.Path, a.Size, a.ContentType
		b, _ := json.Marshal(atts)
		if err := tx.Model(&Message{}).Where("id = ?", m.ID).Update("attachments", string(b)).Error; err != nil {
			return err
		}
		recorded = true
		return addEvent(tx, t.ID, "attachment_fetched", "system", "", "",
			fmt.Sprintf("附件 %d “%s”（%d 字节）已保存", index+1, atts[index].Name, a.Size))
	})
	return recorded, err
}

// ProvinceAnswered records the province's answer to a case sent up.
func (s *Store) ProvinceAnswered(ctx context.Context, no, caseID string, status int, body string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		t, err := provinceTicket(tx, no)
		if err != nil {
			return err
		}
		return addEvent(tx, t.ID, "province_answered", "province", "", "",
			fmt.Sprintf("case %s: HTTP %d %s", caseID, status, clip(body, 4000)))
	})
}

// ProvinceCaseUp is a case an agent sends up to the province.
type ProvinceCaseUp struct {
	CaseID string
	Body   []byte // the case JSON, in the inbound case's shape
	Note   string // the agent's reason
}

// SendUpToProvince queues ticket no's case for the province (signed POST
// {province.base_url}/cases through the outbox) and records it on the ticket.
// ErrNotFound for an unknown ticket; ErrConflict when the ticket came from the
// province or was already sent up.
func (s *Store) SendUpToProvince(ctx context.Context, no, actor string, up ProvinceCaseUp) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		t, err := provinceTicket(tx, no)
		if err != nil {
			return err
		}
		if t.Channel == string(normalize.ProvinceMailbox) {
			return fmt.Errorf("%w: ticket %s came from the province", ticket.ErrConflict, no)
		}
		var n int64
		if err := tx.Model(&provinceCase{}).Where("ticket_id = ? AND direction = ?", t.ID, provinceOut).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: ticket %s was already sent up", ticket.ErrConflict, no)
		}
		now := time.Now().UTC()
		sum := sha256.Sum256(up.Body)
		pc := provinceCase{Direction: provinceOut, CaseID: up.CaseID, TicketID: t.ID, Hash: hex.EncodeToString(sum[:]), CreatedAt: now}
		if err := tx.Create(&pc).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return fmt.Errorf("%w: case %s was already sent up", ticket.ErrConflict, up.CaseID)
			}
			return err
		}
		payload, _ := json.Marshal(map[string]any{"ticket_no": t.No, "kind": "case_up", "text": up.Note,
			"meta": map[string]string{"body": string(up.Body), "case_id": up.CaseID}})
		item := OutboxItem{TicketID: t.ID, Kind: ticket.ViaProvince, OrderKey: ticket.ViaProvince + ":" + t.No, Recipient: up.CaseID,
			Payload: string(payload), Status: outboxPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&item).Error; err != nil {
			return err
		}
		if err := tx.Model(&t).Update("updated_at", now).Error; err != nil {
			return err
		}
		return addEvent(tx, t.ID, "province_sent_up", actor, "", "", clip(up.Note, 1000))
	})
}
