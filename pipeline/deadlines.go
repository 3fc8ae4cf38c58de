package pipeline

import (
	"fmt"
	"time"

	"hotline/calendar"
	"hotline/configs"
	"hotline/ticket"
)

// Deadlines computes the standard's time limits on the working calendar. Every
// deadline is returned in UTC, as the store keeps times (SQLite compares them
// as text).
type Deadlines struct {
	Cal                    *calendar.Calendar
	TransferCutoff         calendar.Clock // 17:00
	OvernightDue           calendar.Clock // 12:00
	UrgentTransferWithin   time.Duration  // working time
	ReplyWorkingDays       int
	UrgentReplyWorkingDays int
	ByNature               map[ticket.Nature]int
	ByCategory             map[string]int
	ExtensionMaxDays       int
	FollowupWithin         time.Duration
}

// NewDeadlines builds the rules from the configuration.
func NewDeadlines(cal *calendar.Calendar, c configs.Deadlines) (*Deadlines, error) {
	d := &Deadlines{Cal: cal, UrgentTransferWithin: c.UrgentTransferWithin, ReplyWorkingDays: c.ReplyWorkingDays,
		UrgentReplyWorkingDays: c.UrgentReplyWorkingDays, ByNature: map[ticket.Nature]int{}, ByCategory: map[string]int{},
		ExtensionMaxDays: c.ExtensionMaxDays, FollowupWithin: c.FollowupWithin}
	var err error
	if d.TransferCutoff, err = calendar.ParseClock(c.TransferCutoff); err != nil {
		return nil, fmt.Errorf("deadlines.transfer_cutoff: %w", err)
	}
	if d.OvernightDue, err = calendar.ParseClock(c.OvernightDue); err != nil {
		return nil, fmt.Errorf("deadlines.overnight_due: %w", err)
	}
	if d.ReplyWorkingDays < 1 {
		return nil, fmt.Errorf("deadlines.reply_working_days must be at least 1")
	}
	if d.ExtensionMaxDays < 1 {
		d.ExtensionMaxDays = 7
	}
	if d.FollowupWithin <= 0 {
		d.FollowupWithin = 72 * time.Hour
	}
	for k, v := range c.ReplyDaysByNature {
		switch n := ticket.Nature(k); n {
		case ticket.Consult, ticket.Help, ticket.Suggestion, ticket.Complaint:
			if v < 1 {
				return nil, fmt.Errorf("deadlines.reply_working_days_by_nature.%s must be at least 1", k)
			}
			d.ByNature[n] = v
		default:
			return nil, fmt.Errorf("deadlines.reply_working_days_by_nature: unknown nature %q", k)
		}
	}
	for k, v := range c.ReplyDaysByCategory {
		if v < 1 {
			return nil, fmt.Errorf("deadlines.reply_working_days_by_category.%s must be at least 1", k)
		}
		d.ByCategory[k] = v
	}
	return d, nil
}

// TransferDue is when a 承办单 accepted at t must be transferred: accepted in
// working hours of a working day (work start ≤ t < cutoff), by the cutoff the
// same day; accepted between the cutoff and the next working day's work start
// (nights, rest days, holidays), by the overnight due time (12:00) of that next
// working day. Urgent: within UrgentTransferWithin of working time when earlier.
func (d *Deadlines) TransferDue(t time.Time, urgent bool) time.Time {
	cal := d.Cal
	var due time.Time
	if cal.IsWorkday(t) {
		switch start, cut := cal.At(t, cal.WorkStart()), cal.At(t, d.TransferCutoff); {
		case t.Before(start):
			due = cal.At(t, d.OvernightDue)
		case t.Before(cut):
			due = cut
		default:
			due = cal.At(cal.NextWorkday(t), d.OvernightDue)
		}
	} else {
		due = cal.At(cal.NextWorkday(t), d.OvernightDue)
	}
	if urgent && d.UrgentTransferWithin > 0 {
		if u := cal.AddWorkingTime(t, d.UrgentTransferWithin); u.Before(due) {
			due = u
		}
	}
	return due.UTC()
}

// ReplyDays is the number of working days a unit has for a ticket.
func (d *Deadlines) ReplyDays(category string, n ticket.Nature, urgent bool) int {
	if urgent && d.UrgentReplyWorkingDays > 0 {
		return d.UrgentReplyWorkingDays
	}
	if v, ok := d.ByCategory[category]; ok {
		return v
	}
	if v, ok := d.ByNature[n]; ok {
		return v
	}
	return d.ReplyWorkingDays
}

// ReplyDue is when a unit dispatched at t must reply: the end of work of the
// n-th working day after t's date, or the provincial case's own due date when
// that is earlier.
func (d *Deadlines) ReplyDue(t time.Time, category string, n ticket.Nature, urgent bool, province *time.Time) time.Time {
	due := d.Cal.EndOfWorkdays(t, d.ReplyDays(category, n, urgent))
	if province != nil && province.Before(due) {
		return province.UTC()
	}
	return due.UTC()
}

// ExtendedDue moves a due date by days working days (to the end of work).
func (d *Deadlines) ExtendedDue(due time.Time, days int) time.Time {
	return d.Cal.EndOfWorkdays(due, days).UTC()
}

// FollowupDue is when a ticket replied at t must have been followed up.
func (d *Deadlines) FollowupDue(t time.Time) time.Time { return t.Add(d.FollowupWithin).UTC() }
