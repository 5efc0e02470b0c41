package ixopay

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestStatusRateLimits: the status API allows each API user (account) 60
// requests and each transaction 10 per minute, as IXOPAY documents; over
// either it answers 429 with 1009, Retry-After and X-RateLimit-Limit, and
// another merchant's budget is untouched. The clock is the engine's.
func TestStatusRateLimits(t *testing.T) {
	f := setup(t)
	a, b := f.merchant(t), f.merchant(t)
	ca := f.connector(t, a, connector{})
	cb := f.connector(t, b, connector{})
	d := wantResult(t, f.tx(t, ca, "debit", cardBody("rl-1", "9.99", "EUR", visa)), true, ReturnFinished)
	wantResult(t, f.tx(t, cb, "debit", cardBody("rl-1", "9.99", "EUR", visa)), true, ReturnFinished)
	uuid := d["uuid"].(string)

	for i := range 10 {
		if res := f.status(t, ca, "getByUuid", uuid); res.status != http.StatusOK || !res.ok() {
			t.Fatalf("status request %d of 10: %d %s", i+1, res.status, res.body)
		}
	}
	res := f.status(t, ca, "getByUuid", uuid)
	wantTooMany(t, res, 10)
	golden(t, "status_rate_limited", []byte(fmt.Sprintf("HTTP %d\nRetry-After: %s\nX-RateLimit-Limit: %s\n%s",
		res.status, res.header.Get("Retry-After"), res.header.Get("X-RateLimit-Limit"), normalize(res.body, map[string]string{}))))
	// The same transaction by its merchantTransactionId is another
	// budget, as IXOPAY lists them; another merchant is untouched.
	if res := f.status(t, ca, "getByMerchantTransactionId", "rl-1"); res.status != http.StatusOK {
		t.Fatalf("by merchantTransactionId: %d %s", res.status, res.body)
	}
	for i := range 10 {
		if res := f.status(t, cb, "getByMerchantTransactionId", "rl-1"); res.status != http.StatusOK || !res.ok() {
			t.Fatalf("merchant b's request %d on its own rl-1: %d %s", i+1, res.status, res.body)
		}
	}

	// The API user's 60: a has spent 11 (the refused request took
	// nothing); 49 more on other ids, then the 61st is refused.
	n := 11
	for ; n < 60; n++ {
		if res := f.status(t, ca, "getByMerchantTransactionId", fmt.Sprint("unknown-", n)); res.status != http.StatusOK {
			t.Fatalf("account request %d of 60: %d %s", n+1, res.status, res.body)
		}
	}
	wantTooMany(t, f.status(t, ca, "getByMerchantTransactionId", "unknown-61"), 60)
	if res := f.status(t, cb, "getByUuid", "op_x"); res.status != http.StatusOK {
		t.Fatalf("merchant b throttled by a's requests: %d %s", res.status, res.body)
	}
	// Transactions are not limited.
	wantResult(t, f.tx(t, ca, "debit", cardBody("rl-2", "1.00", "EUR", visa)), true, ReturnFinished)

	// A minute later both budgets are full again.
	f.clk.mu.Lock()
	f.clk.t = f.clk.t.Add(time.Minute)
	f.clk.mu.Unlock()
	for i := range 10 {
		if res := f.status(t, ca, "getByUuid", uuid); res.status != http.StatusOK {
			t.Fatalf("a minute later, request %d: %d %s", i+1, res.status, res.body)
		}
	}
}

// ok says whether res is a status result with success true.
func (r response) ok() bool {
	return bytes.HasPrefix(r.body, []byte(`{"success":true`))
}

// wantTooMany checks a 429: IXOPAY's body exactly, and the headers.
func wantTooMany(t *testing.T, res response, limit int) {
	t.Helper()
	if res.status != http.StatusTooManyRequests ||
		string(res.body) != `{"success":false,"errorCode":1009,"errorMessage":"Too many requests"}` {
		t.Fatalf("want 429 with 1009, got %d %s", res.status, res.body)
	}
	if ra := res.header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After %q", ra)
	}
	if got := res.header.Get("X-RateLimit-Limit"); got != fmt.Sprint(limit) {
		t.Errorf("X-RateLimit-Limit %q, want %d", got, limit)
	}
}
