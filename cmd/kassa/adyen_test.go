package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kassapay/kassa/client"
)

// adyenStandIn answers Adyen's Checkout API as its documentation shows:
// /payments authorises at once, modifications are "received" (their outcome
// comes later, in a notification).
func adyenStandIn(t *testing.T) *httptest.Server {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Reference string `json:"reference"`
			Amount    struct {
				Value    int64  `json:"value"`
				Currency string `json:"currency"`
			} `json:"amount"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		psp := fmt.Sprintf("PSP%013d", n.Add(1))
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/payments":
			fmt.Fprintf(w, `{"pspReference":%q,"resultCode":"Authorised","amount":{"value":%d,"currency":%q},"merchantReference":%q}`,
				psp, req.Amount.Value, req.Amount.Currency, req.Reference)
		case strings.HasSuffix(r.URL.Path, "/captures"), strings.HasSuffix(r.URL.Path, "/refunds"):
			w.WriteHeader(http.StatusCreated)
			parts := strings.Split(r.URL.Path, "/")
			fmt.Fprintf(w, `{"merchantAccount":"KassaTest","paymentPspReference":%q,"pspReference":%q,"reference":%q,"status":"received","amount":{"value":%d,"currency":%q}}`,
				parts[2], psp, req.Reference, req.Amount.Value, req.Amount.Currency)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

const adyenHMACKey = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"

// adyenNotification builds a webhook body signed as Adyen signs it.
func adyenNotification(key, event, psp, original, reference string, value int64, success bool) []byte {
	ok := fmt.Sprint(success)
	signed := strings.Join([]string{psp, original, "KassaTest", reference, fmt.Sprint(value), "EUR", event, ok}, ":")
	raw, _ := hex.DecodeString(key)
	m := hmac.New(sha256.New, raw)
	m.Write([]byte(signed))
	item := map[string]any{"NotificationRequestItem": map[string]any{
		"additionalData":      map[string]any{"hmacSignature": base64.StdEncoding.EncodeToString(m.Sum(nil))},
		"amount":              map[string]any{"value": value, "currency": "EUR"},
		"eventCode":           event,
		"eventDate":           "2026-11-22T10:00:00+01:00",
		"merchantAccountCode": "KassaTest",
		"merchantReference":   reference,
		"originalReference":   original,
		"pspReference":        psp,
		"reason":              "",
		"success":             ok,
	}}
	b, _ := json.Marshal(map[string]any{"live": "false", "notificationItems": []any{item}})
	return b
}

// TestAdyenNotifications: Adyen's captures and refunds stay pending until a
// notification with a valid HMAC settles them; a bad or missing HMAC
// changes nothing and is refused; a duplicate is harmless.
func TestAdyenNotifications(t *testing.T) {
	adyen := adyenStandIn(t)
	s := startServer(t, filepath.Join(t.TempDir(), "data"), env(nil))
	ctx := context.Background()
	c := client.New(s.URL, s.bootstrapKey(t))
	g, err := c.CreateGateway(ctx, &client.GatewayParams{Type: "adyen", Settings: map[string]any{"base_url": adyen.URL},
		Credentials: map[string]any{"api_key": "AQE-test-api-key-secret", "merchant_account": "KassaTest", "hmac_key": adyenHMACKey}})
	if err != nil {
		t.Fatal(err)
	}
	// The native API refuses a key that is not hex (the adapter's
	// CheckConfig): every notification would fail its signature check.
	if _, err := c.CreateGateway(ctx, &client.GatewayParams{Type: "adyen", Settings: map[string]any{"base_url": adyen.URL},
		Credentials: map[string]any{"api_key": "AQE-test-api-key-secret", "merchant_account": "KassaTest", "hmac_key": "not-hex-key"}}); err == nil ||
		!strings.Contains(err.Error(), "credentials.hmac_key") || strings.Contains(err.Error(), "not-hex-key") {
		t.Errorf("a non-hex HMAC key through the native API: %v", err)
	}
	pm, err := c.CreatePaymentMethod(ctx, card("4111111111111111", "737"))
	if err != nil {
		t.Fatal(err)
	}
	pay, err := c.CreatePayment(ctx, &client.PaymentParams{Amount: 1000, Currency: "EUR", PaymentMethod: pm.ID, Gateway: g.ID, Capture: new(false)})
	if err != nil || pay.Status != "AUTHORIZED" {
		t.Fatalf("authorize: %+v %v", pay, err)
	}
	auth := pay.Operations[0]
	pay, err = c.CapturePayment(ctx, pay.ID, &client.CaptureParams{Amount: new(int64(600))})
	if err != nil || pay.Status != "AUTHORIZED" || pay.AmountCaptured != 0 {
		t.Fatalf("capture sent: %+v %v", pay, err)
	}
	capture := pay.Operations[1]
	if capture.Outcome != "pending" {
		t.Fatalf("capture outcome %s, want pending until the notification", capture.Outcome)
	}
	notify := func(body []byte) (int, string) {
		res, err := http.Post(s.URL+"/v1/gateways/"+g.ID+"/notifications", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, string(b)
	}
	good := adyenNotification(adyenHMACKey, "CAPTURE", capture.GatewayReference, auth.GatewayReference, capture.ID, 600, true)
	bad := adyenNotification(strings.Repeat("AB", 32), "CAPTURE", capture.GatewayReference, auth.GatewayReference, capture.ID, 600, true)
	var unsigned map[string]any
	json.Unmarshal(good, &unsigned)
	delete(unsigned["notificationItems"].([]any)[0].(map[string]any)["NotificationRequestItem"].(map[string]any), "additionalData")
	missing, _ := json.Marshal(unsigned)
	for name, body := range map[string][]byte{"bad HMAC": bad, "missing HMAC": missing} {
		if st, _ := notify(body); st != http.StatusUnauthorized {
			t.Fatalf("%s: status %d, want 401", name, st)
		}
		if p, _ := c.Payment(ctx, pay.ID); p.AmountCaptured != 0 || p.Operations[1].Outcome != "pending" {
			t.Fatalf("%s changed the payment: captured %d", name, p.AmountCaptured)
		}
	}
	for range 2 { // the second is a duplicate
		if st, body := notify(good); st != http.StatusOK || body != "[accepted]" {
			t.Fatalf("valid notification: %d %q", st, body)
		}
	}
	pay, _ = c.Payment(ctx, pay.ID)
	if pay.Status != "PARTIALLY_CAPTURED" || pay.AmountCaptured != 600 {
		t.Fatalf("after the capture notification: %s captured %d", pay.Status, pay.AmountCaptured)
	}
	pay, err = c.RefundPayment(ctx, pay.ID, &client.RefundParams{Amount: new(int64(200))})
	if err != nil || pay.Operations[2].Outcome != "pending" {
		t.Fatalf("refund sent: %+v %v", pay, err)
	}
	refund := pay.Operations[2]
	if st, _ := notify(adyenNotification(adyenHMACKey, "REFUND", refund.GatewayReference, auth.GatewayReference, refund.ID, 200, true)); st != 200 {
		t.Fatalf("refund notification: %d", st)
	}
	pay, _ = c.Payment(ctx, pay.ID)
	if pay.Status != "PARTIALLY_CAPTURED_REFUNDED" || pay.AmountRefunded != 200 {
		t.Fatalf("after the refund notification: %s refunded %d", pay.Status, pay.AmountRefunded)
	}
	if strings.Contains(s.Stderr.String(), "AQE-test-api-key-secret") || strings.Contains(s.Stderr.String(), adyenHMACKey) {
		t.Fatal("an Adyen credential reached the log")
	}
}
