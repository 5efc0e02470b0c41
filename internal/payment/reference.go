package payment

import (
	"context"
	"encoding/json"
	"time"
)

// TransactionReference is a client's own name for one of its transactions,
// unique within a scope and kept for good: IXOPAY's merchantTransactionId,
// unique per connector. It is claimed in the same database transaction as
// the operation it names is reserved (IdempotencyMark.Reference), so a
// duplicate is refused before anything reaches a gateway and a crash never
// leaves an operation without its name.
type TransactionReference struct {
	AccountID string
	// Scope is what the reference is unique in (an IXOPAY connector guid).
	Scope     string
	Reference string
	// Type is the dialect's name of the transaction (IXOPAY's DEBIT,
	// PREAUTHORIZE, …).
	Type string
	// PaymentID is the payment the operation belongs to, or empty for an
	// operation outside any payment.
	PaymentID string
	// OperationID is the operation the reference names: the id the
	// dialect shows for the transaction. A transaction that calls no
	// gateway (IXOPAY's deregister) has an id of the same form that names
	// no operation.
	OperationID string
	// PaymentMethodID is the payment method the transaction used.
	PaymentMethodID string
	// Callback is the URL the client asked to be told the outcome at
	// (IXOPAY's callbackUrl), or empty. With CallbackSigner (a
	// WebhookDelivery's Signer) set, the store writes with the reference a
	// delivery to it, without a body, that the dialect's signer renders
	// once the transaction is final: a callback promised in the
	// reservation's transaction, which no crash can lose. Both are kept,
	// so that a later change (a TransactionNotice) can promise another.
	Callback       string
	CallbackSigner string
	// Attributes are the transaction's fields the dialect keeps and shows
	// but kassa does not act on, as the dialect renders them (a JSON
	// object: IXOPAY's extraData, merchantMetaData, additionalId1/2,
	// description, referenceUuid), or nil. Free text in them is checked
	// for card numbers by the dialect before it claims the reference.
	Attributes json.RawMessage
	// ChangeEventID is the event of the latest change of the transaction
	// after its outcome was final (payment.reversal_reported), written by
	// the change's TransactionNotice; empty when there was none. The
	// dialect shows the transaction as that event left it.
	ChangeEventID string
	CreatedAt     time.Time
}

// TransactionNotice tells a transaction reference of a change of its
// payment, in the change's own database transaction (PaymentChange.Notices):
//
//   - TransactionID names the transaction the change is about, as the
//     dialect shows it: the reference's own (its OperationID), or a
//     follow-up of it made outside the dialect (the follow-up's operation
//     id), which the reference's callback is told of.
//   - ChangeEventID, when set, is the change's event (one of the
//     PaymentChange's Events): the transaction changed after its outcome
//     was final, and the reference records it (its ChangeEventID).
//
// When the reference has a callback (Callback and CallbackSigner) the
// notice promises one to it: a delivery without a body, made and due At,
// that the dialect's signer renders from the transaction as it then is (or
// puts back while it is not final), exactly as the reservation's promise.
type TransactionNotice struct {
	Reference     *TransactionReference
	TransactionID string
	ChangeEventID string
	At            time.Time
}

// CodeReferenceTaken: a TransactionReference already exists in its scope.
const CodeReferenceTaken = "reference_taken"

// ErrReferenceTaken reports that a transaction reference is taken in its
// scope: nothing was reserved. It is a conflict.
var ErrReferenceTaken = &Error{Kind: KindConflict, Code: CodeReferenceTaken,
	Message: "This reference is already used by another transaction."}

// TransactionReferenceStore keeps transaction references. References are
// normally written by the reserve that binds them (IdempotencyMark); the
// store writes one on its own only for a transaction that reserves nothing.
type TransactionReferenceStore interface {
	// CreateTransactionReference inserts ref. ErrReferenceTaken if its
	// scope has the reference, or the operation id has a reference.
	CreateTransactionReference(ctx context.Context, ref *TransactionReference) error
	// TransactionReference returns the account's reference in scope, or
	// ErrNotFound.
	TransactionReference(ctx context.Context, accountID, scope, reference string) (*TransactionReference, error)
	// TransactionReferenceByOperation returns the reference in scope that
	// names operationID, or ErrNotFound (also for another scope's). An
	// empty scope matches any: an operation has at most one reference.
	TransactionReferenceByOperation(ctx context.Context, accountID, scope, operationID string) (*TransactionReference, error)
}
