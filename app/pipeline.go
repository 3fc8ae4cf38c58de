package app

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/gin-gonic/gin"

	"hotline/api"
	"hotline/kpi"
	"hotline/pipeline"
)

// initPipeline builds the handling pipeline and imports the handling units on
// the first start (pipeline.units_file, or the built-in configs/units.csv).
func (a *App) initPipeline(ctx context.Context) error {
	p, err := pipeline.FromConfig(a.Store, a.Cfg, a.Outbox.Notify, a.Log.With("component", "pipeline"))
	if err != nil {
		return err
	}
	a.Pipeline = p
	data := a.Cfg.Pipeline.BuiltinUnits()
	if f := a.Cfg.Pipeline.UnitsFile; f != "" {
		if data, err = os.ReadFile(f); err != nil {
			return fmt.Errorf("pipeline.units_file: %w", err)
		}
	}
	n, err := pipeline.EnsureUnits(ctx, a.Store, data)
	if err != nil {
		return fmt.Errorf("import units: %w", err)
	}
	if n > 0 {
		a.Log.Info("handling units imported", "units", n)
	}
	return nil
}

// KPI is the KPI service of the configured city.
func (a *App) KPI() *kpi.Service {
	return kpi.NewService(a.Store, a.Cfg.City.Location(), a.Cfg.City.Name)
}

// pipelineRoutes serves the pipeline's part of the agent API and the OpenAPI
// document.
func (a *App) pipelineRoutes(r gin.IRouter) {
	h := a.Cfg.Pipeline.Hot
	(&api.Pipeline{
		API:     &api.API{Store: a.Store, Intake: a.Intake, Notify: a.Outbox.Notify, TokenTTL: a.Cfg.Auth.TokenTTL, MaxBody: a.Cfg.HTTP.MaxBodyBytes, Log: a.Log},
		Service: a.Pipeline,
		Store:   a.Store,
		KPI:     a.KPI(),
		Hot:     kpi.HotOptions{Window: h.Window, Baseline: h.BaselineWindows, MinCount: h.MinCount, Factor: h.Factor},
	}).Routes(r)
}

// startPipeline runs the scheduler (overdue marks, alerts, archiving); the
// lease in the database lets one instance at a time do a round.
func (a *App) startPipeline(ctx context.Context, wg *sync.WaitGroup) {
	c := a.Cfg.Pipeline
	s := pipeline.NewScheduler(a.Pipeline, pipeline.SchedulerOptions{Interval: c.SchedulerInterval,
		ArchiveAfter: c.ArchiveAfter, AnswerAlertWithin: c.AnswerAlertWithin})
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.Run(ctx)
	}()
}
