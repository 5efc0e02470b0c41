package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/payment"
)

// errBadNotification is every authentication failure of a notification:
// the provider is told no, and nothing about why.
var errBadNotification = &payment.Error{Kind: payment.KindUnauthenticated, Code: "invalid_notification",
	Message: "The notification could not be verified."}

// HandleNotifications applies a provider's notification to gateway id's
// operations: the adapter verifies every item's signature with the
// gateway's credentials first, and a body that does not verify changes
// nothing. It returns the answer the provider expects. Settling is a
// compare-and-set, so a repeated notification changes nothing the second
// time.
func (e *Engine) HandleNotifications(ctx context.Context, id string, body []byte) (string, error) {
	g, err := e.store.GatewayByID(ctx, id)
	if err != nil {
		return "", err
	}
	ad, ok := e.gateways.Lookup(g.Type)
	h, handles := ad.(gateway.NotificationHandler)
	if !ok || !handles {
		return "", payment.NotFound("gateway", id) // nothing listens here
	}
	creds, err := e.openCredentials(ctx, g, g.CredentialVersion)
	if err != nil {
		if _, ok := payment.AsError(err); ok {
			return "", errBadNotification // redacted: no key to verify with
		}
		return "", err
	}
	notes, err := h.ReadNotifications(ctx, gateway.Config{GatewayID: g.ID, Credentials: creds, Settings: g.Settings,
		Sandbox: g.Sandbox, MerchantProfileKey: g.MerchantProfileKey, SubMerchantKey: g.SubMerchantKey}, body)
	if err != nil {
		e.log.WarnContext(ctx, "notification refused", "gateway", g.ID, "error", err)
		return "", errBadNotification
	}
	for _, n := range notes {
		if err := e.applyNotification(ctx, g, n); err != nil {
			return "", fmt.Errorf("apply notification for %s: %w", n.Reference, err)
		}
	}
	return h.NotificationAnswer(), nil
}

// applyNotification settles the operation a notification reports on.
// Notifications about references kassa did not send, or of another
// gateway, are ignored (a provider account may serve other systems too).
func (e *Engine) applyNotification(ctx context.Context, g *payment.Gateway, n gateway.Notification) error {
	switch n.Result.Outcome {
	case payment.OutcomeSucceeded, payment.OutcomeDeclined, payment.OutcomeFailed:
	default:
		return nil
	}
	op, err := e.store.Operation(ctx, g.AccountID, n.Reference)
	if errors.Is(err, payment.ErrNotFound) {
		e.log.InfoContext(ctx, "notification for an unknown reference ignored", "gateway", g.ID)
		return nil
	}
	if err != nil {
		return err
	}
	if op.GatewayID != g.ID {
		e.log.WarnContext(ctx, "notification for another gateway's operation ignored", "gateway", g.ID, "operation", op.ID)
		return nil
	}
	if op.Outcome == payment.OutcomeSucceeded && n.Result.Outcome != payment.OutcomeSucceeded {
		// A provider reverses what it reported done (Adyen's
		// CAPTURE_FAILED, REFUND_FAILED): money kassa counts may not be
		// there. A person must look; nothing is moved back blindly.
		return e.flagReversal(ctx, op, n.Result)
	}
	if op.PaymentID == "" {
		_, err = e.settleOperation(ctx, op.AccountID, op.ID, n.Result)
	} else {
		_, err = e.settle(ctx, op.AccountID, op.PaymentID, op.ID, n.Result, nil, "")
	}
	return err
}

// EventReversalReported is the type of the event of a reversal: a
// provider reported an operation kassa had settled succeeded as declined
// or failed after all.
const EventReversalReported = "payment.reversal_reported"

// Reversal is what an EventReversalReported event says. Its members are in
// the order of their names, as the event's data has always had them.
type Reversal struct {
	DeclineCode     string                `json:"decline_code"`
	Kind            payment.OperationKind `json:"kind"`
	Message         string                `json:"message"`
	Operation       string                `json:"operation"`
	Payment         string                `json:"payment"`
	ReportedOutcome payment.Outcome       `json:"reported_outcome"`
}

// ReversalOf reads the reversal an event reports; false for an event of
// another type.
func ReversalOf(ev *payment.Event) (*Reversal, bool) {
	if ev == nil || ev.Type != EventReversalReported {
		return nil, false
	}
	var r Reversal
	if err := json.Unmarshal(ev.Data, &r); err != nil || r.Operation == "" {
		return nil, false
	}
	return &r, true
}

// flagReversal records that the provider reports a succeeded operation as
// failed after all, and puts its payment up for review. The transaction
// reference that shows the operation (a dialect's transaction) records the
// change and its callback is promised, in the same database transaction.
func (e *Engine) flagReversal(ctx context.Context, op *payment.Operation, res gateway.Result) error {
	now := e.clock()
	if op.PaymentID == "" {
		e.log.WarnContext(ctx, "provider reversed an operation outside any payment", "operation", op.ID)
		return nil
	}
	pay, err := e.store.Payment(ctx, op.AccountID, op.PaymentID)
	if err != nil {
		return err
	}
	notice, err := e.noticeOf(ctx, pay, op, now)
	if err != nil {
		return err
	}
	_, err = e.store.UpdatePayment(ctx, op.AccountID, op.PaymentID, func(pay *payment.Payment) (*payment.PaymentChange, error) {
		if pay.RequiresReview {
			return nil, errAlreadySettled // already flagged: a duplicate
		}
		pay.RequiresReview = true
		pay.UpdatedAt = now
		ev := newEvent(pay.AccountID, EventReversalReported, pay.ID, Reversal{Operation: op.ID, Kind: op.Kind,
			ReportedOutcome: res.Outcome, DeclineCode: res.DeclineCode, Message: res.Message, Payment: pay.ID}, now)
		ch := &payment.PaymentChange{Events: []*payment.Event{ev}}
		if notice != nil {
			notice.ChangeEventID = ev.ID
			ch.Notices = []*payment.TransactionNotice{notice}
		}
		return ch, nil
	})
	if errors.Is(err, errAlreadySettled) {
		return nil
	}
	if err == nil {
		e.log.WarnContext(ctx, "provider reversed a succeeded operation: payment needs review", "payment", op.PaymentID, "operation", op.ID)
	}
	return err
}

// noticeOf returns a notice, made at now, for the transaction reference
// whose transaction shows op, an operation of pay, or nil when no
// reference does:
//
//   - the reference naming op shows it as its own transaction;
//   - an authorize or purchase a router made after pay's first attempt is
//     shown by the reference naming the first, as the latest attempt of
//     its transaction;
//   - a follow-up without a reference of its own (made outside the
//     dialect) is shown by the reference naming pay's first operation, as
//     a transaction of its own: the notice names op.
func (e *Engine) noticeOf(ctx context.Context, pay *payment.Payment, op *payment.Operation, now time.Time) (*payment.TransactionNotice, error) {
	ref, err := e.store.TransactionReferenceByOperation(ctx, op.AccountID, "", op.ID)
	if err == nil {
		return &payment.TransactionNotice{Reference: ref, TransactionID: op.ID, At: now}, nil
	}
	if !errors.Is(err, payment.ErrNotFound) {
		return nil, err
	}
	origin, err := e.originReference(ctx, pay)
	if origin == nil || err != nil {
		return nil, err
	}
	id := op.ID
	if op.Kind == payment.OpAuthorize || op.Kind == payment.OpPurchase {
		id = origin.OperationID
	}
	return &payment.TransactionNotice{Reference: origin, TransactionID: id, At: now}, nil
}

// originReference returns the transaction reference naming pay's first
// operation (the dialect's transaction that made the payment), or nil.
func (e *Engine) originReference(ctx context.Context, pay *payment.Payment) (*payment.TransactionReference, error) {
	if len(pay.Operations) == 0 {
		return nil, nil
	}
	ref, err := e.store.TransactionReferenceByOperation(ctx, pay.AccountID, "", pay.Operations[0].ID)
	if errors.Is(err, payment.ErrNotFound) {
		return nil, nil
	}
	return ref, err
}
