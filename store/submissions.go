package store

import (
	"context"
	"crypto/subtle"
	"errors"
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"hotline/ticket"
)

// queryCode is the hash of the query code a citizen got for a ticket (website
// form, mayor's mailbox): the code itself is shown once and never stored.
type queryCode struct {
	TicketID  int64  `gorm:"primaryKey;autoIncrement:false"`
	Hash      string `gorm:"size:64;not null"`
	CreatedAt time.Time
}

func (queryCode) TableName() string { return "query_codes" }

func init() {
	register(&gormigrate.Migration{
		ID: "2026112720_submissions",
		Migrate: func(tx *gorm.DB) error {
			return tx.AutoMigrate(&queryCode{})
		},
	})
}

// SaveQueryCode stores hash as the ticket's query code unless the ticket has
// one already; saved tells which. A channel calls it right after the ticket is
// committed and shows the code only when saved: a repeated delivery of the same
// submission then either completes a code that was never stored or learns that
// it was shown before, so a ticket never ends up with two valid codes.
func (s *Store) SaveQueryCode(ctx context.Context, ticketID int64, hash string) (saved bool, err error) {
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).
		Create(&queryCode{TicketID: ticketID, Hash: hash, CreatedAt: time.Now().UTC()})
	return res.RowsAffected == 1, res.Error
}

// ReplaceQueryCode sets the query code of ticket no, replacing an earlier one
// (an acknowledgment e-mail issues its code when it is sent, so the code of the
// last attempt is the valid one). ticket.ErrNotFound if there is no such ticket.
func (s *Store) ReplaceQueryCode(ctx context.Context, no, hash string) error {
	db := s.db.WithContext(ctx)
	var id int64
	if err := db.Model(&Ticket{}).Where("no = ?", no).Limit(1).Pluck("id", &id).Error; err != nil {
		return err
	}
	if id == 0 {
		return ticket.ErrNotFound
	}
	return db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "ticket_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"hash", "created_at"}),
	}).Create(&queryCode{TicketID: id, Hash: hash, CreatedAt: time.Now().UTC()}).Error
}

// PublicStatus is what a citizen with the query code may see of a ticket:
// no contact data, no internal notes.
type PublicStatus struct {
	TicketNo  string
	Channel   string
	Status    string
	Title     string
	Unit      string
	CreatedAt time.Time
	UpdatedAt time.Time
	ClosedAt  *time.Time
	// Result is the latest answer sent to the citizen (standard reply
	// "answered" or an agent's reply), empty while there is none.
	Result   string
	ResultAt *time.Time
}

// PublicStatus returns the public view of ticket no if hash is its query code's
// hash. An unknown ticket, a ticket without a code and a wrong code all return
// ticket.ErrNotFound, so callers cannot tell them apart.
func (s *Store) PublicStatus(ctx context.Context, no, hash string) (PublicStatus, error) {
	db := s.db.WithContext(ctx)
	var row struct {
		Ticket
		CodeHash string
	}
	err := db.Table("tickets t").Select("t.*, q.hash AS code_hash").
		Joins("JOIN query_codes q ON q.ticket_id = t.id").
		Where("t.no = ?", no).Limit(1).Scan(&row).Error
	if err != nil {
		return PublicStatus{}, err
	}
	if row.ID == 0 || len(hash) != len(row.CodeHash) || subtle.ConstantTimeCompare([]byte(hash), []byte(row.CodeHash)) != 1 {
		return PublicStatus{}, ticket.ErrNotFound
	}
	out := PublicStatus{TicketNo: row.No, Channel: row.Channel, Status: row.Status, Title: row.Title, Unit: row.UnitName,
		CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt, ClosedAt: row.ClosedAt}
	var m Message
	err = db.Where("ticket_id = ? AND direction = ? AND kind IN ?", row.ID, "out", []string{ticket.ReplyAnswered, ticket.ReplyAgent}).
		Order("at DESC, id DESC").Omit("raw").Take(&m).Error
	switch {
	case err == nil:
		at := m.At
		out.Result, out.ResultAt = m.Text, &at
	case !errors.Is(err, gorm.ErrRecordNotFound):
		return PublicStatus{}, err
	}
	return out, nil
}
