package sim_test

import (
	"context"
	"testing"
	"time"

	"hotline/configs"
	"hotline/kpi"
	"hotline/kpi/sim"
	"hotline/pipeline"
	"hotline/store"
	"hotline/store/storetest"
)

// TestSimulatedMonthMatchesIndependentCount generates a month and checks that
// the KPI report read back from the database equals the generator's own count,
// in total and for every day.
func TestSimulatedMonthMatchesIndependentCount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		cfg, err := configs.Load("")
		if err != nil {
			t.Fatal(err)
		}
		cal, _ := pipeline.Calendar(cfg)
		dl, err := pipeline.NewDeadlines(cal, cfg.Deadlines)
		if err != nil {
			t.Fatal(err)
		}
		loc := cal.Location()
		month := time.Date(2026, 10, 1, 0, 0, 0, 0, loc)
		now := time.Date(2026, 11, 20, 12, 0, 0, 0, loc) // some of October's follow-ups and reworks are still running
		ctx := context.Background()
		res, err := sim.Run(ctx, st, dl, sim.Options{Month: month, Tickets: 3000, Seed: 7, Now: now, Chunk: 700, Units: cfg.Pipeline.BuiltinUnits()})
		if err != nil {
			t.Fatal(err)
		}
		if res.Tickets != 3000 || res.Calls < 2000 {
			t.Fatalf("generated %d tickets, %d calls", res.Tickets, res.Calls)
		}
		svc := kpi.NewService(st, loc, "德州市")
		svc.Now = func() time.Time { return now }
		from, to, _ := kpi.ParseDates("2026-10-01", "2026-10-31", loc)
		d, err := svc.Detail(ctx, kpi.Query{From: from, To: to})
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range d.KPIs {
			if f.Denominator == 0 {
				t.Errorf("%s: nothing counted", f.Key)
			}
			if f.Numerator != res.Expected[i][0] || f.Denominator != res.Expected[i][1] {
				t.Errorf("%s: report %d/%d, independent count %d/%d", f.Key, f.Numerator, f.Denominator, res.Expected[i][0], res.Expected[i][1])
			}
		}
		for _, day := range d.Days {
			want := res.Days[day.Date]
			if want == nil {
				want = &kpi.Counts{}
			}
			for i, f := range day.KPIs {
				if f.Numerator != want[i][0] || f.Denominator != want[i][1] {
					t.Errorf("%s %s: report %d/%d, independent count %d/%d", day.Date, f.Key, f.Numerator, f.Denominator, want[i][0], want[i][1])
				}
			}
		}
		for _, f := range d.KPIs {
			t.Logf("%-30s %6d/%-6d %v", f.Key, f.Numerator, f.Denominator, *f.Value)
		}
		// The simulated proportions look like a hotline's (~70 % answered directly).
		if v := d.KPIs[0].Value; v == nil || *v < 0.9 {
			t.Errorf("answer rate %v", v)
		}
		// A second run on the same month is refused.
		if _, err := sim.Run(ctx, st, dl, sim.Options{Month: month, Tickets: 10, Now: now}); err == nil {
			t.Error("simulated the same month twice")
		}
	})
}
