package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

const idempotencyColumns = `account_id, key, token, method, path, request_hash, completed, locked_until,
	point, payment_id, operation_id, response_status, response_body, created_at`

func scanIdempotencyRecord(sc scanner) (*payment.IdempotencyRecord, error) {
	var r payment.IdempotencyRecord
	var locked, created int64
	var point string
	if err := sc.Scan(&r.AccountID, &r.Key, &r.Token, &r.Method, &r.Path, &r.RequestHash, &r.Completed, &locked,
		&point, &r.PaymentID, &r.OperationID, &r.ResponseStatus, &r.ResponseBody, &created); err != nil {
		return nil, err
	}
	r.Point = payment.RecoveryPoint(point)
	r.LockedUntil = fromMicros(locked)
	r.CreatedAt = fromMicros(created)
	return &r, nil
}

// ClaimIdempotencyKey inserts rec as in flight, unless the key exists and
// is completed, bound to what its request reserved, or still locked. The
// writer's IMMEDIATE transaction makes the check and the write one step.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, rec *payment.IdempotencyRecord) (*payment.IdempotencyRecord, bool, error) {
	var existing *payment.IdempotencyRecord
	err := s.writeRerunnable(ctx, func(ctx context.Context, tx *wtx) error {
		existing = nil
		r, err := scanIdempotencyRecord(tx.QueryRowContext(ctx, `SELECT `+idempotencyColumns+` FROM idempotency_keys
			WHERE account_id = ? AND key = ?`, rec.AccountID, rec.Key))
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case r.Completed || r.Point != payment.RecoveryStarted || r.LockedUntil.After(rec.CreatedAt):
			existing = r
			return nil
		}
		// New, or taken over from a request that died before reserving
		// anything: rec replaces it.
		_, err = tx.ExecContext(ctx, `INSERT INTO idempotency_keys (`+idempotencyColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, 0, ?, 'started', '', '', 0, NULL, ?)
			ON CONFLICT (account_id, key) DO UPDATE SET
				token = excluded.token, method = excluded.method, path = excluded.path,
				request_hash = excluded.request_hash, completed = 0, locked_until = excluded.locked_until,
				point = 'started', payment_id = '', operation_id = '',
				response_status = 0, response_body = NULL, created_at = excluded.created_at`,
			rec.AccountID, rec.Key, rec.Token, rec.Method, rec.Path, rec.RequestHash, micros(rec.LockedUntil), micros(rec.CreatedAt))
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

// TakeOverIdempotencyKey swaps the in-flight key's token, if it still holds
// token.
func (s *Store) TakeOverIdempotencyKey(ctx context.Context, accountID, key, token, newToken string, lockedUntil time.Time) error {
	var n int64
	err := s.writeRerunnable(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET token = ?, locked_until = ?
			WHERE account_id = ? AND key = ? AND token = ? AND completed = 0`, newToken, micros(lockedUntil), accountID, key, token)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
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
	var n int64
	err := s.writeRerunnable(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET completed = 1, response_status = ?, response_body = ?
			WHERE account_id = ? AND key = ? AND token = ? AND completed = 0`, status, body, accountID, key, token)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fail("complete idempotency key", err)
	}
	if n == 0 {
		var one int
		err := s.reads.QueryRowContext(ctx, `SELECT 1 FROM idempotency_keys WHERE account_id = ? AND key = ?`, accountID, key).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return payment.NotFound("idempotency_key", key)
		}
		if err != nil {
			return fail("complete idempotency key", err)
		}
		return payment.ErrIdempotencyClaimLost
	}
	return nil
}

// markIdempotencyKey applies mark inside tx (see payment.IdempotencyMark).
func markIdempotencyKey(ctx context.Context, tx *wtx, mark *payment.IdempotencyMark) error {
	if mark == nil {
		return nil
	}
	if a := mark.Checkout; a != nil && mark.Point == payment.RecoveryReserved {
		if err := markCheckoutAttempt(ctx, tx, a, mark.PaymentID); err != nil {
			return err
		}
	}
	if ref := mark.Reference; ref != nil && mark.Point == payment.RecoveryReserved {
		r := *ref
		r.PaymentID, r.OperationID = mark.PaymentID, mark.OperationID
		if err := insertReference(ctx, tx, &r); err != nil {
			return err
		}
	}
	if mark.Key == "" {
		return nil
	}
	if r := mark.Record; r != nil {
		res, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (`+idempotencyColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, 0, ?, 'reserved', ?, ?, 0, NULL, ?) ON CONFLICT (account_id, key) DO NOTHING`,
			r.AccountID, r.Key, r.Token, r.Method, r.Path, r.RequestHash, micros(r.LockedUntil),
			mark.PaymentID, mark.OperationID, micros(r.CreatedAt))
		return claimedOne(res, translate(err, r.AccountID))
	}
	if mark.Point == payment.RecoveryReserved {
		res, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET point = 'reserved', payment_id = ?, operation_id = ?
			WHERE account_id = ? AND key = ? AND token = ? AND completed = 0 AND point = 'started'`,
			mark.PaymentID, mark.OperationID, mark.AccountID, mark.Key, mark.Token)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return payment.ErrIdempotencyClaimLost
		}
		return nil
	}
	if a := mark.Answer; a != nil {
		_, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET point = ?, completed = 1, response_status = ?, response_body = ?
			WHERE account_id = ? AND key = ? AND token = ? AND completed = 0 AND point = 'reserved'`,
			string(mark.Point), a.Status, a.Body, mark.AccountID, mark.Key, mark.Token)
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET point = ?
		WHERE account_id = ? AND key = ? AND token = ? AND completed = 0 AND point = 'reserved'`,
		string(mark.Point), mark.AccountID, mark.Key, mark.Token)
	return err
}

// claimedOne turns the result of a write that must change one row into
// ErrIdempotencyClaimLost when it changed none.
func claimedOne(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return payment.ErrIdempotencyClaimLost
	}
	return nil
}

// IdempotencyKey returns the account's record of key.
func (s *Store) IdempotencyKey(ctx context.Context, accountID, key string) (*payment.IdempotencyRecord, error) {
	r, err := scanIdempotencyRecord(s.reads.QueryRowContext(ctx, `SELECT `+idempotencyColumns+` FROM idempotency_keys
		WHERE account_id = ? AND key = ?`, accountID, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, payment.NotFound("idempotency_key", key)
	}
	if err != nil {
		return nil, fail("get idempotency key", err)
	}
	return r, nil
}

// SaveIdempotencyResponse inserts rec completed, unless the key exists.
func (s *Store) SaveIdempotencyResponse(ctx context.Context, r *payment.IdempotencyRecord) error {
	err := s.writeRerunnable(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (`+idempotencyColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, key) DO NOTHING`,
			r.AccountID, r.Key, r.Token, r.Method, r.Path, r.RequestHash, micros(r.LockedUntil), string(r.Point),
			r.PaymentID, r.OperationID, r.ResponseStatus, r.ResponseBody, micros(r.CreatedAt))
		return claimedOne(res, translate(err, r.AccountID))
	})
	return fail("save idempotency response", err)
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
