package client_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kassapay/kassa/client"
)

const (
	webhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	endpointJSON  = `{"id":"we_1","object":"webhook_endpoint","url":"https://shop.example/hooks","description":"orders",
		"enabled_events":["payment.*"],"metadata":{"team":"a"},"status":"enabled","disabled_at":null,"disabled_reason":null,
		"failing_since":null,"secret_version":1,"old_secret_expires_at":null,"livemode":false,
		"created_at":"2026-03-01T00:00:00Z","updated_at":"2026-03-01T00:00:00Z"`
)

func TestWebhookEndpoints(t *testing.T) {
	t.Parallel()
	c := newClient(t,
		exchange{method: "POST", uri: "/v1/webhook_endpoints",
			body:   `{"url":"https://shop.example/hooks","enabled_events":["payment.*"],"description":"orders","metadata":{"team":"a"}}`,
			header: map[string]string{"Idempotency-Key": "we-1"}, status: 201,
			resp: endpointJSON + `,"secret":"` + webhookSecret + `"}`},
		exchange{method: "POST", uri: "/v1/webhook_endpoints", body: `{"url":"ftp://x","enabled_events":["nope"]}`, status: 422,
			resp: `{"error":{"type":"invalid_request_error","code":"unknown_event_type","param":"enabled_events[0]","message":"…"}}`},
		exchange{method: "GET", uri: "/v1/webhook_endpoints/we_1", resp: endpointJSON + `}`},
		exchange{method: "GET", uri: "/v1/webhook_endpoints?limit=1", resp: `{"object":"list","has_more":true,"url":"/v1/webhook_endpoints","data":[` + endpointJSON + `}]}`},
		exchange{method: "GET", uri: "/v1/webhook_endpoints?limit=1&starting_after=we_1", resp: `{"object":"list","has_more":false,"url":"/v1/webhook_endpoints","data":[]}`},
		exchange{method: "POST", uri: "/v1/webhook_endpoints/we_1", body: `{"url":"https://shop.example/v2","disabled":true}`,
			resp: strings.Replace(endpointJSON, `"status":"enabled","disabled_at":null,"disabled_reason":null`,
				`"status":"disabled","disabled_at":"2026-03-02T00:00:00Z","disabled_reason":"Disabled by the merchant."`, 1) + `}`},
		exchange{method: "POST", uri: "/v1/webhook_endpoints/we_1/rotate_secret", body: `{"expire_old_now":false}`,
			resp: strings.Replace(endpointJSON, `"secret_version":1,"old_secret_expires_at":null`,
				`"secret_version":2,"old_secret_expires_at":"2026-03-02T00:00:00Z"`, 1) + `,"secret":"` + webhookSecret + `"}`},
		exchange{method: "POST", uri: "/v1/webhook_endpoints/we_1/rotate_secret", body: `{"expire_old_now":true}`,
			resp: endpointJSON + `,"secret":"` + webhookSecret + `"}`},
		exchange{method: "DELETE", uri: "/v1/webhook_endpoints/we_1", resp: `{"id":"we_1","object":"webhook_endpoint","deleted":true}`},
		exchange{method: "DELETE", uri: "/v1/webhook_endpoints/we_1", status: 404,
			resp: `{"error":{"type":"invalid_request_error","code":"resource_missing","param":"id","message":"No such webhook_endpoint: 'we_1'"}}`},
	)
	ctx := t.Context()
	we, err := c.CreateWebhookEndpoint(ctx, &client.WebhookEndpointParams{URL: "https://shop.example/hooks",
		EnabledEvents: []string{"payment.*"}, Description: "orders", Metadata: map[string]string{"team": "a"}},
		client.WithIdempotencyKey("we-1"))
	if err != nil {
		t.Fatal(err)
	}
	if we.ID != "we_1" || we.Secret != webhookSecret || we.Status != client.WebhookEndpointEnabled || we.SecretVersion != 1 ||
		we.EnabledEvents[0] != "payment.*" || we.Metadata["team"] != "a" || we.DisabledReason != nil {
		t.Errorf("created %+v", we)
	}
	_, err = c.CreateWebhookEndpoint(ctx, &client.WebhookEndpointParams{URL: "ftp://x", EnabledEvents: []string{"nope"}})
	if e, ok := err.(*client.Error); !ok || e.Param != "enabled_events[0]" || e.StatusCode != 422 {
		t.Errorf("unknown event type: %v", err)
	}
	if we, err = c.WebhookEndpoint(ctx, "we_1"); err != nil || we.Secret != "" || we.URL != "https://shop.example/hooks" {
		t.Errorf("get: %+v %v", we, err)
	}
	var ids []string
	for we, err := range c.AllWebhookEndpoints(ctx, &client.ListParams{Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, we.ID)
	}
	if len(ids) != 1 || ids[0] != "we_1" {
		t.Errorf("all endpoints: %v", ids)
	}
	we, err = c.UpdateWebhookEndpoint(ctx, "we_1", &client.UpdateWebhookEndpointParams{URL: new("https://shop.example/v2"), Disabled: new(true)})
	if err != nil || we.Status != client.WebhookEndpointDisabled || we.DisabledReason == nil || *we.DisabledReason != "Disabled by the merchant." {
		t.Errorf("update: %+v %v", we, err)
	}
	we, err = c.RotateWebhookSecret(ctx, "we_1", nil)
	if err != nil || we.Secret != webhookSecret || we.SecretVersion != 2 ||
		we.OldSecretExpiresAt == nil || !we.OldSecretExpiresAt.Equal(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("rotate: %+v %v", we, err)
	}
	if _, err := c.RotateWebhookSecret(ctx, "we_1", &client.RotateWebhookSecretParams{ExpireOldNow: true}); err != nil {
		t.Error(err)
	}
	if d, err := c.DeleteWebhookEndpoint(ctx, "we_1"); err != nil || !d.Deleted || d.ID != "we_1" {
		t.Errorf("delete: %+v %v", d, err)
	}
	if _, err := c.DeleteWebhookEndpoint(ctx, "we_1"); !client.IsNotFound(err) {
		t.Errorf("delete again: %v, want not found", err)
	}
	if _, err := c.WebhookEndpoint(ctx, ""); err == nil {
		t.Error("an empty id was sent")
	}
}

func TestWebhookDeliveries(t *testing.T) {
	t.Parallel()
	attempt := `{"id":"wha_1","object":"webhook_attempt","delivery":"whd_1","event":"evt_1","event_type":"payment.created",
		"attempt":2,"url":"https://shop.example/hooks","succeeded":false,"status_code":503,"latency_ms":12,
		"error":null,"response_body":"busy","created_at":"2026-03-01T00:00:00Z"}`
	c := newClient(t,
		exchange{method: "POST", uri: "/v1/webhook_endpoints/we_1/ping", body: `{}`, status: 202,
			resp: `{"id":"whd_9","object":"webhook_delivery","webhook_endpoint":"we_1","message_id":"msg_9","status":"pending","created_at":"2026-03-01T00:00:00Z"}`},
		exchange{method: "POST", uri: "/v1/webhook_endpoints/we_1/recover",
			body: `{"since":"2026-03-01T00:00:00Z","until":"2026-03-02T00:00:00Z"}`, status: 202,
			resp: `{"object":"webhook_recovery","queued":3}`},
		exchange{method: "POST", uri: "/v1/webhook_endpoints/we_1/recover", body: `{}`, status: 202,
			resp: `{"object":"webhook_recovery","queued":0}`},
		exchange{method: "GET", uri: "/v1/webhook_endpoints/we_1/deliveries?limit=1",
			resp: `{"object":"list","has_more":true,"url":"/v1/webhook_endpoints/we_1/deliveries","data":[` + attempt + `]}`},
		exchange{method: "GET", uri: "/v1/webhook_endpoints/we_1/deliveries?limit=1&starting_after=wha_1",
			resp: `{"object":"list","has_more":false,"url":"/v1/webhook_endpoints/we_1/deliveries","data":[]}`},
		exchange{method: "GET", uri: "/v1/events/evt_1",
			resp: `{"id":"evt_1","object":"event","type":"payment.created","object_id":"pay_1","data":{"id":"pay_1"},"created_at":"2026-03-01T00:00:00Z"}`},
		exchange{method: "POST", uri: "/v1/events/evt_1/redeliver", body: `{}`, status: 202, resp: `{"object":"webhook_redelivery","queued":2}`},
		exchange{method: "POST", uri: "/v1/events/evt_1/redeliver", body: `{"webhook_endpoint":"we_1"}`, status: 202,
			resp: `{"object":"webhook_redelivery","queued":1}`},
		exchange{method: "GET", uri: "/v1/event_types", resp: `{"object":"list","has_more":false,"url":"/v1/event_types","data":[
			{"type":"payment.created","description":"A payment was created."},{"type":"webhook.ping","description":"A test message."}]}`},
	)
	ctx := t.Context()
	d, err := c.PingWebhookEndpoint(ctx, "we_1")
	if err != nil || d.MessageID != "msg_9" || d.WebhookEndpoint != "we_1" || d.Status != "pending" {
		t.Errorf("ping: %+v %v", d, err)
	}
	since, until := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	if q, err := c.RecoverWebhooks(ctx, "we_1", &client.RecoverWebhooksParams{Since: &since, Until: &until}); err != nil || q.Queued != 3 {
		t.Errorf("recover: %+v %v", q, err)
	}
	if q, err := c.RecoverWebhooks(ctx, "we_1", nil); err != nil || q.Queued != 0 || q.Object != "webhook_recovery" {
		t.Errorf("recover everything: %+v %v", q, err)
	}
	var got []*client.WebhookAttempt
	for a, err := range c.AllWebhookAttempts(ctx, "we_1", &client.ListParams{Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a)
	}
	if len(got) != 1 || got[0].StatusCode == nil || *got[0].StatusCode != 503 || got[0].Event == nil || *got[0].Event != "evt_1" ||
		got[0].Attempt != 2 || got[0].ResponseBody != "busy" || got[0].Error != nil {
		t.Errorf("attempts: %+v", got)
	}
	ev, err := c.Event(ctx, "evt_1")
	if err != nil || ev.ID != "evt_1" || ev.Type != "payment.created" || string(ev.Data) != `{"id":"pay_1"}` {
		t.Errorf("event: %+v %v", ev, err)
	}
	if q, err := c.RedeliverEvent(ctx, "evt_1", nil); err != nil || q.Queued != 2 {
		t.Errorf("redeliver: %+v %v", q, err)
	}
	if q, err := c.RedeliverEvent(ctx, "evt_1", &client.RedeliverEventParams{WebhookEndpoint: "we_1"}); err != nil || q.Queued != 1 {
		t.Errorf("redeliver to one: %+v %v", q, err)
	}
	types, err := c.EventTypes(ctx)
	if err != nil || len(types.Data) != 2 || types.Data[1].Type != client.EventWebhookPing {
		t.Errorf("event types: %+v %v", types, err)
	}
	for _, call := range []func() error{
		func() error { _, err := c.Event(ctx, ""); return err },
		func() error { _, err := c.RedeliverEvent(ctx, "", nil); return err },
		func() error { _, err := c.WebhookAttempts(ctx, "", nil); return err },
		func() error { _, err := c.PingWebhookEndpoint(ctx, ""); return err },
		func() error { _, err := c.RecoverWebhooks(ctx, "", nil); return err },
	} {
		if call() == nil {
			t.Error("an empty id was sent")
		}
	}
}

// TestWebhookSecretNotPrinted checks that fmt and log/slog never show an
// endpoint's signing secret.
func TestWebhookSecretNotPrinted(t *testing.T) {
	t.Parallel()
	we := client.WebhookEndpoint{ID: "we_1", URL: "https://shop.example/hooks", Status: client.WebhookEndpointEnabled,
		SecretVersion: 1, Secret: webhookSecret}
	var out []string
	for _, v := range []any{we, &we, []*client.WebhookEndpoint{&we}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x"} {
			out = append(out, fmt.Sprintf(verb, v))
		}
	}
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		slog.New(h).Info("made", "endpoint", we, "pendpoint", &we)
	}
	out = append(out, buf.String())
	for _, s := range out {
		if strings.Contains(s, webhookSecret[6:]) {
			t.Errorf("output shows the secret: %s", s)
		}
	}
	if got, want := we.String(), "webhook_endpoint we_1 (https://shop.example/hooks, enabled, secret redacted)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if !strings.Contains(buf.String(), `"id":"we_1"`) {
		t.Errorf("slog JSON lacks the id:\n%s", buf.String())
	}
}
