package store_test

import (
	"context"
	"testing"

	"hotline/store"
	"hotline/store/storetest"
)

func TestImportUnits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		rows := []store.UnitRow{
			{Code: "C1", Name: "社区一", ParentCode: "S1", Kind: "community"}, // child before its parent
			{Code: "D1", Name: "德城区", Kind: "district"},
			{Code: "S1", Name: "新湖街道", ParentCode: "D1", Kind: "street"},
		}
		c, u, err := s.ImportUnits(ctx, rows)
		if err != nil || c != 3 || u != 0 {
			t.Fatalf("first import: %d %d %v", c, u, err)
		}
		rows[2].Name = "新湖街道办事处"
		c, u, err = s.ImportUnits(ctx, rows)
		if err != nil || c != 0 || u != 1 {
			t.Fatalf("second import: %d %d %v", c, u, err)
		}
		d, _ := s.FindUnit(ctx, "D1")
		sub, err := s.UnitSubtree(ctx, d.ID)
		if err != nil || len(sub) != 3 {
			t.Fatalf("subtree %v %v", sub, err)
		}
		st, err := s.FindUnit(ctx, "新湖街道办事处")
		if err != nil || st.ParentID == nil || *st.ParentID != d.ID {
			t.Fatalf("find by name: %+v %v", st, err)
		}
		if _, _, err := s.ImportUnits(ctx, []store.UnitRow{{Code: "X", Name: "x", ParentCode: "NOPE", Kind: "street"}}); err == nil {
			t.Fatal("unknown parent accepted")
		}
		if n, _ := s.CountUnits(ctx); n != 3 {
			t.Fatalf("a failed import left rows: %d", n)
		}
	})
}
