package engine_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/gateway/simulator"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/vault"
)

// crashedPayment stores a payment whose purchase is pending, as a process
// that died between reserving and settling leaves it. When sent is set the
// gateway did receive the purchase before the crash.
func (f *fixture) crashedPayment(t *testing.T, p *payment.Principal, gw, pm string, sent bool) *payment.Payment {
	t.Helper()
	return f.crashedPaymentOf(t, p, gw, pm, sent, 1000, nil)
}

// crashedPaymentOf is crashedPayment of amount, reserved with the mark
// mark makes (nil: none).
func (f *fixture) crashedPaymentOf(t *testing.T, p *payment.Principal, gw, pm string, sent bool, amount int64,
	mark func(payID, opID string) *payment.IdempotencyMark) *payment.Payment {
	t.Helper()
	ctx := context.Background()
	now := f.clock.Now().UTC().Truncate(time.Microsecond)
	pay := &payment.Payment{ID: payment.NewID(payment.PrefixPayment), AccountID: p.Account.ID, Amount: amount, Currency: "EUR",
		GatewayID: gw, CredentialVersion: 1, PaymentMethodID: pm, Capture: true, Status: payment.StatusInitiated,
		Test: true, CreatedAt: now, UpdatedAt: now}
	op := &payment.Operation{ID: payment.NewID(payment.PrefixOperation), AccountID: pay.AccountID, PaymentID: pay.ID,
		PaymentMethodID: pm, GatewayID: gw, CredentialVersion: 1, Kind: payment.OpPurchase, Amount: amount, Currency: "EUR",
		Outcome: payment.OutcomePending, CreatedAt: now, UpdatedAt: now}
	pay.Operations = []*payment.Operation{op}
	var m *payment.IdempotencyMark
	if mark != nil {
		m = mark(pay.ID, op.ID)
	}
	if err := f.store.CreatePayment(ctx, pay, nil, m); err != nil {
		t.Fatal(err)
	}
	if sent {
		res, err := f.sim.Purchase(ctx, &gateway.Request{Config: gateway.Config{GatewayID: gw}, Reference: op.ID,
			Kind: payment.OpPurchase, Amount: amount, Currency: "EUR",
			Card: &gateway.Card{Number: "4111111111111111", ExpMonth: 12, ExpYear: 2030}})
		if err != nil || res.Outcome != payment.OutcomeSucceeded {
			t.Fatalf("simulated purchase: %+v %v", res, err)
		}
	}
	return pay
}

// TestPendingAfterCrashIsReconciled: operations left pending are left alone
// while their call could still be running, then settled from the gateway's
// ledger — succeeded if it got the request, not sent if it never did.
func TestPendingAfterCrashIsReconciled(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		gw := f.simGateway(t, p, nil).ID
		pm := f.card(t, p, "4111111111111111", "").ID
		sent := f.crashedPayment(t, p, gw, pm, true)
		lost := f.crashedPayment(t, p, gw, pm, false)
		if n, err := f.eng.Reconcile(ctx); err != nil || n != 0 {
			t.Fatalf("reconciled %d fresh pending operations (%v): their calls may still be running", n, err)
		}
		f.clock.Add(2 * time.Minute)
		if n, err := f.eng.Reconcile(ctx); err != nil || n != 2 {
			t.Fatalf("reconciled %d, %v; want 2", n, err)
		}
		if got, _ := f.eng.Payment(ctx, p.Account.ID, sent.ID); got.Status != payment.StatusCaptured || got.AmountCaptured != 1000 {
			t.Errorf("purchase the gateway received: %s %d, want CAPTURED 1000", got.Status, got.AmountCaptured)
		}
		got, _ := f.eng.Payment(ctx, p.Account.ID, lost.ID)
		if got.Status != payment.StatusFailed || got.Operations[0].Outcome != payment.OutcomeNotSent {
			t.Errorf("purchase the gateway never saw: %s / %s, want FAILED / not_sent", got.Status, got.Operations[0].Outcome)
		}
	})
}

// TestReconcilersShareTheWork runs two engines (two kassa processes) on one
// database against one gateway: every unknown operation is settled, and
// each exactly once.
func TestReconcilersShareTheWork(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		gw := f.simGateway(t, p, nil).ID
		pm := f.card(t, p, "4100000000000001", "").ID
		var pays []*payment.Payment
		for range 12 {
			pays = append(pays, f.pay(t, p, pm, gw, 1000, true))
		}
		f.clock.Add(3 * time.Minute) // past the grace of an unknown outcome
		other := engine.New(engine.Config{Store: f.store, Vault: f.vault, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Now: f.clock.Now, Gateways: gateway.NewRegistry(f.sim)})
		var wg sync.WaitGroup
		counts := make([]int, 2)
		for i, e := range []*engine.Engine{f.eng, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 3 {
					n, err := e.Reconcile(ctx)
					if err != nil {
						t.Error(err)
					}
					counts[i] += n
				}
			}()
		}
		wg.Wait()
		if counts[0]+counts[1] != len(pays) {
			t.Fatalf("settled %v, want %d in all", counts, len(pays))
		}
		evs, _, err := f.eng.Events(ctx, p.Account.ID, payment.ListParams{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		settled := map[string]int{}
		for _, ev := range evs {
			if ev.Type == "payment.purchase.succeeded" {
				settled[ev.ObjectID]++
			}
		}
		for _, pay := range pays {
			got, _ := f.eng.Payment(ctx, p.Account.ID, pay.ID)
			if got.Status != payment.StatusCaptured || settled[pay.ID] != 1 {
				t.Errorf("%s: %s, settled %d times", pay.ID, got.Status, settled[pay.ID])
			}
		}
	})
}

// TestResolveByHand: a payment the reconciler gave up on is settled by a
// person, moving money as the provider's answer would, and leaves review.
func TestResolveByHand(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		g := f.simGateway(t, p, nil)
		pay := f.pay(t, p, f.card(t, p, "4100000000000001", "").ID, g.ID, 1000, true)
		op := pay.Operations[0].ID
		if _, err := f.eng.ResolveOperation(ctx, p, op, payment.OutcomeSucceeded, "", ""); errCode(err) != payment.CodeParameterMissing {
			t.Fatalf("without a note: %v", err)
		}
		if _, err := f.eng.UpdateGateway(ctx, p, g.ID, engine.GatewayUpdate{Settings: map[string]any{"outage": true}}); err != nil {
			t.Fatal(err)
		}
		f.clock.Add(3 * time.Minute) // past the grace of an unknown outcome
		for range 3 {
			f.eng.Reconcile(ctx)
			f.clock.Add(time.Hour)
		}
		if got, _ := f.eng.Payment(ctx, p.Account.ID, pay.ID); !got.RequiresReview {
			t.Fatal("not flagged for review")
		}
		other, _ := f.account(t, false)
		if _, err := f.eng.ResolveOperation(ctx, other, op, payment.OutcomeSucceeded, "", "checked"); !errors.Is(err, payment.ErrNotFound) {
			t.Fatalf("another account resolving: %v", err)
		}
		res, err := f.eng.ResolveOperation(ctx, p, op, payment.OutcomeSucceeded, "psp-123", "seen in the provider's dashboard")
		if err != nil || res.Outcome != payment.OutcomeSucceeded || res.GatewayReference != "psp-123" {
			t.Fatalf("resolve: %+v %v", res, err)
		}
		got, _ := f.eng.Payment(ctx, p.Account.ID, pay.ID)
		if got.Status != payment.StatusCaptured || got.AmountCaptured != 1000 || got.RequiresReview {
			t.Fatalf("after resolving: %s captured %d review %v", got.Status, got.AmountCaptured, got.RequiresReview)
		}
		if _, err := f.eng.ResolveOperation(ctx, p, op, payment.OutcomeFailed, "", "again"); errCode(err) != payment.CodeInvalidState {
			t.Fatalf("resolving twice: %v", err)
		}
	})
}

// TestUnknownGraceIsTheGateways: an unknown outcome waits for the grace its
// gateway declares before the first status query — the simulator acts at
// once and declares 3 s — instead of kassa's two minutes for providers
// that say nothing.
func TestUnknownGraceIsTheGateways(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		gw := f.simGateway(t, p, nil).ID
		lost := f.card(t, p, "4100000000000001", "").ID // accepted, answer lost
		pay := f.pay(t, p, lost, gw, 1000, true)
		if pay.Status != payment.StatusUnknown {
			t.Fatalf("status %s, want UNKNOWN", pay.Status)
		}
		f.clock.Add(2 * time.Second)
		if n, err := f.eng.Reconcile(ctx); err != nil || n != 0 {
			t.Fatalf("reconciled %d within the simulator's grace (%v)", n, err)
		}
		f.clock.Add(2 * time.Second)
		if n, err := f.eng.Reconcile(ctx); err != nil || n != 1 {
			t.Fatalf("reconciled %d after the simulator's grace (%v), want 1", n, err)
		}
		if got, _ := f.eng.Payment(ctx, p.Account.ID, pay.ID); got.Status != payment.StatusCaptured {
			t.Errorf("status %s after reconciling, want CAPTURED", got.Status)
		}
	})
}

// slowQuerier is the simulator whose status queries take a while and
// count how many run at once.
type slowQuerier struct {
	*simulator.Simulator
	mu             sync.Mutex
	inFlight, peak int
}

func (s *slowQuerier) QueryStatus(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	s.mu.Lock()
	s.inFlight++
	s.peak = max(s.peak, s.inFlight)
	s.mu.Unlock()
	time.Sleep(50 * time.Millisecond)
	s.mu.Lock()
	s.inFlight--
	s.mu.Unlock()
	return s.Simulator.QueryStatus(ctx, r)
}

// TestReconcilerAsksSeveralAtOnce: after a crash the reconciler queries
// several operations at once, but never more than four of one gateway.
func TestReconcilerAsksSeveralAtOnce(t *testing.T) {
	st := openSQLite(t)
	f := newFixture(t, st)
	slow := &slowQuerier{Simulator: f.sim.Simulator}
	v, err := vault.New(st, vault.NewFileSource(f.ring), vault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(engine.Config{Store: st, Vault: v, Logger: slog.New(slog.DiscardHandler), Now: f.clock.Now,
		Gateways: gateway.NewRegistry(slow), ReconcileAttempts: 3})
	ctx := context.Background()
	p, _ := f.account(t, false)
	gw := f.simGateway(t, p, nil).ID
	pm := f.card(t, p, "4111111111111111", "").ID
	for range 12 {
		f.crashedPayment(t, p, gw, pm, true)
	}
	f.clock.Add(2 * time.Minute)
	n, err := eng.Reconcile(ctx)
	if err != nil || n != 12 {
		t.Fatalf("reconciled %d of 12 (%v)", n, err)
	}
	if slow.peak < 2 || slow.peak > 4 {
		t.Errorf("%d status queries of one gateway at once, want between 2 and 4", slow.peak)
	}
}
