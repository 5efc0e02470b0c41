package dintero

import (
	"fmt"
	"regexp"
	"testing"
)

var (
	uuids    = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	keyIDs   = regexp.MustCompile(`"(created_by|deleted_by)":"[^"]*"`)
	tokenIDs = regexp.MustCompile(`"token_id":"[0-9A-Za-z]{32}"`)
)

// TestGoldenCustomers pins every response shape of the customers routes.
// The ids kassa derives from its own (random) ids and the key ids are
// replaced; the times come from the fixture's clock.
func TestGoldenCustomers(t *testing.T) {
	f := setup(t)
	m := f.merchant(t, false)
	other := f.merchant(t, false)
	a := shop{f, m, f.token(t, m)}
	readOnly := f.tokenScoped(t, m, "read:customers")
	full := `{"customer_id":"c-1","type":"company","first_name":"Kari","last_name":"Nordmann","email":"kari@example.com",` +
		`"phone_number":"+4799999999","addresses":[{"address_line":"Sommerkroveien 34","postal_place":"Oslo","country":"NO"}],` +
		`"metadata":{"dob_year":1985,"note":"vip"}}`
	steps := []struct {
		name string
		q    req
	}{
		{"customer_create", req{method: "POST", path: a.users(), body: full}},
		{"customer_get", req{method: "GET", path: a.user("c-1")}},
		{"customer_update", req{method: "PUT", path: a.user("c-1"), body: `{"last_name":"Hansen","metadata":{"note":null}}`}},
		{"customer_list", req{method: "GET", path: a.users() + "?limit=5"}},
		{"customer_token_create", req{method: "POST", path: a.user("c-1") + "/tokens", body: seedBody}},
		{"customer_token_create_metadata", req{method: "POST", path: a.user("c-1") + "/tokens?delete_token_events=true",
			body: `{"type":"sha1:email","value":"v2","token_id":"t2","metadata":{"exp_month":10,"mask_pan":"**** **** **** 3477"}}`}},
		{"customer_token_delete", req{method: "DELETE", path: a.user("c-1") + "/tokens/t2"}},
		{"customer_token_list", req{method: "GET", path: a.user("c-1") + "/tokens?include_deleted=true"}},
		{"customer_delete", req{method: "DELETE", path: a.user("c-1")}},
		{"error_customer_missing", req{method: "GET", path: a.user("c-1")}},
		{"error_customer_id_space", req{method: "GET", path: a.user("c-1 ")}},
		{"error_customer_duplicate", req{method: "POST", path: a.users(), body: `{"customer_id":"c-2"}`}},
		{"error_token_value_missing", req{method: "POST", path: a.user("c-2") + "/tokens", body: `{"type":"t"}`}},
		{"error_token_card_number", req{method: "POST", path: a.user("c-2") + "/tokens", body: `{"type":"t","value":"4111111111111111"}`}},
		{"error_token_missing", req{method: "DELETE", path: a.user("c-2") + "/tokens/nope"}},
		{"error_customers_scope", req{method: "POST", path: a.users(), body: `{}`, bearer: readOnly}},
		{"error_customers_other_account", req{method: "GET", path: "/v1/accounts/" + other.id + "/customers/users"}},
		{"error_customers_query", req{method: "GET", path: a.users() + "?search=kari"}},
	}
	mustStatus(t, "c-2", a.do(t, "POST", a.users(), `{"customer_id":"c-2"}`), 200)
	seen := map[string]string{}
	for _, st := range steps {
		if st.q.bearer == "" {
			st.q.bearer = a.tok
		}
		res := f.do(t, st.q)
		body := uuids.ReplaceAll(res.body, []byte("<uuid>"))
		body = keyIDs.ReplaceAll(body, []byte(`"$1":"<key id>"`))
		body = tokenIDs.ReplaceAll(body, []byte(`"token_id":"<generated>"`))
		golden(t, st.name, append([]byte(fmt.Sprintf("HTTP %d\n", res.status)), normalize(body, seen)...))
	}
}
