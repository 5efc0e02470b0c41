package simulator

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"github.com/kassapay/kassa/internal/payment"
)

// Ledger is where a Simulator keeps what it processed: its operations by
// (gateway id, kassa reference) and its successful authorizations and
// purchases by (gateway id, gateway reference). The Simulator decides; a
// Ledger only stores, and makes the read-check-write of each call atomic.
//
// MemoryLedger is the default. kassa's stores implement Ledger in kassa's
// database (cmd/kassa wires it), so that the ledger outlives a restart and
// is shared by the kassa processes on one database, as a real provider's
// is. They write it in transactions of their own, at call time, never
// inside kassa's payment transactions.
type Ledger interface {
	// RecordSimulatorCall records one call that reached the gateway. Of
	// call it reads GatewayID, Reference, Kind, Amount, PriorReference and
	// CreatedAt (the time of the call). Atomically, also against other
	// processes sharing the ledger:
	//
	//   - If the ledger holds call's reference already, it adds one to that
	//     operation's Calls, sets its UpdatedAt to call.CreatedAt and
	//     returns it, without calling decide. Whether the repeat asks what
	//     the first call asked is the caller's to check.
	//   - Otherwise it calls decide with the authorization (call.GatewayID,
	//     call.PriorReference), nil when PriorReference is empty or
	//     unknown. decide may change that authorization's Captured,
	//     Refunded and Voided in place (other changes are ignored), and
	//     returns the operation's result and the authorization the
	//     operation opens (nil for none; of call.GatewayID). The ledger
	//     stores the operation with that result, Calls 1 and both times
	//     call.CreatedAt, the changed authorization and the new one, and
	//     returns the stored operation.
	//
	// So a returned Calls of 1 means decide's result was recorded. A
	// ledger may call decide before it knows whether the reference is new
	// when PriorReference is empty (the decision then depends on nothing
	// stored); for a repeat that result is discarded, so decide must have
	// no effect beyond its return values.
	//
	// decide runs while the ledger holds its lock (in a database, inside a
	// transaction that has locked the authorization): it must be quick and
	// must not call the ledger. If it returns an error, nothing is written
	// and that error is returned. ErrConflict if the new authorization's
	// reference is taken. Any other error is the backend's, and the call
	// may or may not have been recorded (a commit whose answer was lost).
	RecordSimulatorCall(ctx context.Context, call *payment.SimulatorOperation,
		decide func(auth *payment.SimulatorAuthorization) (payment.SimulatorResult, *payment.SimulatorAuthorization, error),
	) (*payment.SimulatorOperation, error)

	// SimulatorOperation returns the operation reference of gatewayID, or
	// ErrNotFound if the ledger has none.
	SimulatorOperation(ctx context.Context, gatewayID, reference string) (*payment.SimulatorOperation, error)

	// SimulatorOperations returns every operation of gatewayID, by
	// CreatedAt then Reference, none as an empty slice. It is for tests and
	// diagnostics: a crash test reads each operation's Calls to check that
	// kassa called the gateway once per operation.
	SimulatorOperations(ctx context.Context, gatewayID string) ([]*payment.SimulatorOperation, error)
}

// DefaultMaxEntries bounds a MemoryLedger made with a maxEntries of 0.
const DefaultMaxEntries = 1_000_000

// MemoryLedger is a Ledger in process memory: lost on restart, private to
// one process, and bounded. It is safe for concurrent use.
type MemoryLedger struct {
	mu    sync.Mutex
	ops   map[key]*payment.SimulatorOperation
	auths map[key]*payment.SimulatorAuthorization
	// opOrder and authOrder hold the keys oldest first, for eviction.
	opOrder, authOrder []key
	max                int
}

// key scopes a reference to one configured gateway.
type key struct{ gateway, ref string }

var _ Ledger = (*MemoryLedger)(nil)

// NewMemoryLedger returns an empty MemoryLedger that keeps the newest
// maxEntries operations and as many authorizations (DefaultMaxEntries when
// maxEntries is not positive): past that, the oldest are forgotten, and a
// follow-up of a forgotten authorization fails with invalid_reference.
func NewMemoryLedger(maxEntries int) *MemoryLedger {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	return &MemoryLedger{
		ops:   map[key]*payment.SimulatorOperation{},
		auths: map[key]*payment.SimulatorAuthorization{},
		max:   maxEntries,
	}
}

// RecordSimulatorCall implements Ledger.
func (l *MemoryLedger) RecordSimulatorCall(ctx context.Context, call *payment.SimulatorOperation,
	decide func(auth *payment.SimulatorAuthorization) (payment.SimulatorResult, *payment.SimulatorAuthorization, error),
) (*payment.SimulatorOperation, error) {
	k := key{call.GatewayID, call.Reference}
	l.mu.Lock()
	defer l.mu.Unlock()
	if op, ok := l.ops[k]; ok {
		op.Calls++
		op.UpdatedAt = call.CreatedAt
		return new(*op), nil
	}

	var auth *payment.SimulatorAuthorization
	stored, ok := l.auths[key{call.GatewayID, call.PriorReference}]
	if ok && call.PriorReference != "" {
		auth = new(*stored)
	}
	res, opened, err := decide(auth)
	if err != nil {
		return nil, err
	}
	if opened != nil {
		ak := key{opened.GatewayID, opened.GatewayReference}
		if _, taken := l.auths[ak]; taken {
			return nil, payment.Conflict("conflict", "The authorization %s exists already.", opened.GatewayReference)
		}
		l.auths[ak] = new(*opened)
		l.authOrder = evict(l.auths, append(l.authOrder, ak), l.max)
	}
	if auth != nil {
		stored.Captured, stored.Refunded, stored.Voided = auth.Captured, auth.Refunded, auth.Voided
	}
	op := &payment.SimulatorOperation{
		GatewayID: call.GatewayID, Reference: call.Reference,
		Kind: call.Kind, Amount: call.Amount, PriorReference: call.PriorReference,
		Result: res, Calls: 1, CreatedAt: call.CreatedAt, UpdatedAt: call.CreatedAt,
	}
	l.ops[k] = op
	l.opOrder = evict(l.ops, append(l.opOrder, k), l.max)
	return new(*op), nil
}

// SimulatorOperation implements Ledger.
func (l *MemoryLedger) SimulatorOperation(ctx context.Context, gatewayID, reference string) (*payment.SimulatorOperation, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	op, ok := l.ops[key{gatewayID, reference}]
	if !ok {
		return nil, payment.NotFound("simulator operation", reference)
	}
	return new(*op), nil
}

// SimulatorOperations implements Ledger.
func (l *MemoryLedger) SimulatorOperations(ctx context.Context, gatewayID string) ([]*payment.SimulatorOperation, error) {
	l.mu.Lock()
	out := []*payment.SimulatorOperation{}
	for _, k := range l.opOrder {
		if k.gateway == gatewayID {
			out = append(out, new(*l.ops[k]))
		}
	}
	l.mu.Unlock()
	slices.SortStableFunc(out, func(a, b *payment.SimulatorOperation) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.Reference, b.Reference))
	})
	return out, nil
}

// evict forgets the oldest keys of m while order holds more than max, and
// returns what is left of order. The caller holds the lock.
func evict[V any](m map[key]V, order []key, max int) []key {
	for len(order) > max {
		delete(m, order[0])
		order = order[1:]
	}
	return order
}
