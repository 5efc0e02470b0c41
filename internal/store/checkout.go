package store

import (
	"encoding/json"
	"fmt"

	"github.com/kassapay/kassa/internal/payment"
)

// CheckoutItemsJSON is how a session's items are stored: a JSON array,
// never null.
func CheckoutItemsJSON(cs *payment.CheckoutSession) (string, error) {
	items := cs.Items
	if items == nil {
		items = []payment.CheckoutItem{}
	}
	b, err := json.Marshal(items)
	if err != nil {
		return "", fmt.Errorf("checkout session %s: items: %w", cs.ID, err)
	}
	return string(b), nil
}

// CheckCheckoutClose checks a CloseCheckoutSession call before it writes:
// a session only leaves open for a final status, and its event is the
// account's.
func CheckCheckoutClose(accountID string, status payment.CheckoutStatus, ev *payment.Event) error {
	switch status {
	case payment.CheckoutPaid, payment.CheckoutCancelled, payment.CheckoutExpired:
	default:
		return fmt.Errorf("store: a checkout session cannot be closed as %q", status)
	}
	if ev == nil {
		return nil
	}
	return CheckEvent(accountID, ev)
}

// JSONObject is how a profile's JSON object is stored: "{}" when empty.
func JSONObject(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "{}"
	}
	return string(raw)
}

// CheckoutKind is how a session's kind is stored: "payment" for the zero
// value.
func CheckoutKind(cs *payment.CheckoutSession) string {
	if cs.Kind == "" {
		return payment.CheckoutKindPayment
	}
	return cs.Kind
}
