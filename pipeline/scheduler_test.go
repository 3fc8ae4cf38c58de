package pipeline_test

import (
	"testing"
	"time"

	"hotline/auth"
	"hotline/normalize"
	"hotline/pipeline"
	"hotline/store"
	"hotline/ticket"
)

func TestSchedulerMarksOverdue(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		past := time.Now().Add(-40 * 24 * time.Hour)
		e.svc.SetClock(func() time.Time { return past })
		late := e.walk(normalize.SMS, ticket.StatusHandling) // due about a month ago
		e.svc.SetClock(time.Now)
		fresh := e.walk(normalize.SMS, ticket.StatusHandling) // due next week
		review := e.walk(normalize.SMS, ticket.StatusTransferReview)

		sch := pipeline.NewScheduler(e.svc, pipeline.SchedulerOptions{Interval: time.Minute})
		now := time.Now()
		r, err := sch.Tick(e.ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		if r.Overdue != 1 {
			t.Fatalf("overdue marked: %d, want 1", r.Overdue)
		}
		tk := e.ticket(late)
		if tk.Status != ticket.StatusHandling || tk.Events[len(tk.Events)-1].Type != string(pipeline.ActMarkOverdue) {
			t.Fatalf("overdue ticket: %s %+v", tk.Status, tk.Events[len(tk.Events)-1])
		}
		q, _ := e.st.Queue(e.ctx, store.QueueFilter{Open: true, Reason: "overdue"})
		if len(q) != 1 || q[0].TicketNo != late || !q[0].Overdue {
			t.Fatalf("supervision queue: %+v", q)
		}
		alerts, _ := e.st.ListAlerts(e.ctx, true, 10)
		if len(alerts) != 1 || alerts[0].Kind != "overdue" || alerts[0].TicketNo != late {
			t.Fatalf("alerts: %+v", alerts)
		}
		// Idempotent: a second round marks nothing new.
		if r, _ := sch.Tick(e.ctx, now); r.Overdue != 0 {
			t.Fatalf("second round marked %d", r.Overdue)
		}
		// The transfer deadline: the review ticket is due today 17:00 or 12:00 at the latest.
		if r, _ := sch.Tick(e.ctx, now.Add(4*24*time.Hour)); r.Overdue != 1 {
			t.Fatalf("transfer overdue: %d", r.Overdue)
		}
		if f := e.flow(review); f.Flow.OverdueAt == nil {
			t.Fatal("transfer review ticket not overdue")
		}
		_ = fresh
		// The unit's reply resolves the overdue supervision item.
		e.do(late, pipeline.ActReply, "unit", pipeline.Input{Text: goodReply})
		if q, _ := e.st.Queue(e.ctx, store.QueueFilter{Open: true, Reason: "overdue", Statuses: []string{string(ticket.StatusReplied)}}); len(q) != 0 {
			t.Fatalf("replied ticket still overdue-supervised: %+v", q)
		}
	})
}

func TestSchedulerLeaseOneAtATime(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		a := pipeline.NewScheduler(e.svc, pipeline.SchedulerOptions{Interval: time.Minute, Holder: "a"})
		b := pipeline.NewScheduler(e.svc, pipeline.SchedulerOptions{Interval: time.Minute, Holder: "b"})
		ra, err := a.RunOnce(e.ctx)
		if err != nil || !ra.Leader {
			t.Fatalf("a: %+v %v", ra, err)
		}
		if rb, err := b.RunOnce(e.ctx); err != nil || rb.Leader {
			t.Fatalf("b ran while a holds the lease: %+v %v", rb, err)
		}
		if ra, _ := a.RunOnce(e.ctx); !ra.Leader {
			t.Fatal("a lost its own lease on renewal")
		}
		if err := e.st.ReleaseLease(e.ctx, pipeline.LeaseName, "a"); err != nil {
			t.Fatal(err)
		}
		if rb, _ := b.RunOnce(e.ctx); !rb.Leader {
			t.Fatal("b did not take the released lease")
		}
	})
}

func TestSchedulerAnswerAlertsAndArchive(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		waiting := e.newTicket(normalize.SMS, "13800138005", "小区停水了")
		answered := e.newTicket(normalize.SMS, "13800138006", "小区停电了")
		e.do(answered, pipeline.ActAnswer, auth.RoleIntake, pipeline.Input{Text: "供电公司正在抢修，预计18时恢复"})
		sch := pipeline.NewScheduler(e.svc, pipeline.SchedulerOptions{AnswerAlertWithin: 2 * time.Minute, ArchiveAfter: time.Hour})
		now := time.Now().Add(5 * time.Minute)
		r, err := sch.Tick(e.ctx, now)
		if err != nil || r.Alerts != 1 {
			t.Fatalf("round: %+v %v", r, err)
		}
		alerts, _ := e.st.ListAlerts(e.ctx, true, 10)
		if len(alerts) != 1 || alerts[0].Kind != "unanswered" || alerts[0].TicketNo != waiting {
			t.Fatalf("alerts: %+v", alerts)
		}
		if r, _ := sch.Tick(e.ctx, now); r.Alerts != 0 {
			t.Fatal("alert raised twice")
		}
		if err := e.st.AckAlert(e.ctx, alerts[0].ID, "lead"); err != nil {
			t.Fatal(err)
		}
		if open, _ := e.st.ListAlerts(e.ctx, true, 10); len(open) != 0 {
			t.Fatal("acknowledged alert still open")
		}
		r, _ = sch.Tick(e.ctx, time.Now().Add(2*time.Hour))
		if r.Archived != 1 || e.status(answered) != ticket.StatusArchived {
			t.Fatalf("archive: %+v %s", r, e.status(answered))
		}
	})
}
