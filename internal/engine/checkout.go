package engine

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// Limits of checkout sessions.
const (
	// DefaultCheckoutTTL is how long a session stays open when the
	// merchant gives no expires_at; MaxCheckoutTTL bounds expires_at.
	DefaultCheckoutTTL = 24 * time.Hour
	MaxCheckoutTTL     = 30 * 24 * time.Hour
	// MaxCheckoutAttempts bounds the payments tried on one session: a
	// hosted page open to anyone holding its URL must not become a card
	// tester's oracle.
	MaxCheckoutAttempts = 10
	maxCheckoutItems    = 100
	maxURLLen           = 2048
	// CheckoutMetadataKey names, in the metadata of a session's payments,
	// the session they were made for.
	CheckoutMetadataKey = "checkout_session"
)

// CheckoutLocales are the languages of the hosted page; "no" is Dintero's
// alias of "nb".
var CheckoutLocales = []string{"en", "nb", "no"}

// CheckoutInput asks for a checkout session.
type CheckoutInput struct {
	Amount            int64
	Currency          string
	Items             []payment.CheckoutItem
	MerchantReference string
	ReturnURL         string
	CancelURL         string
	CallbackURL       string
	CustomerID        string
	GatewayID         string
	// Capture: true (the default) purchases, false only authorizes.
	Capture   *bool
	ExpiresAt *time.Time
	Locale    string
	SaveCard  bool
	// Dialect is the API making the session: "" or
	// payment.CheckoutDialectDintero.
	Dialect string
	// TokenOnly makes a token session (payment.CheckoutKindPaymentToken):
	// the page verifies and saves the customer's card and charges nothing.
	// Amount must be 0, with no items, and CustomerID is required.
	TokenOnly bool
	// MerchantInitiated: the session is paid at once with a stored card
	// (PayCheckoutStored); no customer comes back, so it needs no
	// return_url.
	MerchantInitiated bool
}

// ValidateCheckout checks in as CreateCheckoutSession does, as far as that
// needs neither the store nor the clock: amounts, items, URLs, text and
// locale. Errors name the field.
func ValidateCheckout(in CheckoutInput) error {
	if in.TokenOnly {
		switch {
		case in.Amount != 0:
			return payment.Invalid(payment.CodeParameterInvalid, "amount", "A token session charges nothing: amount must be 0.")
		case len(in.Items) > 0:
			return payment.Invalid(payment.CodeParameterInvalid, "items", "A token session charges nothing: it has no items.")
		case in.CustomerID == "":
			return payment.Missing("customer")
		}
	} else if err := checkAmount("amount", in.Amount); err != nil {
		return err
	}
	if err := checkCurrency(in.Currency); err != nil {
		return err
	}
	if len(in.Items) > maxCheckoutItems {
		return payment.Invalid(payment.CodeParameterInvalid, "items", "items may hold at most %d lines.", maxCheckoutItems)
	}
	var sum int64
	for i, it := range in.Items {
		p := fmt.Sprintf("items[%d]", i)
		if it.Amount < 0 || it.Amount > payment.MaxAmount {
			return payment.Invalid(payment.CodeParameterInvalid, p+".amount",
				"%s.amount must be an integer in minor units between 0 and %d.", p, payment.MaxAmount)
		}
		if it.Quantity < 1 || it.Quantity > 1_000_000 {
			return payment.Invalid(payment.CodeParameterInvalid, p+".quantity", "%s.quantity must be between 1 and 1000000.", p)
		}
		if it.VATAmount < 0 || it.VATAmount > it.Amount {
			return payment.Invalid(payment.CodeParameterInvalid, p+".vat_amount", "%s.vat_amount must be between 0 and the line's amount.", p)
		}
		if strings.TrimSpace(it.Description) == "" {
			return payment.Missing(p + ".description")
		}
		for _, f := range []struct{ param, v string }{{p + ".description", it.Description}, {p + ".id", it.ID}, {p + ".line_id", it.LineID}} {
			if err := checkText(f.param, f.v, maxAddressLen); err != nil {
				return err
			}
		}
		sum += it.Amount // at most 100 × 1e15: no overflow
	}
	if len(in.Items) > 0 && sum != in.Amount {
		return payment.Invalid(payment.CodeParameterInvalid, "amount",
			"amount (%d) must equal the sum of the items' amounts (%d).", in.Amount, sum)
	}
	if err := checkText("merchant_reference", in.MerchantReference, maxAddressLen); err != nil {
		return err
	}
	if strings.TrimSpace(in.MerchantReference) == "" {
		return payment.Missing("merchant_reference")
	}
	if in.ReturnURL == "" && !in.MerchantInitiated {
		return payment.Missing("return_url")
	}
	for _, f := range []struct{ param, v string }{{"return_url", in.ReturnURL}, {"cancel_url", in.CancelURL}, {"callback_url", in.CallbackURL}} {
		if f.v == "" {
			continue
		}
		if err := checkRedirectURL(f.param, f.v); err != nil {
			return err
		}
	}
	if in.GatewayID == "" {
		return payment.Missing("gateway")
	}
	if in.Locale != "" && !isCheckoutLocale(in.Locale) {
		return payment.Invalid(payment.CodeParameterInvalid, "locale", "locale must be one of %s.", strings.Join(CheckoutLocales, ", "))
	}
	if in.SaveCard && in.CustomerID == "" {
		return payment.Invalid(payment.CodeParameterInvalid, "save_card", "save_card needs a customer to save the card for.")
	}
	return nil
}

// IsCheckoutLocale reports whether l is one of CheckoutLocales.
func IsCheckoutLocale(l string) bool { return isCheckoutLocale(l) }

func isCheckoutLocale(l string) bool {
	for _, c := range CheckoutLocales {
		if l == c {
			return true
		}
	}
	return false
}

// CheckRedirectURL is checkRedirectURL for the dialects: a URL a
// profile keeps for the sessions made from it.
func CheckRedirectURL(param, s string) error { return checkRedirectURL(param, s) }

// checkRedirectURL checks a URL the customer's browser (or kassa) is sent
// to: absolute http(s), with a host, no credentials, no fragment.
func checkRedirectURL(param, s string) error {
	bad := func() error {
		return payment.Invalid(payment.CodeParameterInvalid, param,
			"%s must be an absolute http(s) URL without credentials or fragment, at most %d characters.", param, maxURLLen)
	}
	if len(s) > maxURLLen || CheckNoCardNumber(param, s) != nil {
		return bad()
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Fragment != "" ||
		u.Opaque != "" || strings.ContainsAny(s, " \t\r\n\\") {
		return bad()
	}
	return nil
}

// CreateCheckoutSession opens a checkout session for p's account.
func (e *Engine) CreateCheckoutSession(ctx context.Context, p *payment.Principal, in CheckoutInput) (*payment.CheckoutSession, error) {
	if err := ValidateCheckout(in); err != nil {
		return nil, err
	}
	now := e.clock()
	expires := now.Add(DefaultCheckoutTTL)
	if in.ExpiresAt != nil {
		expires = in.ExpiresAt.UTC().Truncate(time.Microsecond)
		if !expires.After(now) {
			return nil, payment.Invalid(payment.CodeParameterInvalid, "expires_at", "expires_at must be in the future.")
		}
		if expires.After(now.Add(MaxCheckoutTTL)) {
			return nil, payment.Invalid(payment.CodeParameterInvalid, "expires_at", "expires_at must be at most 30 days away.")
		}
	}
	if _, err := e.loadGateway(ctx, p.Account, in.GatewayID); err != nil {
		return nil, err
	}
	if err := e.checkCustomerRef(ctx, p.Account.ID, in.CustomerID); err != nil {
		return nil, err
	}
	locale := in.Locale
	if locale == "" {
		locale = "en"
	}
	cs := &payment.CheckoutSession{
		ID: payment.NewID(payment.PrefixCheckoutSession), AccountID: p.Account.ID, Status: payment.CheckoutOpen,
		Amount: in.Amount, Currency: in.Currency, Items: in.Items, MerchantReference: in.MerchantReference,
		ReturnURL: in.ReturnURL, CancelURL: in.CancelURL, CallbackURL: in.CallbackURL, CustomerID: in.CustomerID,
		GatewayID: in.GatewayID, Capture: in.Capture == nil || *in.Capture, Locale: locale, SaveCard: in.SaveCard,
		ExpiresAt: expires, CreatedAt: now, UpdatedAt: now, Dialect: in.Dialect, Kind: payment.CheckoutKindPayment,
	}
	if in.TokenOnly {
		cs.Kind, cs.SaveCard = payment.CheckoutKindPaymentToken, true
	}
	if cs.Items == nil {
		cs.Items = []payment.CheckoutItem{}
	}
	if err := e.store.CreateCheckoutSession(ctx, cs); err != nil {
		return nil, fmt.Errorf("create checkout session: %w", err)
	}
	return cs, nil
}

// CheckoutSession returns the account's session id, brought up to date
// with its payment and its expiry first.
func (e *Engine) CheckoutSession(ctx context.Context, accountID, id string) (*payment.CheckoutSession, error) {
	cs, err := e.store.CheckoutSession(ctx, accountID, id)
	if err != nil {
		return nil, err
	}
	cs, _, err = e.followCheckout(ctx, cs)
	return cs, err
}

// CheckoutSessions lists the account's sessions, newest first, as stored
// (a list does not bring each one up to date; a get does).
func (e *Engine) CheckoutSessions(ctx context.Context, accountID string, lp payment.ListParams) ([]*payment.CheckoutSession, bool, error) {
	return e.store.CheckoutSessions(ctx, accountID, lp)
}

// CancelCheckoutSession cancels the account's open session id. A session
// whose payment is in flight or succeeded, or that is closed, is a
// conflict.
func (e *Engine) CancelCheckoutSession(ctx context.Context, accountID, id string) (*payment.CheckoutSession, error) {
	cs, err := e.store.CheckoutSession(ctx, accountID, id)
	if err != nil {
		return nil, err
	}
	return e.cancelCheckout(ctx, cs)
}

func (e *Engine) cancelCheckout(ctx context.Context, cs *payment.CheckoutSession) (*payment.CheckoutSession, error) {
	for range 3 {
		var pay *payment.Payment
		var err error
		if cs, pay, err = e.followCheckout(ctx, cs); err != nil {
			return nil, err
		}
		switch {
		case cs.Status != payment.CheckoutOpen:
			return nil, payment.Conflict(payment.CodeInvalidState, "This checkout session is %s; it cannot be cancelled.", cs.Status)
		case pay != nil && attemptInFlight(pay.Status):
			return nil, payment.Conflict(payment.CodeInvalidState,
				"A payment of this checkout session is in flight; it cannot be cancelled until its outcome is known.")
		}
		now := e.clock()
		closed, err := e.closeCheckout(ctx, cs, payment.CheckoutCancelled, now)
		if !errors.Is(err, payment.ErrStale) {
			return closed, err
		}
		// An attempt or another close came first: look again at the
		// session as it is now, not as it was read before.
		if cs, err = e.store.CheckoutSession(ctx, cs.AccountID, cs.ID); err != nil {
			return nil, err
		}
	}
	return nil, payment.Conflict(payment.CodeInvalidState, "This checkout session is changing; try again.")
}

// closeCheckout moves cs from its status as read (open, or paid for a
// cancel) to status, with its event.
func (e *Engine) closeCheckout(ctx context.Context, cs *payment.CheckoutSession, status payment.CheckoutStatus, now time.Time) (*payment.CheckoutSession, error) {
	typ := map[payment.CheckoutStatus]string{payment.CheckoutPaid: payment.EventCheckoutCompleted,
		payment.CheckoutCancelled: payment.EventCheckoutCancelled, payment.CheckoutExpired: payment.EventCheckoutExpired}[status]
	after := *cs
	after.Status, after.ClosedAt, after.UpdatedAt = status, &now, now
	ev := newEvent(cs.AccountID, typ, cs.ID, CheckoutSessionObjectOf(&after), now)
	closed, err := e.store.CloseCheckoutSession(ctx, cs.AccountID, cs.ID, cs.Status, cs.Attempts, status, now, ev)
	if err != nil {
		if errors.Is(err, payment.ErrStale) {
			return nil, payment.ErrStale
		}
		return nil, fmt.Errorf("close checkout session %s: %w", cs.ID, err)
	}
	return closed, nil
}

// attemptSucceeded reports whether a payment in status s took the
// customer's money (or the promise of it): the session it was made for is
// paid, whatever the merchant did with the payment since.
func attemptSucceeded(s payment.Status) bool {
	switch s {
	case payment.StatusAuthorized, payment.StatusCaptured, payment.StatusPartiallyCaptured,
		payment.StatusPartiallyCapturedRefunded, payment.StatusPartiallyRefunded, payment.StatusRefunded,
		payment.StatusAuthorizationVoided:
		return true
	}
	return false
}

// attemptInFlight reports whether a payment in status s may still succeed:
// no other attempt may start, and the session may not close but as paid.
func attemptInFlight(s payment.Status) bool {
	return s == payment.StatusInitiated || s == payment.StatusUnknown || s == payment.StatusOnHold
}

// followCheckout brings an open session up to date: paid once its latest
// attempt succeeded, expired once past its expiry with no attempt in
// flight. It returns the session and its latest attempt's payment (nil
// before the first). Every change is a compare-and-set; a lost race reads
// again.
func (e *Engine) followCheckout(ctx context.Context, cs *payment.CheckoutSession) (*payment.CheckoutSession, *payment.Payment, error) {
	for range 5 {
		var pay *payment.Payment
		if cs.PaymentID != "" {
			var err error
			if pay, err = e.store.Payment(ctx, cs.AccountID, cs.PaymentID); err != nil {
				return nil, nil, fmt.Errorf("payment of checkout session %s: %w", cs.ID, err)
			}
		}
		if cs.Status != payment.CheckoutOpen {
			return cs, pay, nil
		}
		now := e.clock()
		var to payment.CheckoutStatus
		switch {
		case pay != nil && attemptSucceeded(pay.Status):
			to = payment.CheckoutPaid
		case pay != nil && attemptInFlight(pay.Status):
			return cs, pay, nil
		case !now.Before(cs.ExpiresAt):
			to = payment.CheckoutExpired
		default:
			return cs, pay, nil
		}
		closed, err := e.closeCheckout(ctx, cs, to, now)
		if err == nil {
			if to == payment.CheckoutPaid {
				e.saveCheckoutCard(ctx, closed, pay)
			}
			return closed, pay, nil
		}
		if !errors.Is(err, payment.ErrStale) {
			return nil, nil, err
		}
		if cs, err = e.store.CheckoutSession(ctx, cs.AccountID, cs.ID); err != nil {
			return nil, nil, err
		}
	}
	return nil, nil, fmt.Errorf("checkout session %s: it kept changing while being brought up to date", cs.ID)
}

// saveCheckoutCard retains the card of a paid session that asked to save
// it. A failure leaves the card cached (redacted after its TTL) and is
// logged: the payment itself is done.
func (e *Engine) saveCheckoutCard(ctx context.Context, cs *payment.CheckoutSession, pay *payment.Payment) {
	if !cs.SaveCard || pay == nil || pay.PaymentMethodID == "" {
		return
	}
	if _, err := e.RetainPaymentMethod(ctx, cs.AccountID, pay.PaymentMethodID); err != nil {
		e.log.ErrorContext(ctx, "retain the card of a paid checkout session", "checkout_session", cs.ID, "error", err)
	}
}

// CheckoutView is what the hosted page shows of a session.
type CheckoutView struct {
	Session *payment.CheckoutSession
	Account *payment.Account
	// Payment is the latest attempt's payment, or nil.
	Payment *payment.Payment
}

// CheckoutPage returns the session id of whatever account for its hosted
// page, brought up to date. ErrNotFound when there is none.
func (e *Engine) CheckoutPage(ctx context.Context, id string) (*CheckoutView, error) {
	cs, err := e.store.CheckoutSessionByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return e.checkoutView(ctx, cs)
}

func (e *Engine) checkoutView(ctx context.Context, cs *payment.CheckoutSession) (*CheckoutView, error) {
	cs, pay, err := e.followCheckout(ctx, cs)
	if err != nil {
		return nil, err
	}
	acct, err := e.Account(ctx, cs.AccountID)
	if err != nil {
		return nil, err
	}
	return &CheckoutView{Session: cs, Account: acct, Payment: pay}, nil
}

// CancelCheckoutPage is the customer's cancel on the hosted page: the
// session is cancelled unless a payment of it is in flight or succeeded.
// It returns the session as it then is, cancelled or not.
func (e *Engine) CancelCheckoutPage(ctx context.Context, id string) (*CheckoutView, error) {
	cs, err := e.store.CheckoutSessionByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if _, err := e.cancelCheckout(ctx, cs); err != nil {
		if pe, ok := payment.AsError(err); !ok || pe.Kind != payment.KindConflict {
			return nil, err
		}
	}
	return e.CheckoutPage(ctx, id)
}

// PayCheckoutPage vaults the card and pays the session with it as its
// attempt number attempt: the number the page was rendered for, so that a
// form sent twice (a double click, a reload) makes one payment. A form of
// an earlier attempt, or sent while an attempt is in flight or after the
// session closed, pays nothing and stores no card (the card is stored
// only by the write that claims the attempt); the view then shows the
// session as it is.
// A card that cannot be vaulted is an invalid-request error naming its
// field (card.number, card.exp_month, …).
func (e *Engine) PayCheckoutPage(ctx context.Context, id string, attempt int, c CardInput) (*CheckoutView, error) {
	v, err := e.CheckoutPage(ctx, id)
	if err != nil {
		return nil, err
	}
	cs := v.Session
	if cs.TokenOnly() {
		return e.saveCheckoutToken(ctx, v, attempt, c)
	}
	if cs.Status != payment.CheckoutOpen || attempt != cs.Attempts+1 || attempt > MaxCheckoutAttempts ||
		(v.Payment != nil && (attemptInFlight(v.Payment.Status) || attemptSucceeded(v.Payment.Status))) {
		return v, nil
	}
	// The session was made with a secret key; its page acts with that
	// authority, for the session's own customer only.
	p := &payment.Principal{Account: v.Account, Key: &payment.APIKey{ID: "checkout:" + cs.ID, AccountID: cs.AccountID, Kind: payment.KeySecret}}
	in := PaymentMethodInput{Type: payment.PaymentMethodTypeCard, Card: &c}
	if cs.SaveCard {
		in.Customer = cs.CustomerID
	}
	// The card is sealed here but stored only by the write that claims
	// the attempt (the payment's reservation), so that a form that loses
	// the claim — a double submit, a second tab, a session paid, cancelled
	// or expired since it was read — leaves no card behind. Vaulting
	// first and deleting the card when the claim fails would leave it
	// stored whenever the request died in between; claiming first is not
	// possible, as the reservation names the card.
	pm, pmEvent, err := e.sealPaymentMethod(ctx, p, in)
	if err != nil {
		return nil, err
	}
	now := e.clock()
	claim := &IdempotencyClaim{accountID: cs.AccountID,
		checkout: &payment.CheckoutAttempt{AccountID: cs.AccountID, SessionID: cs.ID, Attempt: attempt, Now: now,
			Card: pm, CardEvent: pmEvent}}
	if cs.Dialect == payment.CheckoutDialectDintero {
		// The attempt's payment is a Dintero transaction of the session:
		// the reference names it by session (GET /v1/transactions?session_id=)
		// and promises its callback in the reservation's own transaction.
		claim.reference = &payment.TransactionReference{AccountID: cs.AccountID, Scope: payment.DinteroSessionScope,
			Reference: payment.DinteroSessionReference(cs, attempt), Type: "SESSION", CreatedAt: now}
		if cs.CallbackURL != "" {
			claim.reference.Callback, claim.reference.CallbackSigner = cs.CallbackURL, payment.SignerDintero
		}
	}
	capture := cs.Capture
	_, err = e.CreatePayment(WithIdempotencyClaim(ctx, claim), p, PaymentInput{
		Amount: cs.Amount, Currency: cs.Currency, PaymentMethodID: pm.ID, GatewayID: cs.GatewayID, Capture: &capture,
		Reference: cs.MerchantReference, CustomerID: cs.CustomerID,
		Metadata: map[string]string{CheckoutMetadataKey: cs.ID},
	})
	switch {
	case errors.Is(err, payment.ErrAttemptTaken), errors.Is(err, payment.ErrReferenceTaken):
		// Another submit of the same form reserved first, or the session
		// closed or expired meanwhile: show what happened.
	case err != nil:
		if pe, ok := payment.AsError(err); ok && pe.Kind == payment.KindNotFound && pe.Param == "customer" {
			return nil, customerNotFound(cs.CustomerID) // deleted meanwhile, as CreatePaymentMethod says
		}
		return nil, err
	}
	return e.CheckoutPage(ctx, id)
}

// paymentMethodOf returns the account's payment method id: the card the
// request's checkout attempt stores with its claim (PayCheckoutPage), which
// the payment reads before its reservation stores it, else the stored one.
func (e *Engine) paymentMethodOf(ctx context.Context, accountID, id string) (*payment.PaymentMethod, error) {
	if c := claimFrom(ctx); c != nil && c.checkout != nil {
		if pm := c.checkout.Card; pm != nil && pm.ID == id && pm.AccountID == accountID {
			return pm, nil
		}
	}
	return e.store.PaymentMethod(ctx, accountID, id)
}

// followCheckoutPayment brings the session a payment was made for up to
// date after the payment settled outside a request (the reconciler).
func (e *Engine) followCheckoutPayment(ctx context.Context, pay *payment.Payment) {
	id := pay.Metadata[CheckoutMetadataKey]
	if id == "" {
		return
	}
	cs, err := e.store.CheckoutSession(ctx, pay.AccountID, id)
	if err == nil {
		_, _, err = e.followCheckout(ctx, cs)
	}
	if err != nil {
		e.log.ErrorContext(ctx, "follow the checkout session of a settled payment", "checkout_session", id, "payment", pay.ID, "error", err)
	}
}

// sweepCheckoutSessions closes the sessions past their expiry: expired, or
// paid if their last attempt succeeded meanwhile. One whose attempt is in
// flight waits for it.
func (e *Engine) sweepCheckoutSessions(ctx context.Context, now time.Time) error {
	cs, err := e.store.ExpiredCheckoutSessions(ctx, now, 500)
	if err != nil {
		return fmt.Errorf("list expired checkout sessions: %w", err)
	}
	for _, c := range cs {
		if _, _, err := e.followCheckout(ctx, c); err != nil {
			e.log.ErrorContext(ctx, "expire checkout session", "checkout_session", c.ID, "error", err)
		}
	}
	return nil
}

// CheckoutSessionObject is a checkout session as the native API and its
// events show it. URL is set by the API, which knows where the hosted page
// is served; events leave it out.
type CheckoutSessionObject struct {
	ID                string                 `json:"id"`
	Object            string                 `json:"object"`
	URL               string                 `json:"url,omitempty"`
	Status            string                 `json:"status"`
	Amount            int64                  `json:"amount"`
	Currency          string                 `json:"currency"`
	Items             []payment.CheckoutItem `json:"items"`
	MerchantReference string                 `json:"merchant_reference"`
	ReturnURL         string                 `json:"return_url"`
	CancelURL         *string                `json:"cancel_url"`
	CallbackURL       *string                `json:"callback_url"`
	Customer          *string                `json:"customer"`
	Gateway           string                 `json:"gateway"`
	Capture           bool                   `json:"capture"`
	Locale            string                 `json:"locale"`
	SaveCard          bool                   `json:"save_card"`
	ExpiresAt         time.Time              `json:"expires_at"`
	Attempts          int                    `json:"attempts"`
	// Payment is the latest attempt's payment: the session's payment once
	// it is paid.
	Payment *string `json:"payment"`
	// Kind and CardToken are shown for token sessions only (the Dintero
	// dialect's POST /v1/sessions/payment-token): "payment_token", and the
	// retained payment method the paid session saved.
	Kind      string     `json:"kind,omitempty"`
	CardToken *string    `json:"card_token,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	ClosedAt  *time.Time `json:"closed_at"`
}

// CheckoutSessionObjectOf renders cs.
func CheckoutSessionObjectOf(cs *payment.CheckoutSession) *CheckoutSessionObject {
	items := cs.Items
	if items == nil {
		items = []payment.CheckoutItem{}
	}
	o := &CheckoutSessionObject{
		ID: cs.ID, Object: "checkout_session", Status: string(cs.Status), Amount: cs.Amount, Currency: cs.Currency,
		Items: items, MerchantReference: cs.MerchantReference, ReturnURL: cs.ReturnURL, CancelURL: nullable(cs.CancelURL),
		CallbackURL: nullable(cs.CallbackURL), Customer: nullable(cs.CustomerID), Gateway: cs.GatewayID, Capture: cs.Capture,
		Locale: cs.Locale, SaveCard: cs.SaveCard, ExpiresAt: cs.ExpiresAt, Attempts: cs.Attempts, Payment: nullable(cs.PaymentID),
		CreatedAt: cs.CreatedAt, UpdatedAt: cs.UpdatedAt, ClosedAt: cs.ClosedAt,
	}
	if cs.TokenOnly() {
		o.Kind, o.CardToken = cs.Kind, nullable(cs.CardTokenID)
	}
	return o
}

// CheckoutFormToken is the hosted page's anti-forgery token of session
// id: a keyed MAC of the id under the account's key, so that only a page
// kassa rendered for the session can post its forms, and no token is
// stored.
func (e *Engine) CheckoutFormToken(ctx context.Context, cs *payment.CheckoutSession) (string, error) {
	mac, err := e.vault.MAC(ctx, cs.AccountID, payment.PurposeRequestHash, []byte("checkout-form\x00"+cs.ID))
	if err != nil {
		return "", fmt.Errorf("checkout form token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(mac), nil
}
