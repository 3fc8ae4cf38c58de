// Package outbox delivers what the store queued: every outbound message was
// written in the same transaction as the ticket change that caused it, and this
// worker hands it to the channel's sender with retries and exponential backoff,
// until it is sent or dead-lettered.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"hotline/store"
	"hotline/ticket"
)

// Store is the durable queue.
type Store interface {
	ClaimOutbox(ctx context.Context, n int, lease time.Duration) ([]store.OutboxJob, error)
	OutboxSent(ctx context.Context, j store.OutboxJob) error
	OutboxRetry(ctx context.Context, j store.OutboxJob, cause string, next time.Time) error
	OutboxDead(ctx context.Context, j store.OutboxJob, cause string) error
}

// Sender delivers one message of a route (ticket.ViaSMS ...). It returns an
// error wrapping ticket.ErrPermanent when retrying cannot help.
type Sender interface {
	Send(ctx context.Context, m ticket.Outgoing) error
}

// AttemptLimiter lets a sender override Options.MaxAttempts: 0 retries until
// a 2xx or a permanent refusal (the province must get every event, in order,
// however long it is down).
type AttemptLimiter interface {
	MaxAttempts() int
}

// Observer is told about delivery outcomes (metrics).
type Observer interface {
	Delivered(via string, ok bool, dead bool)
}

// Options of the worker.
type Options struct {
	Workers      int
	PollInterval time.Duration
	Batch        int
	Lease        time.Duration
	BackoffBase  time.Duration
	BackoffMax   time.Duration
	MaxAttempts  int
	SendTimeout  time.Duration
}

// Worker runs the delivery loop.
type Worker struct {
	store   Store
	senders map[string]Sender
	observe Observer
	o       Options
	log     *slog.Logger
	wake    chan struct{}
}

// New builds a worker; senders maps a route to its sender.
func New(s Store, senders map[string]Sender, observe Observer, o Options, log *slog.Logger) *Worker {
	if o.Workers < 1 {
		o.Workers = 1
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = 30 * time.Second
	}
	if o.Lease < 2*o.SendTimeout {
		o.Lease = 2 * o.SendTimeout
	}
	return &Worker{store: s, senders: senders, observe: observe, o: o, log: log, wake: make(chan struct{}, 1)}
}

// Notify wakes the worker after something was queued, so replies go out without
// waiting for the next poll.
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx is cancelled; deliveries in flight then finish (their
// own timeout bounds them) before Run returns.
func (w *Worker) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range w.o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.loop(ctx)
		}()
	}
	wg.Wait()
}

func (w *Worker) loop(ctx context.Context) {
	t := time.NewTicker(w.o.PollInterval)
	defer t.Stop()
	for {
		n := w.RunOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if n == w.o.Batch {
			continue // more may be due
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.wake:
		}
	}
}

// RunOnce claims and delivers one batch; it returns how many items it handled.
func (w *Worker) RunOnce(ctx context.Context) int {
	if ctx.Err() != nil {
		return 0
	}
	jobs, err := w.store.ClaimOutbox(ctx, w.o.Batch, w.o.Lease)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Error("outbox claim", "err", err)
		}
		return 0
	}
	for _, j := range jobs {
		// Finish the batch even when shutting down: the items are leased to us.
		w.deliver(context.WithoutCancel(ctx), j)
	}
	return len(jobs)
}

func (w *Worker) deliver(ctx context.Context, j store.OutboxJob) {
	var p struct {
		Text     string            `json:"text"`
		TicketNo string            `json:"ticket_no"`
		Kind     string            `json:"kind"`
		Meta     map[string]string `json:"meta"`
	}
	var sendErr error
	limit := w.o.MaxAttempts
	if err := json.Unmarshal([]byte(j.Payload), &p); err != nil {
		sendErr = ticket.Permanent(fmt.Errorf("bad payload: %w", err))
	} else if s, ok := w.senders[j.Kind]; !ok {
		sendErr = ticket.Permanent(fmt.Errorf("no sender for %q", j.Kind))
	} else {
		if l, ok := s.(AttemptLimiter); ok {
			limit = l.MaxAttempts()
		}
		sctx, cancel := context.WithTimeout(ctx, w.o.SendTimeout)
		sendErr = s.Send(sctx, ticket.Outgoing{ID: j.ID, Via: j.Kind, To: j.Recipient, Text: p.Text, Kind: p.Kind, TicketNo: p.TicketNo, Meta: p.Meta})
		cancel()
	}
	var err error
	dead := false
	switch {
	case sendErr == nil:
		err = w.store.OutboxSent(ctx, j)
	case errors.Is(sendErr, ticket.ErrPermanent) || (limit > 0 && j.Attempts+1 >= limit):
		dead = true
		err = w.store.OutboxDead(ctx, j, sendErr.Error())
		w.log.Warn("outbox dead letter", "id", j.ID, "via", j.Kind, "attempts", j.Attempts+1, "err", sendErr)
	default:
		next := time.Now().Add(w.Backoff(j.Attempts + 1))
		err = w.store.OutboxRetry(ctx, j, sendErr.Error(), next)
		w.log.Info("outbox retry", "id", j.ID, "via", j.Kind, "attempt", j.Attempts+1, "next", next, "err", sendErr)
	}
	if err != nil {
		// The lease expires and another attempt follows: nothing is lost.
		w.log.Error("outbox record outcome", "id", j.ID, "err", err)
	}
	if w.observe != nil {
		w.observe.Delivered(j.Kind, sendErr == nil, dead)
	}
}

// Backoff is the delay before attempt n+1 after n failures: base·2^(n-1),
// capped, with ±20 % jitter so retries of many items spread out.
func (w *Worker) Backoff(n int) time.Duration {
	d := w.o.BackoffBase
	for i := 1; i < n && d < w.o.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, w.o.BackoffMax)
	jitter := 0.8 + 0.4*rand.Float64()
	return time.Duration(float64(d) * jitter)
}
