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
	a := p.Account
	return api.JSON(w, http.StatusOK, accountObject{ID: a.ID, Object: "account", Name: a.Name, Live: a.Live,
		IXOPAYMerchantGUID: payment.IXOPAYMerchantGUID(a.ID), DinteroAccountID: payment.DinteroAccountID(a.ID),
		CreatedAt: a.CreatedAt})
}
