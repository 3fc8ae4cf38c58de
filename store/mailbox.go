package store

import (
	"context"
	"encoding/json"
	"errors"
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

func init() {
	register(&gormigrate.Migration{
		ID: "2026112721_mailbox",
		Migrate: func(tx *gorm.DB) error {
			return tx.AutoMigrate(&mailCheckpoint{}, &mailThread{}, &leaseRow{})
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
}

// SaveMailThread remembers the first letter of a ticket; later calls for the
// same ticket change nothing.
func (s *Store) SaveMailThread(ctx context.Context, ticketID int64, t MailThreadInfo) error {
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&mailThread{
		TicketID: ticketID, MessageID: clip(t.MessageID, 300), References: t.References,
		Subject: clip(t.Subject, 300), CreatedAt: time.Now().UTC(),
	}).Error
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
