package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"hotline/normalize"
	"hotline/ticket"
)

// TestMailMessagesBackfill: the migration that adds mail_messages fills it
// from the threads of the tickets opened by letters before it.
func TestMailMessagesBackfill(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "h.db"), NumberBlock: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.Ingest(ctx, normalize.Envelope{Channel: normalize.MayorMailbox, DedupKey: "mid:old@b", Text: "旧来信",
		ReceivedAt: time.Now(), Sender: normalize.Sender{Email: "Old@Example.com"}},
		IngestOptions{}, func(*ticket.Thread) ticket.Decision { return ticket.Decision{} })
	if err != nil {
		t.Fatal(err)
	}
	// A thread as the code before mail_messages wrote it.
	if err := s.db.Create(&mailThread{TicketID: r.TicketID, MessageID: "old@b", CreatedAt: time.Now()}).Error; err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations() {
		if m.ID == "2026112761_mail_messages" {
			for range 2 { // idempotent
				if err := m.Migrate(s.db); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	got, ok, err := s.MailReplyTicket(ctx, []string{"old@b"}, "old@example.com")
	if err != nil || !ok || got.TicketNo != r.TicketNo {
		t.Fatalf("backfilled thread: %+v %v %v", got, ok, err)
	}
}
