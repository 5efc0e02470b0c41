package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/client"
	"github.com/kassapay/kassa/internal/gateway/simulator"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store/pgtest"
	"github.com/kassapay/kassa/internal/store/sqlite"
	"github.com/kassapay/kassa/internal/vault"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// server is a kassa serve running in-process on port 0.
type server struct {
	URL string
	// Listeners maps each listener's name to its base URL.
	Listeners      map[string]string
	DataDir        string
	Stdout, Stderr *syncBuffer
	stop           context.CancelFunc
	done           chan error
	listening      chan string
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func startServer(t *testing.T, dataDir string, getenv func(string) string, extra ...string) *server {
	t.Helper()
	s := launchServer(t, dataDir, getenv, extra...)
	s.waitListening(t)
	return s
}

// launchServer starts kassa serve without waiting for it to listen, so that
// a test can start several at once; waitListening waits.
func launchServer(t *testing.T, dataDir string, getenv func(string) string, extra ...string) *server {
	t.Helper()
	s := &server{DataDir: dataDir, Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, done: make(chan error, 1), listening: make(chan string, 1)}
	var mu sync.Mutex
	s.Listeners = map[string]string{}
	m := &Main{Stdout: s.Stdout, Stderr: s.Stderr, Getenv: getenv,
		OnListen: func(name, a string) {
			mu.Lock()
			s.Listeners[name] = "http://" + a
			mu.Unlock()
			if name == "native" {
				s.listening <- a
			}
		}}
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir}, extra...)
	go func() { s.done <- m.Run(ctx, args) }()
	t.Cleanup(func() { s.Stop(t) })
	return s
}

// waitListening waits until the server's main listener is up.
func (s *server) waitListening(t *testing.T) {
	t.Helper()
	select {
	case a := <-s.listening:
		s.URL = "http://" + a
	case err := <-s.done:
		s.stop()
		s.stop = nil // nothing left to stop
		t.Fatalf("serve exited: %v\nstderr:\n%s", err, s.Stderr)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start listening")
	}
}

// Stop shuts the server down and waits for it (once).
func (s *server) Stop(t *testing.T) {
	t.Helper()
	if s.stop == nil {
		return
	}
	s.stop()
	s.stop = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("serve returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("serve did not stop")
	}
}

var keyLine = regexp.MustCompile(`(?m)^secret key:\s+(sk_test_\w+)$`)

func (s *server) bootstrapKey(t *testing.T) string {
	t.Helper()
	m := keyLine.FindStringSubmatch(s.Stdout.String())
	if m == nil {
		t.Fatalf("serve printed no secret key on first start; stdout:\n%s", s.Stdout)
	}
	return m[1]
}

// runCmd runs one kassa command in-process and returns its standard output.
func runCmd(t *testing.T, getenv func(string) string, args ...string) (string, error) {
	t.Helper()
	var out, errOut syncBuffer
	err := (&Main{Stdout: &out, Stderr: &errOut, Getenv: getenv}).Run(context.Background(), args)
	if err != nil {
		return out.String(), fmt.Errorf("%w; stderr: %s", err, errOut.String())
	}
	return out.String(), nil
}

func card(number, cvc string) *client.PaymentMethodParams {
	return &client.PaymentMethodParams{Type: "card", Card: &client.CardParams{
		Number: number, ExpMonth: 12, ExpYear: 2031, CVC: cvc, HolderName: "Jane Doe"}}
}

// TestEndToEnd starts the real server on a fresh data directory and drives
// it through the Go client: first start, tokenize, read, list, update,
// retain, redact, idempotency, keys, events, a second account made by
// `kassa account create` while the server runs, payments through a
// simulator gateway, and a restart.
func TestEndToEnd(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testEndToEnd(t, nil) })
	t.Run("postgres", func(t *testing.T) { testEndToEnd(t, []string{"--database-url", pgtest.SchemaURL(t)}) })
}

func testEndToEnd(t *testing.T, dbArgs []string) {
	dir := filepath.Join(t.TempDir(), "data")
	getenv := env(nil)
	s := startServer(t, dir, getenv, dbArgs...)
	if !strings.Contains(s.Stderr.String(), "DEVELOPMENT") {
		t.Error("no loud warning about the generated development master key")
	}
	if fi, err := os.Stat(filepath.Join(dir, "master.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("development key file: %v %v, want mode 0600", fi, err)
	}
	ctx := context.Background()
	c := client.New(s.URL, s.bootstrapKey(t))
	if err := c.Ready(ctx); err != nil {
		t.Fatalf("ready: %v", err)
	}
	acct, err := c.Account(ctx)
	if err != nil || acct.Live || !strings.HasPrefix(acct.ID, "T") {
		t.Fatalf("account = %+v, %v", acct, err)
	}

	var resp client.Response
	pm, err := c.CreatePaymentMethod(ctx, card("4242424242424242", "123"), client.WithIdempotencyKey("order-1"), client.WithResponse(&resp))
	if err != nil {
		t.Fatal(err)
	}
	if pm.Card.Brand != "visa" || pm.Card.Last4 != "4242" || pm.StorageState != client.StorageState("cached") || !pm.Test || resp.StatusCode != 201 {
		t.Fatalf("created %+v (status %d)", pm, resp.StatusCode)
	}
	again, err := c.CreatePaymentMethod(ctx, card("4242424242424242", "123"), client.WithIdempotencyKey("order-1"), client.WithResponse(&resp))
	if err != nil || again.ID != pm.ID || !resp.Replayed {
		t.Fatalf("idempotent replay: %v %v replayed=%v", again, err, resp.Replayed)
	}
	if _, err := c.CreatePaymentMethod(ctx, card("4111111111111111", "123"), client.WithIdempotencyKey("order-1")); err == nil {
		t.Fatal("same idempotency key with another body was accepted")
	}

	upd, err := c.UpdatePaymentMethod(ctx, pm.ID, &client.UpdatePaymentMethodParams{
		Card:     &client.UpdateCardParams{ExpMonth: new(3)},
		Metadata: map[string]string{"customer": "c-42"}})
	if err != nil || upd.Card.ExpMonth != 3 || upd.Metadata["customer"] != "c-42" {
		t.Fatalf("update: %+v %v", upd, err)
	}
	if r, err := c.RetainPaymentMethod(ctx, pm.ID); err != nil || r.StorageState != "retained" {
		t.Fatalf("retain: %+v %v", r, err)
	}
	other, err := c.CreatePaymentMethod(ctx, card("5555555555554444", "321"))
	if err != nil {
		t.Fatal(err)
	}
	if r, err := c.RedactPaymentMethod(ctx, other.ID); err != nil || r.StorageState != "redacted" {
		t.Fatalf("redact: %+v %v", r, err)
	}
	page, err := c.ListPaymentMethods(ctx, &client.ListParams{Limit: 1})
	if err != nil || len(page.Data) != 1 || page.Data[0].ID != other.ID || !page.HasMore {
		t.Fatalf("first page: %+v %v", page, err)
	}
	page, err = c.ListPaymentMethods(ctx, &client.ListParams{Limit: 1, StartingAfter: other.ID})
	if err != nil || len(page.Data) != 1 || page.Data[0].ID != pm.ID || page.HasMore {
		t.Fatalf("second page: %+v %v", page, err)
	}
	evs, err := c.Events(ctx, nil)
	if err != nil || len(evs.Data) != 5 || evs.Data[0].Type != "payment_method.redacted" {
		t.Fatalf("events: %+v %v", evs, err)
	}

	// A second account, made while the server runs, sees none of the first.
	out, err := runCmd(t, getenv, append([]string{"account", "create", "--data-dir", dir, "--name", "Other shop", "--json"}, dbArgs...)...)
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		Account        string `json:"account"`
		SecretKey      string `json:"secret_key"`
		PublishableKey string `json:"publishable_key"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&created); err != nil || !strings.HasPrefix(created.SecretKey, "sk_test_") ||
		!strings.HasPrefix(created.PublishableKey, "pk_test_") || !regexp.MustCompile(`^T\d{8}$`).MatchString(created.Account) {
		t.Fatalf("account create --json printed %q (%v)", out, err)
	}
	b := client.New(s.URL, created.SecretKey)
	if _, err := b.PaymentMethod(ctx, pm.ID); !client.IsNotFound(err) {
		t.Fatalf("another account reading a payment method: %v, want 404", err)
	}
	if list, err := b.ListPaymentMethods(ctx, nil); err != nil || len(list.Data) != 0 {
		t.Fatalf("another account's list: %+v %v", list, err)
	}
	pub := client.New(s.URL, created.PublishableKey)
	if _, err := pub.CreatePaymentMethod(ctx, card("4111111111111111", "")); err != nil {
		t.Fatalf("publishable key tokenizing: %v", err)
	}
	if _, err := pub.ListPaymentMethods(ctx, nil); err == nil {
		t.Fatal("publishable key listed payment methods")
	}

	// Keys: a rolled key with no grace stops working at once.
	keys, err := c.APIKeys(ctx)
	if err != nil || len(keys.Data) != 2 {
		t.Fatalf("keys: %+v %v", keys, err)
	}
	nk, err := b.CreateAPIKey(ctx, &client.APIKeyParams{Type: "secret"})
	if err != nil || nk.Secret == "" {
		t.Fatalf("create key: %v", err)
	}
	rolled, err := client.New(s.URL, nk.Secret).RollAPIKey(ctx, nk.ID, &client.RollAPIKeyParams{})
	if err != nil || rolled.Secret == "" {
		t.Fatalf("roll: %v", err)
	}
	if _, err := client.New(s.URL, nk.Secret).Account(ctx); !client.IsUnauthorized(err) {
		t.Fatalf("rolled key still works: %v", err)
	}
	if _, err := client.New(s.URL, rolled.Secret).Account(ctx); err != nil {
		t.Fatalf("new key: %v", err)
	}

	pay := testPayments(t, s, c, b)

	// The server restarts on the same directory without making a new account.
	s.Stop(t)
	s2 := startServer(t, dir, getenv, dbArgs...)
	if strings.Contains(s2.Stdout.String(), "secret key") {
		t.Error("second start printed keys again")
	}
	if got, err := client.New(s2.URL, created.SecretKey).Account(ctx); err != nil || got.ID != created.Account {
		t.Fatalf("after restart: %+v %v", got, err)
	}
	c2 := client.New(s2.URL, s.bootstrapKey(t))
	if got, err := c2.Payment(ctx, pay.ID); err != nil ||
		got.Status != pay.Status || got.AmountCaptured != pay.AmountCaptured || len(got.Operations) != len(pay.Operations) {
		t.Fatalf("payment after restart: %+v %v, want status %s", got, err, pay.Status)
	}
	// The simulator's ledger is in the database: what it authorized before
	// the restart can be captured after it.
	if got, err := c2.CapturePayment(ctx, pay.ID, &client.CaptureParams{Amount: new(int64(400))}); err != nil ||
		got.AmountCaptured != 1000 || got.Operations[len(got.Operations)-1].Outcome != client.OutcomeSucceeded {
		t.Fatalf("capture of the rest after restart: %+v %v", got, err)
	}

	// The ledger counted one call per operation of the gateway.
	s2.Stop(t)
	sf := storageFlags{dataDir: dir}
	if len(dbArgs) == 2 {
		sf.databaseURL = dbArgs[1]
	}
	st, err := sf.openStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ops, err := st.(simulator.Ledger).SimulatorOperations(ctx, pay.Gateway)
	if err != nil || len(ops) < 5 {
		t.Fatalf("simulator operations: %d, %v; want at least authorize, capture, refund, purchase, verify", len(ops), err)
	}
	for _, op := range ops {
		if op.Calls != 1 || !strings.HasPrefix(op.Reference, "op_") {
			t.Errorf("simulator operation %s (%s) reached the gateway %d times, want once", op.Reference, op.Kind, op.Calls)
		}
	}
}

// testPayments drives payments through the simulator gateway as account a
// (client c), and checks that account b sees none of it. It returns the
// partly captured and refunded payment, for a check after a restart.
func testPayments(t *testing.T, s *server, c, b *client.Client) *client.Payment {
	t.Helper()
	ctx := context.Background()
	creds := map[string]any{"login": "e2e-login", "password": "e2e-password-secret"}
	rotated := map[string]any{"login": "e2e-login-2", "password": "e2e-password-rotated"}
	// What must never come back: the credentials, as they are and as the
	// HTTP Basic header the simulator sends them in, and the card number.
	secrets := []string{"e2e-login", "e2e-password-secret", "e2e-password-rotated",
		base64.StdEncoding.EncodeToString([]byte("e2e-login:e2e-password-secret")), "4111111111111111"}
	noSecrets := func(what string, v any) {
		t.Helper()
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		for _, sec := range secrets {
			if strings.Contains(string(data), sec) {
				t.Errorf("%s shows %q: %s", what, sec, data)
			}
		}
	}

	types, err := c.GatewayTypes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(types.Data, func(gt *client.GatewayType) bool { return gt.Type == "simulator" }) {
		t.Fatalf("gateway types lack the simulator: %+v", types.Data)
	}
	gw, err := c.CreateGateway(ctx, &client.GatewayParams{Type: "simulator", Description: "e2e", Credentials: creds},
		client.WithIdempotencyKey("gw-1"))
	if err != nil {
		t.Fatal(err)
	}
	if gw.State != client.GatewayRetained || !gw.Sandbox || gw.Credentials.Version != 1 ||
		!slices.Contains(gw.Characteristics, client.OperationCapture) {
		t.Fatalf("created gateway %+v", gw)
	}
	noSecrets("created gateway", gw)
	if gw, err = c.UpdateGateway(ctx, gw.ID, &client.UpdateGatewayParams{Description: new("e2e simulator")}); err != nil ||
		gw.Description != "e2e simulator" || gw.Credentials.Version != 1 {
		t.Fatalf("update gateway: %+v %v", gw, err)
	}

	// Authorize 10.00 EUR, capture 6.00 of it, refund 1.00 of that.
	retained := card("4111111111111111", "123")
	retained.Retain = true
	pm, err := c.CreatePaymentMethod(ctx, retained)
	if err != nil || pm.StorageState != client.StorageRetained {
		t.Fatalf("retained card: %+v %v", pm, err)
	}
	var resp client.Response
	auth := &client.PaymentParams{Amount: 1000, Currency: "EUR", PaymentMethod: pm.ID, Gateway: gw.ID,
		Capture: new(false), Reference: "e2e-order-1"}
	pay, err := c.CreatePayment(ctx, auth, client.WithIdempotencyKey("pay-1"), client.WithResponse(&resp))
	if err != nil || resp.StatusCode != 201 || pay.Status != client.PaymentAuthorized || pay.AmountAuthorized != 1000 ||
		pay.CredentialVersion != 1 {
		t.Fatalf("authorize: %+v %v (status %d)", pay, err, resp.StatusCode)
	}
	if again, err := c.CreatePayment(ctx, auth, client.WithIdempotencyKey("pay-1"), client.WithResponse(&resp)); err != nil ||
		again.ID != pay.ID || !resp.Replayed {
		t.Fatalf("authorize again under the same key: %+v %v replayed=%v", again, err, resp.Replayed)
	}
	if pay, err = c.CapturePayment(ctx, pay.ID, &client.CaptureParams{Amount: new(int64(600))}); err != nil ||
		pay.Status != client.PaymentPartiallyCaptured || pay.AmountCaptured != 600 {
		t.Fatalf("capture: %+v %v", pay, err)
	}
	if pay, err = c.RefundPayment(ctx, pay.ID, &client.RefundParams{Amount: new(int64(100)), Reason: "e2e"}); err != nil {
		t.Fatal(err)
	}
	if pay.Status != client.PaymentPartiallyCapturedRefunded || pay.AmountAuthorized != 1000 || pay.AmountCaptured != 600 ||
		pay.AmountRefunded != 100 || len(pay.Operations) != 3 {
		t.Fatalf("after capture and refund: %+v", pay)
	}
	if got, err := c.Payment(ctx, pay.ID); err != nil || got.Status != pay.Status || len(got.Operations) != 3 {
		t.Fatalf("read back: %+v %v", got, err)
	}

	// A decline is a payment, not an error.
	poor, err := c.CreatePaymentMethod(ctx, card("4000000000009995", "123"))
	if err != nil {
		t.Fatal(err)
	}
	declined, err := c.CreatePayment(ctx, &client.PaymentParams{Amount: 500, Currency: "EUR", PaymentMethod: poor.ID, Gateway: gw.ID},
		client.WithResponse(&resp))
	if err != nil || resp.StatusCode != 201 || declined.Status != client.PaymentDeclined || len(declined.Operations) != 1 ||
		declined.Operations[0].Outcome != client.OutcomeDeclined || declined.Operations[0].DeclineCode != "insufficient_funds" {
		t.Fatalf("declined purchase: %+v %v (status %d)", declined, err, resp.StatusCode)
	}
	list, err := c.ListPayments(ctx, &client.PaymentListParams{Status: client.PaymentDeclined, Gateway: gw.ID})
	if err != nil || len(list.Data) != 1 || list.Data[0].ID != declined.ID {
		t.Fatalf("declined payments: %+v %v", list, err)
	}
	var all []string
	for p, err := range c.AllPayments(ctx, &client.PaymentListParams{ListParams: client.ListParams{Limit: 1}}) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, p.ID)
	}
	if !slices.Equal(all, []string{declined.ID, pay.ID}) {
		t.Fatalf("all payments %v, want %v", all, []string{declined.ID, pay.ID})
	}

	// Rotation makes version 2; the history and the gateway show no value.
	if gw, err = c.SetGatewayCredentials(ctx, gw.ID, &client.GatewayCredentialsParams{Credentials: rotated,
		Description: "e2e rotation"}); err != nil || gw.Credentials.Version != 2 {
		t.Fatalf("rotate: %+v %v", gw, err)
	}
	history, err := c.GatewayCredentialHistory(ctx, gw.ID)
	if err != nil || len(history.Data) != 2 || history.Data[0].Version != 2 || history.Data[0].Description != "e2e rotation" ||
		history.Data[1].Version != 1 {
		t.Fatalf("credential history: %+v %v", history, err)
	}
	noSecrets("credential history", history)
	if gw, err = c.Gateway(ctx, gw.ID); err != nil {
		t.Fatal(err)
	}
	noSecrets("gateway", gw)
	gws, err := c.ListGateways(ctx, nil)
	if err != nil || len(gws.Data) != 1 {
		t.Fatalf("gateways: %+v %v", gws, err)
	}
	noSecrets("gateway list", gws)

	v, err := c.CreateVerification(ctx, &client.VerificationParams{PaymentMethod: pm.ID, Gateway: gw.ID})
	if err != nil || v.Kind != client.OperationVerify || v.Outcome != client.OutcomeSucceeded || v.Payment != "" ||
		v.CredentialVersion != 2 {
		t.Fatalf("verification: %+v %v", v, err)
	}

	// The capture's transcript: it ran on version 1, and shows none of it.
	i := slices.IndexFunc(pay.Operations, func(op *client.Operation) bool { return op.Kind == client.OperationCapture })
	if i < 0 {
		t.Fatalf("no capture among %+v", pay.Operations)
	}
	capture, err := c.Operation(ctx, pay.Operations[i].ID)
	if err != nil || capture.Payment != pay.ID || capture.Amount != 600 || capture.Outcome != client.OutcomeSucceeded {
		t.Fatalf("capture operation: %+v %v", capture, err)
	}
	tr, err := c.OperationTranscript(ctx, capture.ID)
	if err != nil || tr.Operation != capture.ID || len(tr.Exchanges) < 1 {
		t.Fatalf("capture transcript: %+v %v", tr, err)
	}
	noSecrets("capture transcript", tr)
	if tr, err := c.OperationTranscript(ctx, pay.Operations[0].ID); err != nil || len(tr.Exchanges) < 1 {
		t.Fatalf("authorize transcript: %+v %v", tr, err)
	} else {
		noSecrets("authorize transcript", tr)
	}
	for _, sec := range secrets {
		if strings.Contains(s.Stderr.String()+s.Stdout.String(), sec) {
			t.Errorf("the server's output holds %q", sec)
		}
	}

	// Another account sees none of it.
	if _, err := b.Gateway(ctx, gw.ID); !client.IsNotFound(err) {
		t.Errorf("another account reading a gateway: %v, want 404", err)
	}
	if _, err := b.Payment(ctx, pay.ID); !client.IsNotFound(err) {
		t.Errorf("another account reading a payment: %v, want 404", err)
	}
	if _, err := b.CapturePayment(ctx, pay.ID, nil); !client.IsNotFound(err) {
		t.Errorf("another account capturing a payment: %v, want 404", err)
	}
	if _, err := b.OperationTranscript(ctx, capture.ID); !client.IsNotFound(err) {
		t.Errorf("another account reading a transcript: %v, want 404", err)
	}
	if l, err := b.ListPayments(ctx, nil); err != nil || len(l.Data) != 0 {
		t.Errorf("another account's payments: %+v %v", l, err)
	}
	return pay
}

// TestNoCardDataAtRest tokenizes a card, tokenizes and redacts another, and
// then looks for the raw card numbers and CVCs in every file of the data
// directory (database, WAL, key file) and in everything the server logged,
// while it runs and after it stopped.
func TestNoCardDataAtRest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, dir, env(map[string]string{"KASSA_LOG_LEVEL": "debug"}))
	ctx := context.Background()
	c := client.New(s.URL, s.bootstrapKey(t))
	// Four-digit CVCs (American Express), so that an accidental match among
	// the random bytes of ciphertexts is vanishingly unlikely.
	kept := card("378282246310005", "9371")
	gone := card("371449635398431", "8264")
	if _, err := c.CreatePaymentMethod(ctx, kept, client.WithIdempotencyKey("k-1")); err != nil {
		t.Fatal(err)
	}
	pm, err := c.CreatePaymentMethod(ctx, gone, client.WithIdempotencyKey("k-2"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RedactPaymentMethod(ctx, pm.ID); err != nil {
		t.Fatal(err)
	}
	// A refused request that carried a card must not leak it either.
	bad := card("378282246310006", "9371")
	if _, err := c.CreatePaymentMethod(ctx, bad); err == nil {
		t.Fatal("a card failing Luhn was accepted")
	}
	secrets := []string{"378282246310005", "371449635398431", "378282246310006", "9371", "8264"}
	s.checkNothingAtRest(t, "while running", secrets, nil)
	s.Stop(t)
	s.checkNothingAtRest(t, "after shutdown", secrets, nil)
}

// checkNothingAtRest fails t if any file of the server's data directory,
// or its output, holds one of numbers (as a whole run of digits) or of
// texts; when says at which moment the check ran.
func (s *server) checkNothingAtRest(t *testing.T, when string, numbers, texts []string) {
	t.Helper()
	files := 0
	err := filepath.WalkDir(s.DataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for _, n := range numbers {
			if containsNumber(data, n) {
				t.Errorf("%s: %s holds %q in the clear", when, filepath.Base(path), n)
			}
		}
		for _, x := range texts {
			if bytes.Contains(data, []byte(x)) {
				t.Errorf("%s: %s holds %q", when, filepath.Base(path), x)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 2 {
		t.Fatalf("%s: only %d files in the data directory", when, files)
	}
	s.checkOutput(t, when, numbers, texts)
}

// checkOutput fails t if the server's output holds any of numbers (as a
// whole number) or texts.
func (s *server) checkOutput(t *testing.T, when string, numbers, texts []string) {
	t.Helper()
	logs := s.Stderr.String() + s.Stdout.String()
	if !strings.Contains(logs, `"route"`) {
		t.Fatalf("%s: the server logged no requests; the log check would prove nothing", when)
	}
	for _, n := range numbers {
		if containsNumber([]byte(logs), n) {
			t.Errorf("%s: the server's output holds %q", when, n)
		}
	}
	for _, x := range texts {
		if strings.Contains(logs, x) {
			t.Errorf("%s: the server's output holds %q", when, x)
		}
	}
}

// containsNumber reports whether digits occur in data not as part of a
// longer run of digits. A short number (a CVC) inside a token of 12 or
// more letters and digits does not count either: the data directory holds
// hex digests and base62 ids, where a four-digit CVC turned up about once
// in a few hundred runs. "cvc=8264" and "%3D8264" still count.
func containsNumber(data []byte, digits string) bool {
	for i := 0; ; {
		j := bytes.Index(data[i:], []byte(digits))
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(digits)
		before := start == 0 || !isDigit(data[start-1])
		after := end == len(data) || !isDigit(data[end])
		if before && after && (len(digits) >= 8 || !inLongToken(data, start, end)) {
			return true
		}
		i = start + 1
	}
}

// inLongToken reports whether data[j:k] lies inside a run of 12 or more
// letters and digits.
func inLongToken(data []byte, j, k int) bool {
	for j > 0 && isAlnum(data[j-1]) {
		j--
	}
	for k < len(data) && isAlnum(data[k]) {
		k++
	}
	return k-j >= 12
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

func isAlnum(b byte) bool { return isDigit(b) || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }

func TestCommands(t *testing.T) {
	if out, err := runCmd(t, env(nil), "version"); err != nil || !strings.HasPrefix(out, "kassa ") {
		t.Errorf("version: %q %v", out, err)
	}
	if out, err := runCmd(t, env(nil), "help"); err != nil || !strings.Contains(out, "keys rotate") {
		t.Errorf("help: %q %v", out, err)
	}
	var errOut syncBuffer
	err := (&Main{Stdout: &syncBuffer{}, Stderr: &errOut, Getenv: env(nil)}).Run(context.Background(), []string{"serve", "-h"})
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(errOut.String(), "KASSA_DATABASE_URL") || !strings.Contains(errOut.String(), "KASSA_ADDR") {
		t.Errorf("serve -h: %v\n%s", err, errOut.String())
	}
	if _, err := runCmd(t, env(nil), "frobnicate"); err == nil {
		t.Error("an unknown command succeeded")
	}
	if _, err := runCmd(t, env(nil), "account", "create", "--data-dir", t.TempDir()); err == nil {
		t.Error("account create without --name succeeded")
	}
}

// TestFlagsFromEnvironment checks that KASSA_* variables stand for flags and
// that a flag given on the command line wins.
func TestFlagsFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"KASSA_DATA_DIR": dir, "KASSA_NAME": "From env", "KASSA_JSON": "true"}
	out, err := runCmd(t, env(vars), "account", "create", "--name", "From flag")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(strings.TrimSpace(out), "{") {
		t.Fatalf("KASSA_JSON=true did not select JSON output: %q", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "kassa.db")); err != nil {
		t.Fatalf("KASSA_DATA_DIR was not used: %v", err)
	}
	if _, err := runCmd(t, env(map[string]string{"KASSA_DATA_DIR": dir, "KASSA_LIVE": "maybe"}), "account", "create", "--name", "x"); err == nil ||
		!strings.Contains(err.Error(), "KASSA_LIVE") {
		t.Fatalf("a bad KASSA_LIVE was not reported by name: %v", err)
	}
}

// TestKeysRotate rotates the master key while a server runs: data sealed
// before still opens, the running server wraps new data keys under the new
// version, and the old master key alone opens none of the re-wrapped keys.
func TestKeysRotate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	getenv := env(nil)
	s := startServer(t, dir, getenv)
	ctx := context.Background()
	c := client.New(s.URL, s.bootstrapKey(t))
	before, err := c.CreatePaymentMethod(ctx, card("4242424242424242", "123"))
	if err != nil {
		t.Fatal(err)
	}
	acct, err := c.Account(ctx)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "master.key")
	oldRing, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}

	out, err := runCmd(t, getenv, "keys", "rotate", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "added master key version 2") || !regexp.MustCompile(`re-wrapped [1-9]\d* data keys`).MatchString(out) {
		t.Fatalf("keys rotate printed %q", out)
	}

	// The running server makes a data key for a new account: it must wrap it
	// under version 2, which it learns from the file.
	out, err = runCmd(t, getenv, "account", "create", "--data-dir", dir, "--name", "After rotation", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		Account   string `json:"account"`
		SecretKey string `json:"secret_key"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatal(err)
	}
	after, err := client.New(s.URL, created.SecretKey).CreatePaymentMethod(ctx, card("5555555555554444", "321"))
	if err != nil {
		t.Fatal(err)
	}
	s.Stop(t)

	st, err := sqlite.Open(ctx, filepath.Join(dir, "kassa.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	openPAN := func(ring string, accountID, id string) (string, error) {
		src, err := vault.NewStaticSource(ring)
		if err != nil {
			t.Fatal(err)
		}
		v, err := vault.New(st, src, vault.Options{})
		if err != nil {
			t.Fatal(err)
		}
		pm, err := st.PaymentMethod(ctx, accountID, id)
		if err != nil {
			t.Fatal(err)
		}
		pan, err := v.Open(ctx, accountID, payment.PurposeCard, id+"#pan", pm.PANSealed)
		return string(pan), err
	}
	newRing, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if pan, err := openPAN(string(newRing), acct.ID, before.ID); err != nil || pan != "4242424242424242" {
		t.Fatalf("card sealed before the rotation: %q, %v", pan, err)
	}
	if pan, err := openPAN(string(newRing), created.Account, after.ID); err != nil || pan != "5555555555554444" {
		t.Fatalf("card sealed after the rotation: %q, %v", pan, err)
	}
	for _, pm := range []struct{ acct, id string }{{acct.ID, before.ID}, {created.Account, after.ID}} {
		if _, err := openPAN(string(oldRing), pm.acct, pm.id); err == nil {
			t.Errorf("the old master key alone opened %s after the rotation", pm.id)
		}
	}
	var onlyNew []string
	for _, line := range strings.Split(string(newRing), "\n") {
		if strings.HasPrefix(line, "kek 2 ") {
			onlyNew = append(onlyNew, line)
		}
	}
	if len(onlyNew) != 1 {
		t.Fatalf("key file after rotation:\n%s", newRing)
	}
	if pan, err := openPAN(onlyNew[0], created.Account, after.ID); err != nil || pan != "5555555555554444" {
		t.Fatalf("version 2 alone does not open the new account's card: %v", err)
	}
}

// TestSpreedlyListeners: the Spreedly dialect answers under /spreedly on the
// main listener and at the root of its dedicated listener.
func TestSpreedlyListeners(t *testing.T) {
	s := startServer(t, filepath.Join(t.TempDir(), "data"), env(nil), "--spreedly-addr", "127.0.0.1:0")
	dedicated := s.Listeners["spreedly"]
	if dedicated == "" {
		t.Fatalf("no spreedly listener: %v", s.Listeners)
	}
	for _, u := range []string{s.URL + "/spreedly/v1/gateways_options.json", dedicated + "/v1/gateways_options.json"} {
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(body), `"gateways"`) {
			t.Errorf("GET %s: %d %.200s", u, res.StatusCode, body)
		}
	}
	// The native API is not on the dedicated listener.
	if res, err := http.Get(dedicated + "/v1/openapi.json"); err != nil || res.StatusCode != 404 {
		t.Errorf("native API on the Spreedly listener: %v %v", res.StatusCode, err)
	}
}

// TestBreakerMetrics: a gateway that keeps failing shows its breaker in
// /metrics and on the gateway.
func TestBreakerMetrics(t *testing.T) {
	s := startServer(t, filepath.Join(t.TempDir(), "data"), env(map[string]string{"KASSA_METRICS_TOKEN": "scrape-me"}),
		"--breaker-threshold", "2", "--metrics-addr", "127.0.0.1:0")
	ctx := context.Background()
	c := client.New(s.URL, s.bootstrapKey(t))
	// A webhook endpoint where nothing listens: its deliveries fail and
	// wait in the queue.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	whReq, _ := http.NewRequest("POST", s.URL+"/v1/webhook_endpoints",
		strings.NewReader(`{"url":"http://`+ln.Addr().String()+`/hooks","enabled_events":["*"]}`))
	whReq.Header.Set("Authorization", "Bearer "+s.bootstrapKey(t))
	whReq.Header.Set("Content-Type", "application/json")
	if res, err := http.DefaultClient.Do(whReq); err != nil || res.StatusCode != 201 {
		t.Fatalf("create webhook endpoint: %v %v", res, err)
	}
	g, err := c.CreateGateway(ctx, &client.GatewayParams{Type: "simulator", Settings: map[string]any{"outage": true}})
	if err != nil {
		t.Fatal(err)
	}
	pm, err := c.CreatePaymentMethod(ctx, card("4111111111111111", ""))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		p, err := c.CreatePayment(ctx, &client.PaymentParams{Amount: 1000, Currency: "EUR", PaymentMethod: pm.ID, Gateway: g.ID})
		if err != nil || p.Status != "FAILED" {
			t.Fatalf("payment through a gateway in outage: %+v %v", p, err)
		}
	}
	// One key, two bodies: an idempotency conflict.
	if _, err := c.CreatePaymentMethod(ctx, card("4111111111111111", ""), client.WithIdempotencyKey("k-1")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreatePaymentMethod(ctx, card("4242424242424242", ""), client.WithIdempotencyKey("k-1")); err == nil {
		t.Fatal("another body under the same key was accepted")
	}
	scrape := func(base, token string) (int, string) {
		req, _ := http.NewRequest("GET", base+"/metrics", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	// Not on the API's listener, where anyone could read them; and only
	// with the token on their own.
	if code, _ := scrape(s.URL, ""); code != http.StatusNotFound {
		t.Errorf("/metrics on the API listener: %d, want 404", code)
	}
	metrics := s.Listeners["metrics"]
	if code, _ := scrape(metrics, ""); code != http.StatusUnauthorized {
		t.Errorf("/metrics without the token: %d, want 401", code)
	}
	if code, _ := scrape(metrics, "wrong"); code != http.StatusUnauthorized {
		t.Errorf("/metrics with a wrong token: %d, want 401", code)
	}
	code, body := scrape(metrics, "scrape-me")
	if code != http.StatusOK {
		t.Fatalf("/metrics with the token: %d", code)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(body, `kassa_webhook_attempts_total{outcome="retry"}`); {
		if time.Now().After(deadline) {
			t.Fatalf("no failed webhook attempt in /metrics:\n%s", body)
		}
		time.Sleep(50 * time.Millisecond)
		_, body = scrape(metrics, "scrape-me")
	}
	if m := regexp.MustCompile(`(?m)^kassa_webhook_queue_depth (\d+)$`).FindStringSubmatch(body); m == nil || m[1] == "0" {
		t.Errorf("webhook queue depth %v, want the failed deliveries", m)
	}
	for _, want := range []string{`kassa_webhook_attempt_duration_seconds_count`, `kassa_webhook_oldest_undelivered_seconds`,
		`kassa_webhook_first_attempt_delay_seconds_count`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "we_") || strings.Contains(body, "/hooks") {
		t.Errorf("/metrics names webhook endpoints")
	}
	for _, want := range []string{
		`kassa_gateway_circuits{state="open"} 1`,
		`kassa_gateway_circuits{state="half_open"} 0`,
		`kassa_gateways_failing 1`,
		`kassa_sqlite_commits_total`,
		`kassa_gateway_calls_total{gateway_type="simulator",kind="purchase",outcome="not_sent"} 2`,
		`kassa_gateway_call_duration_seconds_count{gateway_type="simulator",kind="purchase"} 2`,
		`kassa_idempotency_conflicts_total{code="idempotency_key_reused"} 1`,
		`kassa_reconciler_backlog 0`,
		`kassa_reconciler_oldest_unknown_seconds 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// An account's gateway ids are its own: never a label value.
	if strings.Contains(body, g.ID) || strings.Contains(body, "gw_") {
		t.Errorf("/metrics names gateways")
	}
	raw, err := http.NewRequest("GET", s.URL+"/v1/gateways/"+g.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw.Header.Set("Authorization", "Bearer "+s.bootstrapKey(t))
	res, err := http.DefaultClient.Do(raw)
	if err != nil {
		t.Fatal(err)
	}
	gwBody, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(gwBody), `"health":{"state":"open","consecutive_failures":2`) {
		t.Errorf("gateway health: %s", gwBody)
	}
}
