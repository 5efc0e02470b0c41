package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/payment"
)

// The reconciler settles operations whose outcome is unknown: a timeout
// after the request was sent, a lost response, or a process that died
// between reserving and settling (its operation stays pending). It asks the
// gateway, by kassa's own reference, what happened — with backoff — and
// settles the operation with the answer. When the gateway still cannot say
// after the last attempt, the payment is flagged for review by a person.
//
// Several kassa processes may reconcile at once: ClaimUnsettledOperations
// leases each operation to one of them.

// staleAfter is how long an operation may stay pending before it is taken
// for abandoned: longer than any call may run.
func (e *Engine) staleAfter() time.Duration { return e.cfg.StaleAfter }

// lease is how long a claimed operation is reserved for its claimant.
func (e *Engine) lease() time.Duration { return e.cfg.CallTimeout + 15*time.Second }

// backoff is the wait after attempt n (1-based) before the next query.
func (e *Engine) backoff(n int) time.Duration {
	d := e.cfg.ReconcileBackoff
	for i := 1; i < n && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// reconcileBatch bounds one pass: the operations claimed at once, each
// leased for one query.
const reconcileBatch = 50

// A pass asks about several operations at once — after a crash, an 800 ms
// gateway answered serially settles barely one a second — but no gateway
// more than reconcilePerGateway at a time, so a backlog does not hammer a
// provider that may be recovering itself.
const (
	reconcileParallel   = 16
	reconcilePerGateway = 4
)

// Reconcile runs one pass: it claims the due operations (a batch, leased
// to this process) and queries them, several at once. It returns how many
// it settled.
func (e *Engine) Reconcile(ctx context.Context) (int, error) {
	now := e.clock()
	ops, err := e.store.ClaimUnsettledOperations(ctx, now, now.Add(-e.staleAfter()), now.Add(e.lease()), e.cfg.ReconcileAttempts, reconcileBatch)
	if err != nil {
		return 0, fmt.Errorf("claim operations to reconcile: %w", err)
	}
	var settled atomic.Int64
	all := make(chan struct{}, reconcileParallel)
	perGateway := map[string]chan struct{}{}
	var wg sync.WaitGroup
	for _, op := range ops {
		gw, ok := perGateway[op.GatewayID]
		if !ok {
			gw = make(chan struct{}, reconcilePerGateway)
			perGateway[op.GatewayID] = gw
		}
		gw <- struct{}{}
		all <- struct{}{}
		wg.Go(func() {
			defer func() { <-all; <-gw }()
			if e.reconcileOne(ctx, op) {
				settled.Add(1)
			}
		})
	}
	wg.Wait()
	return int(settled.Load()), nil
}

// reconcileOne queries one operation and settles it, or schedules the next
// attempt. It reports whether the operation is now settled. A panic (a
// broken adapter) is logged and counted as a failed attempt, never allowed
// to take the process down.
func (e *Engine) reconcileOne(ctx context.Context, op *payment.Operation) (settled bool) {
	defer func() {
		if v := recover(); v != nil {
			e.log.ErrorContext(ctx, "reconcile panicked", "operation", op.ID, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			settled = false
			e.failAttempt(ctx, op, "Querying the gateway failed inside kassa.")
		}
	}()
	res, err := e.queryOperation(ctx, op)
	if err != nil {
		e.log.ErrorContext(ctx, "query operation", "operation", op.ID, "error", err)
		e.failAttempt(ctx, op, "Querying the gateway failed inside kassa.")
		return false
	}
	if res.Outcome == payment.OutcomeUnknown {
		e.failAttempt(ctx, op, res.Message)
		return false
	}
	e.log.InfoContext(ctx, "reconciled operation", "operation", op.ID, "account", op.AccountID, "outcome", res.Outcome)
	if op.PaymentID == "" {
		_, err = e.settleOperation(ctx, op.AccountID, op.ID, res)
	} else {
		var pay *payment.Payment
		if pay, err = e.settle(ctx, op.AccountID, op.PaymentID, op.ID, res, nil, ""); err == nil {
			e.followCheckoutPayment(ctx, pay)
		}
	}
	if err != nil {
		e.log.ErrorContext(ctx, "settle reconciled operation", "operation", op.ID, "error", err)
		return false
	}
	return true
}

// failAttempt counts a failed attempt, logging what could not be recorded.
// A process shutting down (ctx ended) records nothing and says so quietly:
// the operation's lease runs out and another pass takes it up.
func (e *Engine) failAttempt(ctx context.Context, op *payment.Operation, message string) {
	if err := e.retryLater(ctx, op, message); err != nil {
		if ctx.Err() != nil {
			e.log.DebugContext(ctx, "reconcile attempt not recorded: shutting down", "operation", op.ID)
			return
		}
		e.log.ErrorContext(ctx, "record reconcile attempt", "operation", op.ID, "error", err)
	}
}

// queryOperation asks the gateway what became of op. A gateway that cannot
// say gives an unknown result. Only the operation's own gateway and
// credential version are needed: the rules for starting new operations
// (disabled operations, modes) do not apply to finding out about old ones.
func (e *Engine) queryOperation(ctx context.Context, op *payment.Operation) (gateway.Result, error) {
	unknown := func(msg string) gateway.Result {
		return gateway.Result{Outcome: payment.OutcomeUnknown, Message: msg}
	}
	g, err := e.store.Gateway(ctx, op.AccountID, op.GatewayID)
	if err != nil {
		return gateway.Result{}, err
	}
	ad, ok := e.gateways.Lookup(g.Type)
	if !ok {
		return unknown("Gateway type " + g.Type + " is not available in this kassa."), nil
	}
	q, ok := ad.(gateway.StatusQuerier)
	if !ok {
		return unknown("Gateway type " + g.Type + " cannot be asked about an operation's status."), nil
	}
	creds, err := e.openCredentials(ctx, g, op.CredentialVersion)
	if err != nil {
		if _, ok := payment.AsError(err); ok {
			return unknown("The gateway's credentials were destroyed, so it cannot be asked."), nil
		}
		return gateway.Result{}, err
	}
	// The account's mode decides which addresses the query may reach.
	acct, err := e.store.Account(ctx, op.AccountID)
	if err != nil {
		return gateway.Result{}, err
	}
	req := &gateway.Request{Kind: op.Kind, Reference: op.ID, Amount: op.Amount, Currency: op.Currency,
		Config: gateway.Config{GatewayID: g.ID, Credentials: creds, Settings: g.Settings, Sandbox: g.Sandbox,
			MerchantProfileKey: g.MerchantProfileKey, SubMerchantKey: g.SubMerchantKey, Live: acct.Live}}
	if op.PaymentID != "" {
		pay, err := e.store.Payment(ctx, op.AccountID, op.PaymentID)
		if err != nil {
			return gateway.Result{}, err
		}
		prior := authorization(pay)
		req.PriorReference, req.PriorKind = prior.GatewayReference, prior.Kind
	}
	qctx, cancel := context.WithTimeout(ctx, e.cfg.CallTimeout)
	defer cancel()
	res, err := q.QueryStatus(qctx, req)
	switch {
	case errors.Is(err, gateway.ErrReferenceNotFound):
		return gateway.Result{Outcome: payment.OutcomeNotSent, DeclineCode: "not_processed",
			Message: "The gateway has no record of this operation: it did not happen."}, nil
	case err != nil:
		// The adapter's error text may say anything; it goes to the log,
		// not into the operation.
		e.log.WarnContext(ctx, "status query failed", "operation", op.ID, "error", err)
		return unknown("The gateway's status query failed."), nil
	case res.Outcome == payment.OutcomePending:
		res.Outcome = payment.OutcomeUnknown
	}
	return res, nil
}

// retryLater counts a failed attempt on op and schedules the next, or flags
// the payment for review when attempts are used up.
func (e *Engine) retryLater(ctx context.Context, op *payment.Operation, message string) error {
	now := e.clock()
	bump := func(o *payment.Operation) (giveUp bool) {
		o.ReconcileAttempts++
		if o.Outcome == payment.OutcomePending {
			// Abandoned by its process: from now on it is plainly unknown.
			o.Outcome = payment.OutcomeUnknown
			if o.Message == "" {
				o.Message = message
			}
		}
		o.UpdatedAt = now
		if o.ReconcileAttempts >= e.cfg.ReconcileAttempts {
			o.NextReconcileAt = nil
			return true
		}
		next := now.Add(e.backoff(o.ReconcileAttempts))
		o.NextReconcileAt = &next
		return false
	}
	if op.PaymentID == "" {
		_, err := e.store.UpdateOperation(ctx, op.AccountID, op.ID, nil, func(o *payment.Operation) (*payment.Event, error) {
			if o.Outcome.Settled() {
				return nil, errAlreadySettled
			}
			if bump(o) {
				return newEvent(o.AccountID, standaloneEventType(o.Kind, "requires_review"), o.ID, OperationObjectOf(o), now), nil
			}
			return nil, nil
		})
		if errors.Is(err, errAlreadySettled) {
			return nil
		}
		return err
	}
	_, err := e.store.UpdatePayment(ctx, op.AccountID, op.PaymentID, func(pay *payment.Payment) (*payment.PaymentChange, error) {
		o := findOperation(pay, op.ID)
		if o == nil || o.Outcome.Settled() {
			return nil, errAlreadySettled
		}
		ch := &payment.PaymentChange{Operations: []*payment.Operation{o}}
		giveUp := bump(o)
		pay.Status = payment.DeriveStatus(pay)
		pay.UpdatedAt = now
		if giveUp {
			pay.RequiresReview = true
			e.log.WarnContext(ctx, "reconciliation gave up: payment needs review", "payment", pay.ID, "operation", o.ID,
				"attempts", o.ReconcileAttempts)
			ch.Events = append(ch.Events, newEvent(pay.AccountID, "payment.requires_review", pay.ID, PaymentObjectOf(pay), now))
		}
		return ch, nil
	})
	if errors.Is(err, errAlreadySettled) {
		return nil
	}
	return err
}

// RunReconciler runs Reconcile every interval until ctx ends.
func (e *Engine) RunReconciler(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := e.Reconcile(ctx); err != nil && ctx.Err() == nil {
			e.log.ErrorContext(ctx, "reconcile pass failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
