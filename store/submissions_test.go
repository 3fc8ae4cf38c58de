package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"hotline/normalize"
	"hotline/store"
	"hotline/store/storetest"
	"hotline/ticket"
)

func webEnv(key string) normalize.Envelope {
	return normalize.Envelope{Channel: normalize.Website, DedupKey: key, Sender: normalize.Sender{Name: "张三", Phone: "13800138000"},
		Title: "路灯", Text: "小区路灯坏了三天", ReceivedAt: time.Now()}
}

func TestQueryCodeAndPublicStatus(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		r, err := s.Ingest(ctx, webEnv("form:1"), store.IngestOptions{}, keep)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.PublicStatus(ctx, r.TicketNo, "h1"); !errors.Is(err, ticket.ErrNotFound) {
			t.Fatalf("no code yet: %v", err)
		}
		saved, err := s.SaveQueryCode(ctx, r.TicketID, "h1")
		if err != nil || !saved {
			t.Fatalf("save: %v %v", saved, err)
		}
		saved, err = s.SaveQueryCode(ctx, r.TicketID, "h2")
		if err != nil || saved {
			t.Fatalf("second save must not replace: %v %v", saved, err)
		}
		for _, bad := range []struct{ no, hash string }{{r.TicketNo, "h2"}, {r.TicketNo, ""}, {"20990101-000001", "h1"}} {
			if _, err := s.PublicStatus(ctx, bad.no, bad.hash); !errors.Is(err, ticket.ErrNotFound) {
				t.Fatalf("%v: %v", bad, err)
			}
		}
		ps, err := s.PublicStatus(ctx, r.TicketNo, "h1")
		if err != nil {
			t.Fatal(err)
		}
		if ps.TicketNo != r.TicketNo || ps.Status != string(ticket.StatusIntake) || ps.Title != "路灯" || ps.Result != "" || ps.ResultAt != nil {
			t.Fatalf("status %+v", ps)
		}
		if _, err := s.Reply(ctx, r.TicketNo, "agent1", ticket.Reply{Kind: ticket.ReplyAgent, Text: "已派人维修"}); err != nil {
			t.Fatal(err)
		}
		ps, err = s.PublicStatus(ctx, r.TicketNo, "h1")
		if err != nil || ps.Result != "已派人维修" || ps.ResultAt == nil {
			t.Fatalf("result %+v %v", ps, err)
		}
		if err := s.ReplaceQueryCode(ctx, r.TicketNo, "h3"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PublicStatus(ctx, r.TicketNo, "h1"); !errors.Is(err, ticket.ErrNotFound) {
			t.Fatalf("old code after replace: %v", err)
		}
		if _, err := s.PublicStatus(ctx, r.TicketNo, "h3"); err != nil {
			t.Fatal(err)
		}
		if err := s.ReplaceQueryCode(ctx, "20990101-000001", "x"); !errors.Is(err, ticket.ErrNotFound) {
			t.Fatalf("replace unknown: %v", err)
		}
	})
}
