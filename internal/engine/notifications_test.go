package engine_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/gateway/simulator"
	"github.com/kassapay/kassa/internal/payment"
)

// asyncSim is the simulator answering captures and refunds "pending", as
// Adyen does, with the real outcome delivered later in a notification
// signed with the gateway's password. It exercises the engine's
// asynchronous path; the Adyen adapter has its own tests.
type asyncSim struct{ *simulator.Simulator }

func (a asyncSim) Spec() gateway.Spec {
	s := a.Simulator.Spec()
	s.Type, s.Notifications = "async_sim", true
	return s
}

func (a asyncSim) pending(ctx context.Context, r *gateway.Request, call func(context.Context, *gateway.Request) (gateway.Result, error)) (gateway.Result, error) {
	res, err := call(ctx, r)
	if err != nil || res.Outcome != payment.OutcomeSucceeded {
		return res, err
	}
	res.Outcome = payment.OutcomePending
	return res, nil
}

func (a asyncSim) Capture(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	return a.pending(ctx, r, a.Simulator.Capture)
}

func (a asyncSim) Refund(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	return a.pending(ctx, r, a.Simulator.Refund)
}

type asyncNote struct {
	Reference string `json:"reference"`
	Success   bool   `json:"success"`
	Signature string `json:"signature"`
}

func sign(key, ref string, ok bool) string {
	m := hmac.New(sha256.New, []byte(key))
	fmt.Fprintf(m, "%s:%t", ref, ok)
	return hex.EncodeToString(m.Sum(nil))
}

func (a asyncSim) ReadNotifications(_ context.Context, c gateway.Config, body []byte) ([]gateway.Notification, error) {
	var notes []asyncNote
	if err := json.Unmarshal(body, &notes); err != nil {
		return nil, err
	}
	var out []gateway.Notification
	for _, n := range notes {
		if !hmac.Equal([]byte(n.Signature), []byte(sign(c.Credentials["password"], n.Reference, n.Success))) {
			return nil, fmt.Errorf("bad signature")
		}
		res := gateway.Result{Outcome: payment.OutcomeSucceeded}
		if !n.Success {
			res = gateway.Result{Outcome: payment.OutcomeDeclined, DeclineCode: "card_declined"}
		}
		out = append(out, gateway.Notification{Reference: n.Reference, Result: res})
	}
	return out, nil
}

func (asyncSim) NotificationAnswer() string { return "[accepted]" }

func TestAsynchronousOutcomesSettleFromNotifications(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		eng := engine.New(engine.Config{Store: f.store, Vault: f.vault, Logger: slog.New(slog.DiscardHandler), Now: f.clock.Now,
			Gateways: gateway.NewRegistry(asyncSim{simulator.New(simulator.Options{Now: f.clock.Now})}), NotificationWait: time.Hour})
		na, err := eng.CreateAccount(ctx, "async shop", false)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := eng.Authenticate(ctx, na.SecretKey)
		g, err := eng.CreateGateway(ctx, p, engine.GatewayInput{Type: "async_sim", Credentials: map[string]any{"password": "hmac-key-secret"}})
		if err != nil {
			t.Fatal(err)
		}
		c := visa("")
		pm, _ := eng.CreatePaymentMethod(ctx, p, engine.PaymentMethodInput{Type: "card", Card: c})
		pay, err := eng.CreatePayment(ctx, p, engine.PaymentInput{Amount: 1000, Currency: "EUR", PaymentMethodID: pm.ID, GatewayID: g.ID, Capture: ptr(false)})
		if err != nil || pay.Status != payment.StatusAuthorized {
			t.Fatalf("authorize: %v %v", pay, err)
		}
		pay, _, err = eng.Capture(ctx, p, pay.ID, ptr(int64(600)))
		if err != nil || pay.Status != payment.StatusAuthorized || pay.AmountCaptured != 0 {
			t.Fatalf("capture accepted for processing: %v %v", pay, err)
		}
		capture := pay.Operations[1]
		if capture.Outcome != payment.OutcomePending || capture.GatewayReference == "" {
			t.Fatalf("pending capture: %+v", capture)
		}
		// The reservation holds while the capture is pending.
		if _, _, err := eng.Capture(ctx, p, pay.ID, ptr(int64(401))); errCode(err) != "amount_exceeds_capturable" {
			t.Fatalf("capture beyond the pending one: %v", err)
		}
		// The reconciler leaves it to the notification.
		if n, _ := eng.Reconcile(ctx); n != 0 {
			t.Fatal("the reconciler took up an operation awaiting its notification")
		}
		note := func(ref string, ok bool, sig string) []byte {
			b, _ := json.Marshal([]asyncNote{{Reference: ref, Success: ok, Signature: sig}})
			return b
		}
		// A bad signature changes nothing and is refused.
		if _, err := eng.HandleNotifications(ctx, g.ID, note(capture.ID, true, sign("wrong-key", capture.ID, true))); !isUnauthenticated(err) {
			t.Fatalf("bad signature: %v", err)
		}
		if got, _ := eng.Payment(ctx, p.Account.ID, pay.ID); got.AmountCaptured != 0 {
			t.Fatal("a refused notification captured money")
		}
		good := note(capture.ID, true, sign("hmac-key-secret", capture.ID, true))
		for range 2 { // the second is a duplicate, and harmless
			answer, err := eng.HandleNotifications(ctx, g.ID, good)
			if err != nil || answer != "[accepted]" {
				t.Fatalf("notification: %q %v", answer, err)
			}
		}
		got, _ := eng.Payment(ctx, p.Account.ID, pay.ID)
		if got.Status != payment.StatusPartiallyCaptured || got.AmountCaptured != 600 {
			t.Fatalf("after the notification: %s captured %d", got.Status, got.AmountCaptured)
		}
		// The provider then reports the capture failed after all (Adyen's
		// CAPTURE_FAILED): nothing is moved back blindly, the payment goes
		// to review, once.
		reversal := note(capture.ID, false, sign("hmac-key-secret", capture.ID, false))
		for range 2 {
			if _, err := eng.HandleNotifications(ctx, g.ID, reversal); err != nil {
				t.Fatalf("reversal: %v", err)
			}
		}
		got, _ = eng.Payment(ctx, p.Account.ID, pay.ID)
		if !got.RequiresReview || got.AmountCaptured != 600 {
			t.Fatalf("after a reversal: review %v, captured %d", got.RequiresReview, got.AmountCaptured)
		}
		evs, _, _ := eng.Events(ctx, p.Account.ID, payment.ListParams{Limit: 100})
		reversals := 0
		for _, ev := range evs {
			if ev.Type == "payment.reversal_reported" {
				reversals++
			}
		}
		if reversals != 1 {
			t.Fatalf("%d reversal events, want 1", reversals)
		}
		// A refund whose notification never comes is taken up by the
		// reconciler once overdue — and not before — which asks the
		// gateway (this one can be asked) and settles it.
		pay, _, err = eng.Refund(ctx, p, pay.ID, ptr(int64(100)), "")
		if err != nil || pay.Operations[2].Outcome != payment.OutcomePending {
			t.Fatalf("pending refund: %v", err)
		}
		if _, err := eng.HandleNotifications(ctx, "gw_nope", good); err == nil {
			t.Fatal("a notification to an unknown gateway was accepted")
		}
		f.clock.Add(30 * time.Minute)
		if n, _ := eng.Reconcile(ctx); n != 0 {
			t.Fatal("the reconciler took up the refund before its notification was overdue")
		}
		f.clock.Add(2 * time.Hour)
		if n, err := eng.Reconcile(ctx); n != 1 || err != nil {
			t.Fatalf("overdue refund: reconciled %d, %v", n, err)
		}
		if got, _ := eng.Payment(ctx, p.Account.ID, pay.ID); got.Status != payment.StatusPartiallyCapturedRefunded || got.AmountRefunded != 100 {
			t.Fatalf("overdue refund: %s refunded %d", got.Status, got.AmountRefunded)
		}
	})
}

// TestChangesNoticeTransactionReferences: a reversal a provider reports,
// and a follow-up made without a reference of its own, are told to the
// transaction reference that shows them, in the change's own database
// transaction: the reference records the reversal and its callback is
// promised.
func TestChangesNoticeTransactionReferences(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		eng := engine.New(engine.Config{Store: f.store, Vault: f.vault, Logger: slog.New(slog.DiscardHandler), Now: f.clock.Now,
			Gateways: gateway.NewRegistry(asyncSim{simulator.New(simulator.Options{Now: f.clock.Now})}), NotificationWait: time.Hour})
		na, err := eng.CreateAccount(ctx, "noticed shop", false)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := eng.Authenticate(ctx, na.SecretKey)
		g, err := eng.CreateGateway(ctx, p, engine.GatewayInput{Type: "async_sim", Credentials: map[string]any{"password": "hmac-key"}})
		if err != nil {
			t.Fatal(err)
		}
		pm, _ := eng.CreatePaymentMethod(ctx, p, engine.PaymentMethodInput{Type: "card", Card: visa("")})
		named := func(name, typ, callback string) context.Context {
			return eng.WithTransactionReference(ctx, p, &payment.TransactionReference{Scope: "CO-T", Reference: name, Type: typ,
				PaymentMethodID: pm.ID, Callback: callback, CallbackSigner: "test"})
		}
		reference := func(name string) *payment.TransactionReference {
			t.Helper()
			r, err := eng.TransactionReference(ctx, p, "CO-T", name)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		notify := func(ref string, ok bool) {
			t.Helper()
			b, _ := json.Marshal([]asyncNote{{Reference: ref, Success: ok, Signature: sign("hmac-key", ref, ok)}})
			if _, err := eng.HandleNotifications(ctx, g.ID, b); err != nil {
				t.Fatal(err)
			}
		}
		// callbacks claims the promised callbacks due now, by message id.
		callbacks := func() map[string]*payment.WebhookDelivery {
			t.Helper()
			now := f.clock.Now()
			ds, err := f.store.ClaimWebhookDeliveries(ctx, now, now.Add(1000*time.Hour), nil, 100, 100)
			if err != nil {
				t.Fatal(err)
			}
			m := map[string]*payment.WebhookDelivery{}
			for _, d := range ds {
				m[d.MessageID] = d
			}
			return m
		}
		reversals := func(payID string) []*payment.Event {
			evs, _, _ := eng.Events(ctx, p.Account.ID, payment.ListParams{Limit: 100})
			var out []*payment.Event
			for _, ev := range evs {
				if r, ok := engine.ReversalOf(ev); ok && r.Payment == payID {
					out = append(out, ev)
				}
			}
			return out
		}

		// An authorization made by the dialect, with a callback, and a
		// capture of it made by the dialect without one.
		auth, err := eng.CreatePayment(named("auth-1", "PREAUTHORIZE", "https://shop.example/cb?o=1"), p,
			engine.PaymentInput{Amount: 1000, Currency: "EUR", PaymentMethodID: pm.ID, GatewayID: g.ID, Capture: ptr(false)})
		if err != nil {
			t.Fatal(err)
		}
		if cb := callbacks(); len(cb) != 1 || cb[auth.Operations[0].ID] == nil {
			t.Fatalf("the authorization's own callback: %v", cb)
		}
		pay, capture, err := eng.Capture(named("cap-1", "CAPTURE", ""), p, auth.ID, ptr(int64(800)))
		if err != nil {
			t.Fatal(err)
		}
		notify(capture.ID, true)
		// A refund made outside the dialect (no reference of its own) is
		// told to the authorization's callback under its own id.
		_, refund, err := eng.Refund(ctx, p, pay.ID, ptr(int64(100)), "")
		if err != nil {
			t.Fatal(err)
		}
		cb := callbacks()
		if d := cb[refund.ID]; len(cb) != 1 || d == nil || d.URL != "https://shop.example/cb?o=1" || d.SignerKey != "CO-T" || d.Signer != "test" {
			t.Fatalf("the refund's callback: %v", cb)
		}
		if r := reference("auth-1"); r.ChangeEventID != "" {
			t.Errorf("a follow-up recorded a change: %q", r.ChangeEventID)
		}
		// The provider reverses the capture: its reference records the
		// reversal; it has no callback, so nothing is promised.
		notify(capture.ID, false)
		evs := reversals(pay.ID)
		if len(evs) != 1 {
			t.Fatalf("%d reversal events", len(evs))
		}
		if r := reference("cap-1"); r.ChangeEventID != evs[0].ID {
			t.Errorf("the capture's reference records %q, want the reversal %s", r.ChangeEventID, evs[0].ID)
		}
		if r := reference("auth-1"); r.ChangeEventID != "" {
			t.Errorf("the authorization recorded another transaction's reversal: %q", r.ChangeEventID)
		}
		if cb := callbacks(); len(cb) != 0 {
			t.Errorf("callbacks without a callback URL: %v", cb)
		}
		if rv, _ := engine.ReversalOf(evs[0]); rv.Operation != capture.ID || rv.ReportedOutcome != payment.OutcomeDeclined ||
			rv.DeclineCode != "card_declined" || rv.Kind != payment.OpCapture {
			t.Errorf("the reversal: %+v", rv)
		}

		// A purchase made by the dialect, reversed: its own reference
		// records it and its callback is promised again.
		buy, err := eng.CreatePayment(named("buy-1", "DEBIT", "https://shop.example/cb?o=2"), p,
			engine.PaymentInput{Amount: 500, Currency: "EUR", PaymentMethodID: pm.ID, GatewayID: g.ID})
		if err != nil {
			t.Fatal(err)
		}
		callbacks()
		notify(buy.Operations[0].ID, false)
		notify(buy.Operations[0].ID, false) // a duplicate changes nothing
		evs = reversals(buy.ID)
		if len(evs) != 1 {
			t.Fatalf("%d reversal events of the purchase", len(evs))
		}
		if r := reference("buy-1"); r.ChangeEventID != evs[0].ID {
			t.Errorf("the purchase's reference records %q", r.ChangeEventID)
		}
		if cb := callbacks(); len(cb) != 1 || cb[buy.Operations[0].ID] == nil || cb[buy.Operations[0].ID].URL != "https://shop.example/cb?o=2" {
			t.Errorf("the reversal's callback: %v", cb)
		}

		// A payment no dialect named: reversed, nothing to tell.
		plain, err := eng.CreatePayment(ctx, p, engine.PaymentInput{Amount: 300, Currency: "EUR", PaymentMethodID: pm.ID, GatewayID: g.ID})
		if err != nil {
			t.Fatal(err)
		}
		notify(plain.Operations[0].ID, false)
		if got, _ := eng.Payment(ctx, p.Account.ID, plain.ID); !got.RequiresReview {
			t.Error("the plain payment's reversal was not flagged")
		}
		if cb := callbacks(); len(cb) != 0 {
			t.Errorf("callbacks for a payment no dialect named: %v", cb)
		}
	})
}
