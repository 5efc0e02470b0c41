package dintero

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/payment"
)

// A Dintero card token is a kassa payment method kept for the long term:
// retained (ACTIVE) or, once deleted, redacted (DELETED). A cached payment
// method is no card token (ADR 0024).

// Card token statuses kassa has (Dintero also has INACTIVE, SUSPENDED and
// CANCELLED, which no kassa payment method is).
const (
	tokenActive  = "ACTIVE"
	tokenDeleted = "DELETED"
)

// cardToken is Dintero's card token, the part kassa has.
type cardToken struct {
	ID            string     `json:"id"`
	Type          string     `json:"type"`
	Status        string     `json:"status"`
	CardBrand     string     `json:"card_brand"`
	AccountID     string     `json:"account_id"`
	MaskedPAN     string     `json:"masked_pan"`
	PANExpiryDate string     `json:"pan_expiry_date"`
	CustomerID    string     `json:"customer_id,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	DeletedAt     *time.Time `json:"deleted_at,omitempty"`
}

// cardTokenOf renders pm, or false when it is no card token.
func cardTokenOf(pm *payment.PaymentMethod) (*cardToken, bool) {
	status := ""
	switch pm.StorageState {
	case payment.StorageRetained:
		status = tokenActive
	case payment.StorageRedacted:
		status = tokenDeleted
	default:
		return nil, false
	}
	if pm.Type != "card" {
		return nil, false
	}
	t := &cardToken{ID: cardTokenID(pm.AccountID, pm.ID), Type: "payment_token", Status: status, CardBrand: pm.Card.Brand,
		AccountID: payment.DinteroAccountID(pm.AccountID), MaskedPAN: maskedPAN(pm.Card), PANExpiryDate: expiry(pm.Card),
		CustomerID: pm.CustomerID, CreatedAt: pm.CreatedAt.UTC(), UpdatedAt: pm.UpdatedAt.UTC()}
	if pm.RedactedAt != nil {
		at := pm.RedactedAt.UTC()
		t.DeletedAt = &at
	}
	return t, true
}

// paymentMethod reads the caller's card token the path's {token_id} names.
func (s *server) cardTokenMethod(r *http.Request, c *caller) (*payment.PaymentMethod, error) {
	id, ok := paymentMethodIDOf(c.Account.ID, r.PathValue("token_id"))
	if !ok {
		return nil, errCardTokenNotFound
	}
	pm, err := s.eng.PaymentMethod(r.Context(), c.Account.ID, id)
	if errors.Is(err, payment.ErrNotFound) {
		return nil, errCardTokenNotFound
	}
	if err != nil {
		return nil, err
	}
	if _, ok := cardTokenOf(pm); !ok {
		return nil, errCardTokenNotFound
	}
	return pm, nil
}

// cardTokenGet answers GET /v1/card-tokens/{token_id}.
func (s *server) cardTokenGet(w http.ResponseWriter, r *http.Request, c *caller) error {
	pm, err := s.cardTokenMethod(r, c)
	if err != nil {
		return err
	}
	t, _ := cardTokenOf(pm)
	if err := s.showCustomers(r.Context(), c.Account.ID, []*cardToken{t}); err != nil {
		return err
	}
	return api.JSON(w, http.StatusOK, t)
}

// showCustomers replaces the kassa customer ids of ts by the customer_id
// the Dintero customers API knows each customer by (its external id, or
// its kassa id when it has none), reading each customer once.
func (s *server) showCustomers(ctx context.Context, acct string, ts []*cardToken) error {
	shown := map[string]string{}
	for _, t := range ts {
		if t.CustomerID == "" {
			continue
		}
		id, ok := shown[t.CustomerID]
		if !ok {
			cus, err := s.eng.Customer(ctx, acct, t.CustomerID)
			switch {
			case err == nil && cus.ExternalID != "":
				id = cus.ExternalID
			case err == nil || errors.Is(err, payment.ErrNotFound):
				id = t.CustomerID // no external id, or deleted since
			default:
				return err
			}
			shown[t.CustomerID] = id
		}
		t.CustomerID = id
	}
	return nil
}

// deleteCardTokenRequest is the optional body of DELETE
// /v1/card-tokens/{token_id}.
type deleteCardTokenRequest struct {
	Reason    string `json:"reason"`
	Requestor string `json:"requestor"`
}

// maxDeleteReason is Dintero's limit on a deletion's reason.
const maxDeleteReason = 128

// cardTokenDelete answers DELETE /v1/card-tokens/{token_id}: the card is
// redacted (its number destroyed); the token stays, DELETED. Deleting a
// deleted token changes nothing. reason and requestor are checked and
// logged, not kept.
func (s *server) cardTokenDelete(w http.ResponseWriter, r *http.Request, c *caller) error {
	pm, err := s.cardTokenMethod(r, c)
	if err != nil {
		return err
	}
	var req deleteCardTokenRequest
	if err := api.DecodeOptionalJSON(r, &req); err != nil {
		return decodeError(err)
	}
	if err := checkReference("reason", req.Reason); err != nil {
		return err
	}
	if len(req.Reason) > maxDeleteReason {
		return fieldError("reason", payment.CodeParameterInvalid, "reason must be at most %d characters.", maxDeleteReason)
	}
	switch req.Requestor {
	case "":
		req.Requestor = "MERCHANT"
	case "MERCHANT", "CARDHOLDER":
	default:
		return fieldError("requestor", payment.CodeParameterInvalid, "requestor must be CARDHOLDER or MERCHANT.")
	}
	pm, err = s.eng.RedactPaymentMethodAs(r.Context(), c.Principal, pm.ID)
	if err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "dintero: card token deleted", "payment_method", pm.ID,
		"requestor", req.Requestor, "request_id", api.RequestIDFrom(r.Context()))
	t, _ := cardTokenOf(pm)
	if err := s.showCustomers(r.Context(), c.Account.ID, []*cardToken{t}); err != nil {
		return err
	}
	return api.JSON(w, http.StatusOK, t)
}

// cardTokenList answers GET /v1/card-tokens: newest first, a JSON array.
// Deleted tokens are listed only when asked for (status=DELETED or
// include_deleted=true), as Dintero does.
func (s *server) cardTokenList(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := checkQuery(r, "customer_id", "status", "include_deleted", "limit", "starting_after"); err != nil {
		return err
	}
	n, err := limit(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	want := map[string]bool{tokenActive: true}
	if vals, ok := q["status"]; ok {
		want = map[string]bool{}
		for _, v := range vals {
			switch v {
			case tokenActive, tokenDeleted:
				want[v] = true
			case "INACTIVE", "SUSPENDED", "CANCELLED":
				// Dintero's, and no kassa token is in them.
			default:
				return fieldError("status", payment.CodeParameterInvalid,
					"status must be one of ACTIVE, INACTIVE, SUSPENDED, CANCELLED, DELETED.")
			}
		}
	}
	switch inc, _ := one(r, "include_deleted"); inc {
	case "true":
		want[tokenDeleted] = true
	case "", "false":
	default:
		return fieldError("include_deleted", payment.CodeParameterInvalid, "include_deleted must be true or false.")
	}
	customer, err := one(r, "customer_id")
	if err != nil {
		return err
	}
	if customer != "" {
		// Dintero's customer_id, as the customers API has it.
		cus, err := s.customer(r.Context(), c.Account.ID, "customer_id", customer)
		switch {
		case errors.Is(err, errCustomerMissing):
			return api.JSON(w, http.StatusOK, []*cardToken{})
		case err != nil:
			return err
		}
		customer = cus.ID
	}
	after, err := one(r, "starting_after")
	if err != nil {
		return err
	}
	lp := payment.ListParams{Limit: api.MaxListLimit}
	if after != "" {
		id, ok := paymentMethodIDOf(c.Account.ID, after)
		if !ok {
			return fieldError("starting_after", payment.CodeParameterInvalid, "starting_after must be a card token id of this account.")
		}
		lp.StartingAfter = id
	}
	out := []*cardToken{}
	// Cached payment methods are not tokens: read pages until the page
	// is full or the payment methods run out.
	for len(out) < n {
		var pms []*payment.PaymentMethod
		var more bool
		if customer != "" {
			pms, more, err = s.eng.CustomerPaymentMethods(r.Context(), c.Account.ID, customer, lp)
		} else {
			pms, more, err = s.eng.PaymentMethods(r.Context(), c.Account.ID, lp)
		}
		if err != nil {
			if pe, ok := payment.AsError(err); ok && pe.Kind == payment.KindNotFound {
				if after != "" && customer == "" {
					return fieldError("starting_after", payment.CodeParameterInvalid, "starting_after names no card token of this account.")
				}
				break // no such customer: no tokens
			}
			return err
		}
		for _, pm := range pms {
			if t, ok := cardTokenOf(pm); ok && want[t.Status] && len(out) < n {
				out = append(out, t)
			}
		}
		if !more || len(pms) == 0 {
			break
		}
		lp.StartingAfter = pms[len(pms)-1].ID
	}
	if err := s.showCustomers(r.Context(), c.Account.ID, out); err != nil {
		return err
	}
	return api.JSON(w, http.StatusOK, out)
}
