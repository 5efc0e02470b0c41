package native

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/api"
)

func TestPaymentMethodLifecycle(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)

	res := f.post(t, "/v1/payment_methods", a.SecretKey, cardBody(pan, cvc))
	if res.status != http.StatusCreated || res.header.Get("Content-Type") != "application/json" {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	pm := res.json(t)
	wantKeys := []string{"id", "object", "type", "card", "billing_address", "email", "storage_state", "customer", "test",
		"metadata", "created_at", "updated_at", "redacted_at"}
	if got := keysOf(pm); !sameSet(got, wantKeys) {
		t.Errorf("payment method keys %v, want %v", got, wantKeys)
	}
	card := pm["card"].(map[string]any)
	if got, want := keysOf(card), []string{"brand", "first6", "last4", "exp_month", "exp_year", "holder_name", "fingerprint"}; !sameSet(got, want) {
		t.Errorf("card keys %v, want %v", got, want)
	}
	addr := pm["billing_address"].(map[string]any)
	if got, want := keysOf(addr), []string{"line1", "line2", "city", "postal_code", "state", "country"}; !sameSet(got, want) {
		t.Errorf("address keys %v, want %v", got, want)
	}
	id := pm["id"].(string)
	if !strings.HasPrefix(id, "pm_") || pm["object"] != "payment_method" || pm["type"] != "card" ||
		pm["storage_state"] != "cached" || pm["test"] != true || pm["email"] != "kari@example.com" ||
		pm["redacted_at"] != nil || pm["metadata"].(map[string]any)["order"] != "A-17" {
		t.Errorf("created %s", res.body)
	}
	if card["brand"] != "visa" || card["first6"] != "400005" || card["last4"] != "5556" ||
		card["exp_month"] != 12.0 || card["exp_year"] != 2031.0 || card["holder_name"] != "Kari Nordmann" || card["fingerprint"] == "" {
		t.Errorf("card %v", card)
	}
	if addr["city"] != "Oslo" || addr["country"] != "NO" || addr["line2"] != "" {
		t.Errorf("address %v", addr)
	}

	res = f.get(t, "/v1/payment_methods/"+id, a.SecretKey)
	if res.status != 200 || res.json(t)["id"] != id {
		t.Fatalf("get: %d %s", res.status, res.body)
	}

	res = f.post(t, "/v1/payment_methods/"+id, a.SecretKey,
		`{"card":{"exp_month":"03","exp_year":2032,"holder_name":"K. Nordmann"},"billing_address":{"line1":"Kirkegata 2","city":"Bergen","country":"NO"},"email":"k@example.no","metadata":{"order":"","note":"vip"}}`)
	if res.status != 200 {
		t.Fatalf("update: %d %s", res.status, res.body)
	}
	pm = res.json(t)
	card = pm["card"].(map[string]any)
	if card["exp_month"] != 3.0 || card["exp_year"] != 2032.0 || card["holder_name"] != "K. Nordmann" ||
		pm["billing_address"].(map[string]any)["city"] != "Bergen" || pm["email"] != "k@example.no" ||
		fmt.Sprint(pm["metadata"]) != "map[note:vip]" {
		t.Errorf("updated %s", res.body)
	}
	// An update names only what changes.
	res = f.post(t, "/v1/payment_methods/"+id, a.SecretKey, `{"metadata":{"x":"1"}}`)
	if res.status != 200 || res.json(t)["card"].(map[string]any)["exp_year"] != 2032.0 {
		t.Fatalf("partial update: %d %s", res.status, res.body)
	}
	// The number is not a field of an update.
	wantError(t, f.post(t, "/v1/payment_methods/"+id, a.SecretKey, `{"card":{"number":"4242424242424242"}}`),
		422, "invalid_request_error", "parameter_unknown", "card.number")
	wantError(t, f.post(t, "/v1/payment_methods/"+id, a.SecretKey, `{"card":{"exp_month":13}}`),
		422, "card_error", "invalid_expiry_month", "card.exp_month")

	for _, step := range []struct{ path, state string }{
		{"/retain", "retained"}, {"/retain", "retained"}, {"/redact", "redacted"}, {"/redact", "redacted"},
	} {
		res = f.do(t, req{method: "POST", path: "/v1/payment_methods/" + id + step.path, key: a.SecretKey})
		if res.status != 200 || res.json(t)["storage_state"] != step.state {
			t.Fatalf("%s: %d %s", step.path, res.status, res.body)
		}
	}
	if res.json(t)["redacted_at"] == nil {
		t.Error("redacted_at not set")
	}
	wantError(t, f.do(t, req{method: "POST", path: "/v1/payment_methods/" + id + "/retain", key: a.SecretKey}),
		409, "invalid_request_error", "invalid_state", "")
	wantError(t, f.post(t, "/v1/payment_methods/"+id, a.SecretKey, `{"email":"x@example.com"}`),
		409, "invalid_request_error", "invalid_state", "")

	res = f.get(t, "/v1/events", a.SecretKey)
	if res.status != 200 {
		t.Fatalf("events: %d %s", res.status, res.body)
	}
	list := res.json(t)
	if list["object"] != "list" || list["url"] != "/v1/events" || list["has_more"] != false {
		t.Errorf("events list %s", res.body)
	}
	var types []string
	for _, e := range list["data"].([]any) {
		ev := e.(map[string]any)
		if got, want := keysOf(ev), []string{"id", "object", "type", "object_id", "data", "created_at"}; !sameSet(got, want) {
			t.Errorf("event keys %v", got)
		}
		if ev["object"] != "event" || ev["object_id"] != id || !strings.HasPrefix(ev["id"].(string), "evt_") {
			t.Errorf("event %v", ev)
		}
		types = append(types, ev["type"].(string))
	}
	want := []string{"payment_method.redacted", "payment_method.retained", "payment_method.updated",
		"payment_method.updated", "payment_method.created"}
	if !slices.Equal(types, want) {
		t.Errorf("event types %v, want %v", types, want)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestCreatePaymentMethodMinimal(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	res := f.post(t, "/v1/payment_methods", a.SecretKey,
		`{"type":"card","card":{"number":"3782 8224 6310 005","exp_month":"7","exp_year":"2030"},"retain":true}`)
	if res.status != 201 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	pm := res.json(t)
	card := pm["card"].(map[string]any)
	if pm["billing_address"] != nil || pm["email"] != nil || fmt.Sprint(pm["metadata"]) != "map[]" ||
		pm["storage_state"] != "retained" || card["brand"] != "american_express" || card["exp_month"] != 7.0 || card["exp_year"] != 2030.0 {
		t.Errorf("%s", res.body)
	}
}

func TestListPagination(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	var ids []string
	for range 5 {
		ids = append(ids, f.createPM(t, a.SecretKey))
		f.clock.Add(time.Second) // distinct creation times: newest first is well defined
	}
	slices.Reverse(ids)

	var got []string
	after := ""
	for page := 0; ; page++ {
		path := "/v1/payment_methods?limit=2"
		if after != "" {
			path += "&starting_after=" + after
		}
		res := f.get(t, path, a.SecretKey)
		if res.status != 200 {
			t.Fatalf("page %d: %d %s", page, res.status, res.body)
		}
		l := res.json(t)
		if got, want := keysOf(l), []string{"object", "data", "has_more", "url"}; !sameSet(got, want) || l["object"] != "list" || l["url"] != "/v1/payment_methods" {
			t.Fatalf("list %s", res.body)
		}
		data := l["data"].([]any)
		for _, d := range data {
			got = append(got, d.(map[string]any)["id"].(string))
		}
		more := l["has_more"].(bool)
		if wantMore := page < 2; more != wantMore {
			t.Fatalf("page %d has_more %v", page, more)
		}
		if !more {
			break
		}
		after = got[len(got)-1]
	}
	if !slices.Equal(got, ids) {
		t.Errorf("pages gave %v, want %v", got, ids)
	}

	res := f.get(t, "/v1/payment_methods", a.SecretKey)
	if n := len(res.json(t)["data"].([]any)); n != 5 {
		t.Errorf("default page has %d", n)
	}
	res = f.get(t, "/v1/events?limit=1", a.SecretKey)
	if l := res.json(t); len(l["data"].([]any)) != 1 || l["has_more"] != true {
		t.Errorf("events limit=1: %s", res.body)
	}
	for _, q := range []string{"limit=0", "limit=101", "limit=x", "limit=-1", "limit=1.5"} {
		wantError(t, f.get(t, "/v1/payment_methods?"+q, a.SecretKey), 422, "invalid_request_error", "parameter_invalid", "limit")
		wantError(t, f.get(t, "/v1/events?"+q, a.SecretKey), 422, "invalid_request_error", "parameter_invalid", "limit")
	}
	wantError(t, f.get(t, "/v1/payment_methods?starting_after=pm_nope", a.SecretKey), 404, "invalid_request_error", "resource_missing", "starting_after")

	// An empty list is a list.
	b := f.account(t)
	res = f.get(t, "/v1/payment_methods", b.SecretKey)
	if strings.TrimSpace(string(res.body)) != `{"object":"list","data":[],"has_more":false,"url":"/v1/payment_methods"}` {
		t.Errorf("empty list %s", res.body)
	}
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)

	res := f.get(t, "/v1/api_keys", a.SecretKey)
	l := res.json(t)
	if res.status != 200 || l["url"] != "/v1/api_keys" || len(l["data"].([]any)) != 2 {
		t.Fatalf("list: %d %s", res.status, res.body)
	}
	for _, k := range l["data"].([]any) {
		key := k.(map[string]any)
		if got, want := keysOf(key), []string{"id", "object", "type", "prefix", "created_at", "expires_at", "revoked_at",
			"last_used_at"}; !sameSet(got, want) {
			t.Errorf("key fields %v", got)
		}
		if len(key["prefix"].(string)) != 16 || key["object"] != "api_key" {
			t.Errorf("key %v", key)
		}
	}
	if strings.Contains(string(res.body), a.SecretKey) || strings.Contains(string(res.body), a.PublishableKey) {
		t.Fatal("list shows a secret")
	}
	// The list was a use of the secret key, written once flushed; the
	// publishable key was never used.
	listedAt := f.clock.Now()
	if n := f.eng.FlushKeyUses(t.Context()); n != 1 {
		t.Errorf("flushed %d key uses, want 1", n)
	}
	for _, k := range f.get(t, "/v1/api_keys", a.SecretKey).json(t)["data"].([]any) {
		key := k.(map[string]any)
		used, _ := key["last_used_at"].(string)
		at, err := time.Parse(time.RFC3339Nano, used)
		switch {
		case strings.HasPrefix(key["prefix"].(string), "pk_"):
			if key["last_used_at"] != nil {
				t.Errorf("the unused publishable key was last used %v", key["last_used_at"])
			}
		case err != nil || at.After(listedAt) || at.Before(listedAt.Add(-time.Second)):
			t.Errorf("the secret key was last used %v, want the time of the list (%s)", key["last_used_at"], listedAt)
		}
	}

	res = f.post(t, "/v1/api_keys", a.SecretKey, `{"type":"secret"}`)
	if res.status != 201 {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	k := res.json(t)
	newSecret, _ := k["secret"].(string)
	if !strings.HasPrefix(newSecret, "sk_test_") || k["type"] != "secret" || k["prefix"] != newSecret[:16] {
		t.Fatalf("created %s", res.body)
	}
	if res := f.get(t, "/v1/account", newSecret); res.status != 200 {
		t.Fatalf("new key: %d %s", res.status, res.body)
	}
	res = f.post(t, "/v1/api_keys", a.SecretKey, `{"type":"publishable"}`)
	if res.status != 201 || !strings.HasPrefix(res.json(t)["secret"].(string), "pk_test_") {
		t.Fatalf("create publishable: %d %s", res.status, res.body)
	}
	wantError(t, f.post(t, "/v1/api_keys", a.SecretKey, `{}`), 422, "invalid_request_error", "parameter_missing", "type")
	wantError(t, f.post(t, "/v1/api_keys", a.SecretKey, `{"type":"root"}`), 422, "invalid_request_error", "parameter_invalid", "type")

	// Roll with a grace period: both keys work until it ends.
	keyID := k["id"].(string)
	res = f.post(t, "/v1/api_keys/"+keyID+"/roll", a.SecretKey, `{"expires_in":3600}`)
	if res.status != 200 {
		t.Fatalf("roll: %d %s", res.status, res.body)
	}
	rolled := res.json(t)["secret"].(string)
	if !strings.HasPrefix(rolled, "sk_test_") || rolled == newSecret {
		t.Fatalf("rolled %s", res.body)
	}
	for _, key := range []string{newSecret, rolled} {
		if res := f.get(t, "/v1/account", key); res.status != 200 {
			t.Fatalf("during grace: %d %s", res.status, res.body)
		}
	}
	f.clock.Add(time.Hour + time.Second)
	wantError(t, f.get(t, "/v1/account", newSecret), 401, "authentication_error", "invalid_api_key", "")
	if res := f.get(t, "/v1/account", rolled); res.status != 200 {
		t.Fatalf("rolled key after grace: %d %s", res.status, res.body)
	}
	// A rolled-away key cannot be rolled again.
	wantError(t, f.post(t, "/v1/api_keys/"+keyID+"/roll", a.SecretKey, `{}`), 404, "invalid_request_error", "resource_missing", "id")
	for _, body := range []string{`{"expires_in":-1}`, `{"expires_in":604801}`, `{"expires_in":9223372036854775807}`, `{"expires_in":"soon"}`} {
		wantError(t, f.post(t, "/v1/api_keys/"+keyID+"/roll", a.SecretKey, body), 422, "invalid_request_error", "parameter_invalid", "expires_in")
	}

	// Roll without a body revokes the old key at once.
	res = f.post(t, "/v1/api_keys", a.SecretKey, `{"type":"secret"}`)
	third := res.json(t)
	res = f.do(t, req{method: "POST", path: "/v1/api_keys/" + third["id"].(string) + "/roll", key: a.SecretKey})
	if res.status != 200 {
		t.Fatalf("roll without body: %d %s", res.status, res.body)
	}
	wantError(t, f.get(t, "/v1/account", third["secret"].(string)), 401, "authentication_error", "invalid_api_key", "")

	// Revoke.
	res = f.do(t, req{method: "POST", path: "/v1/api_keys/" + rolledID(t, f, a.SecretKey, rolled) + "/revoke", key: a.SecretKey})
	if res.status != 200 || res.json(t)["revoked_at"] == nil || res.json(t)["secret"] != nil {
		t.Fatalf("revoke: %d %s", res.status, res.body)
	}
	wantError(t, f.get(t, "/v1/account", rolled), 401, "authentication_error", "invalid_api_key", "")
	wantError(t, f.do(t, req{method: "POST", path: "/v1/api_keys/key_nope/revoke", key: a.SecretKey}), 404, "invalid_request_error", "resource_missing", "id")
}

// rolledID finds the id of the key whose secret is secret.
func rolledID(t *testing.T, f *fixture, admin, secret string) string {
	t.Helper()
	for _, k := range f.get(t, "/v1/api_keys", admin).json(t)["data"].([]any) {
		key := k.(map[string]any)
		if key["prefix"] == secret[:16] {
			return key["id"].(string)
		}
	}
	t.Fatal("key not listed")
	return ""
}

func TestAccount(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	res := f.get(t, "/v1/account", a.SecretKey)
	m := res.json(t)
	if res.status != 200 || m["id"] != a.Account.ID || m["object"] != "account" || m["name"] != "Fjord Bikes AS" || m["live"] != false {
		t.Fatalf("%d %s", res.status, res.body)
	}
	if got, want := keysOf(m), []string{"id", "object", "name", "live", "ixopay_merchant_guid", "dintero_account_id", "checkout_embed_origins", "created_at"}; !sameSet(got, want) {
		t.Errorf("keys %v", got)
	}
	if m["ixopay_merchant_guid"] != "ME-"+a.Account.ID {
		t.Errorf("ixopay_merchant_guid %v", m["ixopay_merchant_guid"])
	}
	if m["dintero_account_id"] != a.Account.ID {
		t.Errorf("dintero_account_id %v", m["dintero_account_id"])
	}
}

func TestAccountIsolation(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b := f.account(t), f.account(t)
	pmA := f.createPM(t, a.SecretKey)
	keysA := f.get(t, "/v1/api_keys", a.SecretKey).json(t)["data"].([]any)
	keyA := keysA[0].(map[string]any)["id"].(string)

	for _, q := range []req{
		{method: "GET", path: "/v1/payment_methods/" + pmA},
		{method: "POST", path: "/v1/payment_methods/" + pmA, body: `{"metadata":{"stolen":"yes"}}`},
		{method: "POST", path: "/v1/payment_methods/" + pmA + "/retain"},
		{method: "POST", path: "/v1/payment_methods/" + pmA + "/redact"},
		{method: "POST", path: "/v1/api_keys/" + keyA + "/roll", body: `{"expires_in":0}`},
		{method: "POST", path: "/v1/api_keys/" + keyA + "/revoke"},
	} {
		q.key = b.SecretKey
		t.Run(q.method+" "+q.path, func(t *testing.T) {
			res := f.do(t, q)
			wantError(t, res, 404, "invalid_request_error", "resource_missing", "id")
		})
	}
	wantError(t, f.get(t, "/v1/payment_methods?starting_after="+pmA, b.SecretKey), 404, "invalid_request_error", "resource_missing", "starting_after")

	for _, path := range []string{"/v1/payment_methods", "/v1/events", "/v1/api_keys"} {
		res := f.get(t, path, b.SecretKey)
		if strings.Contains(string(res.body), pmA) || strings.Contains(string(res.body), keyA) {
			t.Errorf("%s of B shows A's objects: %s", path, res.body)
		}
	}
	if n := len(f.get(t, "/v1/payment_methods", b.SecretKey).json(t)["data"].([]any)); n != 0 {
		t.Errorf("B lists %d payment methods", n)
	}
	if n := len(f.get(t, "/v1/events", b.SecretKey).json(t)["data"].([]any)); n != 0 {
		t.Errorf("B lists %d events", n)
	}
	// A's objects are untouched and A's keys still work.
	res := f.get(t, "/v1/payment_methods/"+pmA, a.SecretKey)
	if m := res.json(t); res.status != 200 || m["storage_state"] != "cached" || len(m["metadata"].(map[string]any)) != 1 {
		t.Errorf("A's payment method changed: %s", res.body)
	}
	if res := f.get(t, "/v1/account", a.SecretKey); res.status != 200 {
		t.Errorf("A's key: %d", res.status)
	}
}

func TestCreatePaymentMethodBadInput(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	card := func(fields string) string { return `{"type":"card","card":{` + fields + `}}` }
	const exp = `"exp_month":12,"exp_year":2031`
	tests := []struct {
		name        string
		body        string
		contentType string
		status      int
		typ, code   string
		param       string
	}{
		{"malformed json", `{"type":"card",`, "", 400, "invalid_request_error", "malformed_body", "body"},
		{"not an object", `["card"]`, "", 400, "invalid_request_error", "malformed_body", "body"},
		{"empty body", ``, "application/json", 400, "invalid_request_error", "malformed_body", "body"},
		{"trailing data", card(`"number":"`+pan+`",`+exp) + `{}`, "", 400, "invalid_request_error", "malformed_body", "body"},
		{"text/plain", card(`"number":"` + pan + `",` + exp), "text/plain", 415, "invalid_request_error", "unsupported_media_type", "Content-Type"},
		{"form", "type=card&card[number]=" + pan, "application/x-www-form-urlencoded", 415, "invalid_request_error", "unsupported_media_type", "Content-Type"},
		{"no content type", card(`"number":"` + pan + `",` + exp), "-", 415, "invalid_request_error", "unsupported_media_type", "Content-Type"},
		{"2 MiB body", `{"type":"card","email":"` + strings.Repeat("a", 2<<20) + `"}`, "", 413, "invalid_request_error", "body_too_large", "body"},
		{"unknown type", `{"type":"sepa","card":{"number":"` + pan + `",` + exp + `}}`, "", 422, "invalid_request_error", "parameter_invalid", "type"},
		{"type not a string", `{"type":1}`, "", 422, "invalid_request_error", "parameter_invalid", "type"},
		{"invalid luhn", card(`"number":"` + panLuhn + `",` + exp), "", 422, "card_error", "invalid_number", "card.number"},
		{"wrong length", card(`"number":"` + panShort + `",` + exp), "", 422, "card_error", "invalid_number", "card.number"},
		{"letters in number", card(`"number":"4000abcd55665556",` + exp), "", 422, "card_error", "invalid_number", "card.number"},
		{"number as json number", card(`"number":` + pan + `,` + exp), "", 422, "invalid_request_error", "parameter_invalid", "card.number"},
		{"expired card", card(`"number":"` + pan + `","exp_month":1,"exp_year":2020`), "", 422, "card_error", "expired_card", "card.exp_year"},
		{"month 13", card(`"number":"` + pan + `","exp_month":13,"exp_year":2031`), "", 422, "card_error", "invalid_expiry_month", "card.exp_month"},
		{"month 0 string", card(`"number":"` + pan + `","exp_month":"00","exp_year":2031`), "", 422, "invalid_request_error", "parameter_missing", "card.exp_month"},
		{"two-digit year", card(`"number":"` + pan + `","exp_month":12,"exp_year":31`), "", 422, "card_error", "invalid_expiry_year", "card.exp_year"},
		{"letters in month", card(`"number":"` + pan + `","exp_month":"december","exp_year":2031`), "", 422, "invalid_request_error", "parameter_invalid", "card.exp_month"},
		{"fraction in month", card(`"number":"` + pan + `","exp_month":1.5,"exp_year":2031`), "", 422, "invalid_request_error", "parameter_invalid", "card.exp_month"},
		{"letters in year", card(`"number":"` + pan + `","exp_month":12,"exp_year":"20x1"`), "", 422, "invalid_request_error", "parameter_invalid", "card.exp_year"},
		{"bad cvc", card(`"number":"` + pan + `",` + exp + `,"cvc":"12a"`), "", 422, "card_error", "invalid_cvc", "card.cvc"},
		{"missing type", `{"card":{"number":"` + pan + `",` + exp + `}}`, "", 422, "invalid_request_error", "parameter_missing", "type"},
		{"missing card", `{"type":"card"}`, "", 422, "invalid_request_error", "parameter_missing", "card"},
		{"missing number", card(exp), "", 422, "invalid_request_error", "parameter_missing", "card.number"},
		{"missing exp_month", card(`"number":"` + pan + `","exp_year":2031`), "", 422, "invalid_request_error", "parameter_missing", "card.exp_month"},
		{"missing exp_year", card(`"number":"` + pan + `","exp_month":12`), "", 422, "invalid_request_error", "parameter_missing", "card.exp_year"},
		{"unknown field", card(`"number":"` + pan + `",` + exp + `,"foo":1`), "", 422, "invalid_request_error", "parameter_unknown", "card.foo"},
		{"unknown top field", `{"type":"card","shopper":"cus_1"}`, "", 422, "invalid_request_error", "parameter_unknown", "shopper"},
		{"duplicate field", card(`"number":"` + pan + `","number":"` + pan + `",` + exp), "", 422, "invalid_request_error", "parameter_invalid", "card.number"},
		{"bad country", `{"type":"card","card":{"number":"` + pan + `",` + exp + `},"billing_address":{"country":"Norway"}}`, "", 422, "invalid_request_error", "parameter_invalid", "billing_address.country"},
		{"bad email", `{"type":"card","card":{"number":"` + pan + `",` + exp + `},"email":"Kari <k@example.com>"}`, "", 422, "invalid_request_error", "parameter_invalid", "email"},
		{"metadata value type", `{"type":"card","card":{"number":"` + pan + `",` + exp + `},"metadata":{"n":1}}`, "", 422, "invalid_request_error", "parameter_invalid", "metadata.n"},
		{"retain not bool", `{"type":"card","retain":"yes"}`, "", 422, "invalid_request_error", "parameter_invalid", "retain"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := req{method: "POST", path: "/v1/payment_methods", key: a.SecretKey, body: tc.body}
			switch tc.contentType {
			case "":
			case "-":
				q.header = map[string]string{"Content-Type": ""}
			default:
				q.header = map[string]string{"Content-Type": tc.contentType}
			}
			res := f.do(t, q)
			wantError(t, res, tc.status, tc.typ, tc.code, tc.param)
			if strings.Contains(string(res.body), pan) || strings.Contains(string(res.body), "5665") {
				t.Errorf("response echoes the card number: %s", res.body)
			}
		})
	}
	for _, path := range []string{"/v1/payment_methods", "/v1/events"} {
		res := f.get(t, path, a.SecretKey)
		if n := len(res.json(t)["data"].([]any)); n != 0 {
			t.Errorf("%s: %d objects after refused requests", path, n)
		}
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	for name, header := range map[string]string{
		"no header":     "",
		"basic":         "Basic " + a.SecretKey,
		"empty bearer":  "Bearer ",
		"unknown key":   "Bearer sk_test_" + strings.Repeat("A", 32),
		"malformed key": "Bearer sk_test_short",
		"wrong mode":    "Bearer sk_live_" + a.SecretKey[8:],
		"not a key":     "Bearer hello",
	} {
		t.Run(name, func(t *testing.T) {
			q := req{method: "GET", path: "/v1/account"}
			if header != "" {
				q.header = map[string]string{"Authorization": header}
			}
			res := f.do(t, q)
			wantError(t, res, 401, "authentication_error", "invalid_api_key", "")
			if got := res.header.Get("WWW-Authenticate"); got != `Bearer realm="kassa"` {
				t.Errorf("WWW-Authenticate %q", got)
			}
			if strings.Contains(string(res.body), a.SecretKey[8:]) {
				t.Error("the key is echoed")
			}
		})
	}
	// Authentication comes before the body is looked at.
	res := f.do(t, req{method: "POST", path: "/v1/payment_methods", body: `{`})
	wantError(t, res, 401, "authentication_error", "invalid_api_key", "")
}

func TestPublishableKey(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	res := f.post(t, "/v1/payment_methods", a.PublishableKey, cardBody(pan, cvc))
	if res.status != 201 {
		t.Fatalf("publishable create: %d %s", res.status, res.body)
	}
	id := res.json(t)["id"].(string)
	for _, q := range []req{
		{method: "GET", path: "/v1/payment_methods"},
		{method: "GET", path: "/v1/payment_methods/" + id},
		{method: "POST", path: "/v1/payment_methods/" + id, body: `{}`},
		{method: "POST", path: "/v1/payment_methods/" + id + "/retain"},
		{method: "POST", path: "/v1/payment_methods/" + id + "/redact"},
		{method: "GET", path: "/v1/api_keys"},
		{method: "POST", path: "/v1/api_keys", body: `{"type":"secret"}`},
		{method: "POST", path: "/v1/api_keys/key_x/roll"},
		{method: "POST", path: "/v1/api_keys/key_x/revoke"},
		{method: "GET", path: "/v1/events"},
		{method: "GET", path: "/v1/account"},
	} {
		q.key = a.PublishableKey
		wantError(t, f.do(t, q), 403, "permission_error", "insufficient_scope", "")
	}
	// It did not redact anything on the way.
	if res := f.get(t, "/v1/payment_methods/"+id, a.SecretKey); res.json(t)["storage_state"] != "cached" {
		t.Errorf("%s", res.body)
	}
}

func TestRoutingErrors(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	for _, path := range []string{"/v1/nope", "/v1/payment_methods/pm_1/nope", "/", "/v2/payment_methods", "/v1/" + pan} {
		res := f.get(t, path, a.SecretKey)
		wantError(t, res, 404, "invalid_request_error", "route_not_found", "")
		if strings.Contains(string(res.body), pan) {
			t.Error("path echoed")
		}
	}
	res := f.do(t, req{method: "DELETE", path: "/v1/payment_methods/pm_1", key: a.SecretKey})
	wantError(t, res, 405, "invalid_request_error", "method_not_allowed", "")
	if got := res.header.Get("Allow"); got != "GET, HEAD, POST" {
		t.Errorf("Allow %q", got)
	}
	res = f.do(t, req{method: "PUT", path: "/v1/account", key: a.SecretKey})
	wantError(t, res, 405, "invalid_request_error", "method_not_allowed", "")
	if got := res.header.Get("Allow"); got != "GET, HEAD, POST" {
		t.Errorf("Allow %q", got)
	}
	wantError(t, f.get(t, "/v1/payment_methods/pm_doesNotExist", a.SecretKey), 404, "invalid_request_error", "resource_missing", "id")
	res = f.get(t, "/v1/payment_methods/"+pan, a.SecretKey)
	wantError(t, res, 404, "invalid_request_error", "resource_missing", "id")
	if strings.Contains(string(res.body), pan) {
		t.Error("id that is not an id echoed")
	}
}

func TestPanicRecovery(t *testing.T) {
	t.Parallel()
	f := setup(t, func(o *Options) {
		o.extraRoutes = []route{{"GET", "/v1/test/panic", secret, func(*server, http.ResponseWriter, *http.Request) error {
			panic("handler exploded")
		}}}
	})
	a := f.account(t)
	res := f.get(t, "/v1/test/panic", a.SecretKey)
	wantError(t, res, 500, "api_error", "internal_error", "")
	if strings.Contains(string(res.body), "exploded") {
		t.Error("panic value sent to the client")
	}
	if res := f.get(t, "/v1/account", a.SecretKey); res.status != 200 {
		t.Fatalf("after panic: %d", res.status)
	}
	logs := f.logs.String()
	if !strings.Contains(logs, `"msg":"panic in handler"`) || !strings.Contains(logs, "handler exploded") || !strings.Contains(logs, "native_test.go") {
		t.Error("panic not logged with its stack")
	}
}

func TestOperationalEndpoints(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	f.get(t, "/v1/account", a.SecretKey)
	for _, path := range []string{"/healthz", "/readyz"} {
		res := f.get(t, path, "")
		if res.status != 200 || strings.TrimSpace(string(res.body)) != `{"status":"ok"}` {
			t.Errorf("%s: %d %s", path, res.status, res.body)
		}
	}
	// Metrics are served on a listener of their own (kassa serve
	// --metrics-addr), not beside the API, where anyone could read them.
	if res := f.get(t, "/metrics", ""); res.status != 404 {
		t.Errorf("/metrics on the API: %d, want 404", res.status)
	}
	w := httptest.NewRecorder()
	api.MetricsHandler(f.reg).ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(w.Body.String(), `kassa_http_requests_total{code="200",dialect="native",route="GET /v1/account"} 1`) {
		t.Errorf("metrics: %s", w.Body)
	}
	res := f.get(t, "/healthz", "")
	res = f.get(t, "/v1/openapi.json", "")
	if res.status != 200 || !json.Valid(res.body) || res.header.Get("Content-Type") != "application/json" {
		t.Errorf("openapi: %d", res.status)
	}
	f.store.Close()
	res = f.get(t, "/readyz", "")
	if res.status != 503 || strings.TrimSpace(string(res.body)) != `{"status":"unavailable"}` {
		t.Errorf("readyz with the store closed: %d %s", res.status, res.body)
	}
	if res := f.get(t, "/healthz", ""); res.status != 200 {
		t.Errorf("healthz with the store closed: %d", res.status)
	}
}

func TestRequestIDAndAccessLog(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	res := f.do(t, req{method: "GET", path: "/v1/payment_methods?limit=3&starting_after=", key: a.SecretKey,
		header: map[string]string{"X-Request-Id": "client-id_1"}})
	if res.header.Get("X-Request-Id") != "client-id_1" {
		t.Errorf("request id %q", res.header.Get("X-Request-Id"))
	}
	res = f.get(t, "/v1/account", a.SecretKey)
	if id := res.header.Get("X-Request-Id"); !strings.HasPrefix(id, "req_") {
		t.Errorf("generated request id %q", id)
	}
	var found bool
	for _, line := range strings.Split(strings.TrimSpace(f.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON", line)
		}
		if m["msg"] == "http request" && m["request_id"] == "client-id_1" {
			found = true
			if m["route"] != "GET /v1/payment_methods" || m["status"] != 200.0 || m["account"] != a.Account.ID || m["method"] != "GET" {
				t.Errorf("access log %s", line)
			}
			if strings.Contains(line, "limit=3") || strings.Contains(line, a.SecretKey) {
				t.Errorf("access log holds the query or the key: %s", line)
			}
		}
	}
	if !found {
		t.Error("no access log line")
	}
}

func TestNoCardDataInResponsesOrLogs(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	// Vault cards, read them back, change them, list them, and send them
	// wrongly in every way that ends in an error.
	ids := []string{}
	for _, c := range [][2]string{{pan, cvc}, {amexPAN, amexCVC}} {
		res := f.post(t, "/v1/payment_methods", a.PublishableKey, cardBody(c[0], c[1]))
		if res.status != 201 {
			t.Fatalf("%d %s", res.status, res.body)
		}
		ids = append(ids, res.json(t)["id"].(string))
	}
	for _, id := range ids {
		f.get(t, "/v1/payment_methods/"+id, a.SecretKey)
		f.post(t, "/v1/payment_methods/"+id, a.SecretKey, `{"metadata":{"k":"v"}}`)
	}
	f.get(t, "/v1/payment_methods", a.SecretKey)
	f.get(t, "/v1/events", a.SecretKey)
	for _, body := range []string{
		`{"type":"card","card":{"number":` + amexPAN + `,"cvc":"` + amexCVC + `"}}`,
		`{"type":"card","card":{"number":"` + amexPAN + `","cvc":"` + amexCVC + `","exp_month":12,"exp_year":2031,"x":1}}`,
		`{"type":"card","card":{"number":"` + amexPAN + `","cvc":"` + amexCVC + `","exp_month":12,"exp_year":2031}}` + amexPAN,
		`{"type":"card","card":{"number":"` + amexPAN + `","cvc":` + amexCVC + `,"exp_month":12,"exp_year":2031}}`,
		`{"type":"card","card":{"number":"` + amexPAN + `","cvc":"` + amexCVC + `0","exp_month":12,"exp_year":2031}}`,
		`{"type":"card","card":{"number":"` + amexPAN + `","cvc":"` + amexCVC + `","exp_month":"` + amexPAN + `","exp_year":2031}}`,
		`{"type":"card","card":{"` + amexPAN + `":"` + amexCVC + `"}}`,
		`{"type":"card","metadata":{"` + amexPAN + `":7319}}`,
		`{"type":"card","card":{"number":"` + amexPAN + `x"}}`,
		// The engine names metadata keys in its errors.
		`{"type":"card","card":{"number":"` + pan + `","exp_month":12,"exp_year":2031},"metadata":{"` + amexPAN + `":"` + strings.Repeat("v", 501) + `"}}`,
	} {
		res := f.post(t, "/v1/payment_methods", a.SecretKey, body)
		if res.status < 400 || res.status >= 500 {
			t.Errorf("%s: %d %s", body, res.status, res.body)
		}
	}
	f.get(t, "/v1/"+amexPAN, a.SecretKey)
	f.get(t, "/v1/payment_methods/"+amexPAN, a.SecretKey)

	f.mu.Lock()
	all := strings.Join(f.responses, "\n")
	f.mu.Unlock()
	logs := f.logs.String()
	for _, secret := range []string{pan, amexPAN, "3782 8224 6310 005", "8224631"} {
		if strings.Contains(all, secret) {
			t.Errorf("a response holds %q", secret)
		}
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
	for _, c := range []string{cvc, amexCVC} {
		if leaked := digitRun(all, c); leaked {
			t.Errorf("a response holds CVC %s", c)
		}
		if leaked := digitRun(logs, c); leaked {
			t.Errorf("the log holds CVC %s", c)
		}
	}
	if !strings.Contains(all, `"last4":"0005"`) {
		t.Error("the check found no responses to look at")
	}
}

// digitRun reports whether s holds digits (a CVC) as a whole number: not
// part of a longer run of digits, nor a decimal fraction (a duration), nor
// inside a token of 12 or more letters and digits (a base62 id or a hex
// digest, where a three-digit CVC turned up about once in twenty runs).
// "cvc=846" and "%3D846" still count.
func digitRun(s, digits string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], digits)
		if j < 0 {
			return false
		}
		j += i
		k := j + len(digits)
		before, after := byte(' '), byte(' ')
		if j > 0 {
			before = s[j-1]
		}
		if k < len(s) {
			after = s[k]
		}
		if !isDigitOrDot(before) && !isDigitOrDot(after) && !inLongToken(s, j, k) {
			return true
		}
		i = j + 1
	}
}

func isDigitOrDot(c byte) bool { return c == '.' || '0' <= c && c <= '9' }

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// inLongToken reports whether s[j:k] lies inside a run of 12 or more
// letters and digits.
func inLongToken(s string, j, k int) bool {
	for j > 0 && isAlnum(s[j-1]) {
		j--
	}
	for k < len(s) && isAlnum(s[k]) {
		k++
	}
	return k-j >= 12
}

func TestOpenAPICoversRoutes(t *testing.T) {
	t.Parallel()
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi %q, want 3.1.x", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	registered := map[string]bool{}
	for _, rt := range routes {
		key := rt.method + " " + rt.path
		registered[key] = true
		if !documented[key] {
			t.Errorf("route %s is not in openapi.json", key)
			continue
		}
		checkOperation(t, key, rt, doc.Paths[rt.path][strings.ToLower(rt.method)])
	}
	for key := range documented {
		if !registered[key] {
			t.Errorf("openapi.json documents %s, which no route serves", key)
		}
	}
	// Every $ref resolves.
	var whole any
	json.Unmarshal(openAPIDocument, &whole)
	walkRefs(t, whole, whole)
}

// checkOperation checks what the document says of one route against how
// the route is mounted: its responses, security and idempotency header.
func checkOperation(t *testing.T, key string, rt route, raw json.RawMessage) {
	t.Helper()
	var op struct {
		Responses  map[string]json.RawMessage `json:"responses"`
		Security   *[]map[string][]string     `json:"security"`
		Parameters []map[string]any           `json:"parameters"`
	}
	if err := json.Unmarshal(raw, &op); err != nil {
		t.Errorf("%s: %v", key, err)
		return
	}
	success := false
	for code := range op.Responses {
		n, err := strconv.Atoi(code)
		if err != nil || n < 100 || n > 599 {
			t.Errorf("%s: response key %q is not a status code", key, code)
		}
		success = success || n >= 200 && n < 300
	}
	if !success {
		t.Errorf("%s: no success response", key)
	}
	var schemes []string
	if op.Security != nil {
		for _, req := range *op.Security {
			for name := range req {
				schemes = append(schemes, name)
			}
		}
	} else {
		schemes = []string{"secretKey"} // the document's default
	}
	slices.Sort(schemes)
	want := map[access][]string{public: nil, publishable: {"publishableKey", "secretKey"}, secret: {"secretKey"}}[rt.access]
	if !slices.Equal(schemes, want) {
		t.Errorf("%s: security %v, want %v", key, schemes, want)
	}
	idempotent := slices.ContainsFunc(op.Parameters, func(p map[string]any) bool {
		return p["$ref"] == "#/components/parameters/IdempotencyKey"
	})
	if wantIdem := rt.idempotent(); idempotent != wantIdem {
		t.Errorf("%s: Idempotency-Key documented %v, mounted %v", key, idempotent, wantIdem)
	}
	if rt.access != public {
		if _, ok := op.Responses["401"]; !ok {
			t.Errorf("%s: 401 not documented", key)
		}
	}
}

func walkRefs(t *testing.T, root, v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "$ref" {
				if !resolves(root, s) {
					t.Errorf("$ref %s does not resolve", s)
				}
				continue
			}
			walkRefs(t, root, x)
		}
	case []any:
		for _, x := range v {
			walkRefs(t, root, x)
		}
	}
}

func resolves(root any, ref string) bool {
	path, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return false
	}
	cur := root
	for _, part := range strings.Split(path, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[part]; !ok {
			return false
		}
	}
	return true
}

// Every route the table registers answers something other than 404 or 405
// for its own method.
func TestRoutesAreMounted(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	for _, rt := range routes {
		path := strings.ReplaceAll(rt.path, "{id}", "x_1")
		res := f.do(t, req{method: rt.method, path: path, key: a.SecretKey, body: `{}`})
		if res.status == 405 || res.status == 404 && res.errorOf(t)["code"] == "route_not_found" {
			t.Errorf("%s %s: %d %s", rt.method, path, res.status, res.body)
		}
	}
}
