// Package live tells open inbox pages that a ticket changed, so they update
// without a reload.
//
// A Hub fans events out to the subscribers of this process (the inbox's
// Server-Sent Events streams). Local keeps everything in-process; Redis also
// publishes every event on a Redis channel and delivers what other instances
// publish, so an agent connected to instance A sees a change detected by B.
//
// Events come from a Poller, because the store has no hooks and tickets change
// from many writers (webhooks, the outbox worker, the pipeline, the provincial
// exchange, other instances): it reads the database's change feed (tickets'
// and outbox items' updated_at) every Interval. With Redis, only the instance
// holding a short Redis lease polls and its events reach every instance by
// pub/sub; without Redis, every instance polls the shared database itself.
package live

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Event kinds.
const (
	KindTicket   = "ticket"   // the ticket row changed (new, message, status, holder...)
	KindDelivery = "delivery" // a delivery of one of its messages progressed
	KindResync   = "resync"   // events may have been lost: reload whatever is shown
)

// Event is one notification. It names the ticket only: pages fetch what they
// show through their authorized handlers, so an event carries no data a
// subscriber may not see.
type Event struct {
	Kind     string    `json:"kind"`
	TicketNo string    `json:"ticket_no,omitempty"`
	UnitID   *int64    `json:"unit_id,omitempty"`
	At       time.Time `json:"at"`
}

// Hub fans events out to subscribers.
type Hub interface {
	// Publish delivers evs to every subscriber (of every instance, for Redis).
	Publish(ctx context.Context, evs ...Event) error
	// Subscribe returns a new subscription; Close it when done.
	Subscribe() *Subscription
	// Close ends every subscription (their channels are closed).
	Close()
}

// Subscription receives events on C until it is closed.
type Subscription struct {
	C <-chan Event

	c    chan Event
	f    *fanout
	lost atomic.Bool
	once sync.Once
}

// Lost reports (and resets) whether events were dropped because the
// subscriber did not keep up; the subscriber should then resynchronize.
func (s *Subscription) Lost() bool { return s.lost.Swap(false) }

// Close unsubscribes; C is closed.
func (s *Subscription) Close() {
	s.f.remove(s)
}

// SubscriptionBuffer is how many events a slow subscriber may lag behind
// before events are dropped (and Lost reports it).
const SubscriptionBuffer = 256

// fanout is the in-process part every hub shares.
type fanout struct {
	mu     sync.Mutex
	subs   map[*Subscription]struct{}
	closed bool
}

func (f *fanout) subscribe() *Subscription {
	c := make(chan Event, SubscriptionBuffer)
	s := &Subscription{C: c, c: c, f: f}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		close(c)
		return s
	}
	if f.subs == nil {
		f.subs = map[*Subscription]struct{}{}
	}
	f.subs[s] = struct{}{}
	return s
}

func (f *fanout) remove(s *Subscription) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.subs[s]; ok {
		delete(f.subs, s)
		close(s.c)
	}
}

// deliver never blocks: a full subscriber loses the event and is told so.
func (f *fanout) deliver(evs []Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		for _, e := range evs {
			select {
			case s.c <- e:
			default:
				s.lost.Store(true)
			}
		}
	}
}

// Subscribers counts the current subscriptions.
func (f *fanout) Subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

func (f *fanout) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for s := range f.subs {
		delete(f.subs, s)
		close(s.c)
	}
}

// Local is the in-process hub.
type Local struct{ fanout }

// NewLocal returns an in-process hub.
func NewLocal() *Local { return &Local{} }

// Publish delivers evs to this process's subscribers.
func (l *Local) Publish(_ context.Context, evs ...Event) error {
	l.deliver(evs)
	return nil
}

// Subscribe returns a new subscription.
func (l *Local) Subscribe() *Subscription { return l.subscribe() }

var _ Hub = (*Local)(nil)
