package payment

import "time"

// GatewayState is whether a gateway still holds credentials.
type GatewayState string

const (
	// GatewayRetained: usable. Entered on creation and when new
	// credentials are set on a redacted gateway.
	GatewayRetained GatewayState = "retained"
	// GatewayRedacted: every credential version is destroyed; the gateway
	// refuses payments until new credentials are set.
	GatewayRedacted GatewayState = "redacted"
)

// Gateway is a configured connection to a payment service provider.
type Gateway struct {
	ID                 string // gw_…
	AccountID          string
	Type               string // an adapter type: "simulator", "stripe", …
	Description        string
	State              GatewayState
	Sandbox            bool
	Settings           map[string]any // validated against the adapter's settings fields
	MerchantProfileKey string
	SubMerchantKey     string
	DisabledOperations []OperationKind
	// CredentialVersion is the newest credential version, the one new
	// payments use (0 before any).
	CredentialVersion int
	CreatedAt         time.Time
	UpdatedAt         time.Time
	RedactedAt        *time.Time
}

// CredentialVersion is one numbered version of a gateway's credentials.
type CredentialVersion struct {
	AccountID string
	GatewayID string
	Version   int
	// Sealed is the vault ciphertext of all credential fields as a JSON
	// object (record "gw_…#v<version>"); nil once the gateway is redacted.
	Sealed []byte
	// Public holds the values of the fields the adapter says are not
	// sensitive, for display.
	Public      map[string]string
	Description string
	// CreatedBy names who set it: an API key id, or "cli".
	CreatedBy string
	CreatedAt time.Time
}
