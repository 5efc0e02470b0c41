package dintero

import (
	"net/http"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/payment"
)

// POST /v1/sessions/payment-token (ADR 0026, "Profiles, updates and
// tokens"): a session that saves the customer's card and charges nothing.
// On the page the card is vaulted for the customer and verified through
// the session's gateway; once verified it is retained — a card token of
// /v1/card-tokens — and the session is paid with it (card_token_id).

// paymentTokenRequest is the body of POST /v1/sessions/payment-token.
type paymentTokenRequest struct {
	Session       *sessionRequest `json:"session"`
	TokenProvider *tokenProvider  `json:"token_provider"`
}

type tokenProvider struct {
	PaymentProductType string   `json:"payment_product_type"`
	TokenTypes         []string `json:"token_types"`
}

// check checks the parts of the request that are not the session's.
func (req *paymentTokenRequest) check() error {
	if req.Session == nil {
		return required("session")
	}
	if req.TokenProvider == nil {
		return required("token_provider")
	}
	if len(req.TokenProvider.TokenTypes) == 0 {
		return required("token_provider.token_types")
	}
	for _, t := range req.TokenProvider.TokenTypes {
		if t != "payment_token" && t != "recurrence_token" {
			return fieldError("token_provider.token_types", payment.CodeParameterInvalid,
				"token_provider.token_types holds payment_token and recurrence_token only.")
		}
	}
	if req.Session.Customer == nil || req.Session.Customer.CustomerID == "" {
		return required("session.customer.customer_id")
	}
	return nil
}

// createPaymentTokenSession answers POST /v1/sessions/payment-token with
// {id, url}: the customer (session.customer.customer_id, made in the
// customers API when it is not there yet) saves a card on the page.
func (s *server) createPaymentTokenSession(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req paymentTokenRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := req.check(); err != nil {
		return err
	}
	sreq := req.Session
	if err := s.applyProfile(r, c, sreq); err != nil {
		return prefixed(err)
	}
	if sreq.Order == nil {
		sreq.Order = &sessionOrder{}
	}
	if sreq.Order.Amount == nil {
		var zero int64
		sreq.Order.Amount = &zero
	}
	cid := sreq.Customer.CustomerID
	in, err := sreq.input()
	if err != nil {
		return prefixed(err)
	}
	cusID, err := s.sessionCustomer(r.Context(), c, "customer.customer_id", cid)
	if err != nil {
		return prefixed(err)
	}
	in.CustomerID, in.TokenOnly = cusID, true
	if in.GatewayID == "" {
		if in.GatewayID, err = s.sessionGateway(r.Context(), c); err != nil {
			return prefixed(err)
		}
	}
	cs, err := s.eng.CreateCheckoutSession(r.Context(), c.Principal, in)
	if err != nil {
		return prefixed(sessionError(err))
	}
	id := payment.DinteroID(cs.AccountID, cs.ID)
	return api.JSON(w, http.StatusOK, sessionCreated{ID: id, URL: s.sessionURL(r, id)})
}
