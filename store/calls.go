package store

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// CallEventInput is one event from the call centre.
type CallEventInput struct {
	CallID       string
	Event        string // offered | answered | abandoned | ended
	At           time.Time
	Caller       string
	AgentID      string
	RecordingURL string
}

// RecordCallEvent stores a call event once (call id + event) and keeps the per-call
// summary KPIs 1 and 2 read. duplicate is true when the event was already known.
func (s *Store) RecordCallEvent(ctx context.Context, e CallEventInput) (duplicate bool, err error) {
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row := CallEvent{CallID: e.CallID, Event: e.Event, At: e.At.UTC(), Caller: e.Caller, AgentID: e.AgentID,
			RecordingURL: e.RecordingURL, CreatedAt: time.Now().UTC()}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			duplicate = true
			return nil
		}
		c := Call{CallID: e.CallID, UpdatedAt: time.Now().UTC()}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&c).Error; err != nil {
			return err
		}
		if err := tx.Where("call_id = ?", e.CallID).Take(&c).Error; err != nil {
			return err
		}
		at := e.At.UTC()
		upd := map[string]any{"updated_at": time.Now().UTC()}
		if e.Caller != "" && c.Caller == "" {
			upd["caller"] = e.Caller
		}
		if e.AgentID != "" {
			upd["agent_id"] = e.AgentID
		}
		if e.RecordingURL != "" {
			upd["recording"] = e.RecordingURL
		}
		switch e.Event {
		case "offered":
			upd["offered_at"] = at
			if c.AnsweredAt != nil {
				upd["wait_seconds"] = c.AnsweredAt.Sub(at).Seconds()
			}
		case "answered":
			upd["answered_at"] = at
			if c.OfferedAt != nil {
				upd["wait_seconds"] = at.Sub(*c.OfferedAt).Seconds()
			}
		case "abandoned":
			upd["abandoned_at"] = at
		case "ended":
			upd["ended_at"] = at
		}
		return tx.Model(&Call{}).Where("call_id = ?", e.CallID).Updates(upd).Error
	})
	return duplicate, err
}

// CallSummary is the per-call record KPIs 1 and 2 read.
type CallSummary struct {
	CallID      string
	OfferedAt   *time.Time
	AnsweredAt  *time.Time
	AbandonedAt *time.Time
	WaitSeconds *float64
}

// GetCall returns one call's summary.
func (s *Store) GetCall(ctx context.Context, callID string) (CallSummary, error) {
	var c Call
	err := s.db.WithContext(ctx).Where("call_id = ?", callID).Take(&c).Error
	return CallSummary{CallID: c.CallID, OfferedAt: c.OfferedAt, AnsweredAt: c.AnsweredAt, AbandonedAt: c.AbandonedAt, WaitSeconds: c.WaitSeconds}, err
}
