package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kassapay/kassa/client"
	"github.com/kassapay/kassa/internal/failpoint"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store/pgtest"
	"github.com/kassapay/kassa/internal/store/postgres"
	"github.com/kassapay/kassa/internal/store/sqlite"
)

// The crash tests run the real kassa binary, built with failpoints, as a
// child process; stop it at a point of the operation protocol; kill it
// with SIGKILL there; restart it; and retry the request with the same
// Idempotency-Key. Whatever the point, the key must end with exactly one
// payment (or one follow-up) and at most one gateway call, counted in the
// simulator's durable ledger, and the retry's answer must be the final
// state.

var failpointBin struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// TestMain removes the binary the crash tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if failpointBin.dir != "" {
		os.RemoveAll(failpointBin.dir)
	}
	os.Exit(code)
}

// buildFailpointBinary builds kassa with -tags failpoints once per test
// run (with the race detector when the tests have it).
func buildFailpointBinary(t *testing.T) string {
	t.Helper()
	failpointBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "kassa-failpoints-")
		if err != nil {
			failpointBin.err = err
			return
		}
		failpointBin.dir = dir
		failpointBin.path = filepath.Join(dir, "kassa")
		args := []string{"build", "-tags", "failpoints", "-o", failpointBin.path}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, ".")...)
		cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false")
		if out, err := cmd.CombinedOutput(); err != nil {
			failpointBin.err = fmt.Errorf("go build -tags failpoints: %v\n%s", err, out)
		}
	})
	if failpointBin.err != nil {
		t.Fatal(failpointBin.err)
	}
	return failpointBin.path
}

// child is kassa serve running as a child process.
type child struct {
	cmd            *exec.Cmd
	URL            string
	Stdout, Stderr *syncBuffer
	exited         chan struct{}
}

var listeningLine = regexp.MustCompile(`"msg":"kassa listening","listener":"native","addr":"([^"]+)"`)

// crashArgs make the protocol's waits short: a call may run 1 s, and an
// operation pending for 2 s is taken for abandoned.
var crashArgs = []string{"--call-timeout", "1s", "--stale-after", "2s", "--reconcile-interval", "200ms"}

// startChild starts kassa serve on dataDir (and dbURL, when set) with
// KASSA_FAILPOINT set to fp, and extra flags after crashArgs.
func startChild(t *testing.T, bin, dataDir, dbURL, fp string, extra ...string) *child {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir}, crashArgs...)
	args = append(args, extra...)
	if dbURL != "" {
		args = append(args, "--database-url", dbURL)
	}
	return startProcess(t, bin, args, fp, listeningLine)
}

// startProcess starts bin with args (and KASSA_FAILPOINT set to fp, when
// set) and waits for the line in its standard error whose first group is
// the address it listens on.
func startProcess(t *testing.T, bin string, args []string, fp string, listening *regexp.Regexp) *child {
	t.Helper()
	c := &child{cmd: exec.Command(bin, args...), Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, exited: make(chan struct{})}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KASSA_") {
			c.cmd.Env = append(c.cmd.Env, kv)
		}
	}
	if fp != "" {
		c.cmd.Env = append(c.cmd.Env, failpoint.Env+"="+fp)
	}
	c.cmd.Stdout, c.cmd.Stderr = c.Stdout, c.Stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.cmd.Wait(); close(c.exited) }()
	t.Cleanup(c.kill)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if m := listening.FindStringSubmatch(c.Stderr.String()); m != nil {
			c.URL = "http://" + m[1]
			return c
		}
		select {
		case <-c.exited:
			t.Fatalf("%s exited on start:\n%s", args[0], c.Stderr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not start listening:\n%s", args[0], c.Stderr)
		}
	}
}

// kill sends SIGKILL and waits for the process to go.
func (c *child) kill() {
	c.cmd.Process.Kill()
	<-c.exited
}

// waitFailpoint waits until the process stops at its armed failpoint.
func (c *child) waitFailpoint(t *testing.T, fp string) {
	t.Helper()
	point, _, _ := strings.Cut(fp, ":")
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(c.Stderr.String(), "FAILPOINT "+point) {
		if time.Now().After(deadline) {
			t.Fatalf("kassa never reached failpoint %s:\n%s", fp, c.Stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// answer is one HTTP response.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) payment(t *testing.T) *client.Payment {
	t.Helper()
	var p client.Payment
	if err := json.Unmarshal(a.body, &p); err != nil {
		t.Fatalf("answer %d is no payment: %v: %s", a.status, err, a.body)
	}
	return &p
}

// post sends one keyed request; a transport error (the process died) is
// status 0.
func post(url, key, idemKey, body string) answer {
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", idemKey)
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return answer{}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, res.Header, b}
}

// retryUntilAnswered repeats a keyed request while it is in flight (409
// with Retry-After), as a careful client does.
func retryUntilAnswered(t *testing.T, url, key, idemKey, body string) answer {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		a := post(url, key, idemKey, body)
		if a.status != http.StatusConflict {
			return a
		}
		ra, err := strconv.Atoi(a.header.Get("Retry-After"))
		if err != nil || ra < 1 {
			t.Fatalf("409 without a Retry-After: %s", a.body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("still 409 after a minute: %s", a.body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// crashSetup is what a crash case needs before its keyed request.
type crashSetup struct {
	dataDir, dbURL string
	key            string
	cl             *client.Client
	gateway, pm    string
	base           *client.Payment // the payment a follow-up acts on
}

func newCrashSetup(t *testing.T, c *child, dataDir, dbURL, kind string) *crashSetup {
	t.Helper()
	// Standard output and error are separate pipes: the keys may arrive
	// after the listening line.
	var m []string
	waitFor(t, "the first account's keys", func() bool {
		m = keyLine.FindStringSubmatch(c.Stdout.String())
		return m != nil
	})
	s := &crashSetup{dataDir: dataDir, dbURL: dbURL, key: m[1]}
	s.cl = client.New(c.URL, s.key)
	ctx := context.Background()
	gw, err := s.cl.CreateGateway(ctx, &client.GatewayParams{Type: "simulator"})
	if err != nil {
		t.Fatal(err)
	}
	pm, err := s.cl.CreatePaymentMethod(ctx, card("4111111111111111", "123"))
	if err != nil {
		t.Fatal(err)
	}
	s.gateway, s.pm = gw.ID, pm.ID
	capture := kind == "refund"
	switch kind {
	case "capture", "void", "refund":
		s.base, err = s.cl.CreatePayment(ctx, &client.PaymentParams{Amount: 1000, Currency: "EUR", PaymentMethod: pm.ID,
			Gateway: gw.ID, Capture: &capture})
		if err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// request is the keyed request a crash case sends for kind.
func (s *crashSetup) request(baseURL, kind string) (url, body string) {
	switch kind {
	case "purchase":
		return baseURL + "/v1/payments", fmt.Sprintf(`{"amount":4200,"currency":"EUR","payment_method":%q,"gateway":%q,"reference":"order-42"}`, s.pm, s.gateway)
	case "capture":
		return baseURL + "/v1/payments/" + s.base.ID + "/capture", `{"amount":600}`
	case "void":
		return baseURL + "/v1/payments/" + s.base.ID + "/void", `{}`
	}
	return baseURL + "/v1/payments/" + s.base.ID + "/refunds", `{"amount":300}`
}

var crashPoints = []string{failpoint.AfterReserve, failpoint.InCall, failpoint.AfterCall, failpoint.AfterSettle, failpoint.BeforeComplete}

// TestCrashRecovery kills kassa with SIGKILL at each point of the protocol
// of each kind of money-moving request, on both stores, and retries.
func TestCrashRecovery(t *testing.T) {
	bin := buildFailpointBinary(t)
	stores := []struct {
		name  string
		dbURL func(t *testing.T) string
	}{
		{"sqlite", func(*testing.T) string { return "" }},
		{"postgres", func(t *testing.T) string { return pgtest.SchemaURL(t) }},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			for _, kind := range []string{"purchase", "capture", "refund", "void"} {
				for _, point := range crashPoints {
					t.Run(kind+"/"+point, func(t *testing.T) {
						t.Parallel()
						testCrashAt(t, bin, st.dbURL(t), kind, point)
					})
				}
			}
		})
	}
}

func testCrashAt(t *testing.T, bin, dbURL, kind, point string) {
	dataDir := t.TempDir()
	fp := point + ":" + kind
	if point == failpoint.BeforeComplete {
		fp = point // the middleware does not know the kind
	}
	first := startChild(t, bin, dataDir, dbURL, fp)
	s := newCrashSetup(t, first, dataDir, dbURL, kind)
	url, body := s.request(first.URL, kind)
	idem := "crash-" + kind + "-" + point

	sent := make(chan answer, 1)
	go func() { sent <- post(url, s.key, idem, body) }()
	first.waitFailpoint(t, fp)
	first.kill()
	if a := <-sent; a.status != 0 {
		t.Fatalf("the request was answered (%d) although kassa died before answering: %s", a.status, a.body)
	}

	second := startChild(t, bin, dataDir, dbURL, "")
	url, _ = s.request(second.URL, kind)
	got := retryUntilAnswered(t, url, s.key, idem, body)
	if got.status != http.StatusOK && got.status != http.StatusCreated {
		t.Fatalf("retry answered %d: %s", got.status, got.body)
	}
	if got.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("the recovered answer is not marked replayed")
	}
	ans := got.payment(t)
	s.cl = client.New(second.URL, s.key)
	ctx := context.Background()

	// Exactly one payment, and it is the answer's, in its final state.
	list, err := s.cl.ListPayments(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A follow-up makes no payment: its base payment is the only one.
	if len(list.Data) != 1 {
		t.Fatalf("%d payments, want 1", len(list.Data))
	}
	stored, err := s.cl.Payment(ctx, ans.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Status != ans.Status || stored.AmountAuthorized != ans.AmountAuthorized ||
		stored.AmountCaptured != ans.AmountCaptured || stored.AmountRefunded != ans.AmountRefunded {
		t.Errorf("answer %s %d/%d/%d, stored %s %d/%d/%d", ans.Status, ans.AmountAuthorized, ans.AmountCaptured, ans.AmountRefunded,
			stored.Status, stored.AmountAuthorized, stored.AmountCaptured, stored.AmountRefunded)
	}
	if stored.AmountCaptured > stored.AmountAuthorized || stored.AmountRefunded > stored.AmountCaptured {
		t.Errorf("invariants broken: %+v", stored)
	}

	// One operation of the request's kind, and the answer names it.
	var made []*client.Operation
	for _, op := range stored.Operations {
		if op.Kind == kind {
			made = append(made, op)
		}
	}
	if len(made) != 1 {
		t.Fatalf("%d %s operations, want 1: %+v", len(made), kind, made)
	}
	op := made[0]
	if kind != "purchase" && (ans.Operation == nil || ans.Operation.ID != op.ID || ans.Operation.Outcome != op.Outcome) {
		t.Errorf("the answer's operation %+v is not the request's %s (%s)", ans.Operation, op.ID, op.Outcome)
	}
	if op.Outcome == "pending" || op.Outcome == "unknown" {
		t.Errorf("operation %s still %s after recovery", op.ID, op.Outcome)
	}

	// The gateway was called once at most: never twice for one key.
	calls := simulatorCalls(t, dataDir, dbURL, s.gateway, op.ID)
	wantCalls := 1
	if point == failpoint.AfterReserve {
		wantCalls = 0 // killed before the call: never sent, settled not_sent
	}
	if calls != wantCalls {
		t.Errorf("the simulator got %d calls for %s, want %d", calls, op.ID, wantCalls)
	}
	if total := simulatorOperations(t, dataDir, dbURL, s.gateway, kind); total != wantCalls {
		t.Errorf("the simulator recorded %d %s operations, want %d", total, kind, wantCalls)
	}
	wantOutcome := "succeeded"
	if point == failpoint.AfterReserve {
		wantOutcome = "not_sent"
	}
	if string(op.Outcome) != wantOutcome {
		t.Errorf("operation outcome %s, want %s", op.Outcome, wantOutcome)
	}

	// From now on the key replays that answer.
	again := post(url, s.key, idem, body)
	if again.status != got.status || !bytes.Equal(again.body, got.body) || again.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("second retry: %d %s, want the replay of %d %s", again.status, again.body, got.status, got.body)
	}
}

// simulatorLedger reads the simulator's durable ledger of gateway gw in
// the store a crash case used.
func simulatorLedger(t *testing.T, dataDir, dbURL, gw string) []*payment.SimulatorOperation {
	t.Helper()
	ctx := context.Background()
	var st interface {
		SimulatorOperations(ctx context.Context, gatewayID string) ([]*payment.SimulatorOperation, error)
		Close() error
	}
	var err error
	if dbURL != "" {
		st, err = postgres.Open(ctx, dbURL, postgres.Options{MaxConns: 1})
	} else {
		st, err = sqlite.Open(ctx, filepath.Join(dataDir, "kassa.db"), sqlite.Options{})
	}
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ops, err := st.SimulatorOperations(ctx, gw)
	if err != nil {
		t.Fatal(err)
	}
	return ops
}

// simulatorCalls counts the calls of reference that reached the simulator.
func simulatorCalls(t *testing.T, dataDir, dbURL, gw, reference string) int {
	t.Helper()
	for _, op := range simulatorLedger(t, dataDir, dbURL, gw) {
		if op.Reference == reference {
			return op.Calls
		}
	}
	return 0
}

// simulatorOperations counts the simulator's operations of kind.
func simulatorOperations(t *testing.T, dataDir, dbURL, gw, kind string) int {
	t.Helper()
	n := 0
	for _, op := range simulatorLedger(t, dataDir, dbURL, gw) {
		if string(op.Kind) == kind {
			n++
		}
	}
	return n
}

// TestLockThenKill is the reproduction of the double charge, made
// deterministic: while a keyed purchase's gateway call runs, another
// session locks idempotency_keys, so whatever the request writes there
// after the call waits; the process is killed in that window and
// restarted, and the client retries with the same key and body. Before
// recovery points, the retry made a second payment and a second charge
// once the claim's lock passed.
func TestLockThenKill(t *testing.T) {
	bin := buildFailpointBinary(t)
	dbURL := pgtest.SchemaURL(t)
	dataDir := t.TempDir()
	first := startChild(t, bin, dataDir, dbURL, "")
	s := newCrashSetup(t, first, dataDir, dbURL, "purchase")
	ctx := context.Background()
	slow, err := s.cl.CreateGateway(ctx, &client.GatewayParams{Type: "simulator", Settings: map[string]any{"latency_ms": 600}})
	if err != nil {
		t.Fatal(err)
	}
	s.gateway = slow.ID
	url, body := s.request(first.URL, "purchase")
	const idem = "order-42-pay"

	sent := make(chan answer, 1)
	go func() { sent <- post(url, s.key, idem, body) }()
	// Wait for the reservation: the payment exists, its call is running.
	waitFor(t, "the purchase's reservation", func() bool {
		list, err := s.cl.ListPayments(ctx, &client.PaymentListParams{Reference: "order-42"})
		return err == nil && len(list.Data) == 1
	})

	locker, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close(ctx)
	tx, err := locker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE idempotency_keys IN EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	// The gateway acts after 600 ms (within the 1 s call timeout); then
	// kassa goes on to write what follows the call, and waits on the
	// locked table. Kill it there.
	waitFor(t, "the gateway's purchase", func() bool {
		return simulatorOperations(t, dataDir, dbURL, s.gateway, "purchase") == 1
	})
	time.Sleep(300 * time.Millisecond)
	first.kill()
	if a := <-sent; a.status != 0 {
		t.Fatalf("answered %d while the key's table was locked: %s", a.status, a.body)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	second := startChild(t, bin, dataDir, dbURL, "")
	url, _ = s.request(second.URL, "purchase")
	got := retryUntilAnswered(t, url, s.key, idem, body)
	if got.status != http.StatusCreated {
		t.Fatalf("retry: %d %s", got.status, got.body)
	}
	pay := got.payment(t)
	if pay.Status != "CAPTURED" || pay.AmountCaptured != 4200 {
		t.Errorf("retry answered %s with %d captured, want CAPTURED 4200", pay.Status, pay.AmountCaptured)
	}
	list, err := client.New(second.URL, s.key).ListPayments(ctx, &client.PaymentListParams{Reference: "order-42"})
	if err != nil || len(list.Data) != 1 || list.Data[0].ID != pay.ID {
		t.Fatalf("payments with reference order-42: %v (%v), want only %s", list, err, pay.ID)
	}
	if n := simulatorOperations(t, dataDir, dbURL, s.gateway, "purchase"); n != 1 {
		t.Errorf("the gateway recorded %d purchases, want 1: the card was charged twice", n)
	}
	if calls := simulatorCalls(t, dataDir, dbURL, s.gateway, pay.Operations[0].ID); calls != 1 {
		t.Errorf("the purchase reached the gateway %d times, want 1", calls)
	}
}

// waitFor polls cond for up to 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitWithin(t, 30*time.Second, what, cond)
}

// waitWithin polls cond for up to d.
func waitWithin(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
