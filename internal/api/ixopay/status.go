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
	ref, err := s.eng.TransactionReferenceByOperation(r.Context(), p, c.GUID, id)
	if errors.Is(err, payment.ErrNotFound) {
		return transactionNotFound("uuid", id)
	}
	if err != nil {
		return err
	}
	return s.status(w, r, p, ref)
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
	return s.status(w, r, p, ref)
}

// status renders the transaction ref names as it stands now.
func (s *server) status(w http.ResponseWriter, r *http.Request, p *payment.Principal, ref *payment.TransactionReference) error {
	res, err := s.statusOf(r.Context(), p, ref)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

func (s *server) statusOf(ctx context.Context, p *payment.Principal, ref *payment.TransactionReference) (*statusResult, error) {
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
	if op.Amount > 0 && ref.Type != TypeRegister && ref.Type != TypeVoid {
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
	return res, nil
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
