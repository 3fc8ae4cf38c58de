package live_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"hotline/live"
)

func recv(t *testing.T, s *live.Subscription) live.Event {
	t.Helper()
	select {
	case e, ok := <-s.C:
		if !ok {
			t.Fatal("subscription closed")
		}
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	return live.Event{}
}

func none(t *testing.T, s *live.Subscription) {
	t.Helper()
	select {
	case e := <-s.C:
		t.Fatalf("unexpected event %+v", e)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestLocalFanOut(t *testing.T) {
	h := live.NewLocal()
	a, b := h.Subscribe(), h.Subscribe()
	h.Publish(context.Background(), live.Event{Kind: live.KindTicket, TicketNo: "1"})
	if recv(t, a).TicketNo != "1" || recv(t, b).TicketNo != "1" {
		t.Fatal("fan-out")
	}
	b.Close()
	b.Close() // idempotent
	h.Publish(context.Background(), live.Event{Kind: live.KindTicket, TicketNo: "2"})
	if recv(t, a).TicketNo != "2" {
		t.Fatal("after unsubscribe")
	}
	// a subscriber that does not keep up loses events and is told so
	for range live.SubscriptionBuffer + 10 {
		h.Publish(context.Background(), live.Event{Kind: live.KindTicket})
	}
	if !a.Lost() || a.Lost() {
		t.Fatal("Lost must report once")
	}
	h.Close()
	for range a.C {
	}
	if _, ok := <-h.Subscribe().C; ok {
		t.Fatal("subscribing to a closed hub must give a closed channel")
	}
}

// feed is a change feed whose rows tests append.
type feed struct {
	mu      sync.Mutex
	changes []live.Change
	since   []time.Time
}

func (f *feed) add(c live.Change) { f.mu.Lock(); f.changes = append(f.changes, c); f.mu.Unlock() }

func (f *feed) Changes(_ context.Context, since time.Time, limit int) ([]live.Change, time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.since = append(f.since, since)
	var out []live.Change
	for _, c := range f.changes {
		if c.At.After(since) {
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b live.Change) int { return a.At.Compare(b.At) })
	var cut time.Time
	if len(out) > limit { // the newest limit, like the store
		out = out[len(out)-limit:]
		cut = out[0].At
	}
	return out, cut, nil
}

func TestPollerReportsEachChangeOnce(t *testing.T) {
	h := live.NewLocal()
	sub := h.Subscribe()
	f := &feed{}
	p := &live.Poller{Source: f, Hub: h, Overlap: 10 * time.Second, Limit: 3}
	ctx := context.Background()
	p.PollOnce(ctx) // starts the feed now: nothing before is reported
	now := time.Now().UTC()
	f.add(live.Change{TicketID: 1, TicketNo: "A", At: now.Add(-time.Hour)})
	p.PollOnce(ctx)
	none(t, sub)

	// a row stamped a little in the past (its transaction committed late) is
	// still reported, and only once
	f.add(live.Change{TicketID: 2, TicketNo: "B", At: now.Add(-2 * time.Second)})
	f.add(live.Change{TicketID: 2, TicketNo: "B", At: now.Add(-2 * time.Second), Delivery: true})
	p.PollOnce(ctx)
	if e := recv(t, sub); e.TicketNo != "B" || e.Kind != live.KindTicket {
		t.Fatalf("event %+v", e)
	}
	none(t, sub)
	p.PollOnce(ctx)
	none(t, sub)

	// a later delivery of the same ticket is new
	f.add(live.Change{TicketID: 2, TicketNo: "B", At: time.Now().UTC(), Delivery: true})
	p.PollOnce(ctx)
	if e := recv(t, sub); e.Kind != live.KindDelivery {
		t.Fatalf("event %+v", e)
	}
	// a writer with a clock ahead does not drag the mark into the future
	f.add(live.Change{TicketID: 3, TicketNo: "C", At: time.Now().UTC().Add(time.Minute)})
	p.PollOnce(ctx)
	recv(t, sub)
	f.add(live.Change{TicketID: 4, TicketNo: "D", At: time.Now().UTC()})
	p.PollOnce(ctx)
	if e := recv(t, sub); e.TicketNo != "D" {
		t.Fatalf("event %+v", e)
	}
	// a burst over the limit asks subscribers to resynchronize
	for i := range 5 {
		f.add(live.Change{TicketID: int64(10 + i), TicketNo: "X", At: time.Now().UTC()})
	}
	p.PollOnce(ctx)
	kinds := map[string]int{}
	for range 3 {
		kinds[recv(t, sub).Kind]++
	}
	none(t, sub)
	if kinds[live.KindResync] != 1 || kinds[live.KindTicket] != 2 {
		t.Fatalf("kinds %v", kinds)
	}
	// the burst is behind us: the next poll is quiet, not stuck
	p.PollOnce(ctx)
	none(t, sub)
}

// TestRedisAcrossInstances needs a Redis (HOTLINE_TEST_REDIS_URL, set by CI).
func TestRedisAcrossInstances(t *testing.T) {
	url := os.Getenv("HOTLINE_TEST_REDIS_URL")
	if url == "" {
		t.Skip("HOTLINE_TEST_REDIS_URL unset: no Redis to test against")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	channel := "hotline:test:live:" + time.Now().Format("150405.000000")
	c1, c2 := redis.NewClient(opt), redis.NewClient(opt)
	defer c1.Close()
	defer c2.Close()
	a, b := live.NewRedis(c1, channel, log), live.NewRedis(c2, channel, log)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); a.Run(ctx) }()
	go func() { defer wg.Done(); b.Run(ctx) }()
	sa, sb := a.Subscribe(), b.Subscribe()
	// wait until both subscriptions are live
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, _ := c1.PubSubNumSub(ctx, channel).Result()
		if n[channel] == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("subscriptions not ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
	u := int64(5)
	if err := a.Publish(ctx, live.Event{Kind: live.KindTicket, TicketNo: "N1", UnitID: &u}); err != nil {
		t.Fatal(err)
	}
	if e := recv(t, sa); e.TicketNo != "N1" { // delivered here at once
		t.Fatal(e)
	}
	if e := recv(t, sb); e.TicketNo != "N1" || e.UnitID == nil || *e.UnitID != 5 {
		t.Fatalf("other instance got %+v", e)
	}
	none(t, sa) // its own message is not delivered twice

	// only one instance holds the poll lease at a time
	key := channel + ":lease"
	l1, l2 := live.NewRedisLease(c1, key), live.NewRedisLease(c2, key)
	if ok, err := l1.Hold(ctx, time.Second); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if ok, _ := l2.Hold(ctx, time.Second); ok {
		t.Fatal("two holders")
	}
	if ok, _ := l1.Hold(ctx, time.Second); !ok {
		t.Fatal("holder cannot renew")
	}
	l1.Release(ctx)
	if ok, _ := l2.Hold(ctx, time.Second); !ok {
		t.Fatal("lease not free after release")
	}
	l2.Release(ctx)
	cancel()
	wg.Wait()
}
