package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/kassapay/kassa/client"
)

// TestCustomerDeletionLeavesNoCardData deletes a customer through the real
// server and checks that its cards are redacted as the API shows them,
// that their numbers and CVCs are nowhere in the data directory (database
// file and WAL included) or the server's output, and that its payment
// stays readable.
func TestCustomerDeletionLeavesNoCardData(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, dir, env(map[string]string{"KASSA_LOG_LEVEL": "debug"}))
	ctx := context.Background()
	c := client.New(s.URL, s.bootstrapKey(t))

	cus, err := c.CreateCustomer(ctx, &client.CustomerParams{ExternalID: "crm-1", Email: "kari@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	// Four-digit CVCs and card numbers used by no other test here, so that
	// a match is this test's.
	var pms []*client.PaymentMethod
	for _, cd := range []*client.PaymentMethodParams{card("378734493671000", "5827"), card("6011111111111117", "604")} {
		cd.Customer, cd.Retain = cus.ID, true
		pm, err := c.CreatePaymentMethod(ctx, cd)
		if err != nil {
			t.Fatal(err)
		}
		pms = append(pms, pm)
	}
	gw, err := c.CreateGateway(ctx, &client.GatewayParams{Type: "simulator", Description: "customers"})
	if err != nil {
		t.Fatal(err)
	}
	pay, err := c.CreatePayment(ctx, &client.PaymentParams{Amount: 1200, Currency: "EUR", PaymentMethod: pms[0].ID, Gateway: gw.ID})
	if err != nil {
		t.Fatal(err)
	}
	if pay.Customer != cus.ID {
		t.Errorf("payment's customer %q, want %q", pay.Customer, cus.ID)
	}
	if _, err := c.CreateCustomerToken(ctx, cus.ID, &client.CustomerTokenParams{Type: "sha1:email", Value: "5baa61e4"}); err != nil {
		t.Fatal(err)
	}

	if d, err := c.DeleteCustomer(ctx, cus.ID); err != nil || !d.Deleted {
		t.Fatalf("DeleteCustomer = %+v, %v", d, err)
	}
	for _, pm := range pms {
		got, err := c.PaymentMethod(ctx, pm.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.StorageState != client.StorageRedacted || got.RedactedAt == nil || got.Customer != cus.ID {
			t.Errorf("payment method %s after its customer's deletion: %+v", pm.ID, got)
		}
	}
	if got, err := c.Payment(ctx, pay.ID); err != nil || got.Customer != cus.ID || got.AmountCaptured != 1200 {
		t.Errorf("payment after its customer's deletion: %+v, %v", got, err)
	}
	if _, err := c.Customer(ctx, cus.ID); !client.IsNotFound(err) {
		t.Errorf("Customer after deletion: %v, want not found", err)
	}
	// The cards are gone for payments too.
	if _, err := c.CreatePayment(ctx, &client.PaymentParams{Amount: 100, Currency: "EUR", PaymentMethod: pms[1].ID, Gateway: gw.ID}); !client.IsConflict(err) {
		t.Errorf("payment on a deleted customer's card: %v, want a conflict", err)
	}

	secrets := []string{"378734493671000", "6011111111111117", "5827"}
	s.checkNothingAtRest(t, "after the customer's deletion", secrets, nil)
	s.Stop(t)
	s.checkNothingAtRest(t, "after shutdown", secrets, nil)
}
