package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"hotline/app"
	"hotline/kpi"
	"hotline/kpi/sim"
	"hotline/pipeline"
)

func simulateCmd() *cobra.Command {
	var month string
	var tickets int
	var seed uint64
	c := &cobra.Command{
		Use:   "simulate",
		Short: "Generate a month of calls and tickets into the configured database and check its KPI report against an independent count",
		Long: `simulate writes a month of hotline history (calls, tickets of every channel, transfers on the
working calendar, 承办单, replies, extensions, reworks, follow-ups, ratings) into the configured
database, then computes the eleven KPIs of that month from the database and compares them with
the generator's own count. Use a database of its own: the simulated tickets are real rows.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := loadConfig()
			if err != nil {
				return err
			}
			loc := cfg.City.Location()
			m, err := time.ParseInLocation("2006-01", month, loc)
			if err != nil {
				return fmt.Errorf("--month must be YYYY-MM")
			}
			s, err := app.OpenStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer s.Close()
			cal, err := pipeline.Calendar(cfg)
			if err != nil {
				return err
			}
			dl, err := pipeline.NewDeadlines(cal, cfg.Deadlines)
			if err != nil {
				return err
			}
			now := time.Now()
			start := time.Now()
			res, err := sim.Run(cmd.Context(), s, dl, sim.Options{Month: m, Tickets: tickets, Seed: seed, Now: now,
				Units: cfg.Pipeline.BuiltinUnits(), Progress: func(done, total int) {
					fmt.Fprintf(os.Stderr, "\r%d/%d tickets", done, total)
				}})
			fmt.Fprintln(os.Stderr)
			if err != nil {
				return err
			}
			fmt.Printf("generated %d tickets and %d calls for %s in %s\n", res.Tickets, res.Calls, month, time.Since(start).Round(time.Second))
			svc := kpi.NewService(s, loc, cfg.City.Name)
			svc.Now = func() time.Time { return now }
			last := res.To.AddDate(0, 0, -1)
			rep, err := svc.Report(cmd.Context(), kpi.Query{From: res.From, To: last})
			if err != nil {
				return err
			}
			fmt.Printf("\n%-4s %-14s %-30s %16s %16s %9s %s\n", "#", "指标", "key", "report", "independent", "value", "target")
			bad := 0
			for i, f := range rep.KPIs {
				exp := res.Expected[i]
				mark := "ok"
				if exp[0] != f.Numerator || exp[1] != f.Denominator {
					mark, bad = "MISMATCH", bad+1
				}
				v := "—"
				if f.Value != nil {
					v = fmt.Sprintf("%.2f%%", *f.Value*100)
				}
				met := map[bool]string{true: "met", false: "missed"}[f.Met]
				fmt.Printf("%-4d %-14s %-30s %7d/%-8d %7d/%-8d %9s %.0f%% %s %s\n", f.ID, f.Name, f.Key, f.Numerator, f.Denominator,
					exp[0], exp[1], v, f.Target*100, met, mark)
			}
			if bad > 0 {
				return fmt.Errorf("%d KPIs differ from the independent count", bad)
			}
			fmt.Printf("\nthe KPI report matches the independent count; see GET /api/v1/kpis?from=%s&to=%s (or kpis.xlsx)\n",
				res.From.Format(time.DateOnly), last.Format(time.DateOnly))
			return nil
		},
	}
	c.Flags().StringVar(&month, "month", time.Now().AddDate(0, -1, 0).Format("2006-01"), "month to generate, YYYY-MM")
	c.Flags().IntVar(&tickets, "tickets", 100000, "number of tickets")
	c.Flags().Uint64Var(&seed, "seed", 1, "random seed (the same seed generates the same month)")
	return c
}
