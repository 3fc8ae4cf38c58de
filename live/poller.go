package live

import (
	"context"
	"log/slog"
	"time"
)

// Change is one entry of the database's change feed.
type Change struct {
	TicketID int64
	TicketNo string
	UnitID   *int64
	At       time.Time // the row's updated_at (the writer's clock)
	Delivery bool      // an outbox item progressed, not the ticket row
}

// Source reads the change feed: what changed after since, oldest first, the
// newest limit changes of each kind; cut, when not zero, says that changes at
// or before it may be missing.
type Source interface {
	Changes(ctx context.Context, since time.Time, limit int) (changes []Change, cut time.Time, err error)
}

// Locker elects the one polling instance when several share a Redis.
type Locker interface {
	Hold(ctx context.Context, ttl time.Duration) (bool, error)
	Release(ctx context.Context)
}

// Poller turns the change feed into events.
//
// Timestamps are written by the writers' clocks inside transactions that may
// commit a little after they stamped the row, so a plain high-water mark would
// miss rows; every poll therefore looks back Overlap before the mark and
// suppresses what it already reported (by ticket, kind and timestamp).
type Poller struct {
	Source   Source
	Hub      Hub
	Lock     Locker // nil: poll always (no Redis: every instance polls)
	Interval time.Duration
	Overlap  time.Duration
	Limit    int
	Log      *slog.Logger

	mark time.Time
	seen map[seenKey]time.Time
}

type seenKey struct {
	id       int64
	delivery bool
}

func (p *Poller) defaults() {
	if p.Interval <= 0 {
		p.Interval = time.Second
	}
	if p.Overlap <= 0 {
		p.Overlap = 10 * time.Second
	}
	if p.Limit <= 0 {
		p.Limit = 500
	}
	if p.Log == nil {
		p.Log = slog.Default()
	}
}

// Run polls every Interval until ctx is cancelled.
func (p *Poller) Run(ctx context.Context) {
	p.defaults()
	t := time.NewTicker(p.Interval)
	defer t.Stop()
	leader := false
	for {
		if p.Lock != nil {
			held, err := p.Lock.Hold(ctx, 3*p.Interval+2*time.Second)
			if err != nil && ctx.Err() == nil {
				p.Log.Warn("live: poll lease", "err", err)
			}
			if held && !leader {
				// Taking over: look back far enough to cover the previous
				// holder's last interval (subscribers dedupe by refreshing).
				p.Reset(time.Now().Add(-3*p.Interval - 2*time.Second))
			}
			leader = held
		}
		if p.Lock == nil || leader {
			if err := p.PollOnce(ctx); err != nil && ctx.Err() == nil {
				p.Log.Warn("live: poll", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			if p.Lock != nil && leader {
				p.Lock.Release(context.WithoutCancel(ctx))
			}
			return
		case <-t.C:
		}
	}
}

// Reset starts the feed at mark (nothing before it is reported).
func (p *Poller) Reset(mark time.Time) {
	p.mark = mark.UTC()
	p.seen = map[seenKey]time.Time{}
}

// PollOnce reads the feed once and publishes one event per changed ticket.
func (p *Poller) PollOnce(ctx context.Context) error {
	p.defaults()
	now := time.Now().UTC()
	if p.seen == nil {
		p.Reset(now)
	}
	changes, cut, err := p.Source.Changes(ctx, p.mark.Add(-p.Overlap), p.Limit)
	if err != nil {
		return err
	}
	var evs []Event
	index := map[int64]int{} // ticket -> position in evs
	top := p.mark
	for _, c := range changes {
		k := seenKey{c.TicketID, c.Delivery}
		if last, ok := p.seen[k]; ok && !c.At.After(last) {
			continue
		}
		p.seen[k] = c.At
		if c.At.After(top) {
			top = c.At
		}
		kind := KindTicket
		if c.Delivery {
			kind = KindDelivery
		}
		if i, ok := index[c.TicketID]; ok {
			if kind == KindTicket {
				evs[i].Kind = KindTicket // a row change covers its deliveries
			}
			continue
		}
		index[c.TicketID] = len(evs)
		evs = append(evs, Event{Kind: kind, TicketNo: c.TicketNo, UnitID: c.UnitID, At: now})
	}
	// Changes cut off after the last mark were never reported: subscribers
	// reload. (Cut-off ones before it were reported by an earlier poll.)
	if !cut.IsZero() && cut.After(p.mark) {
		evs = append(evs, Event{Kind: KindResync, At: now})
	}
	// A writer whose clock runs ahead must not push the mark past ours.
	if top.After(now) {
		top = now
	}
	p.mark = top
	for k, at := range p.seen {
		if at.Before(p.mark.Add(-2 * p.Overlap)) {
			delete(p.seen, k)
		}
	}
	if len(evs) == 0 {
		return nil
	}
	return p.Hub.Publish(ctx, evs...)
}
