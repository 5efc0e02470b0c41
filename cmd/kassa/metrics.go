package main

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kassapay/kassa/internal/engine"
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
