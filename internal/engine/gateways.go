package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/netguard"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/routing"
)

// GatewayInput asks for a new gateway.
type GatewayInput struct {
	Type        string
	Description string
	Credentials map[string]any
	Settings    map[string]any
	// Sandbox defaults to true on test accounts and false on live ones.
	Sandbox            *bool
	MerchantProfileKey string
	SubMerchantKey     string
	DisabledOperations []string
}

// GatewayUpdate changes a gateway's non-secret fields; nil fields are left
// alone. Settings, when given, replace the settings.
type GatewayUpdate struct {
	Description        *string
	Settings           map[string]any
	Sandbox            *bool
	MerchantProfileKey *string
	SubMerchantKey     *string
	DisabledOperations *[]string
}

// GatewayDetail is a gateway with what is needed to show it: its newest
// credential version (nil before any), its type's Spec, and its circuit
// breaker as this process sees it.
type GatewayDetail struct {
	*payment.Gateway
	Credentials *payment.CredentialVersion
	Spec        gateway.Spec
	Health      routing.BreakerStatus
}

// GatewayTypes returns the Spec of every gateway type on offer, routers
// last.
func (e *Engine) GatewayTypes() []gateway.Spec { return append(e.gateways.Specs(), routerSpec) }

// credRecord names the vault record of one credential version.
func credRecord(gatewayID string, version int) string {
	return fmt.Sprintf("%s#v%d", gatewayID, version)
}

// principalName is who made a change, as credential history shows it.
func principalName(p *payment.Principal) string {
	if p == nil || p.Actor() == "" {
		return "cli"
	}
	return p.Actor()
}

// CreateGateway configures a gateway of one of the registry's types.
func (e *Engine) CreateGateway(ctx context.Context, p *payment.Principal, in GatewayInput) (*GatewayDetail, error) {
	return e.createGateway(ctx, p, in, payment.NewID(payment.PrefixGateway), "initial credentials", false)
}

// createGateway is CreateGateway with the new gateway's id and its first
// credential version's description given and, with validate, the
// credentials checked by the adapter first (checkWorking).
func (e *Engine) createGateway(ctx context.Context, p *payment.Principal, in GatewayInput, id, credDescription string,
	validate bool) (*GatewayDetail, error) {
	if in.Type == "" {
		return nil, payment.Missing("type")
	}
	if in.Type == RouterType {
		return e.createRouter(ctx, p, in)
	}
	ad, ok := e.gateways.Lookup(in.Type)
	if !ok {
		return nil, payment.Invalid(payment.CodeParameterInvalid, "type",
			"Unknown gateway type '%s'. GET /v1/gateway_types lists the types.", printableName(in.Type))
	}
	spec := ad.Spec()
	acct := p.Account
	sandbox := !acct.Live
	if in.Sandbox != nil {
		sandbox = *in.Sandbox
	}
	if err := checkGatewayMode(spec, acct, sandbox); err != nil {
		return nil, err
	}
	if err := checkText("description", in.Description, maxNameLen); err != nil {
		return nil, err
	}
	settings, err := checkSettings(ad, spec, in.Settings)
	if err != nil {
		return nil, err
	}
	disabled, err := checkDisabled(spec, in.DisabledOperations)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct{ param, v string }{{"merchant_profile_key", in.MerchantProfileKey}, {"sub_merchant_key", in.SubMerchantKey}} {
		if err := checkText(f.param, f.v, maxNameLen); err != nil {
			return nil, err
		}
	}
	creds, err := checkCredentials(spec, in.Credentials)
	if err != nil {
		return nil, err
	}
	if err := checkConfig(ad, gateway.Config{Credentials: creds, Settings: settings, Sandbox: sandbox, Live: acct.Live}); err != nil {
		return nil, err
	}
	if err := e.checkAddresses(ctx, acct, spec, settings, creds); err != nil {
		return nil, err
	}
	now := e.clock()
	g := &payment.Gateway{
		ID: id, AccountID: acct.ID, Type: spec.Type,
		Description: in.Description, State: payment.GatewayRetained, Sandbox: sandbox, Settings: settings,
		MerchantProfileKey: in.MerchantProfileKey, SubMerchantKey: in.SubMerchantKey,
		DisabledOperations: disabled, CredentialVersion: 1, CreatedAt: now, UpdatedAt: now,
	}
	if validate {
		if err := e.checkWorking(ctx, ad, g, creds, acct.Live); err != nil {
			return nil, err
		}
	}
	cv, err := e.sealCredentials(ctx, spec, g, 1, creds, credDescription, p, now)
	if err != nil {
		return nil, err
	}
	d := &GatewayDetail{Gateway: g, Credentials: cv, Spec: spec}
	ev := newEvent(acct.ID, "gateway.created", g.ID, GatewayObjectOf(d), now)
	if err := e.store.CreateGateway(ctx, g, cv, ev); err != nil {
		return nil, fmt.Errorf("create gateway: %w", err)
	}
	return d, nil
}

// checkGatewayMode keeps test accounts on sandboxes and live accounts away
// from test-only gateways.
func checkGatewayMode(spec gateway.Spec, acct *payment.Account, sandbox bool) error {
	if acct.Live && spec.TestOnly {
		return payment.Invalid("gateway_not_allowed", "type", "Gateway type '%s' is for test accounts only.", spec.Type)
	}
	if !acct.Live && !sandbox {
		return payment.Invalid("gateway_not_allowed", "sandbox", "Test accounts may only use sandbox gateways: set sandbox to true.")
	}
	return nil
}

// sealCredentials seals creds as version v of g and keeps masked previews of
// them for display.
func (e *Engine) sealCredentials(ctx context.Context, spec gateway.Spec, g *payment.Gateway, v int, creds map[string]string,
	description string, p *payment.Principal, now time.Time) (*payment.CredentialVersion, error) {
	plain, err := json.Marshal(creds)
	if err != nil {
		return nil, fmt.Errorf("encode credentials: %w", err)
	}
	sealed, err := e.vault.Seal(ctx, g.AccountID, payment.PurposeCredentials, credRecord(g.ID, v), plain)
	if err != nil {
		return nil, fmt.Errorf("seal credentials: %w", err)
	}
	public := map[string]string{}
	for _, f := range spec.CredentialFields {
		val, ok := creds[f.Name]
		if !ok {
			continue
		}
		if f.Sensitive {
			val = maskSecret(val)
		}
		public[f.Name] = val
	}
	return &payment.CredentialVersion{AccountID: g.AccountID, GatewayID: g.ID, Version: v, Sealed: sealed,
		Public: public, Description: description, CreatedBy: principalName(p), CreatedAt: now}, nil
}

// maskSecret shows the last four characters of a long secret, nothing of a
// short one.
func maskSecret(s string) string {
	if len(s) >= 16 {
		return "••••" + s[len(s)-4:]
	}
	return "••••"
}

// openCredentials opens version v of g's credentials.
func (e *Engine) openCredentials(ctx context.Context, g *payment.Gateway, v int) (map[string]string, error) {
	if g.State == payment.GatewayRedacted {
		return nil, errGatewayRedacted(g.ID)
	}
	cv, err := e.cachedCredentials(ctx, g, v)
	if err != nil {
		return nil, fmt.Errorf("credentials v%d of %s: %w", v, g.ID, err)
	}
	if cv.Sealed == nil {
		return nil, errGatewayRedacted(g.ID)
	}
	plain, err := e.vault.Open(ctx, g.AccountID, payment.PurposeCredentials, credRecord(g.ID, v), cv.Sealed)
	if err != nil {
		return nil, fmt.Errorf("open credentials v%d of %s: %w", v, g.ID, err)
	}
	creds := map[string]string{}
	if err := json.Unmarshal(plain, &creds); err != nil {
		return nil, fmt.Errorf("decode credentials v%d of %s: %w", v, g.ID, err)
	}
	return creds, nil
}

func errGatewayRedacted(id string) error {
	return payment.Conflict("gateway_redacted",
		"Gateway %s is redacted: its credentials were destroyed. Set new credentials (PUT /v1/gateways/%s/credentials) before using it.", id, id)
}

// checkCredentials validates credential values against the adapter's fields:
// strings only, no unknown fields, every required one present.
func checkCredentials(spec gateway.Spec, in map[string]any) (map[string]string, error) {
	vals, err := checkFields("credentials", spec.CredentialFields, in, true)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(vals))
	for k, v := range vals {
		s, ok := v.(string)
		if !ok {
			return nil, payment.Invalid(payment.CodeParameterInvalid, "credentials."+k, "credentials.%s must be a string.", k)
		}
		out[k] = s
	}
	return out, nil
}

// checkFields validates values against declared fields and returns them in
// canonical form (integers as int64). With required set, required fields
// must be present.
func checkFields(group string, fields []gateway.Field, in map[string]any, required bool) (map[string]any, error) {
	out := map[string]any{}
	byName := map[string]gateway.Field{}
	for _, f := range fields {
		byName[f.Name] = f
	}
	names := make([]string, 0, len(in))
	for k := range in {
		names = append(names, k)
	}
	sort.Strings(names) // report the same field first every time
	for _, k := range names {
		v := in[k]
		f, ok := byName[k]
		if !ok {
			return nil, &payment.Error{Kind: payment.KindInvalid, Code: payment.CodeParameterUnknown, Param: group + "." + printableName(k),
				Message: fmt.Sprintf("Unknown field %s.%s. %s", group, printableName(k), fieldList(group, fields))}
		}
		param := group + "." + k
		if v == nil {
			continue
		}
		switch f.Kind {
		case gateway.KindString:
			s, ok := v.(string)
			if !ok {
				return nil, payment.Invalid(payment.CodeParameterInvalid, param, "%s must be a string.", param)
			}
			if len(s) > 4096 {
				return nil, payment.Invalid(payment.CodeParameterInvalid, param, "%s must be at most 4096 characters.", param)
			}
			if s == "" {
				continue
			}
			if err := checkFieldText(group, param, s); err != nil {
				return nil, err
			}
			out[k] = s
		case gateway.KindBoolean:
			b, ok := v.(bool)
			if !ok {
				return nil, payment.Invalid(payment.CodeParameterInvalid, param, "%s must be true or false.", param)
			}
			out[k] = b
		case gateway.KindInteger:
			n, ok := asInt(v)
			if !ok {
				return nil, payment.Invalid(payment.CodeParameterInvalid, param, "%s must be an integer.", param)
			}
			if err := checkFieldText(group, param, strconv.FormatInt(n, 10)); err != nil {
				return nil, err
			}
			out[k] = n
		}
	}
	if required {
		for _, f := range fields {
			if _, ok := out[f.Name]; f.Required && !ok {
				return nil, payment.Missing(group + "." + f.Name)
			}
		}
	}
	return out, nil
}

// checkSettings checks settings against the fields spec declares (a
// required one must be there: settings given replace the old ones whole),
// then asks the adapter, if it checks its settings itself.
func checkSettings(ad gateway.Adapter, spec gateway.Spec, in map[string]any) (map[string]any, error) {
	out, err := checkFields("settings", spec.SettingsFields, in, true)
	if err != nil {
		return nil, err
	}
	if sc, ok := ad.(gateway.SettingsChecker); ok {
		if err := sc.CheckSettings(out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// checkConfig asks ad to check c as a whole, if it can
// (gateway.ConfigChecker).
func checkConfig(ad gateway.Adapter, c gateway.Config) error {
	if cc, ok := ad.(gateway.ConfigChecker); ok {
		return cc.CheckConfig(c)
	}
	return nil
}

// checkAddresses refuses, for a live account on a server that does not
// allow private addresses, a URL field (gateway.Field.URL) of settings or
// creds whose host is or resolves to an address that is not public: kassa
// would send the gateway's requests, credentials and card data included,
// into its own network (server-side request forgery). Test accounts may:
// developers run stand-ins of providers locally. Every call checks again
// when it connects (gateway.HTTPClient), so a name resolved differently
// later is refused then. The message names the field, never its value.
func (e *Engine) checkAddresses(ctx context.Context, acct *payment.Account, spec gateway.Spec, settings map[string]any,
	creds map[string]string) error {
	if !acct.Live || e.cfg.GatewayAllowPrivate {
		return nil
	}
	check := func(group string, f gateway.Field, v any) error {
		s, ok := v.(string)
		if !f.URL || !ok || s == "" {
			return nil
		}
		if err := netguard.CheckURL(ctx, s); err != nil {
			param := group + "." + f.Name
			return payment.Invalid(payment.CodeParameterInvalid, param,
				"%s %s on a live account: kassa calls only public addresses for live gateways.", param, err)
		}
		return nil
	}
	for _, f := range spec.SettingsFields {
		if err := check("settings", f, settings[f.Name]); err != nil {
			return err
		}
	}
	for _, f := range spec.CredentialFields {
		if v, ok := creds[f.Name]; ok {
			if err := check("credentials", f, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkFieldText refuses a card number in the value of a declared field.
// Settings and gateway-specific fields are stored and shown in the clear
// (a payment keeps its gateway-specific fields); credentials are sealed,
// and are identifiers the provider chose — a merchant id of 15 digits may
// well pass Luhn — so they are left alone.
func checkFieldText(group, param, s string) error {
	if group == "credentials" {
		return nil
	}
	return CheckNoCardNumber(param, s)
}

// checkFreeForm refuses a card number anywhere in v, a value decoded from a
// request (objects, arrays, strings, numbers), named param. It runs before
// a value's declared fields are known — a router learns its gateway only
// when it decides — so that a card number is refused with a 422 whichever
// gateway the payment would take. A key that holds one is not repeated:
// the error then names param.
func checkFreeForm(param string, v any) error {
	switch v := v.(type) {
	case map[string]any:
		// Sorted: the same field is reported first every time.
		for _, k := range slices.Sorted(maps.Keys(v)) {
			if err := CheckNoCardNumber(param, k); err != nil {
				return err
			}
			if err := checkFreeForm(param+"."+k, v[k]); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range v {
			if err := checkFreeForm(fmt.Sprintf("%s[%d]", param, i), e); err != nil {
				return err
			}
		}
	case string:
		return CheckNoCardNumber(param, v)
	case json.Number:
		return CheckNoCardNumber(param, v.String())
	case float64:
		return CheckNoCardNumber(param, strconv.FormatFloat(v, 'f', -1, 64))
	case int64:
		return CheckNoCardNumber(param, strconv.FormatInt(v, 10))
	case int:
		return CheckNoCardNumber(param, strconv.Itoa(v))
	}
	return nil
}

// asInt accepts the ways an integer arrives from JSON decoding.
func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			return int64(n), true
		}
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}

func fieldList(group string, fields []gateway.Field) string {
	if len(fields) == 0 {
		return "This gateway type takes no " + group + "."
	}
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.Name
	}
	return "Known fields: " + strings.Join(names, ", ") + "."
}

// printableID shows a client-sent id in a message only when it cannot be a
// secret: at most 32 characters (an API key is 40) of identifier characters,
// without a run of 8 or more digits (a card number).
func printableID(s string) string {
	if len(s) == 0 || len(s) > 32 {
		return "*"
	}
	run := 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			run++
			if run >= 8 {
				return "*"
			}
			continue
		case !isNameChar(c):
			return "*"
		}
		run = 0
	}
	return s
}

// printableName shows a client-chosen field or type name only when it looks
// like one: identifier characters and fewer than 6 digits in all. Names are
// echoed so typos are easy to fix, but a secret pasted as a name must not
// come back.
func printableName(s string) string {
	if len(s) == 0 || len(s) > 64 {
		return "*"
	}
	digits := 0
	for _, c := range s {
		if c >= '0' && c <= '9' {
			digits++
		} else if !isNameChar(c) {
			return "*"
		}
	}
	if digits >= 6 {
		return "*"
	}
	return s
}

func isNameChar(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-' || c == '.'
}

func checkDisabled(spec gateway.Spec, ops []string) ([]payment.OperationKind, error) {
	out := []payment.OperationKind{}
	for i, o := range ops {
		k := payment.OperationKind(o)
		if !slices.Contains(payment.OperationKinds, k) {
			return nil, payment.Invalid(payment.CodeParameterInvalid, fmt.Sprintf("disabled_operations[%d]", i),
				"Unknown operation '%s': use one of authorize, purchase, capture, void, refund, verify, credit, store.", printableName(o))
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out, nil
}

// Gateway returns the account's gateway id.
func (e *Engine) Gateway(ctx context.Context, accountID, id string) (*GatewayDetail, error) {
	g, err := e.store.Gateway(ctx, accountID, id)
	if err != nil {
		return nil, err
	}
	return e.detail(ctx, g)
}

func (e *Engine) detail(ctx context.Context, g *payment.Gateway) (*GatewayDetail, error) {
	d := &GatewayDetail{Gateway: g, Health: e.breakers.Status(g.ID)}
	if g.Type == RouterType {
		d.Spec = routerSpec
	} else if ad, ok := e.gateways.Lookup(g.Type); ok {
		d.Spec = ad.Spec()
	} else {
		d.Spec = gateway.Spec{Type: g.Type}
	}
	if g.CredentialVersion > 0 {
		cv, err := e.store.CredentialVersion(ctx, g.AccountID, g.ID, g.CredentialVersion)
		if err != nil {
			return nil, fmt.Errorf("gateway %s: %w", g.ID, err)
		}
		d.Credentials = cv
	}
	return d, nil
}

// Gateways lists the account's gateways, newest first (oldest first when
// p.Ascending).
func (e *Engine) Gateways(ctx context.Context, accountID string, p payment.ListParams) ([]*GatewayDetail, bool, error) {
	gs, more, err := e.store.Gateways(ctx, accountID, p)
	if err != nil {
		return nil, false, err
	}
	out := make([]*GatewayDetail, len(gs))
	for i, g := range gs {
		if out[i], err = e.detail(ctx, g); err != nil {
			return nil, false, err
		}
	}
	return out, more, nil
}

// UpdateGateway changes a gateway's non-secret fields.
func (e *Engine) UpdateGateway(ctx context.Context, p *payment.Principal, id string, u GatewayUpdate) (*GatewayDetail, error) {
	if u.Description != nil {
		if err := checkText("description", *u.Description, maxNameLen); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct {
		param string
		v     *string
	}{{"merchant_profile_key", u.MerchantProfileKey}, {"sub_merchant_key", u.SubMerchantKey}} {
		if f.v != nil {
			if err := checkText(f.param, *f.v, maxNameLen); err != nil {
				return nil, err
			}
		}
	}
	// A router's settings name other gateways: check them before the
	// update, whose function must not read the store.
	var routerSettings map[string]any
	if cur, err := e.store.Gateway(ctx, p.Account.ID, id); err != nil {
		return nil, err
	} else if cur.Type == RouterType {
		if u.DisabledOperations != nil && len(*u.DisabledOperations) > 0 {
			return nil, payment.Invalid(payment.CodeParameterUnknown, "disabled_operations", "Disable operations on the gateways a router routes to.")
		}
		if u.Settings != nil {
			if _, routerSettings, err = e.routerConfig(ctx, p.Account.ID, u.Settings); err != nil {
				return nil, err
			}
		}
	} else if ad, ok := e.gateways.Lookup(cur.Type); ok && (u.Settings != nil || u.Sandbox != nil) {
		// Outside the update's transaction: a name lookup may take a
		// while. Credentials stay sealed; setting them checks them.
		settings := cur.Settings
		if u.Settings != nil {
			settings = u.Settings
		}
		if err := e.checkAddresses(ctx, p.Account, ad.Spec(), settings, nil); err != nil {
			return nil, err
		}
	}
	now := e.clock()
	var (
		ad   gateway.Adapter
		spec gateway.Spec
	)
	g, err := e.updateGateway(ctx, p.Account.ID, id, func(g *payment.Gateway) (*payment.CredentialVersion, *payment.Event, error) {
		if g.Type == RouterType {
			spec = routerSpec
			if routerSettings != nil {
				g.Settings = routerSettings
			}
		} else if a, ok := e.gateways.Lookup(g.Type); ok {
			ad, spec = a, a.Spec()
		} else {
			return nil, nil, payment.Conflict(payment.CodeInvalidState, "Gateway type '%s' is not available in this kassa.", g.Type)
		}
		if u.Settings != nil && g.Type != RouterType {
			s, err := checkSettings(ad, spec, u.Settings)
			if err != nil {
				return nil, nil, err
			}
			g.Settings = s
		}
		if u.Sandbox != nil {
			if err := checkGatewayMode(spec, p.Account, *u.Sandbox); err != nil {
				return nil, nil, err
			}
			g.Sandbox = *u.Sandbox
		}
		if (u.Settings != nil || u.Sandbox != nil) && g.Type != RouterType {
			if err := checkConfig(ad, gateway.Config{Settings: g.Settings, Sandbox: g.Sandbox, Live: p.Account.Live}); err != nil {
				return nil, nil, err
			}
		}
		if u.DisabledOperations != nil {
			d, err := checkDisabled(spec, *u.DisabledOperations)
			if err != nil {
				return nil, nil, err
			}
			g.DisabledOperations = d
		}
		if u.Description != nil {
			g.Description = *u.Description
		}
		if u.MerchantProfileKey != nil {
			g.MerchantProfileKey = *u.MerchantProfileKey
		}
		if u.SubMerchantKey != nil {
			g.SubMerchantKey = *u.SubMerchantKey
		}
		g.UpdatedAt = now
		return nil, newEvent(g.AccountID, "gateway.updated", g.ID, GatewayObjectOf(&GatewayDetail{Gateway: g, Spec: spec}), now), nil
	})
	if err != nil {
		return nil, err
	}
	return e.detail(ctx, g)
}

// SetGatewayCredentials makes a new credential version. With validate, the
// adapter checks them first when it can; a failed check saves nothing. On a
// redacted gateway it makes the gateway retained again.
func (e *Engine) SetGatewayCredentials(ctx context.Context, p *payment.Principal, id string, in map[string]any, description string, validate bool) (*GatewayDetail, error) {
	if err := checkText("description", description, maxNameLen); err != nil {
		return nil, err
	}
	g, err := e.store.Gateway(ctx, p.Account.ID, id)
	if err != nil {
		return nil, err
	}
	if g.Type == RouterType {
		return nil, payment.Invalid(payment.CodeParameterUnknown, "credentials", "Routers hold no credentials: set them on the gateways it routes to.")
	}
	ad, ok := e.gateways.Lookup(g.Type)
	if !ok {
		return nil, payment.Conflict(payment.CodeInvalidState, "Gateway type '%s' is not available in this kassa.", g.Type)
	}
	spec := ad.Spec()
	creds, err := checkCredentials(spec, in)
	if err != nil {
		return nil, err
	}
	if err := checkConfig(ad, gateway.Config{Credentials: creds, Settings: g.Settings, Sandbox: g.Sandbox, Live: p.Account.Live}); err != nil {
		return nil, err
	}
	if err := e.checkAddresses(ctx, p.Account, spec, g.Settings, creds); err != nil {
		return nil, err
	}
	if validate {
		if err := e.checkWorking(ctx, ad, g, creds, p.Account.Live); err != nil {
			return nil, err
		}
	}
	// The credentials are sealed before the gateway's write transaction:
	// the vault may itself write (a new data key, a block of nonce uses),
	// and on SQLite the transaction holds the only writer. The version they
	// are sealed for is then compare-and-set; a concurrent rotation means
	// sealing again for the next number.
	for attempt := 0; ; attempt++ {
		now := e.clock()
		v := g.CredentialVersion + 1
		cv, err := e.sealCredentials(ctx, spec, g, v, creds, description, p, now)
		if err != nil {
			return nil, err
		}
		updated, err := e.updateGateway(ctx, p.Account.ID, id, func(g *payment.Gateway) (*payment.CredentialVersion, *payment.Event, error) {
			if g.CredentialVersion+1 != v {
				return nil, nil, errVersionMoved
			}
			g.CredentialVersion = v
			g.State = payment.GatewayRetained
			g.RedactedAt = nil
			g.UpdatedAt = now
			ev := newEvent(g.AccountID, "gateway.credentials_rotated", g.ID,
				map[string]any{"id": g.ID, "version": v, "created_by": cv.CreatedBy}, now)
			return cv, stampActor(actingAs(ctx, p), []*payment.Event{ev})[0], nil
		})
		if errors.Is(err, errVersionMoved) && attempt < 5 {
			if g, err = e.store.Gateway(ctx, p.Account.ID, id); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		return &GatewayDetail{Gateway: updated, Credentials: cv, Spec: spec, Health: e.breakers.Status(id)}, nil
	}
}

// checkWorking asks the adapter, when it can tell, whether creds work for
// gateway g of an account whose mode live is. A refusal is the adapter's *payment.Error (KindInvalid, Param
// the credential field when it knows it); not being able to ask is
// credentials_unverified.
func (e *Engine) checkWorking(ctx context.Context, ad gateway.Adapter, g *payment.Gateway, creds map[string]string, live bool) error {
	cc, ok := ad.(gateway.CredentialChecker)
	if !ok {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, e.cfg.CallTimeout)
	err := cc.CheckCredentials(cctx, gateway.Config{GatewayID: g.ID, Credentials: creds, Settings: g.Settings,
		Sandbox: g.Sandbox, MerchantProfileKey: g.MerchantProfileKey, SubMerchantKey: g.SubMerchantKey, Live: live})
	cancel()
	if err == nil {
		return nil
	}
	if pe, ok := payment.AsError(err); ok {
		return pe
	}
	return &payment.Error{Kind: payment.KindInvalid, Code: "credentials_unverified", Param: "credentials",
		Message: "The gateway could not be asked whether these credentials work; nothing was saved. Retry, or save without validate.",
		Err:     err}
}

// errVersionMoved reports a credential rotation that lost a race.
var errVersionMoved = payment.Conflict("credentials_rotated_concurrently", "The gateway's credentials were rotated by another request at the same time; retry.")

// GatewayCredentialHistory lists a gateway's credential versions, newest
// first (never their values).
func (e *Engine) GatewayCredentialHistory(ctx context.Context, accountID, id string) ([]*payment.CredentialVersion, error) {
	if _, err := e.store.Gateway(ctx, accountID, id); err != nil {
		return nil, err
	}
	return e.store.CredentialVersions(ctx, accountID, id)
}

// RetainGateway keeps a gateway; retaining a retained gateway changes
// nothing, and a redacted one needs new credentials instead.
func (e *Engine) RetainGateway(ctx context.Context, accountID, id string) (*GatewayDetail, error) {
	g, err := e.updateGateway(ctx, accountID, id, func(g *payment.Gateway) (*payment.CredentialVersion, *payment.Event, error) {
		if g.State == payment.GatewayRedacted {
			return nil, nil, payment.Conflict(payment.CodeInvalidState,
				"Gateway %s is redacted; set new credentials to use it again.", g.ID)
		}
		return nil, nil, nil
	})
	if err != nil {
		return nil, err
	}
	return e.detail(ctx, g)
}

// RedactGatewayAs is RedactGateway by p, within p's account: its event
// names p as the actor (a dashboard user).
func (e *Engine) RedactGatewayAs(ctx context.Context, p *payment.Principal, id string) (*GatewayDetail, error) {
	return e.RedactGateway(actingAs(ctx, p), p.Account.ID, id)
}

// RedactGateway destroys every credential version of a gateway; the record
// and the payments made through it stay readable. Its event's actor is the
// one ctx carries (RedactGatewayAs), else none.
func (e *Engine) RedactGateway(ctx context.Context, accountID, id string) (*GatewayDetail, error) {
	now := e.clock()
	g, err := e.updateGateway(ctx, accountID, id, func(g *payment.Gateway) (*payment.CredentialVersion, *payment.Event, error) {
		if g.State == payment.GatewayRedacted {
			return nil, nil, nil
		}
		g.State = payment.GatewayRedacted
		g.RedactedAt = &now
		g.UpdatedAt = now
		ev := newEvent(g.AccountID, "gateway.redacted", g.ID, map[string]any{"id": g.ID}, now)
		return nil, stampActor(ctx, []*payment.Event{ev})[0], nil
	})
	if err != nil {
		return nil, err
	}
	return e.detail(ctx, g)
}

// updateGateway is the store's UpdateGateway, dropping this process's
// cached copy of the gateway (cache.go): a rotated credential or a
// redaction holds here at once.
func (e *Engine) updateGateway(ctx context.Context, accountID, id string,
	fn func(*payment.Gateway) (*payment.CredentialVersion, *payment.Event, error)) (*payment.Gateway, error) {
	g, err := e.store.UpdateGateway(ctx, accountID, id, fn)
	e.gwCache.drop(gatewayKey{accountID, id})
	e.credCache.drop(gatewayKey{accountID, id})
	return g, err
}

// cachedCredentials reads version v of g's credentials, still sealed: from
// this process's hot cache when it is younger than hotTTL. A version never
// changes once written except to be destroyed by a redaction, which drops
// the entry here (updateGateway) and is seen by other processes within
// hotTTL, as their gateway is. The cache holds one version per gateway,
// the one payments use; a follow-up of an older version reads it again.
// Callers must not change what it returns.
func (e *Engine) cachedCredentials(ctx context.Context, g *payment.Gateway, v int) (*payment.CredentialVersion, error) {
	k := gatewayKey{g.AccountID, g.ID}
	now := e.now()
	if cv, ok := e.credCache.get(k, now); ok && cv.Version == v {
		return cv, nil
	}
	cv, err := e.store.CredentialVersion(ctx, g.AccountID, g.ID, v)
	if err != nil {
		return nil, err
	}
	if v == g.CredentialVersion {
		e.credCache.put(k, cv, now)
	}
	return cv, nil
}

// cachedGateway reads the account's gateway id for a payment: from this
// process's hot cache when it is younger than hotTTL. Callers must not
// change what it returns.
func (e *Engine) cachedGateway(ctx context.Context, accountID, id string) (*payment.Gateway, error) {
	k := gatewayKey{accountID, id}
	now := e.now()
	if g, ok := e.gwCache.get(k, now); ok {
		return g, nil
	}
	g, err := e.store.Gateway(ctx, accountID, id)
	if err != nil {
		return nil, err
	}
	e.gwCache.put(k, g, now)
	return g, nil
}
