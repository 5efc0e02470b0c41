package stripe

import (
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/payment"
)

// Test card data: a Visa test number and a CVC that occurs nowhere else.
const (
	testPAN = "4242424242424242"
	testCVC = "7319"
	testKey = "sk_test_51KassaSecretKeyForTestsOnly0123456789"
)

func testCard() *gateway.Card {
	return &gateway.Card{Number: testPAN, CVC: testCVC, ExpMonth: 12, ExpYear: 2034, HolderName: "Jane Payer",
		Email:   "jane@example.com",
		Billing: payment.Address{Line1: "1 Main St", City: "Springfield", PostalCode: "12345", State: "IL", Country: "US"}}
}
