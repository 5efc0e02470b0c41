package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the HTTP metrics of every dialect:
//
//	kassa_http_requests_total{dialect,route,code}
//	kassa_http_request_duration_seconds{dialect,route}
//
// route is the matched pattern ("GET /v1/payment_methods/{id}") or
// "unmatched", never a raw path, so the series stay few.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the HTTP metrics on reg. Several dialects may call it
// with the same registry: they share the collectors. It panics if reg holds
// other collectors of the same names, as prometheus.MustRegister does.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kassa_http_requests_total",
		Help: "HTTP requests answered, by API dialect, route pattern and status code.",
	}, []string{"dialect", "route", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "kassa_http_request_duration_seconds",
		Help:    "Time to answer HTTP requests, by API dialect and route pattern.",
		Buckets: prometheus.DefBuckets,
	}, []string{"dialect", "route"})
	return &Metrics{
		requests: register(reg, requests),
		duration: register(reg, duration),
	}
}

// register registers c on reg, or returns the collector of the same
// description that is already there.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic("api: register metrics: " + err.Error())
}

// Instrument returns middleware that counts and times every request of
// dialect. It must run inside RequestID (which it reads the route from).
func (m *Metrics) Instrument(dialect string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := recorderOf(w)
			defer func() {
				route := routeLabel(stateOf(r.Context()))
				m.requests.WithLabelValues(dialect, route, strconv.Itoa(rec.statusCode())).Inc()
				m.duration.WithLabelValues(dialect, route).Observe(time.Since(start).Seconds())
			}()
			next.ServeHTTP(rec, r)
		})
	}
}

// MetricsHandler serves the metrics of g in Prometheus' exposition formats.
func MetricsHandler(g prometheus.Gatherer) http.Handler {
	h := promhttp.HandlerFor(g, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		MarkQuiet(r.Context())
		h.ServeHTTP(w, r)
	})
}
