package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/client"
	"github.com/kassapay/kassa/internal/webhook"
)

// standardWebhooksE2EDir holds the npm standardwebhooks library and the
// script that verifies with it, relative to this package's directory.
const standardWebhooksE2EDir = "../../e2e/standardwebhooks"

// hookRequest is one request a receiver got, as it got it.
type hookRequest struct {
	Path   string
	Header http.Header
	Body   []byte
	At     time.Time
}

// hookReceiver is a webhook receiver that records every request and
// answers 200.
type hookReceiver struct {
	mu   sync.Mutex
	reqs []hookRequest
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.reqs = append(h.reqs, hookRequest{Path: r.URL.Path, Header: r.Header.Clone(), Body: body, At: time.Now()})
	h.mu.Unlock()
	_, _ = io.WriteString(w, "ok")
}

// startReceiver serves recv until the test ends and returns its URL.
func startReceiver(t *testing.T, recv *hookReceiver) string {
	t.Helper()
	srv := httptest.NewServer(recv)
	t.Cleanup(srv.Close)
	return srv.URL
}

// requests returns what the receiver got so far.
func (h *hookReceiver) requests() []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.reqs)
}

// count returns how many requests of webhook-id id the receiver got.
func (h *hookReceiver) count(id string) int {
	n := 0
	for _, r := range h.requests() {
		if r.Header.Get("webhook-id") == id {
			n++
		}
	}
	return n
}

// verifyCase is one request for e2e/standardwebhooks/verify.js: the secrets
// in Verify must verify it, those in Reject must not.
type verifyCase struct {
	Name    string            `json:"name"`
	Body    string            `json:"body"` // base64 of the exact bytes
	Headers map[string]string `json:"headers"`
	Verify  []string          `json:"verify"`
	Reject  []string          `json:"reject,omitempty"`
}

func caseOf(name string, r hookRequest, verify, reject []string) verifyCase {
	h := map[string]string{}
	for k := range r.Header {
		h[strings.ToLower(k)] = r.Header.Get(k)
	}
	return verifyCase{Name: name, Body: base64.StdEncoding.EncodeToString(r.Body), Headers: h, Verify: verify, Reject: reject}
}

// TestStandardWebhooksNPM drives the real server through things that emit
// events, with an endpoint enabled for all of them pointing at a local
// receiver, rotates the endpoint's secret half way, and has the official
// npm standardwebhooks library verify every request the receiver got:
// before the rotation with the first secret only, after it with either.
// A message of every type GET /v1/event_types lists, signed by
// webhook.Standard with two keys, must verify too. Beside the signatures
// it checks what a receiver relies on: webhook-id is the event's id and
// stays the same on a redelivery, the body is the event as compact
// {"type","timestamp","data"}, nothing is lost, and no card number, CVC,
// API key, gateway password or signing secret is in any request or log.
func TestStandardWebhooksNPM(t *testing.T) {
	dir, err := filepath.Abs(standardWebhooksE2EDir)
	if err != nil {
		t.Fatal(err)
	}
	node := requireNPM(t, "the npm standardwebhooks verification test", dir, "standardwebhooks")

	recv := &hookReceiver{}
	hooks := startReceiver(t, recv)

	s := startServer(t, filepath.Join(t.TempDir(), "data"), env(nil), "--webhook-schedule", "0s,200ms,200ms")
	apiKey := s.bootstrapKey(t)
	c := client.New(s.URL, apiKey)
	ctx := context.Background()

	const (
		goodCard, otherCard, declinedCard = "4111111111111111", "5555555555554444", "4012888888881881"
		cvc                               = "739"
		gatewayPassword                   = "sim-password-9f3b7c"
	)
	before := map[string]bool{} // events from before the endpoint existed
	for ev, err := range c.AllEvents(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		before[ev.ID] = true
	}

	we, err := c.CreateWebhookEndpoint(ctx, &client.WebhookEndpointParams{URL: hooks + "/hooks",
		EnabledEvents: []string{"*"}, Description: "npm standardwebhooks"})
	if err != nil {
		t.Fatal(err)
	}
	oldSecret := we.Secret
	if !strings.HasPrefix(oldSecret, webhook.SecretPrefix) {
		t.Fatalf("the new endpoint's secret %q… is no whsec_ secret", oldSecret[:min(6, len(oldSecret))])
	}

	// Things that emit events: vault, a gateway, a purchase, an
	// authorization captured, a refund, a void, a decline, an update and a
	// redaction; and a ping.
	pmParams := card(goodCard, cvc)
	pm, err := c.CreatePaymentMethod(ctx, pmParams)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := c.CreateGateway(ctx, &client.GatewayParams{Type: "simulator", Description: "webhooks",
		Credentials: map[string]any{"login": "hooks", "password": gatewayPassword}})
	if err != nil {
		t.Fatal(err)
	}
	pay := func(pmID string, amount int64, capture bool) *client.Payment {
		t.Helper()
		p, err := c.CreatePayment(ctx, &client.PaymentParams{Amount: amount, Currency: "EUR", PaymentMethod: pmID,
			Gateway: gw.ID, Capture: &capture})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	purchase := pay(pm.ID, 1000, true)
	if purchase.Status != client.PaymentCaptured {
		t.Fatalf("purchase: %s", purchase.Status)
	}
	auth := pay(pm.ID, 2000, false)
	if p, err := c.CapturePayment(ctx, auth.ID, nil); err != nil || p.Status != client.PaymentCaptured {
		t.Fatalf("capture: %+v %v", p, err)
	}
	if p, err := c.RefundPayment(ctx, purchase.ID, &client.RefundParams{Amount: new(int64(400))}); err != nil ||
		p.Status != client.PaymentPartiallyRefunded {
		t.Fatalf("refund: %+v %v", p, err)
	}
	if p, err := c.VoidPayment(ctx, pay(pm.ID, 300, false).ID); err != nil || p.Status != client.PaymentAuthorizationVoided {
		t.Fatalf("void: %+v %v", p, err)
	}
	declined, err := c.CreatePaymentMethod(ctx, card(declinedCard, cvc))
	if err != nil {
		t.Fatal(err)
	}
	if p := pay(declined.ID, 500, true); p.Status != client.PaymentDeclined {
		t.Fatalf("declined card: %s", p.Status)
	}
	if _, err := c.UpdatePaymentMethod(ctx, declined.ID, &client.UpdatePaymentMethodParams{
		Metadata: map[string]string{"note": "declined"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RedactPaymentMethod(ctx, declined.ID); err != nil {
		t.Fatal(err)
	}
	ping, err := c.PingWebhookEndpoint(ctx, we.ID)
	if err != nil {
		t.Fatal(err)
	}

	// eventIDs lists the events since the endpoint was made, oldest last.
	eventIDs := func() []string {
		t.Helper()
		var ids []string
		for ev, err := range c.AllEvents(ctx, nil) {
			if err != nil {
				t.Fatal(err)
			}
			if !before[ev.ID] {
				ids = append(ids, ev.ID)
			}
		}
		return ids
	}
	// arrived waits until every event so far, and the messages in more,
	// reached the receiver, and returns how many requests it got then.
	arrived := func(what string, more ...string) int {
		t.Helper()
		want := append(eventIDs(), more...)
		waitFor(t, what, func() bool {
			return !slices.ContainsFunc(want, func(id string) bool { return recv.count(id) == 0 })
		})
		// Nothing else is due: let anything in flight land before counting.
		time.Sleep(300 * time.Millisecond)
		return len(recv.requests())
	}
	nBefore := arrived("every event and the ping before the rotation", ping.MessageID)

	// The rotation: the old secret keeps signing for 24 h beside the new.
	rotated, err := c.RotateWebhookSecret(ctx, we.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	newSecret := rotated.Secret
	if newSecret == oldSecret || !strings.HasPrefix(newSecret, webhook.SecretPrefix) || rotated.SecretVersion != 2 ||
		rotated.OldSecretExpiresAt == nil || time.Until(*rotated.OldSecretExpiresAt) < 23*time.Hour {
		t.Fatalf("rotated endpoint: %v (version %d, old secret until %v)", rotated, rotated.SecretVersion, rotated.OldSecretExpiresAt)
	}
	pm2, err := c.CreatePaymentMethod(ctx, card(otherCard, cvc))
	if err != nil {
		t.Fatal(err)
	}
	if p := pay(pm2.ID, 700, true); p.Status != client.PaymentCaptured {
		t.Fatalf("purchase after the rotation: %s", p.Status)
	}
	ping2, err := c.PingWebhookEndpoint(ctx, we.ID)
	if err != nil {
		t.Fatal(err)
	}
	// A redelivery of the first purchase's payment.created: the receiver
	// gets it again under the same webhook-id.
	var replayed *client.Event
	for ev, err := range c.AllEvents(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type == "payment.created" && ev.ObjectID == purchase.ID {
			replayed = ev
		}
	}
	if replayed == nil {
		t.Fatal("no payment.created event of the purchase")
	}
	if q, err := c.RedeliverEvent(ctx, replayed.ID, nil); err != nil || q.Queued != 1 {
		t.Fatalf("redeliver: %+v %v", q, err)
	}
	waitFor(t, "the redelivery", func() bool { return recv.count(replayed.ID) == 2 })
	arrived("every event and the ping after the rotation", ping2.MessageID)
	reqs := recv.requests()

	// What each request must be: an event's, under its id, or a ping.
	seen := map[string]int{}
	for i, r := range reqs {
		id := r.Header.Get("webhook-id")
		seen[id]++
		if r.Path != "/hooks" || r.Header.Get("webhook-timestamp") == "" || !strings.HasPrefix(r.Header.Get("webhook-signature"), "v1,") ||
			r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %d (%s): path %s, headers %v", i, id, r.Path, r.Header)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, r.Body); err != nil || !bytes.Equal(compact.Bytes(), r.Body) {
			t.Errorf("request %d (%s): body is not compact JSON (%v): %s", i, id, err, r.Body)
		}
		var body struct {
			Type      string          `json:"type"`
			Timestamp time.Time       `json:"timestamp"`
			Data      json.RawMessage `json:"data"`
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(r.Body, &fields); err != nil || len(fields) != 3 || json.Unmarshal(r.Body, &body) != nil ||
			!bytes.HasPrefix(r.Body, []byte(`{"type":`)) {
			t.Errorf("request %d (%s): body is not {\"type\",\"timestamp\",\"data\"}: %s", i, id, r.Body)
			continue
		}
		if id == ping.MessageID || id == ping2.MessageID {
			if body.Type != client.EventWebhookPing {
				t.Errorf("ping %s arrived as %s", id, body.Type)
			}
			continue
		}
		ev, err := c.Event(ctx, id)
		if err != nil {
			t.Errorf("request %d: webhook-id %q is no event of GET /v1/events/{id}: %v", i, id, err)
			continue
		}
		var data bytes.Buffer
		if err := json.Compact(&data, ev.Data); err != nil {
			t.Fatal(err)
		}
		if body.Type != ev.Type || !body.Timestamp.Equal(ev.CreatedAt) || !bytes.Equal(body.Data, data.Bytes()) {
			t.Errorf("request %d (%s): body %s is not the event %s %v %s", i, id, r.Body, ev.Type, ev.CreatedAt, data.Bytes())
		}
	}
	// Nothing lost, nothing twice but the redelivery.
	ids := eventIDs()
	for _, id := range append(ids, ping.MessageID, ping2.MessageID) {
		want := 1
		if id == replayed.ID {
			want = 2
		}
		if seen[id] != want {
			t.Errorf("%s arrived %d times, want %d", id, seen[id], want)
		}
	}
	if len(reqs) != len(ids)+3 {
		t.Errorf("the receiver got %d requests, want %d events, 2 pings and 1 redelivery", len(reqs), len(ids))
	}
	types := map[string]bool{}
	for _, r := range reqs {
		var b struct{ Type string }
		_ = json.Unmarshal(r.Body, &b)
		types[b.Type] = true
	}
	for _, typ := range []string{"webhook_endpoint.created", "webhook_endpoint.updated", "payment_method.created",
		"payment_method.updated", "payment_method.redacted", "gateway.created", "payment.created",
		"payment.purchase.succeeded", "payment.authorize.succeeded", "payment.capture.succeeded",
		"payment.refund.succeeded", "payment.void.succeeded", "payment.purchase.declined", "webhook.ping"} {
		if !types[typ] {
			t.Errorf("no %s arrived; got %v", typ, slices.Sorted(func(yield func(string) bool) {
				for k := range types {
					if !yield(k) {
						return
					}
				}
			}))
		}
	}

	// No secret anywhere: requests, the delivery log, the server's logs.
	secrets := map[string]string{"card number": goodCard, "second card number": otherCard,
		"declined card number": declinedCard, "CVC": `"` + cvc + `"`, "API key": apiKey,
		"gateway password": gatewayPassword, "old signing secret": oldSecret[len(webhook.SecretPrefix):],
		"new signing secret": newSecret[len(webhook.SecretPrefix):], "whsec_ prefix": webhook.SecretPrefix}
	noSecret := func(what, text string) {
		t.Helper()
		for name, sec := range secrets {
			if strings.Contains(text, sec) {
				t.Errorf("%s holds the %s", what, name)
			}
		}
	}
	for i, r := range reqs {
		var h strings.Builder
		_ = r.Header.Write(&h)
		noSecret("the headers of request "+r.Header.Get("webhook-id"), h.String())
		noSecret("the body of request "+r.Header.Get("webhook-id"), string(r.Body))
		if bytes.Contains(r.Body, []byte(`"cvc"`)) {
			t.Errorf("request %d has a cvc field: %s", i, r.Body)
		}
	}
	var attempts int
	for a, err := range c.AllWebhookAttempts(ctx, we.ID, nil) {
		if err != nil {
			t.Fatal(err)
		}
		attempts++
		if !a.Succeeded || a.StatusCode == nil || *a.StatusCode != 200 || a.ResponseBody != "ok" {
			t.Errorf("attempt %s: %+v", a.ID, a)
		}
		line, _ := json.Marshal(a)
		noSecret("the delivery log", string(line))
	}
	if attempts != len(reqs) {
		t.Errorf("the delivery log has %d attempts, the receiver got %d requests", attempts, len(reqs))
	}
	noSecret("the server's log", s.Stderr.String())

	// The cases: each request before the rotation verifies with the old
	// secret and not the new; each after it with both.
	var cases []verifyCase
	for i, r := range reqs {
		name := "request " + r.Header.Get("webhook-id")
		if i < nBefore {
			cases = append(cases, caseOf(name+" (before the rotation)", r, []string{oldSecret}, []string{newSecret}))
		} else {
			cases = append(cases, caseOf(name+" (during the overlap)", r, []string{oldSecret, newSecret}, nil))
		}
	}
	// And one message of every event type, signed as during an overlap.
	oldKey, err := webhook.SecretKey(oldSecret)
	if err != nil {
		t.Fatal(err)
	}
	newKey, err := webhook.SecretKey(newSecret)
	if err != nil {
		t.Fatal(err)
	}
	evTypes, err := c.EventTypes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(evTypes.Data) < 20 {
		t.Fatalf("GET /v1/event_types lists %d types", len(evTypes.Data))
	}
	for _, et := range evTypes.Data {
		now := time.Now()
		body, err := json.Marshal(map[string]any{"type": et.Type, "timestamp": now,
			"data": map[string]any{"object": "synthetic", "description": et.Description}})
		if err != nil {
			t.Fatal(err)
		}
		hr := httptest.NewRequest("POST", "/hooks", bytes.NewReader(body))
		if err := (webhook.Standard{Keys: [][]byte{newKey, oldKey}}).Sign(hr, "msg_synthetic_"+et.Type, now, body); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, caseOf("type "+et.Type, hookRequest{Header: hr.Header, Body: body}, []string{oldSecret, newSecret}, nil))
	}

	file := filepath.Join(t.TempDir(), "cases.json")
	data, err := json.Marshal(map[string]any{"cases": cases})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	vctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(vctx, node, "verify.js", file)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	noSecret("verify.js's output", string(out))
	if err != nil {
		if vctx.Err() != nil {
			err = errors.Join(err, errors.New("verify.js did not finish within 60 s"))
		}
		t.Fatalf("node verify.js (%d requests, %d event types): %v\n%s", len(reqs), len(evTypes.Data), err, out)
	}
	t.Logf("%d requests (%d before the rotation), %d event types: %s", len(reqs), nBefore, len(evTypes.Data), out)
}
