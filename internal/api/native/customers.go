package native

import (
	"errors"
	"net/http"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// createCustomerRequest is the body of POST /v1/customers.
type createCustomerRequest struct {
	ExternalID *string           `json:"external_id"`
	Email      string            `json:"email"`
	Name       string            `json:"name"`
	Phone      string            `json:"phone"`
	Metadata   map[string]string `json:"metadata"`
}

// updateCustomerRequest is the body of POST /v1/customers/{id}. A field
// left out (or null) is left as it is.
type updateCustomerRequest struct {
	ExternalID           *string           `json:"external_id"`
	Email                *string           `json:"email"`
	Name                 *string           `json:"name"`
	Phone                *string           `json:"phone"`
	Metadata             map[string]string `json:"metadata"`
	DefaultPaymentMethod *string           `json:"default_payment_method"`
}

// createCustomerTokenRequest is the body of POST /v1/customers/{id}/tokens.
type createCustomerTokenRequest struct {
	Type     string            `json:"type"`
	Value    string            `json:"value"`
	TokenID  *string           `json:"token_id"`
	Metadata map[string]string `json:"metadata"`
}

func (s *server) createCustomer(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	var req createCustomerRequest
	if err := api.DecodeJSON(r, &req); err != nil {
		return err
	}
	c, err := s.eng.CreateCustomer(r.Context(), p, engine.CustomerInput{ExternalID: req.ExternalID, Email: req.Email,
		Name: req.Name, Phone: req.Phone, Metadata: req.Metadata})
	if err != nil {
		return err
	}
	return api.JSON(w, http.StatusCreated, engine.CustomerObjectOf(c))
}

func (s *server) listCustomers(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	var f payment.CustomerFilter
	if f.Email, err = queryValue(r, "email"); err != nil {
		return err
	}
	if f.ExternalID, err = queryValue(r, "external_id"); err != nil {
		return err
	}
	return listPage(w, r, func(lp payment.ListParams) ([]*payment.Customer, bool, error) {
		f.ListParams = lp
		return s.eng.Customers(r.Context(), p.Account.ID, f)
	}, engine.CustomerObjectOf, "/v1/customers")
}

func (s *server) getCustomer(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	c, err := s.eng.Customer(r.Context(), p.Account.ID, id)
	if err != nil {
		return notFoundAs(err, "customer", id)
	}
	return api.JSON(w, http.StatusOK, engine.CustomerObjectOf(c))
}

func (s *server) updateCustomer(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	var req updateCustomerRequest
	if err := api.DecodeJSON(r, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	c, err := s.eng.UpdateCustomer(r.Context(), p.Account.ID, id, engine.CustomerUpdate{ExternalID: req.ExternalID,
		Email: req.Email, Name: req.Name, Phone: req.Phone, Metadata: req.Metadata, DefaultPaymentMethod: req.DefaultPaymentMethod})
	if err != nil {
		return notFoundAs(err, "customer", id)
	}
	return api.JSON(w, http.StatusOK, engine.CustomerObjectOf(c))
}

func (s *server) deleteCustomer(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	c, err := s.eng.DeleteCustomer(r.Context(), p, id)
	if err != nil {
		return notFoundAs(err, "customer", id)
	}
	return api.JSON(w, http.StatusOK, engine.DeletedCustomerObjectOf(c))
}

func (s *server) listCustomerPaymentMethods(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	return listPage(w, r, func(lp payment.ListParams) ([]*payment.PaymentMethod, bool, error) {
		pms, more, err := s.eng.CustomerPaymentMethods(r.Context(), p.Account.ID, id, lp)
		return pms, more, customerNotFoundAs(err, id)
	}, engine.PaymentMethodObjectOf, "/v1/customers/"+id+"/payment_methods")
}

func (s *server) createCustomerToken(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	var req createCustomerTokenRequest
	if err := api.DecodeJSON(r, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	t, err := s.eng.CreateCustomerToken(r.Context(), p, id, engine.CustomerTokenInput{Type: req.Type, Value: req.Value,
		TokenID: req.TokenID, Metadata: req.Metadata})
	if err != nil {
		return notFoundAs(err, "customer", id)
	}
	return api.JSON(w, http.StatusCreated, engine.CustomerTokenObjectOf(t))
}

func (s *server) listCustomerTokens(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	return listPage(w, r, func(lp payment.ListParams) ([]*payment.CustomerToken, bool, error) {
		toks, more, err := s.eng.CustomerTokens(r.Context(), p.Account.ID, id, lp)
		return toks, more, customerNotFoundAs(err, id)
	}, engine.CustomerTokenObjectOf, "/v1/customers/"+id+"/tokens")
}

func (s *server) deleteCustomerToken(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	id, tokenID := r.PathValue("id"), r.PathValue("token_id")
	t, err := s.eng.DeleteCustomerToken(r.Context(), p, id, tokenID)
	if err != nil {
		if e, ok := payment.AsError(err); ok && e.Param == "token_id" {
			return err // the customer exists; the token does not
		}
		return notFoundAs(err, "customer", id)
	}
	return api.JSON(w, http.StatusOK, engine.CustomerTokenObjectOf(t))
}

// customerNotFoundAs is notFoundAs for a list under a customer: the
// customer not found is the id's; a cursor not found stays starting_after's.
func customerNotFoundAs(err error, id string) error {
	if e, ok := payment.AsError(err); ok && e.Param == "starting_after" {
		return err
	}
	if errors.Is(err, payment.ErrNotFound) {
		return notFoundAs(err, "customer", id)
	}
	return err
}
