package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store"
)

const gatewayColumns = `id, account_id, type, description, state, sandbox, settings,
	merchant_profile_key, sub_merchant_key, disabled_operations, credential_version,
	created_at, updated_at, redacted_at`

func scanGateway(row pgx.Row) (*payment.Gateway, error) {
	var g payment.Gateway
	var state string
	var settings, disabled []byte
	err := row.Scan(&g.ID, &g.AccountID, &g.Type, &g.Description, &state, &g.Sandbox, &settings,
		&g.MerchantProfileKey, &g.SubMerchantKey, &disabled, &g.CredentialVersion,
		&g.CreatedAt, &g.UpdatedAt, &g.RedactedAt)
	if err != nil {
		return nil, err
	}
	if g.Settings, err = store.UnmarshalObject(settings); err != nil {
		return nil, fmt.Errorf("gateway %s: settings: %w", g.ID, err)
	}
	if err := json.Unmarshal(disabled, &g.DisabledOperations); err != nil {
		return nil, fmt.Errorf("gateway %s: disabled operations: %w", g.ID, err)
	}
	g.State = payment.GatewayState(state)
	g.CreatedAt = utc(g.CreatedAt)
	g.UpdatedAt = utc(g.UpdatedAt)
	g.RedactedAt = utcPtr(g.RedactedAt)
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

func insertGateway(ctx context.Context, tx pgx.Tx, g *payment.Gateway) error {
	settings, disabled, err := gatewayJSON(g)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO gateways (`+gatewayColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		g.ID, g.AccountID, g.Type, g.Description, string(g.State), g.Sandbox, settings,
		g.MerchantProfileKey, g.SubMerchantKey, disabled, g.CredentialVersion,
		ts(g.CreatedAt), ts(g.UpdatedAt), tsPtr(g.RedactedAt))
	return translate(err, g.AccountID)
}

// updateGateway writes back every mutable field of g.
func updateGateway(ctx context.Context, tx pgx.Tx, g *payment.Gateway) error {
	settings, disabled, err := gatewayJSON(g)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE gateways SET type = $3, description = $4, state = $5, sandbox = $6, settings = $7,
		merchant_profile_key = $8, sub_merchant_key = $9, disabled_operations = $10, credential_version = $11,
		updated_at = $12, redacted_at = $13
		WHERE account_id = $1 AND id = $2`,
		g.AccountID, g.ID, g.Type, g.Description, string(g.State), g.Sandbox, settings,
		g.MerchantProfileKey, g.SubMerchantKey, disabled, g.CredentialVersion,
		ts(g.UpdatedAt), tsPtr(g.RedactedAt))
	return err
}

// gateway reads one gateway; lock is "" or a locking clause.
func gateway(ctx context.Context, q querier, accountID, id, lock string) (*payment.Gateway, error) {
	g, err := scanGateway(q.QueryRow(ctx, `SELECT `+gatewayColumns+` FROM gateways
		WHERE account_id = $1 AND id = $2 `+lock, accountID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, payment.NotFound("gateway", id)
	}
	return g, err
}

const credentialColumns = `account_id, gateway_id, version, sealed, public, description, created_by, created_at`

func scanCredentialVersion(row pgx.Row) (*payment.CredentialVersion, error) {
	var c payment.CredentialVersion
	var public []byte
	if err := row.Scan(&c.AccountID, &c.GatewayID, &c.Version, &c.Sealed, &public, &c.Description, &c.CreatedBy, &c.CreatedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(public, &c.Public); err != nil {
		return nil, fmt.Errorf("gateway %s credential version %d: public: %w", c.GatewayID, c.Version, err)
	}
	c.CreatedAt = utc(c.CreatedAt)
	return &c, nil
}

func insertCredentialVersion(ctx context.Context, tx pgx.Tx, c *payment.CredentialVersion) error {
	public, err := json.Marshal(c.Public)
	if err != nil {
		return fmt.Errorf("gateway %s credential version %d: public: %w", c.GatewayID, c.Version, err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO gateway_credentials (`+credentialColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		c.AccountID, c.GatewayID, c.Version, c.Sealed, string(public), c.Description, c.CreatedBy, ts(c.CreatedAt))
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
	err := s.inTx(ctx, func(tx pgx.Tx) error {
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

// GatewayByID returns gateway id of any account (for notifications, which
// authenticate by the gateway's own key).
func (s *Store) GatewayByID(ctx context.Context, id string) (*payment.Gateway, error) {
	var g *payment.Gateway
	err := s.withConn(ctx, func(q querier) error {
		var err error
		g, err = scanGateway(q.QueryRow(ctx, `SELECT `+gatewayColumns+` FROM gateways WHERE id = $1`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return payment.NotFound("gateway", id)
		}
		return err
	})
	if err != nil {
		return nil, fail("get gateway", err)
	}
	return g, nil
}

// Gateway returns the account's gateway id.
func (s *Store) Gateway(ctx context.Context, accountID, id string) (*payment.Gateway, error) {
	var g *payment.Gateway
	err := s.withConn(ctx, func(q querier) error {
		var err error
		g, err = gateway(ctx, q, accountID, id, "")
		return err
	})
	if err != nil {
		return nil, fail("get gateway", err)
	}
	return g, nil
}

// Gateways lists the account's gateways, newest first (oldest first when
// p.Ascending).
func (s *Store) Gateways(ctx context.Context, accountID string, p payment.ListParams) ([]*payment.Gateway, bool, error) {
	gs, more, err := list(ctx, s, "gateway", "gateways", gatewayColumns, accountID, p, scanGateway)
	return gs, more, fail("list gateways", err)
}

// UpdateGateway locks the gateway's row (FOR UPDATE), runs fn on it and
// writes back the result, the credential version and the event fn returns
// in the same transaction. When the gateway ends up redacted, every
// credential version's ciphertext is destroyed in that transaction too.
func (s *Store) UpdateGateway(ctx context.Context, accountID, id string, fn func(*payment.Gateway) (*payment.CredentialVersion, *payment.Event, error)) (*payment.Gateway, error) {
	var g *payment.Gateway
	var fnErr error
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if g, err = gateway(ctx, tx, accountID, id, "FOR UPDATE"); err != nil {
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
		if ev != nil {
			if err := store.CheckEvent(accountID, ev); err != nil {
				return err
			}
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
			if _, err := tx.Exec(ctx, `UPDATE gateway_credentials SET sealed = NULL
				WHERE account_id = $1 AND gateway_id = $2 AND sealed IS NOT NULL`, accountID, id); err != nil {
				return err
			}
		}
		if ev != nil {
			if err := insertEvent(ctx, tx, ev); err != nil {
				return err
			}
		}
		// Read back what was stored: times as the store keeps them.
		g, err = gateway(ctx, tx, accountID, id, "")
		return err
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, fail("update gateway", err)
	}
	return g, nil
}

// CredentialVersion returns one version of the gateway's credentials.
func (s *Store) CredentialVersion(ctx context.Context, accountID, gatewayID string, version int) (*payment.CredentialVersion, error) {
	var c *payment.CredentialVersion
	err := s.withConn(ctx, func(q querier) error {
		var err error
		c, err = scanCredentialVersion(q.QueryRow(ctx, `SELECT `+credentialColumns+` FROM gateway_credentials
			WHERE account_id = $1 AND gateway_id = $2 AND version = $3`, accountID, gatewayID, version))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
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
	err := s.withConn(ctx, func(q querier) error {
		rows, err := q.Query(ctx, `SELECT `+credentialColumns+` FROM gateway_credentials
			WHERE account_id = $1 AND gateway_id = $2 ORDER BY version DESC`, accountID, gatewayID)
		if err != nil {
			return err
		}
		cs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*payment.CredentialVersion, error) { return scanCredentialVersion(r) })
		if err != nil || len(cs) > 0 {
			return err
		}
		// No versions: a gateway without credentials, or no gateway.
		// Gateways are never deleted, so this second look cannot race.
		_, err = gateway(ctx, q, accountID, gatewayID, "")
		return err
	})
	if err != nil {
		return nil, fail("list credential versions", err)
	}
	if cs == nil {
		cs = []*payment.CredentialVersion{}
	}
	return cs, nil
}
