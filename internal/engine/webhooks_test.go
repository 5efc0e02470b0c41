package engine_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store/pgtest"
	"github.com/kassapay/kassa/internal/store/postgres"
	"github.com/kassapay/kassa/internal/webhook"
)

// receiver is a webhook endpoint for tests: it records every request and
// answers with what answer returns (200 when nil).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(r *http.Request) int
}

type received struct {
	header http.Header
	body   []byte
	method string
	query  string
	at     time.Time
}

func newReceiver(t testing.TB, answer func(r *http.Request) int) *receiver {
	rc := &receiver{answer: answer}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		status := http.StatusOK
		rc.mu.Lock()
		answer := rc.answer
		rc.mu.Unlock()
		if answer != nil {
			status = answer(r)
		}
		rc.mu.Lock()
		rc.got = append(rc.got, received{header: r.Header.Clone(), body: body, method: r.Method, query: r.URL.RawQuery, at: time.Now()})
		rc.mu.Unlock()
		w.WriteHeader(status)
		io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// setAnswer changes how the receiver answers.
func (rc *receiver) setAnswer(answer func(r *http.Request) int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.answer = answer
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// byID returns the requests by webhook-id.
func (rc *receiver) byID() map[string][]received {
	m := map[string][]received{}
	for _, r := range rc.requests() {
		id := r.header.Get("webhook-id")
		m[id] = append(m[id], r)
	}
	return m
}

// waitFor polls cond for up to d of real time.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// attemptCounter counts the attempts the delivery loop has recorded.
type attemptCounter struct{ n atomic.Int64 }

func (c *attemptCounter) WebhookAttempt(string, time.Duration, time.Duration) { c.n.Add(1) }

// advance moves the clock by d once every request the receivers got has
// been recorded as an attempt: moving it past the lease of an attempt
// still in flight would (rightly) make it due again.
func (f *fixture) advance(t testing.TB, d time.Duration, rcs ...*receiver) {
	t.Helper()
	want := 0
	for _, rc := range rcs {
		want += len(rc.requests())
	}
	waitFor(t, 5*time.Second, "the attempts in flight to be recorded", func() bool { return f.attempts.n.Load() >= int64(want) })
	f.clock.Add(d)
}

// runWebhooks runs f's delivery loop until the test ends.
func (f *fixture) runWebhooks(t testing.TB, opts engine.WebhookOptions) {
	if opts.Poll == 0 {
		opts.Poll = 5 * time.Millisecond
	}
	opts.Observer = &f.attempts
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.eng.RunWebhooks(ctx, opts)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func (f *fixture) endpoint(t testing.TB, p *payment.Principal, url string, events ...string) *engine.WebhookEndpointObject {
	t.Helper()
	o, err := f.eng.CreateWebhookEndpoint(context.Background(), p, engine.WebhookEndpointInput{URL: &url, EnabledEvents: events})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func key(t testing.TB, secret string) []byte {
	t.Helper()
	k, err := webhook.SecretKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// verify checks r's Standard Webhooks signature with secret at the fake
// clock's time.
func verify(r received, secret string, k []byte, now time.Time) error {
	return webhook.VerifyStandard(k, r.header.Get("webhook-id"), r.header.Get("webhook-timestamp"),
		r.header.Get("webhook-signature"), r.body, now, 5*time.Minute)
}

// TestWebhooksDeliverSignedEvents: an event of a subscribed type reaches
// the endpoint once, signed with its secret, its webhook-id the event's id
// and its body the event's object; unsubscribed types and other accounts'
// events do not.
func TestWebhooksDeliverSignedEvents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		rc := newReceiver(t, nil)
		p, _ := f.account(t, false)
		other, _ := f.account(t, false)
		ep := f.endpoint(t, p, rc.URL, "payment_method.*")
		if !strings.HasPrefix(ep.Secret, "whsec_") {
			t.Fatalf("secret %q", ep.Secret)
		}
		f.runWebhooks(t, engine.WebhookOptions{})
		pm := f.card(t, p, "4242424242424242", "123")
		f.card(t, other, "4242424242424242", "123")
		f.simGateway(t, p, nil) // gateway.created: not subscribed
		waitFor(t, 5*time.Second, "a delivery", func() bool { return len(rc.requests()) >= 1 })
		time.Sleep(100 * time.Millisecond)
		got := rc.requests()
		if len(got) != 1 {
			t.Fatalf("%d requests, want 1 (payment_method.created only)", len(got))
		}
		r := got[0]
		if err := verify(r, ep.Secret, key(t, ep.Secret), f.clock.Now()); err != nil {
			t.Fatalf("signature: %v", err)
		}
		evs, _, err := f.eng.Events(ctx, p.Account.ID, payment.ListParams{})
		if err != nil {
			t.Fatal(err)
		}
		var created *payment.Event
		for _, ev := range evs {
			if ev.Type == "payment_method.created" {
				created = ev
			}
		}
		if created == nil || r.header.Get("webhook-id") != created.ID {
			t.Fatalf("webhook-id %q, want the event's id", r.header.Get("webhook-id"))
		}
		var body struct {
			Type      string          `json:"type"`
			Timestamp time.Time       `json:"timestamp"`
			Data      json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatal(err)
		}
		if body.Type != "payment_method.created" || !body.Timestamp.Equal(created.CreatedAt) || !strings.Contains(string(body.Data), pm.ID) {
			t.Errorf("body %s", r.body)
		}
		if strings.Contains(string(r.body), "4242424242424242") || strings.Contains(string(r.body), ep.Secret) {
			t.Errorf("the body holds the card number or the secret: %s", r.body)
		}
		if r.header.Get("Content-Type") != "application/json" || r.method != http.MethodPost {
			t.Errorf("method %s, content type %q", r.method, r.header.Get("Content-Type"))
		}
		// The delivery log has the attempt.
		waitFor(t, 5*time.Second, "the attempt in the log", func() bool {
			as, _, err := f.eng.WebhookAttempts(ctx, p, ep.ID, payment.ListParams{})
			return err == nil && len(as) == 1 && as[0].Succeeded && as[0].StatusCode == 200 && as[0].ResponseBody == `{"ok":true}`
		})
		// Another account sees none of it.
		if _, _, err := f.eng.WebhookAttempts(ctx, other, ep.ID, payment.ListParams{}); !errors.Is(err, payment.ErrNotFound) {
			t.Errorf("another account's delivery log: %v", err)
		}
		if _, err := f.eng.WebhookEndpoint(ctx, other, ep.ID); !errors.Is(err, payment.ErrNotFound) {
			t.Errorf("another account's endpoint: %v", err)
		}
		if _, err := f.eng.RedeliverEvent(ctx, other, created.ID, ""); !errors.Is(err, payment.ErrNotFound) {
			t.Errorf("another account's event: %v", err)
		}
	})
}

// TestWebhooksSurviveAnOutage: a receiver down through the whole schedule
// but its last attempts (the clock moved, not slept through) gets every
// event once it is back; duplicates, if any, carry one webhook-id.
func TestWebhooksSurviveAnOutage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		var mu sync.Mutex
		up := false
		rc := newReceiver(t, func(*http.Request) int {
			mu.Lock()
			defer mu.Unlock()
			if up {
				return 200
			}
			return 503
		})
		p, _ := f.account(t, false)
		ep := f.endpoint(t, p, rc.URL, "payment_method.*")
		f.runWebhooks(t, engine.WebhookOptions{})
		const n = 12
		for range n {
			f.card(t, p, "4242424242424242", "123")
		}
		// Each delivery fails at once, then waits 5 s, 5 min, 30 min…: step
		// the clock through the first five waits, failing each time.
		steps := []time.Duration{6 * time.Second, 6 * time.Minute, 35 * time.Minute, 140 * time.Minute, 6 * time.Hour}
		for i, s := range steps {
			want := n * (i + 1)
			waitFor(t, 10*time.Second, "failed attempts", func() bool { return len(rc.requests()) >= want })
			f.advance(t, s, rc)
		}
		mu.Lock()
		up = true
		mu.Unlock()
		f.advance(t, 11*time.Hour, rc)
		waitFor(t, 10*time.Second, "every event delivered after the outage", func() bool { return len(rc.requests()) >= 6*n })
		time.Sleep(100 * time.Millisecond)
		ids := rc.byID()
		if len(ids) != n {
			t.Fatalf("%d distinct webhook-ids, want %d", len(ids), n)
		}
		for id, rs := range ids {
			if len(rs) != 6 {
				t.Errorf("%s: %d attempts, want 6 (5 failed, 1 delivered)", id, len(rs))
			}
			for _, r := range rs[1:] {
				if string(r.body) != string(rs[0].body) {
					t.Errorf("%s: a retry's body differs", id)
				}
			}
		}
		we, err := f.eng.WebhookEndpoint(context.Background(), p, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "the endpoint healthy again", func() bool {
			we, err = f.eng.WebhookEndpoint(context.Background(), p, ep.ID)
			return err == nil && we.FailingSince == nil
		})
		if we.DisabledAt != nil {
			t.Errorf("endpoint disabled after an outage of hours: %s", we.DisabledReason)
		}
	})
}

// TestWebhooksGiveUpAndDisable: the last attempt of the schedule fails the
// delivery; a 410 disables the endpoint at once; an endpoint failing for 5
// days is disabled with a webhook_endpoint.disabled event; other 4xx fail
// without retries.
func TestWebhooksGiveUpAndDisable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		gone := newReceiver(t, func(*http.Request) int { return http.StatusGone })
		bad := newReceiver(t, func(*http.Request) int { return http.StatusBadRequest })
		down := newReceiver(t, func(*http.Request) int { return http.StatusInternalServerError })
		watcher := newReceiver(t, nil)
		p, _ := f.account(t, false)
		goneEp := f.endpoint(t, p, gone.URL, "payment_method.created")
		badEp := f.endpoint(t, p, bad.URL, "payment_method.created")
		downEp := f.endpoint(t, p, down.URL, "payment_method.created")
		f.endpoint(t, p, watcher.URL, "webhook_endpoint.disabled")
		f.runWebhooks(t, engine.WebhookOptions{Schedule: webhook.Schedule{0, time.Hour, time.Hour}, DisableAfter: 5 * 24 * time.Hour})
		f.card(t, p, "4242424242424242", "123")
		waitFor(t, 5*time.Second, "the first attempts", func() bool {
			return len(gone.requests()) == 1 && len(bad.requests()) == 1 && len(down.requests()) == 1
		})
		waitFor(t, 5*time.Second, "the 410 to disable", func() bool {
			we, err := f.eng.WebhookEndpoint(ctx, p, goneEp.ID)
			return err == nil && we.DisabledAt != nil && strings.Contains(we.DisabledReason, "410")
		})
		waitFor(t, 5*time.Second, "the disabled event", func() bool { return len(watcher.requests()) == 1 })
		if body := string(watcher.requests()[0].body); !strings.Contains(body, goneEp.ID) || !strings.Contains(body, `"disabled"`) {
			t.Errorf("disabled event %s", body)
		}
		// The 500s retry; the 400 does not.
		all := []*receiver{gone, bad, down, watcher}
		f.advance(t, 2*time.Hour, all...)
		waitFor(t, 5*time.Second, "the retries", func() bool { return len(down.requests()) == 2 })
		f.advance(t, 2*time.Hour, all...)
		waitFor(t, 5*time.Second, "the last retry", func() bool { return len(down.requests()) == 3 })
		f.advance(t, 2*time.Hour, all...)
		time.Sleep(100 * time.Millisecond)
		if n := len(down.requests()); n != 3 {
			t.Errorf("%d attempts on a schedule of 3", n)
		}
		if n := len(bad.requests()); n != 1 {
			t.Errorf("a 400 was retried: %d attempts", n)
		}
		if n := len(gone.requests()); n != 1 {
			t.Errorf("a disabled endpoint was called again: %d attempts", n)
		}
		ev := firstEvent(t, f, p, "payment_method.created")
		ds, err := f.store.WebhookDeliveriesOfEvent(ctx, p.Account.ID, ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.State != payment.DeliveryFailed {
				t.Errorf("delivery to %s is %s, want failed", d.EndpointID, d.State)
			}
		}
		// Still failing 5 days after the first failure: disabled.
		if we, _ := f.eng.WebhookEndpoint(ctx, p, downEp.ID); we.DisabledAt != nil || we.FailingSince == nil {
			t.Fatalf("down endpoint: disabled %v, failing since %v", we.DisabledAt, we.FailingSince)
		}
		f.advance(t, 5*24*time.Hour, all...)
		if _, err := f.eng.RedeliverEvent(ctx, p, ev.ID, downEp.ID); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "5 days of failures to disable", func() bool {
			we, err := f.eng.WebhookEndpoint(ctx, p, downEp.ID)
			return err == nil && we.DisabledAt != nil && strings.Contains(we.DisabledReason, "failed since")
		})
		// Enabling again clears the streak; recover re-sends what failed.
		down.setAnswer(nil)
		bad.setAnswer(nil)
		off := false
		if _, err := f.eng.UpdateWebhookEndpoint(ctx, p, badEp.ID, engine.WebhookEndpointInput{Disabled: &off}); err != nil {
			t.Fatal(err)
		}
		n, err := f.eng.RecoverWebhooks(ctx, p, badEp.ID, time.Time{}, time.Time{})
		if err != nil || n != 1 {
			t.Fatalf("recover: %d, %v", n, err)
		}
		waitFor(t, 5*time.Second, "the recovered delivery", func() bool { return len(bad.requests()) == 2 })
		if a, b := bad.requests()[0].header.Get("webhook-id"), bad.requests()[1].header.Get("webhook-id"); a != b {
			t.Errorf("a recovered delivery changed its webhook-id: %s, %s", a, b)
		}
	})
}

func firstEvent(t testing.TB, f *fixture, p *payment.Principal, typ string) *payment.Event {
	t.Helper()
	evs, _, err := f.eng.Events(context.Background(), p.Account.ID, payment.ListParams{Limit: 100, Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Type == typ {
			return ev
		}
	}
	t.Fatalf("no %s event", typ)
	return nil
}

// TestWebhookSecretRotation: after a rotation both secrets sign for 24
// hours, then only the new one; expire_old_now drops the old at once.
func TestWebhookSecretRotation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		rc := newReceiver(t, nil)
		p, _ := f.account(t, false)
		ep := f.endpoint(t, p, rc.URL, "payment_method.created")
		f.runWebhooks(t, engine.WebhookOptions{})
		rot, err := f.eng.RotateWebhookSecret(ctx, p, ep.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		if rot.Secret == ep.Secret || rot.SecretVersion != 2 || rot.OldSecretExpiresAt == nil {
			t.Fatalf("rotation: %+v", rot)
		}
		got, _ := f.eng.WebhookEndpoint(ctx, p, ep.ID)
		if o := engine.WebhookEndpointObjectOf(got); o.Secret != "" {
			t.Fatal("a read shows the secret")
		}
		oldKey, newKey := key(t, ep.Secret), key(t, rot.Secret)
		send := func(want int) received {
			f.card(t, p, "4242424242424242", "123")
			waitFor(t, 5*time.Second, "a delivery", func() bool { return len(rc.requests()) == want })
			return rc.requests()[want-1]
		}
		r := send(1)
		if n := len(strings.Fields(r.header.Get("webhook-signature"))); n != 2 {
			t.Errorf("%d signatures during the overlap, want 2", n)
		}
		if verify(r, "", oldKey, f.clock.Now()) != nil || verify(r, "", newKey, f.clock.Now()) != nil {
			t.Error("during the overlap, old and new secret must both verify")
		}
		f.advance(t, 24*time.Hour+time.Second, rc)
		r = send(2)
		if verify(r, "", oldKey, f.clock.Now()) == nil {
			t.Error("the old secret still verifies after 24 h")
		}
		if verify(r, "", newKey, f.clock.Now()) != nil {
			t.Error("the new secret does not verify")
		}
		third, err := f.eng.RotateWebhookSecret(ctx, p, ep.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		r = send(3)
		if verify(r, "", newKey, f.clock.Now()) == nil || verify(r, "", key(t, third.Secret), f.clock.Now()) != nil {
			t.Error("expire_old_now: only the newest secret may verify")
		}
	})
}

// TestSlowEndpointDoesNotDelayOthers: a receiver that answers after 10 s,
// with more deliveries queued than its share of the concurrency, does not
// hold up another endpoint's deliveries by more than a second.
func TestSlowEndpointDoesNotDelayOthers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		release := make(chan struct{})
		slow := newReceiver(t, func(r *http.Request) int {
			select {
			case <-release:
			case <-time.After(10 * time.Second):
			case <-r.Context().Done():
			}
			return 200
		})
		defer close(release)
		fast := newReceiver(t, nil)
		p, _ := f.account(t, false)
		f.endpoint(t, p, slow.URL, "payment_method.created")
		f.endpoint(t, p, fast.URL, "payment_method.updated")
		f.runWebhooks(t, engine.WebhookOptions{Concurrency: 16, PerEndpoint: 8})
		ctx := context.Background()
		pm := f.card(t, p, "4242424242424242", "123")
		for range 30 {
			f.card(t, p, "4242424242424242", "123")
		}
		time.Sleep(200 * time.Millisecond) // the slow endpoint's 8 are in flight
		start := time.Now()
		name := "Jane Roe"
		if _, err := f.eng.UpdatePaymentMethod(ctx, p.Account.ID, pm.ID, engine.PaymentMethodUpdate{HolderName: &name}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "the fast endpoint's delivery", func() bool { return len(fast.requests()) == 1 })
		if d := time.Since(start); d > time.Second {
			t.Errorf("the fast endpoint waited %s behind the slow one", d)
		}
	})
}

// hmacSigner is a dialect-like signer for the test of the callback seam:
// X-Signature is the hex HMAC-SHA512 of the body (IXOPAY's shape).
type hmacSigner struct{ key []byte }

func (s hmacSigner) Sign(r *http.Request, msgID string, now time.Time, body []byte) error {
	m := hmac.New(sha512.New, s.key)
	m.Write(body)
	r.Header.Set("X-Signature", hex.EncodeToString(m.Sum(nil)))
	r.Header.Set("X-Message-Id", msgID)
	return nil
}

// TestCallbackDeliveriesUseTheSameEngine: a delivery that carries its own
// URL, method, headers, body and signer (a dialect's callback) is sent,
// retried and logged by the same engine.
func TestCallbackDeliveriesUseTheSameEngine(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		var mu sync.Mutex
		fails := 1
		rc := newReceiver(t, func(*http.Request) int {
			mu.Lock()
			defer mu.Unlock()
			if fails > 0 {
				fails--
				return 502
			}
			return 200
		})
		p, _ := f.account(t, false)
		signers := map[string]engine.CallbackSigner{"test": func(_ context.Context, d *payment.WebhookDelivery) (webhook.Signer, error) {
			if d.SignerKey != "key-1" {
				return nil, errors.New("unknown key")
			}
			return hmacSigner{key: []byte("shared-secret")}, nil
		}}
		f.runWebhooks(t, engine.WebhookOptions{Signers: signers, Schedule: webhook.Schedule{0, time.Minute}})
		now := f.clock.Now()
		body := []byte(`{"result":"OK","transactionStatus":"SUCCESS"}`)
		post := &payment.WebhookDelivery{ID: payment.NewID(payment.PrefixWebhookDelivery), AccountID: p.Account.ID,
			MessageID: "msg-1", Signer: "test", SignerKey: "key-1", Method: "POST", URL: rc.URL + "/cb?x=1",
			Headers: map[string]string{"X-Kind": "callback"}, Body: body, Queue: "127.0.0.1", State: payment.DeliveryPending,
			NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}
		get := &payment.WebhookDelivery{ID: payment.NewID(payment.PrefixWebhookDelivery), AccountID: p.Account.ID,
			MessageID: "msg-2", Signer: "test", SignerKey: "key-1", Method: "GET", URL: rc.URL + "/cb?transaction_id=t1",
			Queue: "127.0.0.1", State: payment.DeliveryPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}
		if err := f.store.CreateWebhookDeliveries(ctx, []*payment.WebhookDelivery{post, get}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "both callbacks, one failed", func() bool { return len(rc.requests()) == 2 })
		f.advance(t, 2*time.Minute, rc)
		waitFor(t, 5*time.Second, "the retry", func() bool { return len(rc.requests()) == 3 })
		var posts, gets []received
		for _, r := range rc.requests() {
			if r.method == "GET" {
				gets = append(gets, r)
			} else {
				posts = append(posts, r)
			}
		}
		m := hmac.New(sha512.New, []byte("shared-secret"))
		m.Write(body)
		want := hex.EncodeToString(m.Sum(nil))
		for _, r := range posts {
			if r.header.Get("X-Signature") != want || string(r.body) != string(body) || r.header.Get("X-Kind") != "callback" || r.query != "x=1" {
				t.Errorf("callback POST: %v %s %s", r.header, r.body, r.query)
			}
			if r.header.Get("webhook-signature") != "" {
				t.Error("a callback got a Standard Webhooks signature")
			}
		}
		if len(gets) == 0 || len(gets[0].body) != 0 || gets[0].query != "transaction_id=t1" {
			t.Errorf("callback GET: %+v", gets)
		}
	})
}

// TestTwoProcessesDeliverEachEventOnce: two delivery loops on one
// PostgreSQL database (two stores, two engines) deliver each of 1,000
// events exactly once to a healthy receiver.
func TestTwoProcessesDeliverEachEventOnce(t *testing.T) {
	u := pgtest.SchemaURL(t)
	open := func() payment.Store {
		st, err := postgres.Open(context.Background(), u, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	a := newFixture(t, open())
	b := newFixtureOn(t, open(), a.ring)
	rc := newReceiver(t, nil)
	p, _ := a.account(t, false)
	a.endpoint(t, p, rc.URL, "payment_method.updated")
	pm := a.card(t, p, "4242424242424242", "123")
	ctx := context.Background()
	const n = 1000
	for i := range n {
		name := "Holder " + string(rune('A'+i%26))
		if _, err := a.eng.UpdatePaymentMethod(ctx, p.Account.ID, pm.ID, engine.PaymentMethodUpdate{HolderName: &name}); err != nil {
			t.Fatal(err)
		}
	}
	a.runWebhooks(t, engine.WebhookOptions{Concurrency: 16})
	b.runWebhooks(t, engine.WebhookOptions{Concurrency: 16})
	waitFor(t, 60*time.Second, "1,000 deliveries", func() bool { return len(rc.requests()) >= n })
	time.Sleep(300 * time.Millisecond)
	ids := rc.byID()
	if len(ids) != n {
		t.Fatalf("%d distinct webhook-ids, want %d", len(ids), n)
	}
	for id, rs := range ids {
		if len(rs) != 1 {
			t.Errorf("%s delivered %d times", id, len(rs))
		}
	}
}

// TestWebhookEndpointValidation: bad URLs, unknown event types and, on a
// live account, private addresses are 422s naming the field; nothing is
// stored.
func TestWebhookEndpointValidation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		test, _ := f.account(t, false)
		live, _ := f.account(t, true)
		s := func(v string) *string { return &v }
		cases := []struct {
			name  string
			p     *payment.Principal
			in    engine.WebhookEndpointInput
			param string
		}{
			{"no url", test, engine.WebhookEndpointInput{EnabledEvents: []string{"*"}}, "url"},
			{"no events", test, engine.WebhookEndpointInput{URL: s("https://example.com/h")}, "enabled_events"},
			{"empty events", test, engine.WebhookEndpointInput{URL: s("https://example.com/h"), EnabledEvents: []string{}}, "enabled_events"},
			{"ftp", test, engine.WebhookEndpointInput{URL: s("ftp://example.com/h"), EnabledEvents: []string{"*"}}, "url"},
			{"relative", test, engine.WebhookEndpointInput{URL: s("/hooks"), EnabledEvents: []string{"*"}}, "url"},
			{"user info", test, engine.WebhookEndpointInput{URL: s("https://u:p@example.com/h"), EnabledEvents: []string{"*"}}, "url"},
			{"unknown type", test, engine.WebhookEndpointInput{URL: s("https://example.com/h"), EnabledEvents: []string{"payment.created", "payment.exploded"}}, "enabled_events[1]"},
			{"unknown prefix", test, engine.WebhookEndpointInput{URL: s("https://example.com/h"), EnabledEvents: []string{"nothing.*"}}, "enabled_events[0]"},
			{"bare star prefix", test, engine.WebhookEndpointInput{URL: s("https://example.com/h"), EnabledEvents: []string{".*"}}, "enabled_events[0]"},
			{"live loopback", live, engine.WebhookEndpointInput{URL: s("http://127.0.0.1:9/h"), EnabledEvents: []string{"*"}}, "url"},
			{"live localhost", live, engine.WebhookEndpointInput{URL: s("http://localhost/h"), EnabledEvents: []string{"*"}}, "url"},
			{"live private", live, engine.WebhookEndpointInput{URL: s("https://10.1.2.3/h"), EnabledEvents: []string{"*"}}, "url"},
			{"live metadata", live, engine.WebhookEndpointInput{URL: s("http://169.254.169.254/latest"), EnabledEvents: []string{"*"}}, "url"},
			{"live v6 loopback", live, engine.WebhookEndpointInput{URL: s("http://[::1]/h"), EnabledEvents: []string{"*"}}, "url"},
			{"live mapped", live, engine.WebhookEndpointInput{URL: s("http://[::ffff:10.0.0.1]/h"), EnabledEvents: []string{"*"}}, "url"},
			{"card in description", test, engine.WebhookEndpointInput{URL: s("https://example.com/h"), EnabledEvents: []string{"*"}, Description: s("card 4242424242424242")}, "description"},
		}
		for _, c := range cases {
			_, err := f.eng.CreateWebhookEndpoint(ctx, c.p, c.in)
			pe, ok := payment.AsError(err)
			if !ok || pe.Kind != payment.KindInvalid || pe.Param != c.param {
				t.Errorf("%s: %v, want 422 on %s", c.name, err, c.param)
			}
		}
		for _, p := range []*payment.Principal{test, live} {
			if wes, _, _ := f.eng.WebhookEndpoints(ctx, p, payment.ListParams{}); len(wes) != 0 {
				t.Errorf("refused endpoints were stored: %d", len(wes))
			}
		}
		// Test accounts may call local addresses; so may live ones on a
		// server that allows it.
		if _, err := f.eng.CreateWebhookEndpoint(ctx, test, engine.WebhookEndpointInput{URL: s("http://127.0.0.1:9/h"), EnabledEvents: []string{"payment.*", "payment.*"}}); err != nil {
			t.Errorf("test account, loopback: %v", err)
		}
		if _, err := f.eng.CreateWebhookEndpoint(ctx, live, engine.WebhookEndpointInput{URL: s("https://93.184.215.14/h"), EnabledEvents: []string{"payment.purchase.*"}}); err != nil {
			t.Errorf("live account, public address: %v", err)
		}
	})
}

// TestEventTypesListEveryCustomerType: the subscription check knows the
// customer events.
func TestEventTypesListEveryCustomerType(t *testing.T) {
	for _, typ := range payment.CustomerEventTypes {
		if !engine.KnownEventType(typ) {
			t.Errorf("%s is not in the event types", typ)
		}
	}
}

// TestRotateSecretInAFreshProcess: a process whose vault has no sealing
// state for the account yet must reserve data key uses in the store to
// seal the new secret. Done inside the endpoint's update, on SQLite's one
// writer, that reservation waited for the writer it was running on.
func TestRotateSecretInAFreshProcess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		p, _ := f.account(t, false)
		ep := f.endpoint(t, p, "http://127.0.0.1:9/h", "*")
		fresh := newFixtureOn(t, f.store, f.ring) // another process: empty vault caches
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rot, err := fresh.eng.RotateWebhookSecret(ctx, p, ep.ID, false)
		if err != nil {
			t.Fatalf("rotate in a fresh process: %v", err)
		}
		keys, err := f.eng.WebhookEndpoint(ctx, p, ep.ID)
		if err != nil || keys.SecretVersion != 2 || rot.SecretVersion != 2 {
			t.Fatalf("after the rotation: %+v, %v", keys, err)
		}
	})
}

// TestDisabledEndpointKeepsItsRecord: a delivery whose endpoint was
// disabled meanwhile fails without a request, and leaves the endpoint's
// failure streak as it was (nothing was learnt about the endpoint).
func TestDisabledEndpointKeepsItsRecord(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		down := newReceiver(t, func(*http.Request) int { return http.StatusServiceUnavailable })
		p, _ := f.account(t, false)
		ep := f.endpoint(t, p, down.URL, "payment_method.created")
		f.runWebhooks(t, engine.WebhookOptions{})
		f.card(t, p, "4242424242424242", "123")
		waitFor(t, 5*time.Second, "the failed attempt", func() bool { return len(down.requests()) == 1 })
		f.advance(t, 0, down)
		on := true
		if _, err := f.eng.UpdateWebhookEndpoint(ctx, p, ep.ID, engine.WebhookEndpointInput{Disabled: &on}); err != nil {
			t.Fatal(err)
		}
		f.advance(t, time.Minute, down)
		ev := firstEvent(t, f, p, "payment_method.created")
		waitFor(t, 5*time.Second, "the delivery to fail", func() bool {
			ds, err := f.store.WebhookDeliveriesOfEvent(ctx, p.Account.ID, ev.ID)
			return err == nil && len(ds) == 1 && ds[0].State == payment.DeliveryFailed
		})
		if n := len(down.requests()); n != 1 {
			t.Errorf("a disabled endpoint was called: %d requests", n)
		}
		we, err := f.eng.WebhookEndpoint(ctx, p, ep.ID)
		if err != nil || we.FailingSince == nil {
			t.Errorf("the endpoint's failure streak was lost: %+v, %v", we, err)
		}
	})
}

// TestWebhookEndpointEventsNameTheirActor: every change of an endpoint
// records who made it, a key or a dashboard user, so that its audit trail
// does not credit kassa with a merchant's change.
func TestWebhookEndpointEventsNameTheirActor(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		nu, err := f.eng.CreateUser(ctx, p.Account.ID, "ops@example.com", userPassword, payment.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		user := &payment.Principal{Account: p.Account, User: nu.User}
		ep := f.endpoint(t, p, "http://127.0.0.1:9/hook", "payment.*")
		desc := "renamed"
		if _, err := f.eng.UpdateWebhookEndpoint(ctx, user, ep.ID, engine.WebhookEndpointInput{Description: &desc}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.eng.RotateWebhookSecret(ctx, p, ep.ID, true); err != nil {
			t.Fatal(err)
		}
		if err := f.eng.DeleteWebhookEndpoint(ctx, user, ep.ID); err != nil {
			t.Fatal(err)
		}
		evs, _, err := f.eng.ObjectEvents(ctx, p.Account.ID, ep.ID, payment.ListParams{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ev := range evs {
			got = append(got, ev.Type+" by "+ev.Actor)
		}
		byUser, byKey := " by user:"+nu.User.ID, " by "+p.Key.ID
		want := []string{engine.EventWebhookEndpointDeleted + byUser, engine.EventWebhookEndpointUpdated + byKey,
			engine.EventWebhookEndpointUpdated + byUser, engine.EventWebhookEndpointCreated + byKey}
		if !slices.Equal(got, want) {
			t.Errorf("the endpoint's events, newest first:\n got %q\nwant %q", got, want)
		}
	})
}
