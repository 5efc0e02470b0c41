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
// a session leaves open for a final status, or paid for cancelled, and
// its event is the account's.
func CheckCheckoutClose(accountID string, from, status payment.CheckoutStatus, ev *payment.Event) error {
	switch {
	case from == payment.CheckoutOpen && (status == payment.CheckoutPaid || status == payment.CheckoutCancelled || status == payment.CheckoutExpired):
	case from == payment.CheckoutPaid && status == payment.CheckoutCancelled:
	default:
		return fmt.Errorf("store: a checkout session cannot move from %q to %q", from, status)
	}
	if ev == nil {
		return nil
	}
	return CheckEvent(accountID, ev)
}

// CheckSessionCallback checks the callback a session's close promises
// (nil: none): the account's, and a dialect's (signed by its signer, to
// its own URL).
func CheckSessionCallback(accountID string, d *payment.WebhookDelivery) error {
	if d == nil {
		return nil
	}
	if d.AccountID != accountID || d.Signer == "" || d.URL == "" || d.EndpointID != "" || d.EventID != "" {
		return fmt.Errorf("store: a checkout session of %s cannot promise callback %s of %s", accountID, d.ID, d.AccountID)
	}
	return nil
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
