package engine

import (
	"context"
	"fmt"

	"github.com/kassapay/kassa/internal/payment"
)

// connectorSecretRecord is the vault record of a connector's shared
// secret.
func connectorSecretRecord(guid string) string { return guid + "/shared-secret" }

// ConnectorByAPIKey returns the caller's connector with apiKey, or
// ErrNotFound (another account's key is not found).
func (e *Engine) ConnectorByAPIKey(ctx context.Context, p *payment.Principal, apiKey string) (*payment.Connector, error) {
	return e.store.ConnectorByAPIKey(ctx, p.Account.ID, apiKey)
}

// Connector returns the caller's connector guid, or ErrNotFound.
func (e *Engine) Connector(ctx context.Context, p *payment.Principal, guid string) (*payment.Connector, error) {
	return e.store.Connector(ctx, p.Account.ID, guid)
}

// ConnectorSecret opens a connector's shared secret, which signs its
// requests and callbacks. It never leaves the process except as a
// signature.
func (e *Engine) ConnectorSecret(ctx context.Context, c *payment.Connector) (string, error) {
	b, err := e.vault.Open(ctx, c.AccountID, payment.PurposeConnectorSecret, connectorSecretRecord(c.GUID), c.SharedSecretSealed)
	if err != nil {
		return "", fmt.Errorf("open connector secret: %w", err)
	}
	return string(b), nil
}

// sealConnectorSecret seals a connector's shared secret. Call it before
// the store's write, never inside it: the vault may write to the store.
func (e *Engine) sealConnectorSecret(ctx context.Context, accountID, guid, secret string) ([]byte, error) {
	sealed, err := e.vault.Seal(ctx, accountID, payment.PurposeConnectorSecret, connectorSecretRecord(guid), []byte(secret))
	if err != nil {
		return nil, fmt.Errorf("seal connector secret: %w", err)
	}
	return sealed, nil
}
