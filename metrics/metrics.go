// Package metrics exposes hotline's Prometheus metrics: messages in per channel,
// outbox depth, delivery outcomes and HTTP latency.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"hotline/normalize"
)

// Metrics is one registry with hotline's collectors.
type Metrics struct {
	reg        *prometheus.Registry
	messagesIn *prometheus.CounterVec
	duplicates *prometheus.CounterVec
	deliveries *prometheus.CounterVec
	latency    *prometheus.HistogramVec
}

// New registers the collectors plus the Go and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		messagesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_messages_in_total", Help: "Inbound messages stored, per channel.",
		}, []string{"channel"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_messages_duplicate_total", Help: "Redeliveries recognised and not stored again, per channel.",
		}, []string{"channel"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_outbox_deliveries_total", Help: "Outbound delivery attempts by route and outcome (sent, failed, dead).",
		}, []string{"via", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hotline_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route", "status"}),
	}
	m.reg.MustRegister(m.messagesIn, m.duplicates, m.deliveries, m.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Ingested counts an accepted inbound message.
func (m *Metrics) Ingested(ch normalize.Channel, duplicate bool) {
	if duplicate {
		m.duplicates.WithLabelValues(string(ch)).Inc()
		return
	}
	m.messagesIn.WithLabelValues(string(ch)).Inc()
}

// Delivered counts one outbox delivery attempt.
func (m *Metrics) Delivered(via string, ok, dead bool) {
	outcome := "sent"
	switch {
	case dead:
		outcome = "dead"
	case !ok:
		outcome = "failed"
	}
	m.deliveries.WithLabelValues(via, outcome).Inc()
}

// OutboxDepth exports the queue depth, read from the database at scrape time.
func (m *Metrics) OutboxDepth(depth func(ctx context.Context) (pending, dead int64, err error)) {
	read := func(dead bool) float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		p, d, err := depth(ctx)
		if err != nil {
			return -1
		}
		if dead {
			return float64(d)
		}
		return float64(p)
	}
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hotline_outbox_pending", Help: "Outbound items waiting for delivery."}, func() float64 { return read(false) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hotline_outbox_dead", Help: "Dead-lettered outbound items."}, func() float64 { return read(true) }),
	)
}

// Middleware observes request latency per route template (not raw path, to
// keep label cardinality bounded).
func (m *Metrics) Middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		m.latency.WithLabelValues(c.Request.Method, route, strconv.Itoa(c.Writer.Status())).Observe(time.Since(start).Seconds())
	}
}

// Handler serves the text exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
