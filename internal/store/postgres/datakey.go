package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store"
)

const dataKeyColumns = `account_id, purpose, version, kek_version, wrapped, uses, created_at`

func collectDataKeys(rows pgx.Rows, err error) ([]*payment.DataKey, error) {
	if err != nil {
		return nil, err
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*payment.DataKey, error) {
		var k payment.DataKey
		if err := r.Scan(&k.AccountID, &k.Purpose, &k.Version, &k.KEKVersion, &k.Wrapped, &k.Uses, &k.CreatedAt); err != nil {
			return nil, err
		}
		k.CreatedAt = utc(k.CreatedAt)
		return &k, nil
	})
	if keys == nil && err == nil {
		keys = []*payment.DataKey{}
	}
	return keys, err
}

// SomeDataKeys returns up to limit data keys of any accounts.
func (s *Store) SomeDataKeys(ctx context.Context, limit int) ([]*payment.DataKey, error) {
	var keys []*payment.DataKey
	err := s.withConn(ctx, func(q querier) error {
		var err error
		keys, err = collectDataKeys(q.Query(ctx, `SELECT `+dataKeyColumns+` FROM data_keys LIMIT $1`, limit))
		return err
	})
	if err != nil {
		return nil, fail("sample data keys", err)
	}
	return keys, nil
}

// DataKeys returns the account's keys for purpose, oldest version first.
func (s *Store) DataKeys(ctx context.Context, accountID, purpose string) ([]*payment.DataKey, error) {
	var keys []*payment.DataKey
	err := s.withConn(ctx, func(q querier) error {
		var err error
		keys, err = collectDataKeys(q.Query(ctx, `SELECT `+dataKeyColumns+` FROM data_keys
			WHERE account_id = $1 AND purpose = $2 ORDER BY version`, accountID, purpose))
		return err
	})
	if err != nil {
		return nil, fail("list data keys", err)
	}
	return keys, nil
}

// CreateDataKey inserts k.
func (s *Store) CreateDataKey(ctx context.Context, k *payment.DataKey) error {
	err := s.withConn(ctx, func(q querier) error {
		_, err := q.Exec(ctx, `INSERT INTO data_keys (`+dataKeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			k.AccountID, k.Purpose, k.Version, k.KEKVersion, k.Wrapped, k.Uses, ts(k.CreatedAt))
		return translate(err, k.AccountID)
	})
	return fail("create data key", err)
}

// ReserveDataKeyUses adds n to the key's use count and returns the new count.
func (s *Store) ReserveDataKeyUses(ctx context.Context, accountID, purpose string, version int, n int64) (int64, error) {
	if n < 0 {
		return 0, fmt.Errorf("postgres: reserve data key uses: negative count %d", n)
	}
	var uses int64
	err := s.withConn(ctx, func(q querier) error {
		return q.QueryRow(ctx, `UPDATE data_keys SET uses = uses + $4
			WHERE account_id = $1 AND purpose = $2 AND version = $3 RETURNING uses`,
			accountID, purpose, version, n).Scan(&uses)
	})
	if errors.Is(err, pgx.ErrNoRows) {
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
// primary-key order, one committed transaction per batch. The batch's rows
// are locked (FOR UPDATE) while rewrap runs, so rewrap must be quick and
// must not call the store.
func (s *Store) RewrapDataKeys(ctx context.Context, kekVersion int, rewrap func(*payment.DataKey) (*payment.DataKey, error)) (int, error) {
	total := 0
	var last *payment.DataKey // cursor: the last key of the previous batch
	for {
		var batch []*payment.DataKey
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			var err error
			if last == nil {
				batch, err = collectDataKeys(tx.Query(ctx, `SELECT `+dataKeyColumns+` FROM data_keys
					WHERE kek_version <> $1 ORDER BY account_id, purpose, version LIMIT $2 FOR UPDATE`,
					kekVersion, rewrapBatch))
			} else {
				batch, err = collectDataKeys(tx.Query(ctx, `SELECT `+dataKeyColumns+` FROM data_keys
					WHERE kek_version <> $1 AND (account_id, purpose, version) > ($2, $3, $4)
					ORDER BY account_id, purpose, version LIMIT $5 FOR UPDATE`,
					kekVersion, last.AccountID, last.Purpose, last.Version, rewrapBatch))
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
				if _, err := tx.Exec(ctx, `UPDATE data_keys SET wrapped = $4, kek_version = $5
					WHERE account_id = $1 AND purpose = $2 AND version = $3`,
					k.AccountID, k.Purpose, k.Version, next.Wrapped, next.KEKVersion); err != nil {
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
