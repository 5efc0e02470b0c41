package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// CreateAccount inserts the account and its first keys in one transaction.
func (s *Store) CreateAccount(ctx context.Context, a *payment.Account, keys []*payment.APIKey) error {
	for _, k := range keys {
		if k.AccountID != a.ID {
			return fmt.Errorf("sqlite: create account: key %s belongs to account %q", k.ID, k.AccountID)
		}
	}
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO accounts (id, name, live, created_at) VALUES (?, ?, ?, ?)`,
			a.ID, a.Name, a.Live, micros(a.CreatedAt)); err != nil {
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

// CreateFirstAccount inserts a and keys unless an account exists; the
// writer's IMMEDIATE transaction makes the check and the insert one step,
// across processes too.
func (s *Store) CreateFirstAccount(ctx context.Context, a *payment.Account, keys []*payment.APIKey) (bool, error) {
	for _, k := range keys {
		if k.AccountID != a.ID {
			return false, fmt.Errorf("sqlite: create first account: key %s belongs to account %q", k.ID, k.AccountID)
		}
	}
	created := false
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM accounts`).Scan(&n); err != nil || n > 0 {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO accounts (id, name, live, created_at) VALUES (?, ?, ?, ?)`,
			a.ID, a.Name, a.Live, micros(a.CreatedAt)); err != nil {
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
	var created int64
	var origins string
	err := s.reads.QueryRowContext(ctx, `SELECT id, name, live, created_at, checkout_embed_origins FROM accounts WHERE id = ?`, id).
		Scan(&a.ID, &a.Name, &a.Live, &created, &origins)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, payment.NotFound("account", id)
	}
	if err != nil {
		return nil, fail("get account", err)
	}
	a.CreatedAt = fromMicros(created)
	if err := json.Unmarshal([]byte(origins), &a.CheckoutEmbedOrigins); err != nil {
		return nil, fmt.Errorf("sqlite: account %s: embed origins: %w", id, err)
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
		return fmt.Errorf("sqlite: embed origins: %w", err)
	}
	return fail("set checkout embed origins", s.updateAccount(ctx, accountID, `checkout_embed_origins = ?`, string(b)))
}

// SetCallbackSignatureSecret stores the account's sealed signature secret.
func (s *Store) SetCallbackSignatureSecret(ctx context.Context, accountID string, sealed []byte) error {
	return fail("set callback signature secret", s.updateAccount(ctx, accountID, `callback_signature_secret = ?`, sealed))
}

func (s *Store) updateAccount(ctx context.Context, accountID, set string, v any) error {
	return s.write(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE accounts SET `+set+` WHERE id = ?`, v, accountID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err == nil && n == 0 {
			err = payment.NotFound("account", accountID)
		}
		return err
	})
}

// CallbackSignatureSecret returns the account's sealed signature secret.
func (s *Store) CallbackSignatureSecret(ctx context.Context, accountID string) ([]byte, error) {
	var sealed []byte
	err := s.reads.QueryRowContext(ctx, `SELECT callback_signature_secret FROM accounts WHERE id = ?`, accountID).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) || err == nil && sealed == nil {
		return nil, payment.NotFound("signature", accountID)
	}
	return sealed, fail("get callback signature secret", err)
}

// CountAccounts returns how many accounts exist.
func (s *Store) CountAccounts(ctx context.Context) (int, error) {
	var n int
	if err := s.reads.QueryRowContext(ctx, `SELECT count(*) FROM accounts`).Scan(&n); err != nil {
		return 0, fail("count accounts", err)
	}
	return n, nil
}

const apiKeyColumns = `id, account_id, kind, prefix, hash, created_at, expires_at, revoked_at, digest_hash, last_used_at`

func insertAPIKey(ctx context.Context, q querier, k *payment.APIKey) error {
	_, err := q.ExecContext(ctx, `INSERT INTO api_keys (`+apiKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.AccountID, string(k.Kind), k.Prefix, k.Hash, micros(k.CreatedAt), microsPtr(k.ExpiresAt), microsPtr(k.RevokedAt),
		k.DigestHash, microsPtr(k.LastUsedAt))
	return translate(err, k.AccountID)
}

func scanAPIKey(sc scanner) (*payment.APIKey, error) {
	var k payment.APIKey
	var kind string
	var created int64
	var expires, revoked, used sql.Null[int64]
	if err := sc.Scan(&k.ID, &k.AccountID, &kind, &k.Prefix, &k.Hash, &created, &expires, &revoked, &k.DigestHash, &used); err != nil {
		return nil, err
	}
	k.Kind = payment.KeyKind(kind)
	k.CreatedAt = fromMicros(created)
	k.ExpiresAt = fromMicrosPtr(expires)
	k.RevokedAt = fromMicrosPtr(revoked)
	k.LastUsedAt = fromMicrosPtr(used)
	return &k, nil
}

// CreateAPIKey inserts k and ev.
func (s *Store) CreateAPIKey(ctx context.Context, k *payment.APIKey, ev *payment.Event) error {
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		if err := insertAPIKey(ctx, tx, k); err != nil {
			return err
		}
		return insertEvents(ctx, tx, k.AccountID, ev)
	})
	return fail("create api key", err)
}

// APIKeyByPrefix returns the key with prefix, of whatever account.
func (s *Store) APIKeyByPrefix(ctx context.Context, prefix string) (*payment.APIKey, error) {
	k, err := scanAPIKey(s.reads.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE prefix = ?`, prefix))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, payment.NotFound("api_key", prefix)
	}
	return k, fail("get api key", err)
}

// APIKeys lists the account's keys, newest first.
func (s *Store) APIKeys(ctx context.Context, accountID string) ([]*payment.APIKey, error) {
	rows, err := s.reads.QueryContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE account_id = ? ORDER BY seq DESC`, accountID)
	if err != nil {
		return nil, fail("list api keys", err)
	}
	defer rows.Close()
	keys := []*payment.APIKey{}
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, fail("list api keys", err)
		}
		keys = append(keys, k)
	}
	return keys, fail("list api keys", rows.Err())
}

func apiKeyForUpdate(ctx context.Context, tx *wtx, accountID, keyID string) (*payment.APIKey, error) {
	k, err := scanAPIKey(tx.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE account_id = ? AND id = ?`, accountID, keyID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, payment.NotFound("api_key", keyID)
	}
	return k, err
}

// RevokeAPIKey marks the key revoked at now, unless it is revoked already.
func (s *Store) RevokeAPIKey(ctx context.Context, accountID, keyID string, now time.Time,
	newEvent func(*payment.APIKey) *payment.Event) (*payment.APIKey, error) {
	var k *payment.APIKey
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		var err error
		if k, err = apiKeyForUpdate(ctx, tx, accountID, keyID); err != nil {
			return err
		}
		if k.RevokedAt != nil {
			return nil
		}
		now := fromMicros(micros(now))
		k.RevokedAt = &now
		if _, err = tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE account_id = ? AND id = ?`, micros(now), accountID, keyID); err != nil {
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
		return fmt.Errorf("sqlite: roll api key: new key belongs to account %q, not %q", next.AccountID, accountID)
	}
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
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
			_, err = tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE account_id = ? AND id = ?`, micros(now), accountID, oldID)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE api_keys SET expires_at = ? WHERE account_id = ? AND id = ?`, micros(expiresAt), accountID, oldID)
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
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		// max() keeps a later use another process recorded first.
		res, err := tx.ExecContext(ctx, `UPDATE api_keys SET last_used_at = max(coalesce(last_used_at, ?1), ?1)
			WHERE account_id = ?2 AND id = ?3`, micros(at), accountID, keyID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err == nil && n == 0 {
			err = payment.NotFound("api_key", keyID)
		}
		return err
	})
	return fail("record api key use", err)
}
