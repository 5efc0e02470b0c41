package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/routing"
)

// breakerCollector exports this process's circuit breakers (ADR 0007:
// breakers are per process, so each process reports its own).
type breakerCollector struct {
	eng      *engine.Engine
	state    *prometheus.Desc
	failures *prometheus.Desc
}

func newBreakerCollector(eng *engine.Engine) *breakerCollector {
	return &breakerCollector{
		eng: eng,
		state: prometheus.NewDesc("kassa_gateway_circuit_open",
			"1 while a gateway's circuit breaker is open or half-open (the gateway is being skipped or tried once), by gateway and state.",
			[]string{"gateway", "state"}, nil),
		failures: prometheus.NewDesc("kassa_gateway_consecutive_failures",
			"Consecutive not-sent or unknown outcomes of a gateway, by gateway.", []string{"gateway"}, nil),
	}
}

func (c *breakerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.state
	ch <- c.failures
}

func (c *breakerCollector) Collect(ch chan<- prometheus.Metric) {
	c.eng.EachBreaker(func(gw string, s routing.BreakerStatus) {
		open := 0.0
		if s.State != routing.BreakerState("closed") {
			open = 1
		}
		ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, open, gw, string(s.State))
		ch <- prometheus.MustNewConstMetric(c.failures, prometheus.GaugeValue, float64(s.ConsecutiveFailures), gw)
	})
}
