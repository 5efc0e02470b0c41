package native

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// Credentials of the test gateways; neither may ever come back out whole.
// The password has the shape of a real secret (many digits), which the
// engine never echoes even where a client sends it as a field name.
const (
	credLogin    = "login-zq7xk-merchant-one"
	credPassword = "pw-8r2mv9tq-41x77-secret"
)

func gatewayBody() string {
	return `{"type":"simulator","description":"Simulator EU","credentials":{"login":"` + credLogin +
		`","password":"` + credPassword + `"},"settings":{"latency_ms":0},"merchant_profile_key":"mp-1","sub_merchant_key":"sub-1"}`
}

// createGateway configures a simulator gateway and returns its id.
func (f *fixture) createGateway(t *testing.T, key string) string {
	t.Helper()
	res := f.post(t, "/v1/gateways", key, gatewayBody())
	if res.status != http.StatusCreated {
		t.Fatalf("create gateway: %d %s", res.status, res.body)
	}
	return res.json(t)["id"].(string)
}

func (f *fixture) patch(t *testing.T, path, key, body string) response {
	t.Helper()
	return f.do(t, req{method: "PATCH", path: path, key: key, body: body})
}

func (f *fixture) put(t *testing.T, path, key, body string) response {
	t.Helper()
	return f.do(t, req{method: "PUT", path: path, key: key, body: body})
}

// listData returns the data of a list response, checking its envelope.
func listData(t *testing.T, res response, url string) []map[string]any {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("list %s: %d %s", url, res.status, res.body)
	}
	l := res.json(t)
	if got, want := keysOf(l), []string{"object", "data", "has_more", "url"}; !sameSet(got, want) || l["object"] != "list" || l["url"] != url {
		t.Fatalf("list %s: %s", url, res.body)
	}
	var out []map[string]any
	for _, d := range l["data"].([]any) {
		out = append(out, d.(map[string]any))
	}
	return out
}

func TestGatewayTypes(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	types := listData(t, f.get(t, "/v1/gateway_types", a.SecretKey), "/v1/gateway_types")
	if len(types) != 3 || types[2]["type"] != "router" {
		t.Fatalf("%d gateway types, want the two simulators and the router", len(types))
	}
	sim := types[0]
	want := []string{"object", "type", "name", "credential_fields", "settings_fields", "characteristics",
		"payment_method_types", "gateway_specific_fields", "currencies", "single_capture", "test_only", "notifications"}
	if got := keysOf(sim); !sameSet(got, want) {
		t.Errorf("gateway type keys %v, want %v", got, want)
	}
	if sim["object"] != "gateway_type" || sim["type"] != "simulator" || sim["test_only"] != true {
		t.Errorf("simulator type %v", sim)
	}
	for _, k := range []string{"credential_fields", "settings_fields", "characteristics", "payment_method_types", "gateway_specific_fields", "currencies"} {
		if _, ok := sim[k].([]any); !ok {
			t.Errorf("%s is %v, want an array", k, sim[k])
		}
	}
	chars := strings.Join(toStrings(sim["characteristics"]), ",")
	for _, op := range []string{"authorize", "purchase", "capture", "void", "refund", "verify"} {
		if !strings.Contains(chars, op) {
			t.Errorf("characteristics %s lack %s", chars, op)
		}
	}
	creds := sim["credential_fields"].([]any)
	if len(creds) != 2 {
		t.Fatalf("simulator credential fields %v", creds)
	}
	for _, c := range creds {
		field := c.(map[string]any)
		if got, want := keysOf(field), []string{"name", "label", "type", "required", "sensitive"}; !sameSet(got, want) {
			t.Errorf("field keys %v", got)
		}
		if field["type"] != "string" || field["sensitive"] != true || field["required"] != false {
			t.Errorf("credential field %v", field)
		}
	}
	if types[1]["type"] != "keyed_simulator" {
		t.Errorf("second type %v", types[1]["type"])
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestGatewayLifecycle(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)

	res := f.post(t, "/v1/gateways", a.SecretKey, gatewayBody())
	if res.status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	gw := res.json(t)
	want := []string{"id", "object", "type", "name", "description", "state", "sandbox", "settings", "merchant_profile_key",
		"sub_merchant_key", "disabled_operations", "credentials", "characteristics", "health", "created_at", "updated_at", "redacted_at"}
	if got := keysOf(gw); !sameSet(got, want) {
		t.Errorf("gateway keys %v, want %v", got, want)
	}
	id := gw["id"].(string)
	if !strings.HasPrefix(id, "gw_") || gw["object"] != "gateway" || gw["type"] != "simulator" || gw["description"] != "Simulator EU" ||
		gw["state"] != "retained" || gw["sandbox"] != true || gw["merchant_profile_key"] != "mp-1" || gw["sub_merchant_key"] != "sub-1" ||
		gw["redacted_at"] != nil || gw["settings"].(map[string]any)["latency_ms"] != 0.0 || len(gw["disabled_operations"].([]any)) != 0 {
		t.Errorf("created %s", res.body)
	}
	creds := gw["credentials"].(map[string]any)
	if got, want := keysOf(creds), []string{"version", "fields"}; !sameSet(got, want) || creds["version"] != 1.0 {
		t.Errorf("credentials %v", creds)
	}
	fields := creds["fields"].(map[string]any)
	if len(fields) != 2 || !strings.HasPrefix(fields["login"].(string), "••••") || !strings.HasPrefix(fields["password"].(string), "••••") {
		t.Errorf("credential fields are not masked: %v", fields)
	}

	if res := f.get(t, "/v1/gateways/"+id, a.SecretKey); res.status != 200 || res.json(t)["id"] != id {
		t.Fatalf("get: %d %s", res.status, res.body)
	}
	if got := listData(t, f.get(t, "/v1/gateways", a.SecretKey), "/v1/gateways"); len(got) != 1 || got[0]["id"] != id {
		t.Fatalf("list: %v", got)
	}

	// PATCH changes the non-secret fields named, and only those.
	res = f.patch(t, "/v1/gateways/"+id, a.SecretKey, `{"description":"Simulator NO","settings":{"latency_ms":5,"outage":false},"disabled_operations":["refund","void"]}`)
	if res.status != 200 {
		t.Fatalf("patch: %d %s", res.status, res.body)
	}
	gw = res.json(t)
	if gw["description"] != "Simulator NO" || gw["settings"].(map[string]any)["latency_ms"] != 5.0 ||
		strings.Join(toStrings(gw["disabled_operations"]), ",") != "refund,void" || gw["merchant_profile_key"] != "mp-1" ||
		gw["credentials"].(map[string]any)["version"] != 1.0 {
		t.Errorf("patched %s", res.body)
	}
	for _, op := range toStrings(gw["characteristics"]) {
		if op == "refund" || op == "void" {
			t.Errorf("characteristics still list %s", op)
		}
	}
	res = f.patch(t, "/v1/gateways/"+id, a.SecretKey, `{"disabled_operations":[],"merchant_profile_key":""}`)
	if gw := res.json(t); res.status != 200 || len(gw["disabled_operations"].([]any)) != 0 || gw["merchant_profile_key"] != "" ||
		gw["description"] != "Simulator NO" {
		t.Errorf("second patch: %d %s", res.status, res.body)
	}

	// Credentials are not a field of PATCH: they have their own PUT.
	res = f.patch(t, "/v1/gateways/"+id, a.SecretKey, `{"description":"x","credentials":{"login":"`+credLogin+`"}}`)
	wantError(t, res, 422, "invalid_request_error", "parameter_unknown", "credentials")
	if msg := res.errorOf(t)["message"].(string); !strings.Contains(msg, "PUT /v1/gateways/{id}/credentials") {
		t.Errorf("message %q does not point at PUT", msg)
	}
	wantError(t, f.patch(t, "/v1/gateways/"+id, a.SecretKey, `{"credentials":null}`), 422, "invalid_request_error", "parameter_unknown", "credentials")
	if res := f.get(t, "/v1/gateways/"+id, a.SecretKey); res.json(t)["description"] != "Simulator NO" {
		t.Errorf("a refused PATCH changed the gateway: %s", res.body)
	}

	// PUT makes a new version; validate defaults to true.
	res = f.put(t, "/v1/gateways/"+id+"/credentials", a.SecretKey, `{"credentials":{"login":"rotated-login-0001","password":"rotated-password-0002"},"description":"rotation 1"}`)
	if res.status != 200 {
		t.Fatalf("put credentials: %d %s", res.status, res.body)
	}
	if v := res.json(t)["credentials"].(map[string]any)["version"]; v != 2.0 {
		t.Errorf("version after rotation %v", v)
	}
	res = f.put(t, "/v1/gateways/"+id+"/credentials", a.SecretKey, `{"credentials":{},"validate":false}`)
	if res.status != 200 || res.json(t)["credentials"].(map[string]any)["version"] != 3.0 {
		t.Fatalf("put without validation: %d %s", res.status, res.body)
	}
	wantError(t, f.put(t, "/v1/gateways/"+id+"/credentials", a.SecretKey, `{"description":"forgot them"}`),
		422, "invalid_request_error", "parameter_missing", "credentials")
	wantError(t, f.put(t, "/v1/gateways/"+id+"/credentials", a.SecretKey, `{"credentials":{"login":"x"},"validate":"yes"}`),
		422, "invalid_request_error", "parameter_invalid", "validate")

	history := listData(t, f.get(t, "/v1/gateways/"+id+"/credentials", a.SecretKey), "/v1/gateways/"+id+"/credentials")
	if len(history) != 3 {
		t.Fatalf("%d credential versions", len(history))
	}
	for i, v := range history {
		if got, want := keysOf(v), []string{"object", "version", "description", "created_by", "created_at", "destroyed"}; !sameSet(got, want) {
			t.Errorf("version keys %v", got)
		}
		if v["object"] != "credential_version" || v["version"] != float64(3-i) || v["destroyed"] != false ||
			!strings.HasPrefix(v["created_by"].(string), "key_") {
			t.Errorf("version %d: %v", 3-i, v)
		}
	}
	if history[1]["description"] != "rotation 1" {
		t.Errorf("version 2 description %v", history[1]["description"])
	}

	// Retain changes nothing on a retained gateway; redact destroys every
	// version, and payments through the gateway are refused until new
	// credentials come.
	for _, step := range []struct{ path, state string }{{"/retain", "retained"}, {"/redact", "redacted"}, {"/redact", "redacted"}} {
		res = f.do(t, req{method: "POST", path: "/v1/gateways/" + id + step.path, key: a.SecretKey})
		if res.status != 200 || res.json(t)["state"] != step.state {
			t.Fatalf("%s: %d %s", step.path, res.status, res.body)
		}
	}
	if res.json(t)["redacted_at"] == nil {
		t.Error("redacted_at not set")
	}
	for _, v := range listData(t, f.get(t, "/v1/gateways/"+id+"/credentials", a.SecretKey), "/v1/gateways/"+id+"/credentials") {
		if v["destroyed"] != true {
			t.Errorf("version %v survived the redaction", v["version"])
		}
	}
	wantError(t, f.do(t, req{method: "POST", path: "/v1/gateways/" + id + "/retain", key: a.SecretKey}), 409, "invalid_request_error", "invalid_state", "")
	pm := f.createPM(t, a.SecretKey)
	wantError(t, f.post(t, "/v1/payments", a.SecretKey, paymentBody(pm, id, 1000, true)), 409, "invalid_request_error", "gateway_redacted", "")
	res = f.put(t, "/v1/gateways/"+id+"/credentials", a.SecretKey, `{"credentials":{"login":"after-redaction-01"}}`)
	if gw := res.json(t); res.status != 200 || gw["state"] != "retained" || gw["redacted_at"] != nil || gw["credentials"].(map[string]any)["version"] != 4.0 {
		t.Fatalf("credentials after redaction: %d %s", res.status, res.body)
	}
	if res := f.post(t, "/v1/payments", a.SecretKey, paymentBody(pm, id, 1000, true)); res.status != 201 || res.json(t)["credential_version"] != 4.0 {
		t.Fatalf("payment after new credentials: %d %s", res.status, res.body)
	}

	var types []string
	for _, ev := range listData(t, f.get(t, "/v1/events?limit=100", a.SecretKey), "/v1/events") {
		if ev["object_id"] == id {
			types = append(types, ev["type"].(string))
		}
	}
	for _, typ := range []string{"gateway.created", "gateway.updated", "gateway.credentials_rotated", "gateway.redacted"} {
		if !strings.Contains(strings.Join(types, " "), typ) {
			t.Errorf("no %s event among %v", typ, types)
		}
	}
}

func TestGatewayListPagination(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	var ids []string
	for range 3 {
		ids = append(ids, f.createGateway(t, a.SecretKey))
		f.clock.Add(time.Second)
	}
	page := listData(t, f.get(t, "/v1/gateways?limit=2", a.SecretKey), "/v1/gateways")
	if len(page) != 2 || page[0]["id"] != ids[2] || page[1]["id"] != ids[1] {
		t.Fatalf("first page %v", page)
	}
	res := f.get(t, "/v1/gateways?limit=2&starting_after="+ids[1], a.SecretKey)
	if page := listData(t, res, "/v1/gateways"); len(page) != 1 || page[0]["id"] != ids[0] || res.json(t)["has_more"] != false {
		t.Fatalf("second page %s", res.body)
	}
	wantError(t, f.get(t, "/v1/gateways?limit=0", a.SecretKey), 422, "invalid_request_error", "parameter_invalid", "limit")
	wantError(t, f.get(t, "/v1/gateways?starting_after=gw_nope", a.SecretKey), 404, "invalid_request_error", "resource_missing", "starting_after")
	// A cursor that is not an id is not echoed.
	res = f.get(t, "/v1/gateways?starting_after="+pan, a.SecretKey)
	wantError(t, res, 404, "invalid_request_error", "resource_missing", "starting_after")
	if strings.Contains(string(res.body), pan) {
		t.Errorf("cursor echoed: %s", res.body)
	}
}

func TestGatewayBadInput(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	tests := []struct {
		name        string
		body        string
		contentType string
		status      int
		code, param string
	}{
		{"malformed json", `{"type":"simulator",`, "", 400, "malformed_body", "body"},
		{"not an object", `["simulator"]`, "", 400, "malformed_body", "body"},
		{"text/plain", `{"type":"simulator"}`, "text/plain", 415, "unsupported_media_type", "Content-Type"},
		{"missing type", `{"description":"x"}`, "", 422, "parameter_missing", "type"},
		{"unknown type", `{"type":"paypal"}`, "", 422, "parameter_invalid", "type"},
		{"type not a string", `{"type":7}`, "", 422, "parameter_invalid", "type"},
		{"unknown top field", `{"type":"simulator","password":"x"}`, "", 422, "parameter_unknown", "password"},
		{"unknown credential", `{"type":"simulator","credentials":{"api_key":"x"}}`, "", 422, "parameter_unknown", "credentials.api_key"},
		{"missing credential", `{"type":"keyed_simulator","credentials":{}}`, "", 422, "parameter_missing", "credentials.api_key"},
		{"no credentials at all", `{"type":"keyed_simulator"}`, "", 422, "parameter_missing", "credentials.api_key"},
		{"mistyped credential", `{"type":"simulator","credentials":{"login":5}}`, "", 422, "parameter_invalid", "credentials.login"},
		{"credential as object", `{"type":"simulator","credentials":{"login":{"v":"x"}}}`, "", 422, "parameter_invalid", "credentials.login"},
		{"credentials not an object", `{"type":"simulator","credentials":"login"}`, "", 422, "parameter_invalid", "credentials"},
		{"duplicate credential", `{"type":"simulator","credentials":{"login":"a","login":"b"}}`, "", 422, "parameter_invalid", "credentials.login"},
		{"mistyped setting", `{"type":"simulator","settings":{"latency_ms":"fast"}}`, "", 422, "parameter_invalid", "settings.latency_ms"},
		{"fractional setting", `{"type":"simulator","settings":{"latency_ms":1.5}}`, "", 422, "parameter_invalid", "settings.latency_ms"},
		{"unknown setting", `{"type":"simulator","settings":{"base_url":"http://x"}}`, "", 422, "parameter_unknown", "settings.base_url"},
		{"live gateway on a test account", `{"type":"simulator","sandbox":false}`, "", 422, "gateway_not_allowed", "sandbox"},
		{"unknown operation", `{"type":"simulator","disabled_operations":["steal"]}`, "", 422, "parameter_invalid", "disabled_operations[0]"},
		{"operations not strings", `{"type":"simulator","disabled_operations":[1]}`, "", 422, "parameter_invalid", "disabled_operations[0]"},
		{"description too long", `{"type":"simulator","description":"` + strings.Repeat("d", 1000) + `"}`, "", 422, "parameter_invalid", "description"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := req{method: "POST", path: "/v1/gateways", key: a.SecretKey, body: tc.body}
			if tc.contentType != "" {
				q.header = map[string]string{"Content-Type": tc.contentType}
			}
			wantError(t, f.do(t, q), tc.status, "invalid_request_error", tc.code, tc.param)
		})
	}
	if got := listData(t, f.get(t, "/v1/gateways", a.SecretKey), "/v1/gateways"); len(got) != 0 {
		t.Errorf("%d gateways after refused requests", len(got))
	}

	// PATCH and PUT refuse the same mistakes, and change nothing.
	id := f.createGateway(t, a.SecretKey)
	for _, tc := range []struct {
		method, path, body string
		status             int
		code, param        string
	}{
		{"PATCH", "", `{"description":`, 400, "malformed_body", "body"},
		{"PATCH", "", `{"type":"keyed_simulator"}`, 422, "parameter_unknown", "type"},
		{"PATCH", "", `{"settings":{"latency_ms":"slow"}}`, 422, "parameter_invalid", "settings.latency_ms"},
		{"PATCH", "", `{"sandbox":false}`, 422, "gateway_not_allowed", "sandbox"},
		{"PATCH", "", `{"disabled_operations":["x"]}`, 422, "parameter_invalid", "disabled_operations[0]"},
		{"PUT", "/credentials", `{"credentials":{"api_key":"x"}}`, 422, "parameter_unknown", "credentials.api_key"},
		{"PUT", "/credentials", `{"credentials":{"password":true}}`, 422, "parameter_invalid", "credentials.password"},
		{"PUT", "/credentials", `{"credentials":{},"extra":1}`, 422, "parameter_unknown", "extra"},
	} {
		res := f.do(t, req{method: tc.method, path: "/v1/gateways/" + id + tc.path, key: a.SecretKey, body: tc.body})
		wantError(t, res, tc.status, "invalid_request_error", tc.code, tc.param)
	}
	res := f.get(t, "/v1/gateways/"+id, a.SecretKey)
	if gw := res.json(t); gw["credentials"].(map[string]any)["version"] != 1.0 || gw["settings"].(map[string]any)["latency_ms"] != 0.0 {
		t.Errorf("refused requests changed the gateway: %s", res.body)
	}
	if n := f.sim.calls.Load(); n != 0 {
		t.Errorf("%d simulator calls", n)
	}
}
