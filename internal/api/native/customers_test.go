package native

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/kassapay/kassa/internal/payment"
)

// createCustomer creates a customer from body and returns its id.
func (f *fixture) createCustomer(t *testing.T, key, body string) string {
	t.Helper()
	res := f.post(t, "/v1/customers", key, body)
	if res.status != http.StatusCreated {
		t.Fatalf("create customer: %d %s", res.status, res.body)
	}
	return res.json(t)["id"].(string)
}

// createCustomerCard vaults the test card for the customer and returns its
// id.
func (f *fixture) createCustomerCard(t *testing.T, key, customer string) string {
	t.Helper()
	body := strings.TrimSuffix(cardBody(pan, cvc), "}") + `,"customer":"` + customer + `"}`
	res := f.post(t, "/v1/payment_methods", key, body)
	if res.status != http.StatusCreated {
		t.Fatalf("create payment method of %s: %d %s", customer, res.status, res.body)
	}
	if got := res.json(t)["customer"]; got != customer {
		t.Fatalf("payment method's customer %v, want %s", got, customer)
	}
	return res.json(t)["id"].(string)
}

func (f *fixture) del(t *testing.T, path, key string) response {
	t.Helper()
	return f.do(t, req{method: "DELETE", path: path, key: key})
}

// keyIDOf returns the id of the account's API key secret.
func (f *fixture) keyIDOf(t *testing.T, key, secret string) string {
	t.Helper()
	for _, k := range listData(t, f.get(t, "/v1/api_keys?limit=100", key), "/v1/api_keys") {
		if strings.HasPrefix(secret, k["prefix"].(string)) {
			return k["id"].(string)
		}
	}
	t.Fatalf("no key has the prefix of %.12s…", secret)
	return ""
}

// eventTypes lists the account's events, newest first, as "type object_id".
func (f *fixture) eventTypes(t *testing.T, key string) []string {
	t.Helper()
	var out []string
	for _, ev := range listData(t, f.get(t, "/v1/events?limit=100", key), "/v1/events") {
		out = append(out, ev["type"].(string)+" "+ev["object_id"].(string))
	}
	return out
}

func TestCustomerLifecycle(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	key := a.SecretKey

	res := f.post(t, "/v1/customers", key, `{"external_id":"crm-17","email":"kari@example.com","name":"Kari Nordmann",`+
		`"phone":"+47 22 00 00 00","metadata":{"tier":"gold","drop":""}}`)
	if res.status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	c := res.json(t)
	want := []string{"id", "object", "external_id", "email", "name", "phone", "metadata", "default_payment_method", "deleted",
		"created_at", "updated_at"}
	if got := keysOf(c); !sameSet(got, want) {
		t.Errorf("customer keys %v, want %v", got, want)
	}
	id := c["id"].(string)
	if !strings.HasPrefix(id, "cus_") || c["object"] != "customer" || c["external_id"] != "crm-17" || c["email"] != "kari@example.com" ||
		c["name"] != "Kari Nordmann" || c["phone"] != "+47 22 00 00 00" || c["default_payment_method"] != nil || c["deleted"] != false {
		t.Errorf("created customer %s", res.body)
	}
	if md := c["metadata"].(map[string]any); len(md) != 1 || md["tier"] != "gold" {
		t.Errorf("metadata %v: an empty value is not kept", md)
	}
	if got := f.get(t, "/v1/customers/"+id, key); got.status != 200 || string(got.body) != string(res.body) {
		t.Errorf("get: %d %s, want %s", got.status, got.body, res.body)
	}

	// Update: fields given change, "" clears, metadata merges, the rest stays.
	res = f.post(t, "/v1/customers/"+id, key, `{"name":"Kari N.","phone":"","metadata":{"tier":"","since":"2026"}}`)
	if res.status != 200 {
		t.Fatalf("update: %d %s", res.status, res.body)
	}
	c = res.json(t)
	if c["name"] != "Kari N." || c["phone"] != nil || c["email"] != "kari@example.com" || c["external_id"] != "crm-17" {
		t.Errorf("updated customer %s", res.body)
	}
	if md := c["metadata"].(map[string]any); len(md) != 1 || md["since"] != "2026" {
		t.Errorf("merged metadata %v", md)
	}

	// Lists: newest first, filtered by email and external_id, paginated.
	other := f.createCustomer(t, key, `{"email":"ola@example.com"}`)
	third := f.createCustomer(t, key, `{"email":"kari@example.com","external_id":"crm-18"}`)
	ids := func(path string) []string {
		t.Helper()
		var out []string
		u, _ := url.Parse(path)
		for _, d := range listData(t, f.get(t, path, key), u.Path) {
			out = append(out, d["id"].(string))
		}
		return out
	}
	for path, want := range map[string][]string{
		"/v1/customers":                                                {third, other, id},
		"/v1/customers?email=kari%40example.com":                       {third, id},
		"/v1/customers?external_id=crm-17":                             {id},
		"/v1/customers?external_id=crm-18&email=ola@example.com":       nil,
		"/v1/customers?limit=1&starting_after=" + third:                {other},
		"/v1/customers?email=kari@example.com&starting_after=" + third: {id},
	} {
		if got := ids(path); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", path, got, want)
		}
	}
	wantError(t, f.get(t, "/v1/customers?email=a@b.c&email=d@e.f", key), 422, "invalid_request_error", "parameter_invalid", "email")

	// Delete: Stripe's answer, then 404 everywhere.
	res = f.del(t, "/v1/customers/"+id, key)
	if res.status != 200 {
		t.Fatalf("delete: %d %s", res.status, res.body)
	}
	if m := res.json(t); len(m) != 3 || m["id"] != id || m["object"] != "customer" || m["deleted"] != true {
		t.Errorf("delete answered %s", res.body)
	}
	for _, q := range []req{
		{method: "GET", path: "/v1/customers/" + id},
		{method: "POST", path: "/v1/customers/" + id, body: `{"name":"x"}`},
		{method: "DELETE", path: "/v1/customers/" + id},
		{method: "GET", path: "/v1/customers/" + id + "/tokens"},
		{method: "POST", path: "/v1/customers/" + id + "/tokens", body: `{"type":"t","value":"v"}`},
		{method: "GET", path: "/v1/customers/" + id + "/payment_methods"},
		{method: "DELETE", path: "/v1/customers/" + id + "/tokens/x"},
	} {
		q.key = key
		wantError(t, f.do(t, q), 404, "invalid_request_error", "resource_missing", "id")
	}
	if got := ids("/v1/customers"); !slices.Equal(got, []string{third, other}) {
		t.Errorf("list after delete: %v", got)
	}
	// The external id is free again.
	f.createCustomer(t, key, `{"external_id":"crm-17"}`)

	evs := f.eventTypes(t, key)
	for _, want := range []string{"customer.created " + id, "customer.updated " + id, "customer.deleted " + id} {
		if !slices.Contains(evs, want) {
			t.Errorf("events %v lack %s", evs, want)
		}
	}
	for _, ev := range listData(t, f.get(t, "/v1/events?limit=100", key), "/v1/events") {
		if ev["type"] == "customer.deleted" {
			if d := ev["data"].(map[string]any); d["deleted"] != true || d["id"] != id || d["object"] != "customer" {
				t.Errorf("customer.deleted data %v", d)
			}
		}
	}
}

// TestCustomerExternalIDRules checks Dintero's rules of customer_id on
// external_id: 1 to 255 characters, no leading or trailing space, unique
// per account.
func TestCustomerExternalIDRules(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b := f.account(t), f.account(t)
	key := a.SecretKey
	long := strings.Repeat("x", 255)
	for name, tc := range map[string]struct {
		v    string
		want int
	}{
		"0 characters":              {"", 422},
		"1 character":               {"a", 201},
		"255 characters":            {long, 201},
		"256 characters":            {long + "y", 422},
		"255 two-byte characters":   {strings.Repeat("ø", 255), 201},
		"256 two-byte characters":   {strings.Repeat("ø", 256), 422},
		"leading space":             {" crm-1", 422},
		"trailing space":            {"crm-1 ", 422},
		"trailing tab":              {"crm-1\t", 422},
		"only a space":              {" ", 422},
		"inner spaces":              {"crm 1 a", 201},
		"control character":         {"crm\x01", 422},
		"no-break space at the end": {"crm-2\u00a0", 422},
	} {
		t.Run(name, func(t *testing.T) {
			res := f.post(t, "/v1/customers", key, `{"external_id":`+quote(tc.v)+`}`)
			if tc.want == 201 {
				if res.status != 201 || res.json(t)["external_id"] != tc.v {
					t.Errorf("%d %s", res.status, res.body)
				}
				return
			}
			wantError(t, res, 422, "invalid_request_error", "parameter_invalid", "external_id")
		})
	}

	first := f.createCustomer(t, key, `{"external_id":"crm-1"}`)
	wantError(t, f.post(t, "/v1/customers", key, `{"external_id":"crm-1"}`), 409, "invalid_request_error", "resource_already_exists", "external_id")
	second := f.createCustomer(t, key, `{"external_id":"crm-2"}`)
	wantError(t, f.post(t, "/v1/customers/"+second, key, `{"external_id":"crm-1"}`), 409, "invalid_request_error", "resource_already_exists", "external_id")
	wantError(t, f.post(t, "/v1/customers/"+second, key, `{"external_id":""}`), 422, "invalid_request_error", "parameter_invalid", "external_id")
	if got := f.get(t, "/v1/customers/"+second, key).json(t)["external_id"]; got != "crm-2" {
		t.Errorf("refused updates changed external_id to %v", got)
	}
	// Re-setting one's own external id is no clash; another account may
	// use it too.
	if res := f.post(t, "/v1/customers/"+first, key, `{"external_id":"crm-1"}`); res.status != 200 {
		t.Errorf("update to its own external_id: %d %s", res.status, res.body)
	}
	f.createCustomer(t, b.SecretKey, `{"external_id":"crm-1"}`)
	// Customers without an external id never clash.
	f.createCustomer(t, key, `{}`)
	f.createCustomer(t, key, `{"external_id":null}`)
}

func TestCustomerBadInput(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	id := f.createCustomer(t, a.SecretKey, `{"name":"Kari"}`)
	before := f.get(t, "/v1/customers/"+id, a.SecretKey).body
	for _, tc := range []struct {
		name, path, body string
		status           int
		code, param      string
	}{
		{"malformed", "/v1/customers", `{"name":`, 400, "malformed_body", "body"},
		{"unknown field", "/v1/customers", `{"nickname":"K"}`, 422, "parameter_unknown", "nickname"},
		{"default_payment_method at create", "/v1/customers", `{"default_payment_method":"pm_1"}`, 422, "parameter_unknown", "default_payment_method"},
		{"email", "/v1/customers", `{"email":"Kari <k@example.com>"}`, 422, "parameter_invalid", "email"},
		{"name too long", "/v1/customers", `{"name":"` + strings.Repeat("n", 201) + `"}`, 422, "parameter_invalid", "name"},
		{"phone too long", "/v1/customers", `{"phone":"` + strings.Repeat("1", 41) + `"}`, 422, "parameter_invalid", "phone"},
		{"metadata value type", "/v1/customers", `{"metadata":{"n":1}}`, 422, "parameter_invalid", "metadata.n"},
		{"name not a string", "/v1/customers", `{"name":7}`, 422, "parameter_invalid", "name"},
		{"update unknown field", "/v1/customers/" + id, `{"deleted":true}`, 422, "parameter_unknown", "deleted"},
		{"update email", "/v1/customers/" + id, `{"email":"nope"}`, 422, "parameter_invalid", "email"},
		{"update external_id spaces", "/v1/customers/" + id, `{"external_id":" x"}`, 422, "parameter_invalid", "external_id"},
		{"unknown default_payment_method", "/v1/customers/" + id, `{"default_payment_method":"pm_nope"}`, 422, "parameter_invalid", "default_payment_method"},
		{"token without type", "/v1/customers/" + id + "/tokens", `{"value":"v"}`, 422, "parameter_missing", "type"},
		{"token without value", "/v1/customers/" + id + "/tokens", `{"type":"t"}`, 422, "parameter_missing", "value"},
		{"token unknown field", "/v1/customers/" + id + "/tokens", `{"type":"t","value":"v","id":"x"}`, 422, "parameter_unknown", "id"},
		{"token value not a string", "/v1/customers/" + id + "/tokens", `{"type":"t","value":1}`, 422, "parameter_invalid", "value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, f.post(t, tc.path, a.SecretKey, tc.body), tc.status, "invalid_request_error", tc.code, tc.param)
		})
	}
	if after := f.get(t, "/v1/customers/"+id, a.SecretKey).body; string(after) != string(before) {
		t.Errorf("refused requests changed the customer: %s, before %s", after, before)
	}
	if toks := listData(t, f.get(t, "/v1/customers/"+id+"/tokens", a.SecretKey), "/v1/customers/"+id+"/tokens"); len(toks) != 0 {
		t.Errorf("refused requests made tokens: %v", toks)
	}
	if n := len(listData(t, f.get(t, "/v1/customers", a.SecretKey), "/v1/customers")); n != 1 {
		t.Errorf("%d customers after refused creates, want 1", n)
	}
}

// TestCustomerTokens checks Dintero's token rules: type and value at least
// one character, token_id 1 to 255 characters without leading or trailing
// spaces, generated when absent, unique per customer; soft deletes kept and
// shown with who deleted.
func TestCustomerTokens(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	key := a.SecretKey
	keyID := f.keyIDOf(t, key, key)
	cus := f.createCustomer(t, key, `{"name":"Kari"}`)
	other := f.createCustomer(t, key, `{"name":"Ola"}`)
	tokens := "/v1/customers/" + cus + "/tokens"

	res := f.post(t, tokens, key, `{"type":"sha1:email","value":"5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8","token_id":"email-1","metadata":{"src":"app"}}`)
	if res.status != 201 {
		t.Fatalf("create token: %d %s", res.status, res.body)
	}
	tok := res.json(t)
	want := []string{"id", "object", "customer", "token_id", "type", "value", "metadata", "created_at", "created_by",
		"updated_at", "updated_by", "deleted_at", "deleted_by"}
	if got := keysOf(tok); !sameSet(got, want) {
		t.Errorf("token keys %v, want %v", got, want)
	}
	if !strings.HasPrefix(tok["id"].(string), "ctok_") || tok["object"] != "customer_token" || tok["customer"] != cus ||
		tok["token_id"] != "email-1" || tok["type"] != "sha1:email" || tok["created_by"] != keyID || tok["updated_by"] != keyID ||
		tok["deleted_at"] != nil || tok["deleted_by"] != nil {
		t.Errorf("token %s (key %s)", res.body, keyID)
	}

	// Generated token_id.
	res = f.post(t, tokens, key, `{"type":"t","value":"v"}`)
	if res.status != 201 {
		t.Fatalf("create token without token_id: %d %s", res.status, res.body)
	}
	if gen, _ := res.json(t)["token_id"].(string); len(gen) != 32 {
		t.Errorf("generated token_id %q", gen)
	}

	long := strings.Repeat("t", 255)
	for name, tc := range map[string]struct {
		body        string
		status      int
		code, param string
	}{
		"type of 1":        {`{"type":"t","value":"v","token_id":"a1"}`, 201, "", ""},
		"type of 0":        {`{"type":"","value":"v"}`, 422, "parameter_missing", "type"},
		"value of 0":       {`{"type":"t","value":""}`, 422, "parameter_missing", "value"},
		"token_id of 0":    {`{"type":"t","value":"v","token_id":""}`, 422, "parameter_invalid", "token_id"},
		"token_id of 1":    {`{"type":"t","value":"v","token_id":"b"}`, 201, "", ""},
		"token_id of 255":  {`{"type":"t","value":"v","token_id":"` + long + `"}`, 201, "", ""},
		"token_id of 256":  {`{"type":"t","value":"v","token_id":"` + long + `u"}`, 422, "parameter_invalid", "token_id"},
		"leading space":    {`{"type":"t","value":"v","token_id":" c"}`, 422, "parameter_invalid", "token_id"},
		"trailing space":   {`{"type":"t","value":"v","token_id":"c "}`, 422, "parameter_invalid", "token_id"},
		"duplicate":        {`{"type":"t","value":"v","token_id":"email-1"}`, 409, "resource_already_exists", "token_id"},
		"type too long":    {`{"type":"` + strings.Repeat("t", 256) + `","value":"v"}`, 422, "parameter_invalid", "type"},
		"value too long":   {`{"type":"t","value":"` + strings.Repeat("v", 2049) + `"}`, 422, "parameter_invalid", "value"},
		"metadata too big": {`{"type":"t","value":"v","metadata":{"k":"` + strings.Repeat("v", 501) + `"}}`, 422, "parameter_invalid", "metadata.k"},
	} {
		t.Run(name, func(t *testing.T) {
			res := f.post(t, tokens, key, tc.body)
			if tc.status == 201 {
				if res.status != 201 {
					t.Errorf("%d %s", res.status, res.body)
				}
				return
			}
			wantError(t, res, tc.status, "invalid_request_error", tc.code, tc.param)
		})
	}
	// The same token_id on another customer is fine.
	if res := f.post(t, "/v1/customers/"+other+"/tokens", key, `{"type":"t","value":"v","token_id":"email-1"}`); res.status != 201 {
		t.Errorf("same token_id on another customer: %d %s", res.status, res.body)
	}

	// Soft delete, by another key: kept and shown with who deleted it.
	res = f.post(t, "/v1/api_keys", key, `{"type":"secret"}`)
	if res.status != 201 {
		t.Fatalf("create key: %d %s", res.status, res.body)
	}
	key2, key2ID := res.json(t)["secret"].(string), res.json(t)["id"].(string)
	res = f.del(t, tokens+"/email-1", key2)
	if res.status != 200 {
		t.Fatalf("delete token: %d %s", res.status, res.body)
	}
	del := res.json(t)
	if del["id"] != tok["id"] || del["deleted_by"] != key2ID || del["updated_by"] != key2ID || del["created_by"] != keyID || del["deleted_at"] == nil {
		t.Errorf("deleted token %s", res.body)
	}
	list := listData(t, f.get(t, tokens+"?limit=100", key), tokens)
	if len(list) != 5 {
		t.Fatalf("%d tokens listed, want 5", len(list))
	}
	shown := list[len(list)-1] // oldest last
	if shown["id"] != tok["id"] || shown["deleted_by"] != key2ID || shown["deleted_at"] != del["deleted_at"] {
		t.Errorf("deleted token listed as %v", shown)
	}
	wantError(t, f.del(t, tokens+"/email-1", key), 404, "invalid_request_error", "resource_missing", "token_id")
	wantError(t, f.del(t, tokens+"/nope", key), 404, "invalid_request_error", "resource_missing", "token_id")
	// Deleted, its token_id is free again; a token_id with a slash is
	// addressed percent-encoded.
	if res := f.post(t, tokens, key, `{"type":"t","value":"v","token_id":"email-1"}`); res.status != 201 {
		t.Errorf("re-create a deleted token_id: %d %s", res.status, res.body)
	}
	if res := f.post(t, tokens, key, `{"type":"t","value":"v","token_id":"a/b c"}`); res.status != 201 {
		t.Fatalf("token_id with a slash: %d %s", res.status, res.body)
	}
	if res := f.del(t, tokens+"/"+url.PathEscape("a/b c"), key); res.status != 200 || res.json(t)["token_id"] != "a/b c" {
		t.Errorf("delete an escaped token_id: %d %s", res.status, res.body)
	}

	// Pagination, newest first.
	page := f.get(t, tokens+"?limit=2", key).json(t)
	data := page["data"].([]any)
	if len(data) != 2 || page["has_more"] != true {
		t.Fatalf("first page %v", page)
	}
	next := listData(t, f.get(t, tokens+"?limit=100&starting_after="+data[1].(map[string]any)["id"].(string), key), tokens)
	if len(next) != 5 {
		t.Errorf("%d tokens after the first page, want 5", len(next))
	}

	evs := f.eventTypes(t, key)
	if !slices.Contains(evs, "customer.token_created "+tok["id"].(string)) || !slices.Contains(evs, "customer.token_deleted "+tok["id"].(string)) {
		t.Errorf("events %v lack the token's", evs)
	}
}

func TestCustomerPaymentMethodsAndPayments(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	key := a.SecretKey
	gw := f.createGateway(t, key)
	cus := f.createCustomer(t, key, `{"name":"Kari"}`)
	other := f.createCustomer(t, key, `{"name":"Ola"}`)
	pm := f.createCustomerCard(t, key, cus)
	loose := f.createPM(t, key)
	if got := f.get(t, "/v1/payment_methods/"+loose, key).json(t)["customer"]; got != nil {
		t.Errorf("payment method without customer shows %v", got)
	}

	withCustomer := func(c string) string {
		return strings.TrimSuffix(cardBody(pan, cvc), "}") + `,"customer":` + quote(c) + `}`
	}
	wantError(t, f.post(t, "/v1/payment_methods", key, withCustomer("cus_nope")), 404, "invalid_request_error", "resource_missing", "customer")
	wantError(t, f.post(t, "/v1/payment_methods", key, withCustomer(pan)), 404, "invalid_request_error", "resource_missing", "customer")
	wantError(t, f.post(t, "/v1/payment_methods", a.PublishableKey, withCustomer(cus)), 403, "permission_error", "insufficient_scope", "customer")

	path := "/v1/customers/" + cus + "/payment_methods"
	pm2 := f.createCustomerCard(t, key, cus)
	got := listData(t, f.get(t, path, key), path)
	if len(got) != 2 || got[0]["id"] != pm2 || got[1]["id"] != pm {
		t.Errorf("customer's payment methods %v, want %s, %s", got, pm2, pm)
	}
	if got := listData(t, f.get(t, path+"?limit=1&starting_after="+pm2, key), path); len(got) != 1 || got[0]["id"] != pm {
		t.Errorf("second page %v", got)
	}
	if got := listData(t, f.get(t, "/v1/customers/"+other+"/payment_methods", key), "/v1/customers/"+other+"/payment_methods"); len(got) != 0 {
		t.Errorf("another customer lists %v", got)
	}

	// Payments: the customer given, or the payment method's.
	body := func(pm, customer string) string {
		b := strings.TrimSuffix(paymentBody(pm, gw, 1000, true), "}")
		if customer != "" {
			b += `,"customer":` + quote(customer)
		}
		return b + "}"
	}
	if p := f.createPayment(t, key, body(pm, cus)); p["customer"] != cus {
		t.Errorf("payment's customer %v, want %s", p["customer"], cus)
	}
	if p := f.createPayment(t, key, body(pm2, "")); p["customer"] != cus {
		t.Errorf("payment on a customer's card: customer %v, want %s", p["customer"], cus)
	}
	if p := f.createPayment(t, key, body(loose, other)); p["customer"] != other {
		t.Errorf("payment for a customer on a loose card: customer %v, want %s", p["customer"], other)
	}
	if p := f.createPayment(t, key, body(loose, "")); p["customer"] != nil {
		t.Errorf("payment without customer: %v", p["customer"])
	}
	calls := f.sim.calls.Load()
	wantError(t, f.post(t, "/v1/payments", key, body(pm, other)), 422, "invalid_request_error", "parameter_invalid", "customer")
	wantError(t, f.post(t, "/v1/payments", key, body(pm, "cus_nope")), 404, "invalid_request_error", "resource_missing", "customer")
	if n := f.sim.calls.Load() - calls; n != 0 {
		t.Errorf("refused payments made %d gateway calls", n)
	}

	// default_payment_method: only the customer's own payment methods.
	wantError(t, f.post(t, "/v1/customers/"+cus, key, `{"default_payment_method":"`+loose+`"}`), 422, "invalid_request_error", "parameter_invalid", "default_payment_method")
	wantError(t, f.post(t, "/v1/customers/"+other, key, `{"default_payment_method":"`+pm+`"}`), 422, "invalid_request_error", "parameter_invalid", "default_payment_method")
	if res := f.post(t, "/v1/customers/"+cus, key, `{"default_payment_method":"`+pm+`"}`); res.status != 200 || res.json(t)["default_payment_method"] != pm {
		t.Errorf("set default_payment_method: %d %s", res.status, res.body)
	}
	if res := f.post(t, "/v1/customers/"+cus, key, `{"default_payment_method":""}`); res.status != 200 || res.json(t)["default_payment_method"] != nil {
		t.Errorf("unset default_payment_method: %d %s", res.status, res.body)
	}
	if res := f.post(t, "/v1/payment_methods/"+pm2+"/redact", key, ``); res.status != 200 {
		t.Fatalf("redact: %d %s", res.status, res.body)
	}
	wantError(t, f.post(t, "/v1/customers/"+cus, key, `{"default_payment_method":"`+pm2+`"}`), 422, "invalid_request_error", "parameter_invalid", "default_payment_method")
}

// TestCustomerDeleteRedactsCards: deleting a customer redacts its payment
// methods as POST /v1/payment_methods/{id}/redact does, deletes its tokens
// and leaves its payments readable.
func TestCustomerDeleteRedactsCards(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	key := a.SecretKey
	keyID := f.keyIDOf(t, key, key)
	gw := f.createGateway(t, key)
	cus := f.createCustomer(t, key, `{"name":"Kari","external_id":"crm-1"}`)
	pm := f.createCustomerCard(t, key, cus)
	retained := f.createCustomerCard(t, key, cus)
	if res := f.post(t, "/v1/payment_methods/"+retained+"/retain", key, ``); res.status != 200 {
		t.Fatalf("retain: %d %s", res.status, res.body)
	}
	loose := f.createPM(t, key)
	pay := f.createPayment(t, key, paymentBody(pm, gw, 1000, false))["id"].(string)
	tok := f.post(t, "/v1/customers/"+cus+"/tokens", key, `{"type":"t","value":"v","token_id":"x"}`).json(t)["id"].(string)
	looseBefore := f.get(t, "/v1/payment_methods/"+loose, key).body

	if res := f.del(t, "/v1/customers/"+cus, key); res.status != 200 {
		t.Fatalf("delete: %d %s", res.status, res.body)
	}
	for _, id := range []string{pm, retained} {
		m := f.get(t, "/v1/payment_methods/"+id, key).json(t)
		if m["storage_state"] != "redacted" || m["redacted_at"] == nil || m["customer"] != cus {
			t.Errorf("payment method %s of the deleted customer: %v", id, m)
		}
	}
	if after := f.get(t, "/v1/payment_methods/"+loose, key).body; string(after) != string(looseBefore) {
		t.Errorf("a payment method of no customer changed: %s", after)
	}
	res := f.get(t, "/v1/payments/"+pay, key)
	if res.status != 200 || res.json(t)["customer"] != cus || res.json(t)["status"] != "AUTHORIZED" {
		t.Errorf("payment of the deleted customer: %d %s", res.status, res.body)
	}
	// The card is gone for payments; the customer for new ones.
	wantError(t, f.post(t, "/v1/payments", key, paymentBody(pm, gw, 1000, true)), 409, "invalid_request_error", "invalid_state", "payment_method")
	wantError(t, f.post(t, "/v1/payment_methods", key, strings.TrimSuffix(cardBody(pan, cvc), "}")+`,"customer":"`+cus+`"}`),
		404, "invalid_request_error", "resource_missing", "customer")

	// Events: each card redacted, the token deleted by the caller's key,
	// then the customer, newest first.
	evs := listData(t, f.get(t, "/v1/events?limit=4", key), "/v1/events")
	var got []string
	for _, ev := range evs {
		got = append(got, ev["type"].(string)+" "+ev["object_id"].(string))
	}
	want := []string{"customer.deleted " + cus, "customer.token_deleted " + tok, "payment_method.redacted " + retained, "payment_method.redacted " + pm}
	if !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	if d := evs[1]["data"].(map[string]any); d["deleted_by"] != keyID || d["deleted_at"] == nil {
		t.Errorf("token_deleted data %v, want deleted by %s", d, keyID)
	}
	if d := evs[2]["data"].(map[string]any); d["storage_state"] != "redacted" {
		t.Errorf("payment_method.redacted data %v", d)
	}
}

// TestCustomerIsolation: every customer route answers 404 for another
// account's ids, and another account's customer cannot be named.
func TestCustomerIsolation(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b := f.account(t), f.account(t)
	cus := f.createCustomer(t, a.SecretKey, `{"name":"Kari","external_id":"crm-1","email":"kari@example.com"}`)
	pmA := f.createCustomerCard(t, a.SecretKey, cus)
	f.post(t, "/v1/customers/"+cus+"/tokens", a.SecretKey, `{"type":"t","value":"v","token_id":"x"}`)
	before := f.get(t, "/v1/customers/"+cus, a.SecretKey).body

	for _, q := range []req{
		{method: "GET", path: "/v1/customers/" + cus},
		{method: "POST", path: "/v1/customers/" + cus, body: `{"name":"Mallory"}`},
		{method: "DELETE", path: "/v1/customers/" + cus},
		{method: "GET", path: "/v1/customers/" + cus + "/payment_methods"},
		{method: "GET", path: "/v1/customers/" + cus + "/tokens"},
		{method: "POST", path: "/v1/customers/" + cus + "/tokens", body: `{"type":"t","value":"v"}`},
		{method: "DELETE", path: "/v1/customers/" + cus + "/tokens/x"},
	} {
		q.key = b.SecretKey
		t.Run(q.method+" "+q.path, func(t *testing.T) {
			wantError(t, f.do(t, q), 404, "invalid_request_error", "resource_missing", "id")
		})
	}
	wantError(t, f.get(t, "/v1/customers?starting_after="+cus, b.SecretKey), 404, "invalid_request_error", "resource_missing", "starting_after")
	for _, path := range []string{"/v1/customers", "/v1/customers?external_id=crm-1", "/v1/customers?email=kari@example.com"} {
		if got := listData(t, f.get(t, path, b.SecretKey), "/v1/customers"); len(got) != 0 {
			t.Errorf("B's %s shows %v", path, got)
		}
	}
	// B can neither attach a card nor a payment to A's customer, nor make A's
	// card its default.
	wantError(t, f.post(t, "/v1/payment_methods", b.SecretKey, strings.TrimSuffix(cardBody(pan, cvc), "}")+`,"customer":"`+cus+`"}`),
		404, "invalid_request_error", "resource_missing", "customer")
	gwB := f.createGateway(t, b.SecretKey)
	pmB := f.createPM(t, b.SecretKey)
	wantError(t, f.post(t, "/v1/payments", b.SecretKey, strings.TrimSuffix(paymentBody(pmB, gwB, 1000, true), "}")+`,"customer":"`+cus+`"}`),
		404, "invalid_request_error", "resource_missing", "customer")
	cusB := f.createCustomer(t, b.SecretKey, `{}`)
	wantError(t, f.post(t, "/v1/customers/"+cusB, b.SecretKey, `{"default_payment_method":"`+pmA+`"}`), 422, "invalid_request_error", "parameter_invalid", "default_payment_method")

	// Nothing of A's changed.
	if after := f.get(t, "/v1/customers/"+cus, a.SecretKey).body; string(after) != string(before) {
		t.Errorf("A's customer changed: %s", after)
	}
	toks := listData(t, f.get(t, "/v1/customers/"+cus+"/tokens", a.SecretKey), "/v1/customers/"+cus+"/tokens")
	if len(toks) != 1 || toks[0]["deleted_at"] != nil {
		t.Errorf("A's tokens %v", toks)
	}
	if m := f.get(t, "/v1/payment_methods/"+pmA, a.SecretKey).json(t); m["storage_state"] != "cached" {
		t.Errorf("A's card %v", m)
	}
}

// TestRedactionsNameTheirKey: redacting a payment method or a gateway
// through the API records the key that did it on the event, as every
// other change of the audit trail does.
func TestRedactionsNameTheirKey(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	key := a.SecretKey
	keyID := f.keyIDOf(t, key, key)
	gw := f.createGateway(t, key)
	pm := f.createPM(t, key)
	for _, path := range []string{"/v1/payment_methods/" + pm + "/redact", "/v1/gateways/" + gw + "/redact"} {
		if res := f.post(t, path, key, ``); res.status != 200 {
			t.Fatalf("POST %s: %d %s", path, res.status, res.body)
		}
	}
	for id, typ := range map[string]string{pm: "payment_method.redacted", gw: "gateway.redacted"} {
		evs, _, err := f.store.ObjectEvents(context.Background(), a.Account.ID, id, payment.ListParams{Limit: 1})
		if err != nil || len(evs) != 1 {
			t.Fatalf("events of %s: %v %v", id, evs, err)
		}
		if evs[0].Type != typ || evs[0].Actor != keyID {
			t.Errorf("newest event of %s: %s by %q, want %s by %s", id, evs[0].Type, evs[0].Actor, typ, keyID)
		}
	}
}
