package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kassapay/kassa/internal/payment"
)

const idempotencyColumns = `account_id, key, method, path, request_hash, completed, locked_until,
	response_status, response_body, created_at`

func scanIdempotencyRecord(row pgx.Row) (*payment.IdempotencyRecord, error) {
	var r payment.IdempotencyRecord
	if err := row.Scan(&r.AccountID, &r.Key, &r.Method, &r.Path, &r.RequestHash, &r.Completed, &r.LockedUntil,
		&r.ResponseStatus, &r.ResponseBody, &r.CreatedAt); err != nil {
		return nil, err
	}
	r.LockedUntil = utc(r.LockedUntil)
	r.CreatedAt = utc(r.CreatedAt)
	return &r, nil
}

// claimAttempts bounds the retries of ClaimIdempotencyKey when the record
// that blocked its claim is gone before it can be read (purged at that
// moment).
const claimAttempts = 5

// ClaimIdempotencyKey inserts rec as in flight, unless the key is completed
// or still locked by another request. One INSERT … ON CONFLICT DO UPDATE …
// WHERE decides atomically: concurrent claims of one key wait on the row
// and then see the winner's lock.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, rec *payment.IdempotencyRecord) (*payment.IdempotencyRecord, bool, error) {
	for range claimAttempts {
		var existing *payment.IdempotencyRecord
		claimed := false
		err := s.withConn(ctx, func(q querier) error {
			err := q.QueryRow(ctx, `INSERT INTO idempotency_keys AS k (`+idempotencyColumns+`)
				VALUES ($1, $2, $3, $4, $5, false, $6, 0, NULL, $7)
				ON CONFLICT (account_id, key) DO UPDATE SET
					method = EXCLUDED.method, path = EXCLUDED.path, request_hash = EXCLUDED.request_hash,
					completed = false, locked_until = EXCLUDED.locked_until,
					response_status = 0, response_body = NULL, created_at = EXCLUDED.created_at
				WHERE NOT k.completed AND k.locked_until <= EXCLUDED.created_at
				RETURNING true`,
				rec.AccountID, rec.Key, rec.Method, rec.Path, rec.RequestHash, ts(rec.LockedUntil), ts(rec.CreatedAt)).Scan(&claimed)
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

// CompleteIdempotencyKey stores the response of the key's request.
// ErrNotFound if the account has no such key.
func (s *Store) CompleteIdempotencyKey(ctx context.Context, accountID, key string, status int, body []byte) error {
	var n int64
	err := s.withConn(ctx, func(q querier) error {
		tag, err := q.Exec(ctx, `UPDATE idempotency_keys SET completed = true, response_status = $3, response_body = $4
			WHERE account_id = $1 AND key = $2`, accountID, key, status, body)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return fail("complete idempotency key", err)
	}
	if n == 0 {
		return payment.NotFound("idempotency_key", key)
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
