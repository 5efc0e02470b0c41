package engine

import (
	"context"
	"errors"
	"fmt"

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

// flagReversal records that the provider reports a succeeded operation as
// failed after all, and puts its payment up for review.
func (e *Engine) flagReversal(ctx context.Context, op *payment.Operation, res gateway.Result) error {
	now := e.clock()
	data := map[string]any{"operation": op.ID, "kind": op.Kind, "reported_outcome": res.Outcome,
		"decline_code": res.DeclineCode, "message": res.Message}
	if op.PaymentID == "" {
		e.log.WarnContext(ctx, "provider reversed an operation outside any payment", "operation", op.ID)
		return nil
	}
	_, err := e.store.UpdatePayment(ctx, op.AccountID, op.PaymentID, func(pay *payment.Payment) (*payment.PaymentChange, error) {
		data["payment"] = pay.ID
		if pay.RequiresReview {
			return nil, errAlreadySettled // already flagged: a duplicate
		}
		pay.RequiresReview = true
		pay.UpdatedAt = now
		return &payment.PaymentChange{Events: []*payment.Event{newEvent(pay.AccountID, "payment.reversal_reported", pay.ID, data, now)}}, nil
	})
	if errors.Is(err, errAlreadySettled) {
		return nil
	}
	if err == nil {
		e.log.WarnContext(ctx, "provider reversed a succeeded operation: payment needs review", "payment", op.PaymentID, "operation", op.ID)
	}
	return err
}
