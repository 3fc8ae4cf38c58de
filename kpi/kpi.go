// Package kpi computes the eleven KPIs of the work standard (总体指标) for a
// period, for the centre or one handling unit, in total, per day and per unit,
// and renders them as the contract's JSON and as an .xlsx workbook.
//
// Definitions (numerator / denominator, exclusions), each counted on the day
// named:
//
//  1. answer_rate 人工接通率 ≥95%: calls answered / calls offered (the day offered).
//  2. answer_in_15s_rate 人工应答及时率 ≥80%: calls answered within 15 s of being
//     offered / calls answered (the day offered).
//  3. sms_reply_rate 短信回复率 100%: SMS replied the same day / SMS received that
//     day; SMS of tickets discarded as invalid (无效信息) excluded.
//  4. complaint_rate 投诉率 ≤2%: valid complaints about the centre's staff (tickets
//     marked staff_complaint by the supervision office) / valid calls (voice
//     tickets not discarded), both on the day the ticket was created.
//  5. service_satisfaction_rate 服务过程满意率 ≥98%: ratings 满意 or 基本满意 / all
//     service ratings of inbound and outbound calls (the day rated).
//  6. transfer_on_time_rate 转办及时率 ≥90%: tickets transferred to a unit by their
//     transfer deadline / tickets due for transfer (the day due; a ticket
//     answered from the knowledge base after review is not due; one due later
//     than now and not yet transferred is not counted yet).
//  7. reply_on_time_rate 按期回复率 ≥95%: main 承办单 replied by their (extended)
//     deadline / main 承办单 due (the day due; returned and cancelled orders
//     excluded, and so are orders not yet due and not replied).
//  8. reasonable_satisfaction_rate 合理诉求满意率 ≥90%: cases whose last follow-up
//     reaching the citizen found the result 满意/基本满意 / cases with a
//     reasonable demand (the day followed up; unreachable citizens excluded).
//  9. response_rate 答复率 100%: follow-ups in which the citizen confirms the unit
//     answered / follow-ups asking it (confidential tickets and citizens twice
//     unreachable excluded; the day followed up).
//  10. rework_rate 退回重办率 ≤5%: cases returned for rework (退回重办) / cases
//     handled (a main 承办单 replied), counted on the day of the rework and of
//     the reply.
//  11. followup_on_time_rate 回访及时率 ≥95%: replied cases followed up within 3
//     days / replied cases due for follow-up (the day due; unreachable citizens
//     excluded, and cases not yet due and not followed up).
package kpi

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"hotline/store"
)

// Def is one KPI of the standard.
type Def struct {
	ID     int
	Key    string
	Name   string
	Target float64
	AtMost bool // the value must not exceed the target (投诉率, 退回重办率)
	Unit   bool // has a per-unit figure
}

// Defs are the eleven KPIs in the standard's order.
var Defs = []Def{
	{1, "answer_rate", "人工接通率", 0.95, false, false},
	{2, "answer_in_15s_rate", "人工应答及时率", 0.80, false, false},
	{3, "sms_reply_rate", "短信回复率", 1.00, false, false},
	{4, "complaint_rate", "投诉率", 0.02, true, false},
	{5, "service_satisfaction_rate", "服务过程满意率", 0.98, false, false},
	{6, "transfer_on_time_rate", "转办及时率", 0.90, false, false},
	{7, "reply_on_time_rate", "按期回复率", 0.95, false, true},
	{8, "reasonable_satisfaction_rate", "合理诉求满意率", 0.90, false, true},
	{9, "response_rate", "答复率", 1.00, false, true},
	{10, "rework_rate", "退回重办率", 0.05, true, true},
	{11, "followup_on_time_rate", "回访及时率", 0.95, false, true},
}

// AnswerWithin is KPI 2's limit.
const AnswerWithin = 15 * time.Second

// Figure is one KPI's value (the contract's JSON, keys in order).
type Figure struct {
	ID          int      `json:"id"`
	Key         string   `json:"key"`
	Name        string   `json:"name"`
	Numerator   int64    `json:"numerator"`
	Denominator int64    `json:"denominator"`
	Value       *float64 `json:"value"`
	Target      float64  `json:"target"`
	Met         bool     `json:"met"`
}

// Report is the answer of GET /api/v1/kpis (contract keys, in order).
type Report struct {
	From string   `json:"from"`
	To   string   `json:"to"`
	Unit *string  `json:"unit"`
	KPIs []Figure `json:"kpis"`
}

// Counts are the eleven numerators and denominators.
type Counts [11][2]int64

func (c *Counts) add(i int, num bool) {
	c[i][1]++
	if num {
		c[i][0]++
	}
}

// Figures turns counts into the eleven figures: value nil when the
// denominator is 0 (then met is false).
func (c Counts) Figures() []Figure {
	out := make([]Figure, len(Defs))
	for i, d := range Defs {
		f := Figure{ID: d.ID, Key: d.Key, Name: d.Name, Numerator: c[i][0], Denominator: c[i][1], Target: d.Target}
		if f.Denominator > 0 {
			v := float64(f.Numerator) / float64(f.Denominator)
			v = math.Round(v*1e6) / 1e6
			f.Value = &v
			if d.AtMost {
				f.Met = v <= d.Target+1e-9
			} else {
				f.Met = v >= d.Target-1e-9
			}
		}
		out[i] = f
	}
	return out
}

// Scope selects the facts of one unit (nil: the centre, everything).
type Scope struct {
	Units map[int64]bool // the unit (and its sub-units when asked)
}

func (s *Scope) has(id *int64) bool {
	if s == nil {
		return true
	}
	return id != nil && s.Units[*id]
}

// Count computes the eleven counts of facts, keyed by day (city time zone)
// and in total, for scope, with now deciding what is not due yet.
func Count(f store.KPIFacts, scope *Scope, loc *time.Location, now time.Time) (total Counts, byDay map[string]*Counts) {
	byDay = map[string]*Counts{}
	day := func(t time.Time) *Counts {
		k := t.In(loc).Format(time.DateOnly)
		c := byDay[k]
		if c == nil {
			c = &Counts{}
			byDay[k] = c
		}
		return c
	}
	both := func(t time.Time, i int, num bool) {
		total.add(i, num)
		day(t).add(i, num)
	}
	centre := scope == nil
	if centre {
		for _, c := range f.Calls {
			both(c.OfferedAt, 0, c.Answered)
			if c.Answered {
				both(c.OfferedAt, 1, c.WaitSeconds != nil && *c.WaitSeconds <= AnswerWithin.Seconds())
			}
		}
		for _, m := range f.SMS {
			if m.Invalid {
				continue
			}
			same := m.RepliedAt != nil && m.RepliedAt.In(loc).Format(time.DateOnly) == m.At.In(loc).Format(time.DateOnly)
			both(m.At, 2, same)
		}
		// KPI 4: complaints about staff over valid calls, on the day created.
		for _, t := range f.Tickets {
			if t.Discarded {
				continue
			}
			if t.StaffComplaint {
				total[3][0]++
				day(t.CreatedAt)[3][0]++
			}
			if t.Channel == "voice" {
				total[3][1]++
				day(t.CreatedAt)[3][1]++
			}
		}
		for _, r := range f.Ratings {
			both(r.At, 4, r.Rating == "satisfied" || r.Rating == "basic")
		}
		for _, t := range f.Transfers {
			if t.TransferredAt == nil && t.DueAt.After(now) {
				continue // not due yet
			}
			both(t.DueAt, 5, t.TransferredAt != nil && !t.TransferredAt.After(t.DueAt))
		}
	}
	for _, o := range f.Orders {
		if !scope.has(&o.UnitID) || o.DueAt == nil {
			continue
		}
		if o.RepliedAt == nil && o.DueAt.After(now) {
			continue
		}
		both(*o.DueAt, 6, o.RepliedAt != nil && !o.RepliedAt.After(*o.DueAt))
	}
	// KPI 8: the last follow-up of each case in the period; KPI 9: every follow-up asking.
	last := map[int64]store.FollowUpFact{}
	for _, fu := range f.FollowUps {
		if !scope.has(fu.UnitID) {
			continue
		}
		if p, ok := last[fu.TicketID]; !ok || !fu.At.Before(p.At) {
			last[fu.TicketID] = fu
		}
		if fu.UnitReplied != nil && !fu.Confidential {
			both(fu.At, 8, *fu.UnitReplied)
		}
	}
	ids := make([]int64, 0, len(last))
	for id := range last {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		fu := last[id]
		if fu.Reasonable != nil && *fu.Reasonable {
			both(fu.At, 7, fu.ResultRating == "satisfied" || fu.ResultRating == "basic")
		}
	}
	// KPI 10: distinct cases reworked / distinct cases replied, per day.
	type dk struct {
		day    string
		ticket int64
	}
	handled, reworked := map[dk]bool{}, map[dk]bool{}
	seenH, seenR := map[int64]bool{}, map[int64]bool{}
	for _, o := range f.Replied {
		if !scope.has(&o.UnitID) {
			continue
		}
		if o.Rework {
			k := dk{o.DispatchedAt.In(loc).Format(time.DateOnly), o.TicketID}
			if !reworked[k] {
				reworked[k] = true
				day(o.DispatchedAt)[9][0]++
			}
			if !seenR[o.TicketID] {
				seenR[o.TicketID] = true
				total[9][0]++
			}
		}
		if o.RepliedAt != nil {
			k := dk{o.RepliedAt.In(loc).Format(time.DateOnly), o.TicketID}
			if !handled[k] {
				handled[k] = true
				day(*o.RepliedAt)[9][1]++
			}
			if !seenH[o.TicketID] {
				seenH[o.TicketID] = true
				total[9][1]++
			}
		}
	}
	for _, d := range f.FollowupDue {
		if !scope.has(d.UnitID) || d.Unreachable {
			continue
		}
		if d.FollowedUpAt == nil && d.DueAt.After(now) {
			continue
		}
		both(d.DueAt, 10, d.FollowedUpAt != nil && !d.FollowedUpAt.After(d.DueAt))
	}
	return total, byDay
}

// Service reads facts from the store and reports.
type Service struct {
	St    *store.Store
	Loc   *time.Location
	City  string           // for titles
	Now   func() time.Time // tests
	Units func(ctx context.Context) ([]store.UnitView, error)
}

// NewService builds the service.
func NewService(st *store.Store, loc *time.Location, city string) *Service {
	return &Service{St: st, Loc: loc, City: city, Now: time.Now, Units: st.ListUnits}
}

// Query is a period (inclusive local dates) and an optional unit.
type Query struct {
	From, To time.Time // local midnight of the first and the last day
	Unit     *store.UnitView
	Subtree  bool // the unit with its sub-units
}

// ParseDates reads from/to as YYYY-MM-DD in loc; to must not precede from and
// the period is at most 400 days.
func ParseDates(from, to string, loc *time.Location) (time.Time, time.Time, error) {
	f, err := time.ParseInLocation(time.DateOnly, from, loc)
	if err != nil {
		return f, f, fmt.Errorf("from must be a date YYYY-MM-DD")
	}
	t, err := time.ParseInLocation(time.DateOnly, to, loc)
	if err != nil {
		return f, t, fmt.Errorf("to must be a date YYYY-MM-DD")
	}
	if t.Before(f) || t.Sub(f) > 400*24*time.Hour {
		return f, t, fmt.Errorf("to must not precede from, and the period is at most 400 days")
	}
	return f, t, nil
}

func (s *Service) end(q Query) time.Time { return q.To.AddDate(0, 0, 1) }

func (s *Service) scope(ctx context.Context, q Query) (*Scope, error) {
	if q.Unit == nil {
		return nil, nil
	}
	ids := []int64{q.Unit.ID}
	if q.Subtree {
		var err error
		if ids, err = s.St.UnitSubtree(ctx, q.Unit.ID); err != nil {
			return nil, err
		}
	}
	sc := &Scope{Units: map[int64]bool{}}
	for _, id := range ids {
		sc.Units[id] = true
	}
	return sc, nil
}

// Report is the period's eleven figures.
func (s *Service) Report(ctx context.Context, q Query) (Report, error) {
	facts, err := s.St.KPIFacts(ctx, q.From, s.end(q))
	if err != nil {
		return Report{}, err
	}
	sc, err := s.scope(ctx, q)
	if err != nil {
		return Report{}, err
	}
	total, _ := Count(facts, sc, s.Loc, s.Now())
	return s.report(q, total), nil
}

func (s *Service) report(q Query, c Counts) Report {
	r := Report{From: q.From.Format(time.DateOnly), To: q.To.Format(time.DateOnly), KPIs: c.Figures()}
	if q.Unit != nil {
		name := q.Unit.Name
		r.Unit = &name
	}
	return r
}

// Day is one day's figures.
type Day struct {
	Date string   `json:"date"`
	KPIs []Figure `json:"kpis"`
}

// UnitFigures is one unit's figures (KPIs 7 to 11; the others are the centre's).
type UnitFigures struct {
	UnitID   int64    `json:"unit_id"`
	UnitName string   `json:"unit_name"`
	Kind     string   `json:"kind"`
	KPIs     []Figure `json:"kpis"`
}

// Detail is a period in total, per day and per unit.
type Detail struct {
	Report
	Days  []Day         `json:"days"`
	Units []UnitFigures `json:"units"`
}

// Detail computes the report with its days and (for the centre) its units.
func (s *Service) Detail(ctx context.Context, q Query) (Detail, error) {
	facts, err := s.St.KPIFacts(ctx, q.From, s.end(q))
	if err != nil {
		return Detail{}, err
	}
	sc, err := s.scope(ctx, q)
	if err != nil {
		return Detail{}, err
	}
	now := s.Now()
	total, byDay := Count(facts, sc, s.Loc, now)
	d := Detail{Report: s.report(q, total), Days: []Day{}, Units: []UnitFigures{}}
	for day := q.From; !day.After(q.To); day = day.AddDate(0, 0, 1) {
		k := day.Format(time.DateOnly)
		c := byDay[k]
		if c == nil {
			c = &Counts{}
		}
		d.Days = append(d.Days, Day{Date: k, KPIs: c.Figures()})
	}
	if q.Unit != nil {
		return d, nil
	}
	units, err := s.Units(ctx)
	if err != nil {
		return d, err
	}
	active := map[int64]bool{}
	for _, o := range facts.Orders {
		active[o.UnitID] = true
	}
	for _, o := range facts.Replied {
		active[o.UnitID] = true
	}
	for _, fu := range facts.FollowUps {
		if fu.UnitID != nil {
			active[*fu.UnitID] = true
		}
	}
	for _, u := range units {
		if !active[u.ID] {
			continue
		}
		c, _ := Count(facts, &Scope{Units: map[int64]bool{u.ID: true}}, s.Loc, now)
		fs := c.Figures()
		d.Units = append(d.Units, UnitFigures{UnitID: u.ID, UnitName: u.Name, Kind: u.Kind, KPIs: fs})
	}
	return d, nil
}
