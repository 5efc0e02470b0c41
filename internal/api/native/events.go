package native

import (
	"net/http"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

func (s *server) listEvents(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	return listPage(w, r, func(lp payment.ListParams) ([]*payment.Event, bool, error) {
		return s.eng.Events(r.Context(), p.Account.ID, lp)
	}, engine.EventObjectOf, "/v1/events")
}

func (s *server) getAccount(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	return api.JSON(w, http.StatusOK, accountObjectOf(p.Account))
}

// updateAccountRequest is the body of POST /v1/account.
type updateAccountRequest struct {
	CheckoutEmbedOrigins *[]string `json:"checkout_embed_origins"`
}

// updateAccount answers POST /v1/account: the account's settings.
func (s *server) updateAccount(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	var req updateAccountRequest
	if err := api.DecodeJSON(r, &req); err != nil {
		return err
	}
	a := p.Account
	if req.CheckoutEmbedOrigins != nil {
		if a, err = s.eng.SetCheckoutEmbedOrigins(r.Context(), p, "checkout_embed_origins", *req.CheckoutEmbedOrigins); err != nil {
			return err
		}
	}
	return api.JSON(w, http.StatusOK, accountObjectOf(a))
}
