package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// TestImportPayments: imported payments read back with their operations,
// and a batch holding an operation of another payment is refused whole.
func TestImportPayments(t *testing.T) {
	s := open(t, newSchema(t))
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	a := &payment.Account{ID: payment.NewAccountID(false), Name: "import", CreatedAt: now}
	if err := s.CreateAccount(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	mk := func(ref string) *payment.Payment {
		p := &payment.Payment{ID: payment.NewID(payment.PrefixPayment), AccountID: a.ID, Amount: 1000, Currency: "EUR",
			GatewayID: "gw_x", CredentialVersion: 1, PaymentMethodID: "pm_x", Capture: true, Reference: ref,
			Metadata: map[string]string{}, Status: payment.StatusCaptured, AmountAuthorized: 1000, AmountCaptured: 1000,
			CreatedAt: now, UpdatedAt: now}
		p.Operations = []*payment.Operation{{ID: payment.NewID(payment.PrefixOperation), AccountID: a.ID, PaymentID: p.ID,
			PaymentMethodID: "pm_x", GatewayID: "gw_x", CredentialVersion: 1, Kind: payment.OpPurchase, Amount: 1000,
			Currency: "EUR", Outcome: payment.OutcomeSucceeded, CreatedAt: now, UpdatedAt: now}}
		return p
	}
	ps := []*payment.Payment{mk("i-1"), mk("i-2")}
	if err := s.ImportPayments(ctx, ps); err != nil {
		t.Fatal(err)
	}
	got, err := s.Payment(ctx, a.ID, ps[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Reference != "i-2" || len(got.Operations) != 1 || got.Operations[0].ID != ps[1].Operations[0].ID {
		t.Errorf("imported payment %+v", got)
	}
	bad := []*payment.Payment{mk("i-3"), mk("i-4")}
	bad[1].Operations[0].PaymentID = bad[0].ID
	if err := s.ImportPayments(ctx, bad); err == nil {
		t.Error("an operation of another payment was imported")
	}
	if _, err := s.Payment(ctx, a.ID, bad[0].ID); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("a refused batch left payment i-3: %v", err)
	}
}
