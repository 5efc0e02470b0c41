package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/client"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store/pgtest"
)

// The kill -9 suite: the real binary under mixed traffic — purchases,
// authorizations with partial captures, partial refunds, voids, cascades
// through a router, keyed and unkeyed — is killed with SIGKILL at random
// moments and restarted, again and again. Then the reconciler gets its
// window, and the suite checks what a merchant relies on:
//
//   - every restart is clean;
//   - every answer kassa gave is still true: an operation answered as
//     settled keeps that outcome;
//   - captured ≤ authorized and refunded ≤ captured on every payment, and
//     its amounts are exactly what its succeeded operations add up to;
//   - kassa's operations and the simulator's ledger agree one by one (an
//     operation kassa says succeeded, the provider did; one it says was not
//     sent, the provider never saw; nothing the provider did is missing);
//   - no operation is left pending or unknown;
//   - a keyed request retried after a kill made one payment or one
//     follow-up, never two.
//
// KASSA_KILLS sets the number of kills per store (default 10, as in CI;
// `make crash KILLS=200` runs long).

func kills(t *testing.T) int {
	if s := os.Getenv("KASSA_KILLS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("KASSA_KILLS=%q: want a positive number", s)
		}
		return n
	}
	return 10
}

func TestKillSuite(t *testing.T) {
	bin := buildFailpointBinary(t)
	n := kills(t)
	forEachStoreURL(t, func(t *testing.T, dbURL string) { runKillSuite(t, bin, dbURL, n) })
}

// forEachStoreURL runs fn in parallel on SQLite (dbURL "": the data
// directory) and on a fresh PostgreSQL schema.
func forEachStoreURL(t *testing.T, fn func(t *testing.T, dbURL string)) {
	for _, st := range []struct {
		name  string
		dbURL func(t *testing.T) string
	}{
		{"sqlite", func(*testing.T) string { return "" }},
		{"postgres", func(t *testing.T) string { return pgtest.SchemaURL(t) }},
	} {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			fn(t, st.dbURL(t))
		})
	}
}

// acked is an operation kassa answered for.
type acked struct {
	op      string
	outcome client.Outcome
}

// keyedRequest is a keyed request whose answer a kill may have lost.
type keyedRequest struct {
	key  string
	kind string // "purchase", "capture", "refund", "void"
	pay  string // for follow-ups
	amt  int64
}

type killWorld struct {
	mu       sync.Mutex
	acked    []acked
	pending  []keyedRequest // keyed requests without an answer
	payments []string       // authorized payments to follow up on
	captured []string       // captured payments to refund
	keys     map[string]int // answers per key (a key answered twice must answer the same)
	byKey    map[string]string
	seq      int
	// violations are broken promises seen while the traffic ran.
	violations []string
}

func (w *killWorld) ack(p *client.Payment, op *client.Operation) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if op != nil {
		w.acked = append(w.acked, acked{op.ID, op.Outcome})
	}
	switch p.Status {
	case "AUTHORIZED", "PARTIALLY_CAPTURED":
		w.payments = append(w.payments, p.ID)
	}
	if p.AmountCaptured > p.AmountRefunded {
		w.captured = append(w.captured, p.ID)
	}
}

func (w *killWorld) pick(list *[]string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(*list) == 0 {
		return ""
	}
	return (*list)[rand.IntN(len(*list))]
}

func (w *killWorld) nextKey() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq++
	return fmt.Sprintf("kill-%d-%d", time.Now().UnixNano(), w.seq)
}

// sendResult is how a request ended.
type sendResult int

const (
	answered sendResult = iota
	refused             // a 4xx: the state did not allow it
	busy                // 409 idempotency_key_in_use: retry later
	lost                // no answer: the process died
)

// send runs one keyed or unkeyed request of kind; a lost answer leaves a
// keyed request pending for a retry.
func (w *killWorld) send(ctx context.Context, c *client.Client, r keyedRequest, gateways []string, pm string) sendResult {
	var opts []client.RequestOption
	if r.key != "" {
		opts = append(opts, client.WithIdempotencyKey(r.key))
	}
	var p *client.Payment
	var err error
	switch r.kind {
	case "purchase", "authorize":
		capture := r.kind == "purchase"
		gw := gateways[int(r.amt)%len(gateways)]
		p, err = c.CreatePayment(ctx, &client.PaymentParams{Amount: r.amt, Currency: "EUR", PaymentMethod: pm, Gateway: gw,
			Capture: &capture, Reference: r.key}, opts...)
	case "capture":
		p, err = c.CapturePayment(ctx, r.pay, &client.CaptureParams{Amount: &r.amt}, opts...)
	case "refund":
		p, err = c.RefundPayment(ctx, r.pay, &client.RefundParams{Amount: &r.amt}, opts...)
	case "void":
		p, err = c.VoidPayment(ctx, r.pay, opts...)
	}
	if err != nil {
		var ce *client.Error
		switch {
		case errors.As(err, &ce) && ce.Code == "idempotency_key_in_use":
			if r.key != "" {
				w.mu.Lock()
				w.pending = append(w.pending, r)
				w.mu.Unlock()
			}
			return busy
		case errors.As(err, &ce) && ce.StatusCode >= 400 && ce.StatusCode < 500:
			return refused
		}
		if r.key != "" {
			w.mu.Lock()
			w.pending = append(w.pending, r)
			w.mu.Unlock()
		}
		return lost
	}
	op := p.Operation
	if op == nil && len(p.Operations) > 0 {
		op = p.Operations[len(p.Operations)-1] // a new payment: its last attempt
	}
	if r.key != "" {
		w.mu.Lock()
		w.keys[r.key]++
		if prev, ok := w.byKey[r.key]; ok && op != nil && prev != op.ID {
			w.violations = append(w.violations, fmt.Sprintf("key %s answered with operation %s, then %s", r.key, prev, op.ID))
		}
		if op != nil {
			w.byKey[r.key] = op.ID
		}
		w.mu.Unlock()
	}
	w.ack(p, op)
	return answered
}

// killRun is what one run of the suite varies: the gateways, how to read
// the provider's ledger, what happens to the provider while traffic runs.
type killRun struct {
	bin, dataDir, dbURL string
	// args are extra flags of kassa serve.
	args []string
	// gateways takes the traffic: a payment goes to one by its amount.
	gateways []string
	// ledgerGateways are the provider-side gateways whose ledger is
	// checked against kassa's operations.
	ledgerGateways []string
	// ledger reads the provider's ledger of one gateway.
	ledger func(t *testing.T, gw string) []*payment.SimulatorOperation
	// during runs beside the traffic of a round until stop closes (faults
	// turned on and off); nil for none.
	during func(stop <-chan struct{})
	// settled runs after the last round, before the reconciler's window
	// (faults off); nil for none.
	settled func()
	// window is how long the reconciler gets to settle everything.
	window time.Duration
}

func runKillSuite(t *testing.T, bin, dbURL string, kills int) {
	dataDir := t.TempDir()
	proc := startChild(t, bin, dataDir, dbURL, "")
	s := newCrashSetup(t, proc, dataDir, dbURL, "purchase")
	ctx := context.Background()
	down, err := s.cl.CreateGateway(ctx, &client.GatewayParams{Type: "simulator", Settings: map[string]any{"outage": true}})
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.cl.CreateGateway(ctx, &client.GatewayParams{Type: "simulator"})
	if err != nil {
		t.Fatal(err)
	}
	r := &killRun{bin: bin, dataDir: dataDir, dbURL: dbURL, window: 30 * time.Second,
		ledgerGateways: []string{s.gateway, down.ID, other.ID},
		ledger: func(t *testing.T, gw string) []*payment.SimulatorOperation {
			return simulatorLedger(t, dataDir, dbURL, gw)
		}}
	r.gateways = []string{s.gateway, routerOver(t, s, down.ID, other.ID)}
	r.run(t, proc, s, kills)
}

// routerOver makes a router cascading from first to second.
func routerOver(t *testing.T, s *crashSetup, first, second string) string {
	t.Helper()
	router, err := s.cl.CreateGateway(context.Background(), &client.GatewayParams{Type: "router",
		Settings: map[string]any{"default": map[string]any{"cascade": []any{first, second}}}})
	if err != nil {
		t.Fatal(err)
	}
	return router.ID
}

// run sends mixed traffic to proc, kills it kills times at random moments
// and restarts it, then gives the reconciler its window and checks the
// world.
func (r *killRun) run(t *testing.T, proc *child, s *crashSetup, kills int) {
	ctx := context.Background()
	if _, err := s.cl.RetainPaymentMethod(ctx, s.pm); err != nil {
		t.Fatal(err)
	}
	gateways := r.gateways
	w := &killWorld{keys: map[string]int{}, byKey: map[string]string{}}

	traffic := func(c *client.Client, until <-chan struct{}) {
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-until:
						return
					default:
					}
					key := ""
					if rand.IntN(2) == 0 {
						key = w.nextKey()
					}
					kr := keyedRequest{key: key, amt: int64(100 * (1 + rand.IntN(40)))}
					switch rand.IntN(6) {
					case 0, 1:
						kr.kind = "purchase"
					case 2:
						kr.kind = "authorize"
					case 3:
						kr.kind, kr.pay = "capture", w.pick(&w.payments)
						kr.amt = 100
					case 4:
						kr.kind, kr.pay = "refund", w.pick(&w.captured)
						kr.amt = 100
					case 5:
						kr.kind, kr.pay = "void", w.pick(&w.payments)
					}
					if kr.pay == "" && kr.kind != "purchase" && kr.kind != "authorize" {
						kr.kind = "purchase"
					}
					w.send(ctx, c, kr, gateways, s.pm)
				}
			})
		}
		wg.Wait()
	}

	for i := range kills {
		c := client.New(proc.URL, s.key, client.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}))
		// Keyed requests a kill left unanswered are retried first, as a
		// careful client does.
		w.mu.Lock()
		retry := w.pending
		w.pending = nil
		w.mu.Unlock()
		for _, kr := range retry {
			w.retryUntilAnswered(ctx, t, c, kr, gateways, s.pm)
		}
		stop := make(chan struct{})
		var bg sync.WaitGroup
		bg.Go(func() { traffic(c, stop) })
		if r.during != nil {
			bg.Go(func() { r.during(stop) })
		}
		time.Sleep(time.Duration(200+rand.IntN(1300)) * time.Millisecond)
		proc.kill()
		close(stop)
		bg.Wait()
		t.Logf("kill %d of %d: %d operations answered so far", i+1, kills, len(w.acked))
		proc = startChild(t, r.bin, r.dataDir, r.dbURL, "", r.args...)
	}
	if r.settled != nil {
		r.settled()
	}
	c := client.New(proc.URL, s.key, client.WithHTTPClient(&http.Client{Timeout: 30 * time.Second}))
	w.mu.Lock()
	retry := w.pending
	w.pending = nil
	w.mu.Unlock()
	for _, kr := range retry {
		w.retryUntilAnswered(ctx, t, c, kr, gateways, s.pm)
	}

	// The reconciler's window: every operation settles.
	settleStart := time.Now()
	defer func() { t.Logf("settled in %v", time.Since(settleStart).Round(time.Millisecond)) }()
	var pays []*client.Payment
	waitWithin(t, r.window, "every operation to settle", func() bool {
		pays = pays[:0]
		for p, err := range c.AllPayments(ctx, nil) {
			if err != nil {
				t.Fatal(err)
			}
			pays = append(pays, p)
		}
		for _, p := range pays {
			for _, op := range p.Operations {
				if op.Outcome == "pending" || op.Outcome == "unknown" {
					return false
				}
			}
		}
		return true
	})
	checkKillWorld(t, w, pays, r.ledgerGateways, r.ledger)
}

// retryUntilAnswered retries a keyed request until kassa answers it.
func (w *killWorld) retryUntilAnswered(ctx context.Context, t *testing.T, c *client.Client, r keyedRequest, gateways []string, pm string) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		res := w.send(ctx, c, r, gateways, pm)
		if res == answered || res == refused {
			return
		}
		w.mu.Lock()
		w.pending = w.pending[:len(w.pending)-1] // this one: retried here
		w.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("keyed %s %s never answered after restarts", r.kind, r.key)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func checkKillWorld(t *testing.T, w *killWorld, pays []*client.Payment, gateways []string,
	ledger func(t *testing.T, gw string) []*payment.SimulatorOperation) {
	ops := map[string]*client.Operation{}
	opsByRef := map[string]int{}
	for _, p := range pays {
		var auth, capt, ref int64
		for _, op := range p.Operations {
			ops[op.ID] = op
			if op.Outcome != "succeeded" {
				continue
			}
			switch op.Kind {
			case "authorize":
				auth = op.Amount
			case "purchase":
				auth, capt = op.Amount, op.Amount
			case "capture":
				capt += op.Amount
			case "refund":
				ref += op.Amount
			}
		}
		if p.AmountAuthorized != auth || p.AmountCaptured != capt || p.AmountRefunded != ref {
			t.Errorf("payment %s: amounts %d/%d/%d, its operations add up to %d/%d/%d",
				p.ID, p.AmountAuthorized, p.AmountCaptured, p.AmountRefunded, auth, capt, ref)
		}
		if p.AmountCaptured > p.AmountAuthorized || p.AmountRefunded > p.AmountCaptured {
			t.Errorf("payment %s breaks the invariants: %d/%d/%d", p.ID, p.AmountAuthorized, p.AmountCaptured, p.AmountRefunded)
		}
		if p.Reference != "" {
			opsByRef[p.Reference]++
		}
	}
	for ref, n := range opsByRef {
		if n > 1 {
			t.Errorf("key %s made %d payments", ref, n)
		}
	}
	for _, a := range w.acked {
		op, ok := ops[a.op]
		if !ok {
			t.Errorf("operation %s was answered (%s) and is gone", a.op, a.outcome)
			continue
		}
		if a.outcome != "pending" && a.outcome != "unknown" && op.Outcome != a.outcome {
			t.Errorf("operation %s was answered %s and is now %s", a.op, a.outcome, op.Outcome)
		}
	}
	// kassa and the provider agree, operation by operation.
	seen := map[string]bool{}
	for _, gw := range gateways {
		for _, l := range ledger(t, gw) {
			seen[l.Reference] = true
			op, ok := ops[l.Reference]
			if !ok {
				t.Errorf("the simulator processed %s %s, which kassa does not know", l.Kind, l.Reference)
				continue
			}
			if string(op.Outcome) != string(l.Result.Outcome) {
				t.Errorf("operation %s: kassa says %s, the simulator %s", op.ID, op.Outcome, l.Result.Outcome)
			}
			if l.Calls != 1 {
				t.Errorf("operation %s reached the simulator %d times", op.ID, l.Calls)
			}
		}
	}
	for id, op := range ops {
		if op.Outcome == "not_sent" && seen[id] {
			t.Errorf("operation %s is not_sent but the simulator processed it", id)
		}
		if (op.Outcome == "succeeded" || op.Outcome == "declined") && !seen[id] {
			t.Errorf("operation %s is %s but the simulator never saw it", id, op.Outcome)
		}
	}
	for _, v := range w.violations {
		t.Error(v)
	}
	t.Logf("%d payments, %d operations, %d answered, %d keys", len(pays), len(ops), len(w.acked), len(w.keys))
}
