package store_test

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/store"
	"hotline/store/storetest"
)

func TestKBUpsertAndList(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		cst := time.FixedZone("CST", 8*3600)
		until := time.Date(2026, 12, 31, 23, 59, 59, 0, cst)

		created, updated, err := s.UpsertKB(ctx, []store.KBRecord{
			{ExternalID: "DZKB-0001", Question: "如何提取住房公积金？", Keywords: []string{"公积金提取", "住房公积金"}, Answer: "凭身份证到管理部办理", Unit: "德州市住房公积金管理中心"},
			{Question: "社保卡丢了怎么补办？", Keywords: []string{"社保卡", " 社保卡补办 ", ""}, Answer: "先挂失再补卡", Unit: "德州市人力资源和社会保障局", ValidUntil: &until},
		})
		if err != nil || created != 2 || updated != 0 {
			t.Fatalf("first upsert: created=%d updated=%d err=%v", created, updated, err)
		}
		list, err := s.ListKB(ctx)
		if err != nil || len(list) != 2 {
			t.Fatalf("list: %v %v", list, err)
		}
		if list[0].ID == 0 || list[1].ID <= list[0].ID {
			t.Errorf("IDs not assigned in order: %d %d", list[0].ID, list[1].ID)
		}
		if got := list[1].Keywords; !reflect.DeepEqual(got, []string{"社保卡", "社保卡补办"}) {
			t.Errorf("keywords = %q", got)
		}
		if list[1].ValidUntil == nil || !list[1].ValidUntil.Equal(until) {
			t.Errorf("valid_until = %v, want %v", list[1].ValidUntil, until)
		}
		if list[0].ValidUntil != nil || list[0].ExternalID != "DZKB-0001" || list[0].Unit != "德州市住房公积金管理中心" {
			t.Errorf("first row = %+v", list[0])
		}

		// Same content again: matched, nothing changed.
		created, updated, err = s.UpsertKB(ctx, []store.KBRecord{
			{ExternalID: "DZKB-0001", Question: "如何提取住房公积金？", Keywords: []string{"公积金提取", "住房公积金"}, Answer: "凭身份证到管理部办理", Unit: "德州市住房公积金管理中心"},
			{Question: "社保卡丢了怎么补办？", Keywords: []string{"社保卡", "社保卡补办"}, Answer: "先挂失再补卡", Unit: "德州市人力资源和社会保障局", ValidUntil: &until},
		})
		if err != nil || created != 0 || updated != 0 {
			t.Fatalf("identical upsert: created=%d updated=%d err=%v", created, updated, err)
		}

		// external_id matches even with a new question; no external_id matches
		// on the identical question and keeps the row's external_id.
		created, updated, err = s.UpsertKB(ctx, []store.KBRecord{
			{ExternalID: "DZKB-0001", Question: "怎样提取住房公积金？", Keywords: []string{"提取公积金"}, Answer: "新答复", Unit: "市公积金中心"},
			{Question: "社保卡丢了怎么补办？", Answer: "新的补卡答复"},
			{Question: "如何提取住房公积金？", Answer: "无编号的新条目"}, // the old question is free now
			{ExternalID: "DZKB-0099", Question: "社保卡丢了怎么补办？", Answer: "另一来源的同名条目"},
		})
		if err != nil || created != 2 || updated != 2 {
			t.Fatalf("changing upsert: created=%d updated=%d err=%v", created, updated, err)
		}
		list, err = s.ListKB(ctx)
		if err != nil || len(list) != 4 {
			t.Fatalf("list: %+v %v", list, err)
		}
		if l := list[0]; l.Question != "怎样提取住房公积金？" || l.Answer != "新答复" || l.Unit != "市公积金中心" || !reflect.DeepEqual(l.Keywords, []string{"提取公积金"}) {
			t.Errorf("updated by external_id: %+v", l)
		}
		if l := list[1]; l.Answer != "新的补卡答复" || l.ValidUntil != nil || l.Keywords != nil || l.Unit != "" {
			t.Errorf("updated by question: %+v", l)
		}
		if l := list[2]; l.Question != "如何提取住房公积金？" || l.ExternalID != "" {
			t.Errorf("new row: %+v", l)
		}
		if l := list[3]; l.ExternalID != "DZKB-0099" || l.Answer != "另一来源的同名条目" {
			t.Errorf("new row with external_id: %+v", l)
		}

		// A repeated key within one call updates the row the first one made.
		created, updated, err = s.UpsertKB(ctx, []store.KBRecord{
			{ExternalID: "X-1", Question: "问题甲", Answer: "一"},
			{ExternalID: "X-1", Question: "问题甲", Answer: "二"},
		})
		if err != nil || created != 1 || updated != 1 {
			t.Fatalf("repeated key: created=%d updated=%d err=%v", created, updated, err)
		}
		list, _ = s.ListKB(ctx)
		if l := list[len(list)-1]; l.Answer != "二" || len(list) != 5 {
			t.Errorf("repeated key row: %+v (of %d)", l, len(list))
		}
	})
}

func TestKBUpsertRejectsBadEntriesAtomically(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		cases := map[string]store.KBRecord{
			"question is empty":        {Question: "  ", Answer: "a"},
			"answer is empty":          {Question: "q", Answer: ""},
			"external_id longer":       {ExternalID: strings.Repeat("x", 65), Question: "q", Answer: "a"},
			"keywords longer than 500": {Question: "q", Answer: "a", Keywords: []string{strings.Repeat("关", 501)}},
			"unit longer":              {Question: "q", Answer: "a", Unit: strings.Repeat("单", 101)},
		}
		for want, bad := range cases {
			_, _, err := s.UpsertKB(ctx, []store.KBRecord{{Question: "好的条目", Answer: "好的答复"}, bad})
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "kb entry 2") {
				t.Errorf("%s: err = %v", want, err)
			}
		}
		if list, err := s.ListKB(ctx); err != nil || len(list) != 0 {
			t.Fatalf("nothing may be stored: %+v %v", list, err)
		}
		// Limits count characters, not bytes.
		ok := store.KBRecord{ExternalID: strings.Repeat("编", 64), Question: "q", Answer: "a", Unit: strings.Repeat("单", 100), Keywords: []string{strings.Repeat("关", 500)}}
		if _, _, err := s.UpsertKB(ctx, []store.KBRecord{ok}); err != nil {
			t.Fatalf("entry at the limits: %v", err)
		}
	})
}

func TestKBUpsertConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		batch := []store.KBRecord{
			{ExternalID: "C-1", Question: "问一", Answer: "答一"},
			{Question: "问二", Answer: "答二"},
		}
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Go(func() {
				if _, _, err := s.UpsertKB(ctx, batch); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		list, err := s.ListKB(ctx)
		if err != nil || len(list) != 2 {
			t.Fatalf("concurrent imports of the same file must store it once: %+v %v", list, err)
		}
	})
}
