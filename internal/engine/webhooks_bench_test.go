package engine_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/engine"
)

// pollDefault is WebhookOptions' default Poll, which the latency follows.
const pollDefault = 50 * time.Millisecond

// BenchmarkWebhookDeliveries measures the delivery loop against a local
// receiver that answers 204 at once: "throughput" queues b.N events (card
// updates) and times their delivery (deliveries/s); "latency" writes
// events one at a time while the loop runs and reports the time from the
// event's commit to its arrival (p50, p99).
func BenchmarkWebhookDeliveries(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			b.Run("throughput", func(b *testing.B) {
				f := newFixture(b, be.open(b))
				p, _ := f.account(b, false)
				var mu sync.Mutex
				got := 0
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					io.Copy(io.Discard, r.Body)
					mu.Lock()
					got++
					mu.Unlock()
					w.WriteHeader(http.StatusNoContent)
				}))
				defer srv.Close()
				f.endpoint(b, p, srv.URL, "payment_method.updated")
				pm := f.card(b, p, "4242424242424242", "123")
				ctx := context.Background()
				name := "Jane Roe"
				for range b.N {
					if _, err := f.eng.UpdatePaymentMethod(ctx, p.Account.ID, pm.ID, engine.PaymentMethodUpdate{HolderName: &name}); err != nil {
						b.Fatal(err)
					}
				}
				b.ResetTimer()
				start := time.Now()
				f.runWebhooks(b, engine.WebhookOptions{Poll: 10 * time.Millisecond})
				for {
					mu.Lock()
					n := got
					mu.Unlock()
					if n >= b.N {
						break
					}
					time.Sleep(time.Millisecond)
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "deliveries/s")
			})
			b.Run("latency", func(b *testing.B) {
				f := newFixture(b, be.open(b))
				p, _ := f.account(b, false)
				var mu sync.Mutex
				arrived := map[string]time.Time{}
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					var body struct {
						Data struct{ ID string }
					}
					json.NewDecoder(r.Body).Decode(&body)
					mu.Lock()
					arrived[body.Data.ID] = time.Now()
					mu.Unlock()
					w.WriteHeader(http.StatusNoContent)
				}))
				defer srv.Close()
				f.endpoint(b, p, srv.URL, "payment_method.created")
				f.runWebhooks(b, engine.WebhookOptions{Poll: pollDefault})
				committed := map[string]time.Time{}
				b.ResetTimer()
				for range b.N {
					pm := f.card(b, p, "4242424242424242", "123")
					committed[pm.ID] = time.Now()
					time.Sleep(5 * time.Millisecond)
				}
				deadline := time.Now().Add(30 * time.Second)
				for {
					mu.Lock()
					n := len(arrived)
					mu.Unlock()
					if n >= b.N || time.Now().After(deadline) {
						break
					}
					time.Sleep(time.Millisecond)
				}
				b.StopTimer()
				mu.Lock()
				defer mu.Unlock()
				var lat []time.Duration
				for id, at := range committed {
					if t, ok := arrived[id]; ok {
						lat = append(lat, max(t.Sub(at), 0))
					}
				}
				if len(lat) != b.N {
					b.Fatalf("%d of %d events arrived", len(lat), b.N)
				}
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			})
		})
	}
}
