package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/client"
	"github.com/kassapay/kassa/internal/store/pgtest"
)

// serverStores are the stores a test of a real server runs on: SQLite in
// its data directory, and PostgreSQL in a fresh schema (the extra flags).
var serverStores = []struct {
	name string
	args func(t *testing.T) []string
}{
	{"sqlite", func(*testing.T) []string { return nil }},
	{"postgres", func(t *testing.T) []string { return []string{"--database-url", pgtest.SchemaURL(t)} }},
}

// TestConcurrentFollowUpsAnswerTheirOwnOperation sends 200 follow-ups at
// once — captures on one authorization, refunds on one purchase, voids of
// many authorizations — through the native API and the Spreedly dialect,
// on both stores. Every answer must carry the operation its own request
// made (amount, kind, outcome), never another request's: clients store
// these tokens and act on their outcome.
func TestConcurrentFollowUpsAnswerTheirOwnOperation(t *testing.T) {
	for _, st := range serverStores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, t.TempDir(), env(nil), st.args(t)...)
			key := s.bootstrapKey(t)
			m := accountLine.FindStringSubmatch(s.Stdout.String())
			if m == nil {
				t.Fatalf("no account printed:\n%s", s.Stdout)
			}
			t.Run("native", func(t *testing.T) { testNativeFollowUps(t, s.URL, key) })
			t.Run("spreedly", func(t *testing.T) { testSpreedlyFollowUps(t, s.URL+"/spreedly", m[1], key) })
		})
	}
}

// followUp is one concurrent follow-up and what it must be answered with.
type followUp struct {
	target string // payment id or transaction token
	kind   string
	amount int64 // 0 for a void
}

// followUps makes the 200 requests: 80 captures of 1…80 on one
// authorization of their sum, 80 refunds of 1…80 on one purchase of their
// sum, and a void of each of 40 authorizations. Amounts ending in 05 are
// declined and in 13 not sent by the simulator, so the answers' outcomes
// differ too.
func followUps(auth, purchase string, voids []string) []followUp {
	var fs []followUp
	for i := int64(1); i <= 80; i++ {
		fs = append(fs, followUp{auth, "capture", i}, followUp{purchase, "refund", i})
	}
	for _, v := range voids {
		fs = append(fs, followUp{target: v, kind: "void"})
	}
	return fs
}

const followUpSum = 80 * 81 / 2

// runConcurrently runs do for every follow-up at once.
func runConcurrently(fs []followUp, do func(i int, f followUp)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, f := range fs {
		wg.Go(func() {
			<-start
			do(i, f)
		})
	}
	close(start)
	wg.Wait()
}

func testNativeFollowUps(t *testing.T, baseURL, key string) {
	ctx := context.Background()
	// 200 requests at once on one writer, under the race detector on a
	// small machine: give them time.
	c := client.New(baseURL, key, client.WithHTTPClient(&http.Client{Timeout: 5 * time.Minute}))
	gw, err := c.CreateGateway(ctx, &client.GatewayParams{Type: "simulator"})
	if err != nil {
		t.Fatal(err)
	}
	pm, err := c.CreatePaymentMethod(ctx, card("4111111111111111", ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RetainPaymentMethod(ctx, pm.ID); err != nil {
		t.Fatal(err)
	}
	pay := func(amount int64, capture bool) string {
		p, err := c.CreatePayment(ctx, &client.PaymentParams{Amount: amount, Currency: "EUR", PaymentMethod: pm.ID, Gateway: gw.ID, Capture: &capture})
		if err != nil {
			t.Fatal(err)
		}
		return p.ID
	}
	var voids []string
	for range 40 {
		voids = append(voids, pay(1000, false))
	}
	fs := followUps(pay(followUpSum, false), pay(followUpSum, true), voids)
	answers := make([]*client.Payment, len(fs))
	errs := make([]error, len(fs))
	runConcurrently(fs, func(i int, f followUp) {
		amt := &f.amount
		switch f.kind {
		case "capture":
			answers[i], errs[i] = c.CapturePayment(ctx, f.target, &client.CaptureParams{Amount: amt})
		case "refund":
			answers[i], errs[i] = c.RefundPayment(ctx, f.target, &client.RefundParams{Amount: amt})
		default:
			answers[i], errs[i] = c.VoidPayment(ctx, f.target)
		}
	})
	seen := map[string]int{}
	for i, f := range fs {
		if errs[i] != nil {
			t.Errorf("%s %d of %s: %v", f.kind, f.amount, f.target, errs[i])
			continue
		}
		op := answers[i].Operation
		if op == nil || op.Kind != f.kind || (f.kind != "void" && op.Amount != f.amount) || answers[i].ID != f.target {
			t.Errorf("%s %d of %s answered with operation %+v of %s", f.kind, f.amount, f.target, op, answers[i].ID)
			continue
		}
		if j, dup := seen[op.ID]; dup {
			t.Errorf("requests %d and %d were both answered with operation %s", j, i, op.ID)
		}
		seen[op.ID] = i
		stored, err := c.Operation(ctx, op.ID)
		if err != nil || stored.Outcome != op.Outcome || stored.Amount != op.Amount || stored.Kind != op.Kind {
			t.Errorf("answered %+v, stored %+v (%v)", op, stored, err)
		}
	}
}

// spreedlyCall is one request of the Spreedly dialect.
func spreedlyCall(t *testing.T, base, env, secret, method, path, body string) (int, map[string]any) {
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	req.SetBasicAuth(env, secret)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Errorf("%s %s: %d %s is not JSON", method, path, res.StatusCode, b)
	}
	return res.StatusCode, m
}

func spreedlyToken(t *testing.T, m map[string]any, root string) string {
	t.Helper()
	obj, _ := m[root].(map[string]any)
	tok, _ := obj["token"].(string)
	if tok == "" {
		t.Fatalf("no %s token in %v", root, m)
	}
	return tok
}

func testSpreedlyFollowUps(t *testing.T, base, env, secret string) {
	_, m := spreedlyCall(t, base, env, secret, "POST", "/v1/gateways.json", `{"gateway":{"gateway_type":"test"}}`)
	gw := spreedlyToken(t, m, "gateway")
	_, m = spreedlyCall(t, base, env, secret, "POST", "/v1/payment_methods.json",
		`{"payment_method":{"retained":true,"credit_card":{"full_name":"Kari Nordmann","number":"4111111111111111","month":12,"year":2031}}}`)
	pm := spreedlyToken(t, m["transaction"].(map[string]any), "payment_method")
	txn := func(action string, amount int) string {
		status, m := spreedlyCall(t, base, env, secret, "POST", "/v1/gateways/"+gw+"/"+action+".json",
			fmt.Sprintf(`{"transaction":{"payment_method_token":%q,"amount":%d,"currency_code":"EUR"}}`, pm, amount))
		if status != http.StatusOK {
			t.Fatalf("%s: %d %v", action, status, m)
		}
		return spreedlyToken(t, m, "transaction")
	}
	var voids []string
	for range 40 {
		voids = append(voids, txn("authorize", 1000))
	}
	fs := followUps(txn("authorize", followUpSum), txn("purchase", followUpSum), voids)
	type answer struct {
		status int
		txn    map[string]any
	}
	answers := make([]answer, len(fs))
	runConcurrently(fs, func(i int, f followUp) {
		action, body := f.kind, ""
		if f.kind == "refund" {
			action = "credit"
		}
		if f.amount > 0 {
			body = fmt.Sprintf(`{"transaction":{"amount":%d}}`, f.amount)
		}
		status, m := spreedlyCall(t, base, env, secret, "POST", "/v1/transactions/"+f.target+"/"+action+".json", body)
		obj, _ := m["transaction"].(map[string]any)
		answers[i] = answer{status, obj}
	})
	types := map[string]string{"capture": "Capture", "refund": "Credit", "void": "Void"}
	seen := map[string]int{}
	for i, f := range fs {
		a := answers[i]
		if a.txn == nil {
			t.Errorf("%s %d of %s: %d without a transaction", f.kind, f.amount, f.target, a.status)
			continue
		}
		tok, _ := a.txn["token"].(string)
		amount, _ := a.txn["amount"].(float64)
		if a.txn["transaction_type"] != types[f.kind] || (f.kind != "void" && int64(amount) != f.amount) || a.txn["reference_token"] != f.target {
			t.Errorf("%s %d of %s answered with %s %v of %v (token %s)", f.kind, f.amount, f.target,
				a.txn["transaction_type"], a.txn["amount"], a.txn["reference_token"], tok)
			continue
		}
		if j, dup := seen[tok]; dup {
			t.Errorf("requests %d and %d were both answered with transaction %s", j, i, tok)
		}
		seen[tok] = i
		_, shown := spreedlyCall(t, base, env, secret, "GET", "/v1/transactions/"+tok+".json", "")
		stored, _ := shown["transaction"].(map[string]any)
		if stored == nil || stored["succeeded"] != a.txn["succeeded"] || stored["state"] != a.txn["state"] ||
			stored["amount"] != a.txn["amount"] || stored["transaction_type"] != a.txn["transaction_type"] {
			t.Errorf("answered %v, stored %v", a.txn, stored)
		}
	}
}
