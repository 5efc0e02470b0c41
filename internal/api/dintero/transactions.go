package dintero

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// A Dintero transaction is a kassa payment, however it was made; its
// events are the payment's operations (ADR 0024).

// Transaction references the dialect keeps (engine transaction references).
const (
	// SessionScope is the scope of the reference a checkout session's
	// payment claims when it is reserved: the session id, bound to the
	// payment's authorization. GET /v1/transactions?session_id= and a
	// transaction's session_id read it.
	SessionScope = "dintero_session"
	// eventScopePrefix begins the scope of a capture's or refund's
	// capture_reference or refund_reference. Dintero does not make these
	// unique (its WooCommerce plugin sends the order id with every capture
	// and refund of an order), so each is alone in a scope of its own.
	eventScopePrefix = "dintero_event:"
	// metadataMerchantReference2 is the payment metadata key that holds
	// the transaction's merchant_reference_2 (PUT /v1/transactions/{id}).
	// Dintero reserves the dintero_ prefix, so no client's ext_ key can
	// take it.
	metadataMerchantReference2 = "dintero_merchant_reference_2"
	// maxReferenceLen bounds merchant_reference_2, capture_reference and
	// refund_reference.
	maxReferenceLen = 255
)

// Dintero's event names (TransactionEvent.event).
const (
	eventInitiate        = "INITIATE"
	eventAuthorize       = "AUTHORIZE"
	eventCapture         = "CAPTURE"
	eventRefund          = "REFUND"
	eventVoid            = "VOID"
	eventInitiateCapture = "INITIATE_CAPTURE"
	eventInitiateRefund  = "INITIATE_REFUND"
	eventInitiateVoid    = "INITIATE_VOID"
)

// transaction is Dintero's Transaction, the part kassa has.
type transaction struct {
	ID                 string             `json:"id"`
	AccountID          string             `json:"account_id"`
	PaymentProduct     string             `json:"payment_product"`
	PaymentProductType string             `json:"payment_product_type"`
	Amount             int64              `json:"amount"`
	Currency           string             `json:"currency"`
	Status             payment.Status     `json:"status"`
	MerchantReference  string             `json:"merchant_reference,omitempty"`
	MerchantReference2 string             `json:"merchant_reference_2,omitempty"`
	SessionID          string             `json:"session_id,omitempty"`
	Customer           *transactionCustom `json:"customer,omitempty"`
	Card               *transactionCard   `json:"card,omitempty"`
	Items              []any              `json:"items"`
	Events             []transactionEvent `json:"events"`
	Metadata           map[string]string  `json:"metadata"`
	CreatedAt          time.Time          `json:"created_at"`
	UpdatedAt          time.Time          `json:"updated_at"`
}

type transactionCustom struct {
	CustomerID string `json:"customer_id"`
}

type transactionCard struct {
	Brand      string `json:"brand"`
	MaskedPAN  string `json:"masked_pan"`
	ExpiryDate string `json:"expiry_date"`
}

// transactionEvent is Dintero's TransactionEvent.
type transactionEvent struct {
	ID                string          `json:"id"`
	Event             string          `json:"event"`
	TransactionStatus payment.Status  `json:"transaction_status"`
	Amount            int64           `json:"amount"`
	Success           bool            `json:"success"`
	Error             *eventError     `json:"error,omitempty"`
	EventReference    string          `json:"event_reference,omitempty"`
	RequestID         string          `json:"request_id"`
	CreatedAt         time.Time       `json:"created_at"`
	Items             []any           `json:"items,omitempty"`
	outcome           payment.Outcome // for tests and the 202 decision
}

type eventError struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
}

// view renders payments as transactions; it caches what several
// payments of one list share.
type view struct {
	s        *server
	c        *caller
	gateways map[string]string
}

func (s *server) view(c *caller) *view {
	return &view{s: s, c: c, gateways: map[string]string{}}
}

// transaction renders pay.
func (v *view) transaction(ctx context.Context, pay *payment.Payment) (*transaction, error) {
	acct := v.c.Account.ID
	md := maps.Clone(pay.Metadata)
	ref2 := md[metadataMerchantReference2]
	maps.DeleteFunc(md, func(k, _ string) bool { return strings.HasPrefix(k, "dintero_") })
	if md == nil {
		md = map[string]string{}
	}
	product := v.product(ctx, pay.GatewayID)
	t := &transaction{
		ID: transactionID(acct, pay.ID), AccountID: payment.DinteroAccountID(acct),
		PaymentProduct: product, PaymentProductType: product + ".creditcard",
		Amount: pay.Amount, Currency: pay.Currency, Status: pay.Status,
		MerchantReference: pay.Reference, MerchantReference2: ref2,
		Items: []any{}, Metadata: md, CreatedAt: pay.CreatedAt.UTC(), UpdatedAt: pay.UpdatedAt.UTC(),
	}
	if pay.CustomerID != "" {
		t.Customer = &transactionCustom{CustomerID: pay.CustomerID}
	}
	if pay.PaymentMethodID != "" {
		pm, err := v.s.eng.PaymentMethod(ctx, acct, pay.PaymentMethodID)
		switch {
		case err == nil:
			t.Card = &transactionCard{Brand: brandName(pm.Card.Brand), MaskedPAN: maskedPAN(pm.Card),
				ExpiryDate: expiry(pm.Card)}
		case !errors.Is(err, payment.ErrNotFound):
			return nil, err
		}
	}
	refs := map[string]string{}
	for _, op := range pay.Operations {
		switch op.Kind {
		case payment.OpAuthorize, payment.OpPurchase:
			if t.SessionID != "" {
				continue
			}
			ref, err := v.s.eng.TransactionReferenceByOperation(ctx, v.c.Principal, SessionScope, op.ID)
			switch {
			case err == nil:
				t.SessionID = payment.DinteroSessionOfReference(ref.Reference)
			case !errors.Is(err, payment.ErrNotFound):
				return nil, err
			}
		case payment.OpCapture, payment.OpRefund:
			ref, err := v.s.eng.TransactionReferenceByOperation(ctx, v.c.Principal, "", op.ID)
			switch {
			case err == nil && strings.HasPrefix(ref.Scope, eventScopePrefix):
				refs[op.ID] = ref.Reference
			case err != nil && !errors.Is(err, payment.ErrNotFound):
				return nil, err
			}
		}
	}
	t.Events = events(pay, refs)
	return t, nil
}

// product is the payment_product of a payment through gateway id: its
// gateway type (simulator, stripe, …), "kassa" when the gateway is gone.
func (v *view) product(ctx context.Context, id string) string {
	if p, ok := v.gateways[id]; ok {
		return p
	}
	p := "kassa"
	if g, err := v.s.eng.Gateway(ctx, v.c.Account.ID, id); err == nil {
		p = g.Gateway.Type
	}
	v.gateways[id] = p
	return p
}

// events are pay's operations as Dintero's events, oldest first, each with
// the status the transaction had after it. An operation still in flight
// (pending, or unknown until reconciled) is an INITIATE_… event; once
// settled it is the event itself, successful or not. A purchase is an
// AUTHORIZE and a CAPTURE.
func events(pay *payment.Payment, refs map[string]string) []transactionEvent {
	out := []transactionEvent{}
	// shadow replays the payment's amounts operation by operation, so
	// payment.DeriveStatus gives each event's transaction_status.
	shadow := &payment.Payment{}
	for i, op := range pay.Operations {
		shadow.Operations = pay.Operations[:i+1]
		ok := op.Outcome == payment.OutcomeSucceeded
		if ok {
			switch op.Kind {
			case payment.OpAuthorize:
				shadow.AmountAuthorized += op.Amount
			case payment.OpPurchase:
				shadow.AmountAuthorized += op.Amount
				shadow.AmountCaptured += op.Amount
			case payment.OpCapture:
				shadow.AmountCaptured += op.Amount
			case payment.OpRefund:
				shadow.AmountRefunded += op.Amount
			case payment.OpVoid:
				shadow.Voided = true
			}
		}
		status := payment.DeriveStatus(shadow)
		if i == len(pay.Operations)-1 {
			status = pay.Status // a release without operation, a review
		}
		settled := op.Outcome.Settled() && op.Outcome != payment.OutcomePending
		ev := transactionEvent{ID: op.ID, TransactionStatus: status, Amount: op.Amount, Success: ok || !settled,
			RequestID: op.ID, CreatedAt: op.UpdatedAt.UTC(), EventReference: refs[op.ID], outcome: op.Outcome}
		if !settled {
			ev.CreatedAt = op.CreatedAt.UTC()
		}
		if settled && !ok {
			msg := op.Message
			if msg == "" {
				msg = "The operation was " + string(op.Outcome) + "."
			}
			ev.Error = &eventError{Code: op.DeclineCode, Message: msg}
		}
		switch op.Kind {
		case payment.OpAuthorize, payment.OpPurchase:
			ev.Event = eventAuthorize
			if !settled {
				ev.Event = eventInitiate
			}
			if op.Kind == payment.OpPurchase && ok {
				auth := ev
				auth.TransactionStatus = payment.StatusAuthorized
				out = append(out, auth)
				ev.ID, ev.Event = op.ID+".capture", eventCapture
			}
		case payment.OpCapture:
			ev.Event = pick(settled, eventCapture, eventInitiateCapture)
		case payment.OpRefund:
			ev.Event = pick(settled, eventRefund, eventInitiateRefund)
		case payment.OpVoid:
			ev.Event = pick(settled, eventVoid, eventInitiateVoid)
		default:
			continue
		}
		out = append(out, ev)
	}
	return out
}

func pick(settled bool, done, inFlight string) string {
	if settled {
		return done
	}
	return inFlight
}

// brandName is Dintero's card.brand for a kassa brand.
func brandName(brand string) string {
	switch brand {
	case "visa":
		return "Visa"
	case "mastercard":
		return "MasterCard"
	case "amex":
		return "American Express"
	case "discover":
		return "Discover"
	case "diners":
		return "Diners Club"
	case "jcb":
		return "JCB"
	case "maestro":
		return "Maestro"
	}
	return brand
}

// maskedPAN is Dintero's masked_pan: the first six digits, six stars and
// the last four (kassa does not keep a card's length).
func maskedPAN(c payment.Card) string {
	return c.First6 + "******" + c.Last4
}

// expiry is Dintero's MM/YYYY.
func expiry(c payment.Card) string {
	return fmt.Sprintf("%02d/%04d", c.ExpMonth, c.ExpYear)
}

var (
	errTransactionNotFound = newError(http.StatusNotFound, CodeNotFound, "Transaction not found.")
	errCardTokenNotFound   = newError(http.StatusNotFound, CodeNotFound, "Card token not found.")
)

// payment reads the caller's payment the path's {id} names.
func (s *server) payment(r *http.Request, c *caller) (*payment.Payment, error) {
	id, ok := paymentIDOf(c.Account.ID, r.PathValue("id"))
	if !ok {
		return nil, errTransactionNotFound
	}
	pay, err := s.eng.Payment(r.Context(), c.Account.ID, id)
	if errors.Is(err, payment.ErrNotFound) {
		return nil, errTransactionNotFound
	}
	return pay, err
}

// transactionGet answers GET /v1/transactions/{id}. includes is accepted
// and changes nothing: kassa has none of the parts it asks for.
func (s *server) transactionGet(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := checkQuery(r, "includes"); err != nil {
		return err
	}
	pay, err := s.payment(r, c)
	if err != nil {
		return err
	}
	t, err := s.view(c).transaction(r.Context(), pay)
	if err != nil {
		return err
	}
	return api.JSON(w, http.StatusOK, t)
}

// checkQuery refuses query parameters other than allowed: a filter kassa
// does not apply would answer with the wrong transactions.
func checkQuery(r *http.Request, allowed ...string) error {
	for k := range r.URL.Query() {
		if !contains(allowed, k) {
			return fieldError(safePath(k), payment.CodeParameterInvalid, "Query parameter %s is not supported.", safePath(k))
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// limit reads Dintero's limit: 1 to 100, 10 when left out.
func limit(r *http.Request) (int, error) {
	vals, ok := r.URL.Query()["limit"]
	if !ok {
		return api.DefaultListLimit, nil
	}
	n, err := strconv.Atoi(vals[0])
	if err != nil || n < 1 || n > api.MaxListLimit || len(vals) > 1 {
		return 0, fieldError("limit", payment.CodeParameterInvalid, "limit must be an integer between 1 and %d.", api.MaxListLimit)
	}
	return n, nil
}

// one reads a query parameter given at most once.
func one(r *http.Request, name string) (string, error) {
	vals := r.URL.Query()[name]
	switch {
	case len(vals) > 1:
		return "", fieldError(name, payment.CodeParameterInvalid, "%s may be given once.", name)
	case len(vals) == 0:
		return "", nil
	}
	if err := engine.CheckNoCardNumber(name, vals[0]); err != nil {
		return "", fieldError(name, payment.CodeCardNumberInText, "%s must not contain a card number.", name)
	}
	return vals[0], nil
}

// transactionList answers GET /v1/transactions: newest first, a JSON
// array as Dintero's; starting_after is the last id of the previous page.
func (s *server) transactionList(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := checkQuery(r, "status", "merchant_reference", "session_id", "limit", "starting_after"); err != nil {
		return err
	}
	n, err := limit(r)
	if err != nil {
		return err
	}
	f := payment.PaymentFilter{ListParams: payment.ListParams{Limit: n}}
	status, err := one(r, "status")
	if err != nil {
		return err
	}
	if status != "" {
		f.Status = payment.Status(status)
		if !knownStatus(f.Status) {
			return fieldError("status", payment.CodeParameterInvalid, "status must be one of Dintero's transaction statuses.")
		}
	}
	if f.Reference, err = one(r, "merchant_reference"); err != nil {
		return err
	}
	after, err := one(r, "starting_after")
	if err != nil {
		return err
	}
	if after != "" {
		id, ok := paymentIDOf(c.Account.ID, after)
		if !ok {
			return fieldError("starting_after", payment.CodeParameterInvalid, "starting_after must be a transaction id of this account.")
		}
		f.StartingAfter = id
	}
	session, err := one(r, "session_id")
	if err != nil {
		return err
	}
	var pays []*payment.Payment
	if session != "" {
		pays, err = s.sessionPayments(r.Context(), c, session, f)
	} else {
		pays, _, err = s.eng.Payments(r.Context(), c.Account.ID, f)
	}
	if err != nil {
		if pe, ok := payment.AsError(err); ok && pe.Kind == payment.KindNotFound {
			return fieldError("starting_after", payment.CodeParameterInvalid, "starting_after names no transaction of this account.")
		}
		return err
	}
	v := s.view(c)
	out := make([]*transaction, 0, len(pays))
	for _, pay := range pays {
		t, err := v.transaction(r.Context(), pay)
		if err != nil {
			return err
		}
		out = append(out, t)
	}
	return api.JSON(w, http.StatusOK, out)
}

// sessionPayments is the payment (at most one) the checkout session id
// produced, if it passes f's other filters. A payment made without a
// session never matches.
func (s *server) sessionPayments(ctx context.Context, c *caller, session string, f payment.PaymentFilter) ([]*payment.Payment, error) {
	ref, err := s.eng.TransactionReference(ctx, c.Principal, SessionScope, session)
	if errors.Is(err, payment.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	payID := ref.PaymentID
	// A card declined on the page may be tried again: the session's
	// transaction is then its latest attempt's (whose reference is
	// "<session id>/<n>").
	if aid, csID, ok := payment.ParseDinteroID(session, payment.PrefixCheckoutSession); ok && aid == payment.DinteroAccountID(c.Account.ID) {
		cs, err := s.eng.CheckoutSession(ctx, c.Account.ID, csID)
		switch {
		case err == nil && cs.Attempts > 1:
			later, err := s.eng.TransactionReference(ctx, c.Principal, SessionScope, payment.DinteroSessionReference(cs, cs.Attempts))
			if err != nil && !errors.Is(err, payment.ErrNotFound) {
				return nil, err
			}
			if err == nil {
				payID = later.PaymentID
			}
		case err != nil && !errors.Is(err, payment.ErrNotFound):
			return nil, err
		}
	}
	pay, err := s.eng.Payment(ctx, c.Account.ID, payID)
	if errors.Is(err, payment.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if f.Status != "" && pay.Status != f.Status || f.Reference != "" && pay.Reference != f.Reference || f.StartingAfter != "" {
		return nil, nil
	}
	return []*payment.Payment{pay}, nil
}

func knownStatus(s payment.Status) bool {
	switch s {
	case payment.StatusInitiated, payment.StatusAuthorized, payment.StatusPartiallyCaptured, payment.StatusCaptured,
		payment.StatusPartiallyCapturedRefunded, payment.StatusPartiallyRefunded, payment.StatusRefunded,
		payment.StatusAuthorizationVoided, payment.StatusDeclined, payment.StatusFailed, payment.StatusUnknown, payment.StatusOnHold:
		return true
	}
	return false
}

// updateTransactionRequest is the body of PUT /v1/transactions/{id}: the
// one field Dintero lets change.
type updateTransactionRequest struct {
	MerchantReference2 *string `json:"merchant_reference_2"`
}

// transactionUpdate answers PUT /v1/transactions/{id}.
func (s *server) transactionUpdate(w http.ResponseWriter, r *http.Request, c *caller) error {
	pay, err := s.payment(r, c)
	if err != nil {
		return err
	}
	var req updateTransactionRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.MerchantReference2 != nil {
		if err := checkReference("merchant_reference_2", *req.MerchantReference2); err != nil {
			return err
		}
		// "" removes the key: the transaction shows no merchant_reference_2.
		pay, err = s.eng.UpdatePaymentMetadata(r.Context(), c.Account.ID, pay.ID,
			map[string]string{metadataMerchantReference2: *req.MerchantReference2})
		if err != nil {
			return err
		}
	}
	t, err := s.view(c).transaction(r.Context(), pay)
	if err != nil {
		return err
	}
	return api.JSON(w, http.StatusOK, t)
}

// checkReference checks a merchant's reference: printable, at most
// maxReferenceLen, no card number.
func checkReference(path, s string) error {
	if len(s) > maxReferenceLen {
		return fieldError(path, payment.CodeParameterInvalid, "%s must be at most %d characters.", path, maxReferenceLen)
	}
	if err := engine.CheckNoCardNumber(path, s); err != nil {
		return fieldError(path, payment.CodeCardNumberInText, "%s must not contain a card number.", path)
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f || r == '\uFFFD' {
			return fieldError(path, payment.CodeParameterInvalid, "%s must be printable text.", path)
		}
	}
	return nil
}
