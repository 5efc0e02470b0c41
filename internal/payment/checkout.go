package payment

import (
	"context"
	"time"
)

// PrefixCheckoutSession begins the id of a checkout session. Its random
// part (~95 bits, see NewID) is what keeps the public hosted page of a
// session out of reach of anyone not given its URL.
const PrefixCheckoutSession = "cs"

// Event types of checkout sessions: each is written in the transaction that
// closes the session.
const (
	EventCheckoutCompleted = "checkout_session.completed"
	EventCheckoutExpired   = "checkout_session.expired"
	EventCheckoutCancelled = "checkout_session.cancelled"
)

// CheckoutEventTypes lists the checkout session event types.
var CheckoutEventTypes = []string{EventCheckoutCompleted, EventCheckoutExpired, EventCheckoutCancelled}

// CheckoutStatus is where a checkout session is in its life. Every change
// is a compare-and-set on the session's status and attempt count (see
// CheckoutSessionStore.CloseCheckoutSession), so a lost race is seen, never
// overwritten.
type CheckoutStatus string

const (
	// CheckoutOpen: entered at creation. The customer may try payments on
	// it, one at a time. Left for paid, cancelled or expired; never
	// re-entered.
	CheckoutOpen CheckoutStatus = "open"
	// CheckoutPaid: entered when the payment of the latest attempt
	// succeeded (authorized or captured): the session has produced its one
	// payment. Left only for cancelled, by a Dintero session cancel once
	// that payment is voided (ADR 0027).
	CheckoutPaid CheckoutStatus = "paid"
	// CheckoutCancelled: entered from open by the merchant (the API) or the
	// customer (the page's cancel), only while no attempt is in flight or
	// succeeded; or from paid by the Dintero dialect's cancel, only once
	// the session's payment is AUTHORIZATION_VOIDED. Final.
	CheckoutCancelled CheckoutStatus = "cancelled"
	// CheckoutExpired: entered from open once ExpiresAt has passed and no
	// attempt is in flight or succeeded (the sweeper, or any read). Final.
	CheckoutExpired CheckoutStatus = "expired"
)

// CheckoutItem is one order line of a checkout session, in Dintero's
// terms: Amount is the line's total in minor units (quantity included).
type CheckoutItem struct {
	ID          string `json:"id,omitempty"`
	LineID      string `json:"line_id,omitempty"`
	Description string `json:"description"`
	Quantity    int64  `json:"quantity"`
	Amount      int64  `json:"amount"`
	VATAmount   int64  `json:"vat_amount,omitempty"`
}

// CheckoutSession is an order a customer pays on kassa's hosted page. It
// produces at most one successful payment: attempts are serialized by
// Attempts, which each payment's reservation advances in its own database
// transaction (CheckoutAttempt).
type CheckoutSession struct {
	ID        string // cs_…
	AccountID string
	Status    CheckoutStatus
	Amount    int64
	Currency  string
	Items     []CheckoutItem
	// MerchantReference is the merchant's name of the order; it becomes
	// the payment's reference and goes back on the return URL.
	MerchantReference string
	ReturnURL         string
	// CancelURL, when set, is where the page's cancel sends the customer
	// instead of ReturnURL with error=cancelled.
	CancelURL string
	// CallbackURL is where the Dintero dialect calls back a session's
	// transaction; the native API announces sessions by webhooks.
	CallbackURL string
	CustomerID  string
	// GatewayID is the gateway or router the payment goes through.
	GatewayID string
	Capture   bool
	// Locale is the page's language: "en", "nb" or "no".
	Locale    string
	SaveCard  bool
	ExpiresAt time.Time
	// Attempts counts the payments tried on the session; PaymentID is the
	// latest one's (empty before the first). The paid session's payment is
	// PaymentID.
	Attempts  int
	PaymentID string
	CreatedAt time.Time
	UpdatedAt time.Time
	// ClosedAt is when the session reached its status: when it left open,
	// or when a paid session was cancelled; nil while it is open.
	ClosedAt *time.Time
	// Dialect is the API that made the session: "" (native) or
	// CheckoutDialectDintero. It decides how the page and callbacks name
	// the session's payment.
	Dialect string
	// Kind is CheckoutKindPayment (the zero value reads as it) or
	// CheckoutKindPaymentToken.
	Kind string
	// CardTokenID is the retained payment method a paid token session
	// saved; empty otherwise.
	CardTokenID string
}

// Checkout session kinds.
const (
	// CheckoutKindPayment: the customer pays Amount (> 0).
	CheckoutKindPayment = "payment"
	// CheckoutKindPaymentToken: the customer's card is verified and saved
	// for CustomerID; Amount is 0 and no payment is made. Attempts count
	// the cards tried; the session is paid once one is saved.
	CheckoutKindPaymentToken = "payment_token"
)

// TokenOnly reports whether cs saves a card without a payment.
func (cs *CheckoutSession) TokenOnly() bool { return cs.Kind == CheckoutKindPaymentToken }

// CheckoutDialectDintero marks a session made by the Dintero dialect.
const CheckoutDialectDintero = "dintero"

// CheckoutAttempt, on a reserving IdempotencyMark, makes the payment the
// session's attempt number Attempt in the reservation's own transaction:
// the session must be open, not expired at Now, and have Attempts ==
// Attempt-1, else ErrAttemptTaken and nothing is reserved.
//
// Card, when set, is the card the attempt pays with, not stored yet: the
// store inserts it, with CardEvent (its payment_method.created), in the
// same transaction once the attempt is claimed. A card whose attempt
// cannot be claimed is never stored (ErrAttemptTaken rolls it back with
// the rest), and when Card's customer is gone the reserve fails with the
// customer not found.
type CheckoutAttempt struct {
	AccountID string
	SessionID string
	Attempt   int
	Now       time.Time
	Card      *PaymentMethod
	CardEvent *Event
}

// CodeAttemptTaken: a checkout session's attempt was already made, or the
// session is no longer open.
const CodeAttemptTaken = "checkout_attempt_taken"

// ErrAttemptTaken reports that a payment could not become a checkout
// session's next attempt: another request made that attempt first, or the
// session closed or expired. Nothing was reserved. It is a conflict.
var ErrAttemptTaken = &Error{Kind: KindConflict, Code: CodeAttemptTaken,
	Message: "This checkout session's payment attempt was already made, or the session is closed."}

// CheckoutSessionStore keeps checkout sessions.
type CheckoutSessionStore interface {
	// CreateCheckoutSession inserts cs. ErrNotFound if its account does
	// not exist.
	CreateCheckoutSession(ctx context.Context, cs *CheckoutSession) error
	// CheckoutSession returns the account's session id, or ErrNotFound.
	CheckoutSession(ctx context.Context, accountID, id string) (*CheckoutSession, error)
	// CheckoutSessionByID returns session id of whatever account, or
	// ErrNotFound. Only for the hosted page, which a session's id
	// authenticates; everything else uses CheckoutSession.
	CheckoutSessionByID(ctx context.Context, id string) (*CheckoutSession, error)
	// CheckoutSessions lists the account's sessions, newest first (oldest
	// first when p.Ascending), paginated as PaymentMethods.
	CheckoutSessions(ctx context.Context, accountID string, p ListParams) ([]*CheckoutSession, bool, error)
	// CloseCheckoutSession moves the session from status from to status
	// at `at`, writing ev (which may be nil) in the same transaction, if it
	// is still from with attempts attempts: compare-and-set, ErrStale
	// (nothing written) otherwise. The moves are open to paid, cancelled or
	// expired, and paid to cancelled; any other is an error. ErrNotFound if
	// the account has no such session. It returns the session stored.
	CloseCheckoutSession(ctx context.Context, accountID, id string, from CheckoutStatus, attempts int, status CheckoutStatus,
		at time.Time, ev *Event) (*CheckoutSession, error)
	// UpdateCheckoutSessionOrder writes cs's amount, currency, items,
	// merchant reference and UpdatedAt onto the account's session cs.ID if
	// it is still open with attempts attempts and not expired at
	// cs.UpdatedAt: compare-and-set, ErrStale (nothing written) otherwise.
	// ErrNotFound if the account has no such session. It returns the
	// session stored.
	UpdateCheckoutSessionOrder(ctx context.Context, cs *CheckoutSession, attempts int) (*CheckoutSession, error)
	// ClaimCheckoutTokenAttempt makes attempt the latest of the account's
	// open token session id if it has attempt-1 attempts and has not
	// expired at now: compare-and-set, ErrAttemptTaken (nothing written)
	// otherwise. ErrNotFound if the account has no such session.
	ClaimCheckoutTokenAttempt(ctx context.Context, accountID, id string, attempt int, now time.Time) error
	// CompleteCheckoutTokenSession moves the account's open token session
	// id with attempts attempts to paid at `at`, with the card token it
	// saved, ev (which may be nil) and callback (the delivery of the
	// session's callback, or nil) in the same transaction:
	// compare-and-set, ErrStale otherwise. ErrNotFound if the account has
	// no such session. It returns the session stored.
	CompleteCheckoutTokenSession(ctx context.Context, accountID, id string, attempts int, cardTokenID string, at time.Time,
		ev *Event, callback *WebhookDelivery) (*CheckoutSession, error)
	// ExpiredCheckoutSessions returns up to limit open sessions of any
	// account whose ExpiresAt is not after now, soonest expired first.
	ExpiredCheckoutSessions(ctx context.Context, now time.Time, limit int) ([]*CheckoutSession, error)
}
