package native

import (
	"net/http"
	"strings"
	"time"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// createCheckoutSessionRequest is the body of POST /v1/checkout_sessions.
type createCheckoutSessionRequest struct {
	Amount            int64                  `json:"amount"`
	Currency          string                 `json:"currency"`
	Items             []payment.CheckoutItem `json:"items"`
	MerchantReference string                 `json:"merchant_reference"`
	ReturnURL         string                 `json:"return_url"`
	CancelURL         string                 `json:"cancel_url"`
	CallbackURL       string                 `json:"callback_url"`
	Customer          string                 `json:"customer"`
	Gateway           string                 `json:"gateway"`
	// Router is another name of gateway, for a gateway of type router.
	Router    string `json:"router"`
	Capture   *bool  `json:"capture"`
	ExpiresAt string `json:"expires_at"`
	Locale    string `json:"locale"`
	SaveCard  bool   `json:"save_card"`
}

// input turns the request into the engine's input; a bad expires_at or
// both gateway and router are errors naming the field. The engine checks
// the rest (engine.ValidateCheckout).
func (req *createCheckoutSessionRequest) input() (engine.CheckoutInput, error) {
	in := engine.CheckoutInput{Amount: req.Amount, Currency: req.Currency, Items: req.Items,
		MerchantReference: req.MerchantReference, ReturnURL: req.ReturnURL, CancelURL: req.CancelURL,
		CallbackURL: req.CallbackURL, CustomerID: req.Customer, GatewayID: req.Gateway, Capture: req.Capture,
		Locale: req.Locale, SaveCard: req.SaveCard}
	if req.Router != "" {
		if req.Gateway != "" && req.Gateway != req.Router {
			return in, payment.Invalid(payment.CodeParameterInvalid, "router", "Give gateway or router, not both.")
		}
		in.GatewayID = req.Router
	}
	if req.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339, req.ExpiresAt)
		if err != nil {
			return in, payment.Invalid(payment.CodeParameterInvalid, "expires_at",
				"expires_at must be an RFC 3339 time like '2030-01-02T15:04:05Z'.")
		}
		in.ExpiresAt = &t
	}
	return in, nil
}

// checkoutURL is where the hosted page of session id is served: under
// the configured public URL, or else the origin the request came to.
func (s *server) checkoutURL(r *http.Request, id string) string {
	base := s.publicURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return strings.TrimSuffix(base, "/") + "/checkout/" + id
}

func (s *server) checkoutObject(r *http.Request, cs *payment.CheckoutSession) *engine.CheckoutSessionObject {
	o := engine.CheckoutSessionObjectOf(cs)
	o.URL = s.checkoutURL(r, cs.ID)
	return o
}

func (s *server) createCheckoutSession(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	var req createCheckoutSessionRequest
	if err := api.DecodeJSON(r, &req); err != nil {
		return err
	}
	in, err := req.input()
	if err != nil {
		return err
	}
	cs, err := s.eng.CreateCheckoutSession(r.Context(), p, in)
	if err != nil {
		return err
	}
	return api.JSON(w, http.StatusCreated, s.checkoutObject(r, cs))
}

func (s *server) listCheckoutSessions(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	return listPage(w, r, func(lp payment.ListParams) ([]*payment.CheckoutSession, bool, error) {
		return s.eng.CheckoutSessions(r.Context(), p.Account.ID, lp)
	}, func(cs *payment.CheckoutSession) *engine.CheckoutSessionObject { return s.checkoutObject(r, cs) }, "/v1/checkout_sessions")
}

func (s *server) getCheckoutSession(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	cs, err := s.eng.CheckoutSession(r.Context(), p.Account.ID, id)
	if err != nil {
		return notFoundAs(err, "checkout_session", id)
	}
	return api.JSON(w, http.StatusOK, s.checkoutObject(r, cs))
}

func (s *server) cancelCheckoutSession(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	if err := api.DecodeOptionalJSON(r, &struct{}{}); err != nil {
		return err
	}
	id := r.PathValue("id")
	cs, err := s.eng.CancelCheckoutSession(r.Context(), p.Account.ID, id)
	if err != nil {
		return notFoundAs(err, "checkout_session", id)
	}
	return api.JSON(w, http.StatusOK, s.checkoutObject(r, cs))
}
