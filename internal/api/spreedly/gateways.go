package spreedly

import (
	"errors"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/payment"
)

// simulatorType is kassa's test gateway, which Spreedly clients know as
// gateway_type "test".
const (
	simulatorType = "simulator"
	testType      = "test"
	testName      = "Spreedly Test"
)

// spreedlyType names a kassa gateway type as Spreedly does.
func spreedlyType(kassaType string) string {
	if kassaType == simulatorType {
		return testType
	}
	return kassaType
}

// kassaType is the kassa type of a Spreedly gateway_type; "simulator" itself
// is not a Spreedly name.
func kassaType(t string) string {
	switch t {
	case testType:
		return simulatorType
	case simulatorType:
		return ""
	}
	return t
}

// characteristicsOrder are the operations Spreedly names, with kassa's kind
// of each.
var characteristicsOrder = []struct {
	name string
	kind payment.OperationKind
}{
	{"purchase", payment.OpPurchase},
	{"authorize", payment.OpAuthorize},
	{"capture", payment.OpCapture},
	{"credit", payment.OpRefund},
	{"general_credit", payment.OpCredit},
	{"void", payment.OpVoid},
	{"verify", payment.OpVerify},
	{"store", payment.OpStore},
}

func characteristicsNode(ops []payment.OperationKind) *node {
	n := flags("characteristics")
	for _, c := range characteristicsOrder {
		n.add(boolean("supports_"+c.name, slices.Contains(ops, c.kind)))
	}
	return n
}

func paymentMethodTypesNode(types []string) *node {
	n := array("payment_methods")
	for _, t := range types {
		if t == payment.PaymentMethodTypeCard {
			t = "credit_card"
		}
		n.add(str("payment_method", t))
	}
	return n
}

func gatewaySpecificFieldsNode(spec gateway.Spec) *node {
	n := array("gateway_specific_fields")
	for _, f := range spec.GatewaySpecificFields {
		n.add(str("gateway_specific_field", f.Name))
	}
	return n
}

func displayName(spec gateway.Spec) string {
	if spec.Type == simulatorType {
		return testName
	}
	return spec.DisplayName
}

// gatewayNode renders a gateway as Spreedly shows it: credentials only the
// non-sensitive ones, in full.
func gatewayNode(d *engine.GatewayDetail) *node {
	g := d.Gateway
	enabled := []payment.OperationKind{}
	for _, k := range d.Spec.Operations {
		if !slices.Contains(g.DisabledOperations, k) {
			enabled = append(enabled, k)
		}
	}
	creds := array("credentials")
	if d.Credentials != nil && g.State != payment.GatewayRedacted {
		for _, f := range d.Spec.CredentialFields {
			if v, ok := d.Credentials.Public[f.Name]; ok && !f.Sensitive {
				creds.add(object("credential", str("name", f.Name), str("value", v)))
			}
		}
	}
	return object("gateway",
		str("token", g.ID),
		str("gateway_type", spreedlyType(g.Type)),
		strOrNil("description", g.Description),
		strOrNil("merchant_profile_key", g.MerchantProfileKey),
		strOrNil("sub_merchant_key", g.SubMerchantKey),
		paymentMethodTypesNode(d.Spec.PaymentMethodTypes),
		str("state", string(g.State)),
		datetime("created_at", g.CreatedAt),
		datetime("updated_at", g.UpdatedAt),
		str("name", displayName(d.Spec)),
		characteristicsNode(enabled),
		creds,
		settingsNode(g.Settings),
		gatewaySpecificFieldsNode(d.Spec),
		boolean("redacted", g.State == payment.GatewayRedacted),
		boolean("sandbox", g.Sandbox),
		str("mode", "default"),
	)
}

func settingsNode(settings map[string]any) *node {
	n := object("gateway_settings")
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch v := settings[k].(type) {
		case bool:
			n.add(boolean(k, v))
		case int64:
			n.add(integer(k, v))
		case int:
			n.add(integer(k, int64(v)))
		case float64:
			n.add(integer(k, int64(v)))
		case string:
			n.add(str(k, v))
		default:
			n.add(null(k))
		}
	}
	return n
}

func (c *call) gatewaysOptions() error {
	list := array("gateways")
	for _, spec := range c.server.eng.GatewayTypes() {
		if spec.Type == engine.RouterType {
			// Spreedly has no routers; a router made through the native
			// API still serves purchases by its token here.
			continue
		}
		creds := array("credentials")
		for _, f := range spec.CredentialFields {
			creds.add(object("credential", str("name", f.Name), str("label", f.Label), boolean("safe", !f.Sensitive)))
		}
		settings := array("gateway_settings")
		for _, f := range spec.SettingsFields {
			settings.add(str("gateway_setting", f.Name))
		}
		list.add(object("gateway",
			str("gateway_type", spreedlyType(spec.Type)),
			str("name", displayName(spec)),
			array("auth_modes", object("auth_mode",
				str("auth_mode_type", "default"), str("name", "Default"), creds)),
			characteristicsNode(spec.Operations),
			paymentMethodTypesNode(spec.PaymentMethodTypes),
			settings,
			gatewaySpecificFieldsNode(spec),
		))
	}
	return c.reply(http.StatusOK, list)
}

// gatewayKnownKeys are the members of a gateway request that are not
// credentials.
var gatewayKnownKeys = []string{"gateway_type", "description", "merchant_profile_key", "sub_merchant_key",
	"sandbox", "mode", "gateway_settings", "redacted", "token", "state", "name", "characteristics",
	"credentials", "payment_methods", "gateway_specific_fields", "created_at", "updated_at"}

// gatewayRequest reads the "gateway" object of a request body.
func (c *call) gatewayRequest() (*fields, error) {
	body, err := readBody(c.r, c.f)
	if err != nil {
		return nil, err
	}
	root := newFields(body)
	g := root.object("gateway")
	return g, root.err()
}

// credentialsOf returns the members of g that are credentials.
func credentialsOf(g *fields) map[string]any {
	creds := map[string]any{}
	for k, v := range g.m {
		if !slices.Contains(gatewayKnownKeys, k) {
			creds[k] = plain(v)
		}
	}
	return creds
}

// settingsOf reads gateway_settings, XML text made the type the gateway
// type's Spec declares.
func settingsOf(g *fields, spec gateway.Spec) map[string]any {
	if !g.has("gateway_settings") {
		return nil
	}
	raw := g.object("gateway_settings").m
	out := map[string]any{}
	for k, v := range raw {
		if t, ok := v.(xmlText); ok {
			s := strings.TrimSpace(string(t))
			for _, f := range spec.SettingsFields {
				if f.Name != k {
					continue
				}
				switch f.Kind {
				case gateway.KindInteger:
					if n, err := strconv.ParseInt(s, 10, 64); err == nil {
						v = n
					}
				case gateway.KindBoolean:
					if b, err := strconv.ParseBool(s); err == nil {
						v = b
					}
				}
			}
		}
		out[k] = plain(v)
	}
	return out
}

func (c *call) specOf(kassaType string) (gateway.Spec, bool) {
	for _, s := range c.server.eng.GatewayTypes() {
		if s.Type == kassaType {
			return s, true
		}
	}
	return gateway.Spec{}, false
}

func (c *call) createGateway() error {
	g, err := c.gatewayRequest()
	if err != nil {
		return err
	}
	typ := g.str("gateway_type")
	desc := g.str("description")
	mpk, smk := g.str("merchant_profile_key"), g.str("sub_merchant_key")
	sandbox, hasSandbox := g.optBool("sandbox")
	if err := g.err(); err != nil {
		return err
	}
	if typ == "" {
		return fieldErr("gateway_type", keyBlank)
	}
	spec, ok := c.specOf(kassaType(typ))
	if !ok {
		return fieldErr("gateway_type", keyGatewayType)
	}
	in := engine.GatewayInput{Type: spec.Type, Description: desc, Credentials: credentialsOf(g),
		Settings: settingsOf(g, spec), MerchantProfileKey: mpk, SubMerchantKey: smk}
	if hasSandbox {
		in.Sandbox = &sandbox
	}
	if err := g.err(); err != nil {
		return err
	}
	d, err := c.server.eng.CreateGateway(c.r.Context(), c.p, in)
	if err != nil {
		return err
	}
	return c.reply(http.StatusCreated, gatewayNode(d))
}

// gatewayError makes a missing gateway Spreedly's 404.
func gatewayError(err error) error {
	if errors.Is(err, payment.ErrNotFound) {
		return notFound("gateway")
	}
	return err
}

func (c *call) showGateway() error {
	d, err := c.server.eng.Gateway(c.r.Context(), c.p.Account.ID, c.token)
	if err != nil {
		return gatewayError(err)
	}
	return c.reply(http.StatusOK, gatewayNode(d))
}

func (c *call) listGateways() error {
	lp, err := c.listParams()
	if err != nil {
		return err
	}
	ds, _, err := c.server.eng.Gateways(c.r.Context(), c.p.Account.ID, lp)
	if err != nil {
		return cursorError(err)
	}
	list := array("gateways")
	for _, d := range ds {
		list.add(gatewayNode(d))
	}
	return c.reply(http.StatusOK, list)
}

// updateGateway changes description and merchant keys, and with credential
// members makes a new credential version (which retains a redacted
// gateway).
func (c *call) updateGateway() error {
	g, err := c.gatewayRequest()
	if err != nil {
		return err
	}
	u := engine.GatewayUpdate{Description: g.optStr("description"),
		MerchantProfileKey: g.optStr("merchant_profile_key"), SubMerchantKey: g.optStr("sub_merchant_key")}
	if g.has("gateway_type") {
		// The type of a gateway cannot change.
		return fieldErr("gateway_type", keyInvalid)
	}
	if err := g.err(); err != nil {
		return err
	}
	ctx := c.r.Context()
	d, err := c.server.eng.Gateway(ctx, c.p.Account.ID, c.token)
	if err != nil {
		return gatewayError(err)
	}
	if g.has("gateway_settings") {
		u.Settings = settingsOf(g, d.Spec)
	}
	creds := credentialsOf(g)
	if len(creds) > 0 {
		if d, err = c.server.eng.SetGatewayCredentials(ctx, c.p, c.token, creds, "", true); err != nil {
			return gatewayError(err)
		}
	}
	if u.Description != nil || u.MerchantProfileKey != nil || u.SubMerchantKey != nil || u.Settings != nil {
		if d, err = c.server.eng.UpdateGateway(ctx, c.p, c.token, u); err != nil {
			return gatewayError(err)
		}
	}
	return c.reply(http.StatusOK, gatewayNode(d))
}

func (c *call) retainGateway() error {
	d, err := c.server.eng.RetainGateway(c.r.Context(), c.p.Account.ID, c.token)
	if err != nil {
		return gatewayError(err)
	}
	return c.reply(http.StatusOK, localTransaction("RetainGateway", d.UpdatedAt, gatewayNode(d)))
}

func (c *call) redactGateway() error {
	d, err := c.server.eng.RedactGatewayAs(c.r.Context(), c.p, c.token)
	if err != nil {
		return gatewayError(err)
	}
	return c.reply(http.StatusOK, localTransaction("RedactGateway", d.UpdatedAt, gatewayNode(d)))
}
