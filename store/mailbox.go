package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"hotline/ticket"
)

// mailCheckpoint is how far the IMAP receiver got in a mailbox: the highest UID
// whose letter is committed, valid for one UIDVALIDITY.
type mailCheckpoint struct {
	Mailbox     string `gorm:"primaryKey;size:200"`
	UIDValidity int64  `gorm:"not null"`
	LastUID     int64  `gorm:"not null"`
	UpdatedAt   time.Time
}

func (mailCheckpoint) TableName() string { return "mail_checkpoints" }

// mailThread remembers the letter that opened a ticket, so replies by e-mail
// carry In-Reply-To and References and keep the subject.
type mailThread struct {
	TicketID   int64  `gorm:"primaryKey;autoIncrement:false"`
	MessageID  string `gorm:"size:300"`
	References string `gorm:"type:text"`
	Subject    string `gorm:"size:300"`
	CreatedAt  time.Time
}

func (mailThread) TableName() string { return "mail_threads" }

// leaseRow gives one holder a named job (following a mailbox) until ExpiresAt.
type leaseRow struct {
	Name      string `gorm:"primaryKey;size:100"`
	Holder    string `gorm:"size:100;not null"`
	ExpiresAt time.Time
}

func (leaseRow) TableName() string { return "leases" }

// mailMessage ties the Message-ID of a letter we received, or of a mail we
// sent, to its ticket, so that a citizen's answer by e-mail (In-Reply-To,
// References) finds the ticket again. Address is the citizen's side of it
// (the sender of a letter, the recipient of our mail), lower-case: only an
// answer from that address is taken as one.
type mailMessage struct {
	MessageID string `gorm:"primaryKey;size:300"` // mailIDKey
	TicketID  int64  `gorm:"not null"`
	Direction string `gorm:"size:3;not null"` // in | out
	Address   string `gorm:"size:200;not null"`
	CreatedAt time.Time
}

func (mailMessage) TableName() string { return "mail_messages" }

func init() {
	register(&gormigrate.Migration{
		ID: "2026112721_mailbox",
		Migrate: func(tx *gorm.DB) error {
			return tx.AutoMigrate(&mailCheckpoint{}, &mailThread{}, &leaseRow{})
		},
	}, &gormigrate.Migration{
		ID: "2026112761_mail_messages",
		Migrate: func(tx *gorm.DB) error {
			if err := tx.AutoMigrate(&mailMessage{}); err != nil {
				return err
			}
			// The letters that opened tickets so far are known by their thread.
			return tx.Exec(`INSERT INTO mail_messages (message_id, ticket_id, direction, address, created_at)
				SELECT m.message_id, m.ticket_id, 'in', LOWER(c.email), m.created_at
				FROM mail_threads m JOIN tickets t ON t.id = m.ticket_id JOIN contacts c ON c.id = t.contact_id
				WHERE m.message_id <> '' AND c.email <> ''
				ON CONFLICT (message_id) DO NOTHING`).Error
		},
	})
}

// ReplyReceipt is the kind of the acknowledgment a letter gets.
const ReplyReceipt = "receipt"

// MailCheckpoint returns the stored UIDVALIDITY and last committed UID of a
// mailbox (zeros when it was never read).
func (s *Store) MailCheckpoint(ctx context.Context, mailbox string) (uidValidity, lastUID uint32, err error) {
	var c mailCheckpoint
	err = s.db.WithContext(ctx).Where("mailbox = ?", mailbox).Limit(1).Find(&c).Error
	return uint32(c.UIDValidity), uint32(c.LastUID), err
}

// SaveMailCheckpoint records that every letter up to lastUID of the mailbox at
// uidValidity is committed.
func (s *Store) SaveMailCheckpoint(ctx context.Context, mailbox string, uidValidity, lastUID uint32) error {
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "mailbox"}},
		DoUpdates: clause.AssignmentColumns([]string{"uid_validity", "last_uid", "updated_at"}),
	}).Create(&mailCheckpoint{Mailbox: mailbox, UIDValidity: int64(uidValidity), LastUID: int64(lastUID), UpdatedAt: time.Now().UTC()}).Error
}

// MailThreadInfo is the letter a ticket started from.
type MailThreadInfo struct {
	MessageID  string // without angle brackets
	References string // space-separated, with angle brackets, as in the header
	Subject    string
	From       string // the sender's address
}

// SaveMailThread remembers the first letter of a ticket (later calls for the
// same ticket leave the thread as it is) and the Message-ID of every letter
// with its sender, for MailReplyTicket.
func (s *Store) SaveMailThread(ctx context.Context, ticketID int64, t MailThreadInfo) error {
	db := s.db.WithContext(ctx)
	now := time.Now().UTC()
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&mailThread{
		TicketID: ticketID, MessageID: clip(t.MessageID, 300), References: t.References,
		Subject: clip(t.Subject, 300), CreatedAt: now,
	}).Error; err != nil {
		return err
	}
	return recordMailMessage(db, ticketID, t.MessageID, "in", t.From, now)
}

// RecordMailSent remembers that a mail with Message-ID messageID about ticket
// no went to address to (the SMTP sender calls it before sending), so that
// the citizen's answer to it joins the ticket. ticket.ErrNotFound when there is
// no such ticket.
func (s *Store) RecordMailSent(ctx context.Context, no, messageID, to string) error {
	db := s.db.WithContext(ctx)
	var t Ticket
	if err := db.Select("id").Where("no = ?", no).Take(&t).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return ticket.ErrNotFound
		}
		return err
	}
	return recordMailMessage(db, t.ID, messageID, "out", to, time.Now().UTC())
}

func recordMailMessage(db *gorm.DB, ticketID int64, messageID, direction, address string, now time.Time) error {
	address = strings.ToLower(strings.TrimSpace(address))
	if messageID == "" || address == "" {
		return nil
	}
	return db.Clauses(clause.OnConflict{DoNothing: true}).Create(&mailMessage{
		MessageID: mailIDKey(messageID), TicketID: ticketID, Direction: direction,
		Address: clip(address, 200), CreatedAt: now,
	}).Error
}

// mailIDKey is a Message-ID as stored in mail_messages: itself, or its hash
// when it is too long for the column.
func mailIDKey(id string) string {
	if len(id) <= 300 {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// MailReplyTarget is the ticket an e-mail answers.
type MailReplyTarget struct {
	TicketID int64
	TicketNo string
	Status   ticket.Status
	// EndedAt is when the ticket was closed, for a closed, archived or
	// discarded ticket; nil while it is open.
	EndedAt *time.Time
}

// maxReplyRefs bounds the Message-IDs looked up for one letter (References
// of a long exchange can name dozens).
const maxReplyRefs = 50

// MailReplyTicket finds the ticket a letter from address from answers: the
// first of ids (Message-IDs without angle brackets, In-Reply-To before
// References, nearest first) that names one of our mails to from or an
// earlier letter of from. ok is false when none does. The address must match
// so that a guessed Message-ID cannot put a letter on someone else's ticket.
func (s *Store) MailReplyTicket(ctx context.Context, ids []string, from string) (t MailReplyTarget, ok bool, err error) {
	from = strings.ToLower(strings.TrimSpace(from))
	if from == "" || len(ids) == 0 {
		return MailReplyTarget{}, false, nil
	}
	keys := make([]string, 0, min(len(ids), maxReplyRefs))
	for _, id := range ids {
		if id != "" && len(keys) < maxReplyRefs {
			keys = append(keys, mailIDKey(id))
		}
	}
	if len(keys) == 0 {
		return MailReplyTarget{}, false, nil
	}
	var rows []struct {
		MessageID string
		ID        int64
		No        string
		Status    string
		ClosedAt  *time.Time
		UpdatedAt time.Time
	}
	err = s.db.WithContext(ctx).Table("mail_messages mm").
		Select("mm.message_id, t.id, t.no, t.status, t.closed_at, t.updated_at").
		Joins("JOIN tickets t ON t.id = mm.ticket_id").
		Where("mm.message_id IN ? AND mm.address = ?", keys, clip(from, 200)).Scan(&rows).Error
	if err != nil || len(rows) == 0 {
		return MailReplyTarget{}, false, err
	}
	for _, k := range keys {
		for _, r := range rows {
			if r.MessageID != k {
				continue
			}
			t = MailReplyTarget{TicketID: r.ID, TicketNo: r.No, Status: ticket.Status(r.Status)}
			switch t.Status {
			case ticket.StatusClosed, ticket.StatusArchived, ticket.StatusDiscarded:
				end := r.UpdatedAt
				if r.ClosedAt != nil {
					end = *r.ClosedAt
				}
				end = end.UTC()
				t.EndedAt = &end
			}
			return t, true, nil
		}
	}
	return MailReplyTarget{}, false, nil
}

// EventMailFollowUp is the audit event of a ticket opened by a letter that
// answers an ended ticket; its note names the old ticket.
const EventMailFollowUp = "mail_follow_up"

// NoteMailFollowUp records on ticket ticketID that its letter answers the
// ticket oldNo, which had ended too long ago to take it. Recording it again
// changes nothing.
func (s *Store) NoteMailFollowUp(ctx context.Context, ticketID int64, oldNo string) error {
	note := "来信回复已办结的工单 " + oldNo + "，已另立新工单"
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&TicketEvent{}).Where("ticket_id = ? AND type = ? AND note = ?", ticketID, EventMailFollowUp, note).
			Count(&n).Error; err != nil || n > 0 {
			return err
		}
		var t Ticket
		if err := tx.Select("id", "status").Where("id = ?", ticketID).Take(&t).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ticket.ErrNotFound
			}
			return err
		}
		return addEvent(tx, t.ID, EventMailFollowUp, "system", t.Status, t.Status, note)
	})
}

// MailThread returns the letter ticket no started from; ok is false when the
// ticket did not come by e-mail.
func (s *Store) MailThread(ctx context.Context, no string) (t MailThreadInfo, ok bool, err error) {
	var row mailThread
	err = s.db.WithContext(ctx).Table("mail_threads m").Select("m.*").
		Joins("JOIN tickets t ON t.id = m.ticket_id").Where("t.no = ?", no).Limit(1).Scan(&row).Error
	if err != nil || row.TicketID == 0 {
		return MailThreadInfo{}, false, err
	}
	return MailThreadInfo{MessageID: row.MessageID, References: row.References, Subject: row.Subject}, true, nil
}

// QueueMailReceipt queues the acknowledgment of a letter (kind "receipt") to
// address to, once per ticket: queued is false when the ticket already has
// one. The text may hold the placeholder {query_code}, which the e-mail sender
// fills with a code it issues when it sends (so the code is never stored).
func (s *Store) QueueMailReceipt(ctx context.Context, ticketID int64, to, text string) (queued bool, err error) {
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var t Ticket
		if err := tx.Where("id = ?", ticketID).Take(&t).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ticket.ErrNotFound
			}
			return err
		}
		var n int64
		if err := tx.Model(&Message{}).Where("ticket_id = ? AND direction = ? AND kind = ?", ticketID, "out", ReplyReceipt).
			Count(&n).Error; err != nil || n > 0 {
			return err
		}
		now := time.Now().UTC()
		m := Message{TicketID: t.ID, Channel: t.Channel, Direction: "out", Kind: ReplyReceipt, Text: text,
			Delivery: ticket.DeliveryQueued, Actor: "system", At: now, CreatedAt: now}
		if err := tx.Create(&m).Error; err != nil {
			return err
		}
		payload, _ := json.Marshal(map[string]string{"text": text, "ticket_no": t.No, "kind": ReplyReceipt})
		item := OutboxItem{TicketID: t.ID, MessageID: &m.ID, Kind: ticket.ViaEmail, OrderKey: ticket.ViaEmail + ":" + t.No,
			Recipient: clip(to, 200), Payload: string(payload), Status: outboxPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&item).Error; err != nil {
			return err
		}
		queued = true
		return addEvent(tx, t.ID, "reply_queued", "system", "", "", ReplyReceipt)
	})
	return queued, err
}

// AcquireLease makes holder the holder of lease name until now+ttl if the lease
// is free, expired, or already held by holder (renewal). ok tells whether
// holder holds it now.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (ok bool, err error) {
	now := time.Now().UTC()
	res := s.db.WithContext(ctx).Exec(`INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.expires_at < ? OR leases.holder = ?`, name, holder, now.Add(ttl), now, holder)
	return res.RowsAffected == 1, res.Error
}

// ReleaseLease gives lease name up if holder holds it.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	return s.db.WithContext(ctx).Where("name = ? AND holder = ?", name, holder).Delete(&leaseRow{}).Error
}
