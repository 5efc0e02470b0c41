package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kassapay/kassa/internal/card"
	"github.com/kassapay/kassa/internal/failpoint"
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/payment"
)

// PaymentInput asks for a payment.
type PaymentInput struct {
	Amount          int64
	Currency        string
	PaymentMethodID string
	GatewayID       string
	// Capture: true (the default) purchases, false only authorizes.
	Capture               *bool
	Reference             string
	Description           string
	Metadata              map[string]string
	StoredCredential      *payment.StoredCredential
	GatewaySpecificFields map[string]any
	// CustomerID is the customer the payment is for; when empty, the
	// payment method's customer (if it has one).
	CustomerID string
}

// Action is a follow-up on a payment.
type Action string

const (
	ActionCapture Action = "capture"
	ActionVoid    Action = "void"
	ActionRefund  Action = "refund"
)

// Actions lists every follow-up.
var Actions = []Action{ActionCapture, ActionVoid, ActionRefund}

// CheckAction is the one place that says which follow-ups a status allows.
// It returns nil or a KindConflict error with code invalid_state.
func CheckAction(a Action, s payment.Status) error {
	ok := false
	switch a {
	case ActionCapture:
		ok = s == payment.StatusAuthorized || s == payment.StatusPartiallyCaptured || s == payment.StatusPartiallyCapturedRefunded
	case ActionVoid:
		// Voiding after a partial capture releases the rest of the
		// authorization.
		ok = s == payment.StatusAuthorized || s == payment.StatusPartiallyCaptured || s == payment.StatusPartiallyCapturedRefunded
	case ActionRefund:
		ok = s == payment.StatusCaptured || s == payment.StatusPartiallyCaptured ||
			s == payment.StatusPartiallyCapturedRefunded || s == payment.StatusPartiallyRefunded
	}
	if ok {
		return nil
	}
	why := ""
	switch s {
	case payment.StatusUnknown:
		why = " The outcome of an earlier operation is unknown; kassa is asking the gateway and will settle it."
	case payment.StatusInitiated:
		why = " Its authorization is still in flight."
	}
	return payment.Conflict(payment.CodeInvalidState, "This payment is %s; it cannot be %s.%s", s, pastTense(a), why)
}

func pastTense(a Action) string {
	switch a {
	case ActionCapture:
		return "captured"
	case ActionVoid:
		return "voided"
	}
	return "refunded"
}

var (
	initiators = []string{"cardholder", "merchant"}
	reasons    = []string{"one_time", "recurring", "unscheduled"}
)

// call is everything one gateway call needs, prepared before the reserve.
type call struct {
	adapter gateway.Adapter
	spec    gateway.Spec
	gw      *payment.Gateway
	req     *gateway.Request
	pm      *payment.PaymentMethod
}

// CreatePayment authorizes (or purchases) in.Amount on a payment method
// through a gateway. A decline is not an error: the payment is returned with
// status DECLINED.
//
// Under an Idempotency-Key claim (WithIdempotencyClaim) the reservation
// binds the key to the payment; a claim recovering an earlier request
// returns that request's payment and does nothing else.
func (e *Engine) CreatePayment(ctx context.Context, p *payment.Principal, in PaymentInput) (*payment.Payment, error) {
	ctx = actingAs(ctx, p)
	claim := claimFrom(ctx)
	if claim.Recovering() {
		pay, _, err := e.recoveredPayment(ctx, claim)
		return pay, err
	}
	if err := checkAmount("amount", in.Amount); err != nil {
		return nil, err
	}
	if err := checkCurrency(in.Currency); err != nil {
		return nil, err
	}
	if in.PaymentMethodID == "" {
		return nil, payment.Missing("payment_method")
	}
	if in.GatewayID == "" {
		return nil, payment.Missing("gateway")
	}
	for _, f := range []struct{ param, v string }{{"reference", in.Reference}, {"description", in.Description}} {
		if err := checkText(f.param, f.v, maxAddressLen); err != nil {
			return nil, err
		}
	}
	if err := checkMetadata(in.Metadata); err != nil {
		return nil, err
	}
	if err := checkFreeForm("gateway_specific_fields", in.GatewaySpecificFields); err != nil {
		return nil, err
	}
	if sc := in.StoredCredential; sc != nil {
		if !slices.Contains(initiators, sc.Initiator) {
			return nil, payment.Invalid(payment.CodeParameterInvalid, "stored_credential.initiator", "stored_credential.initiator must be one of cardholder, merchant.")
		}
		if !slices.Contains(reasons, sc.Reason) {
			return nil, payment.Invalid(payment.CodeParameterInvalid, "stored_credential.reason", "stored_credential.reason must be one of one_time, recurring, unscheduled.")
		}
	}
	if err := e.checkCustomerRef(ctx, p.Account.ID, in.CustomerID); err != nil {
		return nil, err
	}
	capture := in.Capture == nil || *in.Capture
	kind := payment.OpAuthorize
	if capture {
		kind = payment.OpPurchase
	}
	g, err := e.loadGateway(ctx, p.Account, in.GatewayID)
	if err != nil {
		return nil, err
	}
	if g.Type == RouterType {
		return e.routedPayment(ctx, p, in, kind, g)
	}
	c, err := e.prepareCardCall(ctx, p.Account, in.PaymentMethodID, g, kind, in.Currency, in.GatewaySpecificFields)
	if err != nil {
		return nil, err
	}
	customerID, err := paymentCustomer(in.CustomerID, c.pm)
	if err != nil {
		return nil, err
	}
	md := map[string]string{}
	for k, v := range in.Metadata {
		if v != "" {
			md[k] = v
		}
	}
	now := e.clock()
	pay := &payment.Payment{
		ID: payment.NewID(payment.PrefixPayment), AccountID: p.Account.ID, Amount: in.Amount, Currency: in.Currency,
		GatewayID: c.gw.ID, CredentialVersion: c.gw.CredentialVersion, PaymentMethodID: c.pm.ID, Capture: capture,
		Reference: in.Reference, Description: in.Description, Metadata: md, StoredCredential: in.StoredCredential,
		GatewaySpecificFields: c.req.GatewaySpecificFields, CustomerID: customerID, Test: !p.Account.Live, CreatedAt: now, UpdatedAt: now,
	}
	op := e.newOperation(pay, kind, in.Amount, now)
	pay.Operations = []*payment.Operation{op}
	pay.Status = payment.DeriveStatus(pay)
	if err := e.reservePayment(ctx, claim, pay, now); err != nil {
		return nil, err
	}
	c.req.Reference = op.ID
	c.req.Amount, c.req.Currency = in.Amount, in.Currency
	c.req.Description, c.req.PaymentReference = in.Description, in.Reference
	c.req.StoredCredential = in.StoredCredential
	res := e.invoke(ctx, c.adapter, c.req, op.CreatedAt)
	pay, err = e.settleHeld(ctx, pay, op.ID, res, nil, cvcSpent(c, res))
	failpoint.Hit(failpoint.AfterSettle, string(kind))
	return pay, err
}

// reservePayment stores a new payment with its first operation pending,
// binding the request's Idempotency-Key (if any) to it in the same
// transaction.
func (e *Engine) reservePayment(ctx context.Context, claim *IdempotencyClaim, pay *payment.Payment, now time.Time) error {
	op := pay.Operations[0]
	if err := e.store.CreatePayment(ctx, pay, stampActor(ctx, []*payment.Event{
		newEvent(pay.AccountID, "payment.created", pay.ID, PaymentObjectOf(pay), now)}), claim.reserveMark(pay.ID, op.ID)); err != nil {
		e.observeConflict(err) // a duplicate reserved first
		return fmt.Errorf("create payment: %w", err)
	}
	claim.bound()
	failpoint.Hit(failpoint.AfterReserve, string(op.Kind))
	return nil
}

func (e *Engine) newOperation(pay *payment.Payment, kind payment.OperationKind, amount int64, now time.Time) *payment.Operation {
	return &payment.Operation{ID: payment.NewID(payment.PrefixOperation), AccountID: pay.AccountID, PaymentID: pay.ID,
		PaymentMethodID: pay.PaymentMethodID, GatewayID: pay.GatewayID, CredentialVersion: pay.CredentialVersion,
		Kind: kind, Amount: amount, Currency: pay.Currency, Outcome: payment.OutcomePending, CreatedAt: now, UpdatedAt: now}
}

func checkAmount(param string, amount int64) error {
	if amount <= 0 {
		return payment.Invalid(payment.CodeParameterInvalid, param, "%s must be a positive integer in minor units (1000 is 10.00 EUR).", param)
	}
	if amount > payment.MaxAmount {
		return payment.Invalid(payment.CodeParameterInvalid, param, "%s must be at most %d.", param, payment.MaxAmount)
	}
	return nil
}

func checkCurrency(c string) error {
	if c == "" {
		return payment.Missing("currency")
	}
	if _, ok := payment.CurrencyExponent(c); !ok {
		return payment.Invalid(payment.CodeParameterInvalid, "currency", "currency must be an ISO 4217 code kassa knows, in upper case, like 'EUR'.")
	}
	return nil
}

// prepareCardCall loads and checks everything an operation on a card needs:
// the payment method (opened), the gateway and its newest credentials, and
// the mode rules between account, gateway and card.
func (e *Engine) prepareCardCall(ctx context.Context, acct *payment.Account, pmID string, g *payment.Gateway, kind payment.OperationKind,
	currency string, gsf map[string]any) (*call, error) {
	pm, err := e.paymentMethodOf(ctx, acct.ID, pmID)
	if errors.Is(err, payment.ErrNotFound) {
		return nil, &payment.Error{Kind: payment.KindNotFound, Code: payment.CodeResourceMissing, Param: "payment_method",
			Message: fmt.Sprintf("No such payment_method: '%s'", printableID(pmID))}
	}
	if err != nil {
		return nil, err
	}
	if pm.StorageState == payment.StorageRedacted || pm.PANSealed == nil {
		return nil, &payment.Error{Kind: payment.KindConflict, Code: payment.CodeInvalidState, Param: "payment_method",
			Message: fmt.Sprintf("Payment method %s is redacted: its card number is gone.", pm.ID)}
	}
	c, err := e.prepareCall(ctx, acct, g, 0, kind)
	if err != nil {
		return nil, err
	}
	if len(c.spec.Currencies) > 0 && !slices.Contains(c.spec.Currencies, currency) && currency != "" {
		return nil, payment.Invalid(payment.CodeParameterInvalid, "currency", "Gateway %s does not accept %s.", c.gw.ID, currency)
	}
	if !slices.Contains(c.spec.PaymentMethodTypes, pm.Type) {
		return nil, payment.Invalid(payment.CodeParameterInvalid, "payment_method", "Gateway %s does not accept %s payment methods.", c.gw.ID, pm.Type)
	}
	fields, err := checkFields("gateway_specific_fields", c.spec.GatewaySpecificFields, gsf, false)
	if err != nil {
		return nil, err
	}
	c.req.GatewaySpecificFields = fields
	pan, err := e.vault.Open(ctx, acct.ID, payment.PurposeCard, sealRecord(pm.ID, "pan"), pm.PANSealed)
	if err != nil {
		return nil, fmt.Errorf("open card of %s: %w", pm.ID, err)
	}
	if acct.Live && card.IsTestCard(string(pan)) {
		return nil, payment.Invalid("test_card_on_live_account", "payment_method",
			"Payment method %s holds a test card, which live accounts cannot charge.", pm.ID)
	}
	cd := &gateway.Card{Number: string(pan), ExpMonth: pm.Card.ExpMonth, ExpYear: pm.Card.ExpYear,
		HolderName: pm.Card.HolderName, Brand: pm.Card.Brand, Billing: pm.Billing, Email: pm.Email}
	if pm.CVCSealed != nil && pm.CVCExpiresAt != nil && e.now().Before(*pm.CVCExpiresAt) {
		cvc, err := e.vault.Open(ctx, acct.ID, payment.PurposeCard, sealRecord(pm.ID, "cvc"), pm.CVCSealed)
		if err != nil {
			return nil, fmt.Errorf("open cvc of %s: %w", pm.ID, err)
		}
		cd.CVC = string(cvc)
	}
	c.req.Card = cd
	c.pm = pm
	return c, nil
}

// prepareCall loads the gateway, checks it may run kind for acct, and opens
// credential version v (0: the newest).
// loadGateway reads the account's gateway gwID, named as the request's
// "gateway" param when it does not exist.
func (e *Engine) loadGateway(ctx context.Context, acct *payment.Account, gwID string) (*payment.Gateway, error) {
	g, err := e.cachedGateway(ctx, acct.ID, gwID)
	if errors.Is(err, payment.ErrNotFound) {
		return nil, &payment.Error{Kind: payment.KindNotFound, Code: payment.CodeResourceMissing, Param: "gateway",
			Message: fmt.Sprintf("No such gateway: '%s'", printableID(gwID))}
	}
	return g, err
}

// prepareCall checks that gateway g may run kind for acct and opens its
// credential version v (0: the newest).
func (e *Engine) prepareCall(ctx context.Context, acct *payment.Account, g *payment.Gateway, v int, kind payment.OperationKind) (*call, error) {
	if g.Type == RouterType {
		return nil, payment.Invalid("operation_not_supported", "gateway",
			"%s is a router: it routes payments; send %s to one of its gateways.", g.ID, kind)
	}
	ad, ok := e.gateways.Lookup(g.Type)
	if !ok {
		return nil, payment.Conflict(payment.CodeInvalidState, "Gateway type '%s' is not available in this kassa.", g.Type)
	}
	spec := ad.Spec()
	if err := checkGatewayMode(spec, acct, g.Sandbox); err != nil {
		err.(*payment.Error).Param = "gateway"
		return nil, err
	}
	if !spec.Supports(kind) {
		return nil, payment.Invalid("operation_not_supported", "gateway", "Gateway type '%s' does not support %s.", g.Type, kind)
	}
	if slices.Contains(g.DisabledOperations, kind) {
		return nil, payment.Invalid("operation_disabled", "gateway", "%s is disabled on gateway %s.", kind, g.ID)
	}
	if v == 0 {
		v = g.CredentialVersion
	}
	creds, err := e.openCredentials(ctx, g, v)
	if err != nil {
		return nil, err
	}
	return &call{adapter: ad, spec: spec, gw: g, req: &gateway.Request{Kind: kind, Config: gateway.Config{
		GatewayID: g.ID, Credentials: creds, Settings: g.Settings, Sandbox: g.Sandbox,
		MerchantProfileKey: g.MerchantProfileKey, SubMerchantKey: g.SubMerchantKey, Live: acct.Live}}}, nil
}

// invoke calls the adapter with the call deadline. An adapter error is an
// unknown outcome (something may have been sent), except ErrUnsupported.
//
// The deadline runs from reservedAt, when the operation was reserved: the
// reconciler takes an operation pending for longer than CallTimeout (plus a
// margin) for abandoned and may settle it not_sent, so nothing may be sent
// after that. A call whose reservation is already that old is not made.
func (e *Engine) invoke(ctx context.Context, ad gateway.Adapter, req *gateway.Request, reservedAt time.Time) gateway.Result {
	left := reservedAt.Add(e.cfg.CallTimeout).Sub(e.now())
	if left <= 0 {
		return gateway.Result{Outcome: payment.OutcomeNotSent, DeclineCode: "reservation_expired",
			Message: "The operation waited too long for its call and was not sent."}
	}
	// The call must finish even if the client goes away: its outcome is
	// money, and it is settled below either way.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), left)
	defer cancel()
	began := e.now()
	res := e.call(cctx, ad, req)
	failpoint.Hit(failpoint.AfterCall, string(req.Kind))
	spec := ad.Spec()
	res.UnknownGrace = spec.UnknownGrace
	e.cfg.Observer.GatewayCall(spec.Type, req.Kind, res.Outcome, e.now().Sub(began))
	if res.Outcome == payment.OutcomePending && !ad.Spec().Notifications {
		// Only a provider that will send a notification may leave an
		// operation pending; from any other it means nothing is known.
		e.log.ErrorContext(ctx, "gateway adapter returned pending without notifications", "operation", req.Reference)
		res.Outcome = payment.OutcomeUnknown
	}
	// Every call teaches the gateway's breaker, routed or not — except
	// what kassa itself decided not to send, which says nothing of the
	// gateway's health.
	if res.DeclineCode != "operation_not_supported" {
		e.breakers.Record(req.Config.GatewayID, res.Outcome == payment.OutcomeNotSent || res.Outcome == payment.OutcomeUnknown)
	}
	return res
}

// call runs the adapter and turns its errors into outcomes.
func (e *Engine) call(ctx context.Context, ad gateway.Adapter, req *gateway.Request) gateway.Result {
	res, err := gateway.Call(ctx, ad, req)
	switch {
	case errors.Is(err, gateway.ErrUnsupported):
		return gateway.Result{Outcome: payment.OutcomeNotSent, DeclineCode: "operation_not_supported", Message: "The gateway does not support this operation."}
	case err != nil:
		e.log.ErrorContext(ctx, "gateway adapter error", "operation", req.Reference, "kind", req.Kind, "error", err)
		return gateway.Result{Outcome: payment.OutcomeUnknown, Message: "The gateway call ended in an error; its outcome is unknown."}
	}
	switch res.Outcome {
	case payment.OutcomeSucceeded, payment.OutcomeDeclined, payment.OutcomeFailed, payment.OutcomeNotSent, payment.OutcomeUnknown,
		payment.OutcomePending:
	default:
		e.log.ErrorContext(ctx, "gateway adapter returned no outcome", "operation", req.Reference, "outcome", res.Outcome)
		res.Outcome = payment.OutcomeUnknown
	}
	return res
}

// cvcSpent is the payment method whose CVC the call of c may have carried to
// the gateway, or "".
func cvcSpent(c *call, res gateway.Result) string {
	if res.Outcome == payment.OutcomeNotSent || c.req.Card == nil || c.req.Card.CVC == "" {
		return ""
	}
	return c.pm.ID
}

// destroyCVC removes a payment method's CVC after its first authorization
// attempt. A failure is logged: the sweeper destroys it at its TTL anyway.
func (e *Engine) destroyCVC(ctx context.Context, pm *payment.PaymentMethod) {
	if pm.CVCSealed == nil {
		return
	}
	_, err := e.store.UpdatePaymentMethod(context.WithoutCancel(ctx), pm.AccountID, pm.ID, func(pm *payment.PaymentMethod) (*payment.Event, error) {
		pm.CVCSealed, pm.CVCExpiresAt = nil, nil
		return nil, nil
	})
	if err != nil {
		e.log.ErrorContext(ctx, "destroy cvc after authorization", "payment_method", pm.ID, "error", err)
	}
}

// errAlreadySettled reports a lost settle race: someone (the reconciler)
// settled the operation first.
var errAlreadySettled = errors.New("operation already settled")

// settle writes res as the outcome of operation opID of payment payID, by
// compare-and-set: an operation already settled keeps its first result.
// A routed payment passes its trace, which is stored either way.
//
// The settle marks the request's Idempotency-Key (when this request
// reserved under one) in the same transaction.
//
// cvcOf, when set, is the payment method whose CVC the attempt may have
// carried: it is destroyed in the same transaction (PCI DSS 3.3.1.2: a CVC
// serves one authorization attempt).
func (e *Engine) settle(ctx context.Context, accountID, payID, opID string, res gateway.Result, tr *trace, cvcOf string) (*payment.Payment, error) {
	now := e.clock()
	claim := claimFrom(ctx)
	mark := claim.settleMark()
	var answer *Answer
	pay, err := e.store.UpdatePayment(context.WithoutCancel(ctx), accountID, payID, func(pay *payment.Payment) (*payment.PaymentChange, error) {
		op := findOperation(pay, opID)
		if op == nil {
			return nil, fmt.Errorf("settle: operation %s is not part of payment %s", opID, payID)
		}
		if tr != nil {
			pay.RoutingTrace = tr.bytes()
		}
		if op.Outcome.Settled() || (op.Outcome == payment.OutcomeUnknown && res.Outcome == payment.OutcomeUnknown) {
			if tr != nil || cvcOf != "" {
				// Keep the first result; store the trace, destroy the CVC.
				return &payment.PaymentChange{Idempotency: mark, DestroyCVC: cvcOf}, nil
			}
			return nil, errAlreadySettled
		}
		evs := stampActor(ctx, e.apply(pay, op, res, now))
		answer = answerMark(ctx, mark, pay, op)
		return &payment.PaymentChange{Operations: []*payment.Operation{op}, Events: evs, Idempotency: mark, DestroyCVC: cvcOf}, nil
	})
	if errors.Is(err, errAlreadySettled) {
		return e.store.Payment(ctx, accountID, payID)
	}
	if err != nil {
		return nil, fmt.Errorf("settle %s: %w", opID, err)
	}
	if answer != nil {
		claim.answered = answer
	}
	return pay, nil
}

// settleHeld settles operation opID of held, the payment as this request
// last wrote it: by compare-and-set (PaymentStore.SettlePayment), with
// the new state computed here rather than inside the store's transaction,
// when nothing else has touched the payment or the operation since; and
// through settle, under the payment's lock, when something has (the
// reconciler, another follow-up) or the compare-and-set cannot tell.
// Either way the result is the one settle would give.
func (e *Engine) settleHeld(ctx context.Context, held *payment.Payment, opID string, res gateway.Result, tr *trace, cvcOf string) (*payment.Payment, error) {
	if op := findOperation(held, opID); op != nil && op.Outcome == payment.OutcomePending {
		pay, err := e.settleFast(ctx, held, opID, res, tr, cvcOf)
		if !errors.Is(err, payment.ErrStale) {
			return pay, err
		}
	}
	return e.settle(ctx, held.AccountID, held.ID, opID, res, tr, cvcOf)
}

// settleFast is settleHeld's compare-and-set: the same change settle's
// update function makes, applied to a copy of held.
func (e *Engine) settleFast(ctx context.Context, held *payment.Payment, opID string, res gateway.Result, tr *trace, cvcOf string) (*payment.Payment, error) {
	now := e.clock()
	claim := claimFrom(ctx)
	mark := claim.settleMark()
	after := clonePayment(held)
	op := findOperation(after, opID)
	if tr != nil {
		after.RoutingTrace = tr.bytes()
	}
	evs := stampActor(ctx, e.apply(after, op, res, now))
	answer := answerMark(ctx, mark, after, op)
	pay, err := e.store.SettlePayment(context.WithoutCancel(ctx), held, after,
		&payment.PaymentChange{Operations: []*payment.Operation{op}, Events: evs, Idempotency: mark, DestroyCVC: cvcOf})
	if err != nil {
		if errors.Is(err, payment.ErrStale) {
			return nil, err
		}
		return nil, fmt.Errorf("settle %s: %w", opID, err)
	}
	if answer != nil {
		claim.answered = answer
	}
	return pay, nil
}

// clonePayment copies p and its operations, so that changing the copy
// leaves p as it was.
func clonePayment(p *payment.Payment) *payment.Payment {
	c := *p
	c.Operations = make([]*payment.Operation, len(p.Operations))
	for i, op := range p.Operations {
		o := *op
		c.Operations[i] = &o
	}
	return &c
}

func findOperation(p *payment.Payment, id string) *payment.Operation {
	for _, op := range p.Operations {
		if op.ID == id {
			return op
		}
	}
	return nil
}

// apply records res on op, moves the payment's amounts, derives its status
// and returns the events to write. It is the only code that moves money on a
// payment.
func (e *Engine) apply(pay *payment.Payment, op *payment.Operation, res gateway.Result, now time.Time) []*payment.Event {
	recordResult(op, res, now)
	e.awaitNotification(op, res, now)
	if res.Outcome == payment.OutcomeSucceeded {
		switch op.Kind {
		case payment.OpAuthorize:
			pay.AmountAuthorized = op.Amount
		case payment.OpPurchase:
			pay.AmountAuthorized, pay.AmountCaptured = op.Amount, op.Amount
		case payment.OpCapture:
			pay.AmountCaptured += op.Amount
		case payment.OpRefund:
			pay.AmountRefunded += op.Amount
		case payment.OpVoid:
			pay.Voided = true
		}
	}
	before := pay.Status
	pay.Status = payment.DeriveStatus(pay)
	pay.UpdatedAt = now
	evType := "payment." + strings.ToLower(string(op.Kind)) + "." + string(res.Outcome)
	evs := []*payment.Event{newEvent(pay.AccountID, evType, pay.ID, PaymentObjectOf(pay), now)}
	if before != pay.Status {
		evs = append(evs, newEvent(pay.AccountID, "payment.status_changed", pay.ID,
			map[string]any{"id": pay.ID, "from": before, "to": pay.Status, "operation": op.ID}, now))
	}
	return evs
}

// awaitNotification schedules the reconciler's first look at an operation
// just settled as pending or unknown. A pending one (the provider accepted
// it for asynchronous processing) waits for its notification; an unknown
// one waits out the gateway's unknown-outcome grace (Config.UnknownGrace
// unless its Spec gives one), while the provider may still be working on
// it. Either way the reservation stays.
func (e *Engine) awaitNotification(op *payment.Operation, res gateway.Result, now time.Time) {
	var due time.Time
	switch op.Outcome {
	case payment.OutcomePending:
		due = now.Add(e.cfg.NotificationWait)
	case payment.OutcomeUnknown:
		grace := res.UnknownGrace // the gateway's own, when it gives one
		if grace <= 0 {
			grace = e.cfg.UnknownGrace
		}
		due = now.Add(grace)
	default:
		return
	}
	op.NextReconcileAt = &due
}

// recordResult copies an adapter's result onto an operation.
func recordResult(op *payment.Operation, res gateway.Result, now time.Time) {
	op.Outcome = res.Outcome
	op.DeclineCode, op.ResponseCode, op.Message = res.DeclineCode, res.ResponseCode, res.Message
	op.AVSCode, op.CVVCode, op.NetworkTransactionID = res.AVSCode, res.CVVCode, res.NetworkTransactionID
	if res.GatewayReference != "" {
		op.GatewayReference = res.GatewayReference
	}
	if res.Transcript != nil {
		if b, err := json.Marshal(res.Transcript); err == nil {
			op.Transcript = b
		}
	}
	op.UpdatedAt = now
}

// Capture captures amount (nil: all that is left) of an authorized payment.
// It returns the payment and the capture operation this call made (other
// operations may have been added concurrently: answer from this one).
func (e *Engine) Capture(ctx context.Context, p *payment.Principal, id string, amount *int64) (*payment.Payment, *payment.Operation, error) {
	return e.followUp(ctx, p, id, ActionCapture, amount)
}

// Void releases an authorization before any capture, as Capture.
func (e *Engine) Void(ctx context.Context, p *payment.Principal, id string) (*payment.Payment, *payment.Operation, error) {
	return e.followUp(ctx, p, id, ActionVoid, nil)
}

// Refund refunds amount (nil: all that is left) of what was captured, as
// Capture.
func (e *Engine) Refund(ctx context.Context, p *payment.Principal, id string, amount *int64, reason string) (*payment.Payment, *payment.Operation, error) {
	if err := checkText("reason", reason, maxAddressLen); err != nil {
		return nil, nil, err
	}
	return e.followUp(ctx, p, id, ActionRefund, amount)
}

// followUp runs capture, void or refund through the reserve → call → settle
// protocol: the reservation is made under the payment's row lock counting
// operations still in flight, so concurrent follow-ups can never exceed
// what is capturable or refundable. The reservation binds the request's
// Idempotency-Key; a claim recovering an earlier request answers with that
// request's operation and does nothing else.
func (e *Engine) followUp(ctx context.Context, p *payment.Principal, id string, a Action, amount *int64) (*payment.Payment, *payment.Operation, error) {
	ctx = actingAs(ctx, p)
	claim := claimFrom(ctx)
	if claim.Recovering() {
		return e.recoveredPayment(ctx, claim)
	}
	if amount != nil {
		if err := checkAmount("amount", *amount); err != nil {
			return nil, nil, err
		}
	}
	acct := p.Account
	pay, err := e.store.Payment(ctx, acct.ID, id)
	if err != nil {
		return nil, nil, err
	}
	if err := CheckAction(a, pay.Status); err != nil {
		return nil, nil, err
	}
	kind := payment.OperationKind(a)
	g, err := e.loadGateway(ctx, acct, pay.GatewayID)
	if err != nil {
		return nil, nil, err
	}
	c, err := e.prepareCall(ctx, acct, g, pay.CredentialVersion, kind)
	if err != nil {
		if pe, ok := payment.AsError(err); ok && pe.Param == "gateway" {
			pe.Param = "" // the gateway is the payment's, not a parameter
		}
		return nil, nil, err
	}
	// A follow-up made outside the dialect whose transaction made the
	// payment (no reference of its own) is told to that transaction's
	// callback, promised with the reservation as the dialect's own are.
	var origin *payment.TransactionReference
	if claim == nil || claim.reference == nil {
		if origin, err = e.originReference(ctx, pay); err != nil {
			return nil, nil, err
		}
	}
	now := e.clock()
	var op *payment.Operation
	var prior *payment.Operation
	reserved, err := e.store.UpdatePayment(ctx, acct.ID, id, func(pay *payment.Payment) (*payment.PaymentChange, error) {
		// Checked again under the lock: the status may have moved.
		if err := CheckAction(a, pay.Status); err != nil {
			return nil, err
		}
		if a == ActionVoid && authorizedOnly(ctx) && pay.Status != payment.StatusAuthorized {
			return nil, payment.Conflict(payment.CodeInvalidState, "This payment is %s; only an authorized one is voided here.", pay.Status)
		}
		if a == ActionVoid || slices.ContainsFunc(pay.Operations, func(o *payment.Operation) bool {
			return o.Kind == payment.OpVoid && !o.Outcome.Settled()
		}) {
			if pay.Unsettled() {
				return nil, payment.Conflict(payment.CodeInvalidState, "Another operation on this payment is in flight; retry when it has settled.")
			}
		}
		prior = authorization(pay)
		if c.spec.SingleCapture && a == ActionCapture && slices.ContainsFunc(pay.Operations, func(o *payment.Operation) bool {
			return o.Kind == payment.OpCapture && o.Outcome != payment.OutcomeDeclined && o.Outcome != payment.OutcomeFailed && o.Outcome != payment.OutcomeNotSent
		}) {
			return nil, payment.Conflict(payment.CodeInvalidState,
				"Gateway %s captures an authorization once, and this one has a capture already.", pay.GatewayID)
		}
		n, err := reserveAmount(pay, a, amount)
		if err != nil {
			return nil, err
		}
		if err := mergeFollowUpMetadata(ctx, pay); err != nil {
			return nil, err
		}
		op = e.newOperation(pay, kind, n, now)
		pay.Operations = append(pay.Operations, op)
		ch := &payment.PaymentChange{Operations: []*payment.Operation{op}, Idempotency: claim.reserveMark(pay.ID, op.ID)}
		if origin != nil && origin.Callback != "" && payment.CallsBackFollowUp(origin, kind) {
			ch.Notices = []*payment.TransactionNotice{{Reference: origin, TransactionID: op.ID, At: now}}
		}
		return ch, nil
	})
	if err != nil {
		e.observeConflict(err)
		return nil, nil, err
	}
	claim.bound()
	failpoint.Hit(failpoint.AfterReserve, string(kind))
	c.req.Reference, c.req.Amount, c.req.Currency = op.ID, op.Amount, op.Currency
	c.req.PriorReference, c.req.PriorKind = prior.GatewayReference, prior.Kind
	if pm, err := e.store.PaymentMethod(ctx, acct.ID, pay.PaymentMethodID); err == nil {
		c.req.CardLast4 = pm.Card.Last4 // kept after redaction too
	}
	c.req.GatewaySpecificFields = pay.GatewaySpecificFields
	c.req.PaymentReference = pay.Reference
	res := e.invoke(ctx, c.adapter, c.req, op.CreatedAt)
	sctx := ctx
	if a == ActionCapture && c.spec.SingleCapture {
		// The payment changes once more after the settle (the rest of
		// the authorization is released): its answer is stored after.
		sctx = WithAnswer(ctx, nil)
	}
	settled, err := e.settleHeld(sctx, reserved, op.ID, res, nil, "")
	failpoint.Hit(failpoint.AfterSettle, string(kind))
	if err == nil && a == ActionCapture && c.spec.SingleCapture && res.Outcome == payment.OutcomeSucceeded {
		settled, err = e.releaseRemainder(ctx, acct.ID, id)
	}
	if err != nil {
		return nil, nil, err
	}
	return settled, findOperation(settled, op.ID), nil
}

// releaseRemainder records that a single-capture provider released the
// uncaptured rest of an authorization with its capture.
func (e *Engine) releaseRemainder(ctx context.Context, accountID, id string) (*payment.Payment, error) {
	now := e.clock()
	return e.store.UpdatePayment(context.WithoutCancel(ctx), accountID, id, func(pay *payment.Payment) (*payment.PaymentChange, error) {
		if pay.Voided || pay.AmountCaptured >= pay.AmountAuthorized || pay.Unsettled() {
			return &payment.PaymentChange{}, nil
		}
		released := pay.AmountAuthorized - pay.AmountCaptured
		pay.Voided = true
		pay.Status = payment.DeriveStatus(pay)
		pay.UpdatedAt = now
		return &payment.PaymentChange{Events: []*payment.Event{newEvent(accountID, "payment.remainder_released", pay.ID,
			map[string]any{"id": pay.ID, "released": released, "reason": "the gateway captures an authorization once"}, now)}}, nil
	})
}

// authorization is the payment's successful authorize or purchase.
func authorization(pay *payment.Payment) *payment.Operation {
	for i := len(pay.Operations) - 1; i >= 0; i-- {
		op := pay.Operations[i]
		if (op.Kind == payment.OpAuthorize || op.Kind == payment.OpPurchase) && op.Outcome == payment.OutcomeSucceeded {
			return op
		}
	}
	return &payment.Operation{}
}

// reserveAmount decides the amount of a follow-up and checks it against
// what is left, counting operations in flight.
func reserveAmount(pay *payment.Payment, a Action, amount *int64) (int64, error) {
	switch a {
	case ActionVoid:
		// What is released: the part of the authorization not captured.
		return pay.AmountAuthorized - pay.AmountCaptured, nil
	case ActionCapture:
		left := pay.Capturable()
		if amount == nil {
			if left <= 0 {
				return 0, payment.Invalid("amount_exceeds_capturable", "amount", "Nothing is left to capture: other captures are in flight.")
			}
			return left, nil
		}
		if *amount > left {
			return 0, payment.Invalid("amount_exceeds_capturable", "amount",
				"amount %d exceeds what can be captured: %d (counting captures in flight).", *amount, max(left, 0))
		}
		return *amount, nil
	}
	left := pay.Refundable()
	if amount == nil {
		if left <= 0 {
			return 0, payment.Invalid("amount_exceeds_refundable", "amount", "Nothing is left to refund: other refunds are in flight.")
		}
		return left, nil
	}
	if *amount > left {
		return 0, payment.Invalid("amount_exceeds_refundable", "amount",
			"amount %d exceeds what can be refunded: %d (counting refunds in flight).", *amount, max(left, 0))
	}
	return *amount, nil
}

// Payment returns the account's payment id.
func (e *Engine) Payment(ctx context.Context, accountID, id string) (*payment.Payment, error) {
	return e.store.Payment(ctx, accountID, id)
}

// Payments lists the account's payments matching f, newest first (oldest
// first when f.Ascending): the API's list and the dashboard's search. A
// filter that makes no sense (see checkPaymentFilter) is a 4xx naming its
// field.
func (e *Engine) Payments(ctx context.Context, accountID string, f payment.PaymentFilter) ([]*payment.Payment, bool, error) {
	if err := checkPaymentFilter(f); err != nil {
		return nil, false, err
	}
	return e.store.Payments(ctx, accountID, f)
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
