package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// TestConnectors: a connector is a gateway with keys and a sealed secret;
// its credentials and secret change as the native API's do, and what it
// routes to must be the account's own. On both stores.
func TestConnectors(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, b.open(t))
			testConnectors(t, f)
		})
	}
}

func testConnectors(t *testing.T, f *fixture) {
	ctx := context.Background()
	p, _ := f.account(t, false)
	other, _ := f.account(t, false)
	in := engine.ConnectorInput{Name: "Simulator A", Type: "simulator", APIKey: "sim-a", SharedSecret: "first-secret",
		Credentials: map[string]any{"login": "user", "password": "first-password-0001"}, SignatureRequired: true,
		DisabledTransactionTypes: []string{"refund"}, Attributes: json.RawMessage(`{"name":"Simulator A"}`)}
	d, err := f.eng.CreateConnector(ctx, p, in)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^CO-[0-9A-F]{4}(-[0-9A-F]{4}){5}$`).MatchString(d.GUID) || d.PublicIntegrationKey == "" || d.GeneratedSecret != "" {
		t.Errorf("connector %+v", d.Connector)
	}
	if d.Gateway.Type != "simulator" || d.Gateway.Description != "Simulator A" || d.Gateway.CredentialVersion != 1 {
		t.Errorf("gateway %+v", d.Gateway.Gateway)
	}
	if s, err := f.eng.ConnectorSecret(ctx, d.Connector); err != nil || s != "first-secret" {
		t.Errorf("secret %q, %v", s, err)
	}
	if _, err := f.eng.CreateConnector(ctx, p, in); errParam(err) != "apiKey" {
		t.Errorf("a second connector with the same API key: %v", err)
	}
	gen, err := f.eng.CreateConnector(ctx, other, engine.ConnectorInput{Name: "Other", Type: "simulator", APIKey: "sim-a"})
	if err != nil || len(gen.GeneratedSecret) < 20 || gen.APIKey != "sim-a" {
		t.Fatalf("the same API key in another account, a generated secret: %+v, %v", gen, err)
	}
	if s, _ := f.eng.ConnectorSecret(ctx, gen.Connector); s != gen.GeneratedSecret {
		t.Errorf("generated secret %q opens to %q", gen.GeneratedSecret, s)
	}

	// Masked values change nothing; a new password makes version 2.
	in.Credentials = map[string]any{"password": engine.SecretMask + "0001"}
	in.SharedSecret = engine.SecretMask
	if d, err = f.eng.UpdateConnector(ctx, p, d.GUID, in); err != nil || d.Gateway.CredentialVersion != 1 {
		t.Fatalf("masked update: version %d, %v", d.Gateway.CredentialVersion, err)
	}
	if s, _ := f.eng.ConnectorSecret(ctx, d.Connector); s != "first-secret" {
		t.Errorf("a masked secret replaced the secret with %q", s)
	}
	in.Credentials = map[string]any{"password": "second-password-02"}
	in.SharedSecret = "second-secret"
	in.Name = "Renamed"
	in.DisabledTransactionTypes = nil
	if d, err = f.eng.UpdateConnector(ctx, p, d.GUID, in); err != nil || d.Gateway.CredentialVersion != 2 || d.Gateway.Description != "Renamed" {
		t.Fatalf("update: %+v, %v", d, err)
	}
	if s, _ := f.eng.ConnectorSecret(ctx, d.Connector); s != "second-secret" || len(d.DisabledTransactionTypes) != 0 {
		t.Errorf("secret %q, disabled %v", s, d.DisabledTransactionTypes)
	}
	if _, err := f.eng.UpdateConnector(ctx, p, d.GUID, engine.ConnectorInput{Name: "X", Type: "router"}); errParam(err) != "type" {
		t.Errorf("changing the type: %v", err)
	}
	if _, err := f.eng.UpdateConnector(ctx, other, d.GUID, in); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("another account's update: %v", err)
	}

	// A meta-connector routes to the account's own connectors only.
	two, err := f.eng.CreateConnector(ctx, p, engine.ConnectorInput{Name: "Simulator B", Type: "simulator"})
	if err != nil {
		t.Fatal(err)
	}
	meta := engine.ConnectorInput{Name: "Meta", Type: engine.RouterType, Routing: &engine.ConnectorRouting{Cascade: []string{d.GUID, gen.GUID}}}
	if _, err := f.eng.CreateConnector(ctx, p, meta); !errors.Is(err, payment.ErrNotFound) || errParam(err) != "routing.cascade[1]" {
		t.Errorf("routing to another account's connector: %v", err)
	}
	meta.Routing.Cascade[1] = two.GUID
	m, err := f.eng.CreateConnector(ctx, p, meta)
	if err != nil {
		t.Fatal(err)
	}
	if cascade := m.Gateway.Settings["default"].(map[string]any)["cascade"].([]any); len(cascade) != 2 || cascade[1] != two.GatewayID {
		t.Errorf("router settings %v", m.Gateway.Settings)
	}
	if _, err := f.eng.CreateConnector(ctx, p, engine.ConnectorInput{Name: "Meta2", Type: engine.RouterType,
		Routing: &engine.ConnectorRouting{Default: m.GUID}}); errParam(err) != "routing.default" {
		t.Errorf("routing to a meta-connector: %v", err)
	}

	// Archive, twice; events never hold a secret.
	for range 2 {
		if a, err := f.eng.ArchiveConnector(ctx, p, d.GUID); err != nil || !a.Archived {
			t.Fatalf("archive: %+v, %v", a, err)
		}
	}
	list, err := f.eng.ConnectorDetails(ctx, p)
	if err != nil || len(list) != 3 || list[0].GUID != d.GUID {
		t.Errorf("list: %d, %v", len(list), err)
	}
	evs, _, err := f.eng.Events(ctx, p.Account.ID, payment.ListParams{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	archived := 0
	for _, e := range evs {
		for _, s := range []string{"first-secret", "second-secret", "first-password-0001", "second-password-02"} {
			if strings.Contains(string(e.Data), s) {
				t.Errorf("event %s holds %q", e.Type, s)
			}
		}
		if e.Type == "connector.archived" {
			archived++
		}
		if !engine.KnownEventType(e.Type) {
			t.Errorf("event type %s is not listed", e.Type)
		}
	}
	if archived != 1 {
		t.Errorf("%d connector.archived events, want 1", archived)
	}
}

func errParam(err error) string {
	if e, ok := payment.AsError(err); ok {
		return e.Param
	}
	return ""
}
