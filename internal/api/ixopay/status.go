package ixopay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// Transaction statuses of the status API.
const (
	StatusSuccess = "SUCCESS"
	StatusPending = "PENDING"
	StatusError   = "ERROR"
)

func (s *server) statusByUUID(w http.ResponseWriter, r *http.Request, p *payment.Principal) error {
	id := r.PathValue("uuid")
	if err := engine.CheckNoCardNumber("uuid", id); err != nil {
		return err
	}
	c, _, err := s.openConnector(r, p, false)
	if errors.Is(err, errUnknownConnector) {
		return transactionNotFound("uuid", id)
	}
	if err != nil {
		return err
	}
	t, err := s.transaction(r.Context(), p, c.GUID, id)
	if errors.Is(err, payment.ErrNotFound) {
		return transactionNotFound("uuid", id)
	}
	if err != nil {
		return err
	}
	return s.status(w, r, p, t)
}

func (s *server) statusByMerchantTransactionID(w http.ResponseWriter, r *http.Request, p *payment.Principal) error {
	id := r.PathValue("merchantTransactionId")
	if err := engine.CheckNoCardNumber("merchantTransactionId", id); err != nil {
		return err
	}
	c, _, err := s.openConnector(r, p, false)
	if errors.Is(err, errUnknownConnector) {
		return transactionNotFound("merchantTransactionId", id)
	}
	if err != nil {
		return err
	}
	ref, err := s.eng.TransactionReference(r.Context(), p, c.GUID, id)
	if errors.Is(err, payment.ErrNotFound) {
		return transactionNotFound("merchantTransactionId", id)
	}
	if err != nil {
		return err
	}
	return s.status(w, r, p, &txn{ref: ref})
}

// txn is one IXOPAY transaction: a transaction reference's own, or a
// follow-up made outside the dialect (through kassa's native API, say) on
// a payment one of the connector's transactions made. IXOPAY shows a
// follow-up it did not make through its API as a transaction of its own,
// with no merchantTransactionId, and calls back the callbackUrl of the
// transaction it follows up.
type txn struct {
	// ref is the transaction's reference, or the reference of the
	// transaction that made the payment of a follow-up made outside.
	ref *payment.TransactionReference
	// outside is the operation id of a follow-up made outside, or empty.
	outside string
}

// followUpTypes name the operations of a payment that are transactions of
// their own.
var followUpTypes = map[payment.OperationKind]string{
	payment.OpCapture: TypeCapture, payment.OpVoid: TypeVoid, payment.OpRefund: TypeRefund,
}

// transaction finds the caller's transaction uuid in the connector scope,
// or ErrNotFound (also for another connector's or another merchant's).
func (s *server) transaction(ctx context.Context, p *payment.Principal, scope, uuid string) (*txn, error) {
	ref, err := s.eng.TransactionReferenceByOperation(ctx, p, "", uuid)
	switch {
	case err == nil && ref.Scope == scope:
		return &txn{ref: ref}, nil
	case err == nil:
		return nil, payment.NotFound("transaction", uuid)
	case !errors.Is(err, payment.ErrNotFound):
		return nil, err
	}
	op, err := s.eng.Operation(ctx, p.Account.ID, uuid)
	if err != nil {
		return nil, err
	}
	if _, ok := followUpTypes[op.Kind]; !ok || op.PaymentID == "" {
		// Not a transaction: a router's later attempt answers under the
		// first's uuid, a verification under its register's.
		return nil, payment.NotFound("transaction", uuid)
	}
	pay, err := s.eng.Payment(ctx, p.Account.ID, op.PaymentID)
	if err != nil {
		return nil, err
	}
	origin, err := s.eng.TransactionReferenceByOperation(ctx, p, scope, pay.Operations[0].ID)
	if err != nil {
		return nil, err
	}
	return &txn{ref: origin, outside: op.ID}, nil
}

// status renders the transaction as it stands now.
func (s *server) status(w http.ResponseWriter, r *http.Request, p *payment.Principal, t *txn) error {
	res, err := s.statusOf(r.Context(), p, t)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

func (s *server) statusOf(ctx context.Context, p *payment.Principal, t *txn) (*statusResult, error) {
	if t.outside != "" {
		return s.outsideStatus(ctx, p, t)
	}
	ref := t.ref
	k := keptIn(ref.Attributes)
	res := &statusResult{Success: true, UUID: ref.OperationID, MerchantTransactionID: ref.Reference,
		PurchaseID: ref.PaymentID, TransactionType: ref.Type, PaymentMethod: paymentMethodCreditcard,
		ReferenceUUID: k.ReferenceUUID, ExtraData: k.ExtraData, MerchantMetaData: k.MerchantMetaData}
	if pm, err := s.eng.PaymentMethod(ctx, p.Account.ID, ref.PaymentMethodID); err == nil {
		res.ReturnData = cardReturnData(pm)
	}
	var op *payment.Operation
	switch {
	case ref.PaymentID != "":
		pay, err := s.eng.Payment(ctx, p.Account.ID, ref.PaymentID)
		if err != nil {
			return nil, err
		}
		for _, o := range pay.Operations {
			if o.ID == ref.OperationID {
				op = o
			}
		}
		if op == nil {
			return nil, errors.New("ixopay: a transaction reference names an operation its payment lacks")
		}
		if ref.Type == TypeDebit || ref.Type == TypePreauthorize {
			// A router's later attempt answers for the transaction.
			op = authorization(pay)
			if ref.Attributes == nil {
				// Named before references kept their fields: the
				// payment's metadata has them.
				res.ExtraData = rawJSON(pay.Metadata[mdExtraData])
				res.MerchantMetaData = pay.Metadata[mdMerchantMetaData]
			}
		}
	case ref.Type == TypeDeregister:
		res.TransactionStatus = StatusSuccess
		return res, nil
	default:
		o, err := s.eng.Operation(ctx, p.Account.ID, ref.OperationID)
		if err != nil {
			return nil, err
		}
		op = o
	}
	return res, s.showOutcome(ctx, p, ref, op, res)
}

// outsideStatus is the status of a follow-up made outside the dialect:
// its own uuid, type and amount, no merchantTransactionId, and the uuid of
// the transaction it follows up as referenceUuid.
func (s *server) outsideStatus(ctx context.Context, p *payment.Principal, t *txn) (*statusResult, error) {
	pay, err := s.eng.Payment(ctx, p.Account.ID, t.ref.PaymentID)
	if err != nil {
		return nil, err
	}
	var op *payment.Operation
	for _, o := range pay.Operations {
		if o.ID == t.outside {
			op = o
		}
	}
	if op == nil {
		return nil, errors.New("ixopay: a follow-up is not part of its payment")
	}
	res := &statusResult{Success: true, UUID: op.ID, PurchaseID: pay.ID, TransactionType: followUpTypes[op.Kind],
		PaymentMethod: paymentMethodCreditcard, ReferenceUUID: t.ref.OperationID}
	if pm, err := s.eng.PaymentMethod(ctx, p.Account.ID, op.PaymentMethodID); err == nil {
		res.ReturnData = cardReturnData(pm)
	}
	return res, s.showOutcome(ctx, p, t.ref, op, res)
}

// showOutcome puts on res the amount and the outcome of op, the operation
// res shows, as ref's transaction records it: a succeeded operation the
// provider reported reversed afterwards (ref's recorded change) is an
// ERROR with the reported error, and res is marked changed.
func (s *server) showOutcome(ctx context.Context, p *payment.Principal, ref *payment.TransactionReference, op *payment.Operation, res *statusResult) error {
	if op.Amount > 0 && res.TransactionType != TypeRegister && res.TransactionType != TypeVoid {
		exp, _ := currencyExponent(op.Currency)
		res.Amount, res.Currency = FormatAmount(op.Amount, exp), op.Currency
	}
	switch op.Outcome {
	case payment.OutcomeSucceeded:
		res.TransactionStatus = StatusSuccess
	case payment.OutcomePending, payment.OutcomeUnknown:
		res.TransactionStatus = StatusPending
	default:
		res.TransactionStatus = StatusError
		res.Errors = []txError{operationError(op)}
	}
	if ref.ChangeEventID == "" || op.Outcome != payment.OutcomeSucceeded {
		return nil
	}
	ev, err := s.eng.Event(ctx, p, ref.ChangeEventID)
	if err != nil {
		return err
	}
	if r, ok := engine.ReversalOf(ev); ok && r.Operation == op.ID {
		res.TransactionStatus = StatusError
		res.Errors = []txError{operationError(&payment.Operation{Outcome: r.ReportedOutcome, DeclineCode: r.DeclineCode, Message: r.Message})}
		res.changed = true
	}
	return nil
}

// rawJSON is s as a JSON value, or nil when s is empty.
func rawJSON(s string) json.RawMessage {
	if s == "" || !json.Valid([]byte(s)) {
		return nil
	}
	return json.RawMessage(s)
}

// compactJSON is b without insignificant space, or nil for null or
// nothing.
func compactJSON(b json.RawMessage) []byte {
	if len(b) == 0 || bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil
	}
	return buf.Bytes()
}
