package store

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// EventMatch is how a webhook endpoint's enabled events are stored for the
// fan-out that writes an event's deliveries: " a b c ", so that a pattern
// p is enabled exactly when the text holds " p ". Event types and
// patterns hold no spaces (the engine checks them).
func EventMatch(enabled []string) string {
	return " " + strings.Join(enabled, " ") + " "
}

// EventPatterns are the enabled-events entries that select an event of
// type typ, each as EventMatch spells it: the type itself, "*", and
// "p.*" for every proper prefix p of typ ending before a dot
// ("payment.purchase.succeeded": "payment.*" and "payment.purchase.*").
func EventPatterns(typ string) []string {
	pats := []string{" " + typ + " ", " * "}
	for i := 0; i < len(typ); i++ {
		if typ[i] == '.' {
			pats = append(pats, " "+typ[:i]+".* ")
		}
	}
	return pats
}

// DeliveryIDPrefix is the start of the id of a delivery of ev, to which
// the store appends 16 random hex digits: the delivery's id begins, as
// every id does (ADR 0011), with the time its event was made.
func DeliveryIDPrefix(ev *payment.Event) string {
	_, rest, ok := strings.Cut(ev.ID, "_")
	if !ok || len(rest) < 8 {
		return payment.NewIDAt(payment.PrefixWebhookDelivery, ev.CreatedAt)[:len(payment.PrefixWebhookDelivery)+9]
	}
	return payment.PrefixWebhookDelivery + "_" + rest[:8]
}

// CallbackDelivery is the delivery a transaction reference promises (see
// payment.TransactionReference.Callback), or nil: to ref's callback URL,
// signed by its dialect's signer with the key of its scope, about the
// transaction transactionID (ref's own operation, or a follow-up a
// TransactionNotice names) as its message id, made at at and due at once
// (the signer puts it back until the transaction is final). Its Live the
// store takes from the account.
func CallbackDelivery(ref *payment.TransactionReference, transactionID string, at time.Time) *payment.WebhookDelivery {
	if ref.Callback == "" || ref.CallbackSigner == "" {
		return nil
	}
	queue := ref.Callback
	if u, err := url.Parse(ref.Callback); err == nil && u.Host != "" {
		queue = u.Hostname()
	}
	return &payment.WebhookDelivery{ID: payment.NewIDAt(payment.PrefixWebhookDelivery, at),
		AccountID: ref.AccountID, MessageID: transactionID, Signer: ref.CallbackSigner, SignerKey: ref.Scope,
		Method: "POST", URL: ref.Callback, Queue: queue, State: payment.DeliveryPending,
		NextAttemptAt: at, CreatedAt: at, UpdatedAt: at}
}

// CheckNotices reports a notice of change that the store must not write:
// one without a reference or transaction, of a reference of another
// account or payment, or naming as its change an event the change does
// not write.
func CheckNotices(accountID, paymentID string, change *payment.PaymentChange) error {
	for _, n := range change.Notices {
		if n == nil || n.Reference == nil || n.TransactionID == "" {
			return fmt.Errorf("store: a notice of payment %s names no reference or transaction", paymentID)
		}
		ref := n.Reference
		if ref.AccountID != accountID || ref.PaymentID != paymentID {
			return fmt.Errorf("store: a notice of payment %s/%s is for reference %q of %s/%s",
				accountID, paymentID, ref.Reference, ref.AccountID, ref.PaymentID)
		}
		if n.ChangeEventID != "" && !slices.ContainsFunc(change.Events, func(ev *payment.Event) bool { return ev.ID == n.ChangeEventID }) {
			return fmt.Errorf("store: a notice of payment %s names event %s, which the change does not write", paymentID, n.ChangeEventID)
		}
	}
	return nil
}
