package spreedly

import (
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// pageSize is Spreedly's page: 20 objects.
const pageSize = 20

// listParams reads since_token and order: oldest first after since_token,
// or newest first with order=desc.
func (c *call) listParams() (payment.ListParams, error) {
	q := c.r.URL.Query()
	lp := payment.ListParams{Limit: pageSize, StartingAfter: q.Get("since_token"), Ascending: true}
	switch q.Get("order") {
	case "", "asc":
	case "desc":
		lp.Ascending = false
	default:
		return lp, fieldErr("order", keyInvalid)
	}
	return lp, nil
}

// cursorError makes an unknown since_token Spreedly's validation error; it
// never repeats the token.
func cursorError(err error) error {
	if e, ok := payment.AsError(err); ok && e.Kind == payment.KindNotFound && e.Param == "starting_after" {
		return fieldErr("since_token", keyInvalid)
	}
	return err
}

// localTransaction is a transaction that changed an object of kassa
// without a gateway call (AddPaymentMethod, RetainGateway, …). Its token is
// fresh and not kept.
func localTransaction(typ string, at time.Time, obj *node) *node {
	return object("transaction",
		str("token", payment.NewID("txn")),
		datetime("created_at", at),
		datetime("updated_at", at),
		boolean("succeeded", true),
		str("state", "succeeded"),
		str("transaction_type", typ),
		str("message", "Succeeded!").withAttr("key", "messages.transaction_succeeded"),
		obj,
	)
}
