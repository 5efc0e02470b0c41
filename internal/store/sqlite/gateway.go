package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store"
)

const gatewayColumns = `id, account_id, type, description, state, sandbox, settings,
	merchant_profile_key, sub_merchant_key, disabled_operations, credential_version,
	created_at, updated_at, redacted_at`

func scanGateway(sc scanner) (*payment.Gateway, error) {
	var g payment.Gateway
	var state, settings, disabled string
	var created, updated int64
	var redacted sql.Null[int64]
	err := sc.Scan(&g.ID, &g.AccountID, &g.Type, &g.Description, &state, &g.Sandbox, &settings,
		&g.MerchantProfileKey, &g.SubMerchantKey, &disabled, &g.CredentialVersion,
		&created, &updated, &redacted)
	if err != nil {
		return nil, err
	}
	if g.Settings, err = store.UnmarshalObject([]byte(settings)); err != nil {
		return nil, fmt.Errorf("gateway %s: settings: %w", g.ID, err)
	}
	if err := json.Unmarshal([]byte(disabled), &g.DisabledOperations); err != nil {
		return nil, fmt.Errorf("gateway %s: disabled operations: %w", g.ID, err)
	}
	g.State = payment.GatewayState(state)
	g.CreatedAt = fromMicros(created)
	g.UpdatedAt = fromMicros(updated)
	g.RedactedAt = fromMicrosPtr(redacted)
	return &g, nil
}

// gatewayJSON encodes the JSON columns of g.
func gatewayJSON(g *payment.Gateway) (settings, disabled string, err error) {
	s, err := json.Marshal(g.Settings)
	if err != nil {
		return "", "", fmt.Errorf("gateway %s: settings: %w", g.ID, err)
	}
	d, err := json.Marshal(g.DisabledOperations)
	if err != nil {
		return "", "", fmt.Errorf("gateway %s: disabled operations: %w", g.ID, err)
	}
	return string(s), string(d), nil
}

func insertGateway(ctx context.Context, tx *wtx, g *payment.Gateway) error {
	settings, disabled, err := gatewayJSON(g)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO gateways (`+gatewayColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		g.ID, g.AccountID, g.Type, g.Description, string(g.State), g.Sandbox, settings,
		g.MerchantProfileKey, g.SubMerchantKey, disabled, g.CredentialVersion,
		micros(g.CreatedAt), micros(g.UpdatedAt), microsPtr(g.RedactedAt))
	return translate(err, g.AccountID)
}

// updateGateway writes back every mutable field of g.
func updateGateway(ctx context.Context, tx *wtx, g *payment.Gateway) error {
	settings, disabled, err := gatewayJSON(g)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE gateways SET type = ?, description = ?, state = ?, sandbox = ?, settings = ?,
		merchant_profile_key = ?, sub_merchant_key = ?, disabled_operations = ?, credential_version = ?,
		updated_at = ?, redacted_at = ?
		WHERE account_id = ? AND id = ?`,
		g.Type, g.Description, string(g.State), g.Sandbox, settings,
		g.MerchantProfileKey, g.SubMerchantKey, disabled, g.CredentialVersion,
		micros(g.UpdatedAt), microsPtr(g.RedactedAt),
		g.AccountID, g.ID)
	return err
}

func gateway(ctx context.Context, q querier, accountID, id string) (*payment.Gateway, error) {
	g, err := scanGateway(q.QueryRowContext(ctx, `SELECT `+gatewayColumns+` FROM gateways
		WHERE account_id = ? AND id = ?`, accountID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, payment.NotFound("gateway", id)
	}
	return g, err
}

const credentialColumns = `account_id, gateway_id, version, sealed, public, description, created_by, created_at`

func scanCredentialVersion(sc scanner) (*payment.CredentialVersion, error) {
	var c payment.CredentialVersion
	var public string
	var created int64
	if err := sc.Scan(&c.AccountID, &c.GatewayID, &c.Version, &c.Sealed, &public, &c.Description, &c.CreatedBy, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(public), &c.Public); err != nil {
		return nil, fmt.Errorf("gateway %s credential version %d: public: %w", c.GatewayID, c.Version, err)
	}
	c.CreatedAt = fromMicros(created)
	return &c, nil
}

func insertCredentialVersion(ctx context.Context, tx *wtx, c *payment.CredentialVersion) error {
	public, err := json.Marshal(c.Public)
	if err != nil {
		return fmt.Errorf("gateway %s credential version %d: public: %w", c.GatewayID, c.Version, err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO gateway_credentials (`+credentialColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		c.AccountID, c.GatewayID, c.Version, c.Sealed, string(public), c.Description, c.CreatedBy, micros(c.CreatedAt))
	return translate(err, c.AccountID)
}

// CreateGateway inserts g, its first credential version (if any) and ev in
// one transaction.
func (s *Store) CreateGateway(ctx context.Context, g *payment.Gateway, cred *payment.CredentialVersion, ev *payment.Event) error {
	if err := store.CheckNewGateway(g, cred); err != nil {
		return err
	}
	if ev != nil {
		if err := store.CheckEvent(g.AccountID, ev); err != nil {
			return err
		}
	}
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		if err := insertGateway(ctx, tx, g); err != nil {
			return err
		}
		if cred != nil {
			if err := insertCredentialVersion(ctx, tx, cred); err != nil {
				return err
			}
		}
		if ev != nil {
			return insertEvent(ctx, tx, ev)
		}
		return nil
	})
	return fail("create gateway", err)
}

// Gateway returns the account's gateway id.
func (s *Store) Gateway(ctx context.Context, accountID, id string) (*payment.Gateway, error) {
	g, err := gateway(ctx, s.reads, accountID, id)
	if err != nil {
		return nil, fail("get gateway", err)
	}
	return g, nil
}

// GatewayByID returns gateway id of any account (for notifications, which
// authenticate by the gateway's own key).
func (s *Store) GatewayByID(ctx context.Context, id string) (*payment.Gateway, error) {
	g, err := scanGateway(s.reads.QueryRowContext(ctx, `SELECT `+gatewayColumns+` FROM gateways WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, payment.NotFound("gateway", id)
	}
	if err != nil {
		return nil, fail("get gateway", err)
	}
	return g, nil
}

// Gateways lists the account's gateways, newest first (oldest first when
// p.Ascending).
func (s *Store) Gateways(ctx context.Context, accountID string, p payment.ListParams) ([]*payment.Gateway, bool, error) {
	gs, more, err := list(ctx, s.reader, "gateway", "gateways", gatewayColumns, accountID, p, scanGateway)
	return gs, more, fail("list gateways", err)
}

// UpdateGateway runs fn on the gateway inside a writer transaction and
// writes back the result, the credential version and the event fn returns.
// When the gateway ends up redacted, every credential version's ciphertext
// is destroyed in the same transaction and the WAL is checkpointed after
// it, so the bytes leave the WAL file too.
func (s *Store) UpdateGateway(ctx context.Context, accountID, id string, fn func(*payment.Gateway) (*payment.CredentialVersion, *payment.Event, error)) (*payment.Gateway, error) {
	var g *payment.Gateway
	var fnErr error
	redacted := false
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		var err error
		if g, err = gateway(ctx, tx, accountID, id); err != nil {
			return err
		}
		before := *g
		cred, ev, err := fn(g)
		if err != nil {
			fnErr = err
			return err
		}
		if err := store.CheckGatewayUpdated(&before, g, cred); err != nil {
			return err
		}
		if err := updateGateway(ctx, tx, g); err != nil {
			return err
		}
		if cred != nil {
			if err := insertCredentialVersion(ctx, tx, cred); err != nil {
				return err
			}
		}
		if g.State == payment.GatewayRedacted {
			res, err := tx.ExecContext(ctx, `UPDATE gateway_credentials SET sealed = NULL
				WHERE account_id = ? AND gateway_id = ? AND sealed IS NOT NULL`, accountID, id)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			redacted = n > 0
		}
		if ev != nil {
			if err := store.CheckEvent(accountID, ev); err != nil {
				return err
			}
			if err := insertEvent(ctx, tx, ev); err != nil {
				return err
			}
		}
		// Read back what was stored: times as the store keeps them.
		g, err = gateway(ctx, tx, accountID, id)
		return err
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, fail("update gateway", err)
	}
	if redacted {
		s.checkpoint(ctx)
	}
	return g, nil
}

// CredentialVersion returns one version of the gateway's credentials.
func (s *Store) CredentialVersion(ctx context.Context, accountID, gatewayID string, version int) (*payment.CredentialVersion, error) {
	c, err := scanCredentialVersion(s.reads.QueryRowContext(ctx, `SELECT `+credentialColumns+` FROM gateway_credentials
		WHERE account_id = ? AND gateway_id = ? AND version = ?`, accountID, gatewayID, version))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, payment.NotFound("credential_version", fmt.Sprintf("%s/v%d", gatewayID, version))
	}
	if err != nil {
		return nil, fail("get credential version", err)
	}
	return c, nil
}

// CredentialVersions lists the gateway's credential versions, newest
// first. ErrNotFound if the account has no such gateway.
func (s *Store) CredentialVersions(ctx context.Context, accountID, gatewayID string) ([]*payment.CredentialVersion, error) {
	var cs []*payment.CredentialVersion
	err := readTx(ctx, s.reader, func(tx *sql.Tx) error {
		if _, err := gateway(ctx, tx, accountID, gatewayID); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+credentialColumns+` FROM gateway_credentials
			WHERE account_id = ? AND gateway_id = ? ORDER BY version DESC`, accountID, gatewayID)
		if err != nil {
			return err
		}
		cs, err = collect(rows, scanCredentialVersion)
		return err
	})
	if err != nil {
		return nil, fail("list credential versions", err)
	}
	return cs, nil
}

// readTx runs fn in a read-only transaction of the read pool, so that its
// queries see one snapshot.
func readTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(tx)
}

// collect scans every row of rows and closes them; no rows give an empty,
// non-nil slice.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	items := []T{}
	for rows.Next() {
		item, err := scan(rows)
		if err != nil {
			return nil, err
		}
		items = append(items, item)
	}
	return items, rows.Err()
}
