package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"
)

// numberAllocator hands out ticket numbers "YYYYMMDD-NNNNNN" in the city's time
// zone. Numbers come from a per-day counter row shared by all instances.
// PostgreSQL: each instance reserves a block at a time in its own short
// transaction, so busy intake does not queue on that one row (unused numbers of a
// block are skipped). SQLite has a single writer anyway: the counter moves by one
// inside the caller's transaction, so a rollback gives the number back.
type numberAllocator struct {
	s     *Store
	db    *gorm.DB // PostgreSQL: a pool of its own, see Open
	block int64

	mu   sync.Mutex
	day  string
	next int64 // next number to hand out
	end  int64 // last number of the reserved block
}

func newNumberAllocator(s *Store, db *gorm.DB, block int) *numberAllocator {
	if block < 1 {
		block = 1
	}
	return &numberAllocator{s: s, db: db, block: int64(block)}
}

func (a *numberAllocator) Next(ctx context.Context, tx *gorm.DB, now time.Time) (string, error) {
	day := now.In(a.s.loc).Format("20060102")
	if a.s.driver == "sqlite" {
		last, err := reserve(tx, day, 1)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s-%06d", day, last), nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if day != a.day || a.next > a.end {
		var last int64
		err := a.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			var err error
			last, err = reserve(tx, day, a.block)
			return err
		})
		if err != nil {
			return "", err
		}
		a.day, a.next, a.end = day, last-a.block+1, last
	}
	n := a.next
	a.next++
	return fmt.Sprintf("%s-%06d", day, n), nil
}

// reserve adds n to the day's counter and returns its new last value.
func reserve(tx *gorm.DB, day string, n int64) (int64, error) {
	var last int64
	err := tx.Raw(`INSERT INTO ticket_counters (day, last) VALUES (?, ?)
		ON CONFLICT (day) DO UPDATE SET last = ticket_counters.last + excluded.last
		RETURNING last`, day, n).Scan(&last).Error
	if err != nil {
		return 0, fmt.Errorf("reserve ticket numbers: %w", err)
	}
	return last, nil
}
