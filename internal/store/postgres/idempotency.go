package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kassapay/kassa/internal/payment"
)

const idempotencyColumns = `account_id, key, token, method, path, request_hash, completed, locked_until,
	point, payment_id, operation_id, response_status, response_body, created_at`

func scanIdempotencyRecord(row pgx.Row) (*payment.IdempotencyRecord, error) {
	var r payment.IdempotencyRecord
	var point string
	if err := row.Scan(&r.AccountID, &r.Key, &r.Token, &r.Method, &r.Path, &r.RequestHash, &r.Completed, &r.LockedUntil,
		&point, &r.PaymentID, &r.OperationID, &r.ResponseStatus, &r.ResponseBody, &r.CreatedAt); err != nil {
		return nil, err
	}
	r.Point = payment.RecoveryPoint(point)
	r.LockedUntil = utc(r.LockedUntil)
	r.CreatedAt = utc(r.CreatedAt)
	return &r, nil
}

// claimAttempts bounds the retries of ClaimIdempotencyKey when the record
// that blocked its claim is gone before it can be read (purged at that
// moment).
const claimAttempts = 5

// ClaimIdempotencyKey inserts rec as in flight, unless the key exists and
// is completed, bound to what its request reserved, or still locked. One
// INSERT … ON CONFLICT DO UPDATE … WHERE decides atomically: concurrent
// claims of one key wait on the row and then see the winner's lock.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, rec *payment.IdempotencyRecord) (*payment.IdempotencyRecord, bool, error) {
	for range claimAttempts {
		var existing *payment.IdempotencyRecord
		claimed := false
		err := s.withConn(ctx, func(q querier) error {
			err := q.QueryRow(ctx, `INSERT INTO idempotency_keys AS k (`+idempotencyColumns+`)
				VALUES ($1, $2, $3, $4, $5, $6, false, $7, 'started', '', '', 0, NULL, $8)
				ON CONFLICT (account_id, key) DO UPDATE SET
					token = EXCLUDED.token, method = EXCLUDED.method, path = EXCLUDED.path,
					request_hash = EXCLUDED.request_hash, completed = false, locked_until = EXCLUDED.locked_until,
					point = 'started', payment_id = '', operation_id = '',
					response_status = 0, response_body = NULL, created_at = EXCLUDED.created_at
				WHERE NOT k.completed AND k.point = 'started' AND k.locked_until <= EXCLUDED.created_at
				RETURNING true`,
				rec.AccountID, rec.Key, rec.Token, rec.Method, rec.Path, rec.RequestHash, ts(rec.LockedUntil), ts(rec.CreatedAt)).Scan(&claimed)
			if err == nil || !errors.Is(err, pgx.ErrNoRows) {
				return translate(err, rec.AccountID)
			}
			existing, err = scanIdempotencyRecord(q.QueryRow(ctx, `SELECT `+idempotencyColumns+` FROM idempotency_keys
				WHERE account_id = $1 AND key = $2`, rec.AccountID, rec.Key))
			if errors.Is(err, pgx.ErrNoRows) {
				return nil // purged meanwhile: try again
			}
			return err
		})
		if err != nil {
			return nil, false, fail("claim idempotency key", err)
		}
		if claimed {
			return nil, true, nil
		}
		if existing != nil {
			return existing, false, nil
		}
	}
	return nil, false, payment.Conflict(payment.CodeIdempotencyInUse, "The idempotency key is being claimed and purged repeatedly; retry the request.")
}

// TakeOverIdempotencyKey swaps the in-flight key's token, if it still holds
// token.
func (s *Store) TakeOverIdempotencyKey(ctx context.Context, accountID, key, token, newToken string, lockedUntil time.Time) error {
	var n int64
	err := s.withConn(ctx, func(q querier) error {
		tag, err := q.Exec(ctx, `UPDATE idempotency_keys SET token = $5, locked_until = $4
			WHERE account_id = $1 AND key = $2 AND token = $3 AND NOT completed`, accountID, key, token, ts(lockedUntil), newToken)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return fail("take over idempotency key", err)
	}
	if n == 0 {
		return payment.Conflict(payment.CodeIdempotencyInUse, "Another request took this Idempotency-Key over first.")
	}
	return nil
}

// CompleteIdempotencyKey stores the response of the key's request, if
// token still holds the key.
func (s *Store) CompleteIdempotencyKey(ctx context.Context, accountID, key, token string, status int, body []byte) error {
	var done, exists bool
	err := s.withConn(ctx, func(q querier) error {
		// One statement: whether this claim completed the key, and whether
		// the key exists at all.
		return q.QueryRow(ctx, `WITH u AS (
				UPDATE idempotency_keys SET completed = true, response_status = $4, response_body = $5
				WHERE account_id = $1 AND key = $2 AND token = $3 AND NOT completed
				RETURNING 1)
			SELECT EXISTS (SELECT 1 FROM u), EXISTS (SELECT 1 FROM idempotency_keys WHERE account_id = $1 AND key = $2)`,
			accountID, key, token, status, body).Scan(&done, &exists)
	})
	switch {
	case err != nil:
		return fail("complete idempotency key", err)
	case done:
		return nil
	case !exists:
		return payment.NotFound("idempotency_key", key)
	}
	return payment.ErrIdempotencyClaimLost
}

// claimsNewKey reports whether mark only claims a key that has no record
// yet (the reservation of IdempotencyAtReserve), with nothing else to
// check: its one check, that nobody holds the key, is the server's.
func claimsNewKey(mark *payment.IdempotencyMark) bool {
	return mark.Key != "" && mark.Record != nil && mark.Checkout == nil && mark.Reference == nil
}

// queueNewKeyClaim queues the insert of mark's record (claimsNewKey), if
// mark is not nil. It has no ON CONFLICT: a key that exists fails the
// statement with a unique violation of idempotency_keys_pkey, which
// rolls back the batch's implicit transaction and which translateClaim
// turns into ErrIdempotencyClaimLost. So it can join one statement.
func queueNewKeyClaim(b *pgx.Batch, mark *payment.IdempotencyMark) {
	if mark == nil {
		return
	}
	r := mark.Record
	b.Queue(`INSERT INTO idempotency_keys (`+idempotencyColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, false, $7, 'reserved', $8, $9, 0, NULL, $10)`,
		r.AccountID, r.Key, r.Token, r.Method, r.Path, r.RequestHash, ts(r.LockedUntil), mark.PaymentID, mark.OperationID,
		ts(r.CreatedAt))
}

// translateClaim is translate for a write that may hold queueNewKeyClaim:
// the key's unique violation means another request claimed it first.
func translateClaim(err error, accountID string) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == uniqueViolation && pe.ConstraintName == "idempotency_keys_pkey" {
		return payment.ErrIdempotencyClaimLost
	}
	return translate(err, accountID)
}

// queueMark queues mark into b (see payment.IdempotencyMark). A reserving
// mark whose claim was taken over fails b with ErrIdempotencyClaimLost, so
// b must run in a transaction that its failure rolls back.
func queueMark(b *pgx.Batch, mark *payment.IdempotencyMark) {
	if mark == nil {
		return
	}
	if a := mark.Checkout; a != nil && mark.Point == payment.RecoveryReserved {
		queueCheckoutAttempt(b, a, mark.PaymentID)
	}
	if ref := mark.Reference; ref != nil && mark.Point == payment.RecoveryReserved {
		r := *ref
		r.PaymentID, r.OperationID = mark.PaymentID, mark.OperationID
		queueReference(b, &r)
	}
	if mark.Key == "" {
		return
	}
	if r := mark.Record; r != nil {
		b.Queue(`INSERT INTO idempotency_keys (`+idempotencyColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, false, $7, 'reserved', $8, $9, 0, NULL, $10) ON CONFLICT (account_id, key) DO NOTHING`,
			r.AccountID, r.Key, r.Token, r.Method, r.Path, r.RequestHash, ts(r.LockedUntil), mark.PaymentID, mark.OperationID,
			ts(r.CreatedAt)).Exec(func(tag pgconn.CommandTag) error {
			if tag.RowsAffected() == 0 {
				return payment.ErrIdempotencyClaimLost
			}
			return nil
		})
		return
	}
	if mark.Point == payment.RecoveryReserved {
		b.Queue(`UPDATE idempotency_keys SET point = 'reserved', payment_id = $4, operation_id = $5
			WHERE account_id = $1 AND key = $2 AND token = $3 AND NOT completed AND point = 'started'`,
			mark.AccountID, mark.Key, mark.Token, mark.PaymentID, mark.OperationID).Exec(func(tag pgconn.CommandTag) error {
			if tag.RowsAffected() == 0 {
				return payment.ErrIdempotencyClaimLost
			}
			return nil
		})
		return
	}
	if a := mark.Answer; a != nil {
		b.Queue(`UPDATE idempotency_keys SET point = $4, completed = true, response_status = $5, response_body = $6
			WHERE account_id = $1 AND key = $2 AND token = $3 AND NOT completed AND point = 'reserved'`,
			mark.AccountID, mark.Key, mark.Token, string(mark.Point), a.Status, a.Body)
		return
	}
	b.Queue(`UPDATE idempotency_keys SET point = $4
		WHERE account_id = $1 AND key = $2 AND token = $3 AND NOT completed AND point = 'reserved'`,
		mark.AccountID, mark.Key, mark.Token, string(mark.Point))
}

// IdempotencyKey returns the account's record of key.
func (s *Store) IdempotencyKey(ctx context.Context, accountID, key string) (*payment.IdempotencyRecord, error) {
	var r *payment.IdempotencyRecord
	err := s.withConn(ctx, func(q querier) error {
		var err error
		r, err = scanIdempotencyRecord(q.QueryRow(ctx, `SELECT `+idempotencyColumns+` FROM idempotency_keys
			WHERE account_id = $1 AND key = $2`, accountID, key))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, payment.NotFound("idempotency_key", key)
	}
	if err != nil {
		return nil, fail("get idempotency key", err)
	}
	return r, nil
}

// SaveIdempotencyResponse inserts rec completed, unless the key exists.
func (s *Store) SaveIdempotencyResponse(ctx context.Context, r *payment.IdempotencyRecord) error {
	var n int64
	err := s.withConn(ctx, func(q querier) error {
		tag, err := q.Exec(ctx, `INSERT INTO idempotency_keys (`+idempotencyColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, true, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (account_id, key) DO NOTHING`,
			r.AccountID, r.Key, r.Token, r.Method, r.Path, r.RequestHash, ts(r.LockedUntil), string(r.Point),
			r.PaymentID, r.OperationID, r.ResponseStatus, r.ResponseBody, ts(r.CreatedAt))
		n = tag.RowsAffected()
		return translate(err, r.AccountID)
	})
	if err != nil {
		return fail("save idempotency response", err)
	}
	if n == 0 {
		return payment.ErrIdempotencyClaimLost
	}
	return nil
}

// PurgeIdempotencyKeys deletes the records created before before.
func (s *Store) PurgeIdempotencyKeys(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.withConn(ctx, func(q querier) error {
		tag, err := q.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, ts(before))
		n = tag.RowsAffected()
		return err
	})
	return int(n), fail("purge idempotency keys", err)
}

// markIdempotencyKey applies mark inside tx, as queueMark.
func markIdempotencyKey(ctx context.Context, tx pgx.Tx, mark *payment.IdempotencyMark) error {
	if mark == nil {
		return nil
	}
	b := &pgx.Batch{}
	queueMark(b, mark)
	return tx.SendBatch(ctx, b).Close()
}
