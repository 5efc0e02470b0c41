package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

const idempotencyColumns = `account_id, key, method, path, request_hash, completed, locked_until,
	response_status, response_body, created_at`

func scanIdempotencyRecord(sc scanner) (*payment.IdempotencyRecord, error) {
	var r payment.IdempotencyRecord
	var locked, created int64
	if err := sc.Scan(&r.AccountID, &r.Key, &r.Method, &r.Path, &r.RequestHash, &r.Completed, &locked,
		&r.ResponseStatus, &r.ResponseBody, &created); err != nil {
		return nil, err
	}
	r.LockedUntil = fromMicros(locked)
	r.CreatedAt = fromMicros(created)
	return &r, nil
}

// ClaimIdempotencyKey inserts rec as in flight, unless the key is completed
// or still locked by another request. The writer's IMMEDIATE transaction
// makes the check and the write one step.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, rec *payment.IdempotencyRecord) (*payment.IdempotencyRecord, bool, error) {
	var existing *payment.IdempotencyRecord
	err := s.write(ctx, func(tx *sql.Tx) error {
		r, err := scanIdempotencyRecord(tx.QueryRowContext(ctx, `SELECT `+idempotencyColumns+` FROM idempotency_keys
			WHERE account_id = ? AND key = ?`, rec.AccountID, rec.Key))
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case r.Completed || r.LockedUntil.After(rec.CreatedAt):
			existing = r
			return nil
		}
		// New, or taken over from a request that died: rec replaces it.
		_, err = tx.ExecContext(ctx, `INSERT INTO idempotency_keys (`+idempotencyColumns+`)
			VALUES (?, ?, ?, ?, ?, 0, ?, 0, NULL, ?)
			ON CONFLICT (account_id, key) DO UPDATE SET
				method = excluded.method, path = excluded.path, request_hash = excluded.request_hash,
				completed = 0, locked_until = excluded.locked_until,
				response_status = 0, response_body = NULL, created_at = excluded.created_at`,
			rec.AccountID, rec.Key, rec.Method, rec.Path, rec.RequestHash, micros(rec.LockedUntil), micros(rec.CreatedAt))
		return translate(err, rec.AccountID)
	})
	if err != nil {
		return nil, false, fail("claim idempotency key", err)
	}
	if existing != nil {
		return existing, false, nil
	}
	return nil, true, nil
}

// CompleteIdempotencyKey stores the response of the key's request.
// ErrNotFound if the account has no such key.
func (s *Store) CompleteIdempotencyKey(ctx context.Context, accountID, key string, status int, body []byte) error {
	res, err := s.writer.ExecContext(ctx, `UPDATE idempotency_keys SET completed = 1, response_status = ?, response_body = ?
		WHERE account_id = ? AND key = ?`, status, body, accountID, key)
	if err != nil {
		return fail("complete idempotency key", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fail("complete idempotency key", err)
	} else if n == 0 {
		return payment.NotFound("idempotency_key", key)
	}
	return nil
}

// PurgeIdempotencyKeys deletes the records created before before.
func (s *Store) PurgeIdempotencyKeys(ctx context.Context, before time.Time) (int, error) {
	res, err := s.writer.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < ?`, micros(before))
	if err != nil {
		return 0, fail("purge idempotency keys", err)
	}
	n, err := res.RowsAffected()
	return int(n), fail("purge idempotency keys", err)
}
