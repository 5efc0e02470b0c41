package engine_test

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/gateway/simulator"
	"github.com/kassapay/kassa/internal/payment"
)

// countingAdapter is the real simulator, watched: it counts the calls the
// engine makes and remembers the credentials each call carried, so tests
// can prove what reached the gateway. It changes no behaviour, but that a
// test may have it decline voids (DeclineVoids).
type countingAdapter struct {
	*simulator.Simulator
	// DeclineVoids, when set, declines every void without asking the
	// simulator: a gateway that refuses to release an authorization.
	DeclineVoids atomic.Bool
	mu           sync.Mutex
	calls        []gateway.Request
	// cvcSent tells, call by call, whether the request carried a CVC.
	cvcSent []bool
}

func (c *countingAdapter) seen(r *gateway.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cp := *r
	cp.Card = nil // keep no card data around
	c.calls = append(c.calls, cp)
	c.cvcSent = append(c.cvcSent, r.Card != nil && r.Card.CVC != "")
}

// CVCSent tells, for each call made so far, whether it carried a CVC.
func (c *countingAdapter) CVCSent() []bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]bool(nil), c.cvcSent...)
}

// Calls returns the requests made so far.
func (c *countingAdapter) Calls() []gateway.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]gateway.Request(nil), c.calls...)
}

func (c *countingAdapter) Authorize(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	c.seen(r)
	return c.Simulator.Authorize(ctx, r)
}

func (c *countingAdapter) Purchase(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	c.seen(r)
	return c.Simulator.Purchase(ctx, r)
}

func (c *countingAdapter) Capture(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	c.seen(r)
	return c.Simulator.Capture(ctx, r)
}

func (c *countingAdapter) Void(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	c.seen(r)
	if c.DeclineVoids.Load() {
		return gateway.Result{Outcome: payment.OutcomeDeclined, DeclineCode: "processing_error", Message: "Void refused"}, nil
	}
	return c.Simulator.Void(ctx, r)
}

func (c *countingAdapter) Refund(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	c.seen(r)
	return c.Simulator.Refund(ctx, r)
}

func (c *countingAdapter) Verify(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	c.seen(r)
	return c.Simulator.Verify(ctx, r)
}

func (c *countingAdapter) Credit(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	c.seen(r)
	return c.Simulator.Credit(ctx, r)
}

func (c *countingAdapter) Store(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	c.seen(r)
	return c.Simulator.Store(ctx, r)
}
