// Package metrics exposes hotline's Prometheus metrics: messages in per channel,
// outbox depth, delivery outcomes, HTTP latency, the mayor's mailbox receiver
// and WeChat's passive replies.
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

	mailLetters   *prometheus.CounterVec
	mailConnected prometheus.Gauge
	wechatPassive *prometheus.CounterVec
}

// MailOutcomes are the values of hotline_mail_letters_total's outcome label
// (channels/mail's Outcome* constants).
var MailOutcomes = []string{"ticket", "joined", "duplicate", "rejected", "error"}

// WeChatPassiveKinds are the values of hotline_wechat_passive_replies_total's
// kind label (channels/wechat's Passive* constants).
var WeChatPassiveKinds = []string{"reply", "repeat", "command", "welcome", "refusal"}

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
		mailLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_mail_letters_total",
			Help: "Letters the mayor's mailbox receiver handled, by outcome (ticket, joined, duplicate, rejected, error).",
		}, []string{"outcome"}),
		mailConnected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_mail_connected",
			Help: "1 while this instance is logged in to the mayor's mailbox with the folder selected, else 0.",
		}),
		wechatPassive: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_wechat_passive_replies_total",
			Help: "Passive replies answered in WeChat callbacks, by kind (reply, repeat, command, welcome, refusal).",
		}, []string{"kind"}),
	}
	// Known label values start at 0, so that the series exist (and rate()
	// works) before the first event.
	for _, o := range MailOutcomes {
		m.mailLetters.WithLabelValues(o)
	}
	for _, k := range WeChatPassiveKinds {
		m.wechatPassive.WithLabelValues(k)
	}
	m.reg.MustRegister(m.messagesIn, m.duplicates, m.deliveries, m.latency,
		m.mailLetters, m.mailConnected, m.wechatPassive,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// MailLetter counts a letter of the mayor's mailbox by outcome.
func (m *Metrics) MailLetter(outcome string) { m.mailLetters.WithLabelValues(outcome).Inc() }

// MailConnected sets hotline_mail_connected.
func (m *Metrics) MailConnected(up bool) {
	if up {
		m.mailConnected.Set(1)
		return
	}
	m.mailConnected.Set(0)
}

// WeChatPassiveReply counts a passive reply of the WeChat channel by kind.
func (m *Metrics) WeChatPassiveReply(kind string) { m.wechatPassive.WithLabelValues(kind).Inc() }

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
