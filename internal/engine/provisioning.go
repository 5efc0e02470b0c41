package engine

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/payment"
)

// SecretMask begins every masked secret kassa shows (maskSecret). A value
// that begins with it, sent back in an update, means "unchanged": a client
// that reads a connector and writes it back must not overwrite its secrets
// with their masks.
const SecretMask = "••••"

// Limits of a connector's keys.
const (
	maxConnectorKeyLen    = 100
	maxConnectorSecretLen = 50 // IXOPAY's limit on sharedSecret
	generatedKeyLen       = 24
	generatedSecretLen    = 30
)

// ConnectorInput is the whole state the IXOPAY dialect asks a connector to
// have, on create and on update. The engine owns what touches money and
// secrets (the gateway or router behind the connector, its credential
// versions, the sealed shared secret, the keys); the dialect owns the
// vocabulary and keeps the rest in Attributes.
//
// Errors name the gateway fields in the native API's terms ("description",
// "credentials.login", "settings.latency_ms", "sandbox", "type") and the
// connector's own in IXOPAY's ("apiKey", "publicIntegrationKey",
// "sharedSecret", "routing.default", "routing.cascade[1]"); the dialect
// renames the former.
type ConnectorInput struct {
	// Name becomes the gateway's description.
	Name string
	// Type is a gateway type of the registry, or RouterType for a
	// meta-connector; it cannot change on update.
	Type string
	// APIKey and PublicIntegrationKey: empty generates one on create and
	// keeps the current one on update.
	APIKey               string
	PublicIntegrationKey string
	// SharedSecret: empty generates one on create and keeps the current one
	// on update; so does a value beginning with SecretMask.
	SharedSecret string
	// Credentials are the adapter's credential fields. On update they are
	// laid over the current version, values beginning with SecretMask
	// ignored; a change makes a new credential version. Nil on update keeps
	// the credentials.
	Credentials map[string]any
	// Settings are the adapter's settings (nil on update: unchanged). Not for
	// routers, whose settings are made from Routing.
	Settings map[string]any
	// Sandbox, when set, is the gateway's sandbox flag.
	Sandbox *bool
	// Routing is what a meta-connector routes to; required for routers.
	Routing                  *ConnectorRouting
	SignatureRequired        bool
	DisabledTransactionTypes []string
	Archived                 bool
	Disabled                 bool
	// Attributes are the fields the engine keeps without acting on them;
	// they must hold no secret.
	Attributes json.RawMessage
}

// ConnectorRouting is what a meta-connector's router does: send every
// payment to Default, or try Cascade's connectors in order (the next after
// a not-sent outcome), with recurring payments pinned to the connector of
// their first payment when PinRecurring. Connectors are named by guid and
// must be the account's own, and not meta-connectors.
type ConnectorRouting struct {
	Default      string
	Cascade      []string
	PinRecurring bool
}

// ConnectorDetail is a connector with its gateway (or router).
type ConnectorDetail struct {
	*payment.Connector
	Gateway *GatewayDetail
	// GeneratedSecret is the shared secret kassa generated in this call, the
	// only time it is ever shown; empty otherwise.
	GeneratedSecret string
}

// connectorObject is a connector as its events show it: never a secret.
func connectorObject(c *payment.Connector) map[string]any {
	attrs := c.Attributes
	if len(attrs) == 0 {
		attrs = json.RawMessage(`{}`)
	}
	types := c.DisabledTransactionTypes
	if types == nil {
		types = []string{}
	}
	return map[string]any{"guid": c.GUID, "gateway": c.GatewayID, "api_key": c.APIKey,
		"public_integration_key": c.PublicIntegrationKey, "signature_required": c.SignatureRequired,
		"disabled_transaction_types": types, "archived": c.Archived, "disabled": c.Disabled,
		"attributes": attrs}
}

// NewConnectorGUID returns a fresh connector guid: "CO-" and six groups of
// four upper-case hexadecimal digits, as IXOPAY shows them.
func NewConnectorGUID() string {
	var raw [12]byte
	if _, err := crand.Read(raw[:]); err != nil {
		panic("engine: crypto/rand failed: " + err.Error())
	}
	digits := strings.ToUpper(hex.EncodeToString(raw[:]))
	var b strings.Builder
	b.WriteString("CO")
	for i := 0; i < 24; i += 4 {
		b.WriteByte('-')
		b.WriteString(digits[i : i+4])
	}
	return b.String()
}

// checkConnectorKey checks an API key or public integration key: printable
// ASCII without spaces, as IXOPAY asks ("a unique key name without blank
// spaces").
func checkConnectorKey(param, s string) error {
	if len(s) > maxConnectorKeyLen {
		return payment.Invalid(payment.CodeParameterInvalid, param, "%s must be at most %d characters.", param, maxConnectorKeyLen)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return payment.Invalid("invalid_characters", param, "%s may hold only printable ASCII characters without spaces.", param)
		}
	}
	return CheckNoCardNumber(param, s)
}

func checkSharedSecret(s string) error {
	if len(s) > maxConnectorSecretLen {
		return payment.Invalid(payment.CodeParameterInvalid, "sharedSecret", "sharedSecret must be at most %d characters.", maxConnectorSecretLen)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] >= 0x7f {
			return payment.Invalid("invalid_characters", "sharedSecret", "sharedSecret may hold only printable ASCII characters.")
		}
	}
	return nil
}

// errAPIKeyTaken: API keys name connectors in transaction paths, so they are
// unique in an account.
func errAPIKeyTaken() error {
	return payment.Invalid(payment.CodeParameterInvalid, "apiKey", "apiKey is already the API key of another connector of this merchant.")
}

// routerSettings turns r into a router's settings, checking that every
// connector it names is the account's own and no meta-connector.
func (e *Engine) routerSettings(ctx context.Context, accountID, self string, r *ConnectorRouting) (map[string]any, error) {
	if r == nil || (r.Default == "" && len(r.Cascade) == 0) {
		return nil, payment.Missing("routing.default")
	}
	gatewayOf := func(param, guid string) (string, error) {
		if guid == self {
			return "", payment.Invalid(payment.CodeParameterInvalid, param, "%s: a meta-connector cannot route to itself.", param)
		}
		c, err := e.store.Connector(ctx, accountID, guid)
		if errors.Is(err, payment.ErrNotFound) {
			return "", &payment.Error{Kind: payment.KindNotFound, Code: payment.CodeResourceMissing, Param: param,
				Message: fmt.Sprintf("%s: no such connector '%s'.", param, printableID(guid))}
		}
		if err != nil {
			return "", err
		}
		g, err := e.store.Gateway(ctx, accountID, c.GatewayID)
		if err != nil {
			return "", fmt.Errorf("gateway of connector %s: %w", c.GUID, err)
		}
		if g.Type == RouterType {
			return "", payment.Invalid(payment.CodeParameterInvalid, param, "%s: %s is a meta-connector; a meta-connector routes to connectors of adapters.", param, c.GUID)
		}
		return g.ID, nil
	}
	action := map[string]any{}
	if len(r.Cascade) > 0 {
		gws := make([]any, len(r.Cascade))
		for i, guid := range r.Cascade {
			gw, err := gatewayOf(fmt.Sprintf("routing.cascade[%d]", i), guid)
			if err != nil {
				return nil, err
			}
			gws[i] = gw
		}
		action["cascade"] = gws
	} else {
		gw, err := gatewayOf("routing.default", r.Default)
		if err != nil {
			return nil, err
		}
		action["gateway"] = gw
	}
	settings := map[string]any{"rules": []any{}, "default": action, "pin_recurring": r.PinRecurring}
	_, canonical, err := e.routerConfig(ctx, accountID, settings)
	return canonical, err
}

// CreateConnector makes an IXOPAY connector: a gateway of in.Type (a router
// for a meta-connector) and the connector record with its keys and sealed
// shared secret.
func (e *Engine) CreateConnector(ctx context.Context, p *payment.Principal, in ConnectorInput) (*ConnectorDetail, error) {
	acct := p.Account.ID
	apiKey, pik, secret := in.APIKey, in.PublicIntegrationKey, in.SharedSecret
	if apiKey == "" {
		apiKey = payment.RandomString(generatedKeyLen)
	}
	generated := ""
	if secret == "" || strings.HasPrefix(secret, SecretMask) {
		secret = payment.RandomString(generatedSecretLen)
		generated = secret
	}
	for _, k := range []struct{ param, v string }{{"apiKey", apiKey}, {"publicIntegrationKey", pik}} {
		if err := checkConnectorKey(k.param, k.v); err != nil {
			return nil, err
		}
	}
	if err := checkSharedSecret(secret); err != nil {
		return nil, err
	}
	if _, err := e.store.ConnectorByAPIKey(ctx, acct, apiKey); err == nil {
		return nil, errAPIKeyTaken()
	} else if !errors.Is(err, payment.ErrNotFound) {
		return nil, err
	}
	guid := NewConnectorGUID()
	gin := GatewayInput{Type: in.Type, Description: in.Name, Credentials: in.Credentials, Settings: in.Settings, Sandbox: in.Sandbox}
	if in.Type == RouterType {
		settings, err := e.routerSettings(ctx, acct, guid, in.Routing)
		if err != nil {
			return nil, err
		}
		gin.Settings, gin.Sandbox = settings, nil
	} else if in.Routing != nil {
		return nil, payment.Invalid(payment.CodeParameterUnknown, "routing", "Only meta-connectors route.")
	}
	// Sealed before any write: the vault may itself write (see
	// sealConnectorSecret).
	sealed, err := e.sealConnectorSecret(ctx, acct, guid, secret)
	if err != nil {
		return nil, err
	}
	if pik == "" {
		// A publishable key of the account: what payment.js-style
		// tokenization in a browser is given, so a card vaulted with it
		// (POST /v1/payment_methods) is a transactionToken of this
		// merchant. Publishable keys are public by design; the connector
		// shows it as IXOPAY does.
		if _, pik, err = e.CreateAPIKey(ctx, p, payment.KeyPublishable); err != nil {
			return nil, fmt.Errorf("publishable key of connector: %w", err)
		}
	}
	gd, err := e.CreateGateway(ctx, p, gin)
	if err != nil {
		return nil, err
	}
	now := e.clock()
	c := &payment.Connector{AccountID: acct, GUID: guid, GatewayID: gd.ID, APIKey: apiKey, PublicIntegrationKey: pik,
		SharedSecretSealed: sealed, SignatureRequired: in.SignatureRequired,
		DisabledTransactionTypes: nonNil(in.DisabledTransactionTypes), Archived: in.Archived, Disabled: in.Disabled,
		Attributes: in.Attributes, CreatedAt: now, UpdatedAt: now}
	if err := e.store.CreateConnector(ctx, c, newEvent(acct, "connector.created", guid, connectorObject(c), now)); err != nil {
		// The gateway stays, unused; a lost race for the API key is the
		// only expected cause.
		if errors.Is(err, payment.ErrConflict) {
			return nil, errAPIKeyTaken()
		}
		return nil, fmt.Errorf("create connector: %w", err)
	}
	return &ConnectorDetail{Connector: c, Gateway: gd, GeneratedSecret: generated}, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// UpdateConnector gives the caller's connector guid the state in. Gateway
// settings change in place; changed credentials make a new credential
// version (payments keep the version they were made with); a new shared
// secret is sealed before the write.
//
// The steps are not one transaction: a failure after the gateway's update
// leaves the gateway changed and the connector as it was, and the request
// can be sent again.
func (e *Engine) UpdateConnector(ctx context.Context, p *payment.Principal, guid string, in ConnectorInput) (*ConnectorDetail, error) {
	acct := p.Account.ID
	cur, err := e.store.Connector(ctx, acct, guid)
	if err != nil {
		return nil, err
	}
	g, err := e.store.Gateway(ctx, acct, cur.GatewayID)
	if err != nil {
		return nil, fmt.Errorf("gateway of connector %s: %w", guid, err)
	}
	if in.Type != g.Type {
		return nil, payment.Invalid(payment.CodeParameterInvalid, "type",
			"The adapter of a connector cannot change: create another connector.")
	}
	apiKey, pik := cur.APIKey, cur.PublicIntegrationKey
	if in.APIKey != "" {
		apiKey = in.APIKey
	}
	if in.PublicIntegrationKey != "" {
		pik = in.PublicIntegrationKey
	}
	for _, k := range []struct{ param, v string }{{"apiKey", apiKey}, {"publicIntegrationKey", pik}} {
		if err := checkConnectorKey(k.param, k.v); err != nil {
			return nil, err
		}
	}
	if apiKey != cur.APIKey {
		if _, err := e.store.ConnectorByAPIKey(ctx, acct, apiKey); err == nil {
			return nil, errAPIKeyTaken()
		} else if !errors.Is(err, payment.ErrNotFound) {
			return nil, err
		}
	}
	if g.Type != RouterType {
		if err := e.checkConnectorConfig(ctx, p.Account, g, in); err != nil {
			return nil, err
		}
	}
	var sealed []byte
	if in.SharedSecret != "" && !strings.HasPrefix(in.SharedSecret, SecretMask) {
		if err := checkSharedSecret(in.SharedSecret); err != nil {
			return nil, err
		}
		if sealed, err = e.sealConnectorSecret(ctx, acct, guid, in.SharedSecret); err != nil {
			return nil, err
		}
	}

	u := GatewayUpdate{Description: &in.Name, Sandbox: in.Sandbox}
	if g.Type == RouterType {
		if u.Settings, err = e.routerSettings(ctx, acct, guid, in.Routing); err != nil {
			return nil, err
		}
		u.Sandbox = nil
		if in.Credentials != nil {
			return nil, payment.Invalid(payment.CodeParameterUnknown, "credentials", "Meta-connectors hold no credentials: the connectors they route to do.")
		}
	} else {
		if in.Routing != nil {
			return nil, payment.Invalid(payment.CodeParameterUnknown, "routing", "Only meta-connectors route.")
		}
		u.Settings = in.Settings
	}
	if _, err := e.UpdateGateway(ctx, p, g.ID, u); err != nil {
		return nil, err
	}
	if in.Credentials != nil && g.Type != RouterType {
		if err := e.updateConnectorCredentials(ctx, p, g, in.Credentials); err != nil {
			return nil, err
		}
	}

	now := e.clock()
	c, err := e.store.UpdateConnector(ctx, acct, guid, func(c *payment.Connector) (*payment.Event, error) {
		c.APIKey, c.PublicIntegrationKey = apiKey, pik
		if sealed != nil {
			c.SharedSecretSealed = sealed
		}
		c.SignatureRequired = in.SignatureRequired
		c.DisabledTransactionTypes = nonNil(in.DisabledTransactionTypes)
		c.Archived, c.Disabled = in.Archived, in.Disabled
		c.Attributes = in.Attributes
		c.UpdatedAt = now
		return newEvent(acct, "connector.updated", c.GUID, connectorObject(c), now), nil
	})
	if errors.Is(err, payment.ErrConflict) {
		return nil, errAPIKeyTaken()
	}
	if err != nil {
		return nil, err
	}
	gd, err := e.Gateway(ctx, acct, c.GatewayID)
	if err != nil {
		return nil, err
	}
	return &ConnectorDetail{Connector: c, Gateway: gd}, nil
}

// updateConnectorCredentials lays in over g's current credentials and makes
// a new version when that changes anything. Masked values stand for the
// current ones.
// checkConnectorConfig asks g's adapter (gateway.ConfigChecker) about the
// configuration an update in would give g — its settings and mode, and
// the credential fields it sets — before any of the update's steps
// changes anything: a refused update leaves the gateway as it was. The
// addresses it would call are checked too (checkAddresses).
func (e *Engine) checkConnectorConfig(ctx context.Context, acct *payment.Account, g *payment.Gateway, in ConnectorInput) error {
	ad, ok := e.gateways.Lookup(g.Type)
	if !ok {
		return nil // UpdateGateway refuses it
	}
	spec := ad.Spec()
	c := gateway.Config{Settings: g.Settings, Sandbox: g.Sandbox, Live: acct.Live}
	if in.Sandbox != nil {
		c.Sandbox = *in.Sandbox
	}
	if in.Settings != nil {
		s, err := checkSettings(ad, spec, in.Settings)
		if err != nil {
			return err
		}
		c.Settings = s
	}
	set := map[string]any{}
	for k, v := range in.Credentials {
		if s, ok := v.(string); ok && strings.HasPrefix(s, SecretMask) {
			continue // unchanged
		}
		set[k] = v
	}
	if len(set) > 0 {
		creds, err := checkFields("credentials", spec.CredentialFields, set, false)
		if err != nil {
			return err
		}
		c.Credentials = map[string]string{}
		for k, v := range creds {
			c.Credentials[k] = fmt.Sprint(v)
		}
	}
	if err := checkConfig(ad, c); err != nil {
		return err
	}
	return e.checkAddresses(ctx, acct, spec, c.Settings, c.Credentials)
}

func (e *Engine) updateConnectorCredentials(ctx context.Context, p *payment.Principal, g *payment.Gateway, in map[string]any) error {
	current := map[string]string{}
	if g.CredentialVersion > 0 && g.State != payment.GatewayRedacted {
		var err error
		if current, err = e.openCredentials(ctx, g, g.CredentialVersion); err != nil {
			return err
		}
	}
	next := map[string]any{}
	for k, v := range current {
		next[k] = v
	}
	for k, v := range in {
		if s, ok := v.(string); ok && strings.HasPrefix(s, SecretMask) {
			continue
		}
		next[k] = v
	}
	changed := len(next) != len(current) || g.State == payment.GatewayRedacted
	for k, v := range next {
		if s, ok := v.(string); !ok || s != current[k] {
			changed = true
		}
	}
	if !changed {
		return nil
	}
	_, err := e.SetGatewayCredentials(ctx, p, g.ID, next, "updateConnector", false)
	return err
}

// ArchiveConnector archives the caller's connector guid: the transaction
// API refuses it from then on; its payments stay readable. Archiving an
// archived connector changes nothing.
func (e *Engine) ArchiveConnector(ctx context.Context, p *payment.Principal, guid string) (*ConnectorDetail, error) {
	now := e.clock()
	c, err := e.store.UpdateConnector(ctx, p.Account.ID, guid, func(c *payment.Connector) (*payment.Event, error) {
		if c.Archived {
			return nil, nil
		}
		c.Archived, c.UpdatedAt = true, now
		return newEvent(c.AccountID, "connector.archived", c.GUID, connectorObject(c), now), nil
	})
	if err != nil {
		return nil, err
	}
	return e.connectorDetail(ctx, c)
}

// ConnectorDetail returns the caller's connector guid with its gateway, or
// ErrNotFound.
func (e *Engine) ConnectorDetail(ctx context.Context, p *payment.Principal, guid string) (*ConnectorDetail, error) {
	c, err := e.store.Connector(ctx, p.Account.ID, guid)
	if err != nil {
		return nil, err
	}
	return e.connectorDetail(ctx, c)
}

// ConnectorDetails lists the caller's connectors, oldest first.
func (e *Engine) ConnectorDetails(ctx context.Context, p *payment.Principal) ([]*ConnectorDetail, error) {
	cs, err := e.store.Connectors(ctx, p.Account.ID)
	if err != nil {
		return nil, err
	}
	out := make([]*ConnectorDetail, len(cs))
	for i, c := range cs {
		if out[i], err = e.connectorDetail(ctx, c); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (e *Engine) connectorDetail(ctx context.Context, c *payment.Connector) (*ConnectorDetail, error) {
	gd, err := e.Gateway(ctx, c.AccountID, c.GatewayID)
	if err != nil {
		return nil, fmt.Errorf("gateway of connector %s: %w", c.GUID, err)
	}
	return &ConnectorDetail{Connector: c, Gateway: gd}, nil
}
