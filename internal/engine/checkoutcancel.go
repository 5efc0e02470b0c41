package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/kassapay/kassa/internal/payment"
)

// CancelCheckoutVoiding is the Dintero dialect's session cancel (ADR
// 0027), as Dintero documents it: "the session transaction will be voided
// in case where it is initialized or authorized", and cancel is refused
// otherwise.
//
//   - An open session is cancelled as CancelCheckoutSession does (a
//     payment in flight is a conflict).
//   - A paid payment session whose payment is AUTHORIZED has it voided
//     through the payments' void follow-up (one reservation under the
//     payment's row lock, the gateway call, the settle; the follow-up
//     callback the session's callback_url asked for). Once the void
//     succeeded the session moves from paid to cancelled by
//     compare-and-set with its checkout_session.cancelled event. A void
//     the gateway declined or failed leaves the session paid and is a
//     conflict naming it; a void whose outcome is unknown leaves it paid
//     too (the reconciler settles the void), and is a conflict: nothing
//     claims the session cancelled before the money is certainly released.
//   - A paid session whose payment is AUTHORIZATION_VOIDED already (an
//     earlier cancel whose void settled after it answered, or a void
//     through the transactions API) is cancelled without another void.
//   - Any other payment status (captured in part or whole, refunded, in
//     flight), a token session, or a closed session is a conflict, and
//     nothing changes.
//
// Concurrent cancels void once: the void's reservation refuses a second
// while the first is in flight, and the session's compare-and-set lets one
// cancel write its event. A capture racing the cancel is serialized by the
// same row lock: whichever reserves first wins, and the void is made only
// of a payment still AUTHORIZED under that lock.
func (e *Engine) CancelCheckoutVoiding(ctx context.Context, p *payment.Principal, id string) (*payment.CheckoutSession, error) {
	cs, err := e.store.CheckoutSession(ctx, p.Account.ID, id)
	if err != nil {
		return nil, err
	}
	for range 3 {
		var pay *payment.Payment
		if cs, pay, err = e.followCheckout(ctx, cs); err != nil {
			return nil, err
		}
		if cs.Status != payment.CheckoutPaid || cs.TokenOnly() || pay == nil {
			return e.cancelCheckout(ctx, cs)
		}
		switch pay.Status {
		case payment.StatusAuthorized:
			voided, op, err := e.followUp(withAuthorizedOnly(ctx), p, pay.ID, ActionVoid, nil)
			if err != nil {
				return nil, err
			}
			switch {
			case op.Outcome == payment.OutcomeSucceeded && voided.Status == payment.StatusAuthorizationVoided:
			case !op.Outcome.Settled():
				return nil, payment.Conflict(payment.CodeInvalidState,
					"The void of this session's transaction was sent but its outcome is unknown; kassa is asking the gateway. "+
						"The session stays paid until the void is known: cancel again once the transaction is AUTHORIZATION_VOIDED.")
			default:
				return nil, payment.Conflict(CodeVoidRefused,
					"The gateway did not void this session's transaction (%s); the session stays paid.", op.Outcome)
			}
		case payment.StatusAuthorizationVoided:
		default:
			if attemptInFlight(pay.Status) {
				return nil, payment.Conflict(payment.CodeInvalidState,
					"An operation on this session's transaction is in flight; it cannot be cancelled until its outcome is known.")
			}
			return nil, payment.Conflict(payment.CodeInvalidState,
				"This session's transaction is %s; only a session whose transaction is authorized (and not captured) can be cancelled.",
				pay.Status)
		}
		closed, err := e.closeCheckout(ctx, cs, payment.CheckoutCancelled, e.clock())
		if !errors.Is(err, payment.ErrStale) {
			return closed, err
		}
		// Another cancel won: look again (it is cancelled now).
		if cs, err = e.store.CheckoutSession(ctx, cs.AccountID, cs.ID); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("checkout session %s: it kept changing while being cancelled", id)
}

// CodeVoidRefused: the gateway declined or failed the void a session
// cancel asked for; the session is unchanged.
const CodeVoidRefused = "void_refused"

type authorizedOnlyKey struct{}

// withAuthorizedOnly makes a void refuse, under the payment's row lock, a
// payment that is not AUTHORIZED: a session cancel voids an authorization
// nothing was captured of, never the rest of a partial capture that raced
// it.
func withAuthorizedOnly(ctx context.Context) context.Context {
	return context.WithValue(ctx, authorizedOnlyKey{}, true)
}

func authorizedOnly(ctx context.Context) bool {
	v, _ := ctx.Value(authorizedOnlyKey{}).(bool)
	return v
}
