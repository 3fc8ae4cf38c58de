package store

import (
	"context"
	"database/sql/driver"
	"fmt"
	"time"

	"gorm.io/gorm"

	"hotline/ticket"
)

// The facts the eleven KPIs are computed from (package kpi does the counting,
// by day and by unit, in the city's time zone). Each list holds the rows whose
// attribution time falls in [from, to).

// CallFact is a call offered (KPIs 1, 2).
type CallFact struct {
	OfferedAt   time.Time
	Answered    bool
	WaitSeconds *float64
}

// SMSFact is an inbound SMS and the first reply after it (KPI 3).
type SMSFact struct {
	At        time.Time
	RepliedAt *time.Time
	Invalid   bool // its ticket was discarded as invalid
}

// TicketFact is a ticket created (KPI 4).
type TicketFact struct {
	CreatedAt      time.Time
	Channel        string
	Discarded      bool
	StaffComplaint bool
}

// RatingFact is a service rating (KPI 5).
type RatingFact struct {
	At     time.Time
	Rating string
}

// TransferFact is a ticket due for transfer (KPI 6).
type TransferFact struct {
	DueAt         time.Time
	TransferredAt *time.Time
}

// OrderFact is a main 承办单 (KPIs 7 and 10).
type OrderFact struct {
	TicketID     int64
	UnitID       int64
	Status       string
	Rework       bool
	DispatchedAt time.Time
	DueAt        *time.Time
	RepliedAt    *time.Time
}

// FollowUpFact is a follow-up that reached the citizen (KPIs 8, 9).
type FollowUpFact struct {
	TicketID     int64
	UnitID       *int64
	At           time.Time
	ResultRating string
	Reasonable   *bool
	UnitReplied  *bool
	Confidential bool
}

// FollowupDueFact is a replied ticket due for follow-up (KPI 11).
type FollowupDueFact struct {
	UnitID       *int64
	DueAt        time.Time
	FollowedUpAt *time.Time
	Unreachable  bool
}

// KPIFacts are all facts of a period.
type KPIFacts struct {
	Calls       []CallFact
	SMS         []SMSFact
	Tickets     []TicketFact
	Ratings     []RatingFact
	Transfers   []TransferFact
	Orders      []OrderFact // due in the period (KPI 7)
	Replied     []OrderFact // replied or sent for rework in the period (KPI 10)
	FollowUps   []FollowUpFact
	FollowupDue []FollowupDueFact
}

// KPIFacts loads the facts of [from, to).
func (s *Store) KPIFacts(ctx context.Context, from, to time.Time) (KPIFacts, error) {
	from, to = from.UTC(), to.UTC()
	db := s.db.WithContext(ctx)
	var f KPIFacts
	var calls []struct {
		OfferedAt   flexTime
		AnsweredAt  *flexTime
		WaitSeconds *float64
	}
	if err := db.Model(&Call{}).Select("offered_at, answered_at, wait_seconds").
		Where("offered_at >= ? AND offered_at < ?", from, to).Scan(&calls).Error; err != nil {
		return f, fmt.Errorf("kpi calls: %w", err)
	}
	for _, c := range calls {
		f.Calls = append(f.Calls, CallFact{OfferedAt: c.OfferedAt.T, Answered: c.AnsweredAt != nil, WaitSeconds: c.WaitSeconds})
	}
	var sms []struct {
		At        flexTime
		RepliedAt *flexTime
		Status    string
	}
	if err := db.Table("messages m").
		Select(`m.at, t.status, (SELECT MIN(o.at) FROM messages o WHERE o.ticket_id = m.ticket_id AND o.direction = 'out'
			AND o.at >= m.at AND o.delivery <> ?) AS replied_at`, ticket.DeliveryDead).
		Joins("JOIN tickets t ON t.id = m.ticket_id").
		Where("m.channel = ? AND m.direction = ? AND m.at >= ? AND m.at < ?", "sms", "in", from, to).Scan(&sms).Error; err != nil {
		return f, fmt.Errorf("kpi sms: %w", err)
	}
	for _, m := range sms {
		f.SMS = append(f.SMS, SMSFact{At: m.At.T, RepliedAt: m.RepliedAt.ptr(), Invalid: m.Status == string(ticket.StatusDiscarded)})
	}
	var tks []struct {
		CreatedAt      flexTime
		Channel        string
		Status         string
		StaffComplaint *bool
	}
	if err := db.Table("tickets t").Select("t.created_at, t.channel, t.status, f.staff_complaint").
		Joins("LEFT JOIN ticket_flows f ON f.ticket_id = t.id").
		Where("t.created_at >= ? AND t.created_at < ?", from, to).Scan(&tks).Error; err != nil {
		return f, fmt.Errorf("kpi tickets: %w", err)
	}
	for _, t := range tks {
		f.Tickets = append(f.Tickets, TicketFact{CreatedAt: t.CreatedAt.T, Channel: t.Channel,
			Discarded: t.Status == string(ticket.StatusDiscarded), StaffComplaint: t.StaffComplaint != nil && *t.StaffComplaint})
	}
	var rs []struct {
		At     flexTime
		Rating string
	}
	if err := db.Model(&ServiceRating{}).Select("at, rating").Where("at >= ? AND at < ?", from, to).Scan(&rs).Error; err != nil {
		return f, fmt.Errorf("kpi ratings: %w", err)
	}
	for _, r := range rs {
		f.Ratings = append(f.Ratings, RatingFact{At: r.At.T, Rating: r.Rating})
	}
	var trs []struct {
		TransferDueAt flexTime
		TransferredAt *flexTime
	}
	if err := db.Model(&TicketFlow{}).Select("transfer_due_at, transferred_at").
		Where("transfer_due_at >= ? AND transfer_due_at < ?", from, to).Scan(&trs).Error; err != nil {
		return f, fmt.Errorf("kpi transfers: %w", err)
	}
	for _, t := range trs {
		f.Transfers = append(f.Transfers, TransferFact{DueAt: t.TransferDueAt.T, TransferredAt: t.TransferredAt.ptr()})
	}
	orders := func(where string, args ...any) ([]OrderFact, error) {
		var os []struct {
			TicketID     int64
			UnitID       int64
			Status       string
			Rework       bool
			DispatchedAt flexTime
			DueAt        *flexTime
			RepliedAt    *flexTime
		}
		err := db.Model(&WorkOrder{}).Select("ticket_id, unit_id, status, rework, dispatched_at, due_at, replied_at").
			Where("role = ?", "main").Where(where, args...).Scan(&os).Error
		out := make([]OrderFact, len(os))
		for i, o := range os {
			out[i] = OrderFact{TicketID: o.TicketID, UnitID: o.UnitID, Status: o.Status, Rework: o.Rework,
				DispatchedAt: o.DispatchedAt.T, DueAt: o.DueAt.ptr(), RepliedAt: o.RepliedAt.ptr()}
		}
		return out, err
	}
	var err error
	if f.Orders, err = orders("status NOT IN ? AND due_at >= ? AND due_at < ?", []string{OrderReturned, OrderCancelled}, from, to); err != nil {
		return f, fmt.Errorf("kpi orders: %w", err)
	}
	if f.Replied, err = orders("((replied_at >= ? AND replied_at < ?) OR (rework AND dispatched_at >= ? AND dispatched_at < ?))",
		from, to, from, to); err != nil {
		return f, fmt.Errorf("kpi replies: %w", err)
	}
	var fus []struct {
		TicketID     int64
		UnitID       *int64
		At           flexTime
		ResultRating string
		Reasonable   *bool
		UnitReplied  *bool
		Confidential bool
	}
	if err := db.Model(&FollowUp{}).Select("ticket_id, unit_id, at, result_rating, reasonable, unit_replied, confidential").
		Where("outcome = ? AND at >= ? AND at < ?", "reached", from, to).Order("at, id").Scan(&fus).Error; err != nil {
		return f, fmt.Errorf("kpi followups: %w", err)
	}
	for _, x := range fus {
		f.FollowUps = append(f.FollowUps, FollowUpFact{TicketID: x.TicketID, UnitID: x.UnitID, At: x.At.T, ResultRating: x.ResultRating,
			Reasonable: x.Reasonable, UnitReplied: x.UnitReplied, Confidential: x.Confidential})
	}
	var fds []struct {
		UnitID        *int64
		FollowupDueAt flexTime
		FollowedUpAt  *flexTime
		Unreachable   bool
	}
	if err := db.Table("ticket_flows f").Select("t.unit_id, f.followup_due_at, f.followed_up_at, f.unreachable").
		Joins("JOIN tickets t ON t.id = f.ticket_id").
		Where("f.followup_due_at >= ? AND f.followup_due_at < ?", from, to).Scan(&fds).Error; err != nil {
		return f, fmt.Errorf("kpi followup due: %w", err)
	}
	for _, x := range fds {
		f.FollowupDue = append(f.FollowupDue, FollowupDueFact{UnitID: x.UnitID, DueAt: x.FollowupDueAt.T,
			FollowedUpAt: x.FollowedUpAt.ptr(), Unreachable: x.Unreachable})
	}
	return f, nil
}

// flexTime scans a timestamp whether the driver hands a time.Time or, for
// SQLite expressions such as MIN(at) that lose the column type, text.
type flexTime struct{ T time.Time }

var timeLayouts = []string{
	"2006-01-02 15:04:05.999999999-07:00", "2006-01-02T15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05", "2006-01-02T15:04:05Z07:00", time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999 -0700 MST",
}

// Scan implements sql.Scanner.
func (f *flexTime) Scan(v any) error {
	switch x := v.(type) {
	case time.Time:
		f.T = x
		return nil
	case string:
		return f.parse(x)
	case []byte:
		return f.parse(string(x))
	case nil:
		f.T = time.Time{}
		return nil
	}
	return fmt.Errorf("flexTime: cannot scan %T", v)
}

func (f *flexTime) parse(s string) error {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			f.T = t
			return nil
		}
	}
	return fmt.Errorf("flexTime: cannot parse %q", s)
}

// Value implements driver.Valuer.
func (f flexTime) Value() (driver.Value, error) { return f.T, nil }

func (f *flexTime) ptr() *time.Time {
	if f == nil || f.T.IsZero() {
		return nil
	}
	t := f.T
	return &t
}

// SimTicket is one generated ticket with everything that hangs off it
// (`hotline simulate`); the ticket ids of the dependents are filled in.
type SimTicket struct {
	Ticket    Ticket
	Messages  []Message
	Flow      *TicketFlow
	Orders    []WorkOrder
	FollowUps []FollowUp
	Ratings   []ServiceRating
}

// InsertContacts stores generated contacts, filling their ids.
func (s *Store) InsertContacts(ctx context.Context, cs []Contact) error {
	if len(cs) == 0 {
		return nil
	}
	return s.db.WithContext(ctx).CreateInBatches(cs, 500).Error
}

// InsertSimulated stores generated tickets and calls in one transaction.
func (s *Store) InsertSimulated(ctx context.Context, ts []SimTicket, calls []Call) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if len(calls) > 0 {
			if err := tx.CreateInBatches(calls, 500).Error; err != nil {
				return fmt.Errorf("calls: %w", err)
			}
		}
		if len(ts) == 0 {
			return nil
		}
		tks := make([]Ticket, len(ts))
		for i := range ts {
			tks[i] = ts[i].Ticket
		}
		if err := tx.CreateInBatches(tks, 500).Error; err != nil {
			return fmt.Errorf("tickets: %w", err)
		}
		var msgs []Message
		var flows []TicketFlow
		var orders []WorkOrder
		var fus []FollowUp
		var rs []ServiceRating
		for i := range ts {
			id := tks[i].ID
			if id == 0 {
				return fmt.Errorf("tickets: no id returned for %s", tks[i].No)
			}
			ts[i].Ticket.ID = id
			for _, m := range ts[i].Messages {
				m.TicketID = id
				msgs = append(msgs, m)
			}
			if f := ts[i].Flow; f != nil {
				f.TicketID = id
				flows = append(flows, *f)
			}
			for _, o := range ts[i].Orders {
				o.TicketID = id
				orders = append(orders, o)
			}
			for _, f := range ts[i].FollowUps {
				f.TicketID = id
				fus = append(fus, f)
			}
			for _, r := range ts[i].Ratings {
				r.TicketID = &id
				rs = append(rs, r)
			}
		}
		for _, batch := range []struct {
			name string
			rows any
			n    int
		}{{"messages", msgs, len(msgs)}, {"flows", flows, len(flows)}, {"orders", orders, len(orders)},
			{"followups", fus, len(fus)}, {"ratings", rs, len(rs)}} {
			if batch.n == 0 {
				continue
			}
			if err := tx.CreateInBatches(batch.rows, 500).Error; err != nil {
				return fmt.Errorf("%s: %w", batch.name, err)
			}
		}
		return nil
	})
}

// CountSimulated counts the generated tickets created in [from, to).
func (s *Store) CountSimulated(ctx context.Context, from, to time.Time) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&Ticket{}).Where("flags = ? AND created_at >= ? AND created_at < ?", SimulatedFlag, from.UTC(), to.UTC()).Count(&n).Error
	return n, err
}

// SimulatedFlag marks generated tickets.
const SimulatedFlag = "simulated"
