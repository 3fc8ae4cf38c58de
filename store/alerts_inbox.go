package store

import (
	"context"
	"strings"
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

func init() {
	register(&gormigrate.Migration{
		ID: "2026112770_open_alerts",
		Migrate: func(tx *gorm.DB) error {
			// Every inbox page counts the open alerts: keep that off the
			// acknowledged history.
			return execAll(tx, `CREATE INDEX IF NOT EXISTS ix_alerts_open ON alerts (at) WHERE ack_at IS NULL`)
		},
	})
}

// AlertFilter selects the alerts one inbox user may see.
type AlertFilter struct {
	// UnitID limits to alerts of that unit's tickets (handling-unit users);
	// alerts without a ticket are then never shown.
	UnitID *int64
	All    bool // acknowledged alerts too (else open ones only)
	Limit  int
}

// InboxAlert is an alert as the inbox lists it: with its ticket's number,
// channel and unit.
type InboxAlert struct {
	ID       int64
	Kind     string
	Ref      string
	TicketNo string
	Channel  string
	UnitName string
	Message  string
	At       time.Time
	AckAt    *time.Time
	AckBy    string
}

// CountOpenAlerts counts the unacknowledged alerts (of unitID's tickets when
// set): one COUNT query, run by every inbox page for the nav.
func (s *Store) CountOpenAlerts(ctx context.Context, unitID *int64) (int64, error) {
	q := s.db.WithContext(ctx).Table("alerts a").Where("a.ack_at IS NULL")
	if unitID != nil {
		q = q.Joins("JOIN tickets t ON t.id = a.ticket_id").Where("t.unit_id = ?", *unitID)
	}
	var n int64
	err := q.Count(&n).Error
	return n, err
}

// InboxAlerts lists alerts newest first. Alerts raised without a ticket id
// (followup_late: the ref is "ticket no/due unix") get the number from the ref.
func (s *Store) InboxAlerts(ctx context.Context, f AlertFilter) ([]InboxAlert, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 200
	}
	q := s.db.WithContext(ctx).Table("alerts a").
		Select("a.id, a.kind, a.ref, COALESCE(t.no, '') AS ticket_no, COALESCE(t.channel, '') AS channel, " +
			"COALESCE(t.unit_name, '') AS unit_name, a.message, a.at, a.ack_at, COALESCE(a.ack_by, '') AS ack_by")
	if f.UnitID != nil {
		q = q.Joins("JOIN tickets t ON t.id = a.ticket_id").Where("t.unit_id = ?", *f.UnitID)
	} else {
		q = q.Joins("LEFT JOIN tickets t ON t.id = a.ticket_id")
	}
	if !f.All {
		q = q.Where("a.ack_at IS NULL")
	}
	var out []InboxAlert
	if err := q.Order("a.at DESC, a.id DESC").Limit(f.Limit).Scan(&out).Error; err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].TicketNo == "" && out[i].Kind == "followup_late" {
			out[i].TicketNo, _, _ = strings.Cut(out[i].Ref, "/")
		}
	}
	return out, nil
}
