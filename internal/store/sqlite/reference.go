package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store"
)

const referenceColumns = `account_id, scope, reference, type, payment_id, operation_id, callback, callback_signer,
	payment_method_id, attributes, change_event_id, created_at`

// insertReference inserts ref inside tx: ErrReferenceTaken if its scope
// has the reference or its operation has one.
func insertReference(ctx context.Context, tx *wtx, ref *payment.TransactionReference) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO transaction_references (`+referenceColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		ref.AccountID, ref.Scope, ref.Reference, ref.Type, ref.PaymentID, ref.OperationID, ref.Callback, ref.CallbackSigner,
		ref.PaymentMethodID, nullText(string(ref.Attributes)), ref.ChangeEventID, micros(ref.CreatedAt))
	if err != nil {
		return translate(err, ref.AccountID)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return payment.ErrReferenceTaken
	}
	return insertCallback(ctx, tx, store.CallbackDelivery(ref, ref.OperationID, ref.CreatedAt))
}

// insertCallback inserts d, a callback a transaction reference promises
// (nil: none), with the account's live flag.
func insertCallback(ctx context.Context, tx *wtx, d *payment.WebhookDelivery) error {
	if d == nil {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, account_id, message_id, signer, signer_key,
			method, url, queue, live, state, next_attempt_at, created_at, updated_at)
		SELECT ?, id, ?, ?, ?, ?, ?, ?, live, 'pending', ?, ?, ? FROM accounts WHERE id = ?`,
		d.ID, d.MessageID, d.Signer, d.SignerKey, d.Method, d.URL, d.Queue,
		micros(d.NextAttemptAt), micros(d.CreatedAt), micros(d.UpdatedAt), d.AccountID)
	return err
}

// writeNotices writes a payment change's notices inside tx (see
// payment.TransactionNotice): the change recorded on each reference, and
// the callbacks promised.
func writeNotices(ctx context.Context, tx *wtx, notices []*payment.TransactionNotice) error {
	for _, n := range notices {
		ref := n.Reference
		if n.ChangeEventID != "" {
			res, err := tx.ExecContext(ctx, `UPDATE transaction_references SET change_event_id = ?
				WHERE account_id = ? AND scope = ? AND reference = ? AND payment_id = ?`,
				n.ChangeEventID, ref.AccountID, ref.Scope, ref.Reference, ref.PaymentID)
			if err != nil {
				return err
			}
			if m, err := res.RowsAffected(); err != nil {
				return err
			} else if m != 1 {
				return fmt.Errorf("store: transaction reference %q of payment %s is not there to record its change", ref.Reference, ref.PaymentID)
			}
		}
		if err := insertCallback(ctx, tx, store.CallbackDelivery(ref, n.TransactionID, n.At)); err != nil {
			return err
		}
	}
	return nil
}

// CreateTransactionReference inserts ref on its own.
func (s *Store) CreateTransactionReference(ctx context.Context, ref *payment.TransactionReference) error {
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error { return insertReference(ctx, tx, ref) })
	return fail("create transaction reference", err)
}

// TransactionReference returns the account's reference in scope.
func (s *Store) TransactionReference(ctx context.Context, accountID, scope, reference string) (*payment.TransactionReference, error) {
	r, err := s.referenceWhere(ctx, accountID, scope, `reference = ?`, reference)
	return r, fail("get transaction reference", err)
}

// TransactionReferenceByOperation returns the reference in scope naming
// operationID.
func (s *Store) TransactionReferenceByOperation(ctx context.Context, accountID, scope, operationID string) (*payment.TransactionReference, error) {
	r, err := s.referenceWhere(ctx, accountID, scope, `operation_id = ?`, operationID)
	return r, fail("get transaction reference", err)
}

func (s *Store) referenceWhere(ctx context.Context, accountID, scope, cond, v string) (*payment.TransactionReference, error) {
	var r payment.TransactionReference
	var attributes sql.Null[string]
	var created int64
	err := s.reader.QueryRowContext(ctx, `SELECT `+referenceColumns+` FROM transaction_references
		WHERE account_id = ? AND (scope = ? OR ? = '') AND `+cond, accountID, scope, scope, v).Scan(
		&r.AccountID, &r.Scope, &r.Reference, &r.Type, &r.PaymentID, &r.OperationID, &r.Callback, &r.CallbackSigner,
		&r.PaymentMethodID, &attributes, &r.ChangeEventID, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, payment.NotFound("transaction", v)
	}
	if err != nil {
		return nil, err
	}
	if attributes.Valid {
		r.Attributes = json.RawMessage(attributes.V)
	}
	r.CreatedAt = fromMicros(created)
	return &r, nil
}
