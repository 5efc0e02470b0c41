package ixopay

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/webhook"
)

// callbackReceiver records the callbacks it gets.
type callbackReceiver struct {
	*httptest.Server
	mu  sync.Mutex
	got []received
}

type received struct {
	header http.Header
	uri    string
	body   []byte
}

func newCallbackReceiver(t *testing.T) *callbackReceiver {
	rc := &callbackReceiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{header: r.Header.Clone(), uri: r.URL.RequestURI(), body: b})
		rc.mu.Unlock()
		io.WriteString(w, "OK")
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *callbackReceiver) callbacks() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func (f *fixture) runWebhooks(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.eng.RunWebhooks(ctx, engine.WebhookOptions{Client: webhook.NewClient(true), Poll: 5 * time.Millisecond,
			Schedule: webhook.Schedule{0, time.Minute}, Signers: map[string]engine.CallbackSigner{SignerName: CallbackSigner(f.eng)}})
	}()
	t.Cleanup(func() { cancel(); <-done })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// verifyCallback checks a callback's signature with the test client's own
// signing code, as a merchant's IXOPAY client would, and returns its body.
func verifyCallback(t *testing.T, r received, secret string) map[string]any {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != ContentType {
		t.Errorf("callback Content-Type %q", ct)
	}
	date := r.header.Get("Date")
	if want := signRequest(secret, "sha512", "POST", ContentType, date, r.uri, r.body); r.header.Get("X-Signature") != want || date == "" {
		t.Errorf("callback signature %q does not verify (Date %q, URI %s)", r.header.Get("X-Signature"), date, r.uri)
	}
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("callback body %s: %v", r.body, err)
	}
	return m
}

func withCallback(body, url string) string {
	return strings.Replace(body, `{`, `{"callbackUrl":"`+url+`",`, 1)
}

// waitForCallback is waitFor that moves the engine's clock a second at a
// time: a callback looked at before its transaction settled is put back
// for a second of the engine's clock.
func (f *fixture) waitForCallback(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitFor(t, what, func() bool {
		f.clk.mu.Lock()
		f.clk.t = f.clk.t.Add(time.Second)
		f.clk.mu.Unlock()
		return cond()
	})
}

func TestCallbacks(t *testing.T) {
	f := setup(t)
	rc := newCallbackReceiver(t)
	f.runWebhooks(t)
	c := f.connector(t, f.merchant(t), connector{})
	cb := rc.URL + "/ixopay/callback?shop=1"

	d := wantResult(t, f.tx(t, c, "debit", withCallback(cardBody("cb-1", "9.99", "EUR", visa), cb)), true, ReturnFinished)
	f.waitForCallback(t, "the debit's callback", func() bool { return len(rc.callbacks()) == 1 })
	m := verifyCallback(t, rc.callbacks()[0], c.sharedSecret)
	if m["result"] != "OK" || m["uuid"] != d["uuid"] || m["merchantTransactionId"] != "cb-1" || m["transactionType"] != TypeDebit ||
		m["amount"] != "9.99" || m["currency"] != "EUR" || rc.callbacks()[0].uri != "/ixopay/callback?shop=1" {
		t.Errorf("debit callback: %v", m)
	}
	wantErrorCode(t, f.tx(t, c, "debit", withCallback(cardBody("cb-2", "9.99", "EUR", visaDecline), cb)), CodeDeclined)
	f.waitForCallback(t, "the decline's callback", func() bool { return len(rc.callbacks()) == 2 })
	if m := verifyCallback(t, rc.callbacks()[1], c.sharedSecret); m["result"] != "ERROR" || m["errorCode"] != float64(CodeDeclined) {
		t.Errorf("decline callback: %v", m)
	}
	seen := map[string]string{}
	golden(t, "callback_ok", normalize(rc.callbacks()[0].body, seen))
	golden(t, "callback_error", normalize(rc.callbacks()[1].body, seen))

	// A lost response is PENDING and called back once the reconciler
	// settles it: FINISHED by callback.
	p := wantResult(t, f.tx(t, c, "debit", withCallback(cardBody("cb-3", "5.00", "EUR", lostResponse), cb)), true, ReturnPending)
	time.Sleep(50 * time.Millisecond)
	if n := len(rc.callbacks()); n != 2 {
		t.Fatalf("%d callbacks before the pending debit settled, want 2", n)
	}
	// Its callback was promised in the reservation's own transaction: it
	// waits in the queue already, so no crash before the settle can lose
	// it.
	if n, _, err := f.st.WebhookBacklog(context.Background()); err != nil || n != 1 {
		t.Fatalf("queued callbacks of the pending debit: %d, %v; want 1", n, err)
	}
	f.clk.mu.Lock()
	f.clk.t = f.clk.t.Add(time.Hour)
	f.clk.mu.Unlock()
	if n, err := f.eng.Reconcile(context.Background()); err != nil || n != 1 {
		t.Fatalf("Reconcile = %d, %v", n, err)
	}
	f.waitForCallback(t, "the reconciled debit's callback", func() bool { return len(rc.callbacks()) == 3 })
	if m := verifyCallback(t, rc.callbacks()[2], c.sharedSecret); m["result"] != "OK" || m["uuid"] != p["uuid"] || m["merchantTransactionId"] != "cb-3" {
		t.Errorf("reconciled callback: %v", m)
	}
	if s := f.status(t, c, "getByUuid", p["uuid"].(string)).json(t); s["transactionStatus"] != StatusSuccess {
		t.Errorf("the reconciled debit's status: %v", s)
	}
	// A transaction without a callbackUrl is not called back.
	wantResult(t, f.tx(t, c, "debit", cardBody("cb-4", "1", "EUR", visa)), true, ReturnFinished)
	time.Sleep(50 * time.Millisecond)
	if n := len(rc.callbacks()); n != 3 {
		t.Errorf("%d callbacks, want 3", n)
	}
	wantEnvelope(t, f.tx(t, c, "debit", withCallback(cardBody("cb-5", "1", "EUR", visa), "ftp://x")), http.StatusUnprocessableEntity, CodeInvalidRequestData, "callbackUrl")
}
