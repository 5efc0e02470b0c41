package adyen

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"github.com/kassapay/kassa/internal/gateway"
	"strings"
	"testing"

	"github.com/kassapay/kassa/internal/payment"
)

// adyenVectorKey and adyenVector are the key and signature of the
// notification item in the tests of Adyen's own libraries (HMAC validator):
// pspReference "pspReference", originalReference "originalReference",
// merchantAccountCode "merchantAccount", merchantReference "reference",
// 1000 EUR, eventCode "EVENT", success "true".
const (
	adyenVectorKey = "DFB1EB5485895CFA84146406857104ABB4CBCABDC8AAF103A624C8F6A3EAAB00"
	adyenVector    = "ipnxGCaUZ4l8TUW75a71/ghd2Fe5ffvX0pV4TLTntIc="
)

func TestAdyenTestVector(t *testing.T) {
	t.Parallel()
	body := `{"live":"false","notificationItems":[{"NotificationRequestItem":{` +
		`"additionalData":{"hmacSignature":"` + adyenVector + `"},"amount":{"currency":"EUR","value":1000},` +
		`"eventCode":"EVENT","eventDate":"1970-01-01T00:00:00+00:00","merchantAccountCode":"merchantAccount",` +
		`"merchantReference":"reference","originalReference":"originalReference","paymentMethod":"VISA",` +
		`"pspReference":"pspReference","reason":"reason","success":"true"}}]}`
	items, err := ParseNotification([]byte(body), adyenVectorKey)
	if err != nil {
		t.Fatal(err)
	}
	want := NotificationItem{EventCode: "EVENT", Success: true, PSPReference: "pspReference",
		OriginalReference: "originalReference", MerchantAccount: "merchantAccount", MerchantReference: "reference",
		Amount: 1000, Currency: "EUR", Reason: "reason", PaymentMethod: "VISA", EventDate: "1970-01-01T00:00:00+00:00"}
	if len(items) != 1 || items[0] != want {
		t.Errorf("items %+v, want %+v", items, want)
	}
	// A lower-case key is the same key.
	if _, err := ParseNotification([]byte(body), strings.ToLower(adyenVectorKey)); err != nil {
		t.Errorf("lower-case key: %v", err)
	}
}

// item is a NotificationRequestItem as a map, so tests can tamper with it.
type item map[string]any

func newItem(event, success, psp, original, merchantRef string, value int64) item {
	return item{
		"additionalData":      map[string]any{},
		"amount":              map[string]any{"currency": "EUR", "value": value},
		"eventCode":           event,
		"eventDate":           "2026-06-01T12:00:00+02:00",
		"merchantAccountCode": testMerchant,
		"merchantReference":   merchantRef,
		"originalReference":   original,
		"paymentMethod":       "visa",
		"pspReference":        psp,
		"reason":              "",
		"success":             success,
	}
}

// signed returns it with its hmacSignature under keyHex, computed
// independently of the package's code.
func (it item) signed(t *testing.T, keyHex string) item {
	t.Helper()
	key, err := decodeHMACKey(keyHex)
	if err != nil {
		t.Fatal(err)
	}
	amt := it["amount"].(map[string]any)
	payload := strings.Join([]string{
		it["pspReference"].(string), it["originalReference"].(string), it["merchantAccountCode"].(string),
		it["merchantReference"].(string), jsonText(t, amt["value"]), amt["currency"].(string),
		it["eventCode"].(string), it["success"].(string),
	}, ":")
	m := hmac.New(sha256.New, key)
	m.Write([]byte(payload))
	it["additionalData"].(map[string]any)["hmacSignature"] = base64.StdEncoding.EncodeToString(m.Sum(nil))
	return it
}

func jsonText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func batch(t *testing.T, items ...item) []byte {
	t.Helper()
	wrapped := make([]map[string]any, len(items))
	for i, it := range items {
		wrapped[i] = map[string]any{"NotificationRequestItem": it}
	}
	return []byte(jsonText(t, map[string]any{"live": "false", "notificationItems": wrapped}))
}

func TestParseNotificationVerifiesEveryItem(t *testing.T) {
	t.Parallel()
	capture := func() item {
		return newItem("CAPTURE", "true", "QJCMPCF5VQ7TX4P4", "993617895204576J", "op_capture_1", 600).signed(t, testHMACKey)
	}
	refund := func() item {
		return newItem("REFUND", "true", "KPJ8DGQ4GCX2WX65", "993617895204576J", "op_refund_1", 500).signed(t, testHMACKey)
	}

	items, err := ParseNotification(batch(t, capture(), refund()), testHMACKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].EventCode != "CAPTURE" || items[0].Amount != 600 || items[0].PSPReference != "QJCMPCF5VQ7TX4P4" ||
		items[0].OriginalReference != "993617895204576J" || items[0].MerchantReference != "op_capture_1" ||
		!items[0].Success || items[0].Live || items[1].EventCode != "REFUND" {
		t.Errorf("items %+v", items)
	}

	tests := []struct {
		name   string
		body   func() []byte
		key    string
		target error
	}{
		{"tampered amount", func() []byte {
			c := capture()
			c["amount"].(map[string]any)["value"] = 60000
			return batch(t, c)
		}, testHMACKey, ErrBadSignature},
		{"tampered event code", func() []byte {
			c := capture()
			c["eventCode"] = "REFUND"
			return batch(t, c)
		}, testHMACKey, ErrBadSignature},
		{"tampered success", func() []byte {
			c := capture()
			c["success"] = "false"
			return batch(t, c)
		}, testHMACKey, ErrBadSignature},
		{"tampered merchant reference", func() []byte {
			c := capture()
			c["merchantReference"] = "op_other"
			return batch(t, c)
		}, testHMACKey, ErrBadSignature},
		{"missing signature", func() []byte {
			c := capture()
			delete(c["additionalData"].(map[string]any), "hmacSignature")
			return batch(t, c)
		}, testHMACKey, ErrMissingSignature},
		{"no additionalData", func() []byte {
			c := capture()
			delete(c, "additionalData")
			return batch(t, c)
		}, testHMACKey, ErrMissingSignature},
		{"signature not base64", func() []byte {
			c := capture()
			c["additionalData"].(map[string]any)["hmacSignature"] = "%%%"
			return batch(t, c)
		}, testHMACKey, ErrBadSignature},
		{"wrong key", func() []byte { return batch(t, capture()) },
			"0000000000000000000000000000000000000000000000000000000000000000", ErrBadSignature},
		{"one bad item refuses the batch", func() []byte {
			r := refund()
			r["amount"].(map[string]any)["value"] = 1
			return batch(t, capture(), r)
		}, testHMACKey, ErrBadSignature},
		{"one unsigned item refuses the batch", func() []byte {
			r := refund()
			delete(r["additionalData"].(map[string]any), "hmacSignature")
			return batch(t, capture(), r)
		}, testHMACKey, ErrMissingSignature},
		{"no key", func() []byte { return batch(t, capture()) }, "", ErrNoHMACKey},
		{"key not hex", func() []byte { return batch(t, capture()) }, "zz" + testHMACKey[2:], ErrBadHMACKey},
		{"not json", func() []byte { return []byte("[accepted]") }, testHMACKey, ErrMalformedNotification},
		{"no items", func() []byte { return []byte(`{"live":"false","notificationItems":[]}`) }, testHMACKey, ErrMalformedNotification},
		{"item without request item", func() []byte { return []byte(`{"live":"false","notificationItems":[{}]}`) }, testHMACKey, ErrMalformedNotification},
		{"fractional amount", func() []byte {
			c := capture()
			c["amount"].(map[string]any)["value"] = 6.5
			return batch(t, c)
		}, testHMACKey, ErrMalformedNotification},
		{"success not a flag", func() []byte {
			c := capture()
			c["success"] = "yes"
			return batch(t, c)
		}, testHMACKey, ErrMalformedNotification},
		{"trailing data", func() []byte { return append(batch(t, capture()), []byte(`{}`)...) }, testHMACKey, ErrMalformedNotification},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			items, err := ParseNotification(tt.body(), tt.key)
			if !errors.Is(err, tt.target) || items != nil {
				t.Errorf("got %v, %v; want %v and no items", items, err, tt.target)
			}
			if err != nil && tt.key != "" && strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tt.key[2:])) {
				t.Errorf("the error quotes the key: %v", err)
			}
		})
	}
}

func TestParseNotificationLiveFlag(t *testing.T) {
	t.Parallel()
	body := strings.Replace(string(batch(t, newItem("AUTHORISATION", "true", "993617895204576J", "", "op_auth_1", 1000).signed(t, testHMACKey))),
		`"live":"false"`, `"live":"true"`, 1)
	items, err := ParseNotification([]byte(body), testHMACKey)
	if err != nil || !items[0].Live {
		t.Errorf("%+v %v", items, err)
	}
}

func TestNotificationOutcome(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		event   string
		success bool
		reason  string
		kind    payment.OperationKind
		outcome payment.Outcome
		decline string
	}{
		{"AUTHORISATION", true, "", payment.OpAuthorize, payment.OutcomeSucceeded, ""},
		{"AUTHORISATION", false, "Not enough balance", payment.OpAuthorize, payment.OutcomeDeclined, "insufficient_funds"},
		{"AUTHORISATION", false, "CVC Declined", payment.OpAuthorize, payment.OutcomeDeclined, "invalid_cvc"},
		{"AUTHORISATION", false, "Something new", payment.OpAuthorize, payment.OutcomeDeclined, "card_declined"},
		{"CAPTURE", true, "", payment.OpCapture, payment.OutcomeSucceeded, ""},
		{"CAPTURE", false, "Insufficient balance on payment", payment.OpCapture, payment.OutcomeFailed, CodeCaptureFailed},
		{"CAPTURE_FAILED", true, "rejected by the scheme", payment.OpCapture, payment.OutcomeFailed, CodeCaptureFailed},
		{"CANCELLATION", true, "", payment.OpVoid, payment.OutcomeSucceeded, ""},
		{"CANCELLATION", false, "Modification in different currency than authorisation", payment.OpVoid, payment.OutcomeFailed, CodeCancellationFailed},
		{"REFUND", true, "", payment.OpRefund, payment.OutcomeSucceeded, ""},
		{"REFUND", false, "Insufficient in-process funds on paymentPspReference", payment.OpRefund, payment.OutcomeFailed, CodeRefundFailed},
		{"REFUND_FAILED", true, "", payment.OpRefund, payment.OutcomeFailed, CodeRefundFailed},
		{"REFUNDED_REVERSED", true, "", payment.OpRefund, payment.OutcomeFailed, CodeRefundReversed},
		{"CHARGEBACK", true, "", "", "", ""},
		{"REPORT_AVAILABLE", true, "", "", "", ""},
	} {
		n := NotificationItem{EventCode: tt.event, Success: tt.success, Reason: tt.reason}
		o, d := n.Outcome()
		if o != tt.outcome || d != tt.decline || n.Kind() != tt.kind {
			t.Errorf("%s success=%v: %q/%q kind %q, want %q/%q kind %q", tt.event, tt.success, o, d, n.Kind(), tt.outcome, tt.decline, tt.kind)
		}
	}
}

func FuzzParseNotification(f *testing.F) {
	f.Add([]byte(`{"live":"false","notificationItems":[{"NotificationRequestItem":{"additionalData":{"hmacSignature":"`+
		adyenVector+`"},"amount":{"currency":"EUR","value":1000},"eventCode":"EVENT","merchantAccountCode":"merchantAccount",`+
		`"merchantReference":"reference","originalReference":"originalReference","pspReference":"pspReference","success":"true"}}]}`),
		adyenVectorKey)
	f.Add([]byte(`{"notificationItems":[{"NotificationRequestItem":null}]}`), testHMACKey)
	f.Add([]byte(`{"notificationItems":[{"NotificationRequestItem":{"amount":{"value":1e400}}}]}`), testHMACKey)
	f.Add([]byte(`[accepted]`), "")
	f.Add([]byte(`{"live":1}`), "abc")
	f.Fuzz(func(t *testing.T, body []byte, key string) {
		items, err := ParseNotification(body, key)
		if err == nil && len(items) == 0 {
			t.Error("no error and no items")
		}
		if err != nil && items != nil {
			t.Error("an error with items")
		}
		if err != nil && len(key) >= 8 && strings.Contains(err.Error(), key) {
			t.Errorf("the error quotes the key: %v", err)
		}
	})
}

func TestReadNotificationsSkipsOtherMerchantAccounts(t *testing.T) {
	other := newItem("CAPTURE", "true", "QJCMPCF5VQ7TX4P5", "993617895204576J", "op_other", 600)
	other["merchantAccountCode"] = "SomeoneElse"
	ours := newItem("CAPTURE", "true", "QJCMPCF5VQ7TX4P4", "993617895204576J", "op_ours", 600)
	body := batch(t, other.signed(t, testHMACKey), ours.signed(t, testHMACKey))
	notes, err := New(Options{}).ReadNotifications(context.Background(), gateway.Config{Sandbox: true,
		Credentials: map[string]string{"hmac_key": testHMACKey, "merchant_account": testMerchant}}, body)
	if err != nil || len(notes) != 1 || notes[0].Reference != "op_ours" {
		t.Fatalf("notes = %+v, %v; want only op_ours", notes, err)
	}
}
