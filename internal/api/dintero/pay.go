package dintero

import (
	"errors"
	"net/http"
	"strings"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/payment"
)

// POST /v1/sessions/pay (ADR 0026, "Profiles, updates and tokens"): a
// session made and paid at once with a stored card token, the merchant
// initiating. The token is Dintero's customer.tokens["<payment product
// type>"].payment_token (or recurrence_token): a card token id of
// /v1/card-tokens. The answer is 200 whenever a payment was made, declined
// or not: the transaction says how it went.

// payRequest is the body of POST /v1/sessions/pay.
type payRequest struct {
	Session *sessionRequest `json:"session"`
	Payment *payOptions     `json:"payment"`
}

type payOptions struct {
	PaymentProductType string `json:"payment_product_type"`
	Operation          string `json:"operation"`
}

// storedTokens is one payment product type's entry of customer.tokens.
type storedTokens struct {
	PaymentToken    string `json:"payment_token"`
	RecurrenceToken string `json:"recurrence_token"`
}

// payOperations are Dintero's merchant-initiated operations and the stored
// credential reason each is.
var payOperations = map[string]string{"unscheduled_purchase": "unscheduled", "recurring_purchase": "recurring"}

// token returns the card token the request pays with and the stored
// credential reason, or an error naming Dintero's field.
func (req *payRequest) token() (token, reason string, err error) {
	if req.Session == nil {
		return "", "", required("session")
	}
	if req.Payment == nil {
		return "", "", required("payment")
	}
	if req.Payment.PaymentProductType == "" {
		return "", "", required("payment.payment_product_type")
	}
	reason, ok := payOperations[req.Payment.Operation]
	if !ok {
		return "", "", fieldError("payment.operation", payment.CodeParameterInvalid,
			"payment.operation must be unscheduled_purchase or recurring_purchase.")
	}
	path := "session.customer.tokens"
	if req.Session.Customer == nil || len(req.Session.Customer.Tokens) == 0 {
		return "", "", required(path)
	}
	var tokens map[string]storedTokens
	if err := decodeBody(req.Session.Customer.Tokens, &tokens); err != nil {
		return "", "", fieldError(path, payment.CodeParameterInvalid,
			"%s must map the payment product type to {payment_token} or {recurrence_token}.", path)
	}
	t, ok := tokens[req.Payment.PaymentProductType]
	switch {
	case !ok:
		return "", "", fieldError(path, payment.CodeParameterMissing, "%s has no token of payment.payment_product_type.", path)
	case t.PaymentToken != "" && t.RecurrenceToken != "" && t.PaymentToken != t.RecurrenceToken:
		return "", "", fieldError(path, payment.CodeParameterInvalid, "%s: give payment_token or recurrence_token, not two tokens.", path)
	case t.PaymentToken != "":
		return t.PaymentToken, reason, nil
	case t.RecurrenceToken != "":
		return t.RecurrenceToken, reason, nil
	}
	return "", "", required(path + ".payment_token")
}

// payResponse answers POST /v1/sessions/pay: the session and its
// transaction (Dintero's schema of this answer is not confirmed).
type payResponse struct {
	ID            string       `json:"id"`
	TransactionID string       `json:"transaction_id"`
	Session       *session     `json:"session"`
	Transaction   *transaction `json:"transaction"`
}

// paySession answers POST /v1/sessions/pay behind the Idempotency-Key
// protocol: a retry with the same key and body charges once.
func (s *server) paySession(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.idempotent(w, r, func(w http.ResponseWriter, r *http.Request) error {
		var req payRequest
		if err := decode(r, &req); err != nil {
			return err
		}
		token, reason, err := req.token()
		if err != nil {
			return err
		}
		pmID, ok := paymentMethodIDOf(c.Account.ID, token)
		if !ok {
			return errCardTokenNotFound
		}
		pm, err := s.eng.PaymentMethod(r.Context(), c.Account.ID, pmID)
		if errors.Is(err, payment.ErrNotFound) {
			return errCardTokenNotFound
		}
		if err != nil {
			return err
		}
		if t, ok := cardTokenOf(pm); !ok || t.Status != tokenActive {
			return errCardTokenNotFound
		}
		sreq := req.Session
		if err := s.applyProfile(r, c, sreq); err != nil {
			return prefixed(err)
		}
		if sreq.URL == nil {
			sreq.URL = &sessionURLs{} // no customer comes back: no return_url
		}
		in, err := sreq.input()
		if err != nil {
			return prefixed(err)
		}
		if in.CustomerID != "" {
			if in.CustomerID, err = s.sessionCustomer(r.Context(), c, "customer.customer_id", in.CustomerID); err != nil {
				return prefixed(err)
			}
		}
		if in.GatewayID == "" {
			if in.GatewayID, err = s.sessionGateway(r.Context(), c); err != nil {
				return prefixed(err)
			}
		}
		cs, pay, err := s.eng.PayCheckoutStored(r.Context(), c.Principal, in, pmID, reason)
		if err != nil {
			return prefixed(sessionError(err))
		}
		t, err := s.view(c).transaction(r.Context(), pay)
		if err != nil {
			return err
		}
		sv, err := s.sessionView(r.Context(), cs)
		if err != nil {
			return err
		}
		return api.JSON(w, http.StatusOK, payResponse{ID: payment.DinteroID(cs.AccountID, cs.ID), TransactionID: t.ID,
			Session: sv, Transaction: t})
	})
}

// prefixed puts "session." before the field a session error names: in
// POST /v1/sessions/pay the session is the body's session.
func prefixed(err error) error {
	var de *Error
	if e, ok := err.(*Error); ok {
		de = e
	} else if pe, ok := payment.AsError(err); ok && pe.Param != "" {
		c := *pe
		c.Message = strings.Replace(c.Message, pe.Param, "session."+pe.Param, 1)
		c.Param = "session." + pe.Param
		return &c
	}
	if de == nil || len(de.Errors) == 0 {
		return err
	}
	c := *de
	c.Errors = append([]FieldError(nil), de.Errors...)
	for i := range c.Errors {
		c.Errors[i].Path = "session." + c.Errors[i].Path
		c.Errors[i].Message = strings.Replace(c.Errors[i].Message, de.Errors[i].Path, "session."+de.Errors[i].Path, 1)
	}
	c.Message = strings.Replace(c.Message, de.Errors[0].Path, "session."+de.Errors[0].Path, 1)
	return &c
}
