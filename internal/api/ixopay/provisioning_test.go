package ixopay

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// Secrets the tests send; none may come back out, nor reach a log or an
// event.
const (
	provSecret    = "Shared-s3cret-never-echoed-41x"
	provPassword  = "Sim-passw0rd-never-echoed-7q"
	provAPISecret = "sk_test_apisecret_never_echoed_9z"
	provSecret2   = "Rotated-s3cret-never-echoed-88"
	provPassword2 = "Rotated-passw0rd-never-echoed-3"
)

var guidPattern = regexp.MustCompile(`^CO-[0-9A-F]{4}(-[0-9A-F]{4}){5}$`)

func simulatorBody(name, apiKey string) string {
	return fmt.Sprintf(`{"name":%q,"adapter":"Simulator","method":"Creditcard","apiKey":%q,
		"sharedSecret":%q,"businessCountry":"AT",
		"config":{"username":"sim-user","password":%q,"language":"de","testMode":true,"extraData":{"latency_ms":0}},
		"settings":{"tx:expiration-minutes":"30","api:request-signing-enabled":"1"}}`, name, apiKey, provSecret, provPassword)
}

// checkNoSecrets greps every response, the logs and the account's events
// for the secrets sent.
func (f *provFixture) checkNoSecrets(t *testing.T, accts ...provAccount) {
	t.Helper()
	f.mu.Lock()
	all := strings.Join(f.responses, "\n")
	f.mu.Unlock()
	all += f.logs.String()
	for _, a := range accts {
		all += f.events(t, a)
	}
	for _, s := range []string{provSecret, provPassword, provAPISecret, provSecret2, provPassword2} {
		if strings.Contains(all, s) {
			t.Errorf("secret %q appears in a response, log or event", s)
		}
	}
}

func TestProvisioningCreateSimulator(t *testing.T) {
	f := provSetup(t)
	a := f.account(t)
	ctx := context.Background()
	m := f.post(t, a, "/api/provisioning/createConnector/"+a.merchant(), simulatorBody("Simulator A", "sim-connector-a")).connector(t)
	guid := m["guid"].(string)
	if !guidPattern.MatchString(guid) {
		t.Errorf("guid %q is not CO-xxxx-…", guid)
	}
	cfg := m["config"].(map[string]any)
	for k, want := range map[string]any{"name": "Simulator A", "adapter": "Simulator", "method": "Creditcard",
		"apiKey": "sim-connector-a", "sharedSecret": engine.SecretMask, "businessCountry": "AT",
		"merchantGuid": a.merchant(), "isMetaConnector": false, "archived": false, "disabled": false} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	if cfg["password"] != engine.SecretMask+provPassword[len(provPassword)-4:] || cfg["language"] != "de" || cfg["testMode"] != true {
		t.Errorf("config %v", cfg)
	}
	if m["publicIntegrationKey"] == "" {
		t.Error("no publicIntegrationKey generated")
	}

	c, err := f.eng.Connector(ctx, a.p, guid)
	if err != nil {
		t.Fatal(err)
	}
	if !c.SignatureRequired {
		t.Error("settings api:request-signing-enabled 1 did not require signatures")
	}
	if got, err := f.eng.ConnectorSecret(ctx, c); err != nil || got != provSecret {
		t.Errorf("shared secret opens to %q, %v", got, err)
	}
	gw, err := f.eng.Gateway(ctx, a.id, c.GatewayID)
	if err != nil || gw.Type != "simulator" || gw.Description != "Simulator A" || !gw.Sandbox {
		t.Fatalf("gateway %+v, %v", gw, err)
	}

	// The API key is unique in the merchant.
	f.post(t, a, "/api/provisioning/createConnector/"+a.merchant(), simulatorBody("Simulator B", "sim-connector-a")).
		fails(t, 422, CodeValueNotAllowed, "apiKey")

	// Read, list.
	if got := f.get(t, a, "/api/provisioning/getConnector/"+guid).connector(t); got["guid"] != guid {
		t.Errorf("getConnector: %v", got)
	}
	list := f.get(t, a, "/api/provisioning/listConnectors/"+a.merchant()).ok(t)
	cs := list["connectors"].([]any)
	if len(cs) != 1 || cs[0].(map[string]any)["guid"] != guid {
		t.Errorf("listConnectors: %v", list)
	}
	f.checkNoSecrets(t, a)
}

func TestProvisioningGeneratedKeys(t *testing.T) {
	f := provSetup(t)
	a := f.account(t)
	ctx := context.Background()
	m := f.post(t, a, "/api/provisioning/createConnector/"+a.merchant(),
		`{"name":"Generated","adapter":"Simulator","method":"Creditcard","sharedSecret":""}`).connector(t)
	secret := m["sharedSecret"].(string)
	if len(secret) < 20 || strings.HasPrefix(secret, engine.SecretMask) || m["apiKey"] == "" || m["publicIntegrationKey"] == "" {
		t.Fatalf("generated keys: %v", m)
	}
	c, err := f.eng.Connector(ctx, a.p, m["guid"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := f.eng.ConnectorSecret(ctx, c); got != secret {
		t.Errorf("generated secret %q opens to %q", secret, got)
	}
	// Shown once: never again.
	again := f.get(t, a, "/api/provisioning/getConnector/"+c.GUID)
	if strings.Contains(string(again.body), secret) {
		t.Errorf("the generated secret is shown again: %s", again.body)
	}
}

func TestProvisioningValidation(t *testing.T) {
	f := provSetup(t)
	a := f.account(t)
	guid := f.createConnector(t, a, simulatorBody("Simulator A", "sim-a"))
	create := "/api/provisioning/createConnector/" + a.merchant()
	update := "/api/provisioning/updateConnector/" + guid
	base := `"adapter":"Simulator","method":"Creditcard"`
	long := strings.Repeat("x", 51)
	for _, tc := range []struct {
		name, path, body string
		code             int
		field            string
	}{
		{"name missing", create, `{` + base + `}`, CodeMissing, "name"},
		{"name short", create, `{"name":"ab",` + base + `}`, CodeValueNotAllowed, "name"},
		{"name short on update", update, `{"name":"ab"}`, CodeValueNotAllowed, "name"},
		{"adapter missing", create, `{"name":"abc","method":"Creditcard"}`, CodeMissing, "adapter"},
		{"adapter unknown", create, `{"name":"abc","adapter":"Wirecard","method":"Creditcard"}`, CodeValueNotAllowed, "Wirecard"},
		{"adapter change", update, `{"adapter":"Stripe"}`, CodeValueNotAllowed, "adapter"},
		{"method missing", create, `{"name":"abc","adapter":"Simulator"}`, CodeMissing, "method"},
		{"businessCountry", create, `{"name":"abc",` + base + `,"businessCountry":"at"}`, CodeInvalidFormat, "businessCountry"},
		{"businessCountry update", update, `{"businessCountry":"AUT"}`, CodeInvalidFormat, "businessCountry"},
		{"language", update, `{"config":{"language":"DE"}}`, CodeInvalidFormat, "config.language"},
		{"language long", create, `{"name":"abc",` + base + `,"config":{"language":"deu"}}`, CodeInvalidFormat, "config.language"},
		{"sharedSecret long", update, `{"sharedSecret":"` + long + `"}`, CodeValueNotAllowed, "sharedSecret"},
		{"sharedSecret long create", create, `{"name":"abc",` + base + `,"sharedSecret":"` + long + `"}`, CodeValueNotAllowed, "sharedSecret"},
		{"disabledTransactionTypes", update, `{"disabledTransactionTypes":["refund","chargeback"]}`, CodeValueNotAllowed, "disabledTransactionTypes[1]"},
		{"disabledTransactionTypes case", update, `{"disabledTransactionTypes":["REFUND"]}`, CodeValueNotAllowed, "disabledTransactionTypes[0]"},
		{"postbackFormat", update, `{"postbackFormat":"yaml"}`, CodeValueNotAllowed, "postbackFormat"},
		{"apiKey spaces", update, `{"apiKey":"has space"}`, CodeInvalidChars, "apiKey"},
		{"config.apiSecret n/a", update, `{"config":{"apiSecret":"x"}}`, CodeNotApplicable, "config.apiSecret"},
		{"extraData unknown", update, `{"config":{"extraData":{"colour":"red"}}}`, CodeValueNotAllowed, "config.extraData.colour"},
		{"extraData wrong type", update, `{"config":{"extraData":{"latency_ms":"slow"}}}`, CodeValueNotAllowed, "config.extraData.latency_ms"},
		{"testMode off on a test account", update, `{"config":{"testMode":false}}`, CodeValueNotAllowed, "config.testMode"},
		{"unknown field", update, `{"colour":"red"}`, CodeNotApplicable, "colour"},
		{"wrong type", update, `{"name":3}`, CodeValueNotAllowed, "name"},
		{"terminalId missing", update, `{"terminals":[{"disabled":true}]}`, CodeMissing, "terminals[0].terminalId"},
		{"signing setting", update, `{"addSettings":{"api:request-signing-enabled":"yes"}}`, CodeValueNotAllowed, "api:request-signing-enabled"},
		{"setting object", update, `{"settings":{"x":{"y":1}}}`, CodeValueNotAllowed, "settings.x"},
		{"routing on a plain connector", update, `{"routingMetaConnector":{"defaultConnector":"` + guid + `"}}`, CodeNotApplicable, "routingMetaConnector"},
		{"meta without routing", create, `{"name":"Meta","adapter":"MetaConnector","method":"MetaConnector"}`, CodeMissing, "routingMetaConnector"},
		{"meta method", create, `{"name":"Meta","adapter":"MetaConnector","method":"Creditcard","routingMetaConnector":{"defaultConnector":"` + guid + `"}}`, CodeValueNotAllowed, "method"},
		{"meta unknown connector", create, `{"name":"Meta","adapter":"MetaConnector","method":"MetaConnector","routingMetaConnector":{"defaultConnector":"CO-0000-0000-0000-0000-0000-0000"}}`, CodeNoSuchEntity, "routingMetaConnector.defaultConnector"},
		{"retries", create, `{"name":"Meta","adapter":"MetaConnector","method":"MetaConnector","multiMethodMetaConnector":{"retries":10,"connectors":["` + guid + `"]}}`, CodeValueNotAllowed, "multiMethodMetaConnector.retries"},
		{"both metas", create, `{"name":"Meta","adapter":"MetaConnector","method":"MetaConnector","routingMetaConnector":{"defaultConnector":"` + guid + `"},"multiMethodMetaConnector":{"connectors":["` + guid + `"]}}`, CodeNotApplicable, "multiMethodMetaConnector"},
		{"card number in name", update, `{"name":"card 4111111111111111"}`, CodeInvalidChars, "name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.post(t, a, tc.path, tc.body).fails(t, 422, tc.code, tc.field)
		})
	}
	// Bad JSON is a client error, never a 500.
	for _, body := range []string{`{`, `[]`, `{"name":"abc"} x`, `"x"`, `{"name":"\ud800"}`} {
		if res := f.post(t, a, update, body); res.status >= 500 || res.json(t)["success"] != false {
			t.Errorf("%s: %d %s", body, res.status, res.body)
		}
	}
	// Nothing changed.
	m := f.get(t, a, "/api/provisioning/getConnector/"+guid).connector(t)
	if m["name"] != "Simulator A" || m["businessCountry"] != "AT" || len(m["disabledTransactionTypes"].([]any)) != 0 {
		t.Errorf("a refused update changed the connector: %v", m)
	}
}

// The seed page: every field of updateConnector.
func TestProvisioningUpdateEveryField(t *testing.T) {
	f := provSetup(t)
	a := f.account(t)
	ctx := context.Background()
	guid := f.createConnector(t, a, simulatorBody("Simulator A", "sim-a"))
	c, _ := f.eng.Connector(ctx, a.p, guid)
	before, _ := f.eng.Gateway(ctx, a.id, c.GatewayID)

	body := fmt.Sprintf(`{"name":"Simulator Renamed","adapter":"Simulator","method":"Creditcard","apiKey":"sim-renamed",
		"publicIntegrationKey":"pik-renamed","sharedSecret":%q,"businessCountry":"DE",
		"config":{"username":"sim-user-2","password":%q,"extraData":{"latency_ms":5,"outage":false},"language":"en","testMode":true,
			"vault":{"threeDConfig":{"enabled":true}}},
		"customerProfileContainer":"CPC-1","disabledTransactionTypes":%s,
		"postbackFormat":"xml","provider":"Acme PSP","scheduleApiAvailable":true,"virtualTerminalAvailable":true,
		"vtRiskRuleSet":"RRS-7","settings":{"tx:expiration-minutes":"45"},"alias":"sim-alias",
		"terminals":[{"terminalId":"T-1","disabled":false},{"terminalId":"T-2","disabled":true}],
		"archived":false,"disabled":true}`, provSecret2, provPassword2, provJSON(TransactionTypes))
	m := f.post(t, a, "/api/provisioning/updateConnector/"+guid, body).connector(t)
	cfg := m["config"].(map[string]any)
	for k, want := range map[string]any{"name": "Simulator Renamed", "apiKey": "sim-renamed", "publicIntegrationKey": "pik-renamed",
		"sharedSecret": engine.SecretMask, "businessCountry": "DE", "customerProfileContainer": "CPC-1", "postbackFormat": "xml",
		"provider": "Acme PSP", "scheduleApiAvailable": true, "virtualTerminalAvailable": true, "vtRiskRuleSet": "RRS-7",
		"alias": "sim-alias", "disabled": true, "archived": false} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	if len(m["disabledTransactionTypes"].([]any)) != 11 || len(m["terminals"].([]any)) != 2 {
		t.Errorf("disabledTransactionTypes / terminals: %v", m)
	}
	if cfg["language"] != "en" || cfg["extraData"].(map[string]any)["latency_ms"] != float64(5) ||
		cfg["vault"].(map[string]any)["threeDConfig"] == nil {
		t.Errorf("config %v", cfg)
	}
	if s := m["settings"].(map[string]any); s["tx:expiration-minutes"] != "45" || len(s) != 1 {
		t.Errorf("settings %v", s)
	}

	c, _ = f.eng.Connector(ctx, a.p, guid)
	if c.SignatureRequired {
		t.Error("settings without api:request-signing-enabled still require signatures")
	}
	if got, _ := f.eng.ConnectorSecret(ctx, c); got != provSecret2 {
		t.Errorf("rotated secret opens to %q", got)
	}
	after, _ := f.eng.Gateway(ctx, a.id, c.GatewayID)
	if after.CredentialVersion != before.CredentialVersion+1 {
		t.Errorf("a new password made credential version %d, want %d", after.CredentialVersion, before.CredentialVersion+1)
	}
	if _, err := f.eng.ConnectorByAPIKey(ctx, a.p, "sim-renamed"); err != nil {
		t.Errorf("the new API key finds nothing: %v", err)
	}

	// Sending back the connector a read returned (masked secrets
	// included) changes no secret and makes no credential version.
	read, err := json.Marshal(f.get(t, a, "/api/provisioning/getConnector/"+guid).connector(t))
	if err != nil {
		t.Fatal(err)
	}
	f.post(t, a, "/api/provisioning/updateConnector/"+guid, string(read)).connector(t)
	c, _ = f.eng.Connector(ctx, a.p, guid)
	if got, _ := f.eng.ConnectorSecret(ctx, c); got != provSecret2 {
		t.Errorf("writing back the masked secret changed it to %q", got)
	}
	if g, _ := f.eng.Gateway(ctx, a.id, c.GatewayID); g.CredentialVersion != after.CredentialVersion {
		t.Errorf("writing back masked credentials made version %d", g.CredentialVersion)
	}
	f.checkNoSecrets(t, a)
}

// Old payments keep their credential version when the password changes.
func TestProvisioningCredentialVersions(t *testing.T) {
	f := provSetup(t)
	a := f.account(t)
	ctx := context.Background()
	guid := f.createConnector(t, a, simulatorBody("Simulator A", "sim-a"))
	c, _ := f.eng.Connector(ctx, a.p, guid)
	pm, err := f.eng.CreatePaymentMethod(ctx, a.p, engine.PaymentMethodInput{Type: "card",
		Card: &engine.CardInput{Number: "4111111111111111", ExpMonth: 12, ExpYear: 2031, CVC: "123", HolderName: "Kari Nordmann"}})
	if err != nil {
		t.Fatal(err)
	}
	no := false
	pay, err := f.eng.CreatePayment(ctx, a.p, engine.PaymentInput{Amount: 1000, Currency: "EUR", PaymentMethodID: pm.ID,
		GatewayID: c.GatewayID, Capture: &no})
	if err != nil {
		t.Fatal(err)
	}
	f.post(t, a, "/api/provisioning/updateConnector/"+guid, fmt.Sprintf(`{"config":{"password":%q}}`, provPassword2)).connector(t)
	g, _ := f.eng.Gateway(ctx, a.id, c.GatewayID)
	if g.CredentialVersion != pay.CredentialVersion+1 {
		t.Fatalf("credential version %d after the update, payment has %d", g.CredentialVersion, pay.CredentialVersion)
	}
	got, err := f.eng.Payment(ctx, a.id, pay.ID)
	if err != nil || got.CredentialVersion != pay.CredentialVersion {
		t.Errorf("the payment's credential version moved: %+v, %v", got, err)
	}
}

func TestProvisioningSettingsInPlace(t *testing.T) {
	f := provSetup(t)
	a := f.account(t)
	ctx := context.Background()
	guid := f.createConnector(t, a, simulatorBody("Simulator A", "sim-a"))
	m := f.post(t, a, "/api/provisioning/updateConnector/"+guid,
		`{"addSettings":{"tx:expiration-minutes":"60","ui:refunds":1},"removeSettings":["api:request-signing-enabled"]}`).connector(t)
	s := m["settings"].(map[string]any)
	if len(s) != 2 || s["tx:expiration-minutes"] != "60" || s["ui:refunds"] != float64(1) {
		t.Errorf("settings %v", s)
	}
	c, _ := f.eng.Connector(ctx, a.p, guid)
	if c.SignatureRequired {
		t.Error("removing api:request-signing-enabled left signatures required")
	}
	m = f.post(t, a, "/api/provisioning/updateConnector/"+guid, `{"addSettings":{"api:request-signing-enabled":true}}`).connector(t)
	if len(m["settings"].(map[string]any)) != 3 {
		t.Errorf("settings %v", m["settings"])
	}
	if c, _ := f.eng.Connector(ctx, a.p, guid); !c.SignatureRequired {
		t.Error("adding api:request-signing-enabled did not require signatures")
	}
	// An update without settings keeps them.
	m = f.post(t, a, "/api/provisioning/updateConnector/"+guid, `{"alias":"x"}`).connector(t)
	if len(m["settings"].(map[string]any)) != 3 {
		t.Errorf("settings %v", m["settings"])
	}
}

func TestProvisioningMetaConnector(t *testing.T) {
	f := provSetup(t)
	a, b := f.account(t), f.account(t)
	ctx := context.Background()
	one := f.createConnector(t, a, simulatorBody("Simulator One", "sim-1"))
	two := f.createConnector(t, a, simulatorBody("Simulator Two", "sim-2"))
	foreign := f.createConnector(t, b, simulatorBody("Simulator B", "sim-b"))
	c1, _ := f.eng.Connector(ctx, a.p, one)
	c2, _ := f.eng.Connector(ctx, a.p, two)

	meta := `{"name":"Cascade","adapter":"MetaConnector","method":"MetaConnector",
		"multiMethodMetaConnector":{"defaultActionDisableConnector":true,"retries":1,"expiry":24,"connectors":["%s","%s"]}}`
	f.post(t, a, "/api/provisioning/createConnector/"+a.merchant(), fmt.Sprintf(meta, one, foreign)).
		fails(t, 422, CodeNoSuchEntity, "multiMethodMetaConnector.connectors[1]")
	m := f.post(t, a, "/api/provisioning/createConnector/"+a.merchant(), fmt.Sprintf(meta, one, two)).connector(t)
	if m["isMetaConnector"] != true || m["adapter"] != "MetaConnector" {
		t.Errorf("meta-connector %v", m)
	}
	mc, _ := f.eng.Connector(ctx, a.p, m["guid"].(string))
	router, err := f.eng.Gateway(ctx, a.id, mc.GatewayID)
	if err != nil || router.Type != engine.RouterType {
		t.Fatalf("router %+v, %v", router, err)
	}
	cascade := router.Settings["default"].(map[string]any)["cascade"].([]any)
	if len(cascade) != 2 || cascade[0] != c1.GatewayID || cascade[1] != c2.GatewayID {
		t.Errorf("router settings %v", router.Settings)
	}
	// A meta-connector cannot route to a meta-connector.
	f.post(t, a, "/api/provisioning/createConnector/"+a.merchant(),
		fmt.Sprintf(`{"name":"Meta2","adapter":"MetaConnector","method":"MetaConnector","routingMetaConnector":{"defaultConnector":%q}}`, mc.GUID)).
		fails(t, 422, CodeValueNotAllowed, "routingMetaConnector.defaultConnector")

	// The cascade fails over: the first connector is in an outage, the
	// second takes the payment.
	f.post(t, a, "/api/provisioning/updateConnector/"+one, `{"config":{"extraData":{"outage":true}}}`).connector(t)
	pm, err := f.eng.CreatePaymentMethod(ctx, a.p, engine.PaymentMethodInput{Type: "card",
		Card: &engine.CardInput{Number: "4111111111111111", ExpMonth: 12, ExpYear: 2031, CVC: "123", HolderName: "Kari Nordmann"}})
	if err != nil {
		t.Fatal(err)
	}
	pay, err := f.eng.CreatePayment(ctx, a.p, engine.PaymentInput{Amount: 1000, Currency: "EUR", PaymentMethodID: pm.ID, GatewayID: mc.GatewayID})
	if err != nil {
		t.Fatal(err)
	}
	if pay.GatewayID != c2.GatewayID || pay.Status != payment.StatusCaptured {
		t.Errorf("payment through the meta-connector: gateway %s status %s, want %s CAPTURED", pay.GatewayID, pay.Status, c2.GatewayID)
	}
	// The same through the transaction API, on the meta-connector's own
	// apiKey: a client sees one FINISHED debit.
	debit := f.post(t, a, "/api/v3/transaction/"+mc.APIKey+"/debit", `{"merchantTransactionId":"meta-1","amount":"7.50",
		"currency":"EUR","cardData":{"cardHolder":"Kari Nordmann","pan":"4111111111111111","cvv":"123",
		"expirationMonth":"12","expirationYear":"2031"}}`).ok(t)
	if debit["returnType"] != ReturnFinished {
		t.Fatalf("debit through the meta-connector: %v", debit)
	}
	viaAPI, err := f.eng.Payment(ctx, a.id, debit["purchaseId"].(string))
	if err != nil || viaAPI.GatewayID != c2.GatewayID || viaAPI.AmountCaptured != 750 {
		t.Errorf("the meta-connector's debit: %+v, %v (want captured 750 on %s)", viaAPI, err, c2.GatewayID)
	}

	// A routing meta-connector: its default, recurring pinned unless
	// reRouteRecurring.
	m = f.post(t, a, "/api/provisioning/createConnector/"+a.merchant(),
		fmt.Sprintf(`{"name":"Router","adapter":"MetaConnector","method":"MetaConnector","routingMetaConnector":{"defaultConnector":%q,"reRouteRecurring":false}}`, two)).connector(t)
	rc, _ := f.eng.Connector(ctx, a.p, m["guid"].(string))
	r2, _ := f.eng.Gateway(ctx, a.id, rc.GatewayID)
	if r2.Settings["default"].(map[string]any)["gateway"] != c2.GatewayID || r2.Settings["pin_recurring"] != true {
		t.Errorf("router settings %v", r2.Settings)
	}
	m = f.post(t, a, "/api/provisioning/updateConnector/"+rc.GUID,
		fmt.Sprintf(`{"routingMetaConnector":{"defaultConnector":%q,"reRouteRecurring":true}}`, one)).connector(t)
	r2, _ = f.eng.Gateway(ctx, a.id, rc.GatewayID)
	if r2.Settings["default"].(map[string]any)["gateway"] != c1.GatewayID || r2.Settings["pin_recurring"] != false {
		t.Errorf("router settings after update %v", r2.Settings)
	}
	if rm := m["routingMetaConnector"].(map[string]any); rm["defaultConnector"] != one || rm["reRouteRecurring"] != true {
		t.Errorf("routingMetaConnector %v", rm)
	}
}

func TestProvisioningArchive(t *testing.T) {
	f := provSetup(t)
	a := f.account(t)
	ctx := context.Background()
	guid := f.createConnector(t, a, simulatorBody("Simulator A", "sim-a"))
	if m := f.post(t, a, "/api/provisioning/archiveConnector/"+guid, "").connector(t); m["archived"] != true {
		t.Errorf("archived %v", m)
	}
	if c, _ := f.eng.Connector(ctx, a.p, guid); !c.Archived {
		t.Error("store not archived")
	}
	f.post(t, a, "/api/provisioning/archiveConnector/"+guid, "").connector(t) // again: nothing changes
	// IXOPAY's own way: archived in updateConnector, both ways.
	if m := f.post(t, a, "/api/provisioning/updateConnector/"+guid, `{"archived":false}`).connector(t); m["archived"] != false {
		t.Errorf("unarchived %v", m)
	}
	if m := f.post(t, a, "/api/provisioning/updateConnector/"+guid, `{"archived":true}`).connector(t); m["archived"] != true {
		t.Errorf("archived by update %v", m)
	}
	if ev := f.events(t, a); !strings.Contains(ev, "connector.archived") || !strings.Contains(ev, "connector.created") {
		t.Errorf("events %s", ev)
	}
}

func TestProvisioningConnectorSettings(t *testing.T) {
	f := provSetup(t)
	a := f.account(t)
	m := f.get(t, a, "/api/provisioning/getConnectorSettings/Stripe").ok(t)
	base := m["baseConfig"].([]any)
	var names []string
	for _, e := range base {
		e := e.(map[string]any)
		names = append(names, e["name"].(string))
		if e["name"] == "secret_key" && (e["configField"] != "apiSecret" || e["required"] != true || e["sensitive"] != true) {
			t.Errorf("secret_key %v", e)
		}
	}
	if !slices.Equal(names, []string{"secret_key", "base_url"}) {
		t.Errorf("baseConfig names %v", names)
	}
	if _, ok := m["vaultConfig"]; ok {
		t.Errorf("vaultConfig without a merchant: %v", m)
	}
	m = f.get(t, a, "/api/provisioning/getConnectorSettings/Simulator/"+a.merchant()).ok(t)
	if _, ok := m["vaultConfig"].([]any); !ok || len(m["baseConfig"].([]any)) != 4 {
		t.Errorf("simulator settings with merchant %v", m)
	}
	f.get(t, a, "/api/provisioning/getConnectorSettings/Wirecard").fails(t, 422, CodeValueNotAllowed, "Wirecard")
	f.get(t, a, "/api/provisioning/getConnectorSettings/Adyen").fails(t, 422, CodeValueNotAllowed, "Adyen")
}

// Stripe's secret key goes in as config.apiSecret and never comes out.
func TestProvisioningAPISecret(t *testing.T) {
	f := provSetup(t)
	a := f.account(t)
	m := f.post(t, a, "/api/provisioning/createConnector/"+a.merchant(), fmt.Sprintf(`{"name":"Stripe EU","adapter":"Stripe","method":"Creditcard",
		"config":{"apiSecret":%q,"extraData":{"base_url":"http://127.0.0.1:1"}}}`, provAPISecret)).connector(t)
	if cfg := m["config"].(map[string]any); !strings.HasPrefix(cfg["apiSecret"].(string), engine.SecretMask) {
		t.Errorf("config %v", cfg)
	}
	f.post(t, a, "/api/provisioning/createConnector/"+a.merchant(), `{"name":"Stripe EU","adapter":"Stripe","method":"Creditcard"}`).
		fails(t, 422, CodeMissing, "config.apiSecret")
	f.checkNoSecrets(t, a)
}

// Tenant isolation: another merchant's guid and another account's
// connector are entities that do not exist, on every route.
func TestProvisioningTenantIsolation(t *testing.T) {
	f := provSetup(t)
	a, b := f.account(t), f.account(t)
	guid := f.createConnector(t, b, simulatorBody("Simulator B", "sim-b"))
	for _, tc := range []struct{ method, path, body, field string }{
		{"POST", "/api/provisioning/createConnector/" + b.merchant(), simulatorBody("Mine", "k"), b.merchant()},
		{"POST", "/api/provisioning/createConnector/ME-nonsense", simulatorBody("Mine", "k"), "ME-nonsense"},
		{"POST", "/api/provisioning/updateConnector/" + guid, `{"name":"Stolen"}`, guid},
		{"GET", "/api/provisioning/listConnectors/" + b.merchant(), "", b.merchant()},
		{"GET", "/api/provisioning/getConnector/" + guid, "", guid},
		{"POST", "/api/provisioning/archiveConnector/" + guid, "", guid},
		{"GET", "/api/provisioning/getConnectorSettings/Simulator/" + b.merchant(), "", b.merchant()},
	} {
		f.do(t, tc.method, tc.path, &a, tc.body).fails(t, 422, CodeNoSuchEntity, tc.field)
	}
	// Every route covered, and none without credentials.
	covered := 0
	for _, r := range Routes() {
		if strings.Contains(r, "/api/provisioning/") {
			covered++
			method, path, _ := strings.Cut(r, " ")
			path = strings.NewReplacer("{merchantGuid}", b.merchant(), "{connectorGuid}", guid, "{adapterId}", "Simulator").Replace(path)
			f.do(t, method, path, nil, "").fails(t, http.StatusUnauthorized, CodeRequestFailed, "Access denied")
		}
	}
	if covered != 7 {
		t.Errorf("%d provisioning routes, the test covers 7", covered)
	}
	if c, _ := f.eng.Connector(context.Background(), b.p, guid); c == nil || c.Archived {
		t.Error("b's connector was touched")
	}
}

func provJSON(ss []string) string {
	return `["` + strings.Join(ss, `","`) + `"]`
}

// TestPublicIntegrationKeyTokenizes: a connector made without a
// publicIntegrationKey gets a publishable key of the account, so a card
// vaulted with it (as payment.js does in a browser) is a transactionToken
// the connector's debit takes.
func TestPublicIntegrationKeyTokenizes(t *testing.T) {
	f := provSetup(t)
	a, b := f.account(t), f.account(t)
	ctx := context.Background()
	m := f.post(t, a, "/api/provisioning/createConnector/"+a.merchant(),
		`{"name":"Simulator P","adapter":"Simulator","method":"Creditcard","apiKey":"sim-p"}`).connector(t)
	pik, _ := m["publicIntegrationKey"].(string)
	if !strings.HasPrefix(pik, "pk_test_") {
		t.Fatalf("publicIntegrationKey %q, want a publishable key", pik)
	}
	p, err := f.eng.Authenticate(ctx, pik)
	if err != nil || p.Account.ID != a.id || p.Key.Kind != payment.KeyPublishable {
		t.Fatalf("the publicIntegrationKey authenticates as %+v, %v", p, err)
	}
	pm, err := f.eng.CreatePaymentMethod(ctx, p, engine.PaymentMethodInput{Type: "card",
		Card: &engine.CardInput{Number: "4111111111111111", ExpMonth: 12, ExpYear: 2031, CVC: "123", HolderName: "Kari Nordmann"}})
	if err != nil {
		t.Fatal(err)
	}
	debit := `{"merchantTransactionId":"tok-1","amount":"3.00","currency":"EUR","transactionToken":"` + pm.ID + `"}`
	if r := f.post(t, a, "/api/v3/transaction/sim-p/debit", debit).ok(t); r["returnType"] != ReturnFinished {
		t.Errorf("debit by transactionToken: %v", r)
	}
	// The token is the merchant's own: another merchant cannot charge it.
	f.post(t, b, "/api/provisioning/createConnector/"+b.merchant(),
		`{"name":"Simulator Q","adapter":"Simulator","method":"Creditcard","apiKey":"sim-q"}`).connector(t)
	other := f.post(t, b, "/api/v3/transaction/sim-q/debit", strings.Replace(debit, "tok-1", "tok-2", 1))
	if m := other.json(t); m["success"] != false {
		t.Errorf("another merchant charged the token: %s", other.body)
	}
	// A publicIntegrationKey the client chooses is kept as it is.
	m = f.post(t, a, "/api/provisioning/createConnector/"+a.merchant(),
		`{"name":"Simulator R","adapter":"Simulator","method":"Creditcard","apiKey":"sim-r","publicIntegrationKey":"mine"}`).connector(t)
	if m["publicIntegrationKey"] != "mine" {
		t.Errorf("publicIntegrationKey %v", m["publicIntegrationKey"])
	}
}

// The request-signing setting is IXOPAY's api:request-signing-enabled;
// api:enable-request-signing, the key kassa took before IXOPAY's was
// confirmed, still works, so that older connectors keep requiring
// signatures through later updates. Two keys that disagree are refused.
func TestProvisioningSigningSettingKeys(t *testing.T) {
	f := provSetup(t)
	a := f.account(t)
	ctx := context.Background()
	required := func(guid string) bool {
		t.Helper()
		c, err := f.eng.Connector(ctx, a.p, guid)
		if err != nil {
			t.Fatal(err)
		}
		return c.SignatureRequired
	}
	legacy := f.createConnector(t, a, `{"name":"Legacy","adapter":"Simulator","method":"Creditcard",
		"settings":{"api:enable-request-signing":"1"}}`)
	if !required(legacy) {
		t.Fatal("the legacy key did not require signatures")
	}
	// An update that does not touch settings keeps the requirement.
	f.post(t, a, "/api/provisioning/updateConnector/"+legacy, `{"alias":"x"}`).connector(t)
	if !required(legacy) {
		t.Error("an update dropped the legacy key's requirement")
	}
	f.post(t, a, "/api/provisioning/updateConnector/"+legacy, `{"addSettings":{"api:request-signing-enabled":"0"}}`).
		fails(t, 422, CodeValueNotAllowed, "api:enable-request-signing")
	if !required(legacy) {
		t.Error("a refused update changed the requirement")
	}
	f.post(t, a, "/api/provisioning/updateConnector/"+legacy,
		`{"addSettings":{"api:request-signing-enabled":"0"},"removeSettings":["api:enable-request-signing"]}`).connector(t)
	if required(legacy) {
		t.Error("api:request-signing-enabled 0 left signatures required")
	}
	documented := f.createConnector(t, a, `{"name":"Documented","adapter":"Simulator","method":"Creditcard",
		"settings":{"api:request-signing-enabled":1}}`)
	if !required(documented) {
		t.Error("api:request-signing-enabled 1 did not require signatures")
	}
}
