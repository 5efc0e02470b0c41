package native

import (
	"net/http"
	"strings"
	"testing"
)

// TestRouters: routers are created, validated and used through the API; the
// payment carries its routing trace and the failing gateway shows its
// breaker.
func TestRouters(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b := f.account(t), f.account(t)
	down, up := f.createGateway(t, a.SecretKey), f.createGateway(t, a.SecretKey)
	if res := f.patch(t, "/v1/gateways/"+down, a.SecretKey, `{"settings":{"outage":true}}`); res.status != 200 {
		t.Fatalf("outage: %d %s", res.status, res.body)
	}
	foreign := f.createGateway(t, b.SecretKey)

	for _, c := range []struct{ body, param string }{
		{`{"type":"router","settings":{"default":{"cascade":["` + down + `","gw_missing"]}}}`, "settings.default.cascade[1]"},
		{`{"type":"router","settings":{"default":{"gateway":"` + foreign + `"}}}`, "settings.default.gateway"},
		{`{"type":"router","settings":{"rules":[{"when":{"colour":"red"},"then":{"gateway":"` + up + `"}}]}}`, "settings.rules[0].when.colour"},
		{`{"type":"router","settings":{"default":{"split":[{"gateway":"` + down + `","weight":70},{"gateway":"` + up + `","weight":20}]}}}`, "settings.default.split"},
		{`{"type":"router","settings":{"cascade_on":["stolen_card"],"default":{"gateway":"` + up + `"}}}`, "settings.cascade_on[0]"},
	} {
		res := f.post(t, "/v1/gateways", a.SecretKey, c.body)
		if res.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d %s", c.param, res.status, res.body)
			continue
		}
		if e := res.json(t)["error"].(map[string]any); e["param"] == nil || !strings.HasPrefix(e["param"].(string), c.param) {
			t.Errorf("param %v, want %s", e["param"], c.param)
		}
	}

	res := f.post(t, "/v1/gateways", a.SecretKey, `{"type":"router","description":"failover","settings":{"default":{"cascade":["`+down+`","`+up+`"]}}}`)
	if res.status != http.StatusCreated {
		t.Fatalf("create router: %d %s", res.status, res.body)
	}
	router := res.json(t)["id"].(string)
	p := f.createPayment(t, a.SecretKey, paymentBody(f.createPM(t, a.SecretKey), router, 1000, true))
	if p["status"] != "CAPTURED" || p["gateway"] != up || p["router"] != router {
		t.Fatalf("routed payment: %v on %v via %v", p["status"], p["gateway"], p["router"])
	}
	tr, ok := p["routing_trace"].(map[string]any)
	if !ok || tr["kind"] != "cascade" || len(tr["attempts"].([]any)) != 2 {
		t.Fatalf("routing_trace: %v", p["routing_trace"])
	}
	if len(operations(p)) != 2 || operations(p)[0]["outcome"] != "not_sent" {
		t.Fatalf("operations: %v", operations(p))
	}
	g := f.get(t, "/v1/gateways/"+down, a.SecretKey).json(t)
	if h := g["health"].(map[string]any); h["consecutive_failures"] != 1.0 || h["state"] != "closed" {
		t.Fatalf("health of the failing gateway: %v", h)
	}
	// Another account cannot use or see the router.
	if res := f.post(t, "/v1/payments", b.SecretKey, paymentBody(f.createPM(t, b.SecretKey), router, 1000, true)); res.status != 404 {
		t.Fatalf("another account's router: %d %s", res.status, res.body)
	}
	if res := f.get(t, "/v1/gateways/"+router, b.SecretKey); res.status != 404 {
		t.Fatalf("another account reading the router: %d", res.status)
	}
}
