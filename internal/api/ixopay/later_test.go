package ixopay

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/gateway/simulator"
	"github.com/kassapay/kassa/internal/payment"
)

// reportingSim is the simulator with a provider's notifications: a signed
// report that an operation's outcome is not what the provider answered
// (Adyen's CAPTURE_FAILED after a capture it accepted). It stands for any
// provider that reverses what it reported done, through the engine's own
// seam for that (HandleNotifications); the Adyen adapter has its tests.
type reportingSim struct{ *simulator.Simulator }

const (
	reportingSimType = "reporting_sim"
	reportKey        = "report-signing-key"
)

func newReportingSim() reportingSim { return reportingSim{simulator.New(simulator.Options{})} }

func (r reportingSim) Spec() gateway.Spec {
	s := r.Simulator.Spec()
	s.Type, s.Notifications = reportingSimType, true
	return s
}

// report is one item of a reportingSim notification.
type report struct {
	Reference   string          `json:"reference"`
	Outcome     payment.Outcome `json:"outcome"`
	DeclineCode string          `json:"declineCode"`
	Message     string          `json:"message"`
	Signature   string          `json:"signature"`
}

func reportSignature(key, ref string, outcome payment.Outcome) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(ref + ":" + string(outcome)))
	return hex.EncodeToString(m.Sum(nil))
}

func (reportingSim) ReadNotifications(_ context.Context, c gateway.Config, body []byte) ([]gateway.Notification, error) {
	var rs []report
	if err := json.Unmarshal(body, &rs); err != nil {
		return nil, err
	}
	var out []gateway.Notification
	for _, r := range rs {
		if !hmac.Equal([]byte(r.Signature), []byte(reportSignature(c.Credentials["password"], r.Reference, r.Outcome))) {
			return nil, errors.New("bad signature")
		}
		out = append(out, gateway.Notification{Reference: r.Reference,
			Result: gateway.Result{Outcome: r.Outcome, DeclineCode: r.DeclineCode, ResponseCode: r.DeclineCode, Message: r.Message}})
	}
	return out, nil
}

func (reportingSim) NotificationAnswer() string { return "[accepted]" }

// reverse has c's provider report operation uuid declined after all.
func (f *fixture) reverse(t *testing.T, c connector, uuid string) {
	t.Helper()
	b, _ := json.Marshal([]report{{Reference: uuid, Outcome: payment.OutcomeDeclined, DeclineCode: "insufficient_funds",
		Message: "Capture failed at the acquirer", Signature: reportSignature(reportKey, uuid, payment.OutcomeDeclined)}})
	if _, err := f.eng.HandleNotifications(context.Background(), c.gatewayID, b); err != nil {
		t.Fatal(err)
	}
}

// TestLaterChangesAreCalledBack: after a transaction's callback with its
// final result, every later change is called back too, through the same
// webhook engine and signed the same way: a provider reversing a capture
// (the capture's callback, now ERROR, from reconciliation), and a refund
// made through kassa's native API on a debit made through IXOPAY's (the
// debit's callbackUrl is told of the new REFUND transaction). The status
// API shows both as the callbacks do.
func TestLaterChangesAreCalledBack(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testLaterChanges(t, setup(t, newReportingSim())) })
	t.Run("postgres", func(t *testing.T) { testLaterChanges(t, setupPostgres(t, newReportingSim())) })
}

func testLaterChanges(t *testing.T, f *fixture) {
	ctx := context.Background()
	rc := newCallbackReceiver(t)
	f.runWebhooks(t)
	c := f.connector(t, f.merchant(t), connector{reporting: true, signatureReqd: true})
	cb := rc.URL + "/ixopay/callback?shop=2"
	// of waits for n callbacks in all and returns the last of uuid's:
	// callbacks of different transactions may arrive in any order.
	of := func(n int, uuid any) received {
		t.Helper()
		f.waitForCallback(t, "callbacks", func() bool { return len(rc.callbacks()) >= n })
		time.Sleep(20 * time.Millisecond)
		got := rc.callbacks()
		if len(got) != n {
			t.Fatalf("%d callbacks, want %d", len(got), n)
		}
		var last *received
		for i, r := range got {
			var m struct{ UUID string }
			if json.Unmarshal(r.body, &m) == nil && m.UUID == uuid {
				last = &got[i]
			}
		}
		if last == nil {
			t.Fatalf("no callback of %v among %d", uuid, n)
		}
		return *last
	}

	auth := wantResult(t, f.tx(t, c, "preauthorize", withCallback(cardBody("l-auth", "10.00", "EUR", visa), cb)), true, ReturnFinished)
	capture := wantResult(t, f.tx(t, c, "capture", withCallback(keptBody("l-capture", auth["uuid"].(string), "6.00", "EUR"), cb)),
		true, ReturnFinished)
	first := verifyCallback(t, of(2, capture["uuid"]), c.sharedSecret)
	if first["result"] != "OK" || first["uuid"] != capture["uuid"] || first["notificationSource"] != nil {
		t.Fatalf("the capture's callback: %v", first)
	}

	// The provider reverses the capture: a second, signed callback of
	// the capture, ERROR, from reconciliation, with its own fields.
	f.reverse(t, c, capture["uuid"].(string))
	reversal := of(3, capture["uuid"])
	m := verifyCallback(t, reversal, c.sharedSecret)
	ed, _ := m["extraData"].(map[string]any)
	if m["result"] != "ERROR" || m["uuid"] != capture["uuid"] || m["merchantTransactionId"] != "l-capture" ||
		m["transactionType"] != TypeCapture || m["referenceUuid"] != auth["uuid"] || m["amount"] != "6.00" ||
		m["errorCode"] != float64(CodeInsufficientFunds) || m["adapterCode"] != "insufficient_funds" ||
		m["adapterMessage"] != "Capture failed at the acquirer" || m["notificationSource"] != "reconciliation" ||
		m["merchantMetaData"] != "meta-l-capture" || ed["z"] != "last" || reversal.uri != "/ixopay/callback?shop=2" {
		t.Errorf("the reversal's callback: %v", m)
	}
	seen := map[string]string{}
	golden(t, "callback_reversal", normalize(reversal.body, seen))
	st := f.status(t, c, "getByUuid", capture["uuid"].(string))
	if s := st.json(t); s["transactionStatus"] != StatusError || s["errors"] == nil {
		t.Errorf("the reversed capture's status: %v", s)
	}
	golden(t, "status_reversed", append([]byte("HTTP 200\n"), normalize(st.body, seen)...))
	// The authorization itself did not change.
	if s := f.status(t, c, "getByUuid", auth["uuid"].(string)).json(t); s["transactionStatus"] != StatusSuccess {
		t.Errorf("the authorization's status after its capture's reversal: %v", s)
	}
	// The same report again changes nothing and calls nothing back.
	f.reverse(t, c, capture["uuid"].(string))

	// A refund through kassa's native API of a debit made through
	// IXOPAY's: the debit's callbackUrl is told of the REFUND, under
	// the refund's own uuid, without a merchantTransactionId.
	debit := wantResult(t, f.tx(t, c, "debit", withCallback(cardBody("l-debit", "9.99", "EUR", visa), cb)), true, ReturnFinished)
	of(4, debit["uuid"])
	_, refund, err := f.eng.Refund(ctx, c.m.p, debit["purchaseId"].(string), ptr(int64(250)), "")
	if err != nil {
		t.Fatal(err)
	}
	told := of(5, refund.ID)
	m = verifyCallback(t, told, c.sharedSecret)
	if m["result"] != "OK" || m["uuid"] != refund.ID || m["transactionType"] != TypeRefund || m["referenceUuid"] != debit["uuid"] ||
		m["purchaseId"] != debit["purchaseId"] || m["amount"] != "2.50" || m["merchantTransactionId"] != nil || m["notificationSource"] != nil {
		t.Errorf("the native refund's callback: %v", m)
	}
	golden(t, "callback_outside_refund", normalize(told.body, seen))
	st = f.status(t, c, "getByUuid", refund.ID)
	if s := st.json(t); s["transactionStatus"] != StatusSuccess || s["transactionType"] != TypeRefund || s["referenceUuid"] != debit["uuid"] {
		t.Errorf("the native refund's status: %v", s)
	}
	golden(t, "status_outside_refund", append([]byte("HTTP 200\n"), normalize(st.body, seen)...))

	// Another connector of the merchant, or another merchant, does not
	// see it.
	other := f.connector(t, c.m, connector{})
	wantNoTransaction(t, f.status(t, other, "getByUuid", refund.ID), refund.ID)
	stranger := f.connector(t, f.merchant(t), connector{})
	wantNoTransaction(t, f.status(t, stranger, "getByUuid", refund.ID), refund.ID)

	// Nothing secret went anywhere: callbacks, responses, the log or
	// the events.
	all := f.logs.String() + strings.Join(f.responses, "\n")
	for _, r := range rc.callbacks() {
		all += string(r.body) + r.header.Get("X-Signature")
	}
	evs, _, err := f.eng.Events(ctx, c.m.id, payment.ListParams{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		all += string(ev.Data)
	}
	for _, secret := range []string{visa, `"` + cvc + `"`, c.sharedSecret, reportKey} {
		if strings.Contains(all, secret) {
			t.Errorf("%q appears in a callback, a response, the log or an event", secret)
		}
	}
	if n := len(rc.callbacks()); n != 5 {
		t.Errorf("%d callbacks in the end, want 5", n)
	}
}

func ptr[T any](v T) *T { return &v }
