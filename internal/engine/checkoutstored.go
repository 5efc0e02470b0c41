package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/kassapay/kassa/internal/payment"
)

// PayCheckoutStored opens a session for in and pays it at once with the
// account's stored card paymentMethodID, the merchant initiating
// (Dintero's POST /v1/sessions/pay): reason is the stored credential's,
// "unscheduled" or "recurring". The payment is the session's first
// attempt, claimed in its reservation as the page's are, so a Dintero
// session's reference and callback are promised with it.
//
// A declined card is no error: the session stays open and the payment
// shows the decline. A retry under the request's Idempotency-Key that
// finds the first request's reservation answers with that payment and its
// session, and opens no second session.
func (e *Engine) PayCheckoutStored(ctx context.Context, p *payment.Principal, in CheckoutInput, paymentMethodID, reason string) (
	*payment.CheckoutSession, *payment.Payment, error) {
	claim := claimFrom(ctx)
	if claim.Recovering() {
		pay, _, err := e.recoveredPayment(ctx, claim)
		if err != nil {
			return nil, nil, err
		}
		cs, err := e.CheckoutSession(ctx, p.Account.ID, pay.Metadata[CheckoutMetadataKey])
		if err != nil {
			return nil, nil, fmt.Errorf("session of recovered payment %s: %w", pay.ID, err)
		}
		return cs, pay, nil
	}
	pm, err := e.store.PaymentMethod(ctx, p.Account.ID, paymentMethodID)
	if err != nil {
		return nil, nil, err
	}
	if pm.StorageState != payment.StorageRetained || pm.Type != payment.PaymentMethodTypeCard {
		return nil, nil, payment.NotFound("payment_method", paymentMethodID)
	}
	in.MerchantInitiated, in.SaveCard = true, false
	cs, err := e.CreateCheckoutSession(ctx, p, in)
	if err != nil {
		return nil, nil, err
	}
	if claim == nil {
		claim = &IdempotencyClaim{accountID: cs.AccountID}
	}
	now := e.clock()
	claim.checkout = &payment.CheckoutAttempt{AccountID: cs.AccountID, SessionID: cs.ID, Attempt: 1, Now: now}
	if cs.Dialect == payment.CheckoutDialectDintero {
		claim.reference = &payment.TransactionReference{AccountID: cs.AccountID, Scope: payment.DinteroSessionScope,
			Reference: payment.DinteroSessionReference(cs, 1), Type: "SESSION", CreatedAt: now}
		if cs.CallbackURL != "" {
			claim.reference.Callback, claim.reference.CallbackSigner = cs.CallbackURL, payment.SignerDintero
		}
	}
	capture := cs.Capture
	pay, err := e.CreatePayment(WithIdempotencyClaim(ctx, claim), p, PaymentInput{
		Amount: cs.Amount, Currency: cs.Currency, PaymentMethodID: pm.ID, GatewayID: cs.GatewayID, Capture: &capture,
		Reference: cs.MerchantReference, CustomerID: cs.CustomerID,
		Metadata:         map[string]string{CheckoutMetadataKey: cs.ID},
		StoredCredential: &payment.StoredCredential{Initiator: "merchant", Reason: reason},
	})
	if err != nil {
		// Nothing was reserved: the session the payment was for is of
		// no use to anyone.
		if _, cerr := e.cancelCheckout(ctx, cs); cerr != nil && !errors.Is(cerr, payment.ErrStale) {
			e.log.ErrorContext(ctx, "cancel the session of a refused stored-card payment", "checkout_session", cs.ID, "error", cerr)
		}
		return nil, nil, err
	}
	cs, err = e.CheckoutSession(ctx, cs.AccountID, cs.ID)
	if err != nil {
		return nil, nil, err
	}
	return cs, pay, nil
}

// saveCheckoutToken is PayCheckoutPage for a token session: the attempt
// claimed, the card vaulted for the session's customer, the card
// verified through the session's gateway (a zero-amount check, no money
// moved) and, once verified, retained and the session paid with it as its
// card token. A declined or unsettled verification leaves the session
// open for another card; the vaulted card is left cached and is redacted
// after its TTL.
func (e *Engine) saveCheckoutToken(ctx context.Context, v *CheckoutView, attempt int, c CardInput) (*CheckoutView, error) {
	cs := v.Session
	if cs.Status != payment.CheckoutOpen || attempt != cs.Attempts+1 || attempt > MaxCheckoutAttempts {
		return v, nil
	}
	p := &payment.Principal{Account: v.Account, Key: &payment.APIKey{ID: "checkout:" + cs.ID, AccountID: cs.AccountID, Kind: payment.KeySecret}}
	// The card is checked and sealed first, so that a card the form got
	// wrong costs no attempt, but stored only once the attempt is claimed:
	// a form that loses the claim (a second submit, a session closed
	// meanwhile) leaves no card behind. A failure to store it after the
	// claim costs the attempt and stores nothing.
	pm, pmEvent, err := e.sealPaymentMethod(ctx, p, PaymentMethodInput{Type: payment.PaymentMethodTypeCard, Card: &c, Customer: cs.CustomerID})
	if err != nil {
		return nil, err
	}
	if err := e.store.ClaimCheckoutTokenAttempt(ctx, cs.AccountID, cs.ID, attempt, e.clock()); err != nil {
		if errors.Is(err, payment.ErrAttemptTaken) {
			return e.CheckoutPage(ctx, cs.ID) // a second submit of the form, or the session closed
		}
		return nil, err
	}
	if err := e.store.CreatePaymentMethod(ctx, pm, pmEvent); err != nil {
		if pe, ok := payment.AsError(err); ok && pe.Kind == payment.KindNotFound && pe.Param == "customer" {
			return nil, customerNotFound(cs.CustomerID) // deleted meanwhile
		}
		return nil, fmt.Errorf("create payment method: %w", err)
	}
	op, err := e.StandaloneOperation(ctx, p, StandaloneInput{Kind: payment.OpVerify, PaymentMethodID: pm.ID, GatewayID: cs.GatewayID,
		Description: cs.MerchantReference})
	if err != nil {
		return nil, err
	}
	if op.Outcome != payment.OutcomeSucceeded {
		return e.CheckoutPage(ctx, cs.ID)
	}
	if _, err := e.RetainPaymentMethod(ctx, cs.AccountID, pm.ID); err != nil {
		return nil, fmt.Errorf("retain the card of token session %s: %w", cs.ID, err)
	}
	now := e.clock()
	after := *cs
	after.Status, after.CardTokenID, after.Attempts, after.ClosedAt, after.UpdatedAt = payment.CheckoutPaid, pm.ID, attempt, &now, now
	ev := newEvent(cs.AccountID, payment.EventCheckoutCompleted, cs.ID, CheckoutSessionObjectOf(&after), now)
	// A Dintero token session calls its callback_url back as a paid
	// session does, promised with the close so that a crash between the
	// two loses nothing; with no transaction it names the session (ADR 0027).
	var cb *payment.WebhookDelivery
	if cs.Dialect == payment.CheckoutDialectDintero && cs.CallbackURL != "" {
		cb = payment.DinteroTokenSessionCallback(cs, now)
	}
	if _, err := e.store.CompleteCheckoutTokenSession(ctx, cs.AccountID, cs.ID, attempt, pm.ID, now, ev, cb); err != nil {
		if !errors.Is(err, payment.ErrStale) {
			return nil, fmt.Errorf("complete token session %s: %w", cs.ID, err)
		}
		// Cancelled or expired while the card was verified: the card is
		// retained for the customer all the same (a card token the
		// merchant may delete), but the session does not name it.
		e.log.WarnContext(ctx, "token session closed while its card was verified", "checkout_session", cs.ID, "payment_method", pm.ID)
	}
	return e.CheckoutPage(ctx, cs.ID)
}
