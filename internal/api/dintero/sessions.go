package dintero

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// Checkout sessions (ADR 0026): POST /v1/sessions makes a kassa checkout
// session marked as the dialect's (payment.CheckoutDialectDintero), whose
// id is Dintero's form of the kassa id (T12345678.<random>) and whose url
// is the hosted page's Dintero view. The session's payments are the
// dialect's transactions: each claims a reference in SessionScope, which
// promises its callback_url the signed callback (callbacks.go).

// checkoutBase is where the hosted page's Dintero forms are served, below
// the public URL: the endpoint to give Dintero's web SDK.
const checkoutBase = "/checkout/dintero"

// sessionRequest is the body of POST /v1/sessions: the part of Dintero's
// session request kassa acts on, and the parts it accepts and ignores
// (shipping_option, express, metadata: kept out of the payment).
type sessionRequest struct {
	URL           *sessionURLs               `json:"url"`
	Order         *sessionOrder              `json:"order"`
	Customer      *sessionCustomer           `json:"customer"`
	ProfileID     string                     `json:"profile_id"`
	Configuration map[string]json.RawMessage `json:"configuration"`
	ExpiresAt     *string                    `json:"expires_at"`
	Express       json.RawMessage            `json:"express"`
	Metadata      json.RawMessage            `json:"metadata"`
}

type sessionURLs struct {
	ReturnURL        string `json:"return_url,omitempty"`
	CallbackURL      string `json:"callback_url,omitempty"`
	MerchantTermsURL string `json:"merchant_terms_url,omitempty"`
}

type sessionOrder struct {
	Amount            *int64 `json:"amount"`
	Currency          string `json:"currency"`
	MerchantReference string `json:"merchant_reference"`
	// MerchantReference2 is accepted and ignored.
	MerchantReference2 string          `json:"merchant_reference_2"`
	VATAmount          *int64          `json:"vat_amount"`
	Items              []sessionItem   `json:"items"`
	ShippingOption     json.RawMessage `json:"shipping_option"`
}

type sessionItem struct {
	ID          string   `json:"id"`
	LineID      string   `json:"line_id"`
	Description string   `json:"description"`
	Quantity    *float64 `json:"quantity"`
	Amount      *int64   `json:"amount"`
	VATAmount   int64    `json:"vat_amount"`
	VAT         *float64 `json:"vat"`
}

type sessionCustomer struct {
	Email       string          `json:"email"`
	PhoneNumber string          `json:"phone_number"`
	CustomerID  string          `json:"customer_id"`
	Tokens      json.RawMessage `json:"tokens"`
}

// kassaConfiguration is configuration.kassa, kassa's own key of Dintero's
// session configuration (whose other keys, Dintero's payment types, are
// accepted and ignored): the gateway or router the session pays through,
// and whether its payment is captured at once (true when left out) or
// only authorized, to be captured, or voided by cancelling the session.
type kassaConfiguration struct {
	Gateway string `json:"gateway"`
	Capture *bool  `json:"capture"`
}

// input turns the request into the engine's input. Missing fields and
// fields of the wrong form are errors naming Dintero's path of the field.
func (req *sessionRequest) input() (engine.CheckoutInput, error) {
	in := engine.CheckoutInput{Dialect: payment.CheckoutDialectDintero}
	if req.URL == nil {
		return in, required("url.return_url")
	}
	if req.Order == nil {
		return in, required("order")
	}
	if req.Order.Amount == nil {
		return in, required("order.amount")
	}
	in.Amount, in.Currency, in.MerchantReference = *req.Order.Amount, req.Order.Currency, req.Order.MerchantReference
	in.ReturnURL, in.CallbackURL = req.URL.ReturnURL, req.URL.CallbackURL
	items, err := orderItems(req.Order.Items)
	if err != nil {
		return in, err
	}
	in.Items = items
	if req.Customer != nil {
		in.CustomerID = req.Customer.CustomerID
	}
	if raw, ok := req.Configuration["kassa"]; ok {
		var kc kassaConfiguration
		if err := decodeBody(raw, &kc); err != nil {
			return in, fieldError("configuration.kassa", payment.CodeParameterInvalid,
				"configuration.kassa must be an object with gateway, the gateway or router to pay through, and capture (a boolean).")
		}
		in.GatewayID, in.Capture = kc.Gateway, kc.Capture
	}
	if req.ExpiresAt != nil {
		t, err := time.Parse(time.RFC3339, *req.ExpiresAt)
		if err != nil {
			return in, fieldError("expires_at", payment.CodeParameterInvalid, "expires_at must be an RFC 3339 time like '2030-01-02T15:04:05Z'.")
		}
		in.ExpiresAt = &t
	}
	return in, nil
}

// orderItems are the engine's lines of Dintero's order.items.
func orderItems(items []sessionItem) ([]payment.CheckoutItem, error) {
	var out []payment.CheckoutItem
	for i, it := range items {
		p := "order.items[" + strconv.Itoa(i) + "]"
		if it.Amount == nil {
			return nil, required(p + ".amount")
		}
		q := int64(1)
		if it.Quantity != nil {
			if *it.Quantity != float64(int64(*it.Quantity)) {
				return nil, fieldError(p+".quantity", payment.CodeParameterInvalid, "%s.quantity must be a whole number.", p)
			}
			q = int64(*it.Quantity)
		}
		out = append(out, payment.CheckoutItem{ID: it.ID, LineID: it.LineID, Description: it.Description,
			Quantity: q, Amount: *it.Amount, VATAmount: it.VATAmount})
	}
	return out, nil
}

// sessionUpdate is the body of PUT /v1/sessions/{session_id}: the order
// that replaces the session's (currency and merchant_reference kept when
// left out; items replaced, none when left out). remove_lock is accepted:
// the lock is the page's, not the server's (ADR 0026).
type sessionUpdate struct {
	Order      *sessionOrder `json:"order"`
	RemoveLock bool          `json:"remove_lock"`
}

func (u *sessionUpdate) order() (engine.CheckoutOrder, error) {
	var o engine.CheckoutOrder
	if u.Order == nil {
		return o, required("order")
	}
	if u.Order.Amount == nil {
		return o, required("order.amount")
	}
	items, err := orderItems(u.Order.Items)
	if err != nil {
		return o, err
	}
	return engine.CheckoutOrder{Amount: *u.Order.Amount, Currency: u.Order.Currency, Items: items,
		MerchantReference: u.Order.MerchantReference}, nil
}

// updateSession answers PUT /v1/sessions/{session_id}: an open session's
// order is replaced; one whose payment is in flight, or that is closed, is
// a conflict (409). The page shows the new order when it next reads the
// session (a reload, or the SDK's RefreshSession).
func (s *server) updateSession(w http.ResponseWriter, r *http.Request, c *caller) error {
	id, err := s.sessionOfPath(r, c)
	if err != nil {
		return err
	}
	var u sessionUpdate
	if err := decode(r, &u); err != nil {
		return err
	}
	o, err := u.order()
	if err != nil {
		return err
	}
	cs, err := s.eng.UpdateCheckoutOrder(r.Context(), c.Account.ID, id, o)
	if err != nil {
		return notFoundAs(sessionError(err), errSessionNotFound)
	}
	out, err := s.sessionView(r.Context(), cs)
	if err != nil {
		return err
	}
	return api.JSON(w, http.StatusOK, out)
}

// sessionParams maps the engine's field names to Dintero's paths.
var sessionParams = map[string]string{
	"amount": "order.amount", "currency": "order.currency", "merchant_reference": "order.merchant_reference",
	"items": "order.items", "return_url": "url.return_url", "callback_url": "url.callback_url",
	"cancel_url": "url.return_url", "gateway": "configuration.kassa.gateway", "customer": "customer.customer_id",
	"expires_at": "expires_at",
}

// sessionError renames the field an engine error names to Dintero's path.
func sessionError(err error) error {
	pe, ok := payment.AsError(err)
	if !ok || pe.Param == "" {
		return err
	}
	head, rest, _ := strings.Cut(pe.Param, "[")
	name, ok := sessionParams[head]
	if !ok {
		return err
	}
	c := *pe
	if rest != "" {
		name += "[" + rest
	}
	c.Param = name
	c.Message = strings.Replace(c.Message, pe.Param, name, 1)
	return &c
}

// sessionGateway is the gateway a session pays through when the request
// names none: the account's only router, or else its only gateway.
func (s *server) sessionGateway(ctx context.Context, c *caller) (string, error) {
	gws, _, err := s.eng.Gateways(ctx, c.Account.ID, payment.ListParams{Limit: 100})
	if err != nil {
		return "", err
	}
	var routers, others []string
	for _, g := range gws {
		if g.Type == engine.RouterType {
			routers = append(routers, g.ID)
		} else {
			others = append(others, g.ID)
		}
	}
	switch {
	case len(routers) == 1:
		return routers[0], nil
	case len(routers) == 0 && len(others) == 1:
		return others[0], nil
	}
	return "", fieldError("configuration.kassa.gateway", payment.CodeParameterMissing,
		"configuration.kassa.gateway is required: the account has no single gateway or router to pay through.")
}

// sessionCreated is the answer to POST /v1/sessions.
type sessionCreated struct {
	ID      string   `json:"id"`
	URL     string   `json:"url"`
	Session *session `json:"session,omitempty"`
}

// createSession answers POST /v1/sessions.
func (s *server) createSession(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req sessionRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	cs, err := s.newSession(r, c, &req)
	if err != nil {
		return err
	}
	id := payment.DinteroID(cs.AccountID, cs.ID)
	return api.JSON(w, http.StatusOK, sessionCreated{ID: id, URL: s.sessionURL(r, id)})
}

// newSession makes the session req asks for, its profile's defaults
// (profile_id) filled in first.
func (s *server) newSession(r *http.Request, c *caller, req *sessionRequest) (*payment.CheckoutSession, error) {
	if err := s.applyProfile(r, c, req); err != nil {
		return nil, err
	}
	in, err := req.input()
	if err != nil {
		return nil, err
	}
	if in.CustomerID != "" {
		if in.CustomerID, err = s.sessionCustomer(r.Context(), c, "customer.customer_id", in.CustomerID); err != nil {
			return nil, err
		}
	}
	if in.GatewayID == "" {
		if in.GatewayID, err = s.sessionGateway(r.Context(), c); err != nil {
			return nil, err
		}
	}
	cs, err := s.eng.CreateCheckoutSession(r.Context(), c.Principal, in)
	if err != nil {
		return nil, sessionError(err)
	}
	return cs, nil
}

// sessionCustomer is the kassa customer a session's customer.customer_id
// (param names where it came from) stands for: the customers API's
// customer with that customer_id, made there when it is not yet.
func (s *server) sessionCustomer(ctx context.Context, c *caller, param, cid string) (string, error) {
	cus, err := s.customer(ctx, c.Account.ID, param, cid)
	if errors.Is(err, errCustomerMissing) {
		cus, err = s.eng.CreateCustomer(ctx, c.Principal, engine.CustomerInput{ExternalID: &cid})
		if err != nil {
			return "", customerError(err)
		}
	}
	if err != nil {
		return "", err
	}
	return cus.ID, nil
}

// sessionView is sessionOf with the customer named by the customer_id the
// customers API knows it by.
func (s *server) sessionView(ctx context.Context, cs *payment.CheckoutSession) (*session, error) {
	out := sessionOf(cs)
	if out.Customer != nil {
		t := &cardToken{CustomerID: out.Customer.CustomerID}
		if err := s.showCustomers(ctx, cs.AccountID, []*cardToken{t}); err != nil {
			return nil, err
		}
		out.Customer.CustomerID = t.CustomerID
	}
	return out, nil
}

// sessionURL is the hosted page of Dintero session id.
func (s *server) sessionURL(r *http.Request, id string) string {
	base := s.publicURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return strings.TrimSuffix(base, "/") + checkoutBase + "/v1/view/" + id
}

// session is Dintero's Session, the part kassa has.
type session struct {
	ID            string             `json:"id"`
	URL           sessionURLs        `json:"url"`
	Order         sessionOrderOut    `json:"order"`
	Customer      *sessionCustomerID `json:"customer,omitempty"`
	TransactionID string             `json:"transaction_id,omitempty"`
	// CardTokenID is kassa's: the card token a paid payment-token session
	// saved (/v1/card-tokens/{id}).
	CardTokenID string     `json:"card_token_id,omitempty"`
	ExpiresAt   time.Time  `json:"expires_at"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	CancelledAt *time.Time `json:"cancelled_at,omitempty"`
	// Status is kassa's: open, paid, cancelled or expired.
	Status string `json:"status"`
}

type sessionOrderOut struct {
	Amount            int64                  `json:"amount"`
	Currency          string                 `json:"currency"`
	MerchantReference string                 `json:"merchant_reference"`
	Items             []payment.CheckoutItem `json:"items"`
}

type sessionCustomerID struct {
	CustomerID string `json:"customer_id"`
}

func sessionOf(cs *payment.CheckoutSession) *session {
	items := cs.Items
	if items == nil {
		items = []payment.CheckoutItem{}
	}
	out := &session{ID: payment.DinteroID(cs.AccountID, cs.ID),
		URL:       sessionURLs{ReturnURL: cs.ReturnURL, CallbackURL: cs.CallbackURL},
		Order:     sessionOrderOut{Amount: cs.Amount, Currency: cs.Currency, MerchantReference: cs.MerchantReference, Items: items},
		ExpiresAt: cs.ExpiresAt.UTC(), CreatedAt: cs.CreatedAt.UTC(), UpdatedAt: cs.UpdatedAt.UTC(), Status: string(cs.Status)}
	if cs.CustomerID != "" {
		out.Customer = &sessionCustomerID{CustomerID: cs.CustomerID}
	}
	switch {
	case cs.Status == payment.CheckoutPaid && cs.TokenOnly():
		out.CardTokenID = cardTokenID(cs.AccountID, cs.CardTokenID)
	case cs.Status == payment.CheckoutPaid, cs.Status == payment.CheckoutCancelled && cs.PaymentID != "":
		// A cancelled session names the transaction of its latest
		// attempt: the voided one when it was cancelled after payment.
		out.TransactionID = transactionID(cs.AccountID, cs.PaymentID)
	}
	if cs.Status == payment.CheckoutCancelled && cs.ClosedAt != nil {
		t := cs.ClosedAt.UTC()
		out.CancelledAt = &t
	}
	return out
}

// sessionOfPath is the caller's session the path's {session_id} names;
// another account's, or no id at all, is not found.
func (s *server) sessionOfPath(r *http.Request, c *caller) (string, error) {
	sid := r.PathValue("session_id")
	aid, id, ok := payment.ParseDinteroID(sid, payment.PrefixCheckoutSession)
	if !ok || aid != payment.DinteroAccountID(c.Account.ID) {
		return "", errSessionNotFound
	}
	return id, nil
}

var errSessionNotFound = newError(http.StatusNotFound, CodeNotFound, "Session not found.")

// getSession answers GET /v1/sessions/{session_id}.
func (s *server) getSession(w http.ResponseWriter, r *http.Request, c *caller) error {
	id, err := s.sessionOfPath(r, c)
	if err != nil {
		return err
	}
	cs, err := s.eng.CheckoutSession(r.Context(), c.Account.ID, id)
	if err != nil {
		return notFoundAs(err, errSessionNotFound)
	}
	out, err := s.sessionView(r.Context(), cs)
	if err != nil {
		return err
	}
	return api.JSON(w, http.StatusOK, out)
}

// cancelSession answers POST /v1/sessions/{session_id}/cancel as Dintero
// does (ADR 0027): an open session is cancelled; a paid one whose
// transaction is authorized has it voided and is cancelled; one whose
// transaction is captured, or in flight, or whose void was refused or is
// unknown, is a 409 and stays as it was.
func (s *server) cancelSession(w http.ResponseWriter, r *http.Request, c *caller) error {
	id, err := s.sessionOfPath(r, c)
	if err != nil {
		return err
	}
	cs, err := s.eng.CancelCheckoutVoiding(r.Context(), c.Principal, id)
	if err != nil {
		return notFoundAs(err, errSessionNotFound)
	}
	out, err := s.sessionView(r.Context(), cs)
	if err != nil {
		return err
	}
	return api.JSON(w, http.StatusOK, out)
}

// notFoundAs is err, or nf when err is a not-found.
func notFoundAs(err error, nf *Error) error {
	if pe, ok := payment.AsError(err); ok && pe.Kind == payment.KindNotFound {
		return nf
	}
	return err
}
