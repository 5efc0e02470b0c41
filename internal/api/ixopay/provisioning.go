package ixopay

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/payment"
)

// provisioningRoutes are the provisioning API's endpoints (connectors).
// IXOPAY documents create, update, list and the settings schema; the
// single read and the archive are kassa's (IXOPAY archives through
// updateConnector's archived, which kassa takes too).
var provisioningRoutes = []route{
	{"POST", "/api/provisioning/createConnector/{merchantGuid}", (*server).createConnector},
	{"POST", "/api/provisioning/updateConnector/{connectorGuid}", (*server).updateConnector},
	{"GET", "/api/provisioning/listConnectors/{merchantGuid}", (*server).listConnectors},
	{"GET", "/api/provisioning/getConnector/{connectorGuid}", (*server).getConnector},
	{"POST", "/api/provisioning/archiveConnector/{connectorGuid}", (*server).archiveConnector},
	{"GET", "/api/provisioning/getConnectorSettings/{adapterId}", (*server).connectorSettings},
	{"GET", "/api/provisioning/getConnectorSettings/{adapterId}/{merchantGuid}", (*server).connectorSettings},
}

// TransactionTypes are the values of a connector's
// disabledTransactionTypes, as IXOPAY's provisioning API lists them; the
// transaction API refuses what a connector disables.
var TransactionTypes = []string{
	"initial_debit", "initial_preauthorize", "capture", "partial_capture", "refund", "partial_refund",
	"register", "deregister", "payout", "recurring_debit", "recurring_preauthorize",
}

// SettingRequestSigning is the connector setting that makes the
// transaction API require signed requests: the key IXOPAY's provisioning
// reference lists for its "API: Enable Request Signing" (value 1). "1", 1,
// true or "true" is on.
const SettingRequestSigning = "api:request-signing-enabled"

// SettingRequestSigningLegacy is the key kassa used before IXOPAY's was
// confirmed. It is still read, so that connectors made with it keep
// requiring signatures; both keys in one connector must agree.
const SettingRequestSigningLegacy = "api:enable-request-signing"

// metaConnector is the adapter and method of meta-connectors.
const metaConnector = "MetaConnector"

// maxRetries bounds multiMethodMetaConnector.retries (IXOPAY's limit):
// ten connectors tried in all, kassa's longest cascade.
const maxRetries = 9

// adapter is one of IXOPAY's adapter names and the kassa gateway type it
// stands for, with the credential fields that config's username, password
// and apiSecret fill ("" where the adapter has none).
type adapter struct {
	name, gatewayType             string
	username, password, apiSecret string
}

var adapters = []adapter{
	{name: "Simulator", gatewayType: "simulator", username: "login", password: "password"},
	{name: "Stripe", gatewayType: "stripe", apiSecret: "secret_key"},
	{name: "Adyen", gatewayType: "adyen", username: "merchant_account", password: "hmac_key", apiSecret: "api_key"},
	{name: "AuthorizeNet", gatewayType: "authorize_net", username: "api_login_id", password: "transaction_key"},
	{name: metaConnector, gatewayType: engine.RouterType},
}

func adapterNamed(name string) (adapter, bool) {
	for _, a := range adapters {
		if a.name == name {
			return a, true
		}
	}
	return adapter{}, false
}

func adapterOfType(typ string) adapter {
	for _, a := range adapters {
		if a.gatewayType == typ {
			return a
		}
	}
	return adapter{name: typ, gatewayType: typ}
}

// aliasOf is the config field ("username", …) that fills credential field
// f of a, or "".
func (a adapter) aliasOf(f string) string {
	switch f {
	case "":
		return ""
	case a.username:
		return "username"
	case a.password:
		return "password"
	case a.apiSecret:
		return "apiSecret"
	}
	return ""
}

// connectorBody is the body of createConnector and updateConnector. On
// update, what is absent stays as it is. The read-only fields a read
// returns in its connector object (guid, merchantGuid, …) are accepted and
// ignored, so a client can send back the connector it read; masked secrets
// sent back mean "unchanged".
type connectorBody struct {
	Name                     *string         `json:"name"`
	Adapter                  *string         `json:"adapter"`
	Method                   *string         `json:"method"`
	APIKey                   *string         `json:"apiKey"`
	PublicIntegrationKey     *string         `json:"publicIntegrationKey"`
	SharedSecret             *string         `json:"sharedSecret"`
	BusinessCountry          *string         `json:"businessCountry"`
	Config                   *configBody     `json:"config"`
	CustomerProfileContainer *string         `json:"customerProfileContainer"`
	DisabledTransactionTypes *[]string       `json:"disabledTransactionTypes"`
	PostbackFormat           *string         `json:"postbackFormat"`
	Provider                 *string         `json:"provider"`
	ScheduleAPIAvailable     *bool           `json:"scheduleApiAvailable"`
	VirtualTerminalAvailable *bool           `json:"virtualTerminalAvailable"`
	VTRiskRuleSet            *string         `json:"vtRiskRuleSet"`
	Settings                 map[string]any  `json:"settings"`
	AddSettings              map[string]any  `json:"addSettings"`
	RemoveSettings           []string        `json:"removeSettings"`
	Alias                    *string         `json:"alias"`
	Terminals                *[]terminal     `json:"terminals"`
	Archived                 *bool           `json:"archived"`
	Disabled                 *bool           `json:"disabled"`
	RoutingMetaConnector     *routingMeta    `json:"routingMetaConnector"`
	MultiMethodMetaConnector *multiMeta      `json:"multiMethodMetaConnector"`
	GUID                     json.RawMessage `json:"guid"`
	MerchantGUID             json.RawMessage `json:"merchantGuid"`
	CreatedAt                json.RawMessage `json:"createdAt"`
	IsMetaConnector          json.RawMessage `json:"isMetaConnector"`
	Success                  json.RawMessage `json:"success"`
}

type configBody struct {
	Username  *string        `json:"username"`
	Password  *string        `json:"password"`
	APISecret *string        `json:"apiSecret"`
	ExtraData map[string]any `json:"extraData"`
	Language  *string        `json:"language"`
	TestMode  *bool          `json:"testMode"`
	Vault     map[string]any `json:"vault"`
}

type terminal struct {
	TerminalID string `json:"terminalId"`
	Disabled   bool   `json:"disabled"`
}

// routingMeta: a rule-routing meta-connector. kassa makes it a router
// whose default is defaultConnector; reRouteRecurring false pins recurring
// payments to the connector of their first payment, as IXOPAY does.
type routingMeta struct {
	DefaultConnector string `json:"defaultConnector"`
	ReRouteRecurring bool   `json:"reRouteRecurring"`
}

// multiMeta: a multi-method meta-connector. kassa makes it a cascade over
// connectors (kassa's field: IXOPAY sets the methods up in its UI), trying
// at most retries of them after the first; defaultActionDisableConnector
// and expiry are kept, not acted on.
type multiMeta struct {
	DefaultActionDisableConnector bool     `json:"defaultActionDisableConnector"`
	Retries                       *int     `json:"retries,omitempty"`
	Expiry                        *int     `json:"expiry,omitempty"`
	Connectors                    []string `json:"connectors"`
}

// attributes are what kassa keeps of a connector without acting on it
// (payment.Connector.Attributes). Never a secret: config's secrets live in
// the gateway's sealed credentials.
type attributes struct {
	Name                     string         `json:"name"`
	Adapter                  string         `json:"adapter"`
	Method                   string         `json:"method"`
	BusinessCountry          string         `json:"businessCountry"`
	Language                 string         `json:"language"`
	Vault                    map[string]any `json:"vault"`
	CustomerProfileContainer string         `json:"customerProfileContainer"`
	PostbackFormat           string         `json:"postbackFormat"`
	Provider                 string         `json:"provider"`
	ScheduleAPIAvailable     bool           `json:"scheduleApiAvailable"`
	VirtualTerminalAvailable bool           `json:"virtualTerminalAvailable"`
	VTRiskRuleSet            string         `json:"vtRiskRuleSet"`
	Settings                 map[string]any `json:"settings"`
	Alias                    string         `json:"alias"`
	Terminals                []terminal     `json:"terminals"`
	RoutingMetaConnector     *routingMeta   `json:"routingMetaConnector,omitempty"`
	MultiMethodMetaConnector *multiMeta     `json:"multiMethodMetaConnector,omitempty"`
}

// connectorJSON is a connector as the provisioning API shows it. Secrets
// are masked: kassa never echoes sharedSecret, config.password or
// config.apiSecret (IXOPAY's own example does).
type connectorJSON struct {
	GUID                     string         `json:"guid"`
	Name                     string         `json:"name"`
	Adapter                  string         `json:"adapter"`
	Method                   string         `json:"method"`
	APIKey                   string         `json:"apiKey"`
	PublicIntegrationKey     string         `json:"publicIntegrationKey"`
	SharedSecret             string         `json:"sharedSecret"`
	BusinessCountry          string         `json:"businessCountry"`
	Config                   configJSON     `json:"config"`
	CustomerProfileContainer string         `json:"customerProfileContainer"`
	DisabledTransactionTypes []string       `json:"disabledTransactionTypes"`
	PostbackFormat           string         `json:"postbackFormat"`
	Provider                 string         `json:"provider"`
	ScheduleAPIAvailable     bool           `json:"scheduleApiAvailable"`
	VirtualTerminalAvailable bool           `json:"virtualTerminalAvailable"`
	VTRiskRuleSet            string         `json:"vtRiskRuleSet"`
	Settings                 map[string]any `json:"settings"`
	Alias                    string         `json:"alias"`
	Terminals                []terminal     `json:"terminals"`
	Archived                 bool           `json:"archived"`
	Disabled                 bool           `json:"disabled"`
	CreatedAt                string         `json:"createdAt"`
	MerchantGUID             string         `json:"merchantGuid"`
	IsMetaConnector          bool           `json:"isMetaConnector"`
	RoutingMetaConnector     *routingMeta   `json:"routingMetaConnector,omitempty"`
	MultiMethodMetaConnector *multiMeta     `json:"multiMethodMetaConnector,omitempty"`
}

type configJSON struct {
	Username  string         `json:"username"`
	Password  string         `json:"password"`
	APISecret string         `json:"apiSecret"`
	ExtraData map[string]any `json:"extraData"`
	Language  string         `json:"language"`
	TestMode  bool           `json:"testMode"`
	Vault     map[string]any `json:"vault"`
}

// connectorResponse is a success answer about one connector, as IXOPAY's
// createConnector documents it: {"success":true,"connector":{…}}.
type connectorResponse struct {
	Success   bool          `json:"success"`
	Connector connectorJSON `json:"connector"`
}

type connectorsResponse struct {
	Success    bool            `json:"success"`
	Connectors []connectorJSON `json:"connectors"`
}

// masked is how a secret is shown: kassa's mask when set, "" when not.
func masked(s string) string {
	if s == "" || strings.HasPrefix(s, engine.SecretMask) {
		return s
	}
	return engine.SecretMask
}

func attributesOf(c *payment.Connector) (attributes, error) {
	var a attributes
	if len(c.Attributes) > 0 {
		if err := json.Unmarshal(c.Attributes, &a); err != nil {
			return a, fmt.Errorf("connector %s attributes: %w", c.GUID, err)
		}
	}
	return a, nil
}

// render shows d in IXOPAY's shape.
func render(d *engine.ConnectorDetail) (connectorJSON, error) {
	a, err := attributesOf(d.Connector)
	if err != nil {
		return connectorJSON{}, err
	}
	ad := adapterOfType(d.Gateway.Type)
	cfg := configJSON{ExtraData: map[string]any{}, Language: a.Language, TestMode: d.Gateway.Sandbox, Vault: a.Vault}
	if cfg.Vault == nil {
		cfg.Vault = map[string]any{}
	}
	if d.Gateway.Credentials != nil {
		// Public holds the masked previews of sensitive fields.
		for k, v := range d.Gateway.Credentials.Public {
			switch ad.aliasOf(k) {
			case "username":
				cfg.Username = v
			case "password":
				cfg.Password = masked(v)
			case "apiSecret":
				cfg.APISecret = masked(v)
			default:
				cfg.ExtraData[k] = v
			}
		}
	}
	if d.Gateway.Type != engine.RouterType {
		for k, v := range d.Gateway.Settings {
			cfg.ExtraData[k] = v
		}
	}
	secret := engine.SecretMask
	if d.GeneratedSecret != "" {
		secret = d.GeneratedSecret // generated by kassa: shown this once
	}
	settings := a.Settings
	if settings == nil {
		settings = map[string]any{}
	}
	terminals := a.Terminals
	if terminals == nil {
		terminals = []terminal{}
	}
	types := d.DisabledTransactionTypes
	if types == nil {
		types = []string{}
	}
	return connectorJSON{
		GUID: d.GUID, Name: a.Name, Adapter: ad.name, Method: a.Method, APIKey: d.APIKey,
		PublicIntegrationKey: d.PublicIntegrationKey, SharedSecret: secret, BusinessCountry: a.BusinessCountry,
		Config: cfg, CustomerProfileContainer: a.CustomerProfileContainer, DisabledTransactionTypes: types,
		PostbackFormat: a.PostbackFormat, Provider: a.Provider, ScheduleAPIAvailable: a.ScheduleAPIAvailable,
		VirtualTerminalAvailable: a.VirtualTerminalAvailable, VTRiskRuleSet: a.VTRiskRuleSet, Settings: settings,
		Alias: a.Alias, Terminals: terminals, Archived: d.Archived, Disabled: d.Disabled,
		CreatedAt: d.CreatedAt.UTC().Format(time.RFC3339), MerchantGUID: MerchantGUID(d.AccountID),
		IsMetaConnector:      d.Gateway.Type == engine.RouterType,
		RoutingMetaConnector: a.RoutingMetaConnector, MultiMethodMetaConnector: a.MultiMethodMetaConnector,
	}, nil
}

func writeConnector(w http.ResponseWriter, d *engine.ConnectorDetail) error {
	c, err := render(d)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, connectorResponse{Success: true, Connector: c})
}

// noSuchEntity is IXOPAY's "entity does not exist", which its provisioning
// API answers with 422 (it documents no 404).
func noSuchEntity(what, id string) *ixError {
	return invalid(CodeNoSuchEntity, "%s '%s' does not exist.", what, printable(id))
}

// printable is s safe to repeat in a message: at most 64 characters of
// letters, digits and -_.:, the rest as '?'.
func printable(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i >= 64 {
			b.WriteString("…")
			break
		}
		if r < 0x80 && (r == '-' || r == '_' || r == '.' || r == ':' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
			b.WriteRune(r)
		} else {
			b.WriteByte('?')
		}
	}
	return b.String()
}

// ownMerchant checks that the path's merchantGuid is the caller's own;
// another merchant's is one that does not exist.
func ownMerchant(r *http.Request, p *payment.Principal) error {
	guid := r.PathValue("merchantGuid")
	if accountOfMerchantGUID(guid) != p.Account.ID {
		return noSuchEntity("Merchant", guid)
	}
	return nil
}

// provisioningError puts an engine error in the provisioning API's terms:
// gateway fields renamed to the connector's, and a missing entity a 422
// 1007.
func provisioningError(err error, ad adapter, guid string) error {
	pe, ok := payment.AsError(err)
	if !ok {
		return err
	}
	e := *pe
	e.Param = rename(e.Param, ad)
	if strings.Contains(pe.Param, ".") && e.Param != pe.Param {
		e.Message = strings.ReplaceAll(e.Message, pe.Param, e.Param)
	}
	if e.Kind == payment.KindMalformed {
		// IXOPAY's provisioning API answers 401, 422 or 500, nothing else.
		return invalid(CodeInvalidRequest, "%s", e.Message)
	}
	if e.Kind == payment.KindNotFound {
		if e.Param != "" && e.Param != "id" {
			return invalid(CodeNoSuchEntity, "%s", e.Message)
		}
		return noSuchEntity("Connector", guid)
	}
	if e.Code == "invalid_characters" {
		return invalid(CodeInvalidChars, "%s", e.Message)
	}
	if e.Param != "" && strings.HasPrefix(e.Message, e.Param) {
		e.Param = "" // the message names it already
	}
	return &e
}

// rename turns the engine's name of a field into the provisioning API's.
func rename(param string, ad adapter) string {
	switch {
	case param == "description":
		return "name"
	case param == "type":
		return "adapter"
	case param == "sandbox":
		return "config.testMode"
	case param == "credentials":
		return "config"
	case param == "routing.default":
		return "routingMetaConnector.defaultConnector"
	case strings.HasPrefix(param, "routing.cascade"):
		return "multiMethodMetaConnector.connectors" + strings.TrimPrefix(param, "routing.cascade")
	case param == "routing":
		return "adapter"
	case strings.HasPrefix(param, "credentials."):
		f := strings.TrimPrefix(param, "credentials.")
		if alias := ad.aliasOf(f); alias != "" {
			return "config." + alias
		}
		return "config.extraData." + f
	case strings.HasPrefix(param, "settings."):
		return "config.extraData." + strings.TrimPrefix(param, "settings.")
	}
	return param
}

var (
	countryPattern  = regexp.MustCompile(`^[A-Z]{2}$`)
	languagePattern = regexp.MustCompile(`^[a-z]{2}$`)
)

// maxText bounds the free-text fields kassa keeps.
const maxText = 200

// checkText checks a free-text field: at most maxText characters, UTF-8,
// no control characters, no card number.
func checkText(param, s string) error {
	if !utf8.ValidString(s) {
		return invalid(CodeInvalidChars, "%s must be valid UTF-8.", param)
	}
	if utf8.RuneCountInString(s) > maxText {
		return invalid(CodeValueNotAllowed, "%s must be at most %d characters.", param, maxText)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return invalid(CodeInvalidChars, "%s must not contain control characters.", param)
		}
	}
	return engine.CheckNoCardNumber(param, s)
}

// checkSettingValue: a connector setting is a scalar.
func checkSettingValue(param string, v any) error {
	switch v := v.(type) {
	case string:
		return checkText(param, v)
	case bool, json.Number, nil:
		return nil
	}
	return invalid(CodeValueNotAllowed, "%s must be a string, a number or a boolean.", param)
}

// signingOn reads the request-signing setting, under IXOPAY's key or
// kassa's legacy one.
func signingOn(settings map[string]any) (bool, error) {
	on, set, err := signingValue(settings, SettingRequestSigning)
	if err != nil {
		return false, err
	}
	legacyOn, legacySet, err := signingValue(settings, SettingRequestSigningLegacy)
	if err != nil {
		return false, err
	}
	if set && legacySet && on != legacyOn {
		return false, invalid(CodeValueNotAllowed, "settings.%s and settings.%s disagree; remove %s, the key kassa used before IXOPAY's.",
			SettingRequestSigning, SettingRequestSigningLegacy, SettingRequestSigningLegacy)
	}
	return on || legacyOn, nil
}

// signingValue reads one request-signing key: whether it is on and whether
// it is set at all.
func signingValue(settings map[string]any, key string) (on, set bool, err error) {
	v, ok := settings[key]
	if !ok {
		return false, false, nil
	}
	switch v := v.(type) {
	case bool:
		return v, true, nil
	case string:
		switch v {
		case "1", "true":
			return true, true, nil
		case "0", "false", "":
			return false, true, nil
		}
	case json.Number:
		switch v.String() {
		case "1":
			return true, true, nil
		case "0":
			return false, true, nil
		}
	case nil:
		return false, false, nil
	}
	return false, true, invalid(CodeValueNotAllowed, "settings.%s must be 1 (on) or 0 (off).", key)
}

// state is a connector's whole state while a request changes it.
type state struct {
	attributes
	adapter      adapter
	apiKey       string
	pik          string
	sharedSecret string
	testMode     *bool
	credentials  map[string]any // nil: unchanged
	gwSettings   map[string]any // nil: unchanged
	disabled     []string
	archived     bool
	disabledConn bool
	// spec finds an adapter's Spec among the engine's gateway types.
	spec func(adapter) (gateway.Spec, bool)
}

// apply lays the body over st, checking every field it sets; create says
// whether the connector is new (name, adapter and method are then
// required).
func (b *connectorBody) apply(st *state, create bool) error {
	if create {
		for _, f := range []struct {
			param string
			v     *string
		}{{"name", b.Name}, {"adapter", b.Adapter}, {"method", b.Method}} {
			if f.v == nil || *f.v == "" {
				return invalid(CodeMissing, "%s is missing.", f.param)
			}
		}
	}
	if b.Adapter != nil {
		ad, ok := adapterNamed(*b.Adapter)
		if !ok {
			var names []string
			for _, a := range adapters {
				if _, ok := st.spec(a); ok {
					names = append(names, a.name)
				}
			}
			return invalid(CodeValueNotAllowed, "adapter: unknown adapter '%s'; kassa offers %s.", printable(*b.Adapter), strings.Join(names, ", "))
		}
		if !create && ad.name != st.adapter.name {
			return invalid(CodeValueNotAllowed, "adapter: a connector's adapter cannot change (it is %s); create another connector.", st.adapter.name)
		}
		st.adapter = ad
		st.Adapter = ad.name
	}
	meta := st.adapter.gatewayType == engine.RouterType
	if b.Name != nil {
		if utf8.RuneCountInString(*b.Name) < 3 {
			return invalid(CodeValueNotAllowed, "name must be at least 3 characters.")
		}
		if err := checkText("name", *b.Name); err != nil {
			return err
		}
		st.Name = *b.Name
	}
	if b.Method != nil {
		if meta && *b.Method != metaConnector {
			return invalid(CodeValueNotAllowed, "method: a meta-connector's method is %s.", metaConnector)
		}
		if *b.Method == "" {
			return invalid(CodeMissing, "method is missing.")
		}
		if err := checkText("method", *b.Method); err != nil {
			return err
		}
		st.Method = *b.Method
	}
	if b.APIKey != nil {
		st.apiKey = *b.APIKey
	}
	if b.PublicIntegrationKey != nil {
		st.pik = *b.PublicIntegrationKey
	}
	if b.SharedSecret != nil {
		if utf8.RuneCountInString(*b.SharedSecret) > 50 && !strings.HasPrefix(*b.SharedSecret, engine.SecretMask) {
			return invalid(CodeValueNotAllowed, "sharedSecret must be at most 50 characters.")
		}
		st.sharedSecret = *b.SharedSecret
	}
	if b.BusinessCountry != nil {
		if *b.BusinessCountry != "" && !countryPattern.MatchString(*b.BusinessCountry) {
			return invalid(CodeInvalidFormat, "businessCountry must be an ISO 3166-1 alpha-2 code (^[A-Z]{2}$).")
		}
		st.BusinessCountry = *b.BusinessCountry
	}
	if err := b.applyConfig(st, meta, create); err != nil {
		return err
	}
	for _, f := range []struct {
		param string
		v     *string
		dst   *string
	}{
		{"customerProfileContainer", b.CustomerProfileContainer, &st.CustomerProfileContainer},
		{"provider", b.Provider, &st.Provider},
		{"vtRiskRuleSet", b.VTRiskRuleSet, &st.VTRiskRuleSet},
		{"alias", b.Alias, &st.Alias},
	} {
		if f.v != nil {
			if err := checkText(f.param, *f.v); err != nil {
				return err
			}
			*f.dst = *f.v
		}
	}
	if b.DisabledTransactionTypes != nil {
		out := []string{}
		for i, t := range *b.DisabledTransactionTypes {
			if !slices.Contains(TransactionTypes, t) {
				return invalid(CodeValueNotAllowed, "disabledTransactionTypes[%d]: '%s' is not a transaction type; use %s.", i, printable(t), strings.Join(TransactionTypes, ", "))
			}
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
		st.disabled = out
	}
	if b.PostbackFormat != nil {
		switch *b.PostbackFormat {
		case "inherit", "json", "xml":
			st.PostbackFormat = *b.PostbackFormat
		default:
			return invalid(CodeValueNotAllowed, "postbackFormat must be inherit, json or xml.")
		}
	}
	if b.ScheduleAPIAvailable != nil {
		st.ScheduleAPIAvailable = *b.ScheduleAPIAvailable
	}
	if b.VirtualTerminalAvailable != nil {
		st.VirtualTerminalAvailable = *b.VirtualTerminalAvailable
	}
	if err := b.applySettings(st); err != nil {
		return err
	}
	if b.Terminals != nil {
		for i, t := range *b.Terminals {
			param := fmt.Sprintf("terminals[%d].terminalId", i)
			if t.TerminalID == "" {
				return invalid(CodeMissing, "%s is missing.", param)
			}
			if err := checkText(param, t.TerminalID); err != nil {
				return err
			}
		}
		st.Terminals = append([]terminal{}, *b.Terminals...)
	}
	if b.Archived != nil {
		st.archived = *b.Archived
	}
	if b.Disabled != nil {
		st.disabledConn = *b.Disabled
	}
	return b.applyMeta(st, meta, create)
}

// errMaskedOnCreate refuses a masked secret in a new connector: the mask
// stands for the current value on update, and a new connector has none.
// Stored as it is, it would become the credential.
func errMaskedOnCreate(param string) error {
	return invalid(CodeValueNotAllowed, "%s is masked (%s…): send the secret itself; a masked value means \"unchanged\" on update only.", param, engine.SecretMask)
}

func (b *connectorBody) applyConfig(st *state, meta, create bool) error {
	c := b.Config
	if c == nil {
		return nil
	}
	if c.Language != nil {
		if *c.Language != "" && !languagePattern.MatchString(*c.Language) {
			return invalid(CodeInvalidFormat, "config.language must be an ISO 639-1 code (^[a-z]{2}$).")
		}
		st.Language = *c.Language
	}
	if c.TestMode != nil {
		v := *c.TestMode
		st.testMode = &v
	}
	if c.Vault != nil {
		for _, k := range sortedKeys(c.Vault) {
			if err := checkFree("config.vault."+k, c.Vault[k], 0); err != nil {
				return err
			}
		}
		st.Vault = c.Vault
	}
	secrets := []struct {
		param, field string
		v            *string
	}{
		{"username", st.adapter.username, c.Username},
		{"password", st.adapter.password, c.Password},
		{"apiSecret", st.adapter.apiSecret, c.APISecret},
	}
	for _, s := range secrets {
		if s.v == nil || *s.v == "" {
			continue
		}
		if meta || s.field == "" {
			return invalid(CodeNotApplicable, "config.%s does not apply to the %s adapter.", s.param, st.adapter.name)
		}
		if strings.HasPrefix(*s.v, engine.SecretMask) {
			if create {
				return errMaskedOnCreate("config." + s.param)
			}
			continue // unchanged
		}
		if st.credentials == nil {
			st.credentials = map[string]any{}
		}
		st.credentials[s.field] = *s.v
	}
	if len(c.ExtraData) == 0 {
		return nil
	}
	if meta {
		return invalid(CodeNotApplicable, "config.extraData does not apply to meta-connectors.")
	}
	spec, _ := st.spec(st.adapter)
	for _, k := range sortedKeys(c.ExtraData) {
		v := c.ExtraData[k]
		switch {
		case hasField(spec.CredentialFields, k):
			if s, ok := v.(string); ok && strings.HasPrefix(s, engine.SecretMask) {
				if create {
					return errMaskedOnCreate("config.extraData." + printable(k))
				}
				continue // unchanged
			}
			if st.credentials == nil {
				st.credentials = map[string]any{}
			}
			st.credentials[k] = v
		case hasField(spec.SettingsFields, k):
			if st.gwSettings == nil {
				st.gwSettings = map[string]any{}
			}
			st.gwSettings[k] = v // nil removes it (input)
		default:
			return invalid(CodeValueNotAllowed, "config.extraData.%s is not a setting of the %s adapter; getConnectorSettings lists them.", printable(k), st.adapter.name)
		}
	}
	return nil
}

// checkFree checks a free-form value kept as given: text without card
// numbers, nested at most a few levels.
func checkFree(param string, v any, depth int) error {
	if depth > 4 {
		return invalid(CodeValueNotAllowed, "%s is nested too deeply.", param)
	}
	switch v := v.(type) {
	case string:
		return checkText(param, v)
	case map[string]any:
		for _, k := range sortedKeys(v) {
			if err := checkFree(param+"."+k, v[k], depth+1); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range v {
			if err := checkFree(fmt.Sprintf("%s[%d]", param, i), e, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *connectorBody) applySettings(st *state) error {
	if b.Settings != nil {
		st.Settings = map[string]any{}
		for _, k := range sortedKeys(b.Settings) {
			if err := checkSettingKey("settings", k); err != nil {
				return err
			}
			if err := checkSettingValue("settings."+k, b.Settings[k]); err != nil {
				return err
			}
			st.Settings[k] = b.Settings[k]
		}
	}
	if st.Settings == nil {
		st.Settings = map[string]any{}
	}
	for _, k := range sortedKeys(b.AddSettings) {
		if err := checkSettingKey("addSettings", k); err != nil {
			return err
		}
		if err := checkSettingValue("addSettings."+k, b.AddSettings[k]); err != nil {
			return err
		}
		st.Settings[k] = b.AddSettings[k]
	}
	for i, k := range b.RemoveSettings {
		if err := checkSettingKey(fmt.Sprintf("removeSettings[%d]", i), k); err != nil {
			return err
		}
		delete(st.Settings, k)
	}
	if _, err := signingOn(st.Settings); err != nil {
		return err
	}
	return nil
}

func checkSettingKey(param, k string) error {
	if k == "" || len(k) > 100 {
		return invalid(CodeValueNotAllowed, "%s: a setting's key must be 1 to 100 characters.", param)
	}
	return checkText(param, k)
}

func (b *connectorBody) applyMeta(st *state, meta, create bool) error {
	if !meta {
		if b.RoutingMetaConnector != nil {
			return invalid(CodeNotApplicable, "routingMetaConnector applies to meta-connectors only (adapter %s).", metaConnector)
		}
		if b.MultiMethodMetaConnector != nil {
			return invalid(CodeNotApplicable, "multiMethodMetaConnector applies to meta-connectors only (adapter %s).", metaConnector)
		}
		return nil
	}
	if b.RoutingMetaConnector != nil && b.MultiMethodMetaConnector != nil {
		return invalid(CodeNotApplicable, "multiMethodMetaConnector: a meta-connector is either a routingMetaConnector or a multiMethodMetaConnector, not both.")
	}
	if r := b.RoutingMetaConnector; r != nil {
		if r.DefaultConnector == "" {
			return invalid(CodeMissing, "routingMetaConnector.defaultConnector is missing.")
		}
		st.RoutingMetaConnector, st.MultiMethodMetaConnector = r, nil
	}
	if m := b.MultiMethodMetaConnector; m != nil {
		if len(m.Connectors) == 0 {
			return invalid(CodeMissing, "multiMethodMetaConnector.connectors is missing: name the connectors to try, in order.")
		}
		retries := len(m.Connectors) - 1
		if m.Retries != nil {
			retries = *m.Retries
		}
		if retries < 0 || retries > maxRetries {
			return invalid(CodeValueNotAllowed, "multiMethodMetaConnector.retries must be 0 to %d.", maxRetries)
		}
		if len(m.Connectors) > retries+1 {
			return invalid(CodeValueNotAllowed, "multiMethodMetaConnector.connectors: %d connectors need retries of at least %d.", len(m.Connectors), len(m.Connectors)-1)
		}
		if m.Expiry != nil && *m.Expiry < 0 {
			return invalid(CodeValueNotAllowed, "multiMethodMetaConnector.expiry must not be negative.")
		}
		mm := *m
		mm.Retries = &retries
		st.MultiMethodMetaConnector, st.RoutingMetaConnector = &mm, nil
	}
	if create && st.RoutingMetaConnector == nil && st.MultiMethodMetaConnector == nil {
		return invalid(CodeMissing, "routingMetaConnector is missing: a meta-connector needs routingMetaConnector or multiMethodMetaConnector.")
	}
	return nil
}

// input is st as the engine takes it.
func (st *state) input() (engine.ConnectorInput, error) {
	signing, err := signingOn(st.Settings)
	if err != nil {
		return engine.ConnectorInput{}, err
	}
	for k, v := range st.gwSettings {
		if v == nil {
			delete(st.gwSettings, k)
		}
	}
	attrs, err := json.Marshal(st.attributes)
	if err != nil {
		return engine.ConnectorInput{}, err
	}
	in := engine.ConnectorInput{
		Name: st.Name, Type: st.adapter.gatewayType, APIKey: st.apiKey, PublicIntegrationKey: st.pik,
		SharedSecret: st.sharedSecret, Credentials: st.credentials, Settings: st.gwSettings, Sandbox: st.testMode,
		SignatureRequired: signing, DisabledTransactionTypes: st.disabled, Archived: st.archived,
		Disabled: st.disabledConn, Attributes: attrs,
	}
	switch {
	case st.RoutingMetaConnector != nil:
		in.Routing = &engine.ConnectorRouting{Default: st.RoutingMetaConnector.DefaultConnector,
			PinRecurring: !st.RoutingMetaConnector.ReRouteRecurring}
	case st.MultiMethodMetaConnector != nil:
		in.Routing = &engine.ConnectorRouting{Cascade: st.MultiMethodMetaConnector.Connectors}
	}
	return in, nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func hasField(fs []gateway.Field, name string) bool {
	return slices.ContainsFunc(fs, func(f gateway.Field) bool { return f.Name == name })
}

func (s *server) spec(ad adapter) (gateway.Spec, bool) {
	for _, sp := range s.eng.GatewayTypes() {
		if sp.Type == ad.gatewayType {
			return sp, true
		}
	}
	return gateway.Spec{}, false
}

func (s *server) decodeConnector(r *http.Request) (*connectorBody, error) {
	var b connectorBody
	if err := api.DecodeJSON(r, &b); err != nil {
		return nil, provisioningError(err, adapter{}, "")
	}
	return &b, nil
}

func (s *server) createConnector(w http.ResponseWriter, r *http.Request, p *payment.Principal) error {
	if err := ownMerchant(r, p); err != nil {
		return err
	}
	b, err := s.decodeConnector(r)
	if err != nil {
		return err
	}
	st := &state{}
	if err := s.applyBody(b, st, true); err != nil {
		return err
	}
	in, err := st.input()
	if err != nil {
		return err
	}
	d, err := s.eng.CreateConnector(r.Context(), p, in)
	if err != nil {
		return provisioningError(err, st.adapter, "")
	}
	return writeConnector(w, d)
}

// applyBody checks that the adapter is on offer in this kassa, then
// applies b.
func (s *server) applyBody(b *connectorBody, st *state, create bool) error {
	if b.Adapter != nil {
		if ad, ok := adapterNamed(*b.Adapter); ok {
			if _, ok := s.spec(ad); !ok {
				return invalid(CodeValueNotAllowed, "adapter: the %s adapter is not available in this kassa.", ad.name)
			}
		}
	}
	st.spec = s.spec
	return b.apply(st, create)
}

func (s *server) updateConnector(w http.ResponseWriter, r *http.Request, p *payment.Principal) error {
	guid := r.PathValue("connectorGuid")
	cur, err := s.eng.ConnectorDetail(r.Context(), p, guid)
	if err != nil {
		return provisioningError(err, adapter{}, guid)
	}
	b, err := s.decodeConnector(r)
	if err != nil {
		return err
	}
	attrs, err := attributesOf(cur.Connector)
	if err != nil {
		return err
	}
	st := &state{attributes: attrs, adapter: adapterOfType(cur.Gateway.Type), disabled: cur.DisabledTransactionTypes,
		archived: cur.Archived, disabledConn: cur.Disabled}
	if err := s.applyBody(b, st, false); err != nil {
		return err
	}
	if st.gwSettings != nil && cur.Gateway.Type != engine.RouterType {
		// extraData changes the settings it names; the rest stay.
		merged := map[string]any{}
		for k, v := range cur.Gateway.Settings {
			merged[k] = v
		}
		for k, v := range st.gwSettings {
			merged[k] = v
		}
		st.gwSettings = merged
	}
	in, err := st.input()
	if err != nil {
		return err
	}
	if in.Routing == nil && cur.Gateway.Type == engine.RouterType {
		return errors.New("ixopay: meta-connector " + guid + " has no routing in its attributes")
	}
	d, err := s.eng.UpdateConnector(r.Context(), p, guid, in)
	if err != nil {
		return provisioningError(err, st.adapter, guid)
	}
	return writeConnector(w, d)
}

func (s *server) listConnectors(w http.ResponseWriter, r *http.Request, p *payment.Principal) error {
	if err := ownMerchant(r, p); err != nil {
		return err
	}
	ds, err := s.eng.ConnectorDetails(r.Context(), p)
	if err != nil {
		return err
	}
	out := connectorsResponse{Success: true, Connectors: make([]connectorJSON, len(ds))}
	for i, d := range ds {
		if out.Connectors[i], err = render(d); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *server) getConnector(w http.ResponseWriter, r *http.Request, p *payment.Principal) error {
	guid := r.PathValue("connectorGuid")
	d, err := s.eng.ConnectorDetail(r.Context(), p, guid)
	if err != nil {
		return provisioningError(err, adapter{}, guid)
	}
	return writeConnector(w, d)
}

func (s *server) archiveConnector(w http.ResponseWriter, r *http.Request, p *payment.Principal) error {
	guid := r.PathValue("connectorGuid")
	d, err := s.eng.ArchiveConnector(r.Context(), p, guid)
	if err != nil {
		return provisioningError(err, adapter{}, guid)
	}
	return writeConnector(w, d)
}

// settingJSON is one entry of getConnectorSettings' schema: IXOPAY's
// name, type, required and description, and kassa's sensitive (sealed,
// masked when shown) and configField (the config field that fills it, when
// one does; any entry may also be sent by name in config.extraData).
type settingJSON struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Required    bool   `json:"required"`
	Description string `json:"description"`
	Sensitive   bool   `json:"sensitive"`
	ConfigField string `json:"configField,omitempty"`
}

type settingsResponse struct {
	Success     bool           `json:"success"`
	BaseConfig  []settingJSON  `json:"baseConfig"`
	VaultConfig *[]settingJSON `json:"vaultConfig,omitempty"`
}

// connectorSettings renders the adapter's kassa Spec as IXOPAY's settings
// schema: its credential fields then its settings fields.
func (s *server) connectorSettings(w http.ResponseWriter, r *http.Request, p *payment.Principal) error {
	withMerchant := r.PathValue("merchantGuid") != ""
	if withMerchant {
		if err := ownMerchant(r, p); err != nil {
			return err
		}
	}
	id := r.PathValue("adapterId")
	ad, ok := adapterNamed(id)
	var spec gateway.Spec
	if ok {
		spec, ok = s.spec(ad)
	}
	if !ok {
		return invalid(CodeValueNotAllowed, "adapterId: unknown adapter '%s'.", printable(id))
	}
	out := settingsResponse{Success: true, BaseConfig: []settingJSON{}}
	kind := func(k gateway.FieldKind) string {
		switch k {
		case gateway.KindBoolean:
			return "bool"
		case gateway.KindInteger:
			return "int"
		}
		return "string"
	}
	for _, f := range spec.CredentialFields {
		out.BaseConfig = append(out.BaseConfig, settingJSON{Name: f.Name, Type: kind(f.Kind), Required: f.Required,
			Description: f.Label, Sensitive: f.Sensitive, ConfigField: ad.aliasOf(f.Name)})
	}
	for _, f := range spec.SettingsFields {
		out.BaseConfig = append(out.BaseConfig, settingJSON{Name: f.Name, Type: kind(f.Kind), Required: f.Required,
			Description: f.Label})
	}
	if withMerchant {
		out.VaultConfig = &[]settingJSON{}
	}
	return writeJSON(w, http.StatusOK, out)
}
