package engine

import "github.com/kassapay/kassa/internal/payment"

// ReserveMark is reserveMark for tests that stage what a request that
// died after its reserve leaves behind.
func (c *IdempotencyClaim) ReserveMark(paymentID, operationID string) *payment.IdempotencyMark {
	return c.reserveMark(paymentID, operationID)
}
