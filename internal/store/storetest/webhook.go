package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

func newEndpoint(accountID, url string, events ...string) *payment.WebhookEndpoint {
	return &payment.WebhookEndpoint{ID: payment.NewID(payment.PrefixWebhookEndpoint), AccountID: accountID, URL: url,
		EnabledEvents: events, Metadata: map[string]string{}, SecretSealed: []byte("sealed"), SecretVersion: 1,
		CreatedAt: t0, UpdatedAt: t0}
}

// testWebhookFanOut: an event's deliveries are written with it, one per
// enabled endpoint of its account whose enabled events match its type
// (exactly, by a prefix wildcard at any dot, or "*").
func testWebhookFanOut(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	eps := map[string]*payment.WebhookEndpoint{
		"exact":     newEndpoint(a.ID, "https://a.example/1", "payment_method.created"),
		"prefix":    newEndpoint(a.ID, "https://a.example/2", "payment_method.*"),
		"star":      newEndpoint(a.ID, "https://a.example/3", "*"),
		"other":     newEndpoint(a.ID, "https://a.example/4", "payment.*", "payment_method.updated"),
		"disabled":  newEndpoint(a.ID, "https://a.example/5", "*"),
		"elsewhere": newEndpoint(b.ID, "https://b.example/1", "*"),
	}
	eps["disabled"].DisabledAt = &t0
	for _, we := range eps {
		if err := s.CreateWebhookEndpoint(ctx, we, newEvent(we.AccountID, "webhook_endpoint.created", we.ID, t0)); err != nil {
			t.Fatal(err)
		}
	}
	pm := newPM(a.ID, t0)
	ev := newEvent(a.ID, "payment_method.created", pm.ID, t0)
	if err := s.CreatePaymentMethod(ctx, pm, ev); err != nil {
		t.Fatal(err)
	}
	ds, err := s.WebhookDeliveriesOfEvent(ctx, a.ID, ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, d := range ds {
		got[d.EndpointID] = true
		if d.MessageID != ev.ID || d.State != payment.DeliveryPending || d.Signer != payment.SignerStandard ||
			d.Queue != d.EndpointID || !d.NextAttemptAt.Equal(ev.CreatedAt) || len(d.ID) != len(ev.ID) {
			t.Errorf("delivery %+v", d)
		}
	}
	for name, want := range map[string]bool{"exact": true, "prefix": true, "star": true, "other": false, "disabled": false, "elsewhere": false} {
		if got[eps[name].ID] != want {
			t.Errorf("endpoint %s got a delivery: %v, want %v", name, got[eps[name].ID], want)
		}
	}
	if ds, _ := s.WebhookDeliveriesOfEvent(ctx, b.ID, ev.ID); len(ds) != 0 {
		t.Errorf("another account reads %d deliveries of the event", len(ds))
	}
	if _, err := s.Event(ctx, b.ID, ev.ID); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("another account's event: %v", err)
	}
}

// testWebhookFanOutFollowsEndpoints: an account's events fan out to the
// endpoints it has at the time of the event: none before its first
// endpoint, to it once it is created, and none again once it is deleted
// (a store that remembers which accounts have endpoints must forget at
// each change).
func testWebhookFanOutFollowsEndpoints(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	deliveries := func() int {
		t.Helper()
		pm := newPM(a.ID, t0)
		ev := newEvent(a.ID, "payment_method.created", pm.ID, t0)
		if err := s.CreatePaymentMethod(ctx, pm, ev); err != nil {
			t.Fatal(err)
		}
		ds, err := s.WebhookDeliveriesOfEvent(ctx, a.ID, ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		return len(ds)
	}
	if n := deliveries(); n != 0 {
		t.Fatalf("before any endpoint: %d deliveries", n)
	}
	we := newEndpoint(a.ID, "https://a.example/1", "*")
	if err := s.CreateWebhookEndpoint(ctx, we, newEvent(a.ID, "webhook_endpoint.created", we.ID, t0)); err != nil {
		t.Fatal(err)
	}
	if n := deliveries(); n != 1 {
		t.Fatalf("after the endpoint was created: %d deliveries, want 1", n)
	}
	if err := s.DeleteWebhookEndpoint(ctx, a.ID, we.ID, newEvent(a.ID, "webhook_endpoint.deleted", we.ID, t0)); err != nil {
		t.Fatal(err)
	}
	if n := deliveries(); n != 0 {
		t.Fatalf("after the endpoint was deleted: %d deliveries", n)
	}
}

// testWebhookClaims: of concurrent claims, each due delivery goes to one;
// a queue gets at most perQueue, a busy queue none; a completion under a
// lost lease changes nothing but the log.
func testWebhookClaims(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	slow := newEndpoint(a.ID, "https://a.example/slow", "payment_method.*")
	fast := newEndpoint(a.ID, "https://a.example/fast", "payment_method.*")
	for _, we := range []*payment.WebhookEndpoint{slow, fast} {
		if err := s.CreateWebhookEndpoint(ctx, we, newEvent(a.ID, "webhook_endpoint.created", we.ID, t0)); err != nil {
			t.Fatal(err)
		}
	}
	const n = 30
	for i := range n {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		pm := newPM(a.ID, at)
		if err := s.CreatePaymentMethod(ctx, pm, newEvent(a.ID, "payment_method.created", pm.ID, at)); err != nil {
			t.Fatal(err)
		}
	}
	now := t0.Add(time.Minute)
	// Per queue and busy queues.
	ds, err := s.ClaimWebhookDeliveries(ctx, now, now.Add(time.Minute), []string{slow.ID}, 4, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 4 {
		t.Fatalf("claimed %d, want 4 of the one free queue", len(ds))
	}
	for _, d := range ds {
		if d.Queue != fast.ID || d.Attempts != 1 || d.LeaseToken == "" || d.Endpoint == nil || d.Endpoint.ID != fast.ID || d.Event == nil {
			t.Errorf("claimed %+v", d)
		}
	}
	// Concurrent claimers take each of the rest once.
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := s.ClaimWebhookDeliveries(ctx, now, now.Add(time.Minute), nil, 100, 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, d := range got {
					seen[d.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 2*n-4 {
		t.Errorf("claimed %d deliveries, want %d", len(seen), 2*n-4)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s claimed %d times", id, c)
		}
	}
	// The lease ran out: due again, with a new token; the old token's
	// completion records its attempt and changes nothing else.
	later := now.Add(2 * time.Minute)
	again, err := s.ClaimWebhookDeliveries(ctx, later, later.Add(time.Minute), nil, 100, 1)
	if err != nil || len(again) != 1 {
		t.Fatalf("after the lease: %d, %v", len(again), err)
	}
	d := again[0]
	stale := *d
	stale.LeaseToken = "lost"
	res := func(state payment.WebhookDeliveryState) *payment.WebhookResult {
		return &payment.WebhookResult{State: state, Health: payment.HealthOK, Attempt: &payment.WebhookAttempt{
			ID: payment.NewID(payment.PrefixWebhookAttempt), AccountID: a.ID, DeliveryID: d.ID, EndpointID: d.EndpointID,
			EventID: d.EventID, EventType: "payment_method.created", Attempt: d.Attempts, URL: "https://a.example", StartedAt: later,
			StatusCode: 200, Succeeded: state == payment.DeliverySucceeded}}
	}
	if err := s.CompleteWebhookDelivery(ctx, &stale, res(payment.DeliverySucceeded)); !errors.Is(err, payment.ErrConflict) {
		t.Errorf("completion under a lost lease: %v, want ErrConflict", err)
	}
	if err := s.CompleteWebhookDelivery(ctx, d, res(payment.DeliverySucceeded)); err != nil {
		t.Fatal(err)
	}
	ds, _ = s.WebhookDeliveriesOfEvent(ctx, a.ID, d.EventID)
	for _, x := range ds {
		if x.ID == d.ID && (x.State != payment.DeliverySucceeded || x.CompletedAt == nil || x.LeaseToken != "") {
			t.Errorf("completed delivery %+v", x)
		}
	}
	as, _, err := s.WebhookAttempts(ctx, a.ID, d.EndpointID, payment.ListParams{})
	if err != nil || len(as) != 2 {
		t.Errorf("attempt log: %d, %v (want both attempts)", len(as), err)
	}
	// Redelivery makes it pending and due again.
	if n, err := s.RedeliverWebhooks(ctx, a.ID, payment.RedeliveryFilter{EventID: d.EventID, EndpointID: d.EndpointID}, later, nil); err != nil || n != 1 {
		t.Errorf("redeliver: %d, %v", n, err)
	}
	if n, err := s.RedeliverWebhooks(ctx, newAccount(t, s).ID, payment.RedeliveryFilter{EndpointID: d.EndpointID}, later, nil); err != nil || n != 0 {
		t.Errorf("another account redelivered %d, %v", n, err)
	}
	count, oldest, err := s.WebhookBacklog(ctx)
	if err != nil || count == 0 || oldest.IsZero() {
		t.Errorf("backlog %d %v %v", count, oldest, err)
	}
}

// testRedeliveryEvent: a redelivery's own event is written in its
// transaction, rendered from how many it queued: when the event cannot
// be written, nothing is redelivered; an endpoint of another account is
// not found, and gets nothing.
func testRedeliveryEvent(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	pm := newPM(a.ID, t0)
	ev := createPM(t, s, pm)
	// An endpoint made after the event never had it: a redelivery to it
	// makes its first delivery.
	late := newEndpoint(a.ID, "https://a.example/late", "payment_method.*")
	if err := s.CreateWebhookEndpoint(ctx, late, newEvent(a.ID, "webhook_endpoint.created", late.ID, t0)); err != nil {
		t.Fatal(err)
	}
	f := payment.RedeliveryFilter{EventID: ev.ID, EndpointID: late.ID}
	now := t0.Add(time.Minute)
	deliveries := func() int {
		t.Helper()
		ds, err := s.WebhookDeliveriesOfEvent(ctx, a.ID, ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		return len(ds)
	}
	redelivered := func(n int) *payment.Event {
		e := newEvent(a.ID, "webhook_endpoint.redelivered", late.ID, now)
		e.Data = []byte(fmt.Sprintf(`{"object":"webhook_redelivery","queued":%d}`, n))
		e.Actor = "user:usr_1"
		return e
	}

	// The event's write fails (its id is taken): no redelivery either.
	n, err := s.RedeliverWebhooks(ctx, a.ID, f, now, func(n int) *payment.Event {
		e := redelivered(n)
		e.ID = ev.ID
		return e
	})
	if err == nil || n != 0 {
		t.Errorf("redelivery whose event failed: %d, %v; want an error", n, err)
	}
	if got := deliveries(); got != 0 {
		t.Errorf("a redelivery whose event failed left %d deliveries", got)
	}

	// Another account's endpoint: not found, nothing written.
	var asked bool
	n, err = s.RedeliverWebhooks(ctx, b.ID, f, now, func(n int) *payment.Event { asked = true; return nil })
	wantNotFound(t, "redelivery to another account's endpoint", err)
	if n != 0 || asked || deliveries() != 0 {
		t.Errorf("redelivery to another account's endpoint: %d queued, event asked %v, %d deliveries", n, asked, deliveries())
	}

	// Together: the delivery and its event, which says how many.
	var want *payment.Event
	n, err = s.RedeliverWebhooks(ctx, a.ID, f, now, func(n int) *payment.Event { want = redelivered(n); return want })
	if err != nil || n != 1 {
		t.Fatalf("redelivery: %d, %v", n, err)
	}
	if got := deliveries(); got != 1 {
		t.Errorf("after the redelivery: %d deliveries, want 1", got)
	}
	got, err := s.Event(ctx, a.ID, want.ID)
	if err != nil {
		t.Fatalf("the redelivery's event: %v", err)
	}
	equal(t, "the redelivery's event", got, want)
	if string(got.Data) != `{"object":"webhook_redelivery","queued":1}` {
		t.Errorf("event data %s", got.Data)
	}
}
