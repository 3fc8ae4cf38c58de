package kpi_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"hotline/kpi"
	"hotline/store"
	"hotline/store/storetest"
)

var loc, _ = time.LoadLocation("Asia/Shanghai")

func lt(y int, m time.Month, d, h, mi, s int) time.Time { return time.Date(y, m, d, h, mi, s, 0, loc) }

func ptr[T any](v T) *T { return &v }

// fixture is 300 tickets over 2026-10-12..14 (Mon-Wed, working days) plus 402
// calls, built from simple rules so that every expected figure below can be
// counted by hand. Ticket i (0..299) is created on day i/100 at 09:00 + i%100
// minutes; channel sms if i%3==0, voice if i%3==1, website if i%3==2.
//
//	KPI 1, 2  calls j=0..399: day j/200 (10-12, 10-13); abandoned when j%20==19;
//	          wait by j%10: 0,2,4,...,12 s, 15 s (j%10==7, the edge), 16 s, 18 s.
//	          Plus one call offered 10-13 23:59:50, answered 12 s later (counts
//	          on 10-13) and one offered 10-11 23:59:59 (outside the period).
//	          offered 401, answered 381, within 15 s 321.
//	KPI 3     sms tickets 100; discarded (invalid) when i%30==0: 10, excluded;
//	          replied the next day when i%12==6: 25, 5 of them discarded
//	          (i≡30 mod 60); the rest replied 2 minutes later. 70/90.
//	KPI 4     staff complaints i%50==25: 6; valid calls = voice tickets 100. 6/100.
//	KPI 5     one rating per voice ticket: unsatisfied i≡1 mod 75 (4), basic
//	          i≡4 mod 30 (10), else satisfied. 96/100.
//	KPI 6     website tickets 100; answered from the KB after review (no transfer
//	          due) when i≡5 mod 15: 20; due 17:00 the day created; transferred 30
//	          minutes after creation, but at 17:30 when i≡2 mod 60 (5). 75/80.
//	KPI 7     the 80 transferred tickets in order, k=0..79, go to unit A (k<40)
//	          or B; due 7 days after creation at 17:00 (10-19, 20, 21); replied
//	          the day before the due day at 17:00, except late (due + 2 h): k=5,
//	          25 (A), 45, 50 (B); never replied: k=44, 75 (B). One earlier order
//	          of k=0 to B was returned (excluded). A 38/40, B 36/40, 74/80.
//	KPI 10    rework orders (dispatched 10-20 10:00, due 10-27, never replied:
//	          late for KPI 7 too, which becomes A 38/42, B 36/41, 74/83) for
//	          k=10, 30 (A), 60 (B); handled = replied main orders: A 40, B 38. 3/78.
//	KPI 8, 9, follow-ups of the 78 replied cases, 24 h after the reply, except
//	KPI 11    k=1, 2 unreachable (two failed contacts: excluded), k=3, 4 late
//	          (96 h). Result unsatisfied for k=6 (reasonable), 7 (not), 8
//	          (undecided); k=9 had an earlier unsatisfied follow-up (12 h) before
//	          the satisfied one (only the last counts for KPI 8). Unit replied:
//	          no for k=11, 12, not asked for k=13 and k=9's first; confidential
//	          k=14, 15 (excluded from KPI 9). KPI 8: 73/74; KPI 9: 71/73;
//	          KPI 11 (due 72 h after the reply): 74/76.
type fixture struct {
	st     *store.Store
	unitA  int64
	unitB  int64
	ticket map[int]int64 // i → ticket id
}

func build(t *testing.T, st *store.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	if _, _, err := st.ImportUnits(ctx, []store.UnitRow{{Code: "A", Name: "市城市管理局", Kind: "department"},
		{Code: "B", Name: "市住房和城乡建设局", Kind: "department"}}); err != nil {
		t.Fatal(err)
	}
	a, _ := st.FindUnit(ctx, "A")
	b, _ := st.FindUnit(ctx, "B")
	fx := &fixture{st: st, unitA: a.ID, unitB: b.ID, ticket: map[int]int64{}}
	db := st.DB()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// Calls.
	var calls []store.Call
	for j := 0; j < 400; j++ {
		off := lt(2026, 10, 12+j/200, 10, 0, 0).Add(time.Duration(j%200) * time.Minute)
		c := store.Call{CallID: fmt.Sprintf("call-%d", j), OfferedAt: ptr(off.UTC()), UpdatedAt: off}
		if j%20 != 19 {
			w := []float64{0, 2, 4, 6, 8, 10, 12, 15, 16, 18}[j%10]
			c.AnsweredAt, c.WaitSeconds = ptr(off.Add(time.Duration(w)*time.Second).UTC()), ptr(w)
		} else {
			c.AbandonedAt = ptr(off.Add(30 * time.Second).UTC())
		}
		calls = append(calls, c)
	}
	edge := lt(2026, 10, 13, 23, 59, 50)
	calls = append(calls, store.Call{CallID: "edge-in", OfferedAt: ptr(edge.UTC()), AnsweredAt: ptr(edge.Add(12 * time.Second).UTC()), WaitSeconds: ptr(12.0)})
	before := lt(2026, 10, 11, 23, 59, 59)
	calls = append(calls, store.Call{CallID: "edge-out", OfferedAt: ptr(before.UTC()), AnsweredAt: ptr(before.Add(5 * time.Second).UTC()), WaitSeconds: ptr(5.0)})
	must(db.CreateInBatches(calls, 200).Error)

	k := 0
	for i := 0; i < 300; i++ {
		created := lt(2026, 10, 12+i/100, 9, 0, 0).Add(time.Duration(i%100) * time.Minute)
		ch := []string{"sms", "voice", "website"}[i%3]
		status := "closed"
		if i%30 == 0 {
			status = "discarded"
		}
		c := store.Contact{Phone: fmt.Sprintf("138%08d", i)}
		must(db.Create(&c).Error)
		tk := store.Ticket{No: fmt.Sprintf("%s-%06d", created.Format("20060102"), 700000+i), Channel: ch, Status: status,
			Nature: "help", Category: "城建环保", ContactID: c.ID, Content: "fixture", CreatedAt: created.UTC(), UpdatedAt: created.UTC()}
		must(db.Create(&tk).Error)
		fx.ticket[i] = tk.ID
		flow := store.TicketFlow{TicketID: tk.ID, StaffComplaint: i%50 == 25}
		if ch == "sms" {
			in := store.Message{TicketID: tk.ID, Channel: "sms", Direction: "in", DedupKey: ptr(fmt.Sprint("m", i)), Text: "x",
				Delivery: "received", At: created.UTC(), CreatedAt: created.UTC()}
			must(db.Create(&in).Error)
			if status != "discarded" || i%12 == 6 {
				rep := created.Add(2 * time.Minute)
				if i%12 == 6 {
					rep = created.Add(24 * time.Hour)
				}
				out := store.Message{TicketID: tk.ID, Channel: "sms", Direction: "out", Kind: "answered", Text: "y", Delivery: "sent",
					At: rep.UTC(), CreatedAt: rep.UTC()}
				must(db.Create(&out).Error)
			}
		}
		if ch == "voice" {
			r := "satisfied"
			switch {
			case i%75 == 1:
				r = "unsatisfied"
			case i%30 == 4:
				r = "basic"
			}
			must(db.Create(&store.ServiceRating{TicketID: &tk.ID, Direction: "in", Rating: r, At: created.Add(5 * time.Minute).UTC()}).Error)
		}
		if ch == "website" && i%15 != 5 {
			due := lt(created.Year(), created.Month(), created.Day(), 17, 0, 0)
			tr := created.Add(30 * time.Minute)
			if i%60 == 2 {
				tr = lt(created.Year(), created.Month(), created.Day(), 17, 30, 0)
			}
			flow.TransferDueAt, flow.TransferredAt = ptr(due.UTC()), ptr(tr.UTC())
			fx.order(t, k, &tk, &flow, created)
			k++
		}
		must(db.Save(&flow).Error)
	}
	if k != 80 {
		t.Fatalf("fixture: %d transferred tickets, want 80", k)
	}
	return fx
}

// order writes the 承办单, reply and follow-ups of transferred ticket k.
func (fx *fixture) order(t *testing.T, k int, tk *store.Ticket, flow *store.TicketFlow, created time.Time) {
	t.Helper()
	db := fx.st.DB()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	unit, name := fx.unitA, "市城市管理局"
	if k >= 40 {
		unit, name = fx.unitB, "市住房和城乡建设局"
	}
	if k == 0 { // first sent to B, which returned it
		must(db.Create(&store.WorkOrder{TicketID: tk.ID, UnitID: fx.unitB, UnitName: "市住房和城乡建设局", Role: "main", Status: store.OrderReturned,
			DispatchedAt: flow.TransferredAt.Add(-time.Minute), DueAt: ptr(lt(2026, 10, 19, 17, 0, 0).UTC()),
			ReturnedAt: flow.TransferredAt, ReturnReason: "不属本单位"}).Error)
	}
	due := lt(created.Year(), created.Month(), created.Day()+7, 17, 0, 0)
	o := store.WorkOrder{TicketID: tk.ID, UnitID: unit, UnitName: name, Role: "main", Status: store.OrderReplied,
		DispatchedAt: flow.TransferredAt.UTC(), DueAt: ptr(due.UTC())}
	var replied *time.Time
	switch k {
	case 5, 25, 45, 50:
		replied = ptr(due.Add(2 * time.Hour))
	case 44, 75:
		o.Status = store.OrderAccepted
	default:
		replied = ptr(due.Add(-24 * time.Hour))
	}
	if replied != nil {
		o.RepliedAt, o.ReplyText = ptr(replied.UTC()), "result"
	}
	must(db.Create(&o).Error)
	must(db.Model(&store.Ticket{}).Where("id = ?", tk.ID).Updates(map[string]any{"unit_id": unit, "unit_name": name}).Error)
	if k == 10 || k == 30 || k == 60 {
		must(db.Create(&store.WorkOrder{TicketID: tk.ID, UnitID: unit, UnitName: name, Role: "main", Status: store.OrderAccepted, Rework: true,
			DispatchedAt: lt(2026, 10, 20, 10, 0, 0).UTC(), DueAt: ptr(lt(2026, 10, 27, 17, 0, 0).UTC())}).Error)
	}
	if replied == nil {
		return
	}
	flow.RepliedAt, flow.FollowupDueAt = ptr(replied.UTC()), ptr(replied.Add(72*time.Hour).UTC())
	fu := func(at time.Time, outcome, result string, reasonable, unitReplied *bool, conf bool) {
		must(db.Create(&store.FollowUp{TicketID: tk.ID, UnitID: &unit, Method: "call", Outcome: outcome, ResultRating: result,
			Reasonable: reasonable, UnitReplied: unitReplied, Confidential: conf, At: at.UTC()}).Error)
	}
	if k == 1 || k == 2 {
		fu(replied.Add(24*time.Hour), "no_answer", "", nil, nil, false)
		fu(replied.Add(48*time.Hour), "unreachable", "", nil, nil, false)
		flow.FollowupFailures, flow.Unreachable = 2, true
		return
	}
	at := replied.Add(24 * time.Hour)
	if k == 3 || k == 4 {
		at = replied.Add(96 * time.Hour)
	}
	if k == 9 {
		fu(replied.Add(12*time.Hour), "reached", "unsatisfied", ptr(true), nil, false)
		flow.FollowedUpAt = ptr(replied.Add(12 * time.Hour).UTC())
	}
	result, reasonable := "satisfied", ptr(true)
	if k%4 == 0 {
		result = "basic"
	}
	switch k {
	case 6:
		result = "unsatisfied"
	case 7:
		result, reasonable = "unsatisfied", ptr(false)
	case 8:
		result, reasonable = "unsatisfied", nil
	}
	unitReplied := ptr(true)
	switch k {
	case 11, 12:
		unitReplied = ptr(false)
	case 13:
		unitReplied = nil
	}
	fu(at, "reached", result, reasonable, unitReplied, k == 14 || k == 15)
	if flow.FollowedUpAt == nil {
		flow.FollowedUpAt = ptr(at.UTC())
	}
}

type want struct{ num, den int64 }

func check(t *testing.T, what string, got []kpi.Figure, w [11]*want) {
	t.Helper()
	if len(got) != 11 {
		t.Fatalf("%s: %d figures", what, len(got))
	}
	for i, f := range got {
		if f.ID != i+1 || f.Key != kpi.Defs[i].Key {
			t.Errorf("%s: figure %d is %d %s", what, i, f.ID, f.Key)
		}
		if w[i] == nil {
			continue
		}
		if f.Numerator != w[i].num || f.Denominator != w[i].den {
			t.Errorf("%s %s: %d/%d, want %d/%d", what, f.Key, f.Numerator, f.Denominator, w[i].num, w[i].den)
			continue
		}
		if f.Denominator == 0 {
			if f.Value != nil || f.Met {
				t.Errorf("%s %s: 0 denominator gives value %v met %v", what, f.Key, f.Value, f.Met)
			}
			continue
		}
		v := float64(w[i].num) / float64(w[i].den)
		if f.Value == nil || math.Abs(*f.Value-v) > 1e-6 {
			t.Errorf("%s %s: value %v, want %.6f", what, f.Key, f.Value, v)
		}
		met := v >= kpi.Defs[i].Target
		if kpi.Defs[i].AtMost {
			met = v <= kpi.Defs[i].Target
		}
		if f.Met != met {
			t.Errorf("%s %s: met %v, want %v", what, f.Key, f.Met, met)
		}
	}
}

func w(num, den int64) *want { return &want{num, den} }

func TestKPIFixture(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		fx := build(t, st)
		ctx := context.Background()
		svc := kpi.NewService(st, loc, "德州市")
		svc.Now = func() time.Time { return lt(2026, 11, 27, 9, 0, 0) }
		from, to, err := kpi.ParseDates("2026-10-12", "2026-10-31", loc)
		if err != nil {
			t.Fatal(err)
		}
		d, err := svc.Detail(ctx, kpi.Query{From: from, To: to})
		if err != nil {
			t.Fatal(err)
		}
		if d.From != "2026-10-12" || d.To != "2026-10-31" || d.Unit != nil {
			t.Fatalf("report header %+v", d.Report)
		}
		check(t, "centre", d.KPIs, [11]*want{
			w(381, 401), w(321, 381), w(70, 90), w(6, 100), w(96, 100), w(75, 80),
			w(74, 83), w(73, 74), w(71, 73), w(3, 78), w(74, 76),
		})
		if len(d.Days) != 20 {
			t.Fatalf("%d days", len(d.Days))
		}
		day := map[string][]kpi.Figure{}
		for _, x := range d.Days {
			day[x.Date] = x.KPIs
		}
		// 10-12: calls 200/190/160; SMS 24/30; complaints 25, 75 over 33 voice
		// tickets; ratings 31/33 (unsatisfied 1, 76); transfers 24/26.
		check(t, "10-12", day["2026-10-12"], [11]*want{w(190, 200), w(160, 190), w(24, 30), w(2, 33), w(31, 33), w(24, 26),
			w(0, 0), nil, nil, nil, nil})
		// 10-13 gets the call offered at 23:59:50 and answered after midnight.
		check(t, "10-13", day["2026-10-13"], [11]*want{w(191, 201), w(161, 191), w(22, 30), w(2, 34), nil, w(25, 27),
			nil, nil, nil, nil, nil})
		check(t, "10-14", day["2026-10-14"], [11]*want{w(0, 0), w(0, 0), w(24, 30), w(2, 33), nil, w(26, 27),
			nil, nil, nil, nil, nil})
		// Replies due 10-19 (A: 26, late 5 and 25), 10-20 (A 14 + B 13; late 44, 45, 50), 10-21 (B 27; 75 never).
		check(t, "10-19", day["2026-10-19"], [11]*want{nil, nil, nil, nil, nil, nil, w(24, 26), nil, nil, nil, nil})
		check(t, "10-20", day["2026-10-20"], [11]*want{nil, nil, nil, nil, nil, nil, w(24, 27), nil, nil, nil, nil})
		check(t, "10-21", day["2026-10-21"], [11]*want{nil, nil, nil, nil, nil, nil, w(26, 27), nil, nil, nil, nil})
		check(t, "10-27", day["2026-10-27"], [11]*want{nil, nil, nil, nil, nil, nil, w(0, 3), nil, nil, nil, nil})

		// Per unit.
		units := map[int64][]kpi.Figure{}
		for _, u := range d.Units {
			units[u.UnitID] = u.KPIs
		}
		if len(d.Units) != 2 {
			t.Fatalf("units %+v", d.Units)
		}
		check(t, "unit A", units[fx.unitA], [11]*want{w(0, 0), w(0, 0), w(0, 0), w(0, 0), w(0, 0), w(0, 0),
			w(38, 42), w(35, 36), w(33, 35), w(2, 40), w(36, 38)})
		check(t, "unit B", units[fx.unitB], [11]*want{nil, nil, nil, nil, nil, nil,
			w(36, 41), w(38, 38), w(38, 38), w(1, 38), w(38, 38)})

		// The unit's own report.
		a, _ := st.GetUnit(ctx, fx.unitA)
		r, err := svc.Report(ctx, kpi.Query{From: from, To: to, Unit: &a})
		if err != nil {
			t.Fatal(err)
		}
		if r.Unit == nil || *r.Unit != "市城市管理局" {
			t.Fatalf("unit report header %+v", r)
		}
		check(t, "report A", r.KPIs, [11]*want{w(0, 0), w(0, 0), w(0, 0), w(0, 0), w(0, 0), w(0, 0),
			w(38, 42), w(35, 36), w(33, 35), w(2, 40), w(36, 38)})

		// A period of one day.
		f1, t1, _ := kpi.ParseDates("2026-10-12", "2026-10-12", loc)
		r, _ = svc.Report(ctx, kpi.Query{From: f1, To: t1})
		check(t, "one day", r.KPIs, [11]*want{w(190, 200), w(160, 190), w(24, 30), w(2, 33), w(31, 33), w(24, 26),
			w(0, 0), w(0, 0), w(0, 0), w(0, 0), w(0, 0)})
	})
}

// TestNotYetDue: what is not due yet is not counted; once late, it counts.
func TestNotYetDue(t *testing.T) {
	due := lt(2026, 10, 21, 17, 0, 0)
	f := store.KPIFacts{
		Transfers:   []store.TransferFact{{DueAt: due}},
		Orders:      []store.OrderFact{{UnitID: 1, DueAt: &due}},
		FollowupDue: []store.FollowupDueFact{{DueAt: due}},
	}
	before, _ := kpi.Count(f, nil, loc, due.Add(-time.Hour))
	after, _ := kpi.Count(f, nil, loc, due.Add(time.Hour))
	for _, i := range []int{5, 6, 10} {
		if before[i] != [2]int64{0, 0} || after[i] != [2]int64{0, 1} {
			t.Errorf("KPI %d: before %v after %v", i+1, before[i], after[i])
		}
	}
}
