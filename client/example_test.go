package client_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/kassapay/kassa/client"
)

// fakeKassa stands in for a kassa server in the examples: it answers any
// request with status and body.
func fakeKassa(status int, body string, header ...string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
}

func ExampleClient_CreatePaymentMethod() {
	srv := fakeKassa(http.StatusCreated, pmJSON, "Idempotent-Replayed", "true")
	defer srv.Close()

	c := client.New(srv.URL, "sk_test_…")
	var res client.Response
	pm, err := c.CreatePaymentMethod(context.Background(), &client.PaymentMethodParams{
		Card: &client.CardParams{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030, CVC: "123"},
	}, client.WithIdempotencyKey("order-1234"), client.WithResponse(&res))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(pm.ID, pm.Card.Brand, pm.Card.Last4, pm.StorageState)
	fmt.Println("replayed:", res.Replayed)
	// Output:
	// pm_1 visa 4242 retained
	// replayed: true
}

func ExampleIsNotFound() {
	srv := fakeKassa(http.StatusNotFound,
		`{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such payment_method: 'pm_404'","param":"id"}}`,
		"X-Request-Id", "req_123")
	defer srv.Close()

	c := client.New(srv.URL, "sk_test_…")
	_, err := c.PaymentMethod(context.Background(), "pm_404")
	if client.IsNotFound(err) {
		fmt.Println("gone:", err)
	}
	// Output:
	// gone: kassa: 404 resource_missing (id): No such payment_method: 'pm_404' [request req_123]
}

func ExampleClient_AllPaymentMethods() {
	srv := fakeKassa(http.StatusOK, pmList(false, "pm_2", "pm_1"))
	defer srv.Close()

	c := client.New(srv.URL, "sk_test_…")
	for pm, err := range c.AllPaymentMethods(context.Background(), &client.ListParams{Limit: 100}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(pm.ID)
	}
	// Output:
	// pm_2
	// pm_1
}

func ExampleClient_CreatePayment() {
	srv := fakeKassa(http.StatusCreated, payDeclinedJSON)
	defer srv.Close()

	c := client.New(srv.URL, "sk_test_…")
	pay, err := c.CreatePayment(context.Background(), &client.PaymentParams{
		Amount: 500, Currency: "EUR", PaymentMethod: "pm_2", Gateway: "gw_1",
	}, client.WithIdempotencyKey("order-1235"))
	if err != nil {
		// Refused by kassa, or lost on the way: sending it again under the
		// same key cannot charge twice.
		fmt.Println(err)
		return
	}
	// What the gateway said is in the payment, not in err.
	switch pay.Status {
	case client.PaymentCaptured:
		fmt.Println("paid", pay.ID)
	case client.PaymentDeclined:
		fmt.Println("declined:", pay.Operations[len(pay.Operations)-1].DeclineCode)
	default:
		fmt.Println(pay.Status)
	}
	// Output:
	// declined: insufficient_funds
}
