package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

func newConnector(accountID, guid, apiKey string) *payment.Connector {
	return &payment.Connector{AccountID: accountID, GUID: guid, GatewayID: "gw_1", APIKey: apiKey,
		PublicIntegrationKey: "pk_test_" + apiKey, SharedSecretSealed: []byte("sealed"), SignatureRequired: true,
		DisabledTransactionTypes: []string{"refund", "payout"}, Attributes: json.RawMessage(`{"name":"Sim","method":"Creditcard"}`),
		CreatedAt: t0, UpdatedAt: t0}
}

// testConnectors: round trip, lookups by guid and API key within the
// account only, uniqueness of both per account, and the update.
func testConnectors(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	c := newConnector(a.ID, "CO-aaaa-bbbb-cccc-dddd-eeee-ffff", "key-one")
	if err := s.CreateConnector(ctx, c, newEvent(a.ID, "connector.created", c.GUID, t0)); err != nil {
		t.Fatal(err)
	}
	for _, get := range []func() (*payment.Connector, error){
		func() (*payment.Connector, error) { return s.Connector(ctx, a.ID, c.GUID) },
		func() (*payment.Connector, error) { return s.ConnectorByAPIKey(ctx, a.ID, c.APIKey) },
	} {
		got, err := get()
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "connector", got, c)
	}
	if _, err := s.Connector(ctx, b.ID, c.GUID); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("another account's connector by guid: %v", err)
	}
	if _, err := s.ConnectorByAPIKey(ctx, b.ID, c.APIKey); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("another account's connector by API key: %v", err)
	}
	for _, dup := range []*payment.Connector{
		newConnector(a.ID, c.GUID, "key-two"),
		newConnector(a.ID, "CO-aaaa-bbbb-cccc-dddd-eeee-0000", c.APIKey),
	} {
		if err := s.CreateConnector(ctx, dup, newEvent(a.ID, "connector.created", dup.GUID, t0)); !errors.Is(err, payment.ErrConflict) {
			t.Errorf("duplicate guid or API key: %v, want ErrConflict", err)
		}
	}
	other := newConnector(b.ID, c.GUID, c.APIKey) // the same in another account is fine
	if err := s.CreateConnector(ctx, other, newEvent(b.ID, "connector.created", other.GUID, t0)); err != nil {
		t.Errorf("the same guid and API key in another account: %v", err)
	}
	second := newConnector(a.ID, "CO-aaaa-bbbb-cccc-dddd-eeee-1111", "key-two")
	if err := s.CreateConnector(ctx, second, newEvent(a.ID, "connector.created", second.GUID, t0)); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(time.Minute)
	got, err := s.UpdateConnector(ctx, a.ID, c.GUID, func(c *payment.Connector) (*payment.Event, error) {
		c.Archived, c.DisabledTransactionTypes, c.UpdatedAt = true, nil, later
		c.Attributes = json.RawMessage(`{"name":"Renamed"}`)
		return newEvent(a.ID, "connector.updated", c.GUID, later), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Archived || len(got.DisabledTransactionTypes) != 0 || string(got.Attributes) != `{"name":"Renamed"}` {
		t.Errorf("updated %+v", got)
	}
	if _, err := s.UpdateConnector(ctx, a.ID, c.GUID, func(c *payment.Connector) (*payment.Event, error) {
		c.APIKey = "key-two"
		return nil, nil
	}); !errors.Is(err, payment.ErrConflict) {
		t.Errorf("update onto another connector's API key: %v, want ErrConflict", err)
	}
	list, err := s.Connectors(ctx, a.ID)
	if err != nil || len(list) != 2 || list[0].GUID != c.GUID || list[1].GUID != second.GUID {
		t.Errorf("Connectors = %d, %v", len(list), err)
	}
	if list, _ := s.Connectors(ctx, newAccount(t, s).ID); len(list) != 0 {
		t.Errorf("a new account lists %d connectors", len(list))
	}
}
