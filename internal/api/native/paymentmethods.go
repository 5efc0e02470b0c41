package native

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// createPaymentMethodRequest is the body of POST /v1/payment_methods.
type createPaymentMethodRequest struct {
	Type           string            `json:"type"`
	Card           *cardRequest      `json:"card"`
	BillingAddress *addressRequest   `json:"billing_address"`
	Email          string            `json:"email"`
	Metadata       map[string]string `json:"metadata"`
	Retain         bool              `json:"retain"`
	Customer       string            `json:"customer"`
}

type cardRequest struct {
	Number     string       `json:"number"`
	ExpMonth   expiryNumber `json:"exp_month"`
	ExpYear    expiryNumber `json:"exp_year"`
	CVC        string       `json:"cvc"`
	HolderName string       `json:"holder_name"`
}

type addressRequest struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	City       string `json:"city"`
	PostalCode string `json:"postal_code"`
	State      string `json:"state"`
	Country    string `json:"country"`
}

func (a *addressRequest) address() *payment.Address {
	if a == nil {
		return nil
	}
	return &payment.Address{Line1: a.Line1, Line2: a.Line2, City: a.City, PostalCode: a.PostalCode,
		State: a.State, Country: a.Country}
}

// expiryNumber is a card's expiry month or year: a JSON integer or, since
// card forms hold them as text and Stripe's form-encoded API takes them so,
// a string of one to four digits ("07", "2031").
type expiryNumber int

func (n *expiryNumber) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	bad := errExpiryNumber
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil || len(s) < 1 || len(s) > 4 {
			return bad
		}
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return bad
			}
		}
		v, _ := strconv.Atoi(s)
		*n = expiryNumber(v)
		return nil
	}
	// A JSON number: an integer that fits; the engine judges its range.
	v, err := strconv.ParseInt(string(b), 10, 32)
	if err != nil {
		return bad
	}
	*n = expiryNumber(v)
	return nil
}

// DescribeJSON tells api.StrictUnmarshal what a refused value should be.
func (expiryNumber) DescribeJSON() string { return "an integer or a string of 1 to 4 digits" }

var errExpiryNumber = errors.New("native: an expiry must be an integer or a string of 1 to 4 digits")

// input is the engine's form of the request.
func (req *createPaymentMethodRequest) input() engine.PaymentMethodInput {
	in := engine.PaymentMethodInput{
		Type:     req.Type,
		Billing:  req.BillingAddress.address(),
		Email:    req.Email,
		Metadata: req.Metadata,
		Retain:   req.Retain,
		Customer: req.Customer,
	}
	if c := req.Card; c != nil {
		in.Card = &engine.CardInput{Number: c.Number, ExpMonth: int(c.ExpMonth), ExpYear: int(c.ExpYear),
			CVC: c.CVC, HolderName: c.HolderName}
	}
	return in
}

// updatePaymentMethodRequest is the body of POST /v1/payment_methods/{id}.
// A field left out (or null) is left as it is.
type updatePaymentMethodRequest struct {
	Card           *updateCardRequest `json:"card"`
	BillingAddress *addressRequest    `json:"billing_address"`
	Email          *string            `json:"email"`
	Metadata       map[string]string  `json:"metadata"`
}

type updateCardRequest struct {
	ExpMonth   *expiryNumber `json:"exp_month"`
	ExpYear    *expiryNumber `json:"exp_year"`
	HolderName *string       `json:"holder_name"`
}

func (req *updatePaymentMethodRequest) update() engine.PaymentMethodUpdate {
	u := engine.PaymentMethodUpdate{Billing: req.BillingAddress.address(), Email: req.Email, Metadata: req.Metadata}
	if c := req.Card; c != nil {
		u.HolderName = c.HolderName
		if c.ExpMonth != nil {
			m := int(*c.ExpMonth)
			u.ExpMonth = &m
		}
		if c.ExpYear != nil {
			y := int(*c.ExpYear)
			u.ExpYear = &y
		}
	}
	return u
}

func (s *server) createPaymentMethod(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	var req createPaymentMethodRequest
	if err := api.DecodeJSON(r, &req); err != nil {
		return err
	}
	pm, err := s.eng.CreatePaymentMethod(r.Context(), p, req.input())
	if err != nil {
		return err
	}
	return api.JSON(w, http.StatusCreated, engine.PaymentMethodObjectOf(pm))
}

func (s *server) listPaymentMethods(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	return listPage(w, r, func(lp payment.ListParams) ([]*payment.PaymentMethod, bool, error) {
		return s.eng.PaymentMethods(r.Context(), p.Account.ID, lp)
	}, engine.PaymentMethodObjectOf, "/v1/payment_methods")
}

func (s *server) getPaymentMethod(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	pm, err := s.eng.PaymentMethod(r.Context(), p.Account.ID, id)
	return s.paymentMethodResult(w, pm, err, id)
}

func (s *server) updatePaymentMethod(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	var req updatePaymentMethodRequest
	if err := api.DecodeJSON(r, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	pm, err := s.eng.UpdatePaymentMethod(r.Context(), p.Account.ID, id, req.update())
	return s.paymentMethodResult(w, pm, err, id)
}

func (s *server) retainPaymentMethod(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	pm, err := s.eng.RetainPaymentMethod(r.Context(), p.Account.ID, id)
	return s.paymentMethodResult(w, pm, err, id)
}

func (s *server) redactPaymentMethod(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	pm, err := s.eng.RedactPaymentMethodAs(r.Context(), p, id)
	return s.paymentMethodResult(w, pm, err, id)
}

// paymentMethodResult answers an operation on the payment method id.
func (s *server) paymentMethodResult(w http.ResponseWriter, pm *payment.PaymentMethod, err error, id string) error {
	if err != nil {
		return notFoundAs(err, "payment_method", id)
	}
	return api.JSON(w, http.StatusOK, engine.PaymentMethodObjectOf(pm))
}
