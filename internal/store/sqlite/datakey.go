package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store"
)

const dataKeyColumns = `account_id, purpose, version, kek_version, wrapped, uses, created_at`

func scanDataKey(sc scanner) (*payment.DataKey, error) {
	var k payment.DataKey
	var created int64
	if err := sc.Scan(&k.AccountID, &k.Purpose, &k.Version, &k.KEKVersion, &k.Wrapped, &k.Uses, &created); err != nil {
		return nil, err
	}
	k.CreatedAt = fromMicros(created)
	return &k, nil
}

func queryDataKeys(ctx context.Context, q querier, query string, args ...any) ([]*payment.DataKey, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	keys := []*payment.DataKey{}
	for rows.Next() {
		k, err := scanDataKey(rows)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// DataKeys returns the account's keys for purpose, oldest version first.
func (s *Store) DataKeys(ctx context.Context, accountID, purpose string) ([]*payment.DataKey, error) {
	keys, err := queryDataKeys(ctx, s.reads, `SELECT `+dataKeyColumns+` FROM data_keys
		WHERE account_id = ? AND purpose = ? ORDER BY version`, accountID, purpose)
	if err != nil {
		return nil, fail("list data keys", err)
	}
	return keys, nil
}

// SomeDataKeys returns up to limit data keys of any accounts.
func (s *Store) SomeDataKeys(ctx context.Context, limit int) ([]*payment.DataKey, error) {
	keys, err := queryDataKeys(ctx, s.reads, `SELECT `+dataKeyColumns+` FROM data_keys LIMIT ?`, limit)
	if err != nil {
		return nil, fail("sample data keys", err)
	}
	return keys, nil
}

// CreateDataKey inserts k.
func (s *Store) CreateDataKey(ctx context.Context, k *payment.DataKey) error {
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO data_keys (`+dataKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			k.AccountID, k.Purpose, k.Version, k.KEKVersion, k.Wrapped, k.Uses, micros(k.CreatedAt))
		return translate(err, k.AccountID)
	})
	return fail("create data key", err)
}

// ReserveDataKeyUses adds n to the key's use count and returns the new count.
func (s *Store) ReserveDataKeyUses(ctx context.Context, accountID, purpose string, version int, n int64) (int64, error) {
	if n < 0 {
		return 0, fmt.Errorf("sqlite: reserve data key uses: negative count %d", n)
	}
	var uses int64
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		return tx.QueryRowContext(ctx, `UPDATE data_keys SET uses = uses + ?
			WHERE account_id = ? AND purpose = ? AND version = ? RETURNING uses`,
			n, accountID, purpose, version).Scan(&uses)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return 0, payment.NotFound("data_key", fmt.Sprintf("%s/v%d", purpose, version))
	}
	if err != nil {
		return 0, fail("reserve data key uses", err)
	}
	return uses, nil
}

// rewrapBatch is how many data keys one RewrapDataKeys transaction handles.
const rewrapBatch = 100

// RewrapDataKeys rewraps every key whose KEK version is not kekVersion, in
// primary-key order, one committed transaction per batch. rewrap runs
// inside the writer's transaction: it must be quick and must not call the
// store.
func (s *Store) RewrapDataKeys(ctx context.Context, kekVersion int, rewrap func(*payment.DataKey) (*payment.DataKey, error)) (int, error) {
	total := 0
	var last *payment.DataKey // cursor: the last key of the previous batch
	for {
		var batch []*payment.DataKey
		err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
			var err error
			if last == nil {
				batch, err = queryDataKeys(ctx, tx, `SELECT `+dataKeyColumns+` FROM data_keys
					WHERE kek_version <> ? ORDER BY account_id, purpose, version LIMIT ?`, kekVersion, rewrapBatch)
			} else {
				batch, err = queryDataKeys(ctx, tx, `SELECT `+dataKeyColumns+` FROM data_keys
					WHERE kek_version <> ? AND (account_id, purpose, version) > (?, ?, ?)
					ORDER BY account_id, purpose, version LIMIT ?`,
					kekVersion, last.AccountID, last.Purpose, last.Version, rewrapBatch)
			}
			if err != nil {
				return err
			}
			for _, k := range batch {
				next, err := rewrap(k)
				if err != nil {
					return fmt.Errorf("rewrap data key %s/%s/v%d: %w", k.AccountID, k.Purpose, k.Version, err)
				}
				if err := store.CheckRewrapped(k, next); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE data_keys SET wrapped = ?, kek_version = ?
					WHERE account_id = ? AND purpose = ? AND version = ?`,
					next.Wrapped, next.KEKVersion, k.AccountID, k.Purpose, k.Version); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return total, fail("rewrap data keys", err)
		}
		total += len(batch)
		if len(batch) < rewrapBatch {
			return total, nil
		}
		last = batch[len(batch)-1]
	}
}
