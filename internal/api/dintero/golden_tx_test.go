package dintero

import (
	"fmt"
	"regexp"
	"testing"
)

var (
	kassaIDParts = regexp.MustCompile(`([PT]\d{8})\.[0-9A-Za-z]{24}`)
	opIDs        = regexp.MustCompile(`op_[0-9A-Za-z]{24}`)
)

// TestGoldenTransactions pins the shapes of transactions, their events,
// card tokens and the dialect's errors on them.
func TestGoldenTransactions(t *testing.T) {
	f := setup(t)
	s, other := f.txShop(t), f.txShop(t)
	id := f.authorize(t, s, "4761739001010416", 10000, "order-1")
	lost := f.authorize(t, s, "4100000000000027", 3000, "order-2")
	expect(t, f.do(t, req{method: "POST", path: txPath(lost, "capture"), bearer: s.tok, body: `{"amount":3000}`}), 200)
	pm := cardTokenID(s.id, f.txCard(t, s, "5555555555554444"))
	steps := []struct {
		name string
		q    req
	}{
		{"transaction", req{method: "GET", path: txPath(id)}},
		{"transaction_update", req{method: "PUT", path: txPath(id), body: `{"merchant_reference_2":"inv-1"}`}},
		{"transaction_capture", req{method: "POST", path: txPath(id, "capture"),
			body: `{"amount":6000,"capture_reference":"order-1","items":[{"line_id":"1","amount":6000}],"metadata":{"ext_shipment":"S-1"}}`}},
		{"transaction_refund", req{method: "POST", path: txPath(id, "refund"), body: `{"amount":1000,"reason":"returned","refund_reference":"order-1"}`}},
		{"transaction_void", req{method: "POST", path: txPath(id, "void")}},
		{"transaction_refund_accepted", req{method: "POST", path: txPath(lost, "refund"), body: `{"amount":1000}`}},
		{"transaction_list", req{method: "GET", path: "/v1/transactions?limit=1"}},
		{"card_token", req{method: "GET", path: "/v1/card-tokens/" + pm}},
		{"card_token_list", req{method: "GET", path: "/v1/card-tokens?limit=1"}},
		{"card_token_delete", req{method: "DELETE", path: "/v1/card-tokens/" + pm, body: `{"reason":"Profile deleted","requestor":"MERCHANT"}`}},
		{"error_capture_conflict", req{method: "POST", path: txPath(id, "capture"), body: `{"amount":100}`}},
		{"error_capture_amount", req{method: "POST", path: txPath(id, "capture"), body: `{"amount":0}`}},
		{"error_transaction_not_found", req{method: "GET", path: txPath(transactionID(other.id, "pay_x"))}},
		{"error_card_token_not_found", req{method: "GET", path: "/v1/card-tokens/nope"}},
		{"error_list_filter", req{method: "GET", path: "/v1/transactions?payment_product=x"}},
	}
	seen := map[string]string{}
	for _, st := range steps {
		st.q.bearer = s.tok
		res := f.do(t, st.q)
		body := kassaIDParts.ReplaceAll(res.body, []byte("$1.<id>"))
		body = opIDs.ReplaceAll(body, []byte("op_<id>"))
		out := fmt.Sprintf("HTTP %d\n", res.status)
		if h := res.header.Get("event-request-id"); h != "" {
			out += "event-request-id: " + opIDs.ReplaceAllString(h, "op_<id>") + "\n"
		}
		golden(t, st.name, append([]byte(out), normalize(body, seen)...))
	}
}
