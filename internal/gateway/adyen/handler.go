package adyen

import (
	"context"
	"fmt"

	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/payment"
)

var _ gateway.NotificationHandler = (*Adapter)(nil)

// ReadNotifications verifies an Adyen webhook with the gateway's HMAC key
// and returns the outcomes it settles. Items of another merchant account
// (a company-level webhook serves several) are left out, as are events
// that settle no operation (a chargeback, a report); a batch from the
// other platform (live to a sandbox gateway, or the reverse) is refused.
func (a *Adapter) ReadNotifications(_ context.Context, c gateway.Config, body []byte) ([]gateway.Notification, error) {
	items, err := ParseNotification(body, c.Credentials["hmac_key"])
	if err != nil {
		return nil, err
	}
	var out []gateway.Notification
	for _, it := range items {
		if it.MerchantAccount != c.Credentials["merchant_account"] {
			continue
		}
		if it.Live == c.Sandbox {
			return nil, fmt.Errorf("adyen: notification from the other platform (live=%t, sandbox gateway=%t)", it.Live, c.Sandbox)
		}
		outcome, code := it.Outcome()
		if outcome == "" {
			continue
		}
		res := gateway.Result{Outcome: outcome, DeclineCode: code, GatewayReference: it.PSPReference, Message: it.Reason}
		if outcome == payment.OutcomeSucceeded && res.Message == "" {
			res.Message = it.EventCode
		}
		out = append(out, gateway.Notification{Reference: it.MerchantReference, Result: res})
	}
	return out, nil
}

// NotificationAnswer is what Adyen expects once a batch is applied.
func (a *Adapter) NotificationAnswer() string { return Accepted }
