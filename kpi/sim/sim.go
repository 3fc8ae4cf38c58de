// Package sim generates a month of hotline history (`hotline simulate`):
// calls, tickets of every channel with their messages, transfers on the working
// calendar, 承办单, replies, extensions, reworks, follow-ups and ratings, in
// proportions like the seed's (≈70 % answered directly). While it generates,
// it counts the eleven KPIs itself from what it decided, so that the KPI
// report read back from the database can be checked against an independent
// count.
package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"hotline/kpi"
	"hotline/normalize"
	"hotline/pipeline"
	"hotline/store"
	"hotline/ticket"
)

// Options of a run.
type Options struct {
	Month    time.Time // any time in the month (city time zone)
	Tickets  int
	Seed     uint64
	Now      time.Time // what is due by now (default: time.Now())
	Chunk    int       // tickets per transaction (default 2000)
	Units    []byte    // units file imported when there are no units (configs/units.csv)
	Progress func(done, total int)
}

// Result is what was generated and the independent count of the KPIs.
type Result struct {
	From, To time.Time // the month: [From, To)
	Tickets  int
	Calls    int
	Expected kpi.Counts
	Days     map[string]*kpi.Counts
}

var categories = []string{"城建环保", "农业经济", "司法民政", "工业交通", "劳动人事", "科教文卫", "财税金融", "服务业", "其他"}
var natures = []ticket.Nature{ticket.Consult, ticket.Help, ticket.Suggestion, ticket.Complaint}
var texts = []string{"小区路灯坏了晚上很黑", "楼下垃圾好几天没人清理", "咨询灵活就业养老保险怎么缴费", "小区停水了什么时候恢复",
	"夜间施工噪音扰民", "公交车改线后怎么坐", "物业乱收停车费", "孩子入学需要准备什么材料", "供暖温度不达标", "公积金提取需要什么手续"}

// counter counts one KPI fact into the total and its day.
type counter struct {
	from, to time.Time
	loc      *time.Location
	now      time.Time
	res      *Result
}

func (c *counter) in(t time.Time) bool { return !t.Before(c.from) && t.Before(c.to) }

func (c *counter) add(i int, t time.Time, num bool) {
	if !c.in(t) {
		return
	}
	c.res.Expected[i][1]++
	d := c.day(t)
	d[i][1]++
	if num {
		c.res.Expected[i][0]++
		d[i][0]++
	}
}

func (c *counter) day(t time.Time) *kpi.Counts {
	k := t.In(c.loc).Format(time.DateOnly)
	d := c.res.Days[k]
	if d == nil {
		d = &kpi.Counts{}
		c.res.Days[k] = d
	}
	return d
}

// Run generates the month into st.
func Run(ctx context.Context, st *store.Store, dl *pipeline.Deadlines, o Options) (Result, error) {
	loc := dl.Cal.Location()
	m := o.Month.In(loc)
	from := time.Date(m.Year(), m.Month(), 1, 0, 0, 0, 0, loc)
	to := from.AddDate(0, 1, 0)
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Chunk <= 0 {
		o.Chunk = 2000
	}
	if o.Tickets <= 0 {
		return Result{}, fmt.Errorf("simulate: --tickets must be positive")
	}
	if n, err := st.CountSimulated(ctx, from.AddDate(0, 0, -1), to.AddDate(0, 0, 1)); err != nil || n > 0 {
		if err == nil {
			err = fmt.Errorf("simulate: %s already has %d simulated tickets (use a fresh database)", from.Format("2006-01"), n)
		}
		return Result{}, err
	}
	if _, err := pipeline.EnsureUnits(ctx, st, o.Units); err != nil {
		return Result{}, err
	}
	units, err := st.ListUnits(ctx)
	if err != nil {
		return Result{}, err
	}
	if len(units) == 0 {
		return Result{}, fmt.Errorf("simulate: no handling units (run `hotline units import` first)")
	}
	res := Result{From: from, To: to, Days: map[string]*kpi.Counts{}}
	c := &counter{from: from, to: to, loc: loc, now: o.Now, res: &res}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	g := &gen{rng: rng, dl: dl, c: c, units: units, from: from, to: to, loc: loc, serial: map[string]int{}}

	// Contacts: about one in five tickets comes from a citizen seen before.
	nContacts := o.Tickets*4/5 + 1
	contacts := make([]store.Contact, nContacts)
	for i := range contacts {
		contacts[i] = store.Contact{Name: "市民" + fmt.Sprint(i), Phone: fmt.Sprintf("170%02d%06d", int(from.Month()), i%1000000),
			CreatedAt: from.UTC(), UpdatedAt: from.UTC()}
	}
	if err := st.InsertContacts(ctx, contacts); err != nil {
		return res, fmt.Errorf("simulate contacts: %w", err)
	}
	g.contacts = contacts

	var batch []store.SimTicket
	var calls []store.Call
	flush := func() error {
		if err := st.InsertSimulated(ctx, batch, calls); err != nil {
			return err
		}
		batch, calls = batch[:0], calls[:0]
		return nil
	}
	for i := 0; i < o.Tickets; i++ {
		t, call := g.ticket(i)
		batch = append(batch, t)
		if call != nil {
			calls = append(calls, *call)
			res.Calls++
		}
		// Calls that made no ticket: abandoned (≈4 %) and silent/hung-up ones.
		if t.Ticket.Channel == string(normalize.Voice) {
			for g.rng.Float64() < 0.06 {
				calls = append(calls, g.strayCall())
				res.Calls++
			}
		}
		res.Tickets++
		if len(batch) >= o.Chunk {
			if err := flush(); err != nil {
				return res, err
			}
			if o.Progress != nil {
				o.Progress(i+1, o.Tickets)
			}
		}
	}
	if err := flush(); err != nil {
		return res, err
	}
	if o.Progress != nil {
		o.Progress(o.Tickets, o.Tickets)
	}
	return res, nil
}

type gen struct {
	rng      *rand.Rand
	dl       *pipeline.Deadlines
	c        *counter
	units    []store.UnitView
	contacts []store.Contact
	from, to time.Time
	loc      *time.Location
	serial   map[string]int
	calls    int
}

func (g *gen) p(x float64) bool { return g.rng.Float64() < x }

func (g *gen) between(a, b time.Time) time.Time {
	if !b.After(a) {
		return a
	}
	return a.Add(time.Duration(g.rng.Int64N(int64(b.Sub(a)))))
}

func (g *gen) rating(sat, basic float64) string {
	switch r := g.rng.Float64(); {
	case r < sat:
		return "satisfied"
	case r < sat+basic:
		return "basic"
	}
	return "unsatisfied"
}

func (g *gen) strayCall() store.Call {
	g.calls++
	off := g.between(g.from, g.to).UTC()
	c := store.Call{CallID: fmt.Sprintf("sim-%s-x%d", g.from.Format("200601"), g.calls), OfferedAt: &off, UpdatedAt: off}
	if g.p(0.6) {
		ab := off.Add(time.Duration(5+g.rng.IntN(60)) * time.Second)
		c.AbandonedAt = &ab
	} else {
		w := float64(g.rng.IntN(40))
		an := off.Add(time.Duration(w) * time.Second)
		c.AnsweredAt, c.WaitSeconds = &an, &w
	}
	g.count(c)
	return c
}

// count tallies a call (KPIs 1, 2).
func (g *gen) count(c store.Call) {
	g.c.add(0, *c.OfferedAt, c.AnsweredAt != nil)
	if c.AnsweredAt != nil {
		g.c.add(1, *c.OfferedAt, *c.WaitSeconds <= 15)
	}
}

func (g *gen) channel() normalize.Channel {
	switch r := g.rng.Float64(); {
	case r < 0.70:
		return normalize.Voice
	case r < 0.80:
		return normalize.SMS
	case r < 0.88:
		return normalize.WeChat
	case r < 0.95:
		return normalize.Website
	case r < 0.99:
		return normalize.MayorMailbox
	}
	return normalize.ProvinceMailbox
}

func (g *gen) ticket(i int) (store.SimTicket, *store.Call) {
	created := g.between(g.from, g.to)
	ch := g.channel()
	day := created.In(g.loc).Format("20060102")
	g.serial[day]++
	contact := g.contacts[g.rng.IntN(len(g.contacts))]
	tk := store.Ticket{No: fmt.Sprintf("%s-%06d", day, 500000+g.serial[day]), Channel: string(ch), Status: string(ticket.StatusClosed),
		Nature: string(natures[g.rng.IntN(len(natures))]), Category: categories[g.rng.IntN(len(categories))], Flags: store.SimulatedFlag,
		ContactID: contact.ID, Confidential: g.p(0.03), ReplyWanted: g.p(0.5), Content: texts[g.rng.IntN(len(texts))],
		CreatedAt: created.UTC(), UpdatedAt: created.UTC()}
	st := store.SimTicket{Flow: &store.TicketFlow{UpdatedAt: created.UTC()}}
	key := tk.No
	st.Messages = append(st.Messages, store.Message{Channel: tk.Channel, Direction: "in", DedupKey: &key, Text: tk.Content,
		Delivery: ticket.DeliveryReceived, Actor: "sim", At: created.UTC(), CreatedAt: created.UTC()})
	discarded := g.p(0.02)
	if discarded {
		tk.Status = string(ticket.StatusDiscarded)
	}
	closed := created.Add(10 * time.Minute).UTC()
	tk.ClosedAt = &closed

	var call *store.Call
	if ch == normalize.Voice {
		g.calls++
		w := float64(g.rng.IntN(16))
		if g.p(0.14) {
			w = float64(16 + g.rng.IntN(100))
		}
		ans := created.Add(-time.Duration(30+g.rng.IntN(600)) * time.Second)
		off := ans.Add(-time.Duration(w) * time.Second)
		a, o := ans.UTC(), off.UTC()
		call = &store.Call{CallID: fmt.Sprintf("sim-%s-%d", g.from.Format("200601"), g.calls), OfferedAt: &o, AnsweredAt: &a, WaitSeconds: &w, UpdatedAt: a}
		tk.CallID = call.CallID
		g.count(*call)
		if !discarded && g.p(0.5) {
			at := created.Add(3 * time.Minute)
			r := g.rating(0.96, 0.025)
			st.Ratings = append(st.Ratings, store.ServiceRating{Direction: "in", Rating: r, Actor: "ivr", At: at.UTC()})
			g.c.add(4, at, r != "unsatisfied")
		}
	}
	// KPI 3: an SMS is answered the same day, nearly always.
	if ch == normalize.SMS && !discarded {
		at := g.between(created, minTime(created.Add(30*time.Minute), g.dl.Cal.Day(created).AddDate(0, 0, 1)))
		if g.p(0.015) {
			at = g.dl.Cal.At(g.dl.Cal.Day(created).AddDate(0, 0, 1), 9*60)
		}
		st.Messages = append(st.Messages, store.Message{Channel: tk.Channel, Direction: "out", Kind: ticket.ReplyAnswered, Text: "您好！您的短信已收到……",
			Delivery: ticket.DeliverySent, Actor: "sim", At: at.UTC(), CreatedAt: at.UTC()})
		g.c.add(2, created, sameDay(created, at, g.loc))
	}
	// KPI 4: valid complaints about staff over valid calls.
	if !discarded {
		if g.p(0.005) {
			st.Flow.StaffComplaint = true
			if g.c.in(created) {
				g.c.res.Expected[3][0]++
				g.c.day(created)[3][0]++
			}
		}
		if ch == normalize.Voice && g.c.in(created) {
			g.c.res.Expected[3][1]++
			g.c.day(created)[3][1]++
		}
	}
	if discarded || g.p(0.68) {
		return g.finish(tk, st), call
	}
	g.transfer(&tk, &st, created)
	return g.finish(tk, st), call
}

func (g *gen) finish(tk store.Ticket, st store.SimTicket) store.SimTicket {
	st.Ticket = tk
	return st
}

// transfer plays a ticket through transfer, the unit, rework and follow-up.
func (g *gen) transfer(tk *store.Ticket, st *store.SimTicket, created time.Time) {
	f := st.Flow
	due := g.dl.TransferDue(created, false)
	if g.p(0.03) { // sent back: the knowledge base answers it
		return
	}
	f.TransferDueAt = &due
	tr := g.between(created, due)
	if g.p(0.08) {
		tr = due.Add(time.Duration(10+g.rng.IntN(360)) * time.Minute)
	}
	tr = tr.UTC()
	f.TransferredAt = &tr
	if !(f.TransferredAt == nil && due.After(g.c.now)) {
		g.c.add(5, due, !tr.After(due))
	}
	u := g.units[g.rng.IntN(len(g.units))]
	uid := u.ID
	tk.UnitID, tk.UnitName = &uid, u.Name
	reply := g.dl.ReplyDue(tr, tk.Category, ticket.Nature(tk.Nature), false, nil)
	if g.p(0.04) {
		reply = g.dl.ExtendedDue(reply, 1+g.rng.IntN(7))
		f.ExtensionCount = 1
	}
	f.ReplyDueAt = &reply
	order := store.WorkOrder{UnitID: u.ID, UnitName: u.Name, Role: "main", Status: store.OrderAccepted, DispatchedAt: tr, DueAt: &reply, Actor: "sim"}
	tk.Status, tk.ClosedAt, tk.DueAt = string(ticket.StatusHandling), nil, &reply
	var replied *time.Time
	if g.p(0.97) {
		r := g.between(tr.Add(time.Hour), reply)
		if g.p(0.05) {
			r = reply.Add(time.Duration(1+g.rng.IntN(72)) * time.Hour)
		}
		r = r.UTC()
		replied = &r
		order.Status, order.RepliedAt, order.ReplyText = store.OrderReplied, replied, "经核实……"
	}
	st.Orders = append(st.Orders, order)
	// KPI 7
	if !(replied == nil && reply.After(g.c.now)) {
		g.c.add(6, reply, replied != nil && !replied.After(reply))
	}
	if replied == nil {
		return
	}
	f.RepliedAt, f.Result = replied, "经核实……"
	tk.Status = string(ticket.StatusReplied)
	g.handled(*replied, false)
	if g.p(0.03) { // 退回重办
		d := g.between(replied.Add(time.Hour), replied.Add(48*time.Hour)).UTC()
		rdue := g.dl.ReplyDue(d, tk.Category, ticket.Nature(tk.Nature), false, nil)
		st.Orders = append(st.Orders, store.WorkOrder{UnitID: u.ID, UnitName: u.Name, Role: "main", Status: store.OrderAccepted, Rework: true,
			DispatchedAt: d, DueAt: &rdue, AcceptedAt: &d, Actor: "sim"})
		f.ReworkCount = 1
		tk.Status, tk.DueAt = string(ticket.StatusHandling), &rdue
		if !rdue.After(g.c.now) {
			g.c.add(6, rdue, false)
		}
		g.handled(d, true)
		return
	}
	fdue := replied.Add(g.dl.FollowupWithin).UTC()
	f.FollowupDueAt = &fdue
	if g.p(0.02) { // unreachable twice
		a, b := replied.Add(24*time.Hour).UTC(), replied.Add(48*time.Hour).UTC()
		st.FollowUps = append(st.FollowUps,
			store.FollowUp{UnitID: &uid, Method: "call", Outcome: "no_answer", Confidential: tk.Confidential, Actor: "sim", At: a},
			store.FollowUp{UnitID: &uid, Method: "call", Outcome: "unreachable", Confidential: tk.Confidential, Actor: "sim", At: b})
		f.FollowupFailures, f.Unreachable = 2, true
		tk.Status, tk.ClosedAt, tk.DueAt = string(ticket.StatusClosed), &b, nil
		return
	}
	at := g.between(replied.Add(time.Hour), fdue)
	if g.p(0.05) {
		at = fdue.Add(time.Duration(1+g.rng.IntN(48)) * time.Hour)
	}
	at = at.UTC()
	f.FollowedUpAt = &at
	res := g.rating(0.80, 0.12)
	var reasonable, unitReplied *bool
	yes, no := true, false
	if res == "unsatisfied" {
		switch r := g.rng.Float64(); {
		case r < 0.6:
			reasonable = &yes
		case r < 0.9:
			reasonable = &no
		}
	} else {
		reasonable = &yes
	}
	switch r := g.rng.Float64(); {
	case r < 0.95:
		unitReplied = &yes
	case r < 0.98:
		unitReplied = &no
	}
	st.FollowUps = append(st.FollowUps, store.FollowUp{UnitID: &uid, Method: "call", Outcome: "reached", ResultRating: res,
		Reasonable: reasonable, UnitReplied: unitReplied, Confidential: tk.Confidential, Actor: "sim", At: at, AnsweredAt: &at})
	if g.p(0.8) {
		r := g.rating(0.95, 0.04)
		st.Ratings = append(st.Ratings, store.ServiceRating{Direction: "out", Rating: r, Actor: "sim", At: at})
		g.c.add(4, at, r != "unsatisfied")
	}
	if res == "unsatisfied" {
		tk.Status, tk.DueAt = string(ticket.StatusSupervising), nil
	} else {
		tk.Status, tk.ClosedAt, tk.DueAt = string(ticket.StatusClosed), &at, nil
	}
	// KPIs 8, 9, 11
	if reasonable != nil && *reasonable {
		g.c.add(7, at, res != "unsatisfied")
	}
	if unitReplied != nil && !tk.Confidential {
		g.c.add(8, at, *unitReplied)
	}
	g.c.add(10, fdue, !at.After(fdue))
}

// handled counts KPI 10: a case handled (replied) or reworked on a day, once
// per case and day (and once in total: each simulated case is replied and
// reworked at most once).
func (g *gen) handled(at time.Time, rework bool) {
	if !g.c.in(at) {
		return
	}
	i := 1
	if rework {
		i = 0
	}
	g.c.res.Expected[9][i]++
	g.c.day(at)[9][i]++
}

func sameDay(a, b time.Time, loc *time.Location) bool {
	return a.In(loc).Format(time.DateOnly) == b.In(loc).Format(time.DateOnly)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
