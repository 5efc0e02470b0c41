package dintero

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/kassapay/kassa/internal/api/native"
	"github.com/kassapay/kassa/internal/payment"
)

// stores are the stores every customers test runs on.
var stores = []struct {
	name string
	open func(testing.TB) payment.Store
}{{"sqlite", openSQLite}, {"postgres", openPostgres}}

// shop is a merchant with an access token on a fixture.
type shop struct {
	f   *fixture
	m   merchant
	tok string
}

func (s shop) users() string { return "/v1/accounts/" + s.m.id + "/customers/users" }

func (s shop) user(cid string) string { return s.users() + "/" + url.PathEscape(cid) }

func (s shop) do(t testing.TB, method, path, body string) response {
	t.Helper()
	return s.f.do(t, req{method: method, path: path, body: body, bearer: s.tok})
}

// eachStore runs fn on a fresh fixture of each store with two shops.
func eachStore(t *testing.T, fn func(t *testing.T, a, b shop)) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			f := setupAdmin(t, st.open(t))
			ma, mb := f.merchant(t, false), f.merchant(t, false)
			fn(t, shop{f, ma, f.token(t, ma)}, shop{f, mb, f.token(t, mb)})
		})
	}
}

// seedBody is the request of Dintero's page "Create new Token", byte for
// byte as its curl example sends it.
const seedBody = `
{
  "type": "sha1:email",
  "value": "a1b79ef1a62d94ffa86b3f3d846df0ee3993af92"
}
`

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func mustStatus(t testing.TB, name string, res response, status int) map[string]any {
	t.Helper()
	if res.status != status {
		t.Fatalf("%s: HTTP %d, want %d: %s", name, res.status, status, res.body)
	}
	if res.body[0] == '[' {
		return nil
	}
	return res.json(t)
}

func TestSeedPage(t *testing.T) {
	eachStore(t, func(t *testing.T, a, _ shop) {
		mustStatus(t, "create customer", a.do(t, "POST", a.users(), `{"customer_id":"c-1","email":"jane@example.com"}`), 200)
		res := a.do(t, "POST", a.user("c-1")+"/tokens", seedBody)
		tok := mustStatus(t, "seed", res, http.StatusCreated)
		if tok["type"] != "sha1:email" || tok["value"] != "a1b79ef1a62d94ffa86b3f3d846df0ee3993af92" {
			t.Errorf("token %s", res.body)
		}
		if id, _ := tok["id"].(string); !uuidRE.MatchString(id) {
			t.Errorf("id %q is not a UUID", id)
		}
		if tid, _ := tok["token_id"].(string); len(tid) != 32 {
			t.Errorf("generated token_id %q", tid)
		}
		keys, err := a.f.eng.APIKeys(context.Background(), a.m.id)
		if err != nil {
			t.Fatal(err)
		}
		var secretKeyID string
		for _, k := range keys {
			if k.Kind == payment.KeySecret {
				secretKeyID = k.ID
			}
		}
		if tok["created_by"] != secretKeyID || secretKeyID == "" {
			t.Errorf("created_by %v, want the key %s", tok["created_by"], secretKeyID)
		}
		for _, k := range []string{"created_at", "updated_at", "metadata"} {
			if _, ok := tok[k]; !ok {
				t.Errorf("no %s: %s", k, res.body)
			}
		}
		if _, ok := tok["deleted_at"]; ok {
			t.Errorf("a live token shows deleted_at: %s", res.body)
		}
		// The id is stable: the list shows the same.
		list := a.do(t, "GET", a.user("c-1")+"/tokens", "")
		mustStatus(t, "list", list, 200)
		if !strings.Contains(string(list.body), tok["id"].(string)) {
			t.Errorf("list %s lacks id %v", list.body, tok["id"])
		}
	})
}

// TestTokenRules: every rule of the seed page, and a card number in any
// free-text field, refused naming the field, echoing nothing, creating
// nothing.
func TestTokenRules(t *testing.T) {
	eachStore(t, func(t *testing.T, a, _ shop) {
		mustStatus(t, "customer", a.do(t, "POST", a.users(), `{"customer_id":"c-1"}`), 200)
		long := strings.Repeat("x", 256)
		card := "4111111111111111"
		for _, tc := range []struct {
			name, path, query, body, field string
		}{
			{"type missing", "c-1", "", `{"value":"v"}`, "type"},
			{"type empty", "c-1", "", `{"type":"","value":"v"}`, "type"},
			{"value missing", "c-1", "", `{"type":"t"}`, "value"},
			{"value empty", "c-1", "", `{"type":"t","value":""}`, "value"},
			{"token_id empty", "c-1", "", `{"type":"t","value":"v","token_id":""}`, "token_id"},
			{"token_id 256", "c-1", "", `{"type":"t","value":"v","token_id":"` + long + `"}`, "token_id"},
			{"token_id leading space", "c-1", "", `{"type":"t","value":"v","token_id":" a"}`, "token_id"},
			{"token_id trailing space", "c-1", "", `{"type":"t","value":"v","token_id":"a "}`, "token_id"},
			{"type wrong kind", "c-1", "", `{"type":1,"value":"v"}`, "type"},
			{"unknown field", "c-1", "", `{"type":"t","value":"v","extra":1}`, "extra"},
			{"card in value", "c-1", "", `{"type":"t","value":"` + card + `"}`, "value"},
			{"card in type", "c-1", "", `{"type":"x` + card + `","value":"v"}`, "type"},
			{"card in token_id", "c-1", "", `{"type":"t","value":"v","token_id":"` + card + `"}`, "token_id"},
			{"card in metadata", "c-1", "", `{"type":"t","value":"v","metadata":{"pan":"` + card + `"}}`, "metadata.pan"},
			{"card number in metadata", "c-1", "", `{"type":"t","value":"v","metadata":{"pan":` + card + `}}`, "metadata.pan"},
			{"card in metadata key", "c-1", "", `{"type":"t","value":"v","metadata":{"` + card + `":"x"}}`, "metadata"},
			{"reserved metadata", "c-1", "", `{"type":"t","value":"v","metadata":{"dintero:typed":"x"}}`, "metadata"},
			{"delete_token_events not bool", "c-1", "?delete_token_events=maybe", `{"type":"t","value":"v"}`, "delete_token_events"},
			{"customer_id 256", long, "", `{"type":"t","value":"v"}`, "customer_id"},
			{"customer_id leading space", " c-1", "", `{"type":"t","value":"v"}`, "customer_id"},
			{"customer_id trailing space", "c-1 ", "", `{"type":"t","value":"v"}`, "customer_id"},
			{"card as customer_id", card, "", `{"type":"t","value":"v"}`, "customer_id"},
		} {
			res := a.do(t, "POST", a.user(tc.path)+"/tokens"+tc.query, tc.body)
			wantError(t, tc.name, res, http.StatusBadRequest, CodeBadRequest, tc.field)
			if strings.Contains(string(res.body), card) || strings.Contains(string(res.body), long) {
				t.Errorf("%s: echoed: %s", tc.name, res.body)
			}
		}
		list := a.do(t, "GET", a.user("c-1")+"/tokens?include_deleted=true", "")
		if mustStatus(t, "list", list, 200); strings.TrimSpace(string(list.body)) != "[]" {
			t.Errorf("refused requests created tokens: %s", list.body)
		}
		// The bounds themselves are allowed.
		id255 := strings.Repeat("y", 255)
		mustStatus(t, "customer_id 255", a.do(t, "POST", a.users(), `{"customer_id":"`+id255+`"}`), 200)
		res := a.do(t, "POST", a.user(id255)+"/tokens", `{"type":"t","value":"v","token_id":"`+id255+`"}`)
		if m := mustStatus(t, "token_id 255", res, 201); m["token_id"] != id255 {
			t.Errorf("token_id %v", m["token_id"])
		}
		// A token_id the customer has is a duplicate.
		wantError(t, "duplicate token_id", a.do(t, "POST", a.user(id255)+"/tokens", `{"type":"t","value":"v","token_id":"`+id255+`"}`),
			http.StatusBadRequest, CodeBadRequest, "token_id")
		// Unknown customer: 404.
		wantError(t, "unknown customer", a.do(t, "POST", a.user("nobody")+"/tokens", seedBody), http.StatusNotFound, CodeNotFound, "")
	})
}

func TestTokenLifecycle(t *testing.T) {
	eachStore(t, func(t *testing.T, a, _ shop) {
		mustStatus(t, "customer", a.do(t, "POST", a.users(), `{"customer_id":"c-1"}`), 200)
		tokens := a.user("c-1") + "/tokens"
		m := mustStatus(t, "with metadata", a.do(t, "POST", tokens+"?delete_token_events=true",
			`{"type":"sha1:email","value":"v1","token_id":"t1","metadata":{"exp_month":10,"mask_pan":"**** **** **** 3477","ok":true}}`), 201)
		md, _ := m["metadata"].(map[string]any)
		if md["exp_month"] != float64(10) || md["mask_pan"] != "**** **** **** 3477" || md["ok"] != true {
			t.Errorf("metadata %v", md)
		}
		mustStatus(t, "second", a.do(t, "POST", tokens+"?delete_token_events=false", `{"type":"phone","value":"v2","token_id":"t2"}`), 201)
		a.f.clk.Add(1e9)
		del := mustStatus(t, "delete", a.do(t, "DELETE", tokens+"/t1", ""), 200)
		if del["deleted_at"] == nil || del["deleted_by"] != del["created_by"] {
			t.Errorf("deleted token %v", del)
		}
		wantError(t, "delete again", a.do(t, "DELETE", tokens+"/t1", ""), http.StatusNotFound, CodeNotFound, "")
		wantError(t, "delete unknown", a.do(t, "DELETE", tokens+"/nope", ""), http.StatusNotFound, CodeNotFound, "")
		wantError(t, "token_id with space", a.do(t, "DELETE", tokens+"/%20t2", ""), http.StatusBadRequest, CodeBadRequest, "token_id")
		for _, tc := range []struct{ query, want string }{
			{"", `"t2"`},
			{"?include_deleted=true", `"t2","t1"`},
			{"?include_deleted=true&limit=1", `"t2"`},
			{"?include_deleted=true&starting_after=t2", `"t1"`},
			{"?include_deleted=true&type=sha1:email", `"t1"`},
		} {
			res := a.do(t, "GET", tokens+tc.query, "")
			mustStatus(t, tc.query, res, 200)
			got := regexp.MustCompile(`"token_id":("[^"]*")`).FindAllStringSubmatch(string(res.body), -1)
			var ids []string
			for _, g := range got {
				ids = append(ids, g[1])
			}
			if strings.Join(ids, ",") != tc.want {
				t.Errorf("list%s: %v, want %s", tc.query, ids, tc.want)
			}
		}
		for _, q := range []string{"?limit=0", "?limit=101", "?include_deleted=yes", "?starting_after=zz", "?search=x"} {
			if res := a.do(t, "GET", tokens+q, ""); res.status != 400 {
				t.Errorf("list%s: HTTP %d", q, res.status)
			}
		}
		// A token_id of a deleted token can be used again.
		mustStatus(t, "reuse", a.do(t, "POST", tokens, `{"type":"t","value":"v","token_id":"t1"}`), 201)
	})
}

func TestCustomerLifecycle(t *testing.T) {
	eachStore(t, func(t *testing.T, a, _ shop) {
		body := `{"customer_id":"c-1","type":"company","first_name":"Kari","last_name":"Nordmann","email":"kari@example.com",
			"phone_number":"+4799999999","gender":"female","date_of_birth":"1990-09-20","status":"active","favorite_store":"S01",
			"addresses":[{"address_line":"Sommerkroveien 34","postal_place":"Oslo","country":"NO","latitude":59.942112}],
			"company":{"bussiness_name":"TKP tech AS"},"marketing_consent":{"sms":{"consent":true}},
			"metadata":{"dob_year":1985,"note":"vip"}}`
		c := mustStatus(t, "create", a.do(t, "POST", a.users(), body), 200)
		if !uuidRE.MatchString(c["id"].(string)) || c["customer_id"] != "c-1" || c["first_name"] != "Kari" ||
			c["last_name"] != "Nordmann" || c["type"] != "company" || c["phone_number"] != "+4799999999" {
			t.Errorf("created %v", c)
		}
		if md := c["metadata"].(map[string]any); md["dob_year"] != float64(1985) || md["note"] != "vip" || len(md) != 2 {
			t.Errorf("metadata %v", md)
		}
		if addr, _ := c["addresses"].([]any); len(addr) != 1 {
			t.Errorf("addresses %v", c["addresses"])
		}
		got := mustStatus(t, "get", a.do(t, "GET", a.user("c-1"), ""), 200)
		if got["id"] != c["id"] || got["email"] != "kari@example.com" {
			t.Errorf("get %v", got)
		}
		// A generated customer_id is a UUID.
		g := mustStatus(t, "generated", a.do(t, "POST", a.users(), `{"email":"ola@example.com"}`), 200)
		if !uuidRE.MatchString(g["customer_id"].(string)) || g["type"] != "customer" {
			t.Errorf("generated %v", g)
		}
		// Update: fields left out stay; metadata merges; null removes.
		a.f.clk.Add(1e9)
		u := mustStatus(t, "update", a.do(t, "PUT", a.user("c-1"), `{"last_name":"Hansen","metadata":{"note":null,"tier":2}}`), 200)
		md := u["metadata"].(map[string]any)
		if u["first_name"] != "Kari" || u["last_name"] != "Hansen" || u["email"] != "kari@example.com" ||
			md["dob_year"] != float64(1985) || md["tier"] != float64(2) || md["note"] != nil {
			t.Errorf("updated %v", u)
		}
		if u["updated_at"] == c["updated_at"] {
			t.Errorf("updated_at unchanged")
		}
		u = mustStatus(t, "clear metadata", a.do(t, "PUT", a.user("c-1"), `{"metadata":null}`), 200)
		if u["metadata"] != nil {
			t.Errorf("metadata after null: %v", u["metadata"])
		}
		// List: newest first, paged by customer_id, filtered by email.
		res := a.do(t, "GET", a.users(), "")
		mustStatus(t, "list", res, 200)
		if i, j := strings.Index(string(res.body), g["customer_id"].(string)), strings.Index(string(res.body), `"c-1"`); i < 0 || j < i {
			t.Errorf("list %s", res.body)
		}
		res = a.do(t, "GET", a.users()+"?limit=1&starting_after="+url.QueryEscape(g["customer_id"].(string)), "")
		if mustStatus(t, "page 2", res, 200); !strings.Contains(string(res.body), `"c-1"`) || strings.Count(string(res.body), `"customer_id"`) != 1 {
			t.Errorf("page 2 %s", res.body)
		}
		res = a.do(t, "GET", a.users()+"?email=ola@example.com", "")
		if mustStatus(t, "email", res, 200); strings.Contains(string(res.body), `"c-1"`) {
			t.Errorf("email filter %s", res.body)
		}
		for _, q := range []string{"?limit=0", "?include_deleted=true", "?phone_number=1", "?starting_after=nobody"} {
			if res := a.do(t, "GET", a.users()+q, ""); res.status != 400 {
				t.Errorf("list%s: HTTP %d %s", q, res.status, res.body)
			}
		}
		// Delete: the customer and its tokens, softly.
		mustStatus(t, "token", a.do(t, "POST", a.user("c-1")+"/tokens", seedBody), 201)
		d := mustStatus(t, "delete", a.do(t, "DELETE", a.user("c-1")+"?delete_tokens=true", ""), 200)
		if d["deleted_at"] == nil || d["deleted_by"] == nil || d["email"] != nil || d["customer_id"] != "c-1" {
			t.Errorf("deleted %v", d)
		}
		for _, q := range []struct{ method, path string }{
			{"GET", a.user("c-1")}, {"PUT", a.user("c-1")}, {"DELETE", a.user("c-1")}, {"GET", a.user("c-1") + "/tokens"},
		} {
			body := ""
			if q.method == "PUT" {
				body = `{"first_name":"x"}`
			}
			wantError(t, "after delete "+q.method+" "+q.path, a.do(t, q.method, q.path, body), http.StatusNotFound, CodeNotFound, "")
		}
		// Its customer_id is free again.
		mustStatus(t, "reuse", a.do(t, "POST", a.users(), `{"customer_id":"c-1"}`), 200)
	})
}

// TestCustomerRules: bad input is Dintero's 400 naming the field and
// changes nothing; a card number is never echoed.
func TestCustomerRules(t *testing.T) {
	eachStore(t, func(t *testing.T, a, _ shop) {
		mustStatus(t, "customer", a.do(t, "POST", a.users(), `{"customer_id":"c-1","first_name":"Kari"}`), 200)
		card := "4111111111111111"
		for _, tc := range []struct{ name, body, field string }{
			{"duplicate customer_id", `{"customer_id":"c-1"}`, "customer_id"},
			{"customer_id empty", `{"customer_id":""}`, "customer_id"},
			{"customer_id 256", `{"customer_id":"` + strings.Repeat("x", 256) + `"}`, "customer_id"},
			{"customer_id space", `{"customer_id":"c-2 "}`, "customer_id"},
			{"type", `{"type":"robot"}`, "type"},
			{"email", `{"email":"not an address"}`, "email"},
			{"phone", `{"phone_number":"99 99 99 99"}`, "phone_number"},
			{"date_of_birth", `{"date_of_birth":"20.09.1990"}`, "date_of_birth"},
			{"addresses kind", `{"addresses":{}}`, "addresses"},
			{"company kind", `{"company":[]}`, "company"},
			{"password", `{"password":"hunter2"}`, "password"},
			{"unknown", `{"nickname":"x"}`, "nickname"},
			{"malformed", `{"email":`, ""},
			{"card in first_name", `{"first_name":"` + card + `"}`, "first_name"},
			{"card in last_name", `{"last_name":"x ` + card + `"}`, "last_name"},
			{"card in email", `{"email":"` + card + `@example.com"}`, "email"},
			{"card in customer_id", `{"customer_id":"` + card + `"}`, "customer_id"},
			{"card in gender", `{"gender":"` + card + `"}`, "gender"},
			{"card in address", `{"addresses":[{"address_line":"` + card + `"}]}`, "addresses[0].address_line"},
			{"card in company", `{"company":{"bussiness_name":"` + card + `"}}`, "company.bussiness_name"},
			{"card in attributes", `{"attributes":{"n":` + card + `}}`, "attributes.n"},
			{"card in metadata", `{"metadata":{"x":"` + card + `"}}`, "metadata.x"},
		} {
			for _, method := range []string{"POST", "PUT"} {
				path, body := a.users(), tc.body
				if method == "PUT" {
					if strings.Contains(body, "customer_id") {
						continue
					}
					path = a.user("c-1")
				}
				res := a.do(t, method, path, body)
				wantError(t, method+" "+tc.name, res, http.StatusBadRequest, CodeBadRequest, tc.field)
				if strings.Contains(string(res.body), card) {
					t.Errorf("%s %s: echoed: %s", method, tc.name, res.body)
				}
			}
		}
		res := a.do(t, "GET", a.users(), "")
		if mustStatus(t, "list", res, 200); strings.Count(string(res.body), `"customer_id"`) != 1 ||
			!strings.Contains(string(res.body), `"first_name":"Kari"`) {
			t.Errorf("refused requests changed customers: %s", res.body)
		}
		wantError(t, "customer_id on PUT", a.do(t, "PUT", a.user("c-1"), `{"customer_id":"c-9"}`), 400, CodeBadRequest, "customer_id")
		wantError(t, "delete_tokens", a.do(t, "DELETE", a.user("c-1")+"?delete_tokens=2", ""), 400, CodeBadRequest, "delete_tokens")
		wantError(t, "path customer_id", a.do(t, "GET", a.user(" c-1"), ""), 400, CodeBadRequest, "customer_id")
		mustStatus(t, "still there", a.do(t, "GET", a.user("c-1"), ""), 200)
	})
}

// TestCustomersIsolation: another account's customers and tokens are not
// found; another account's aid is 403, a malformed one 404; a token
// lacking the scope is 403.
func TestCustomersIsolation(t *testing.T) {
	eachStore(t, func(t *testing.T, a, b shop) {
		mustStatus(t, "customer", a.do(t, "POST", a.users(), `{"customer_id":"c-1"}`), 200)
		mustStatus(t, "token", a.do(t, "POST", a.user("c-1")+"/tokens", `{"type":"t","value":"v","token_id":"t1"}`), 201)
		// b asks for a's objects on its own account: not found.
		for _, q := range []struct{ method, path, body string }{
			{"GET", b.user("c-1"), ""},
			{"PUT", b.user("c-1"), `{"first_name":"x"}`},
			{"DELETE", b.user("c-1"), ""},
			{"GET", b.user("c-1") + "/tokens", ""},
			{"POST", b.user("c-1") + "/tokens", seedBody},
			{"DELETE", b.user("c-1") + "/tokens/t1", ""},
		} {
			wantError(t, "b: "+q.method+" "+q.path, b.do(t, q.method, q.path, q.body), http.StatusNotFound, CodeNotFound, "")
		}
		res := b.do(t, "GET", b.users(), "")
		if mustStatus(t, "b list", res, 200); strings.TrimSpace(string(res.body)) != "[]" {
			t.Errorf("b sees %s", res.body)
		}
		// b on a's aid: 403; a malformed aid: 404.
		for _, rt := range customerRoutes(a) {
			wantError(t, "b on a's aid: "+rt.method+" "+rt.path, b.do(t, rt.method, rt.path, rt.body), http.StatusForbidden, CodeForbidden, "")
			bad := strings.Replace(rt.path, a.m.id, "Q12345678", 1)
			wantError(t, "bad aid: "+rt.method, a.do(t, rt.method, bad, rt.body), http.StatusNotFound, CodeNotFound, "")
		}
		// Scopes: read-only tokens read but do not write; tokens of another
		// area do neither.
		read := a.f.tokenScoped(t, a.m, "read:customers")
		write := a.f.tokenScoped(t, a.m, "write:customers")
		other := a.f.tokenScoped(t, a.m, "admin:checkout read:accounts")
		for _, rt := range customerRoutes(a) {
			writes := rt.method != "GET"
			res := a.f.do(t, req{method: rt.method, path: rt.path, body: rt.body, bearer: read})
			if writes {
				wantError(t, "read scope: "+rt.method+" "+rt.path, res, http.StatusForbidden, CodeForbidden, "")
			} else if res.status != 200 {
				t.Errorf("read scope: %s %s: HTTP %d", rt.method, rt.path, res.status)
			}
			res = a.f.do(t, req{method: rt.method, path: rt.path, body: rt.body, bearer: write})
			if !writes {
				wantError(t, "write scope: "+rt.method+" "+rt.path, res, http.StatusForbidden, CodeForbidden, "")
			}
			wantError(t, "other scope: "+rt.method+" "+rt.path,
				a.f.do(t, req{method: rt.method, path: rt.path, body: rt.body, bearer: other}), http.StatusForbidden, CodeForbidden, "")
		}
	})
}

type routeReq struct{ method, path, body string }

// customerRoutes is one request on every customers route of s's account.
func customerRoutes(s shop) []routeReq {
	return []routeReq{
		{"GET", s.users(), ""},
		{"POST", s.users(), `{"customer_id":"scoped"}`},
		{"GET", s.user("c-1"), ""},
		{"PUT", s.user("c-1"), `{"first_name":"x"}`},
		{"GET", s.user("c-1") + "/tokens", ""},
		{"POST", s.user("c-1") + "/tokens", `{"type":"t","value":"v"}`},
		{"DELETE", s.user("c-1") + "/tokens/t1", ""},
		{"DELETE", s.user("c-1"), ""},
	}
}

func TestCustomerRoutesCovered(t *testing.T) {
	s := shop{m: merchant{id: "T00000001"}}
	have := map[string]bool{}
	for _, rt := range customerRoutes(s) {
		have[rt.method+" "+strings.NewReplacer("T00000001", "{aid}", "/c-1", "/{customer_id}", "/t1", "/{token_id}").Replace(rt.path)] = true
	}
	for _, rt := range Routes() {
		if strings.Contains(rt, "/customers/") && !have[rt] {
			t.Errorf("%s has no isolation or scope test", rt)
		}
	}
}

// TestNativeAndDintero: a customer made through one API is the same
// customer through the other.
func TestNativeAndDintero(t *testing.T) {
	eachStore(t, func(t *testing.T, a, _ shop) {
		nat := native.New(a.f.eng, native.Options{})
		call := func(method, path, body string) response {
			hr := httptest.NewRequest(method, path, strings.NewReader(body))
			hr.Header.Set("Authorization", "Bearer "+a.m.secret)
			if body != "" {
				hr.Header.Set("Content-Type", "application/json")
			}
			rec := httptest.NewRecorder()
			nat.ServeHTTP(rec, hr)
			return response{status: rec.Code, body: rec.Body.Bytes()}
		}
		// Dintero → native.
		mustStatus(t, "dintero create", a.do(t, "POST", a.users(),
			`{"customer_id":"c-1","first_name":"Kari","last_name":"Nordmann","email":"kari@example.com","metadata":{"n":1}}`), 200)
		mustStatus(t, "dintero token", a.do(t, "POST", a.user("c-1")+"/tokens", seedBody), 201)
		res := call("GET", "/v1/customers?external_id=c-1", "")
		if res.status != 200 || !strings.Contains(string(res.body), `"name":"Kari Nordmann"`) ||
			!strings.Contains(string(res.body), `"email":"kari@example.com"`) {
			t.Fatalf("native list: %d %s", res.status, res.body)
		}
		cus := regexp.MustCompile(`"id":"(cus_[^"]+)"`).FindStringSubmatch(string(res.body))
		if cus == nil {
			t.Fatalf("no customer id in %s", res.body)
		}
		res = call("GET", "/v1/customers/"+cus[1]+"/tokens", "")
		if res.status != 200 || !strings.Contains(string(res.body), "a1b79ef1a62d94ffa86b3f3d846df0ee3993af92") {
			t.Errorf("native tokens: %d %s", res.status, res.body)
		}
		// Native → Dintero: with an external id, and without one (then
		// its kassa id is its customer_id).
		if res := call("POST", "/v1/customers", `{"external_id":"n-1","name":"Ola","phone":"+4791234567"}`); res.status != 201 {
			t.Fatalf("native create: %d %s", res.status, res.body)
		}
		got := mustStatus(t, "dintero get", a.do(t, "GET", a.user("n-1"), ""), 200)
		if got["first_name"] != "Ola" || got["phone_number"] != "+4791234567" {
			t.Errorf("dintero view %v", got)
		}
		res = call("POST", "/v1/customers", `{"name":"Anon"}`)
		anon := regexp.MustCompile(`"id":"(cus_[^"]+)"`).FindStringSubmatch(string(res.body))
		if res.status != 201 || anon == nil {
			t.Fatalf("native create: %d %s", res.status, res.body)
		}
		got = mustStatus(t, "dintero get by kassa id", a.do(t, "GET", a.user(anon[1]), ""), 200)
		if got["customer_id"] != anon[1] {
			t.Errorf("customer_id %v", got["customer_id"])
		}
		mustStatus(t, "token by kassa id", a.do(t, "POST", a.user(anon[1])+"/tokens", seedBody), 201)
		// A native name change shows as first_name.
		if res := call("POST", "/v1/customers/"+cus[1], `{"name":"Kari Hansen-Nordmann"}`); res.status != 200 {
			t.Fatalf("native update: %d %s", res.status, res.body)
		}
		got = mustStatus(t, "dintero after native update", a.do(t, "GET", a.user("c-1"), ""), 200)
		if got["first_name"] != "Kari Hansen-Nordmann" || got["last_name"] != nil {
			t.Errorf("after native rename %v", got)
		}
	})
}
