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

const connectorColumns = `account_id, guid, gateway_id, api_key, public_integration_key, shared_secret_sealed,
	signature_required, disabled_transaction_types, archived, disabled, attributes, created_at, updated_at`

func scanConnector(row pgx.Row) (*payment.Connector, error) {
	var c payment.Connector
	var disabledTypes []byte
	var attributes string
	err := row.Scan(&c.AccountID, &c.GUID, &c.GatewayID, &c.APIKey, &c.PublicIntegrationKey, &c.SharedSecretSealed,
		&c.SignatureRequired, &disabledTypes, &c.Archived, &c.Disabled, &attributes, &c.CreatedAt, &c.UpdatedAt)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(disabledTypes, &c.DisabledTransactionTypes); err != nil {
		return nil, fmt.Errorf("connector %s: disabled transaction types: %w", c.GUID, err)
	}
	c.Attributes = json.RawMessage(attributes)
	c.CreatedAt, c.UpdatedAt = utc(c.CreatedAt), utc(c.UpdatedAt)
	return &c, nil
}

// connectorValues are c's columns in the order of connectorColumns.
func connectorValues(c *payment.Connector) ([]any, error) {
	types := c.DisabledTransactionTypes
	if types == nil {
		types = []string{}
	}
	disabledTypes, err := json.Marshal(types)
	if err != nil {
		return nil, err
	}
	attributes := string(c.Attributes)
	if attributes == "" {
		attributes = "{}"
	}
	return []any{c.AccountID, c.GUID, c.GatewayID, c.APIKey, c.PublicIntegrationKey, c.SharedSecretSealed,
		c.SignatureRequired, string(disabledTypes), c.Archived, c.Disabled, attributes, ts(c.CreatedAt), ts(c.UpdatedAt)}, nil
}

// CreateConnector inserts c with ev.
func (s *Store) CreateConnector(ctx context.Context, c *payment.Connector, ev *payment.Event) error {
	if err := store.CheckEvent(c.AccountID, ev); err != nil {
		return err
	}
	vals, err := connectorValues(c)
	if err != nil {
		return fail("create connector", err)
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO ixopay_connectors (`+connectorColumns+`)
			VALUES (`+placeholders(1, 13)+`)`, vals...); err != nil {
			return translate(err, c.AccountID)
		}
		return insertEvent(ctx, tx, ev)
	})
	return fail("create connector", err)
}

// Connector returns the account's connector guid.
func (s *Store) Connector(ctx context.Context, accountID, guid string) (*payment.Connector, error) {
	var c *payment.Connector
	err := s.withConn(ctx, func(q querier) error {
		var err error
		c, err = connectorWhere(ctx, q, accountID, `guid = $2`, guid, "")
		return err
	})
	return c, fail("get connector", err)
}

// ConnectorByAPIKey returns the account's connector with apiKey.
func (s *Store) ConnectorByAPIKey(ctx context.Context, accountID, apiKey string) (*payment.Connector, error) {
	var c *payment.Connector
	err := s.withConn(ctx, func(q querier) error {
		var err error
		c, err = connectorWhere(ctx, q, accountID, `api_key = $2`, apiKey, "")
		return err
	})
	return c, fail("get connector", err)
}

func connectorWhere(ctx context.Context, q querier, accountID, cond, v, lock string) (*payment.Connector, error) {
	c, err := scanConnector(q.QueryRow(ctx, `SELECT `+connectorColumns+` FROM ixopay_connectors
		WHERE account_id = $1 AND `+cond+` `+lock, accountID, v))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, payment.NotFound("connector", v)
	}
	return c, err
}

// Connectors lists the account's connectors, oldest first.
func (s *Store) Connectors(ctx context.Context, accountID string) ([]*payment.Connector, error) {
	var cs []*payment.Connector
	err := s.withConn(ctx, func(q querier) error {
		rows, err := q.Query(ctx, `SELECT `+connectorColumns+` FROM ixopay_connectors WHERE account_id = $1 ORDER BY seq`, accountID)
		if err != nil {
			return err
		}
		cs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*payment.Connector, error) { return scanConnector(r) })
		return err
	})
	if cs == nil && err == nil {
		cs = []*payment.Connector{}
	}
	return cs, fail("list connectors", err)
}

// UpdateConnector runs fn on the locked connector and writes back the
// result with fn's event.
func (s *Store) UpdateConnector(ctx context.Context, accountID, guid string, fn func(*payment.Connector) (*payment.Event, error)) (*payment.Connector, error) {
	var c *payment.Connector
	var fnErr error
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if c, err = connectorWhere(ctx, tx, accountID, `guid = $2`, guid, "FOR UPDATE"); err != nil {
			return err
		}
		ev, err := fn(c)
		if err != nil {
			fnErr = err
			return err
		}
		if c.AccountID != accountID || c.GUID != guid {
			return fmt.Errorf("update of connector %s changed its account or guid", guid)
		}
		vals, err := connectorValues(c)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE ixopay_connectors SET gateway_id = $1, api_key = $2,
			public_integration_key = $3, shared_secret_sealed = $4, signature_required = $5,
			disabled_transaction_types = $6, archived = $7, disabled = $8, attributes = $9, created_at = $10, updated_at = $11
			WHERE account_id = $12 AND guid = $13`, append(vals[2:], accountID, guid)...); err != nil {
			return translate(err, accountID)
		}
		if ev == nil {
			return nil
		}
		if err := store.CheckEvent(accountID, ev); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, fail("update connector", err)
	}
	c.CreatedAt, c.UpdatedAt = ts(c.CreatedAt), ts(c.UpdatedAt)
	return c, nil
}
