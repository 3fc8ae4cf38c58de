package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"hotline/ticket"
)

// Unit is a handling unit (承办单位) in the tree county/district → street →
// community, city department → sub-unit, and the public-service companies.
type Unit struct {
	ID        int64  `gorm:"primaryKey"`
	Code      string `gorm:"size:32;uniqueIndex"`
	Name      string `gorm:"size:100;index"`
	ParentID  *int64 `gorm:"index"`
	Kind      string `gorm:"size:16"` // district | street | community | department | subunit | company
	Phone     string `gorm:"size:40"`
	Active    bool   `gorm:"not null;default:true"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (Unit) TableName() string { return "units" }

// UnitRow is one line of a units file.
type UnitRow struct {
	Code       string
	Name       string
	ParentCode string
	Kind       string
	Phone      string
}

// UnitView is a unit as the API shows it.
type UnitView struct {
	ID       int64  `json:"id"`
	Code     string `json:"code"`
	Name     string `json:"name"`
	ParentID *int64 `json:"parent_id"`
	Kind     string `json:"kind"`
	Phone    string `json:"phone,omitempty"`
	Active   bool   `json:"active"`
}

func unitView(u Unit) UnitView {
	return UnitView{ID: u.ID, Code: u.Code, Name: u.Name, ParentID: u.ParentID, Kind: u.Kind, Phone: u.Phone, Active: u.Active}
}

// ImportUnits inserts or updates units by code in one transaction; a parent
// must be in the file or already stored. Units missing from the file are kept.
func (s *Store) ImportUnits(ctx context.Context, rows []UnitRow) (created, updated int, err error) {
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		created, updated = 0, 0
		ids := map[string]int64{}
		var have []Unit
		if err := tx.Find(&have).Error; err != nil {
			return err
		}
		byCode := map[string]Unit{}
		for _, u := range have {
			byCode[u.Code] = u
			ids[u.Code] = u.ID
		}
		now := time.Now().UTC()
		for _, r := range rows {
			if u, ok := byCode[r.Code]; ok {
				if u.Name != r.Name || u.Kind != r.Kind || u.Phone != r.Phone || !u.Active {
					if err := tx.Model(&Unit{}).Where("id = ?", u.ID).Updates(map[string]any{
						"name": r.Name, "kind": r.Kind, "phone": r.Phone, "active": true, "updated_at": now}).Error; err != nil {
						return err
					}
					updated++
				}
				continue
			}
			u := Unit{Code: r.Code, Name: clip(r.Name, 100), Kind: r.Kind, Phone: r.Phone, Active: true, CreatedAt: now, UpdatedAt: now}
			if err := tx.Create(&u).Error; err != nil {
				return fmt.Errorf("unit %s: %w", r.Code, err)
			}
			ids[r.Code] = u.ID
			created++
		}
		for _, r := range rows {
			var parent *int64
			if r.ParentCode != "" {
				id, ok := ids[r.ParentCode]
				if !ok {
					return fmt.Errorf("unit %s: unknown parent %s", r.Code, r.ParentCode)
				}
				parent = &id
			}
			old := byCode[r.Code].ParentID
			if _, existed := byCode[r.Code]; existed && eqID(old, parent) {
				continue
			}
			if err := tx.Model(&Unit{}).Where("code = ?", r.Code).Update("parent_id", parent).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return created, updated, err
}

func eqID(a, b *int64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// CountUnits tells whether the built-in units must be imported.
func (s *Store) CountUnits(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&Unit{}).Count(&n).Error
	return n, err
}

// ListUnits returns every unit, ordered by code (so a parent precedes its
// children within a tree branch).
func (s *Store) ListUnits(ctx context.Context) ([]UnitView, error) {
	var us []Unit
	if err := s.db.WithContext(ctx).Order("code").Find(&us).Error; err != nil {
		return nil, err
	}
	out := make([]UnitView, len(us))
	for i, u := range us {
		out[i] = unitView(u)
	}
	return out, nil
}

// GetUnit returns a unit by id.
func (s *Store) GetUnit(ctx context.Context, id int64) (UnitView, error) {
	var u Unit
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return UnitView{}, ticket.ErrNotFound
	}
	return unitView(u), err
}

// FindUnit resolves a reference a user typed: an id, a code or an exact name.
func (s *Store) FindUnit(ctx context.Context, ref string) (UnitView, error) {
	ref = strings.TrimSpace(ref)
	db := s.db.WithContext(ctx)
	var u Unit
	q := db.Where("code = ? OR name = ?", ref, ref)
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		q = db.Where("id = ? OR code = ? OR name = ?", id, ref, ref)
	}
	err := q.Order("id").Limit(1).Find(&u).Error
	if err == nil && u.ID == 0 {
		return UnitView{}, ticket.ErrNotFound
	}
	return unitView(u), err
}

// UnitSubtree returns the ids of unit id and all units below it.
func (s *Store) UnitSubtree(ctx context.Context, id int64) ([]int64, error) {
	var us []Unit
	if err := s.db.WithContext(ctx).Select("id", "parent_id").Find(&us).Error; err != nil {
		return nil, err
	}
	kids := map[int64][]int64{}
	for _, u := range us {
		if u.ParentID != nil {
			kids[*u.ParentID] = append(kids[*u.ParentID], u.ID)
		}
	}
	out := []int64{id}
	for i := 0; i < len(out); i++ {
		out = append(out, kids[out[i]]...)
	}
	return out, nil
}

// UnitReturnCount is how often a unit sent 承办单 back (回退) in a month.
type UnitReturnCount struct {
	UnitID   int64  `json:"unit_id"`
	UnitName string `json:"unit_name"`
	Returns  int64  `json:"returns"`
}

// UnitReturns counts the returns per unit between from and to (the month the
// transfer desk files its 回退 records by), most returns first.
func (s *Store) UnitReturns(ctx context.Context, from, to time.Time) ([]UnitReturnCount, error) {
	var out []UnitReturnCount
	err := s.db.WithContext(ctx).Model(&WorkOrder{}).
		Select("unit_id, unit_name, count(*) AS returns").
		Where("status = ? AND returned_at >= ? AND returned_at < ?", OrderReturned, from.UTC(), to.UTC()).
		Group("unit_id, unit_name").Order("returns DESC, unit_id").Scan(&out).Error
	return out, err
}
