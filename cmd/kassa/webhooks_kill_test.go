package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/kassapay/kassa/client"
	"github.com/kassapay/kassa/internal/webhook"
)

// killSchedule compresses the retry schedule to eight attempts within
// about 2 s, so that the kill lands while the delivery is still pending.
const killSchedule = "0s,300ms,300ms,300ms,300ms,300ms,300ms,300ms"

// TestWebhookKill9 kills kassa with SIGKILL after an event committed and
// before it could be delivered (its receiver is down), brings the receiver
// up, restarts kassa on the same data, and checks that the event arrives
// with its id as webhook-id, and every other event since the endpoint was
// made too: the deliveries were written with the events, so a crash only
// delays them.
func TestWebhookKill9(t *testing.T) {
	bin := buildFailpointBinary(t)
	forEachStoreURL(t, func(t *testing.T, dbURL string) { testWebhookKill9(t, bin, dbURL) })
}

func testWebhookKill9(t *testing.T, bin, dbURL string) {
	// A port where nothing listens until the receiver comes up there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	dataDir := t.TempDir()
	args := []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--webhook-schedule", killSchedule}
	if dbURL != "" {
		args = append(args, "--database-url", dbURL)
	}
	first := startProcess(t, bin, args, "", listeningLine)
	var m []string
	waitFor(t, "the first account's keys", func() bool {
		m = keyLine.FindStringSubmatch(first.Stdout.String())
		return m != nil
	})
	key := m[1]
	ctx := context.Background()
	c := client.New(first.URL, key)
	before := map[string]bool{}
	for ev, err := range c.AllEvents(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		before[ev.ID] = true
	}
	we, err := c.CreateWebhookEndpoint(ctx, &client.WebhookEndpointParams{URL: "http://" + addr + "/hooks", EnabledEvents: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	pm, err := c.CreatePaymentMethod(ctx, card("4111111111111111", "123"))
	if err != nil {
		t.Fatal(err)
	}
	// The event committed: GET /v1/events has it.
	var event *client.Event
	for ev, err := range c.AllEvents(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type == client.EventPaymentMethodCreated && ev.ObjectID == pm.ID {
			event = ev
		}
	}
	if event == nil {
		t.Fatal("GET /v1/events lacks the payment_method.created event of the card")
	}
	if got, err := c.Event(ctx, event.ID); err != nil || got.ID != event.ID {
		t.Fatalf("GET /v1/events/%s: %+v %v", event.ID, got, err)
	}
	first.kill()

	recv := &hookReceiver{}
	rl, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the receiver cannot listen on %s: %v", addr, err)
	}
	hooks := httptest.NewUnstartedServer(recv)
	hooks.Listener = rl
	hooks.Start()
	defer hooks.Close()
	if n := len(recv.requests()); n != 0 {
		t.Fatalf("the receiver got %d requests before kassa restarted", n)
	}

	second := startProcess(t, bin, args, "", listeningLine)
	c = client.New(second.URL, key)
	var want []*client.Event
	for ev, err := range c.AllEvents(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		if !before[ev.ID] {
			want = append(want, ev)
		}
	}
	if !slices.ContainsFunc(want, func(ev *client.Event) bool { return ev.ID == event.ID }) {
		t.Fatalf("the event %s is gone after the restart", event.ID)
	}
	// A delivery claimed when kassa died waits out its lease (1 min)
	// before it is due again: wait beyond it.
	waitWithin(t, 90*time.Second, "every event after the restart", func() bool {
		return !slices.ContainsFunc(want, func(ev *client.Event) bool { return recv.count(ev.ID) == 0 })
	})

	hookKey, err := webhook.SecretKey(we.Secret)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for _, ev := range want {
		types[ev.ID] = ev.Type
	}
	for _, r := range recv.requests() {
		id := r.Header.Get("webhook-id")
		typ, ok := types[id]
		if !ok {
			t.Errorf("a request with webhook-id %q, which is no event since the endpoint was made", id)
			continue
		}
		var body struct{ Type string }
		if err := json.Unmarshal(r.Body, &body); err != nil || body.Type != typ {
			t.Errorf("%s: body %s, want an event of type %s", id, r.Body, typ)
		}
		if err := webhook.VerifyStandard(hookKey, id, r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"),
			r.Body, time.Now(), 5*time.Minute); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
	if got := recv.count(event.ID); got < 1 {
		t.Errorf("the event %s arrived %d times", event.ID, got)
	}
	t.Logf("%d events delivered after the restart, %d requests", len(want), len(recv.requests()))
}
