package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store"
)

const referenceColumns = `account_id, scope, reference, type, payment_id, operation_id, callback, callback_signer,
	payment_method_id, attributes, change_event_id, created_at`

// queueReference queues the insert of ref into b: ErrReferenceTaken if its
// scope has the reference or its operation has one.
func queueReference(b *pgx.Batch, ref *payment.TransactionReference) {
	var attributes *string
	if ref.Attributes != nil {
		attributes = new(string(ref.Attributes))
	}
	b.Queue(`INSERT INTO transaction_references (`+referenceColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING`,
		ref.AccountID, ref.Scope, ref.Reference, ref.Type, ref.PaymentID, ref.OperationID, ref.Callback, ref.CallbackSigner,
		ref.PaymentMethodID, attributes, ref.ChangeEventID, ts(ref.CreatedAt)).Exec(func(tag pgconn.CommandTag) error {
		if tag.RowsAffected() == 0 {
			return payment.ErrReferenceTaken
		}
		return nil
	})
	queueCallback(b, store.CallbackDelivery(ref, ref.OperationID, ref.CreatedAt))
}

// queueCallback queues the insert of d, a callback a transaction reference
// promises (nil: none), with the account's live flag.
func queueCallback(b *pgx.Batch, d *payment.WebhookDelivery) {
	if d == nil {
		return
	}
	b.Queue(`INSERT INTO webhook_deliveries (id, account_id, message_id, signer, signer_key,
			method, url, queue, live, state, next_attempt_at, created_at, updated_at)
		SELECT $1, id, $2, $3, $4, $5, $6, $7, live, 'pending', $8, $9, $9 FROM accounts WHERE id = $10`,
		d.ID, d.MessageID, d.Signer, d.SignerKey, d.Method, d.URL, d.Queue, ts(d.NextAttemptAt), ts(d.CreatedAt), d.AccountID)
}

// queueNotices queues a payment change's notices (see
// payment.TransactionNotice): the change recorded on each reference, and
// the callbacks promised.
func queueNotices(b *pgx.Batch, notices []*payment.TransactionNotice) {
	for _, n := range notices {
		ref := n.Reference
		if n.ChangeEventID != "" {
			b.Queue(`UPDATE transaction_references SET change_event_id = $1
				WHERE account_id = $2 AND scope = $3 AND reference = $4 AND payment_id = $5`,
				n.ChangeEventID, ref.AccountID, ref.Scope, ref.Reference, ref.PaymentID).Exec(func(tag pgconn.CommandTag) error {
				if tag.RowsAffected() != 1 {
					return fmt.Errorf("store: transaction reference %q of payment %s is not there to record its change", ref.Reference, ref.PaymentID)
				}
				return nil
			})
		}
		queueCallback(b, store.CallbackDelivery(ref, n.TransactionID, n.At))
	}
}

// CreateTransactionReference inserts ref on its own.
func (s *Store) CreateTransactionReference(ctx context.Context, ref *payment.TransactionReference) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		queueReference(b, ref)
		return translate(tx.SendBatch(ctx, b).Close(), ref.AccountID)
	})
	return fail("create transaction reference", err)
}

// TransactionReference returns the account's reference in scope.
func (s *Store) TransactionReference(ctx context.Context, accountID, scope, reference string) (*payment.TransactionReference, error) {
	r, err := s.referenceWhere(ctx, accountID, scope, `reference = $3`, reference)
	return r, fail("get transaction reference", err)
}

// TransactionReferenceByOperation returns the reference in scope naming
// operationID.
func (s *Store) TransactionReferenceByOperation(ctx context.Context, accountID, scope, operationID string) (*payment.TransactionReference, error) {
	r, err := s.referenceWhere(ctx, accountID, scope, `operation_id = $3`, operationID)
	return r, fail("get transaction reference", err)
}

func (s *Store) referenceWhere(ctx context.Context, accountID, scope, cond, v string) (*payment.TransactionReference, error) {
	var r payment.TransactionReference
	var attributes *string
	err := s.withConn(ctx, func(q querier) error {
		return q.QueryRow(ctx, `SELECT `+referenceColumns+` FROM transaction_references
			WHERE account_id = $1 AND (scope = $2 OR $2 = '') AND `+cond, accountID, scope, v).Scan(
			&r.AccountID, &r.Scope, &r.Reference, &r.Type, &r.PaymentID, &r.OperationID, &r.Callback, &r.CallbackSigner,
			&r.PaymentMethodID, &attributes, &r.ChangeEventID, &r.CreatedAt)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, payment.NotFound("transaction", v)
	}
	if err != nil {
		return nil, err
	}
	if attributes != nil {
		r.Attributes = json.RawMessage(*attributes)
	}
	r.CreatedAt = utc(r.CreatedAt)
	return &r, nil
}
