package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/payment"
)

// ResolveOperation settles by hand an operation whose outcome kassa could
// not learn — unknown, or pending on a payment flagged for review — after
// a person checked the provider. outcome is what they found: succeeded,
// declined, failed, or not_sent (it never reached the provider). The
// resolution moves money exactly as the provider's own answer would have,
// and an event records who resolved it and why.
func (e *Engine) ResolveOperation(ctx context.Context, p *payment.Principal, id string, outcome payment.Outcome, gatewayReference, note string) (*payment.Operation, error) {
	switch outcome {
	case payment.OutcomeSucceeded, payment.OutcomeDeclined, payment.OutcomeFailed, payment.OutcomeNotSent:
	case "":
		return nil, payment.Missing("outcome")
	default:
		return nil, payment.Invalid(payment.CodeParameterInvalid, "outcome", "outcome must be one of succeeded, declined, failed, not_sent.")
	}
	if note == "" {
		return nil, payment.Missing("note")
	}
	if err := checkText("note", note, maxAddressLen); err != nil {
		return nil, err
	}
	if err := checkText("gateway_reference", gatewayReference, maxNameLen); err != nil {
		return nil, err
	}
	acct := p.Account.ID
	op, err := e.store.Operation(ctx, acct, id)
	if err != nil {
		return nil, err
	}
	if op.Outcome.Settled() {
		return nil, payment.Conflict(payment.CodeInvalidState, "Operation %s is already settled (%s).", op.ID, op.Outcome)
	}
	if op.Outcome == payment.OutcomePending {
		// A pending operation may still be in flight or awaiting its
		// notification: only one the reconciler gave up on may be resolved.
		ready := op.ReconcileAttempts >= e.cfg.ReconcileAttempts
		if op.PaymentID != "" {
			if pay, err := e.store.Payment(ctx, acct, op.PaymentID); err == nil && pay.RequiresReview {
				ready = true
			}
		}
		if !ready {
			return nil, payment.Conflict(payment.CodeInvalidState, "Operation %s is still in flight; it can be resolved once its outcome is unknown.", op.ID)
		}
	}
	res := gateway.Result{Outcome: outcome, GatewayReference: gatewayReference,
		Message: fmt.Sprintf("Resolved by hand by %s: %s", principalName(p), note)}
	if outcome == payment.OutcomeDeclined || outcome == payment.OutcomeFailed {
		res.DeclineCode = "resolved_by_hand"
	}
	now := e.clock()
	if op.PaymentID == "" {
		return e.settleOperation(ctx, acct, op.ID, res)
	}
	_, err = e.store.UpdatePayment(ctx, acct, op.PaymentID, func(pay *payment.Payment) (*payment.PaymentChange, error) {
		o := findOperation(pay, op.ID)
		if o == nil || o.Outcome.Settled() {
			return nil, errAlreadySettled
		}
		evs := e.apply(pay, o, res, now)
		if !pay.Unsettled() {
			pay.RequiresReview = false
		}
		evs = append(evs, newEvent(acct, "operation.resolved", o.ID,
			map[string]any{"operation": o.ID, "payment": pay.ID, "outcome": outcome, "by": principalName(p), "note": note}, now))
		return &payment.PaymentChange{Operations: []*payment.Operation{o}, Events: stampActor(actingAs(ctx, p), evs)}, nil
	})
	if errors.Is(err, errAlreadySettled) {
		return nil, payment.Conflict(payment.CodeInvalidState, "Operation %s was settled meanwhile.", op.ID)
	}
	if err != nil {
		return nil, err
	}
	return e.store.Operation(ctx, acct, op.ID)
}
