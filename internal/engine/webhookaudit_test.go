package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// dyingStore stands for a process killed right after a redelivery is
// committed: every endpoint update after it fails, as the writes of a
// dead process never happen.
type dyingStore struct {
	payment.Store
	dead atomic.Bool
}

func (s *dyingStore) RedeliverWebhooks(ctx context.Context, accountID string, f payment.RedeliveryFilter, now time.Time,
	newEvent func(int) *payment.Event) (int, error) {
	n, err := s.Store.RedeliverWebhooks(ctx, accountID, f, now, newEvent)
	s.dead.Store(true)
	return n, err
}

func (s *dyingStore) UpdateWebhookEndpoint(ctx context.Context, accountID, id string,
	fn func(*payment.WebhookEndpoint) (*payment.Event, error)) (*payment.WebhookEndpoint, error) {
	if s.dead.Load() {
		return nil, errors.New("the process died")
	}
	return s.Store.UpdateWebhookEndpoint(ctx, accountID, id, fn)
}

// TestRedeliveryIsWrittenWithItsEvent: a redelivery to an endpoint and
// its webhook_endpoint.redelivered event (by whom, what was queued) are
// one write, so a process dying once the redelivery is committed leaves
// its event too; a redelivery to an endpoint of another account writes
// neither.
func TestRedeliveryIsWrittenWithItsEvent(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := &dyingStore{Store: b.open(t)}
			f := newFixture(t, st)
			p, _ := f.account(t, false)
			other, _ := f.account(t, false)
			pm := f.card(t, p, "4111111111111111", "")
			evs, _, err := f.eng.Events(ctx, p.Account.ID, payment.ListParams{})
			if err != nil || len(evs) != 1 {
				t.Fatalf("events: %v, %v", evs, err)
			}
			ev := evs[0]
			// Made after the event, the endpoint never had it: the
			// redelivery makes its first delivery.
			we := f.endpoint(t, p, "http://127.0.0.1:9/h", "payment_method.*")
			theirs := f.endpoint(t, other, "http://127.0.0.1:9/h", "payment_method.*")

			if _, err := f.eng.RedeliverToEndpointAs(ctx, p, ev.ID, theirs.ID); err == nil {
				t.Error("redelivered to another account's endpoint")
			}
			st.dead.Store(false)

			n, err := f.eng.RedeliverToEndpointAs(ctx, p, ev.ID, we.ID)
			if err != nil || n != 1 {
				t.Errorf("redeliver: %d, %v; want 1 queued", n, err)
			}
			ds, err := st.Store.WebhookDeliveriesOfEvent(ctx, p.Account.ID, ev.ID)
			if err != nil || len(ds) != 1 || ds[0].EndpointID != we.ID {
				t.Fatalf("deliveries of %s (%s): %+v, %v", ev.ID, pm.ID, ds, err)
			}
			trail, _, err := st.Store.ObjectEvents(ctx, p.Account.ID, we.ID, payment.ListParams{})
			if err != nil {
				t.Fatal(err)
			}
			var redelivered []*payment.Event
			for _, e := range trail {
				if e.Type == engine.EventWebhookEndpointRedelivered {
					redelivered = append(redelivered, e)
				}
			}
			if len(redelivered) != 1 {
				t.Fatalf("the committed redelivery has %d events, want 1 (trail %v)", len(redelivered), trail)
			}
			got := redelivered[0]
			var data map[string]any
			if err := json.Unmarshal(got.Data, &data); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"object": "webhook_redelivery", "kind": "redeliver", "event": ev.ID,
				"webhook_endpoint": we.ID, "queued": float64(1)}
			if got.Actor != p.Actor() || got.ObjectID != we.ID || !reflect.DeepEqual(data, want) {
				t.Errorf("event by %q on %s with %v; want by %q on %s with %v", got.Actor, got.ObjectID, data, p.Actor(), we.ID, want)
			}
			if trail, _, _ := st.Store.ObjectEvents(ctx, other.Account.ID, theirs.ID, payment.ListParams{}); len(trail) != 1 {
				t.Errorf("another account's endpoint has %d events, want its creation only", len(trail))
			}
		})
	}
}
