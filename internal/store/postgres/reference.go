package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store"
)

const referenceColumns = `account_id, scope, reference, type, payment_id, operation_id, callback, payment_method_id, created_at`

// queueReference queues the insert of ref into b: ErrReferenceTaken if its
// scope has the reference or its operation has one.
func queueReference(b *pgx.Batch, ref *payment.TransactionReference) {
	b.Queue(`INSERT INTO transaction_references (`+referenceColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
		ref.AccountID, ref.Scope, ref.Reference, ref.Type, ref.PaymentID, ref.OperationID, ref.Callback, ref.PaymentMethodID,
		ts(ref.CreatedAt)).Exec(func(tag pgconn.CommandTag) error {
		if tag.RowsAffected() == 0 {
			return payment.ErrReferenceTaken
		}
		return nil
	})
	if d := store.CallbackDelivery(ref); d != nil {
		b.Queue(`INSERT INTO webhook_deliveries (id, account_id, message_id, signer, signer_key,
				method, url, queue, live, state, next_attempt_at, created_at, updated_at)
			SELECT $1, id, $2, $3, $4, $5, $6, $7, live, 'pending', $8, $9, $9 FROM accounts WHERE id = $10`,
			d.ID, d.MessageID, d.Signer, d.SignerKey, d.Method, d.URL, d.Queue, ts(d.NextAttemptAt), ts(d.CreatedAt), d.AccountID)
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
	err := s.withConn(ctx, func(q querier) error {
		return q.QueryRow(ctx, `SELECT `+referenceColumns+` FROM transaction_references
			WHERE account_id = $1 AND (scope = $2 OR $2 = '') AND `+cond, accountID, scope, v).Scan(
			&r.AccountID, &r.Scope, &r.Reference, &r.Type, &r.PaymentID, &r.OperationID, &r.Callback, &r.PaymentMethodID, &r.CreatedAt)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, payment.NotFound("transaction", v)
	}
	if err != nil {
		return nil, err
	}
	r.CreatedAt = utc(r.CreatedAt)
	return &r, nil
}
