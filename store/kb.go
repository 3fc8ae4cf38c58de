package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// KBRecord is a knowledge-base entry as stored (the kb package's Entry without
// the dependency; the cmd layer converts).
type KBRecord struct {
	ID         int64
	ExternalID string
	Question   string
	Keywords   []string
	Answer     string
	Unit       string
	ValidUntil *time.Time
}

// Column limits of kb_entries (see KBEntry).
const (
	kbMaxExternalID = 64
	kbMaxKeywords   = 500
	kbMaxUnit       = 100
)

// UpsertKB stores entries in one transaction: an entry with an ExternalID
// replaces the row with that external_id; one without replaces the row with
// the identical question (the lowest ID if several), keeping that row's
// external_id; anything else is inserted. created counts inserted rows,
// updated the matched rows whose content changed (identical rows are left
// alone). Later entries in the list see earlier ones, so a repeated key updates
// the row the first one created. Concurrent calls are serialized.
func (s *Store) UpsertKB(ctx context.Context, entries []KBRecord) (created, updated int, err error) {
	rows := make([]KBEntry, len(entries))
	for i, e := range entries {
		r, err := kbRow(e)
		if err != nil {
			return 0, 0, fmt.Errorf("kb entry %d: %w", i+1, err)
		}
		rows[i] = r
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		created, updated = 0, 0
		// Two imports at once must not both insert the same entry, so take the
		// write lock before reading. PostgreSQL: a table lock that blocks other
		// writers, not readers. SQLite: a write as the first statement takes
		// the database's write lock, waiting on the busy timeout; reading first
		// would pin a snapshot and fail with SQLITE_BUSY_SNAPSHOT on the first
		// write if another import committed meanwhile (the DSN's
		// _txlock=immediate is not applied by the driver when _time_format is
		// also set).
		lock := `LOCK TABLE kb_entries IN SHARE ROW EXCLUSIVE MODE`
		if s.driver != "postgres" {
			lock = `UPDATE kb_entries SET updated_at = updated_at WHERE id < 0`
		}
		if err := tx.Exec(lock).Error; err != nil {
			return err
		}
		var existing []KBEntry
		if err := tx.Order("id").Find(&existing).Error; err != nil {
			return err
		}
		byExt := map[string]*KBEntry{}
		byQuestion := map[string]*KBEntry{}
		index := func(r *KBEntry) {
			if r.ExternalID != "" {
				if _, ok := byExt[r.ExternalID]; !ok {
					byExt[r.ExternalID] = r
				}
			}
			if _, ok := byQuestion[r.Question]; !ok {
				byQuestion[r.Question] = r
			}
		}
		for i := range existing {
			index(&existing[i])
		}
		now := time.Now().UTC()
		for i := range rows {
			in := rows[i]
			var cur *KBEntry
			if in.ExternalID != "" {
				cur = byExt[in.ExternalID]
			} else {
				cur = byQuestion[in.Question]
			}
			if cur == nil {
				in.CreatedAt, in.UpdatedAt = now, now
				if err := tx.Create(&in).Error; err != nil {
					return err
				}
				created++
				r := in
				index(&r)
				continue
			}
			if sameKB(cur, &in) {
				continue
			}
			if cur.Question != in.Question && byQuestion[cur.Question] == cur {
				delete(byQuestion, cur.Question)
			}
			cur.Question, cur.Keywords, cur.Answer, cur.Unit, cur.ValidUntil = in.Question, in.Keywords, in.Answer, in.Unit, in.ValidUntil
			cur.UpdatedAt = now
			res := tx.Model(&KBEntry{}).Where("id = ?", cur.ID).Updates(map[string]any{
				"question":    cur.Question,
				"keywords":    cur.Keywords,
				"answer":      cur.Answer,
				"unit":        cur.Unit,
				"valid_until": cur.ValidUntil,
				"updated_at":  now,
			})
			if res.Error != nil {
				return res.Error
			}
			updated++
			index(cur)
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return created, updated, nil
}

// ListKB returns every stored entry, expired ones included, by ID.
func (s *Store) ListKB(ctx context.Context) ([]KBRecord, error) {
	var rows []KBEntry
	if err := s.db.WithContext(ctx).Order("id").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]KBRecord, len(rows))
	for i, r := range rows {
		out[i] = KBRecord{
			ID:         r.ID,
			ExternalID: r.ExternalID,
			Question:   r.Question,
			Keywords:   splitKeywords(r.Keywords),
			Answer:     r.Answer,
			Unit:       r.Unit,
			ValidUntil: r.ValidUntil,
		}
	}
	return out, nil
}

// kbRow validates and converts a record; keywords are stored comma-separated,
// so a comma inside a keyword splits it.
func kbRow(e KBRecord) (KBEntry, error) {
	r := KBEntry{
		ExternalID: strings.TrimSpace(e.ExternalID),
		Question:   strings.TrimSpace(e.Question),
		Answer:     strings.TrimSpace(e.Answer),
		Unit:       strings.TrimSpace(e.Unit),
		Keywords:   strings.Join(splitKeywords(strings.Join(e.Keywords, ",")), ","),
	}
	if e.ValidUntil != nil {
		// Second precision: what both databases keep exactly.
		t := e.ValidUntil.UTC().Truncate(time.Second)
		r.ValidUntil = &t
	}
	switch {
	case r.Question == "":
		return r, errors.New("question is empty")
	case r.Answer == "":
		return r, fmt.Errorf("%q: answer is empty", r.Question)
	case utf8.RuneCountInString(r.ExternalID) > kbMaxExternalID:
		return r, fmt.Errorf("%q: external_id longer than %d characters", r.Question, kbMaxExternalID)
	case utf8.RuneCountInString(r.Keywords) > kbMaxKeywords:
		return r, fmt.Errorf("%q: keywords longer than %d characters", r.Question, kbMaxKeywords)
	case utf8.RuneCountInString(r.Unit) > kbMaxUnit:
		return r, fmt.Errorf("%q: unit longer than %d characters", r.Question, kbMaxUnit)
	}
	return r, nil
}

func splitKeywords(s string) []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range strings.Split(s, ",") {
		if k = strings.TrimSpace(k); k != "" && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

func sameKB(a, b *KBEntry) bool {
	if a.Question != b.Question || a.Keywords != b.Keywords || a.Answer != b.Answer || a.Unit != b.Unit {
		return false
	}
	if (a.ValidUntil == nil) != (b.ValidUntil == nil) {
		return false
	}
	return a.ValidUntil == nil || a.ValidUntil.Equal(*b.ValidUntil)
}
