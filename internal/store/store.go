package store

import (
	"fmt"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// Page sizes of list methods (payment.ListParams.Limit).
const (
	DefaultLimit = 10
	MaxLimit     = 100
)

// PageLimit returns the number of items a list returns for the requested
// limit: DefaultLimit when limit is not positive, at most MaxLimit.
func PageLimit(limit int) int {
	switch {
	case limit <= 0:
		return DefaultLimit
	case limit > MaxLimit:
		return MaxLimit
	}
	return limit
}

// CodeConflict is the error code of a uniqueness clash found by a store.
const CodeConflict = "conflict"

// Conflict reports a uniqueness clash; cause is the driver's error, kept for
// the log only.
func Conflict(cause error) *payment.Error {
	return &payment.Error{
		Kind:    payment.KindConflict,
		Code:    CodeConflict,
		Message: "The object conflicts with an existing one.",
		Err:     cause,
	}
}

// CursorNotFound reports a starting_after cursor that is not an object of
// the caller's account.
func CursorNotFound(noun, id string) *payment.Error {
	e := payment.NotFound(noun, id)
	e.Param = "starting_after"
	return e
}

// CheckEvent reports an event that cannot be written for accountID: events
// belong to the account of the change they record.
func CheckEvent(accountID string, ev *payment.Event) error {
	if ev == nil {
		return fmt.Errorf("store: nil event for account %q", accountID)
	}
	if ev.AccountID != accountID {
		return fmt.Errorf("store: event %s belongs to account %q, not %q", ev.ID, ev.AccountID, accountID)
	}
	return nil
}

// CheckCheckoutCard checks the card a reserve's checkout attempt stores
// with its claim (payment.CheckoutAttempt.Card): it and its event must be
// the attempt's account's.
func CheckCheckoutCard(mark *payment.IdempotencyMark) error {
	if mark == nil || mark.Checkout == nil || mark.Checkout.Card == nil {
		return nil
	}
	a := mark.Checkout
	if a.Card.AccountID != a.AccountID {
		return fmt.Errorf("store: payment method %s belongs to account %q, not %q", a.Card.ID, a.Card.AccountID, a.AccountID)
	}
	return CheckEvent(a.AccountID, a.CardEvent)
}

// CheckRewrapped reports a data key returned by a rewrap function that is
// not the key it was given.
func CheckRewrapped(old, next *payment.DataKey) error {
	if next == nil || next.AccountID != old.AccountID || next.Purpose != old.Purpose || next.Version != old.Version {
		return fmt.Errorf("store: rewrap of data key %s/%s/v%d returned another key", old.AccountID, old.Purpose, old.Version)
	}
	return nil
}

// CheckUpdated reports a payment method whose identity an update function
// changed: UpdatePaymentMethod writes back the mutable fields only. A
// payment method's customer is part of its identity: deleting the customer
// redacts it, so it must never move to another.
func CheckUpdated(before, after *payment.PaymentMethod) error {
	if after.ID != before.ID || after.AccountID != before.AccountID || after.CustomerID != before.CustomerID ||
		!after.CreatedAt.Equal(before.CreatedAt) {
		return fmt.Errorf("store: update of payment method %s changed its id, account, customer or creation time", before.ID)
	}
	return nil
}

// CheckCustomerUpdated reports a customer whose identity or deletion an
// update function changed: UpdateCustomer writes back the mutable fields
// only, and only DeleteCustomer deletes.
func CheckCustomerUpdated(before, after *payment.Customer) error {
	if after.ID != before.ID || after.AccountID != before.AccountID || !after.CreatedAt.Equal(before.CreatedAt) ||
		(after.DeletedAt == nil) != (before.DeletedAt == nil) {
		return fmt.Errorf("store: update of customer %s changed its id, account, creation time or deletion", before.ID)
	}
	return nil
}

// CheckNewGateway reports a gateway and first credential version that
// CreateGateway must not write: a gateway created with credentials starts
// at version 1, one created without them at version 0.
func CheckNewGateway(g *payment.Gateway, cred *payment.CredentialVersion) error {
	if cred == nil {
		if g.CredentialVersion != 0 {
			return fmt.Errorf("store: gateway %s has credential version %d but none was given", g.ID, g.CredentialVersion)
		}
		return nil
	}
	if cred.AccountID != g.AccountID || cred.GatewayID != g.ID {
		return fmt.Errorf("store: credential version for %s/%s given with gateway %s/%s", cred.AccountID, cred.GatewayID, g.AccountID, g.ID)
	}
	if cred.Version != 1 || g.CredentialVersion != 1 {
		return fmt.Errorf("store: first credential version of gateway %s is %d (gateway says %d), want 1", g.ID, cred.Version, g.CredentialVersion)
	}
	return nil
}

// CheckGatewayUpdated reports what UpdateGateway must not write: a change
// of the gateway's id, account or creation time, a credential version of
// another gateway or out of sequence, or a CredentialVersion that does not
// name the version inserted with it.
func CheckGatewayUpdated(before, after *payment.Gateway, cred *payment.CredentialVersion) error {
	if after.ID != before.ID || after.AccountID != before.AccountID || !after.CreatedAt.Equal(before.CreatedAt) {
		return fmt.Errorf("store: update of gateway %s changed its id, account or creation time", before.ID)
	}
	if cred == nil {
		if after.CredentialVersion != before.CredentialVersion {
			return fmt.Errorf("store: update of gateway %s changed its credential version from %d to %d without inserting one",
				before.ID, before.CredentialVersion, after.CredentialVersion)
		}
		return nil
	}
	if cred.AccountID != before.AccountID || cred.GatewayID != before.ID {
		return fmt.Errorf("store: update of gateway %s returned a credential version of %s/%s", before.ID, cred.AccountID, cred.GatewayID)
	}
	if cred.Version != before.CredentialVersion+1 || after.CredentialVersion != cred.Version {
		return fmt.Errorf("store: update of gateway %s at credential version %d returned version %d and set the gateway to %d; want %d for both",
			before.ID, before.CredentialVersion, cred.Version, after.CredentialVersion, before.CredentialVersion+1)
	}
	return nil
}

// CheckPaymentUpdated reports a payment whose identity an update function
// changed.
func CheckPaymentUpdated(before, after *payment.Payment) error {
	if after.ID != before.ID || after.AccountID != before.AccountID || after.CustomerID != before.CustomerID ||
		!after.CreatedAt.Equal(before.CreatedAt) {
		return fmt.Errorf("store: update of payment %s changed its id, account, customer or creation time", before.ID)
	}
	return nil
}

// UpdatedPayment is the payment an update wrote, without reading it back:
// p as fn left it, its times as the stores keep them (UTC, whole
// microseconds), and its operations as they now stand in the store — the
// ones it had before (existing, from SnapshotPayment, in their order),
// each replaced by change's version when change wrote it, then change's
// new operations in the order written. An operation fn altered in p
// without putting it in change was not written, and is given as it was.
func UpdatedPayment(p *payment.Payment, order []string, existing map[string]payment.Operation, change *payment.PaymentChange) *payment.Payment {
	written := make(map[string]*payment.Operation, len(change.Operations))
	for _, op := range change.Operations {
		written[op.ID] = op
	}
	ops := make([]*payment.Operation, 0, len(order)+len(change.Operations))
	for _, id := range order {
		op, ok := written[id]
		if !ok {
			old := existing[id]
			op = &old
		} else {
			delete(written, id)
		}
		ops = append(ops, normalOperation(op))
	}
	for _, op := range change.Operations {
		if w, ok := written[op.ID]; ok {
			ops = append(ops, normalOperation(w)) // written twice: the last write stands
			delete(written, op.ID)
		}
	}
	p.Operations = ops
	p.CreatedAt, p.UpdatedAt = storedTime(p.CreatedAt), storedTime(p.UpdatedAt)
	if len(p.RoutingTrace) == 0 {
		p.RoutingTrace = nil
	}
	return p
}

// normalOperation sets op's times as the stores keep them.
func normalOperation(op *payment.Operation) *payment.Operation {
	op.CreatedAt, op.UpdatedAt = storedTime(op.CreatedAt), storedTime(op.UpdatedAt)
	if len(op.Transcript) == 0 {
		op.Transcript = nil // stored as NULL
	}
	if op.NextReconcileAt != nil {
		t := storedTime(*op.NextReconcileAt)
		op.NextReconcileAt = &t
	}
	return op
}

// storedTime is t as both stores keep times: UTC, whole microseconds.
func storedTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// CheckSettle checks a compare-and-set settle (PaymentStore.SettlePayment)
// before it is written: after must be held with the same identity, and
// change may only update operations held already has. It returns a
// snapshot of held, its operations by id and its columns, for the writes.
func CheckSettle(held, after *payment.Payment, change *payment.PaymentChange) (*payment.Payment, map[string]payment.Operation, *PaymentBefore, error) {
	if held == nil || after == nil || change == nil {
		return nil, nil, nil, fmt.Errorf("store: settle needs the payment held, after and the change")
	}
	if err := CheckPaymentUpdated(held, after); err != nil {
		return nil, nil, nil, err
	}
	before, ops := SnapshotPayment(held)
	if err := CheckPaymentChange(held.AccountID, held.ID, ops, change); err != nil {
		return nil, nil, nil, err
	}
	for _, op := range change.Operations {
		if _, ok := ops[op.ID]; !ok {
			return nil, nil, nil, fmt.Errorf("store: settle of operation %s, which payment %s does not hold", op.ID, held.ID)
		}
	}
	columns, err := SnapshotColumns(held)
	if err != nil {
		return nil, nil, nil, err
	}
	return &before, ops, columns, nil
}

// CheckOperationOwner reports an operation that cannot be written as one of
// the payment paymentID of accountID ("" for operations outside any
// payment).
func CheckOperationOwner(accountID, paymentID string, op *payment.Operation) error {
	if op == nil {
		return fmt.Errorf("store: nil operation for payment %q", paymentID)
	}
	if op.AccountID != accountID || op.PaymentID != paymentID {
		return fmt.Errorf("store: operation %s belongs to %s/%q, not %s/%q", op.ID, op.AccountID, op.PaymentID, accountID, paymentID)
	}
	return nil
}

// CheckOperationUpdated reports an update of an operation that changed
// what an operation never changes once reserved: its identity, owner,
// gateway, credential version, kind, amount, currency or creation time.
// Only the outcome, the gateway's answer and the reconciliation
// bookkeeping move.
func CheckOperationUpdated(before, after *payment.Operation) error {
	if after.ID != before.ID || after.AccountID != before.AccountID || after.PaymentID != before.PaymentID ||
		after.PaymentMethodID != before.PaymentMethodID || after.GatewayID != before.GatewayID ||
		after.CredentialVersion != before.CredentialVersion || after.Kind != before.Kind ||
		after.Amount != before.Amount || after.Currency != before.Currency || !after.CreatedAt.Equal(before.CreatedAt) {
		return fmt.Errorf("store: update of operation %s changed an immutable field", before.ID)
	}
	return nil
}

// SnapshotPayment copies p and its operations as they are before an
// UpdatePayment function may change them, for CheckPaymentUpdated and
// CheckPaymentChange.
func SnapshotPayment(p *payment.Payment) (payment.Payment, map[string]payment.Operation) {
	ops := make(map[string]payment.Operation, len(p.Operations))
	for _, op := range p.Operations {
		ops[op.ID] = *op
	}
	return *p, ops
}

// OperationIDs are the ids of p's operations, in order.
func OperationIDs(p *payment.Payment) []string {
	ids := make([]string, len(p.Operations))
	for i, op := range p.Operations {
		ids[i] = op.ID
	}
	return ids
}

// CheckPaymentChange reports operations and events of change that an
// update of the payment paymentID must not write: those of another payment
// or account, and changes of an operation's immutable fields. existing are
// the payment's operations before the update, from SnapshotPayment.
func CheckPaymentChange(accountID, paymentID string, existing map[string]payment.Operation, change *payment.PaymentChange) error {
	for _, op := range change.Operations {
		if err := CheckOperationOwner(accountID, paymentID, op); err != nil {
			return err
		}
		if old, ok := existing[op.ID]; ok {
			if err := CheckOperationUpdated(&old, op); err != nil {
				return err
			}
		}
	}
	for _, ev := range change.Events {
		if err := CheckEvent(accountID, ev); err != nil {
			return err
		}
	}
	return CheckNotices(accountID, paymentID, change)
}

// CheckSimulatorDecision reports what a simulator ledger must not record
// as the decision of the new operation call: a result other than
// succeeded, declined or failed, or an opened authorization of another
// gateway.
func CheckSimulatorDecision(call *payment.SimulatorOperation, res payment.SimulatorResult, opened *payment.SimulatorAuthorization) error {
	switch res.Outcome {
	case payment.OutcomeSucceeded, payment.OutcomeDeclined, payment.OutcomeFailed:
	default:
		return fmt.Errorf("store: simulator operation %s/%s decided %q; want succeeded, declined or failed", call.GatewayID, call.Reference, res.Outcome)
	}
	if opened != nil && opened.GatewayID != call.GatewayID {
		return fmt.Errorf("store: simulator operation %s/%s opened an authorization of gateway %s", call.GatewayID, call.Reference, opened.GatewayID)
	}
	return nil
}
