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

// simulatorLedger is the store side of the simulator gateway's ledger: the
// method set of simulator.Ledger, which a store implements without naming
// it (stores know nothing of gateways, and neither does this suite). Every
// backend must implement it.
type simulatorLedger interface {
	RecordSimulatorCall(ctx context.Context, call *payment.SimulatorOperation,
		decide func(auth *payment.SimulatorAuthorization) (payment.SimulatorResult, *payment.SimulatorAuthorization, error),
	) (*payment.SimulatorOperation, error)
	SimulatorOperation(ctx context.Context, gatewayID, reference string) (*payment.SimulatorOperation, error)
	SimulatorOperations(ctx context.Context, gatewayID string) ([]*payment.SimulatorOperation, error)
}

// decision is what a decide function of RecordSimulatorCall returns.
type decision = func(auth *payment.SimulatorAuthorization) (payment.SimulatorResult, *payment.SimulatorAuthorization, error)

func ledgerOf(t *testing.T, s payment.Store) simulatorLedger {
	t.Helper()
	l, ok := s.(simulatorLedger)
	if !ok {
		t.Fatalf("%T does not keep the simulator's ledger (RecordSimulatorCall, SimulatorOperation, SimulatorOperations)", s)
	}
	return l
}

func simCall(gatewayID, ref string, kind payment.OperationKind, amount int64, prior string, at time.Time) *payment.SimulatorOperation {
	return &payment.SimulatorOperation{GatewayID: gatewayID, Reference: ref, Kind: kind, Amount: amount,
		PriorReference: prior, CreatedAt: at}
}

// approve decides a success that opens open (nil for none), and records
// the authorization it was given in *saw.
func approve(gatewayRef string, open *payment.SimulatorAuthorization, saw **payment.SimulatorAuthorization) decision {
	return func(auth *payment.SimulatorAuthorization) (payment.SimulatorResult, *payment.SimulatorAuthorization, error) {
		if saw != nil {
			*saw = auth
		}
		return payment.SimulatorResult{Outcome: payment.OutcomeSucceeded, GatewayReference: gatewayRef,
			ResponseCode: "00", Message: "Approved."}, open, nil
	}
}

// capture decides a capture of amount against the authorization, as the
// simulator's rule does: at most what is left.
func capture(amount int64) decision {
	return func(auth *payment.SimulatorAuthorization) (payment.SimulatorResult, *payment.SimulatorAuthorization, error) {
		if auth == nil || amount > auth.Authorized-auth.Captured {
			return payment.SimulatorResult{Outcome: payment.OutcomeFailed, DeclineCode: "amount_exceeds_authorized"}, nil, nil
		}
		auth.Captured += amount
		return payment.SimulatorResult{Outcome: payment.OutcomeSucceeded, GatewayReference: "sim_c_" + payment.RandomString(8)}, nil, nil
	}
}

func mustRecord(t *testing.T, l simulatorLedger, call *payment.SimulatorOperation, decide decision) *payment.SimulatorOperation {
	t.Helper()
	op, err := l.RecordSimulatorCall(context.Background(), call, decide)
	if err != nil {
		t.Fatalf("RecordSimulatorCall(%s/%s): %v", call.GatewayID, call.Reference, err)
	}
	return op
}

func notDecided(t *testing.T) decision {
	return func(*payment.SimulatorAuthorization) (payment.SimulatorResult, *payment.SimulatorAuthorization, error) {
		t.Error("decide called for a repeated reference")
		return payment.SimulatorResult{}, nil, errors.New("repeat decided")
	}
}

func testSimulatorLedger(t *testing.T, s payment.Store) {
	ctx := context.Background()
	l := ledgerOf(t, s)
	gw := "gw_" + payment.RandomString(12)

	if _, err := l.SimulatorOperation(ctx, gw, "op_none"); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("SimulatorOperation of an unknown reference: %v, want ErrNotFound", err)
	}
	if ops, err := l.SimulatorOperations(ctx, gw); err != nil || ops == nil || len(ops) != 0 {
		t.Errorf("SimulatorOperations of an unused gateway = %v, %v; want an empty slice", ops, err)
	}

	// A new authorization: decided once, with no prior authorization.
	auth := &payment.SimulatorAuthorization{GatewayID: gw, GatewayReference: "sim_auth", Kind: payment.OpAuthorize,
		Currency: "EUR", Authorized: 10000, LosesResponse: payment.OpRefund}
	var saw *payment.SimulatorAuthorization
	want := &payment.SimulatorOperation{GatewayID: gw, Reference: "op_auth", Kind: payment.OpAuthorize, Amount: 10000,
		Result: payment.SimulatorResult{Outcome: payment.OutcomeSucceeded, GatewayReference: "sim_auth", ResponseCode: "00",
			Message: "Approved.", AVSCode: "Y", CVVCode: "M", NetworkTransactionID: "123456789012345"},
		Calls: 1, CreatedAt: t0, UpdatedAt: t0}
	first := mustRecord(t, l, simCall(gw, "op_auth", payment.OpAuthorize, 10000, "", t0),
		func(a *payment.SimulatorAuthorization) (payment.SimulatorResult, *payment.SimulatorAuthorization, error) {
			saw = a
			return want.Result, auth, nil
		})
	if saw != nil {
		t.Errorf("a new authorization was decided against %+v", saw)
	}
	equal(t, "recorded operation", first, want)
	got, err := l.SimulatorOperation(ctx, gw, "op_auth")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "operation read back", got, want)

	// A repeat is counted, not decided, whatever it asks.
	t1 := t0.Add(time.Minute)
	again := mustRecord(t, l, simCall(gw, "op_auth", payment.OpCapture, 1, "sim_other", t1), notDecided(t))
	want.Calls, want.UpdatedAt = 2, t1
	equal(t, "repeated operation", again, want)
	got, _ = l.SimulatorOperation(ctx, gw, "op_auth")
	equal(t, "repeated operation read back", got, want)

	// A follow-up sees the authorization as opened, and its change stays.
	mustRecord(t, l, simCall(gw, "op_cap1", payment.OpCapture, 3000, "sim_auth", t1), approve("sim_cap1", nil, &saw))
	equal(t, "authorization seen by a capture", saw, auth)
	if op := mustRecord(t, l, simCall(gw, "op_cap2", payment.OpCapture, 10001, "sim_auth", t1), capture(10001)); op.Result.Outcome != payment.OutcomeFailed {
		t.Errorf("capture of 10001 of 10000 = %+v", op.Result)
	}
	op := mustRecord(t, l, simCall(gw, "op_cap3", payment.OpCapture, 2000, "sim_auth", t1), capture(2000))
	if op.Result.Outcome != payment.OutcomeSucceeded {
		t.Errorf("capture of 2000 of 10000 = %+v", op.Result)
	}
	mustRecord(t, l, simCall(gw, "op_void", payment.OpVoid, 0, "sim_auth", t1),
		func(a *payment.SimulatorAuthorization) (payment.SimulatorResult, *payment.SimulatorAuthorization, error) {
			saw = new(*a)
			a.Voided, a.Refunded = true, 1000
			return payment.SimulatorResult{Outcome: payment.OutcomeSucceeded}, nil, nil
		})
	wantAuth := *auth
	wantAuth.Captured = 2000 // op_cap1 changed nothing, op_cap2 failed
	equal(t, "authorization after captures", saw, &wantAuth)
	wantAuth.Voided, wantAuth.Refunded = true, 1000
	mustRecord(t, l, simCall(gw, "op_look", payment.OpRefund, 1, "sim_auth", t1), approve("", nil, &saw))
	equal(t, "authorization after the void", saw, &wantAuth)

	// Unknown priors, and priors of another gateway, are nil.
	mustRecord(t, l, simCall(gw, "op_unknown", payment.OpCapture, 1, "sim_nope", t1), approve("", nil, &saw))
	if saw != nil {
		t.Errorf("an unknown prior reference gave %+v", saw)
	}
	other := "gw_" + payment.RandomString(12)
	mustRecord(t, l, simCall(other, "op_cap1", payment.OpCapture, 1, "sim_auth", t1), approve("", nil, &saw))
	if saw != nil {
		t.Errorf("another gateway's capture saw %+v", saw)
	}
	// ... and the same reference on another gateway is another operation.
	if op, _ := l.SimulatorOperation(ctx, other, "op_cap1"); op == nil || op.Calls != 1 || op.Amount != 1 {
		t.Errorf("op_cap1 of another gateway = %+v", op)
	}

	// A failed decide writes nothing: neither the operation nor the
	// authorization's change.
	boom := errors.New("boom")
	_, err = l.RecordSimulatorCall(ctx, simCall(gw, "op_boom", payment.OpCapture, 1, "sim_auth", t1),
		func(a *payment.SimulatorAuthorization) (payment.SimulatorResult, *payment.SimulatorAuthorization, error) {
			a.Captured = 0
			return payment.SimulatorResult{}, nil, boom
		})
	if !errors.Is(err, boom) {
		t.Errorf("RecordSimulatorCall with a failing decide: %v, want its error", err)
	}
	if _, err := l.SimulatorOperation(ctx, gw, "op_boom"); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("operation of a failed decide: %v, want ErrNotFound", err)
	}
	// An opened authorization whose reference is taken is a conflict, and
	// so is not recorded either.
	_, err = l.RecordSimulatorCall(ctx, simCall(gw, "op_dup", payment.OpAuthorize, 1, "", t1),
		approve("sim_auth", &payment.SimulatorAuthorization{GatewayID: gw, GatewayReference: "sim_auth",
			Kind: payment.OpAuthorize, Currency: "EUR", Authorized: 1}, nil))
	wantConflict(t, "authorization with a taken reference", err)
	// Undecided and rule-breaking results are refused.
	_, err = l.RecordSimulatorCall(ctx, simCall(gw, "op_pending", payment.OpAuthorize, 1, "", t1),
		func(*payment.SimulatorAuthorization) (payment.SimulatorResult, *payment.SimulatorAuthorization, error) {
			return payment.SimulatorResult{Outcome: payment.OutcomePending}, nil, nil
		})
	if err == nil {
		t.Error("a pending result was recorded")
	}
	_, err = l.RecordSimulatorCall(ctx, simCall(gw, "op_over", payment.OpCapture, 1, "sim_auth", t1),
		func(a *payment.SimulatorAuthorization) (payment.SimulatorResult, *payment.SimulatorAuthorization, error) {
			a.Captured = a.Authorized + 1
			return payment.SimulatorResult{Outcome: payment.OutcomeSucceeded}, nil, nil
		})
	if err == nil {
		t.Error("a capture over the authorized amount was recorded")
	}
	for _, ref := range []string{"op_dup", "op_pending", "op_over"} {
		if _, err := l.SimulatorOperation(ctx, gw, ref); !errors.Is(err, payment.ErrNotFound) {
			t.Errorf("operation %s of a refused call: %v, want ErrNotFound", ref, err)
		}
	}
	mustRecord(t, l, simCall(gw, "op_look2", payment.OpRefund, 1, "sim_auth", t1), approve("", nil, &saw))
	equal(t, "authorization after refused calls", saw, &wantAuth)

	// The list: the gateway's operations, by time then reference.
	mustRecord(t, l, simCall(gw, "op_early", payment.OpVerify, 0, "", t0.Add(-time.Second)), approve("sim_v", nil, nil))
	ops, err := l.SimulatorOperations(ctx, gw)
	if err != nil {
		t.Fatal(err)
	}
	wantRefs := []string{"op_early", "op_auth", "op_cap1", "op_cap2", "op_cap3", "op_look", "op_look2", "op_unknown", "op_void"}
	equal(t, "listed references", ids(ops, func(op *payment.SimulatorOperation) string { return op.Reference }), wantRefs)
	for _, op := range ops {
		if op.GatewayID != gw || op.Result.Outcome == payment.OutcomePending {
			t.Errorf("listed %+v", op)
		}
	}
}

// testSimulatorLedgerConcurrent records contending calls at once: captures
// of one authorization never exceed it, and calls with one reference are
// decided once and all counted.
func testSimulatorLedgerConcurrent(t *testing.T, s payment.Store) {
	ctx := context.Background()
	l := ledgerOf(t, s)
	gw := "gw_" + payment.RandomString(12)
	mustRecord(t, l, simCall(gw, "op_auth", payment.OpAuthorize, 100, "", t0),
		approve("sim_auth", &payment.SimulatorAuthorization{GatewayID: gw, GatewayReference: "sim_auth",
			Kind: payment.OpAuthorize, Currency: "EUR", Authorized: 100}, nil))

	const n = 20
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		succeeded int
		decided   int
	)
	for i := range n {
		wg.Go(func() {
			op, err := l.RecordSimulatorCall(ctx, simCall(gw, fmt.Sprintf("op_cap%d", i), payment.OpCapture, 10, "sim_auth", t0), capture(10))
			if err != nil {
				t.Errorf("capture %d: %v", i, err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if op.Result.Outcome == payment.OutcomeSucceeded {
				succeeded++
			}
		})
		wg.Go(func() {
			op, err := l.RecordSimulatorCall(ctx, simCall(gw, "op_same", payment.OpCapture, 1, "sim_nope", t0),
				func(*payment.SimulatorAuthorization) (payment.SimulatorResult, *payment.SimulatorAuthorization, error) {
					mu.Lock()
					decided++
					mu.Unlock()
					return payment.SimulatorResult{Outcome: payment.OutcomeFailed, DeclineCode: "invalid_reference"}, nil, nil
				})
			if err != nil {
				t.Errorf("repeat %d: %v", i, err)
			} else if op.Result.Outcome != payment.OutcomeFailed || op.Result.DeclineCode != "invalid_reference" {
				t.Errorf("repeat %d = %+v, want the one decided result", i, op.Result)
			}
		})
	}
	wg.Wait()
	if succeeded != 10 {
		t.Errorf("%d of %d captures of 10 succeeded on an authorization of 100, want 10", succeeded, n)
	}
	if decided != 1 {
		t.Errorf("%d concurrent calls with one reference were decided %d times, want once", n, decided)
	}
	if op, err := l.SimulatorOperation(ctx, gw, "op_same"); err != nil || op.Calls != n {
		t.Errorf("op_same = %+v, %v; want %d calls", op, err, n)
	}
}
