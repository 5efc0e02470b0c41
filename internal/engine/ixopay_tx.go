package engine

import (
	"context"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// Now is the engine's clock, for a dialect that checks times against it
// (request signatures' Date).
func (e *Engine) Now() time.Time { return e.clock() }

// WithTransactionReference returns ctx under which the next reservation
// (CreatePayment, a follow-up, StandaloneOperation) also claims ref, in the
// same database transaction, bound to the payment and operation it
// reserves. A taken reference fails the call with ErrReferenceTaken before
// anything is sent. ref's ids are filled in by the reservation.
func (e *Engine) WithTransactionReference(ctx context.Context, p *payment.Principal, ref *payment.TransactionReference) context.Context {
	ref.AccountID = p.Account.ID
	if ref.CreatedAt.IsZero() {
		ref.CreatedAt = e.clock()
	}
	return WithIdempotencyClaim(ctx, &IdempotencyClaim{accountID: ref.AccountID, reference: ref})
}

// TransactionReference returns the caller's reference in scope, or
// ErrNotFound.
func (e *Engine) TransactionReference(ctx context.Context, p *payment.Principal, scope, reference string) (*payment.TransactionReference, error) {
	return e.store.TransactionReference(ctx, p.Account.ID, scope, reference)
}

// TransactionReferenceByOperation returns the caller's reference in scope
// naming operationID, or ErrNotFound.
func (e *Engine) TransactionReferenceByOperation(ctx context.Context, p *payment.Principal, scope, operationID string) (*payment.TransactionReference, error) {
	return e.store.TransactionReferenceByOperation(ctx, p.Account.ID, scope, operationID)
}

// CreateTransactionReference records a reference for a transaction that
// reserves nothing (IXOPAY's deregister); ErrReferenceTaken if taken.
func (e *Engine) CreateTransactionReference(ctx context.Context, p *payment.Principal, ref *payment.TransactionReference) error {
	ref.AccountID = p.Account.ID
	ref.CreatedAt = e.clock()
	return e.store.CreateTransactionReference(ctx, ref)
}

// ConnectorByGUID returns account's connector guid (for a callback's
// signer, which has no caller), or ErrNotFound.
func (e *Engine) ConnectorByGUID(ctx context.Context, accountID, guid string) (*payment.Connector, error) {
	return e.store.Connector(ctx, accountID, guid)
}

// SealConnectorSecret seals a connector's shared secret for the store, as
// the provisioning API does; for code that writes connectors itself.
func (e *Engine) SealConnectorSecret(ctx context.Context, accountID, guid, secret string) ([]byte, error) {
	return e.sealConnectorSecret(ctx, accountID, guid, secret)
}
