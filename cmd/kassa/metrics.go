package main

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/routing"
)

// breakerCollector exports this process's circuit breakers (ADR 0007:
// breakers are per process, so each process reports its own) as counts by
// state. Gateway ids are an account's own: they stay out of label values,
// and each gateway's health is on the gateway in the API
// (GET /v1/gateways/{id}, "health").
type breakerCollector struct {
	eng      *engine.Engine
	circuits *prometheus.Desc
	failing  *prometheus.Desc
}

func newBreakerCollector(eng *engine.Engine) *breakerCollector {
	return &breakerCollector{
		eng: eng,
		circuits: prometheus.NewDesc("kassa_gateway_circuits",
			"Gateways whose circuit breaker is open (skipped) or half-open (tried once), by state.", []string{"state"}, nil),
		failing: prometheus.NewDesc("kassa_gateways_failing",
			"Gateways whose latest calls were not sent or ended unknown (a breaker counting toward opening).", nil, nil),
	}
}

func (c *breakerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.circuits
	ch <- c.failing
}

func (c *breakerCollector) Collect(ch chan<- prometheus.Metric) {
	byState := map[routing.BreakerState]int{routing.BreakerOpen: 0, routing.BreakerHalfOpen: 0}
	failing := 0
	c.eng.EachBreaker(func(_ string, s routing.BreakerStatus) {
		if s.State != routing.BreakerClosed {
			byState[s.State]++
		}
		if s.ConsecutiveFailures > 0 {
			failing++
		}
	})
	for state, n := range byState {
		ch <- prometheus.MustNewConstMetric(c.circuits, prometheus.GaugeValue, float64(n), string(state))
	}
	ch <- prometheus.MustNewConstMetric(c.failing, prometheus.GaugeValue, float64(failing))
}

// metricsHandler serves the metrics at /metrics only, behind the bearer
// token when one is set: metrics say how much money moves, and through
// how many gateways.
func metricsHandler(h http.Handler, token string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		if token != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="kassa metrics"`)
				http.Error(w, "a bearer token is required", http.StatusUnauthorized)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
	return mux
}

// engineMetrics turns what the engine observes into metrics, labelled by
// gateway type, operation kind and outcome — never by an account's ids.
type engineMetrics struct {
	calls     *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	conflicts *prometheus.CounterVec
}

var _ engine.Observer = (*engineMetrics)(nil)

func newEngineMetrics(reg prometheus.Registerer) *engineMetrics {
	m := &engineMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kassa_gateway_calls_total",
			Help: "Gateway calls by gateway type, operation kind and outcome (succeeded, declined, failed, not_sent, unknown, pending)."},
			[]string{"gateway_type", "kind", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kassa_gateway_call_duration_seconds",
			Help:    "How long gateway calls took, by gateway type and operation kind.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}},
			[]string{"gateway_type", "kind"}),
		conflicts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kassa_idempotency_conflicts_total",
			Help: "Requests refused for their Idempotency-Key: in use (a duplicate in flight) or reused (another request)."},
			[]string{"code"}),
	}
	reg.MustRegister(m.calls, m.latency, m.conflicts)
	return m
}

func (m *engineMetrics) GatewayCall(gatewayType string, kind payment.OperationKind, outcome payment.Outcome, took time.Duration) {
	m.calls.WithLabelValues(gatewayType, string(kind), string(outcome)).Inc()
	m.latency.WithLabelValues(gatewayType, string(kind)).Observe(took.Seconds())
}

func (m *engineMetrics) IdempotencyConflict(code string) { m.conflicts.WithLabelValues(code).Inc() }

// backlogCollector reports the reconciler's backlog when scraped.
type backlogCollector struct {
	eng            *engine.Engine
	count, waiting *prometheus.Desc
}

func newBacklogCollector(eng *engine.Engine) *backlogCollector {
	return &backlogCollector{eng: eng,
		count: prometheus.NewDesc("kassa_reconciler_backlog",
			"Operations pending or unknown, of every account: what the reconciler has to settle.", nil, nil),
		waiting: prometheus.NewDesc("kassa_reconciler_oldest_unknown_seconds",
			"How long the oldest operation with an unknown outcome has waited (0 without one).", nil, nil)}
}

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.count
	ch <- c.waiting
}

func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, oldest, err := c.eng.UnsettledOperations(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.count, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.count, prometheus.GaugeValue, float64(n))
	waited := 0.0
	if !oldest.IsZero() {
		waited = time.Since(oldest).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, waited)
}

// webhookMetrics counts webhook attempts.
type webhookMetrics struct {
	attempts *prometheus.CounterVec
	latency  prometheus.Histogram
	first    prometheus.Histogram
}

var _ engine.WebhookObserver = (*webhookMetrics)(nil)

func newWebhookMetrics(reg prometheus.Registerer) *webhookMetrics {
	m := &webhookMetrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kassa_webhook_attempts_total",
			Help: "Webhook delivery attempts by outcome: delivered, retry (will be tried again or ran out of attempts), refused (a 4xx), gone (a 410), failed (nothing could be sent)."},
			[]string{"outcome"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kassa_webhook_attempt_duration_seconds",
			Help:    "How long webhook attempts took, to the answer or the error.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15}}),
		first: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kassa_webhook_first_attempt_delay_seconds",
			Help:    "Time from an event to the first attempt of its delivery.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}}),
	}
	reg.MustRegister(m.attempts, m.latency, m.first)
	return m
}

func (m *webhookMetrics) WebhookAttempt(outcome string, took, firstDelay time.Duration) {
	m.attempts.WithLabelValues(outcome).Inc()
	m.latency.Observe(took.Seconds())
	if firstDelay > 0 {
		m.first.Observe(firstDelay.Seconds())
	}
}

// webhookBacklogCollector reports the webhook queue when scraped.
type webhookBacklogCollector struct {
	eng           *engine.Engine
	depth, oldest *prometheus.Desc
}

func newWebhookBacklogCollector(eng *engine.Engine) *webhookBacklogCollector {
	return &webhookBacklogCollector{eng: eng,
		depth: prometheus.NewDesc("kassa_webhook_queue_depth",
			"Webhook deliveries not yet delivered or given up on, of every account.", nil, nil),
		oldest: prometheus.NewDesc("kassa_webhook_oldest_undelivered_seconds",
			"Age of the oldest webhook delivery still pending (0 without one).", nil, nil)}
}

func (c *webhookBacklogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.oldest
}

func (c *webhookBacklogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, oldest, err := c.eng.WebhookBacklog(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.depth, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(n))
	age := 0.0
	if !oldest.IsZero() {
		age = time.Since(oldest).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age)
}
