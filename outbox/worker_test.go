package outbox_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"hotline/normalize"
	"hotline/outbox"
	"hotline/store"
	"hotline/store/storetest"
	"hotline/ticket"
)

// flaky fails the first n sends of each item, or always with err when permanent.
type flaky struct {
	mu    sync.Mutex
	n     int
	perm  bool
	tries map[int64]int
	sent  []string
}

func (f *flaky) Send(_ context.Context, m ticket.Outgoing) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tries[m.ID]++
	if f.perm {
		return ticket.Permanent(errors.New("400 invalid number"))
	}
	if f.tries[m.ID] <= f.n {
		return errors.New("gateway timeout")
	}
	f.sent = append(f.sent, m.Text)
	return nil
}

func queue(t *testing.T, s *store.Store, key string, texts ...string) string {
	t.Helper()
	var reps []ticket.Reply
	for _, x := range texts {
		reps = append(reps, ticket.Reply{Kind: ticket.ReplyAgent, Text: x})
	}
	r, err := s.Ingest(context.Background(), normalize.Envelope{Channel: normalize.SMS, DedupKey: key,
		Sender: normalize.Sender{Phone: "13800138000"}, Text: "路灯坏了", ReceivedAt: time.Now()},
		store.IngestOptions{}, func(*ticket.Thread) ticket.Decision { return ticket.Decision{Replies: reps} })
	if err != nil {
		t.Fatal(err)
	}
	return r.TicketNo
}

func worker(s *store.Store, f *flaky, maxAttempts int) *outbox.Worker {
	return outbox.New(s, map[string]outbox.Sender{ticket.ViaSMS: f}, nil, outbox.Options{
		Workers: 2, PollInterval: 5 * time.Millisecond, Batch: 8, BackoffBase: time.Millisecond,
		BackoffMax: 4 * time.Millisecond, MaxAttempts: maxAttempts,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func deliveries(t *testing.T, s *store.Store, no string) []string {
	tk, err := s.GetTicket(context.Background(), no)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range tk.Messages {
		if m.Direction == "out" {
			out = append(out, m.Delivery)
		}
	}
	return out
}

func runUntil(t *testing.T, w *outbox.Worker, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition never met")
}

func TestRetriesThenDeliversInOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		no := queue(t, s, "r1", "第一条", "第二条", "第三条")
		f := &flaky{n: 2, tries: map[int64]int{}}
		runUntil(t, worker(s, f, 10), func() bool {
			d := deliveries(t, s, no)
			return len(d) == 3 && d[0] == "sent" && d[1] == "sent" && d[2] == "sent"
		})
		if len(f.sent) != 3 || f.sent[0] != "第一条" || f.sent[1] != "第二条" || f.sent[2] != "第三条" {
			t.Fatalf("order %v", f.sent)
		}
		for id, n := range f.tries {
			if n != 3 {
				t.Fatalf("item %d tried %d times", id, n)
			}
		}
	})
}

func TestPermanentAndExhaustedAreDeadLetters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		no := queue(t, s, "p1", "坏号码")
		f := &flaky{perm: true, tries: map[int64]int{}}
		runUntil(t, worker(s, f, 10), func() bool { d := deliveries(t, s, no); return len(d) == 1 && d[0] == "dead" })
		for _, n := range f.tries {
			if n != 1 {
				t.Fatalf("permanent failure retried %d times", n)
			}
		}
		no2 := queue(t, s, "p2", "网关一直超时")
		f2 := &flaky{n: 100, tries: map[int64]int{}}
		runUntil(t, worker(s, f2, 3), func() bool { d := deliveries(t, s, no2); return len(d) == 1 && d[0] == "dead" })
		tk, _ := s.GetTicket(context.Background(), no2)
		if last := tk.Events[len(tk.Events)-1]; last.Type != "delivery_dead" {
			t.Fatalf("dead letter not on the ticket: %+v", last)
		}
	})
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	w := outbox.New(nil, nil, nil, outbox.Options{BackoffBase: time.Second, BackoffMax: 10 * time.Second}, slog.Default())
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 10: 10 * time.Second} {
		got := w.Backoff(n)
		if got < want*8/10 || got > want*12/10 {
			t.Errorf("Backoff(%d) = %v, want %v ±20%%", n, got, want)
		}
	}
}

type unlimited struct{ *flaky }

func (unlimited) MaxAttempts() int { return 0 }

// A sender that asks for it is retried past Options.MaxAttempts.
func TestSenderWithoutAttemptLimit(t *testing.T) {
	s := storetest.Open(t, "sqlite")
	no := queue(t, s, "u1", "省级事件")
	f := &flaky{n: 6, tries: map[int64]int{}}
	w := outbox.New(s, map[string]outbox.Sender{ticket.ViaSMS: unlimited{f}}, nil, outbox.Options{
		Workers: 1, PollInterval: 5 * time.Millisecond, Batch: 8, BackoffBase: time.Millisecond,
		BackoffMax: 2 * time.Millisecond, MaxAttempts: 3,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	runUntil(t, w, func() bool { d := deliveries(t, s, no); return len(d) == 1 && d[0] == "sent" })
}
