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

const connectorColumns = `account_id, guid, gateway_id, api_key, public_integration_key, shared_secret_sealed,
	signature_required, disabled_transaction_types, archived, disabled, attributes, created_at, updated_at`

func scanConnector(sc scanner) (*payment.Connector, error) {
	var c payment.Connector
	var disabledTypes, attributes string
	var created, updated int64
	err := sc.Scan(&c.AccountID, &c.GUID, &c.GatewayID, &c.APIKey, &c.PublicIntegrationKey, &c.SharedSecretSealed,
		&c.SignatureRequired, &disabledTypes, &c.Archived, &c.Disabled, &attributes, &created, &updated)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(disabledTypes), &c.DisabledTransactionTypes); err != nil {
		return nil, fmt.Errorf("connector %s: disabled transaction types: %w", c.GUID, err)
	}
	c.Attributes = json.RawMessage(attributes)
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
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
		c.SignatureRequired, string(disabledTypes), c.Archived, c.Disabled, attributes, micros(c.CreatedAt), micros(c.UpdatedAt)}, nil
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
	err = s.write(ctx, func(ctx context.Context, tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO ixopay_connectors (`+connectorColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, vals...); err != nil {
			return translate(err, c.AccountID)
		}
		return insertEvent(ctx, tx, ev)
	})
	return fail("create connector", err)
}

// Connector returns the account's connector guid.
func (s *Store) Connector(ctx context.Context, accountID, guid string) (*payment.Connector, error) {
	c, err := connectorWhere(ctx, s.reads, accountID, `guid = ?`, guid)
	return c, fail("get connector", err)
}

// ConnectorByAPIKey returns the account's connector with apiKey.
func (s *Store) ConnectorByAPIKey(ctx context.Context, accountID, apiKey string) (*payment.Connector, error) {
	c, err := connectorWhere(ctx, s.reads, accountID, `api_key = ?`, apiKey)
	return c, fail("get connector", err)
}

func connectorWhere(ctx context.Context, q querier, accountID, cond, v string) (*payment.Connector, error) {
	c, err := scanConnector(q.QueryRowContext(ctx, `SELECT `+connectorColumns+` FROM ixopay_connectors
		WHERE account_id = ? AND `+cond, accountID, v))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, payment.NotFound("connector", v)
	}
	return c, err
}

// Connectors lists the account's connectors, oldest first.
func (s *Store) Connectors(ctx context.Context, accountID string) ([]*payment.Connector, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT `+connectorColumns+` FROM ixopay_connectors
		WHERE account_id = ? ORDER BY seq`, accountID)
	if err != nil {
		return nil, fail("list connectors", err)
	}
	cs, err := collect(rows, scanConnector)
	return cs, fail("list connectors", err)
}

// UpdateConnector runs fn on the connector in a writer transaction and
// writes back the result with fn's event.
func (s *Store) UpdateConnector(ctx context.Context, accountID, guid string, fn func(*payment.Connector) (*payment.Event, error)) (*payment.Connector, error) {
	var c *payment.Connector
	var fnErr error
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		var err error
		if c, err = connectorWhere(ctx, tx, accountID, `guid = ?`, guid); err != nil {
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
		if _, err := tx.ExecContext(ctx, `UPDATE ixopay_connectors SET gateway_id = ?, api_key = ?,
			public_integration_key = ?, shared_secret_sealed = ?, signature_required = ?,
			disabled_transaction_types = ?, archived = ?, disabled = ?, attributes = ?, created_at = ?, updated_at = ?
			WHERE account_id = ? AND guid = ?`, append(vals[2:], accountID, guid)...); err != nil {
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
	return c, nil
}
