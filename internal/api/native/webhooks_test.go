package native

import (
	"os"
	"strings"
	"testing"
)

// TestWebhookRoutes drives the webhook endpoints over HTTP: the secret is
// shown once, never read back or kept for an idempotent replay; bad input
// is a 422 naming the field; another account's ids are 404 on every route.
func TestWebhookRoutes(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.account(t)
	res := f.do(t, req{method: "POST", path: "/v1/webhook_endpoints", key: a.SecretKey,
		body:   `{"url":"http://127.0.0.1:9/hooks","enabled_events":["payment.*","payment_method.created"],"description":"orders"}`,
		header: map[string]string{"Idempotency-Key": "create-endpoint-1"}})
	if res.status != 201 {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	ep := res.json(t)
	id, secret := ep["id"].(string), ep["secret"].(string)
	if !strings.HasPrefix(id, "we_") || !strings.HasPrefix(secret, "whsec_") || ep["status"] != "enabled" {
		t.Fatalf("endpoint %s", res.body)
	}
	for _, path := range []string{"/v1/webhook_endpoints/" + id, "/v1/webhook_endpoints", "/v1/events"} {
		if body := string(f.get(t, path, a.SecretKey).body); strings.Contains(body, secret) || strings.Contains(body, `"secret":`) {
			t.Errorf("%s shows the secret: %s", path, body)
		}
	}
	// A retry with the same key makes another secret rather than replaying
	// a stored one.
	again := f.do(t, req{method: "POST", path: "/v1/webhook_endpoints", key: a.SecretKey,
		body:   `{"url":"http://127.0.0.1:9/hooks","enabled_events":["payment.*","payment_method.created"],"description":"orders"}`,
		header: map[string]string{"Idempotency-Key": "create-endpoint-1"}})
	if again.status != 201 || strings.Contains(string(again.body), secret) {
		t.Errorf("a retried create replayed the secret: %d %s", again.status, again.body)
	}
	rot := f.post(t, "/v1/webhook_endpoints/"+id+"/rotate_secret", a.SecretKey, `{}`)
	if rot.status != 200 || rot.json(t)["secret"] == secret || rot.json(t)["old_secret_expires_at"] == nil {
		t.Errorf("rotate: %d %s", rot.status, rot.body)
	}
	f.store.Close()
	db, err := os.ReadFile(f.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(f.dbPath + "-wal")
	for _, s := range []string{secret, rot.json(t)["secret"].(string)} {
		key := strings.TrimPrefix(s, "whsec_")
		if strings.Contains(string(db)+string(wal), key) {
			t.Errorf("a signing secret is stored in the clear")
		}
	}
	if strings.Contains(f.logs.String(), secret) {
		t.Error("the logs hold a signing secret")
	}
}

func TestWebhookRoutesValidateAndIsolate(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b := f.account(t), f.account(t)
	res := f.post(t, "/v1/webhook_endpoints", a.SecretKey, `{"url":"http://127.0.0.1:9/hooks","enabled_events":["*"]}`)
	if res.status != 201 {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	id := res.json(t)["id"].(string)
	evs := f.get(t, "/v1/events", a.SecretKey).json(t)["data"].([]any)
	if len(evs) == 0 {
		t.Fatal("no event")
	}
	evID := evs[0].(map[string]any)["id"].(string)

	for _, c := range []struct{ body, code, param string }{
		{`{"enabled_events":["*"]}`, "parameter_missing", "url"},
		{`{"url":"https://example.com"}`, "parameter_missing", "enabled_events"},
		{`{"url":"gopher://example.com","enabled_events":["*"]}`, "parameter_invalid", "url"},
		{`{"url":"https://example.com","enabled_events":["*","payment.nope"]}`, "unknown_event_type", "enabled_events[1]"},
		{`{"url":"https://example.com","enabled_events":["*"],"secret":"whsec_x"}`, "parameter_unknown", "secret"},
	} {
		wantError(t, f.post(t, "/v1/webhook_endpoints", a.SecretKey, c.body), 422, "invalid_request_error", c.code, c.param)
	}
	wantError(t, f.post(t, "/v1/webhook_endpoints/"+id, a.SecretKey, `{"enabled_events":["pay.*"]}`), 422, "invalid_request_error", "unknown_event_type", "enabled_events[0]")
	wantError(t, f.post(t, "/v1/webhook_endpoints/"+id+"/recover", a.SecretKey,
		`{"since":"2026-11-23T00:00:00Z","until":"2026-11-22T00:00:00Z"}`), 422, "invalid_request_error", "parameter_invalid", "until")

	for _, q := range []req{
		{method: "GET", path: "/v1/webhook_endpoints/" + id},
		{method: "POST", path: "/v1/webhook_endpoints/" + id, body: `{"description":"stolen"}`},
		{method: "DELETE", path: "/v1/webhook_endpoints/" + id},
		{method: "POST", path: "/v1/webhook_endpoints/" + id + "/rotate_secret"},
		{method: "POST", path: "/v1/webhook_endpoints/" + id + "/ping"},
		{method: "POST", path: "/v1/webhook_endpoints/" + id + "/recover"},
		{method: "GET", path: "/v1/webhook_endpoints/" + id + "/deliveries"},
		{method: "GET", path: "/v1/events/" + evID},
		{method: "POST", path: "/v1/events/" + evID + "/redeliver"},
	} {
		q.key = b.SecretKey
		t.Run(q.method+" "+q.path, func(t *testing.T) {
			wantError(t, f.do(t, q), 404, "invalid_request_error", "resource_missing", "id")
		})
	}
	// B's own event redelivered to A's endpoint: the endpoint is not B's.
	f.post(t, "/v1/webhook_endpoints", b.SecretKey, `{"url":"http://127.0.0.1:9/b","enabled_events":["*"]}`)
	bEv := f.get(t, "/v1/events", b.SecretKey).json(t)["data"].([]any)[0].(map[string]any)["id"].(string)
	wantError(t, f.post(t, "/v1/events/"+bEv+"/redeliver", b.SecretKey, `{"webhook_endpoint":"`+id+`"}`), 404, "invalid_request_error", "resource_missing", "webhook_endpoint")
	if list := f.get(t, "/v1/webhook_endpoints", b.SecretKey); strings.Contains(string(list.body), id) {
		t.Errorf("B lists A's endpoint")
	}
	// A's endpoint is untouched.
	got := f.get(t, "/v1/webhook_endpoints/"+id, a.SecretKey).json(t)
	if got["description"] != "" || got["secret_version"] != float64(1) {
		t.Errorf("A's endpoint changed: %v", got)
	}
	types := f.get(t, "/v1/event_types", a.SecretKey).json(t)["data"].([]any)
	if len(types) < 50 {
		t.Errorf("%d event types", len(types))
	}
	// The rest of the lifecycle.
	if res := f.post(t, "/v1/webhook_endpoints/"+id+"/ping", a.SecretKey, ""); res.status != 202 {
		t.Errorf("ping: %d %s", res.status, res.body)
	}
	if res := f.post(t, "/v1/events/"+evID+"/redeliver", a.SecretKey, `{"webhook_endpoint":"`+id+`"}`); res.status != 202 {
		t.Errorf("redeliver: %d %s", res.status, res.body)
	}
	if res := f.post(t, "/v1/webhook_endpoints/"+id, a.SecretKey, `{"disabled":true}`); res.json(t)["status"] != "disabled" {
		t.Errorf("disable: %s", res.body)
	}
	wantError(t, f.post(t, "/v1/webhook_endpoints/"+id+"/ping", a.SecretKey, ""), 409, "invalid_request_error", "invalid_state", "")
	if res := f.do(t, req{method: "DELETE", path: "/v1/webhook_endpoints/" + id, key: a.SecretKey}); res.status != 200 || res.json(t)["deleted"] != true {
		t.Errorf("delete: %d %s", res.status, res.body)
	}
	wantError(t, f.get(t, "/v1/webhook_endpoints/"+id, a.SecretKey), 404, "invalid_request_error", "resource_missing", "id")
}
