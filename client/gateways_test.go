package client_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kassapay/kassa/client"
)

// gatewayTypesJSON is the simulator's type as the server lists it.
const gatewayTypesJSON = `{"object":"list","has_more":false,"url":"/v1/gateway_types","data":[{
	"object": "gateway_type", "type": "simulator", "name": "kassa simulator",
	"credential_fields": [
		{"name": "login", "label": "Login", "type": "string", "required": false, "sensitive": true},
		{"name": "password", "label": "Password", "type": "string", "required": false, "sensitive": true}],
	"settings_fields": [{"name": "latency_ms", "label": "Latency", "type": "integer", "required": false, "sensitive": false}],
	"characteristics": ["authorize", "purchase", "capture", "void", "refund", "verify"],
	"payment_method_types": ["card"],
	"gateway_specific_fields": [{"name": "simulate_decline", "label": "Decline", "type": "boolean", "required": false, "sensitive": false}],
	"currencies": [],
	"test_only": true,
	"notifications": false
}]}`

// gwJSON is a gateway as the server renders it: credentials masked.
const gwJSON = `{
	"id": "gw_1", "object": "gateway", "type": "simulator", "name": "kassa simulator",
	"description": "Main simulator", "state": "retained", "sandbox": true,
	"settings": {"latency_ms": 5}, "merchant_profile_key": "mp-1", "sub_merchant_key": "",
	"disabled_operations": ["void"],
	"credentials": {"version": 2, "fields": {"login": "••••ogin", "password": "••••cret"}},
	"characteristics": ["authorize", "purchase", "capture", "refund", "verify"],
	"created_at": "2026-03-01T12:00:00Z", "updated_at": "2026-03-01T12:05:00Z", "redacted_at": null
}`

// gwRedactedJSON is a redacted gateway.
const gwRedactedJSON = `{
	"id": "gw_2", "object": "gateway", "type": "simulator", "name": "kassa simulator",
	"description": "", "state": "redacted", "sandbox": true, "settings": {},
	"merchant_profile_key": "", "sub_merchant_key": "", "disabled_operations": [],
	"credentials": {"version": 1, "fields": {}}, "characteristics": ["authorize"],
	"created_at": "2026-03-01T12:00:00Z", "updated_at": "2026-03-02T00:00:00Z", "redacted_at": "2026-03-02T00:00:00Z"
}`

var gw1 = &client.Gateway{
	ID: "gw_1", Object: "gateway", Type: "simulator", Name: "kassa simulator",
	Description: "Main simulator", State: client.GatewayRetained, Sandbox: true,
	Settings: map[string]any{"latency_ms": float64(5)}, MerchantProfileKey: "mp-1",
	DisabledOperations: []string{client.OperationVoid},
	Credentials:        client.GatewayCredentials{Version: 2, Fields: map[string]string{"login": "••••ogin", "password": "••••cret"}},
	Characteristics: []string{client.OperationAuthorize, client.OperationPurchase, client.OperationCapture,
		client.OperationRefund, client.OperationVerify},
	CreatedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
	UpdatedAt: time.Date(2026, 3, 1, 12, 5, 0, 0, time.UTC),
}

func TestGatewayTypes(t *testing.T) {
	t.Parallel()
	c := newClient(t, exchange{method: "GET", uri: "/v1/gateway_types", resp: gatewayTypesJSON})
	l, err := c.GatewayTypes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := &client.GatewayType{
		Object: "gateway_type", Type: "simulator", Name: "kassa simulator",
		CredentialFields: []client.GatewayField{
			{Name: "login", Label: "Login", Type: client.FieldTypeString, Sensitive: true},
			{Name: "password", Label: "Password", Type: client.FieldTypeString, Sensitive: true}},
		SettingsFields: []client.GatewayField{{Name: "latency_ms", Label: "Latency", Type: client.FieldTypeInteger}},
		Characteristics: []string{client.OperationAuthorize, client.OperationPurchase, client.OperationCapture,
			client.OperationVoid, client.OperationRefund, client.OperationVerify},
		PaymentMethodTypes:    []string{client.PaymentMethodTypeCard},
		GatewaySpecificFields: []client.GatewayField{{Name: "simulate_decline", Label: "Decline", Type: client.FieldTypeBoolean}},
		Currencies:            []string{},
		TestOnly:              true,
	}
	if l.HasMore || l.URL != "/v1/gateway_types" || len(l.Data) != 1 || !reflect.DeepEqual(l.Data[0], want) {
		t.Errorf("got  %+v\nwant %+v", l.Data[0], want)
	}
}

func TestCreateGateway(t *testing.T) {
	t.Parallel()
	c := newClient(t,
		exchange{method: "POST", uri: "/v1/gateways", header: map[string]string{"Idempotency-Key": "gw-1"},
			body: `{"type": "simulator", "description": "Main simulator",
				"credentials": {"login": "shop", "password": "s3cr3t-pw"}, "settings": {"latency_ms": 5},
				"sandbox": true, "merchant_profile_key": "mp-1", "sub_merchant_key": "sub-1", "disabled_operations": ["void"]}`,
			status: 201, resp: gwJSON},
		// Only the type is required; nothing else is sent unless set,
		// and sandbox: false is sent when set.
		exchange{method: "POST", uri: "/v1/gateways", body: `{"type": "simulator", "sandbox": false}`,
			status: 422, resp: `{"error":{"type":"invalid_request_error","code":"gateway_not_allowed","param":"sandbox",
				"message":"Test accounts may only use sandbox gateways: set sandbox to true."}}`},
		exchange{method: "POST", uri: "/v1/gateways", body: `{"type": ""}`, status: 422,
			resp: `{"error":{"type":"invalid_request_error","code":"parameter_missing","param":"type","message":"type is required."}}`},
	)
	ctx := t.Context()
	g, err := c.CreateGateway(ctx, &client.GatewayParams{
		Type: "simulator", Description: "Main simulator",
		Credentials: map[string]any{"login": "shop", "password": "s3cr3t-pw"},
		Settings:    map[string]any{"latency_ms": 5},
		Sandbox:     new(true), MerchantProfileKey: "mp-1", SubMerchantKey: "sub-1",
		DisabledOperations: []string{client.OperationVoid},
	}, client.WithIdempotencyKey("gw-1"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, gw1) {
		t.Errorf("got  %+v\nwant %+v", g, gw1)
	}
	_, err = c.CreateGateway(ctx, &client.GatewayParams{Type: "simulator", Sandbox: new(false)})
	if e, ok := err.(*client.Error); !ok || e.Code != client.CodeGatewayNotAllowed || e.Param != "sandbox" {
		t.Errorf("err = %v", err)
	}
	if _, err := c.CreateGateway(ctx, nil); err == nil {
		t.Error("nil params: no error")
	}
}

func TestGateway(t *testing.T) {
	t.Parallel()
	c := newClient(t,
		exchange{method: "GET", uri: "/v1/gateways/gw_2", resp: gwRedactedJSON},
		exchange{method: "GET", uri: "/v1/gateways/gw%2F..%2Fpayments", status: 404,
			resp: `{"error":{"type":"invalid_request_error","code":"resource_missing","param":"id","message":"No such gateway: 'gw/../payments'"}}`},
	)
	g, err := c.Gateway(t.Context(), "gw_2")
	if err != nil {
		t.Fatal(err)
	}
	redacted := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	if g.State != client.GatewayRedacted || g.RedactedAt == nil || !g.RedactedAt.Equal(redacted) ||
		g.Settings == nil || g.DisabledOperations == nil || g.Credentials.Version != 1 || len(g.Credentials.Fields) != 0 {
		t.Errorf("got %+v", g)
	}
	if _, err := c.Gateway(t.Context(), "gw/../payments"); !client.IsNotFound(err) {
		t.Errorf("err = %v, want not found", err)
	}
}

// gwList renders a page of gateways with the given ids.
func gwList(hasMore bool, ids ...string) string {
	data := make([]string, len(ids))
	for i, id := range ids {
		data[i] = strings.Replace(gwRedactedJSON, `"gw_2"`, `"`+id+`"`, 1)
	}
	return fmt.Sprintf(`{"object":"list","url":"/v1/gateways","has_more":%v,"data":[%s]}`, hasMore, strings.Join(data, ","))
}

func TestListGateways(t *testing.T) {
	t.Parallel()
	c := newClient(t,
		exchange{method: "GET", uri: "/v1/gateways", resp: gwList(false, "gw_2", "gw_1")},
		exchange{method: "GET", uri: "/v1/gateways?limit=1&starting_after=gw_9", resp: gwList(true, "gw_8")},
		exchange{method: "GET", uri: "/v1/gateways?limit=1&starting_after=gw_8", resp: gwList(false, "gw_7")},
	)
	ctx := t.Context()
	l, err := c.ListGateways(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.HasMore || l.URL != "/v1/gateways" || len(l.Data) != 2 || l.Data[0].ID != "gw_2" || l.Data[1].ID != "gw_1" {
		t.Errorf("got %+v", l)
	}
	var ids []string
	for g, err := range c.AllGateways(ctx, &client.ListParams{Limit: 1, StartingAfter: "gw_9"}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, g.ID)
	}
	if want := []string{"gw_8", "gw_7"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("ids = %v, want %v", ids, want)
	}
}

func TestUpdateGateway(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    *client.UpdateGatewayParams
		body string
	}{
		{"nil params", nil, `{}`},
		{"nothing set", &client.UpdateGatewayParams{}, `{}`},
		{"some fields", &client.UpdateGatewayParams{Description: new("Backup"), Sandbox: new(true),
			Settings: map[string]any{"latency_ms": 10}, DisabledOperations: []string{client.OperationVoid, client.OperationRefund}},
			`{"description":"Backup","sandbox":true,"settings":{"latency_ms":10},"disabled_operations":["void","refund"]}`},
		{"zero values are sent when set", &client.UpdateGatewayParams{Description: new(""), Sandbox: new(false),
			MerchantProfileKey: new(""), SubMerchantKey: new("")},
			`{"description":"","sandbox":false,"merchant_profile_key":"","sub_merchant_key":""}`},
		// Empty but not nil: clear the settings, enable every operation.
		{"empty settings and operations", &client.UpdateGatewayParams{Settings: map[string]any{}, DisabledOperations: []string{}},
			`{"settings":{},"disabled_operations":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// PATCH is not subject to idempotency keys: none is sent.
			c := newClient(t, exchange{method: "PATCH", uri: "/v1/gateways/gw_1", body: tt.body, resp: gwJSON})
			g, err := c.UpdateGateway(t.Context(), "gw_1", tt.p, client.WithIdempotencyKey("ignored"))
			if err != nil {
				t.Fatal(err)
			}
			if g.ID != "gw_1" {
				t.Errorf("got %+v", g)
			}
		})
	}
}

func TestSetGatewayCredentials(t *testing.T) {
	t.Parallel()
	c := newClient(t,
		exchange{method: "PUT", uri: "/v1/gateways/gw_1/credentials",
			body: `{"credentials":{"login":"shop","password":"n3w-pw"},"description":"yearly rotation","validate":false}`, resp: gwJSON},
		exchange{method: "PUT", uri: "/v1/gateways/gw_1/credentials", body: `{"credentials":{}}`, resp: gwJSON},
		// Forgotten credentials go as null, for the server to refuse.
		exchange{method: "PUT", uri: "/v1/gateways/gw_1/credentials", body: `{"credentials":null}`, status: 422,
			resp: `{"error":{"type":"invalid_request_error","code":"parameter_missing","param":"credentials","message":"credentials is required."}}`},
		exchange{method: "PUT", uri: "/v1/gateways/gw_1/credentials", body: `{"credentials":{"login":"invalid"},"validate":true}`, status: 422,
			resp: `{"error":{"type":"invalid_request_error","code":"invalid_credentials","param":"login","message":"The gateway refused the credentials."}}`},
	)
	ctx := t.Context()
	g, err := c.SetGatewayCredentials(ctx, "gw_1", &client.GatewayCredentialsParams{
		Credentials: map[string]any{"login": "shop", "password": "n3w-pw"},
		Description: "yearly rotation", Validate: new(false),
	}, client.WithIdempotencyKey("ignored"))
	if err != nil {
		t.Fatal(err)
	}
	if g.Credentials.Version != 2 {
		t.Errorf("got %+v", g)
	}
	if _, err := c.SetGatewayCredentials(ctx, "gw_1", &client.GatewayCredentialsParams{Credentials: map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetGatewayCredentials(ctx, "gw_1", nil); err == nil {
		t.Error("nil params: no error")
	}
	_, err = c.SetGatewayCredentials(ctx, "gw_1", &client.GatewayCredentialsParams{
		Credentials: map[string]any{"login": "invalid"}, Validate: new(true)})
	if e, ok := err.(*client.Error); !ok || e.StatusCode != 422 || e.Param != "login" {
		t.Errorf("err = %v", err)
	}
}

func TestGatewayCredentialHistory(t *testing.T) {
	t.Parallel()
	c := newClient(t, exchange{method: "GET", uri: "/v1/gateways/gw_1/credentials", resp: `{"object":"list","has_more":false,
		"url":"/v1/gateways/gw_1/credentials","data":[
		{"object":"credential_version","version":2,"description":"rotation","created_by":"key_1","created_at":"2026-03-02T00:00:00Z","destroyed":false},
		{"object":"credential_version","version":1,"description":"","created_by":"cli","created_at":"2026-03-01T00:00:00Z","destroyed":true}]}`})
	l, err := c.GatewayCredentialHistory(t.Context(), "gw_1")
	if err != nil {
		t.Fatal(err)
	}
	want := []*client.CredentialVersion{
		{Object: "credential_version", Version: 2, Description: "rotation", CreatedBy: "key_1", CreatedAt: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)},
		{Object: "credential_version", Version: 1, CreatedBy: "cli", CreatedAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Destroyed: true},
	}
	if l.URL != "/v1/gateways/gw_1/credentials" || !reflect.DeepEqual(l.Data, want) {
		t.Errorf("got %+v", l)
	}
}

func TestRetainRedactGateway(t *testing.T) {
	t.Parallel()
	c := newClient(t,
		exchange{method: "POST", uri: "/v1/gateways/gw_1/retain", body: `{}`, resp: gwJSON},
		exchange{method: "POST", uri: "/v1/gateways/gw_2/redact", body: `{}`,
			header: map[string]string{"Idempotency-Key": "r2"}, resp: gwRedactedJSON},
		exchange{method: "POST", uri: "/v1/gateways/gw_2/retain", body: `{}`, status: 409,
			resp: `{"error":{"type":"invalid_request_error","code":"invalid_state","message":"The gateway is redacted."}}`},
	)
	ctx := t.Context()
	if g, err := c.RetainGateway(ctx, "gw_1"); err != nil || g.State != client.GatewayRetained {
		t.Fatalf("retain: %+v, %v", g, err)
	}
	if g, err := c.RedactGateway(ctx, "gw_2", client.WithIdempotencyKey("r2")); err != nil || g.State != client.GatewayRedacted {
		t.Fatalf("redact: %+v, %v", g, err)
	}
	if _, err := c.RetainGateway(ctx, "gw_2"); !client.IsConflict(err) {
		t.Errorf("retain of a redacted gateway: %v", err)
	}
}

// TestGatewayCredentialsNotPrinted checks that fmt and log/slog show the
// names of gateway credentials but never their values.
func TestGatewayCredentialsNotPrinted(t *testing.T) {
	t.Parallel()
	creds := map[string]any{"login": "shop-login-value", "password": "hunter2-password-value"}
	gp := client.GatewayParams{Type: "simulator", Description: "Main", Credentials: creds,
		Settings: map[string]any{"latency_ms": 5}, Sandbox: new(true)}
	cp := client.GatewayCredentialsParams{Credentials: creds, Description: "rotation", Validate: new(false)}
	secrets := []string{"shop-login-value", "hunter2-password-value"}

	var out []string
	for _, v := range []any{gp, &gp, []*client.GatewayParams{&gp}, cp, &cp, struct{ P client.GatewayParams }{gp}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x"} {
			out = append(out, fmt.Sprintf(verb, v))
		}
	}
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		slog.New(h).Info("configure", "gateway", gp, "pgateway", &gp, "credentials", cp, "pcredentials", &cp)
	}
	out = append(out, buf.String())
	for _, s := range out {
		for _, secret := range secrets {
			if strings.Contains(s, secret) {
				t.Errorf("output shows %q: %s", secret, s)
			}
		}
	}
	if got, want := gp.String(), "gateway params (type simulator, credentials login, password redacted)"; got != want {
		t.Errorf("GatewayParams.String() = %q, want %q", got, want)
	}
	if got, want := (client.GatewayParams{Type: "simulator"}).String(), "gateway params (type simulator)"; got != want {
		t.Errorf("GatewayParams.String() = %q, want %q", got, want)
	}
	if got, want := cp.String(), "gateway credentials (login, password redacted)"; got != want {
		t.Errorf("GatewayCredentialsParams.String() = %q, want %q", got, want)
	}
	if got, want := (client.GatewayCredentialsParams{}).String(), "gateway credentials (none)"; got != want {
		t.Errorf("GatewayCredentialsParams.String() = %q, want %q", got, want)
	}
	if !strings.Contains(buf.String(), `"credential_fields":["login","password"]`) || !strings.Contains(buf.String(), `"description":"rotation"`) {
		t.Errorf("slog JSON lacks the credential names:\n%s", buf.String())
	}
}
