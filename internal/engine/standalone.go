package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kassapay/kassa/internal/failpoint"
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/payment"
)

// StandaloneInput asks for an operation outside any payment: verify, store
// or (general) credit.
type StandaloneInput struct {
	Kind            payment.OperationKind // OpVerify, OpStore or OpCredit
	PaymentMethodID string
	GatewayID       string
	// Amount and Currency are required for credit, ignored otherwise.
	Amount                int64
	Currency              string
	Description           string
	GatewaySpecificFields map[string]any
}

// StandaloneOperation runs an operation on a payment method that belongs
// to no payment: a verification (the card checked without moving money),
// a store (the card stored in the gateway's own vault) or a general credit
// (money sent to the card without a prior payment). It follows the
// reserve → call → settle protocol with the operation itself as the
// reservation: an unknown outcome is left to the reconciler. A decline is
// not an error: the operation is returned with outcome declined.
//
// As with payments, the reservation binds the request's Idempotency-Key and
// a recovering claim answers with the operation it is bound to.
func (e *Engine) StandaloneOperation(ctx context.Context, p *payment.Principal, in StandaloneInput) (*payment.Operation, error) {
	claim := claimFrom(ctx)
	if claim.Recovering() {
		return e.store.Operation(ctx, p.Account.ID, claim.recover.OperationID)
	}
	var amount int64
	var currency string
	switch in.Kind {
	case payment.OpVerify, payment.OpStore:
	case payment.OpCredit:
		if err := checkAmount("amount", in.Amount); err != nil {
			return nil, err
		}
		if err := checkCurrency(in.Currency); err != nil {
			return nil, err
		}
		amount, currency = in.Amount, in.Currency
	default:
		return nil, fmt.Errorf("standalone operation: kind %q is not verify, store or credit", in.Kind)
	}
	if in.PaymentMethodID == "" {
		return nil, payment.Missing("payment_method")
	}
	if in.GatewayID == "" {
		return nil, payment.Missing("gateway")
	}
	if err := checkText("description", in.Description, maxAddressLen); err != nil {
		return nil, err
	}
	if err := checkFreeForm("gateway_specific_fields", in.GatewaySpecificFields); err != nil {
		return nil, err
	}
	g, err := e.loadGateway(ctx, p.Account, in.GatewayID)
	if err != nil {
		return nil, err
	}
	c, err := e.prepareCardCall(ctx, p.Account, in.PaymentMethodID, g, in.Kind, currency, in.GatewaySpecificFields)
	if err != nil {
		return nil, err
	}
	authorizes := in.Kind == payment.OpVerify
	if !authorizes {
		// PCI DSS 3.3.1.2 allows the CVC for an authorization only;
		// storing and crediting a card send none, and leave it for one.
		c.req.Card.CVC = ""
	}
	now := e.clock()
	op := &payment.Operation{ID: payment.NewID(payment.PrefixOperation), AccountID: p.Account.ID, PaymentMethodID: c.pm.ID,
		GatewayID: c.gw.ID, CredentialVersion: c.gw.CredentialVersion, Kind: in.Kind, Amount: amount, Currency: currency,
		Outcome: payment.OutcomePending, CreatedAt: now, UpdatedAt: now}
	if err := e.store.CreateOperation(ctx, op, newEvent(op.AccountID, standaloneEventType(op.Kind, "created"), op.ID, OperationObjectOf(op), now),
		claim.reserveMark("", op.ID)); err != nil {
		return nil, fmt.Errorf("create %s operation: %w", op.Kind, err)
	}
	claim.bound()
	failpoint.Hit(failpoint.AfterReserve, string(op.Kind))
	c.req.Reference = op.ID
	c.req.Amount, c.req.Currency = amount, currency
	c.req.Description = in.Description
	res := e.invoke(ctx, c.adapter, c.req, op.CreatedAt)
	if authorizes && res.Outcome != payment.OutcomeNotSent {
		// PCI DSS 3.3.1.2: the CVC serves one authorization attempt, and
		// a verification is one.
		e.destroyCVC(ctx, c.pm)
	}
	settled, err := e.settleOperation(ctx, op.AccountID, op.ID, res)
	failpoint.Hit(failpoint.AfterSettle, string(op.Kind))
	return settled, err
}

// Verify asks the gateway to check a card without moving money (a zero or
// small authorization, as the gateway does it).
func (e *Engine) Verify(ctx context.Context, p *payment.Principal, pmID, gwID string) (*payment.Operation, error) {
	return e.StandaloneOperation(ctx, p, StandaloneInput{Kind: payment.OpVerify, PaymentMethodID: pmID, GatewayID: gwID})
}

// standaloneEventType names the events of an operation outside any payment:
// "verification.<what>" for a verify (the names kassa has always used),
// "operation.<kind>.<what>" for the others.
func standaloneEventType(kind payment.OperationKind, what string) string {
	if kind == payment.OpVerify {
		return "verification." + what
	}
	return "operation." + strings.ToLower(string(kind)) + "." + what
}

// settleOperation settles an operation outside any payment.
func (e *Engine) settleOperation(ctx context.Context, accountID, id string, res gateway.Result) (*payment.Operation, error) {
	now := e.clock()
	claim := claimFrom(ctx)
	mark := claim.settleMark()
	var answer *Answer
	op, err := e.store.UpdateOperation(context.WithoutCancel(ctx), accountID, id, mark, func(op *payment.Operation) (*payment.Event, error) {
		if op.Outcome.Settled() || (op.Outcome == payment.OutcomeUnknown && res.Outcome == payment.OutcomeUnknown) {
			return nil, errAlreadySettled
		}
		recordResult(op, res, now)
		e.awaitNotification(op, res, now)
		answer = answerMark(ctx, mark, nil, op)
		return newEvent(op.AccountID, standaloneEventType(op.Kind, string(res.Outcome)), op.ID, OperationObjectOf(op), now), nil
	})
	if err == nil && answer != nil {
		claim.answered = answer
	}
	if errors.Is(err, errAlreadySettled) {
		return e.store.Operation(ctx, accountID, id)
	}
	return op, err
}

// Operation returns the account's operation id (with its transcript).
func (e *Engine) Operation(ctx context.Context, accountID, id string) (*payment.Operation, error) {
	return e.store.Operation(ctx, accountID, id)
}

// Operations lists the account's operations, of payments and outside
// them, newest first unless f.Ascending. Their transcripts are left out
// (Operation has them).
func (e *Engine) Operations(ctx context.Context, accountID string, f payment.OperationFilter) ([]*payment.Operation, bool, error) {
	return e.store.Operations(ctx, accountID, f)
}
