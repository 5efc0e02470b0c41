package dintero

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/api/native"
)

// txShop is a merchant with a simulator gateway and an access token, paying
// as a Dintero integration does after a checkout: through a payment kassa
// made (here through the native API).
type txShop struct {
	merchant
	tok, gateway string
}

// native calls kassa's native API with the txShop's secret key.
func (f *fixture) native(t testing.TB, secret, method, path, body string) map[string]any {
	t.Helper()
	h := native.New(f.eng, native.Options{})
	hr := httptest.NewRequest(method, path, strings.NewReader(body))
	hr.Header.Set("Authorization", "Bearer "+secret)
	hr.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, hr)
	if rec.Code >= 300 {
		t.Fatalf("native %s %s: HTTP %d %s", method, path, rec.Code, rec.Body)
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func (f *fixture) txShop(t testing.TB) txShop {
	t.Helper()
	m := f.merchant(t, false)
	gw := f.native(t, m.secret, "POST", "/v1/gateways", `{"type":"simulator"}`)
	return txShop{merchant: m, tok: f.token(t, m), gateway: gw["id"].(string)}
}

// txCard vaults and retains a card through the native API.
func (f *fixture) txCard(t testing.TB, s txShop, number string) string {
	t.Helper()
	pm := f.native(t, s.secret, "POST", "/v1/payment_methods",
		`{"type":"card","card":{"number":"`+number+`","exp_month":9,"exp_year":2030,"cvc":"123"},"retain":true}`)
	return pm["id"].(string)
}

// authorize makes a payment of amount NOK, authorized only, and returns
// its Dintero transaction id.
func (f *fixture) authorize(t testing.TB, s txShop, number string, amount int, reference string) string {
	t.Helper()
	pm := f.txCard(t, s, number)
	pay := f.native(t, s.secret, "POST", "/v1/payments", fmt.Sprintf(
		`{"amount":%d,"currency":"NOK","payment_method":%q,"gateway":%q,"capture":false,"reference":%q}`, amount, pm, s.gateway, reference))
	if pay["status"] != "AUTHORIZED" {
		t.Fatalf("payment %v", pay)
	}
	return transactionID(s.id, pay["id"].(string))
}

func txPath(id string, tail ...string) string {
	return "/v1/transactions/" + strings.Join(append([]string{id}, tail...), "/")
}

// eventNames is the transaction's events as "EVENT:status:amount:success".
func eventNames(t testing.TB, tx map[string]any) []string {
	t.Helper()
	var out []string
	evs, _ := tx["events"].([]any)
	for _, e := range evs {
		ev := e.(map[string]any)
		out = append(out, fmt.Sprintf("%s:%s:%v:%v", ev["event"], ev["transaction_status"], ev["amount"], ev["success"]))
	}
	return out
}

func expect(t testing.TB, res response, status int) map[string]any {
	t.Helper()
	if res.status != status {
		t.Fatalf("HTTP %d, want %d: %s", res.status, status, res.body)
	}
	if res.body[0] == '[' {
		return nil
	}
	return res.json(t)
}

// TestTransactionFlow: what a Dintero SDK does after a checkout —
// get, partial capture, refund, void of the rest — on both stores.
func TestTransactionFlow(t *testing.T) {
	onStores(t, func(t *testing.T, f *fixture) {
		s := f.txShop(t)
		id := f.authorize(t, s, "4000000000000002", 10000, "order-1")
		if !regexp.MustCompile(`^T\d{8}\.[0-9A-Za-z]{24}$`).MatchString(id) {
			t.Fatalf("transaction id %s", id)
		}
		tx := expect(t, f.do(t, req{method: "GET", path: txPath(id), bearer: s.tok}), 200)
		if tx["id"] != id || tx["status"] != "AUTHORIZED" || tx["amount"] != 10000.0 || tx["currency"] != "NOK" ||
			tx["merchant_reference"] != "order-1" || tx["payment_product"] != "simulator" {
			t.Fatalf("transaction %s", tx)
		}
		card := tx["card"].(map[string]any)
		if card["masked_pan"] != "400000******0002" || card["expiry_date"] != "09/2030" || card["brand"] != "Visa" {
			t.Fatalf("card %v", card)
		}

		tx = expect(t, f.do(t, req{method: "POST", path: txPath(id, "capture"), bearer: s.tok,
			body: `{"amount":6000,"capture_reference":"order-1","items":[{"line_id":"1","amount":6000,"quantity":1}],"metadata":{"ext_shipment":"S-1"}}`}), 200)
		if tx["status"] != "PARTIALLY_CAPTURED" || tx["metadata"].(map[string]any)["ext_shipment"] != "S-1" {
			t.Fatalf("after capture %s", tx)
		}
		tx = expect(t, f.do(t, req{method: "POST", path: txPath(id, "refund"), bearer: s.tok,
			body: `{"amount":1000,"reason":"returned","refund_reference":"order-1"}`}), 200)
		if tx["status"] != "PARTIALLY_CAPTURED_REFUNDED" {
			t.Fatalf("after refund %s", tx)
		}
		tx = expect(t, f.do(t, req{method: "POST", path: txPath(id, "void"), bearer: s.tok}), 200)
		if tx["status"] != "PARTIALLY_REFUNDED" {
			t.Fatalf("after void %s", tx)
		}
		want := []string{"AUTHORIZE:AUTHORIZED:10000:true", "CAPTURE:PARTIALLY_CAPTURED:6000:true",
			"REFUND:PARTIALLY_CAPTURED_REFUNDED:1000:true", "VOID:PARTIALLY_REFUNDED:4000:true"}
		if got := eventNames(t, tx); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("events %v, want %v", got, want)
		}
		evs := tx["events"].([]any)
		if evs[1].(map[string]any)["event_reference"] != "order-1" || evs[2].(map[string]any)["event_reference"] != "order-1" {
			t.Fatalf("event references %v", evs)
		}

		// Conflicts change nothing: a capture after the void, a refund of
		// more than is left.
		for _, q := range []req{
			{method: "POST", path: txPath(id, "capture"), bearer: s.tok, body: `{"amount":100}`},
			{method: "POST", path: txPath(id, "refund"), bearer: s.tok, body: `{"amount":5001}`},
			{method: "POST", path: txPath(id, "void"), bearer: s.tok},
		} {
			res := f.do(t, q)
			if res.status != http.StatusConflict || res.json(t)["error"].(map[string]any)["code"] != CodeConflict {
				t.Fatalf("%s: HTTP %d %s", q.path, res.status, res.body)
			}
		}
		after := expect(t, f.do(t, req{method: "GET", path: txPath(id), bearer: s.tok}), 200)
		if len(after["events"].([]any)) != 4 || after["status"] != "PARTIALLY_REFUNDED" {
			t.Fatalf("a refused follow-up changed the transaction: %s", after)
		}

		// More than authorized is a conflict too.
		id2 := f.authorize(t, s, "4242424242424242", 500, "order-2")
		res := f.do(t, req{method: "POST", path: txPath(id2, "capture"), bearer: s.tok, body: `{"amount":501}`})
		if res.status != http.StatusConflict || !strings.Contains(string(res.body), `"path":"amount"`) {
			t.Fatalf("over-capture: HTTP %d %s", res.status, res.body)
		}

		// PUT changes merchant_reference_2 only.
		tx = expect(t, f.do(t, req{method: "PUT", path: txPath(id2), bearer: s.tok, body: `{"merchant_reference_2":"inv-7"}`}), 200)
		if tx["merchant_reference_2"] != "inv-7" || len(tx["metadata"].(map[string]any)) != 0 {
			t.Fatalf("after PUT %s", tx)
		}
		expect(t, f.do(t, req{method: "PUT", path: txPath(id2), bearer: s.tok, body: `{"merchant_reference":"x"}`}), 400)
	})
}

// TestTransactionList: filters and pagination.
func TestTransactionList(t *testing.T) {
	onStores(t, func(t *testing.T, f *fixture) {
		s := f.txShop(t)
		var ids []string
		for i := range 5 {
			ids = append(ids, f.authorize(t, s, "4242424242424242", 1000+i*100, fmt.Sprintf("ref-%d", i%2)))
		}
		expect(t, f.do(t, req{method: "POST", path: txPath(ids[0], "capture"), bearer: s.tok, body: `{"amount":1000}`}), 200)
		list := func(query string) []string {
			t.Helper()
			res := expect0(t, f.do(t, req{method: "GET", path: "/v1/transactions" + query, bearer: s.tok}), 200)
			var txs []map[string]any
			if err := json.Unmarshal(res.body, &txs); err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, tx := range txs {
				out = append(out, tx["id"].(string))
			}
			return out
		}
		eq := func(got []string, want ...string) {
			t.Helper()
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("got %v, want %v", got, want)
			}
		}
		eq(list(""), ids[4], ids[3], ids[2], ids[1], ids[0])
		eq(list("?limit=2"), ids[4], ids[3])
		eq(list("?limit=2&starting_after="+ids[3]), ids[2], ids[1])
		eq(list("?status=CAPTURED"), ids[0])
		eq(list("?status=AUTHORIZED&merchant_reference=ref-1"), ids[3], ids[1])
		eq(list("?session_id=T00000001.nosuchsession"))
		for _, q := range []string{"?limit=0", "?limit=101", "?status=PAID", "?currency=NOK", "?starting_after=nope",
			"?merchant_reference=4111111111111111"} {
			res := f.do(t, req{method: "GET", path: "/v1/transactions" + q, bearer: s.tok})
			if res.status != 400 || !strings.Contains(string(res.body), `"path":`) {
				t.Fatalf("%s: HTTP %d %s", q, res.status, res.body)
			}
		}
	})
}

func expect0(t testing.TB, res response, status int) response {
	t.Helper()
	if res.status != status {
		t.Fatalf("HTTP %d, want %d: %s", res.status, status, res.body)
	}
	return res
}

// TestRefundUnknown: a refund whose response is lost answers 202; once the
// reconciler settles it the transaction shows the refund.
func TestRefundUnknown(t *testing.T) {
	onStores(t, func(t *testing.T, f *fixture) {
		s := f.txShop(t)
		id := f.authorize(t, s, "4100000000000027", 3000, "lost")
		expect(t, f.do(t, req{method: "POST", path: txPath(id, "capture"), bearer: s.tok, body: `{"amount":3000}`}), 200)
		res := f.do(t, req{method: "POST", path: txPath(id, "refund"), bearer: s.tok, body: `{"amount":1000}`})
		tx := expect(t, res, http.StatusAccepted)
		if tx["status"] != "UNKNOWN" || res.header.Get("event-request-id") == "" {
			t.Fatalf("202: %s %v", tx, res.header)
		}
		names := eventNames(t, tx)
		if names[len(names)-1] != "INITIATE_REFUND:UNKNOWN:1000:true" {
			t.Fatalf("events %v", names)
		}
		// Nothing more moves while the outcome is unknown.
		expect(t, f.do(t, req{method: "POST", path: txPath(id, "refund"), bearer: s.tok, body: `{"amount":1000}`}), 409)
		for range 20 {
			f.clk.Add(10 * time.Minute)
			s.tok = f.token(t, s.merchant) // the clock outran the last one
			if _, err := f.eng.Reconcile(context.Background()); err != nil {
				t.Fatal(err)
			}
			tx = expect(t, f.do(t, req{method: "GET", path: txPath(id), bearer: s.tok}), 200)
			if tx["status"] != "UNKNOWN" {
				break
			}
		}
		names = eventNames(t, tx)
		if tx["status"] != "PARTIALLY_REFUNDED" || names[len(names)-1] != "REFUND:PARTIALLY_REFUNDED:1000:true" {
			t.Fatalf("after reconciliation %s %v", tx["status"], names)
		}
	})
}

// TestConcurrentRefunds: 20 partial refunds at once over HTTP never refund
// more than was captured.
func TestConcurrentRefunds(t *testing.T) {
	onStores(t, func(t *testing.T, f *fixture) {
		s := f.txShop(t)
		id := f.authorize(t, s, "4242424242424242", 5000, "many")
		expect(t, f.do(t, req{method: "POST", path: txPath(id, "capture"), bearer: s.tok, body: `{"amount":5000}`}), 200)
		srv := httptest.NewServer(f.h)
		defer srv.Close()
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[int]int{}
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				hr, _ := http.NewRequest("POST", srv.URL+txPath(id, "refund"), strings.NewReader(`{"amount":700}`))
				hr.Header.Set("Authorization", "Bearer "+s.tok)
				hr.Header.Set("Content-Type", "application/json")
				res, err := http.DefaultClient.Do(hr)
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
				mu.Lock()
				codes[res.StatusCode]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		tx := expect(t, f.do(t, req{method: "GET", path: txPath(id), bearer: s.tok}), 200)
		var refunded float64
		for _, e := range tx["events"].([]any) {
			ev := e.(map[string]any)
			if ev["event"] == "REFUND" && ev["success"] == true {
				refunded += ev["amount"].(float64)
			}
		}
		if refunded > 5000 || codes[200] != 7 || codes[200]+codes[409] != 20 {
			t.Fatalf("refunded %v of 5000; answers %v", refunded, codes)
		}
	})
}
