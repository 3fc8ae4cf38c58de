package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"hotline/auth"
	"hotline/ticket"
)

// SchedulerOptions tune the scheduler.
type SchedulerOptions struct {
	Interval          time.Duration // how often it runs (default 1m)
	ArchiveAfter      time.Duration // closed tickets are archived this long after closing; 0: never
	AnswerAlertWithin time.Duration // an inbound SMS / WeChat / web message unanswered this long raises an alert
	Holder            string        // lease holder id (default hostname:pid:random)
}

// Scheduler marks overdue tickets (alert + supervision queue), raises the
// live alerts of KPI 3 and GB/T 33358 and archives closed tickets. One
// instance at a time runs a round: the "pipeline-scheduler" lease in the
// database.
type Scheduler struct {
	svc *Service
	o   SchedulerOptions
}

// LeaseName is the scheduler's lease in the leases table.
const LeaseName = "pipeline-scheduler"

// NewScheduler builds the scheduler.
func NewScheduler(svc *Service, o SchedulerOptions) *Scheduler {
	if o.Interval <= 0 {
		o.Interval = time.Minute
	}
	if o.Holder == "" {
		host, _ := os.Hostname()
		o.Holder = fmt.Sprintf("%s:%d:%s", host, os.Getpid(), auth.NewToken()[:8])
	}
	return &Scheduler{svc: svc, o: o}
}

// Run ticks until ctx ends, releasing the lease at the end.
func (s *Scheduler) Run(ctx context.Context) {
	t := time.NewTicker(s.o.Interval)
	defer t.Stop()
	defer s.svc.st.ReleaseLease(context.WithoutCancel(ctx), LeaseName, s.o.Holder)
	for {
		if _, err := s.RunOnce(ctx); err != nil && ctx.Err() == nil {
			s.svc.log.Error("pipeline scheduler", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Round is what one round did.
type Round struct {
	Leader   bool // this instance held the lease and ran the round
	Overdue  int
	Alerts   int
	Archived int
}

// RunOnce takes (or renews) the lease and, when held, runs one round.
func (s *Scheduler) RunOnce(ctx context.Context) (Round, error) {
	ok, err := s.svc.st.AcquireLease(ctx, LeaseName, s.o.Holder, 3*s.o.Interval)
	if err != nil || !ok {
		return Round{}, err
	}
	r, err := s.Tick(ctx, s.svc.now())
	r.Leader = true
	return r, err
}

// Tick does one round's work as of now (without the lease: tests and the
// simulator call it directly).
func (s *Scheduler) Tick(ctx context.Context, now time.Time) (Round, error) {
	var r Round
	var errs []error
	due, err := s.svc.st.OverdueCandidates(ctx, statusesOf(overdueable), now, 500)
	if err != nil {
		return r, err
	}
	for _, d := range due {
		_, err := s.svc.Transition(ctx, d.No, ActMarkOverdue, System, Input{})
		var te *TransitionError
		switch {
		case err == nil:
			r.Overdue++
		case errors.As(err, &te): // moved on meanwhile
		default:
			errs = append(errs, fmt.Errorf("mark %s overdue: %w", d.No, err))
		}
	}
	late, err := s.svc.st.FollowupLate(ctx, now, 500)
	if err != nil {
		errs = append(errs, err)
	}
	loc := s.svc.dl.Cal.Location()
	for _, d := range late {
		msg := fmt.Sprintf("工单%s回访超期（应于%s前回访）", d.No, d.DueAt.In(loc).Format("2006-01-02 15:04"))
		if ok, err := s.svc.st.RaiseAlert(ctx, "followup_late", d.No+"/"+strconv.FormatInt(d.DueAt.Unix(), 10), nil, msg, now); err != nil {
			errs = append(errs, err)
		} else if ok {
			r.Alerts++
		}
	}
	if w := s.o.AnswerAlertWithin; w > 0 {
		n, err := s.answerAlerts(ctx, now, w)
		r.Alerts += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	if s.o.ArchiveAfter > 0 {
		nos, err := s.svc.st.ClosedBefore(ctx, now.Add(-s.o.ArchiveAfter), 500)
		if err != nil {
			errs = append(errs, err)
		}
		for _, no := range nos {
			if _, err := s.svc.Transition(ctx, no, ActArchive, System, Input{Note: "自动归档"}); err == nil {
				r.Archived++
			}
		}
	}
	return r, errors.Join(errs...)
}

// answerAlerts raises an alert for each inbound SMS, WeChat, website or
// mailbox message of today still unanswered after within (GB/T 33358: written
// media are answered within 3 minutes; KPI 3: every SMS is replied the same
// day).
func (s *Scheduler) answerAlerts(ctx context.Context, now time.Time, within time.Duration) (int, error) {
	dayStart := s.svc.dl.Cal.Day(now)
	waiting, err := s.svc.st.UnansweredMessages(ctx, []string{"sms", "wechat", "website", "mayor_mailbox"}, dayStart, now.Add(-within), 500)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range waiting {
		id := m.TicketID
		msg := fmt.Sprintf("工单%s的%s消息已等待%d分钟未答复（3分钟内答复；短信须当日回复）", m.TicketNo, channelLabel(m.Channel), int(now.Sub(m.At).Minutes()))
		ok, err := s.svc.st.RaiseAlert(ctx, "unanswered", strconv.FormatInt(m.MessageID, 10), &id, msg, now)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

func channelLabel(ch string) string {
	switch ch {
	case "sms":
		return "短信"
	case "wechat":
		return "微信"
	case "website":
		return "网站"
	case "mayor_mailbox":
		return "市长信箱"
	}
	return ch
}

// statusesOf renders statuses as strings.
func statusesOf(ss []ticket.Status) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}
