package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kassapay/kassa/internal/payment"
)

// CreateAccount inserts the account and its first keys in one transaction.
func (s *Store) CreateAccount(ctx context.Context, a *payment.Account, keys []*payment.APIKey) error {
	for _, k := range keys {
		if k.AccountID != a.ID {
			return fmt.Errorf("postgres: create account: key %s belongs to account %q", k.ID, k.AccountID)
		}
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO accounts (id, name, live, created_at) VALUES ($1, $2, $3, $4)`,
			a.ID, a.Name, a.Live, ts(a.CreatedAt)); err != nil {
			return translate(err, a.ID)
		}
		for _, k := range keys {
			if err := insertAPIKey(ctx, tx, k); err != nil {
				return err
			}
		}
		return nil
	})
	return fail("create account", err)
}

// CreateFirstAccount inserts a and keys unless an account exists. The
// table lock (which conflicts with itself) makes processes starting at
// once on an empty database take turns: the first creates, the others
// then find its account.
func (s *Store) CreateFirstAccount(ctx context.Context, a *payment.Account, keys []*payment.APIKey) (bool, error) {
	for _, k := range keys {
		if k.AccountID != a.ID {
			return false, fmt.Errorf("postgres: create first account: key %s belongs to account %q", k.ID, k.AccountID)
		}
	}
	created := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM accounts)`).Scan(&exists); err != nil || exists {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO accounts (id, name, live, created_at) VALUES ($1, $2, $3, $4)`,
			a.ID, a.Name, a.Live, ts(a.CreatedAt)); err != nil {
			return translate(err, a.ID)
		}
		for _, k := range keys {
			if err := insertAPIKey(ctx, tx, k); err != nil {
				return err
			}
		}
		created = true
		return nil
	})
	return created, fail("create first account", err)
}

// Account returns the account with id.
func (s *Store) Account(ctx context.Context, id string) (*payment.Account, error) {
	var a payment.Account
	var origins []byte
	err := s.withConn(ctx, func(q querier) error {
		return q.QueryRow(ctx, `SELECT id, name, live, created_at, checkout_embed_origins FROM accounts WHERE id = $1`, id).
			Scan(&a.ID, &a.Name, &a.Live, &a.CreatedAt, &origins)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, payment.NotFound("account", id)
	}
	if err != nil {
		return nil, fail("get account", err)
	}
	a.CreatedAt = utc(a.CreatedAt)
	if err := json.Unmarshal(origins, &a.CheckoutEmbedOrigins); err != nil {
		return nil, fmt.Errorf("postgres: account %s: embed origins: %w", id, err)
	}
	if len(a.CheckoutEmbedOrigins) == 0 {
		a.CheckoutEmbedOrigins = nil
	}
	return &a, nil
}

// SetCheckoutEmbedOrigins replaces the account's embedding origins.
func (s *Store) SetCheckoutEmbedOrigins(ctx context.Context, accountID string, origins []string) error {
	b, err := json.Marshal(append([]string{}, origins...))
	if err != nil {
		return fmt.Errorf("postgres: embed origins: %w", err)
	}
	return fail("set checkout embed origins", s.updateAccount(ctx, accountID, `checkout_embed_origins = $1`, b))
}

// SetCallbackSignatureSecret stores the account's sealed signature secret.
func (s *Store) SetCallbackSignatureSecret(ctx context.Context, accountID string, sealed []byte) error {
	return fail("set callback signature secret", s.updateAccount(ctx, accountID, `callback_signature_secret = $1`, sealed))
}

func (s *Store) updateAccount(ctx context.Context, accountID, set string, v any) error {
	return s.withConn(ctx, func(q querier) error {
		tag, err := q.Exec(ctx, `UPDATE accounts SET `+set+` WHERE id = $2`, v, accountID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return payment.NotFound("account", accountID)
		}
		return nil
	})
}

// CallbackSignatureSecret returns the account's sealed signature secret.
func (s *Store) CallbackSignatureSecret(ctx context.Context, accountID string) ([]byte, error) {
	var sealed []byte
	err := s.withConn(ctx, func(q querier) error {
		return q.QueryRow(ctx, `SELECT callback_signature_secret FROM accounts WHERE id = $1`, accountID).Scan(&sealed)
	})
	if errors.Is(err, pgx.ErrNoRows) || err == nil && sealed == nil {
		return nil, payment.NotFound("signature", accountID)
	}
	return sealed, fail("get callback signature secret", err)
}

// CountAccounts returns how many accounts exist.
func (s *Store) CountAccounts(ctx context.Context) (int, error) {
	var n int
	err := s.withConn(ctx, func(q querier) error {
		return q.QueryRow(ctx, `SELECT count(*) FROM accounts`).Scan(&n)
	})
	return n, fail("count accounts", err)
}

const apiKeyColumns = `id, account_id, kind, prefix, hash, created_at, expires_at, revoked_at, digest_hash, last_used_at`

func insertAPIKey(ctx context.Context, q querier, k *payment.APIKey) error {
	_, err := q.Exec(ctx, `INSERT INTO api_keys (`+apiKeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		k.ID, k.AccountID, string(k.Kind), k.Prefix, k.Hash, ts(k.CreatedAt), tsPtr(k.ExpiresAt), tsPtr(k.RevokedAt), k.DigestHash,
		tsPtr(k.LastUsedAt))
	return translate(err, k.AccountID)
}

func scanAPIKey(row pgx.Row) (*payment.APIKey, error) {
	var k payment.APIKey
	var kind string
	if err := row.Scan(&k.ID, &k.AccountID, &kind, &k.Prefix, &k.Hash, &k.CreatedAt, &k.ExpiresAt, &k.RevokedAt, &k.DigestHash,
		&k.LastUsedAt); err != nil {
		return nil, err
	}
	k.Kind = payment.KeyKind(kind)
	k.CreatedAt = utc(k.CreatedAt)
	k.ExpiresAt = utcPtr(k.ExpiresAt)
	k.RevokedAt = utcPtr(k.RevokedAt)
	k.LastUsedAt = utcPtr(k.LastUsedAt)
	return &k, nil
}

// CreateAPIKey inserts k and ev.
func (s *Store) CreateAPIKey(ctx context.Context, k *payment.APIKey, ev *payment.Event) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := insertAPIKey(ctx, tx, k); err != nil {
			return err
		}
		return insertEvents(ctx, tx, k.AccountID, ev)
	})
	return fail("create api key", err)
}

// APIKeyByPrefix returns the key with prefix, of whatever account.
func (s *Store) APIKeyByPrefix(ctx context.Context, prefix string) (*payment.APIKey, error) {
	var k *payment.APIKey
	err := s.withConn(ctx, func(q querier) error {
		var err error
		k, err = scanAPIKey(q.QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE prefix = $1`, prefix))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, payment.NotFound("api_key", prefix)
	}
	if err != nil {
		return nil, fail("get api key", err)
	}
	return k, nil
}

// APIKeys lists the account's keys, newest first.
func (s *Store) APIKeys(ctx context.Context, accountID string) ([]*payment.APIKey, error) {
	var keys []*payment.APIKey
	err := s.withConn(ctx, func(q querier) error {
		rows, err := q.Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE account_id = $1 ORDER BY seq DESC`, accountID)
		if err != nil {
			return err
		}
		keys, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*payment.APIKey, error) { return scanAPIKey(r) })
		return err
	})
	if err != nil {
		return nil, fail("list api keys", err)
	}
	if keys == nil {
		keys = []*payment.APIKey{}
	}
	return keys, nil
}

func apiKeyForUpdate(ctx context.Context, tx pgx.Tx, accountID, keyID string) (*payment.APIKey, error) {
	k, err := scanAPIKey(tx.QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys
		WHERE account_id = $1 AND id = $2 FOR UPDATE`, accountID, keyID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, payment.NotFound("api_key", keyID)
	}
	return k, err
}

// RevokeAPIKey marks the key revoked at now, unless it is revoked already.
func (s *Store) RevokeAPIKey(ctx context.Context, accountID, keyID string, now time.Time,
	newEvent func(*payment.APIKey) *payment.Event) (*payment.APIKey, error) {
	var k *payment.APIKey
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if k, err = apiKeyForUpdate(ctx, tx, accountID, keyID); err != nil {
			return err
		}
		if k.RevokedAt != nil {
			return nil
		}
		k.RevokedAt = new(ts(now))
		if _, err = tx.Exec(ctx, `UPDATE api_keys SET revoked_at = $3 WHERE account_id = $1 AND id = $2`, accountID, keyID, ts(now)); err != nil {
			return err
		}
		return insertEventOf(ctx, tx, accountID, newEvent, k)
	})
	if err != nil {
		return nil, fail("revoke api key", err)
	}
	return k, nil
}

// RollAPIKey inserts next and retires the old key: it expires at expiresAt,
// or is revoked at once when expiresAt is not after now.
func (s *Store) RollAPIKey(ctx context.Context, accountID, oldID string, next *payment.APIKey, expiresAt, now time.Time,
	evs []*payment.Event) error {
	if next.AccountID != accountID {
		return fmt.Errorf("postgres: roll api key: new key belongs to account %q, not %q", next.AccountID, accountID)
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		old, err := apiKeyForUpdate(ctx, tx, accountID, oldID)
		if err != nil {
			return err
		}
		if !old.Active(now) {
			return payment.NotFound("api_key", oldID)
		}
		if err := insertAPIKey(ctx, tx, next); err != nil {
			return err
		}
		if !expiresAt.After(now) {
			_, err = tx.Exec(ctx, `UPDATE api_keys SET revoked_at = $3 WHERE account_id = $1 AND id = $2`, accountID, oldID, ts(now))
		} else {
			_, err = tx.Exec(ctx, `UPDATE api_keys SET expires_at = $3 WHERE account_id = $1 AND id = $2`, accountID, oldID, ts(expiresAt))
		}
		if err != nil {
			return err
		}
		return insertEvents(ctx, tx, accountID, evs...)
	})
	return fail("roll api key", err)
}

// RecordAPIKeyUse moves the key's last use forward to at.
func (s *Store) RecordAPIKeyUse(ctx context.Context, accountID, keyID string, at time.Time) error {
	err := s.withConn(ctx, func(q querier) error {
		// GREATEST ignores a NULL, and keeps a later use another process
		// recorded first.
		tag, err := q.Exec(ctx, `UPDATE api_keys SET last_used_at = GREATEST(last_used_at, $3)
			WHERE account_id = $1 AND id = $2`, accountID, keyID, ts(at))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return payment.NotFound("api_key", keyID)
		}
		return nil
	})
	return fail("record api key use", err)
}
