package native

import (
	"net/http"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
)

func (s *server) listEvents(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	lp, err := api.ParseList(r)
	if err != nil {
		return err
	}
	evs, hasMore, err := s.eng.Events(r.Context(), p.Account.ID, lp)
	if err != nil {
		return err
	}
	data := make([]*engine.EventObject, len(evs))
	for i, ev := range evs {
		data[i] = engine.EventObjectOf(ev)
	}
	return api.JSON(w, http.StatusOK, list(data, hasMore, "/v1/events"))
}

func (s *server) getAccount(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	a := p.Account
	return api.JSON(w, http.StatusOK, accountObject{ID: a.ID, Object: "account", Name: a.Name, Live: a.Live, CreatedAt: a.CreatedAt})
}
