package web

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// TestTokenPageFlow: a token session's page saves a card and charges
// nothing: no total, a "Save card" button; a card that fails verification
// shows the form again with the decline; a verified one completes the
// session with the retained card and sends the customer back with the
// session id; the card shows nowhere.
func TestTokenPageFlow(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	cus, err := f.eng.CreateCustomer(ctx, f.p, engine.CustomerInput{})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := f.eng.CreateCheckoutSession(ctx, f.p, engine.CheckoutInput{TokenOnly: true, Currency: "NOK", MerchantReference: "save-1",
		ReturnURL: "https://shop.example/accept", GatewayID: f.gw, CustomerID: cus.ID, Locale: "en"})
	if err != nil {
		t.Fatal(err)
	}
	path := "/checkout/" + cs.ID
	res, page := f.fetch(t, "GET", path, nil, nil)
	if res.StatusCode != 200 || !strings.Contains(page, `id="submit">Save card</button>`) || strings.Contains(page, `id="total"`) {
		t.Fatalf("token page %d:\n%s", res.StatusCode, page)
	}
	// Dintero's pop-out launcher labels the SDK's button as the form's.
	if _, launcher := f.get(t, "GET", path+"?ui=inline&role=pop_out_launcher", nil); embedDataOf(t, launcher).Texts["open"] != "Save card" {
		t.Errorf("launcher of a token session: %+v", embedDataOf(t, launcher).Texts)
	}
	form := formOf(t, page)
	res, _ = f.fetch(t, "POST", path+"/pay", withCard(form, "4000000000009995"), nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("declined: %d", res.StatusCode)
	}
	_, page = f.fetch(t, "GET", path, nil, nil)
	if !strings.Contains(page, `role="alert"`) {
		t.Errorf("no decline shown:\n%s", page)
	}
	form = formOf(t, page)
	f.fetch(t, "POST", path+"/pay", withCard(form, "4242424242424242"), nil)
	got, err := f.eng.CheckoutSession(ctx, f.p.Account.ID, cs.ID)
	if err != nil || got.Status != payment.CheckoutPaid || got.CardTokenID == "" || got.PaymentID != "" {
		t.Fatalf("session %+v, %v", got, err)
	}
	pm, err := f.eng.PaymentMethod(ctx, f.p.Account.ID, got.CardTokenID)
	if err != nil || pm.StorageState != payment.StorageRetained || pm.CustomerID != cus.ID {
		t.Fatalf("saved card %+v, %v", pm, err)
	}
	_, page = f.fetch(t, "GET", path, nil, nil)
	want := "https://shop.example/accept?session_id=" + cs.ID + "&amp;merchant_reference=save-1"
	if !strings.Contains(page, "Card saved") || !strings.Contains(page, `href="`+want+`"`) {
		t.Errorf("saved page does not send the customer back to %s:\n%s", want, page)
	}
	if strings.Contains(page, "4242") || strings.Contains(f.logs.String(), "4242424242424242") || bareCVC.MatchString(f.logs.String()) {
		t.Error("card data in the page or the logs")
	}
}
