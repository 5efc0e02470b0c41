// Package client is the Go client of kassa's native HTTP API.
//
// It speaks only the wire contract (JSON over HTTP, bearer-key auth) and
// imports nothing of the server, so programs outside the kassa module can use
// it as it is.
//
//	c := client.New("https://kassa.example.com", os.Getenv("KASSA_KEY"))
//	pm, err := c.CreatePaymentMethod(ctx, &client.PaymentMethodParams{
//		Card: &client.CardParams{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030, CVC: "123"},
//	}, client.WithIdempotencyKey("order-1234"))
//	if err != nil {
//		return err
//	}
//	fmt.Println(pm.ID, pm.Card.Brand, pm.Card.Last4)
//
//	for pm, err := range c.AllPaymentMethods(ctx, nil) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(pm.ID)
//	}
//
// # Payments
//
// A payment goes through a gateway (CreateGateway) and is changed only by
// its operations: CreatePayment purchases or authorizes, CapturePayment,
// VoidPayment and RefundPayment follow up. What the gateway answered is in
// the payment, not in the error: a declined card is a payment with status
// PaymentDeclined and the decline code on its operation, returned without
// error.
//
//	pay, err := c.CreatePayment(ctx, &client.PaymentParams{
//		Amount: 1000, Currency: "EUR", PaymentMethod: pm.ID, Gateway: gw.ID,
//	}, client.WithIdempotencyKey("order-1234"))
//	if err != nil {
//		return err // refused by kassa, or lost in transit: retry with the same key
//	}
//	if pay.Status == client.PaymentDeclined {
//		fmt.Println("declined:", pay.Operations[0].DeclineCode)
//	}
//
// # Webhooks
//
// CreateWebhookEndpoint registers a URL for the account's events and
// returns its signing secret once; RotateWebhookSecret replaces it (the old
// one keeps signing beside the new for 24 hours). WebhookAttempts reads the
// delivery log; RedeliverEvent and RecoverWebhooks send again, under the
// same webhook-id.
//
//	we, err := c.CreateWebhookEndpoint(ctx, &client.WebhookEndpointParams{
//		URL: "https://shop.example/hooks", EnabledEvents: []string{"payment.*"},
//	})
//	if err != nil {
//		return err
//	}
//	store(we.ID, we.Secret) // whsec_…: shown this once
//
// # Errors
//
// Any answer with a 4xx or 5xx status is returned as an *Error carrying the
// status, the error type and code, the offending parameter and the request
// id; test for it with errors.As or helpers such as IsNotFound. Transport
// failures are returned as they come from net/http, wrapped.
//
// # Idempotency and replays
//
// POST requests may carry WithIdempotencyKey. The client never retries on its
// own: a request that failed in transit may or may not have happened, and
// only the caller knows whether to send it again under the same key. To learn
// whether the server answered a retry from its idempotency store, pass
// WithResponse and read Response.Replayed.
//
// # Secrets
//
// The API key never appears in an error, nor in what fmt or log/slog print of
// a Client. Card numbers and CVCs in CardParams, gateway credentials in
// GatewayParams and GatewayCredentialsParams, the secret of a newly made
// APIKey and the signing secret of a WebhookEndpoint are likewise redacted
// when printed or logged.
package client
