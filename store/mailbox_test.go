package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"hotline/normalize"
	"hotline/store"
	"hotline/store/storetest"
	"hotline/ticket"
)

func TestMailCheckpointAndThread(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		v, u, err := s.MailCheckpoint(ctx, "u@x/INBOX")
		if err != nil || v != 0 || u != 0 {
			t.Fatalf("empty: %d %d %v", v, u, err)
		}
		if err := s.SaveMailCheckpoint(ctx, "u@x/INBOX", 7, 3); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveMailCheckpoint(ctx, "u@x/INBOX", 7, 4000000000); err != nil {
			t.Fatal(err)
		}
		if v, u, err = s.MailCheckpoint(ctx, "u@x/INBOX"); err != nil || v != 7 || u != 4000000000 {
			t.Fatalf("got %d %d %v", v, u, err)
		}

		env := normalize.Envelope{Channel: normalize.MayorMailbox, DedupKey: "mid:a@b", Sender: normalize.Sender{Email: "c@example.com"},
			Title: "建议", Text: "建议增加公交线路", ReceivedAt: time.Now()}
		r, err := s.Ingest(ctx, env, store.IngestOptions{}, keep)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok, err := s.MailThread(ctx, r.TicketNo); ok || err != nil {
			t.Fatalf("no thread yet: %v %v", ok, err)
		}
		if err := s.SaveMailThread(ctx, r.TicketID, store.MailThreadInfo{MessageID: "a@b", References: "<z@b>", Subject: "建议"}); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveMailThread(ctx, r.TicketID, store.MailThreadInfo{MessageID: "later@b"}); err != nil {
			t.Fatal(err)
		}
		th, ok, err := s.MailThread(ctx, r.TicketNo)
		if err != nil || !ok || th.MessageID != "a@b" || th.References != "<z@b>" || th.Subject != "建议" {
			t.Fatalf("thread %+v %v %v", th, ok, err)
		}

		queued, err := s.QueueMailReceipt(ctx, r.TicketID, "c@example.com", "工单号 X 查询码 {query_code}")
		if err != nil || !queued {
			t.Fatalf("queue: %v %v", queued, err)
		}
		if queued, err = s.QueueMailReceipt(ctx, r.TicketID, "c@example.com", "again"); err != nil || queued {
			t.Fatalf("second receipt must not queue: %v %v", queued, err)
		}
		jobs, err := s.ClaimOutbox(ctx, 10, time.Minute)
		if err != nil || len(jobs) != 1 {
			t.Fatalf("jobs %+v %v", jobs, err)
		}
		var p map[string]string
		json.Unmarshal([]byte(jobs[0].Payload), &p)
		if jobs[0].Kind != ticket.ViaEmail || jobs[0].Recipient != "c@example.com" || p["kind"] != store.ReplyReceipt || p["ticket_no"] != r.TicketNo {
			t.Fatalf("job %+v %v", jobs[0], p)
		}
	})
}

func TestLease(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		ok, err := s.AcquireLease(ctx, "mail", "a", time.Minute)
		if err != nil || !ok {
			t.Fatalf("a: %v %v", ok, err)
		}
		if ok, err = s.AcquireLease(ctx, "mail", "b", time.Minute); err != nil || ok {
			t.Fatalf("b while a holds: %v %v", ok, err)
		}
		if ok, err = s.AcquireLease(ctx, "mail", "a", time.Minute); err != nil || !ok {
			t.Fatalf("a renews: %v %v", ok, err)
		}
		// An expired lease goes to whoever asks.
		if ok, err = s.AcquireLease(ctx, "other", "a", -time.Second); err != nil || !ok {
			t.Fatalf("other: %v %v", ok, err)
		}
		if ok, err = s.AcquireLease(ctx, "other", "b", time.Minute); err != nil || !ok {
			t.Fatalf("b takes expired: %v %v", ok, err)
		}
		if err := s.ReleaseLease(ctx, "mail", "b"); err != nil {
			t.Fatal(err)
		}
		if ok, _ = s.AcquireLease(ctx, "mail", "b", time.Minute); ok {
			t.Fatal("release by non-holder must not free the lease")
		}
		if err := s.ReleaseLease(ctx, "mail", "a"); err != nil {
			t.Fatal(err)
		}
		if ok, err = s.AcquireLease(ctx, "mail", "b", time.Minute); err != nil || !ok {
			t.Fatalf("b after release: %v %v", ok, err)
		}
	})
}
