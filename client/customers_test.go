package client_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/kassapay/kassa/client"
)

const customerJSON = `{"id":"cus_1","object":"customer","external_id":"crm-17","email":"kari@example.com","name":"Kari",
	"phone":null,"metadata":{"tier":"gold"},"default_payment_method":"pm_1","deleted":false,
	"created_at":"2026-03-01T12:00:00Z","updated_at":"2026-03-01T12:05:00Z"}`

var customer1 = &client.Customer{ID: "cus_1", Object: "customer", ExternalID: "crm-17", Email: "kari@example.com", Name: "Kari",
	Metadata: map[string]string{"tier": "gold"}, DefaultPaymentMethod: "pm_1",
	CreatedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2026, 3, 1, 12, 5, 0, 0, time.UTC)}

const tokenJSON = `{"id":"ctok_1","object":"customer_token","customer":"cus_1","token_id":"a/b","type":"sha1:email","value":"5baa",
	"metadata":{},"created_at":"2026-03-01T12:00:00Z","created_by":"key_1","updated_at":"2026-03-01T13:00:00Z","updated_by":"key_2",
	"deleted_at":"2026-03-01T13:00:00Z","deleted_by":"key_2"}`

func TestCustomers(t *testing.T) {
	t.Parallel()
	deleted := time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC)
	token := &client.CustomerToken{ID: "ctok_1", Object: "customer_token", Customer: "cus_1", TokenID: "a/b", Type: "sha1:email",
		Value: "5baa", Metadata: map[string]string{}, CreatedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), CreatedBy: "key_1",
		UpdatedAt: deleted, UpdatedBy: "key_2", DeletedAt: &deleted, DeletedBy: "key_2"}
	c := newClient(t,
		exchange{method: "POST", uri: "/v1/customers", header: map[string]string{"Idempotency-Key": "k1"},
			body: `{"external_id":"crm-17","email":"kari@example.com","name":"Kari","metadata":{"tier":"gold"}}`, status: 201, resp: customerJSON},
		exchange{method: "GET", uri: "/v1/customers/cus_1", resp: customerJSON},
		exchange{method: "POST", uri: "/v1/customers/cus_1", body: `{"phone":"","default_payment_method":"pm_1"}`, resp: customerJSON},
		exchange{method: "GET", uri: "/v1/customers?email=kari%40example.com&external_id=crm-17&limit=1",
			resp: `{"object":"list","data":[` + customerJSON + `],"has_more":false,"url":"/v1/customers"}`},
		exchange{method: "GET", uri: "/v1/customers/cus_1/payment_methods?starting_after=pm_9",
			resp: `{"object":"list","data":[` + pmJSON + `],"has_more":false,"url":"/v1/customers/cus_1/payment_methods"}`},
		exchange{method: "POST", uri: "/v1/customers/cus_1/tokens", body: `{"type":"sha1:email","value":"5baa","token_id":"a/b"}`,
			status: 201, resp: tokenJSON},
		exchange{method: "GET", uri: "/v1/customers/cus_1/tokens?limit=5",
			resp: `{"object":"list","data":[` + tokenJSON + `],"has_more":false,"url":"/v1/customers/cus_1/tokens"}`},
		exchange{method: "DELETE", uri: "/v1/customers/cus_1/tokens/a%2Fb", resp: tokenJSON},
		exchange{method: "DELETE", uri: "/v1/customers/cus_1", resp: `{"id":"cus_1","object":"customer","deleted":true}`},
		exchange{method: "GET", uri: "/v1/customers/cus_1", status: 404,
			resp: `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such customer: 'cus_1'","param":"id"}}`},
		exchange{method: "GET", uri: "/v1/customers?email=kari%40example.com",
			resp: `{"object":"list","data":[` + customerJSON + `],"has_more":false,"url":"/v1/customers"}`},
	)
	ctx := t.Context()
	got, err := c.CreateCustomer(ctx, &client.CustomerParams{ExternalID: "crm-17", Email: "kari@example.com", Name: "Kari",
		Metadata: map[string]string{"tier": "gold"}}, client.WithIdempotencyKey("k1"))
	if err != nil || !reflect.DeepEqual(got, customer1) {
		t.Fatalf("CreateCustomer = %+v, %v", got, err)
	}
	if got, err := c.Customer(ctx, "cus_1"); err != nil || !reflect.DeepEqual(got, customer1) {
		t.Errorf("Customer = %+v, %v", got, err)
	}
	if _, err := c.UpdateCustomer(ctx, "cus_1", &client.UpdateCustomerParams{Phone: new(""), DefaultPaymentMethod: new("pm_1")}); err != nil {
		t.Errorf("UpdateCustomer: %v", err)
	}
	l, err := c.ListCustomers(ctx, &client.CustomerListParams{ListParams: client.ListParams{Limit: 1}, Email: "kari@example.com", ExternalID: "crm-17"})
	if err != nil || len(l.Data) != 1 || !reflect.DeepEqual(l.Data[0], customer1) {
		t.Errorf("ListCustomers = %+v, %v", l, err)
	}
	pms, err := c.ListCustomerPaymentMethods(ctx, "cus_1", &client.ListParams{StartingAfter: "pm_9"})
	if err != nil || len(pms.Data) != 1 || pms.Data[0].ID != "pm_1" {
		t.Errorf("ListCustomerPaymentMethods = %+v, %v", pms, err)
	}
	tok, err := c.CreateCustomerToken(ctx, "cus_1", &client.CustomerTokenParams{Type: "sha1:email", Value: "5baa", TokenID: "a/b"})
	if err != nil || !reflect.DeepEqual(tok, token) {
		t.Errorf("CreateCustomerToken = %+v, %v", tok, err)
	}
	toks, err := c.ListCustomerTokens(ctx, "cus_1", &client.ListParams{Limit: 5})
	if err != nil || len(toks.Data) != 1 || !reflect.DeepEqual(toks.Data[0], token) {
		t.Errorf("ListCustomerTokens = %+v, %v", toks, err)
	}
	if tok, err := c.DeleteCustomerToken(ctx, "cus_1", "a/b"); err != nil || tok.DeletedBy != "key_2" {
		t.Errorf("DeleteCustomerToken = %+v, %v", tok, err)
	}
	if d, err := c.DeleteCustomer(ctx, "cus_1"); err != nil || !d.Deleted || d.ID != "cus_1" {
		t.Errorf("DeleteCustomer = %+v, %v", d, err)
	}
	if _, err := c.Customer(ctx, "cus_1"); !client.IsNotFound(err) {
		t.Errorf("Customer after delete: %v, want not found", err)
	}
	n := 0
	for cus, err := range c.AllCustomers(ctx, &client.CustomerListParams{Email: "kari@example.com"}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if cus.ID != "cus_1" {
			t.Errorf("AllCustomers yields %s", cus.ID)
		}
	}
	if n != 1 {
		t.Errorf("AllCustomers yielded %d", n)
	}
	if _, err := c.Customer(ctx, ""); err == nil {
		t.Error("Customer with an empty id made a request")
	}
	if _, err := c.DeleteCustomerToken(ctx, "cus_1", ""); err == nil {
		t.Error("DeleteCustomerToken with an empty token id made a request")
	}
}

func TestCustomerEvents(t *testing.T) {
	t.Parallel()
	ev := &client.Event{ID: "evt_1", Type: client.EventCustomerDeleted,
		Data: []byte(`{"id":"cus_1","object":"customer","external_id":null,"deleted":true,"metadata":{}}`)}
	c, err := ev.Customer()
	if err != nil || c.ID != "cus_1" || !c.Deleted || c.ExternalID != "" {
		t.Errorf("Customer() = %+v, %v", c, err)
	}
	if _, err := ev.CustomerToken(); err == nil {
		t.Error("CustomerToken() of a customer event succeeded")
	}
	ev = &client.Event{ID: "evt_2", Type: client.EventCustomerTokenDeleted, Data: []byte(tokenJSON)}
	tok, err := ev.CustomerToken()
	if err != nil || tok.DeletedBy != "key_2" || tok.TokenID != "a/b" {
		t.Errorf("CustomerToken() = %+v, %v", tok, err)
	}
	if _, err := ev.Customer(); err == nil {
		t.Error("Customer() of a token event succeeded")
	}
}
