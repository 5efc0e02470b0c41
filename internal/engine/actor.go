package engine

import (
	"context"

	"github.com/kassapay/kassa/internal/payment"
)

// actorKey carries, through one call into the engine, who acts: the
// settle of an operation is far from the principal that asked for it,
// and writes its events with the same context (as the idempotency claim
// travels, see claimFrom).
type actorKey struct{}

// actingAs returns ctx carrying p's actor (Principal.Actor) for the
// events the call writes.
func actingAs(ctx context.Context, p *payment.Principal) context.Context {
	if p == nil {
		return ctx
	}
	return context.WithValue(ctx, actorKey{}, p.Actor())
}

// stampActor sets the actor of ctx on the events that have none. A
// settle without one (the reconciler's, a webhook's) leaves them "":
// kassa itself acted.
func stampActor(ctx context.Context, evs []*payment.Event) []*payment.Event {
	a, _ := ctx.Value(actorKey{}).(string)
	if a == "" {
		return evs
	}
	for _, ev := range evs {
		if ev != nil && ev.Actor == "" {
			ev.Actor = a
		}
	}
	return evs
}

// causedBy sets on ev the actor of p, whose request caused it.
func causedBy(p *payment.Principal, ev *payment.Event) *payment.Event {
	if p != nil {
		ev.Actor = p.Actor()
	}
	return ev
}
