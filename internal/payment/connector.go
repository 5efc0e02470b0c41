package payment

import (
	"context"
	"encoding/json"
	"time"
)

// PurposeConnectorSecret keys the sealing of IXOPAY connectors' shared
// secrets.
const PurposeConnectorSecret = "connector_secret"

// IXOPAYMerchantGUID is the IXOPAY merchant guid of an account: "ME-" and
// the account id ("ME-T12345678"), stable for the account's life.
func IXOPAYMerchantGUID(accountID string) string { return "ME-" + accountID }

// Connector is an IXOPAY connector: the IXOPAY dialect's name for a kassa
// gateway (or router, for a meta-connector), with the keys its transaction
// API is called with and the fields IXOPAY's provisioning API keeps.
type Connector struct {
	AccountID string
	// GUID is "CO-" and six groups of four characters.
	GUID      string
	GatewayID string // the kassa gateway (a router for a meta-connector)
	// APIKey names the connector in transaction paths; unique per
	// account. PublicIntegrationKey is what payment.js uses; kassa takes it
	// for a publishable key of the account.
	APIKey               string
	PublicIntegrationKey string
	// SharedSecretSealed is the vault ciphertext of the shared secret that
	// signs requests and callbacks (record "<guid>/shared-secret").
	SharedSecretSealed []byte
	// SignatureRequired: transaction requests must carry a valid
	// X-Signature.
	SignatureRequired bool
	// DisabledTransactionTypes are the seed page's values
	// (initial_debit, capture, refund, …) the transaction API refuses.
	DisabledTransactionTypes []string
	Archived                 bool
	Disabled                 bool
	// Attributes are the provisioning fields kassa keeps and shows but
	// does not act on (name, method, businessCountry, terminals, …), as
	// the provisioning API renders them, secrets excluded.
	Attributes json.RawMessage
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// ConnectorStore keeps IXOPAY connectors.
type ConnectorStore interface {
	// CreateConnector inserts c with ev. ErrConflict if its GUID or API
	// key is taken in the account.
	CreateConnector(ctx context.Context, c *Connector, ev *Event) error
	// Connector returns the account's connector guid, or ErrNotFound.
	Connector(ctx context.Context, accountID, guid string) (*Connector, error)
	// ConnectorByAPIKey returns the account's connector with apiKey, or
	// ErrNotFound.
	ConnectorByAPIKey(ctx context.Context, accountID, apiKey string) (*Connector, error)
	// Connectors lists the account's connectors, oldest first.
	Connectors(ctx context.Context, accountID string) ([]*Connector, error)
	// UpdateConnector reads the connector, lets fn change it and writes it
	// with fn's event (nil: none), atomically. fn must not call the store.
	// ErrConflict if its API key clashes.
	UpdateConnector(ctx context.Context, accountID, guid string, fn func(*Connector) (*Event, error)) (*Connector, error)
}
