package store

import (
	"context"
	"time"

	"gorm.io/gorm"

	"hotline/ticket"
)

const (
	outboxPending = "pending"
	outboxSent    = "sent"
	outboxDead    = "dead"
)

// OutboxJob is an item handed to the delivery worker.
type OutboxJob struct {
	ID        int64
	TicketID  int64
	MessageID *int64
	Kind      string
	Recipient string
	Payload   string
	Attempts  int // attempts made before this one
}

// ClaimOutbox leases up to n due items to this worker until now+lease. Items of
// one order key are delivered strictly in order: only the oldest pending item of
// a key is ever due. A crashed worker's lease simply expires.
func (s *Store) ClaimOutbox(ctx context.Context, n int, lease time.Duration) ([]OutboxJob, error) {
	now := time.Now().UTC()
	until := now.Add(lease)
	var jobs []OutboxJob
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := `SELECT o.id FROM outbox_items o
			WHERE o.status = ? AND o.next_attempt_at <= ? AND (o.locked_until IS NULL OR o.locked_until < ?)
			  AND NOT EXISTS (SELECT 1 FROM outbox_items p WHERE p.order_key = o.order_key AND p.status = ? AND p.id < o.id)
			ORDER BY o.id LIMIT ?`
		if s.driver == "postgres" {
			q += ` FOR UPDATE SKIP LOCKED`
		}
		var ids []int64
		if err := tx.Raw(q, outboxPending, now, now, outboxPending, n).Scan(&ids).Error; err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		if err := tx.Model(&OutboxItem{}).Where("id IN ?", ids).Update("locked_until", until).Error; err != nil {
			return err
		}
		return tx.Model(&OutboxItem{}).Where("id IN ?", ids).Order("id").
			Select("id", "ticket_id", "message_id", "kind", "recipient", "payload", "attempts").Scan(&jobs).Error
	})
	return jobs, err
}

// OutboxSent records a successful delivery.
func (s *Store) OutboxSent(ctx context.Context, j OutboxJob) error {
	now := time.Now().UTC()
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&OutboxItem{}).Where("id = ?", j.ID).Updates(map[string]any{
			"status": outboxSent, "attempts": j.Attempts + 1, "sent_at": now, "locked_until": nil, "last_error": "", "updated_at": now,
		}).Error; err != nil {
			return err
		}
		return s.setDelivery(tx, j, ticket.DeliverySent, "")
	})
}

// OutboxRetry records a failed attempt and when to try again.
func (s *Store) OutboxRetry(ctx context.Context, j OutboxJob, cause string, next time.Time) error {
	now := time.Now().UTC()
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&OutboxItem{}).Where("id = ?", j.ID).Updates(map[string]any{
			"attempts": j.Attempts + 1, "next_attempt_at": next.UTC(), "locked_until": nil, "last_error": clip(cause, 500), "updated_at": now,
		}).Error; err != nil {
			return err
		}
		return s.setDelivery(tx, j, ticket.DeliveryFailed, cause)
	})
}

// OutboxDead gives up on an item: a dead letter, shown on its ticket.
func (s *Store) OutboxDead(ctx context.Context, j OutboxJob, cause string) error {
	now := time.Now().UTC()
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&OutboxItem{}).Where("id = ?", j.ID).Updates(map[string]any{
			"status": outboxDead, "attempts": j.Attempts + 1, "locked_until": nil, "last_error": clip(cause, 500), "updated_at": now,
		}).Error; err != nil {
			return err
		}
		if err := s.setDelivery(tx, j, ticket.DeliveryDead, cause); err != nil {
			return err
		}
		return addEvent(tx, j.TicketID, "delivery_dead", "system", "", "", j.Kind+": "+clip(cause, 400))
	})
}

func (s *Store) setDelivery(tx *gorm.DB, j OutboxJob, state, cause string) error {
	if j.MessageID == nil {
		return nil
	}
	return tx.Model(&Message{}).Where("id = ?", *j.MessageID).Updates(map[string]any{
		"delivery": state, "error": clip(cause, 500), "attempts": j.Attempts + 1,
	}).Error
}

// OutboxDepth counts items not yet delivered (pending) and dead letters.
func (s *Store) OutboxDepth(ctx context.Context) (pending, dead int64, err error) {
	var rows []struct {
		Status string
		N      int64
	}
	err = s.db.WithContext(ctx).Model(&OutboxItem{}).Select("status, count(*) AS n").
		Where("status IN ?", []string{outboxPending, outboxDead}).Group("status").Scan(&rows).Error
	for _, r := range rows {
		if r.Status == outboxPending {
			pending = r.N
		} else {
			dead = r.N
		}
	}
	return pending, dead, err
}
