package native

import (
	"errors"
	"strings"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// accountObject is the caller's account.
type accountObject struct {
	ID     string `json:"id"`
	Object string `json:"object"`
	Name   string `json:"name"`
	Live   bool   `json:"live"`
	// IXOPAYMerchantGUID is the account as the IXOPAY dialect names it.
	IXOPAYMerchantGUID string `json:"ixopay_merchant_guid"`
	// DinteroAccountID is the account as the Dintero dialect names it:
	// the {aid} of its paths and audiences.
	DinteroAccountID string `json:"dintero_account_id"`
	// CheckoutEmbedOrigins may frame the hosted checkout page.
	CheckoutEmbedOrigins []string  `json:"checkout_embed_origins"`
	CreatedAt            time.Time `json:"created_at"`
}

func accountObjectOf(a *payment.Account) accountObject {
	origins := a.CheckoutEmbedOrigins
	if origins == nil {
		origins = []string{}
	}
	return accountObject{ID: a.ID, Object: "account", Name: a.Name, Live: a.Live,
		IXOPAYMerchantGUID: payment.IXOPAYMerchantGUID(a.ID), DinteroAccountID: payment.DinteroAccountID(a.ID),
		CheckoutEmbedOrigins: origins, CreatedAt: a.CreatedAt}
}

// notFoundAs gives a not-found error of an object looked up by id its
// native form: resource_missing, param "id", naming the id only when it has
// the shape of one (a client may put anything in a URL, a card number too).
func notFoundAs(err error, noun, id string) error {
	if !errors.Is(err, payment.ErrNotFound) {
		return err
	}
	if idShaped(id) {
		return payment.NotFound(noun, id)
	}
	return &payment.Error{Kind: payment.KindNotFound, Code: payment.CodeResourceMissing, Param: "id",
		Message: "No such " + noun + "."}
}

// idShaped reports whether s looks like a kassa id: a lower-case prefix,
// "_", and base62 characters, at most 64 in all.
func idShaped(s string) bool {
	prefix, rest, ok := strings.Cut(s, "_")
	if !ok || len(s) > 64 || prefix == "" || rest == "" {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if prefix[i] < 'a' || prefix[i] > 'z' {
			return false
		}
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}
