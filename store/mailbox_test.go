package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
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

func mailEnv(key, from, text string) normalize.Envelope {
	return normalize.Envelope{Channel: normalize.MayorMailbox, DedupKey: key, Sender: normalize.Sender{Email: from},
		Title: "来信", Text: text, ReceivedAt: time.Now()}
}

// TestMailReplyTicket: our mails and the citizen's letters lead an answer to
// its ticket, only from the citizen's address, nearest reference first; an
// ended ticket says since when.
func TestMailReplyTicket(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, err := s.Ingest(ctx, mailEnv("mid:a@b", "C@Example.com", "路灯坏了"), store.IngestOptions{}, keep)
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.Ingest(ctx, mailEnv("mid:b@b", "c@example.com", "井盖丢了"), store.IngestOptions{}, keep)
		if err != nil {
			t.Fatal(err)
		}
		long := strings.Repeat("x", 400) + "@b"
		for _, c := range []struct {
			id   int64
			info store.MailThreadInfo
		}{
			{a.TicketID, store.MailThreadInfo{MessageID: "a@b", From: "C@Example.com"}},
			{b.TicketID, store.MailThreadInfo{MessageID: "b@b", From: "c@example.com"}},
			{b.TicketID, store.MailThreadInfo{MessageID: long, From: "c@example.com"}},
			{b.TicketID, store.MailThreadInfo{MessageID: "b@b", From: "c@example.com"}}, // again: no-op
		} {
			if err := s.SaveMailThread(ctx, c.id, c.info); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.RecordMailSent(ctx, a.TicketNo, "hotline.1.x@gov", "C@example.com"); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordMailSent(ctx, a.TicketNo, "hotline.1.x@gov", "c@example.com"); err != nil {
			t.Fatal(err) // a retried delivery
		}
		if err := s.RecordMailSent(ctx, "20000101-000001", "hotline.2.x@gov", "c@example.com"); !errors.Is(err, ticket.ErrNotFound) {
			t.Fatalf("unknown ticket: %v", err)
		}
		find := func(from string, ids ...string) string {
			t.Helper()
			r, ok, err := s.MailReplyTicket(ctx, ids, from)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				return ""
			}
			if r.EndedAt != nil {
				return r.TicketNo + " ended"
			}
			return r.TicketNo
		}
		for _, c := range []struct {
			from string
			ids  []string
			want string
		}{
			{"c@example.com", []string{"unknown@x", "hotline.1.x@gov"}, a.TicketNo},
			{"C@EXAMPLE.COM", []string{"a@b"}, a.TicketNo},
			{"c@example.com", []string{"b@b", "a@b"}, b.TicketNo},
			{"c@example.com", []string{"a@b", "b@b"}, a.TicketNo},
			{"c@example.com", []string{long}, b.TicketNo},
			{"mallory@evil.example", []string{"a@b", "hotline.1.x@gov"}, ""},
			{"", []string{"a@b"}, ""},
			{"c@example.com", nil, ""},
		} {
			if got := find(c.from, c.ids...); got != c.want {
				t.Errorf("%s %v: %q, want %q", c.from, c.ids, got, c.want)
			}
		}

		// Closed two days ago; archived without closed_at: its last change.
		closed := time.Now().Add(-48 * time.Hour).UTC()
		db := s.DB().WithContext(ctx)
		if err := db.Exec(`UPDATE tickets SET status = ?, closed_at = ? WHERE id = ?`, "closed", closed, a.TicketID).Error; err != nil {
			t.Fatal(err)
		}
		r, ok, err := s.MailReplyTicket(ctx, []string{"a@b"}, "c@example.com")
		if err != nil || !ok || r.EndedAt == nil || r.EndedAt.Sub(closed).Abs() > time.Second || r.Status != ticket.StatusClosed {
			t.Fatalf("closed: %+v %v %v", r, ok, err)
		}
		if err := db.Exec(`UPDATE tickets SET status = ?, closed_at = NULL WHERE id = ?`, "archived", b.TicketID).Error; err != nil {
			t.Fatal(err)
		}
		if got := find("c@example.com", "b@b"); got != b.TicketNo+" ended" {
			t.Fatalf("archived: %q", got)
		}

		// The note on a new ticket naming the old one, once.
		for range 2 {
			if err := s.NoteMailFollowUp(ctx, b.TicketID, a.TicketNo); err != nil {
				t.Fatal(err)
			}
		}
		tk, err := s.GetTicket(ctx, b.TicketNo)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range tk.Events {
			if e.Type == store.EventMailFollowUp && strings.Contains(e.Note, a.TicketNo) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d follow-up events: %+v", n, tk.Events)
		}
		if err := s.NoteMailFollowUp(ctx, 999999, a.TicketNo); !errors.Is(err, ticket.ErrNotFound) {
			t.Fatalf("unknown ticket: %v", err)
		}
	})
}
