package payment

import "time"

// Status is a payment's state, derived from its amounts and operations by
// DeriveStatus and never set by hand. The vocabulary is Dintero's.
type Status string

const (
	// StatusInitiated: created; its first operation is in flight.
	StatusInitiated Status = "INITIATED"
	// StatusAuthorized: authorized, nothing captured yet. Left by capture,
	// void, or an unknown follow-up.
	StatusAuthorized Status = "AUTHORIZED"
	// StatusPartiallyCaptured: part of the authorization captured; more may
	// be captured, the captured part refunded, the rest voided.
	StatusPartiallyCaptured Status = "PARTIALLY_CAPTURED"
	// StatusCaptured: all of the authorization captured (or a purchase).
	StatusCaptured Status = "CAPTURED"
	// StatusPartiallyCapturedRefunded: partly captured and some or all of
	// that refunded; the rest of the authorization is still held.
	StatusPartiallyCapturedRefunded Status = "PARTIALLY_CAPTURED_REFUNDED"
	// StatusPartiallyRefunded: fully captured, part of it refunded.
	StatusPartiallyRefunded Status = "PARTIALLY_REFUNDED"
	// StatusRefunded: everything captured was refunded. Final.
	StatusRefunded Status = "REFUNDED"
	// StatusAuthorizationVoided: the authorization was released before any
	// capture. Final.
	StatusAuthorizationVoided Status = "AUTHORIZATION_VOIDED"
	// StatusDeclined: the issuer or gateway declined the first operation.
	// Final.
	StatusDeclined Status = "DECLINED"
	// StatusFailed: the first operation failed, or certainly never reached
	// the gateway. Final.
	StatusFailed Status = "FAILED"
	// StatusUnknown: an operation's outcome is unknown (a timeout after the
	// request was sent, or a crash). The reconciler asks the gateway and
	// settles it; meanwhile every action is refused.
	StatusUnknown Status = "UNKNOWN"
	// StatusOnHold is reserved for payments held for review before capture
	// (Dintero's ON_HOLD); kassa does not enter it yet.
	StatusOnHold Status = "ON_HOLD"
)

// OperationKind is what an operation asks of a gateway.
type OperationKind string

const (
	OpAuthorize OperationKind = "authorize"
	OpPurchase  OperationKind = "purchase"
	OpCapture   OperationKind = "capture"
	OpVoid      OperationKind = "void"
	OpRefund    OperationKind = "refund"
	OpVerify    OperationKind = "verify"
	OpCredit    OperationKind = "credit"
	OpStore     OperationKind = "store"
)

// OperationKinds lists every kind, in the order the API documents them.
var OperationKinds = []OperationKind{OpAuthorize, OpPurchase, OpCapture, OpVoid, OpRefund, OpVerify, OpCredit, OpStore}

// Outcome is what became of an operation.
type Outcome string

const (
	// OutcomePending: reserved, the gateway call is in flight. Left by
	// settling with the call's result; an operation pending for longer than
	// any call may take is treated as unknown (its process died).
	OutcomePending Outcome = "pending"
	// OutcomeSucceeded: the gateway did it. Final.
	OutcomeSucceeded Outcome = "succeeded"
	// OutcomeDeclined: the issuer or gateway said no. Final.
	OutcomeDeclined Outcome = "declined"
	// OutcomeFailed: the gateway refused the request as invalid or broke;
	// retrying the same request will not help. Final.
	OutcomeFailed Outcome = "failed"
	// OutcomeNotSent: the request certainly never reached the gateway
	// (connection refused, gateway disabled): safe to retry or route
	// elsewhere. Final.
	OutcomeNotSent Outcome = "not_sent"
	// OutcomeUnknown: the request may have reached the gateway and its
	// answer was lost. Left only by reconciliation.
	OutcomeUnknown Outcome = "unknown"
)

// Settled reports whether o is final.
func (o Outcome) Settled() bool {
	return o != OutcomePending && o != OutcomeUnknown
}

// StoredCredential says who starts a payment on a stored card, and why
// (the card networks' credential-on-file framework).
type StoredCredential struct {
	Initiator string // "cardholder" | "merchant"
	Reason    string // "one_time" | "recurring" | "unscheduled"
}

// Payment is the money object: one amount on one payment method through one
// gateway, changed only by its operations.
type Payment struct {
	ID        string // pay_…
	AccountID string
	Amount    int64
	Currency  string
	// GatewayID is the gateway that made (or is making) the payment: with a
	// router, the one whose attempt answered. Follow-ups go to it.
	GatewayID         string
	CredentialVersion int
	// RouterID is the router gateway the payment was asked of, or empty.
	RouterID string
	// RoutingTrace records the router's decision and every attempt (JSON,
	// as the native API shows it), or is nil without a router.
	RoutingTrace    []byte
	PaymentMethodID string
	// CustomerID is the customer the payment was made for, or empty. It
	// never changes, and the payment stays readable after the customer is
	// deleted.
	CustomerID            string
	Capture               bool // purchase (true) or authorize only
	Reference             string
	Description           string
	Metadata              map[string]string
	StoredCredential      *StoredCredential
	GatewaySpecificFields map[string]any
	Status                Status
	AmountAuthorized      int64
	AmountCaptured        int64
	AmountRefunded        int64
	// Voided is set once the authorization was released.
	Voided bool
	// RequiresReview is set when reconciliation gave up: a person must
	// check the gateway.
	RequiresReview bool
	Test           bool
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// Operations are the payment's operations, oldest first.
	Operations []*Operation
}

// Operation is one interaction with a gateway.
type Operation struct {
	ID        string // op_… ; also the gateway-side idempotency key / reference
	AccountID string
	// PaymentID is empty for operations outside a payment (verifications).
	PaymentID       string
	PaymentMethodID string
	GatewayID       string
	// CredentialVersion is the version of the gateway's credentials used.
	CredentialVersion int
	Kind              OperationKind
	Amount            int64
	Currency          string
	Outcome           Outcome
	// DeclineCode is kassa's normalised decline or failure code.
	DeclineCode          string
	GatewayReference     string
	ResponseCode         string
	Message              string
	AVSCode              string
	CVVCode              string
	NetworkTransactionID string
	// Transcript is the scrubbed HTTP exchange (JSON), possibly empty.
	Transcript []byte
	// Reconciliation bookkeeping, for operations whose outcome is unknown.
	ReconcileAttempts int
	NextReconcileAt   *time.Time
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// Capturable is how much more may be captured, counting captures still in
// flight (pending or unknown) as taken.
func (p *Payment) Capturable() int64 {
	if p.Voided {
		return 0
	}
	return p.AmountAuthorized - p.AmountCaptured - p.inFlight(OpCapture)
}

// Refundable is how much more may be refunded, counting refunds still in
// flight as taken.
func (p *Payment) Refundable() int64 {
	return p.AmountCaptured - p.AmountRefunded - p.inFlight(OpRefund)
}

func (p *Payment) inFlight(kind OperationKind) int64 {
	var n int64
	for _, op := range p.Operations {
		if op.Kind == kind && !op.Outcome.Settled() {
			n += op.Amount
		}
	}
	return n
}

// Unsettled reports whether any operation of p is pending or unknown.
func (p *Payment) Unsettled() bool {
	for _, op := range p.Operations {
		if !op.Outcome.Settled() {
			return true
		}
	}
	return false
}

// DeriveStatus is the one place a payment's status is computed: from its
// amounts and the outcomes of its operations.
func DeriveStatus(p *Payment) Status {
	// The payment's authorization is its latest authorize or purchase
	// attempt: a router may have tried other gateways first.
	var first *Operation
	for _, op := range p.Operations {
		if op.Outcome == OutcomeUnknown {
			return StatusUnknown
		}
		if op.Kind == OpAuthorize || op.Kind == OpPurchase {
			first = op
		}
	}
	if first == nil {
		return StatusInitiated
	}
	switch first.Outcome {
	case OutcomePending:
		return StatusInitiated
	case OutcomeDeclined:
		return StatusDeclined
	case OutcomeFailed, OutcomeNotSent:
		return StatusFailed
	}
	switch {
	case p.AmountCaptured == 0 && p.Voided:
		return StatusAuthorizationVoided
	case p.AmountCaptured == 0:
		return StatusAuthorized
	}
	// Fully captured, or the rest of the authorization released: nothing
	// more can be captured.
	full := p.AmountCaptured >= p.AmountAuthorized || p.Voided
	switch {
	case full && p.AmountRefunded >= p.AmountCaptured:
		return StatusRefunded
	case full && p.AmountRefunded > 0:
		return StatusPartiallyRefunded
	case full:
		return StatusCaptured
	case p.AmountRefunded > 0:
		// Part captured and (some or all of) that refunded; the rest of
		// the authorization can still be captured or voided.
		return StatusPartiallyCapturedRefunded
	}
	return StatusPartiallyCaptured
}
