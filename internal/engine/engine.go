// Package engine carries out kassa's operations: it validates what callers
// ask for, seals secrets through the vault, and changes state through the
// store, writing an event with every change. API dialects call the engine and
// never a store directly.
package engine

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/password"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/routing"
)

// Config configures an Engine. Store, Vault and Logger are required.
type Config struct {
	Store  payment.Store
	Vault  payment.Vault
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// CacheTTL is how long a payment method that was never retained keeps
	// its card number before it is redacted. Default 24 h.
	CacheTTL time.Duration
	// CVCTTL is how long a CVC is kept for the first authorization. Default
	// 1 h.
	CVCTTL time.Duration
	// IdempotencyTTL is how long Idempotency-Key records are kept. Default
	// (and minimum) 24 h.
	IdempotencyTTL time.Duration
	// IdempotencyLock bounds how long a request may hold its key in flight
	// before reserving anything; a retry after it takes the key over (and
	// the first request, should it still run, can no longer reserve).
	// Once a request has reserved, its key follows the operation instead
	// (ADR 0008). Default 1 min.
	IdempotencyLock time.Duration

	// Gateways are the gateway types on offer. Required for payments.
	Gateways *gateway.Registry
	// CallTimeout is the deadline of one gateway call. Default 30 s.
	CallTimeout time.Duration
	// ReconcileAttempts is how often the reconciler asks a gateway about
	// an unknown outcome before it flags the payment for review. Default 10.
	ReconcileAttempts int
	// ReconcileBackoff is the wait before the second query; it doubles
	// with each attempt up to an hour. Default 5 s.
	ReconcileBackoff time.Duration
	// BreakerThreshold is how many consecutive not-sent or unknown
	// outcomes open a gateway's circuit breaker. Default 5.
	BreakerThreshold int
	// BreakerOpenFor is how long an open breaker rests its gateway before
	// one trial call. Default 30 s.
	BreakerOpenFor time.Duration
	// NotificationWait is how long an operation a provider accepted for
	// asynchronous processing waits for its notification before the
	// reconciler takes it up (and, unable to ask, flags it for review).
	// Default 24 h.
	NotificationWait time.Duration
	// StaleAfter is how long an operation may stay pending before it is
	// taken for abandoned by its process and its gateway is asked about
	// it. It must exceed CallTimeout (no call is sent later than that
	// after its reservation), with a margin for the process to settle.
	// Default CallTimeout + 30 s.
	StaleAfter time.Duration
	// Observer, when set, is told of every gateway call and idempotency
	// conflict (kassa serve turns them into metrics).
	Observer Observer
	// UnknownGrace is how long after an unknown outcome the reconciler
	// first asks the gateway: a provider may still be processing a call
	// that timed out here, and asking at once could find no record and
	// wrongly conclude it never happened. Default 2 min.
	UnknownGrace time.Duration
	// WebhookAllowPrivate lets live accounts' webhook endpoints point at
	// loopback, private and link-local addresses (a server inside a
	// private network). Test accounts may always.
	WebhookAllowPrivate bool
	// GatewayAllowPrivate lets live accounts' gateways point at loopback,
	// private and link-local addresses (a provider reached through a
	// private network or a proxy there). Test accounts may always. The
	// gateway types' HTTP clients must be told the same
	// (gateway.HTTPOptions.AllowPrivate): this decides what may be
	// configured, they what is connected to.
	GatewayAllowPrivate bool

	// PasswordParams are argon2id's costs for new dashboard passwords;
	// password.Default when zero.
	PasswordParams password.Params
	// DashboardSessionTTL ends a dashboard session however active it is.
	// Default 12 h.
	DashboardSessionTTL time.Duration
	// DashboardIdleTimeout ends a dashboard session after this long
	// without a request. Default 30 min.
	DashboardIdleTimeout time.Duration
}

// Observer watches the engine's work. Its methods must be quick and safe
// for concurrent use; they never see an account's ids.
type Observer interface {
	// GatewayCall reports one call of a gateway of type gatewayType: what
	// it was, how it ended, and how long it took.
	GatewayCall(gatewayType string, kind payment.OperationKind, outcome payment.Outcome, took time.Duration)
	// IdempotencyConflict reports a request refused for its
	// Idempotency-Key: code is idempotency_key_in_use or
	// idempotency_key_reused.
	IdempotencyConflict(code string)
}

type noObserver struct{}

func (noObserver) GatewayCall(string, payment.OperationKind, payment.Outcome, time.Duration) {}
func (noObserver) IdempotencyConflict(string)                                                {}

// UnsettledOperations is the reconciler's backlog: how many operations are
// pending or unknown, and since when the oldest unknown one has waited
// (zero without one).
func (e *Engine) UnsettledOperations(ctx context.Context) (count int, oldestUnknown time.Time, err error) {
	return e.store.UnsettledOperations(ctx)
}

// Engine is kassa's operations layer. It is safe for concurrent use.
type Engine struct {
	store payment.Store
	vault payment.Vault
	log   *slog.Logger
	now   func() time.Time
	// dummyHash is verified when no user has a sign-in's email, so that
	// an unknown email costs what a wrong password does (users.go).
	dummyHash func() string
	cfg       Config

	gateways *gateway.Registry
	breakers *routing.Breakers
	split    *splitter

	// Hot reads, kept for at most hotTTL (cache.go).
	keys      *hotCache[string, keyEntry]
	gwCache   *hotCache[gatewayKey, *payment.Gateway]
	credCache *hotCache[gatewayKey, *payment.CredentialVersion]

	// uses are API keys' uses waiting to be written (keyuse.go).
	uses *keyUses
}

// New returns an Engine for cfg.
func New(cfg Config) *Engine {
	if cfg.PasswordParams == (password.Params{}) {
		cfg.PasswordParams = password.Default
	}
	if cfg.DashboardSessionTTL <= 0 {
		cfg.DashboardSessionTTL = 12 * time.Hour
	}
	if cfg.DashboardIdleTimeout <= 0 {
		cfg.DashboardIdleTimeout = 30 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = 24 * time.Hour
	}
	if cfg.CVCTTL <= 0 {
		cfg.CVCTTL = time.Hour
	}
	if cfg.IdempotencyTTL < 24*time.Hour {
		cfg.IdempotencyTTL = 24 * time.Hour
	}
	if cfg.IdempotencyLock <= 0 {
		cfg.IdempotencyLock = time.Minute
	}
	if cfg.Gateways == nil {
		cfg.Gateways = gateway.NewRegistry()
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 30 * time.Second
	}
	if cfg.StaleAfter <= cfg.CallTimeout {
		cfg.StaleAfter = cfg.CallTimeout + 30*time.Second
	}
	if cfg.ReconcileAttempts <= 0 {
		cfg.ReconcileAttempts = 10
	}
	if cfg.ReconcileBackoff <= 0 {
		cfg.ReconcileBackoff = 5 * time.Second
	}
	if cfg.BreakerThreshold <= 0 {
		cfg.BreakerThreshold = 5
	}
	if cfg.BreakerOpenFor <= 0 {
		cfg.BreakerOpenFor = 30 * time.Second
	}
	if cfg.NotificationWait <= 0 {
		cfg.NotificationWait = 24 * time.Hour
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	if cfg.UnknownGrace <= 0 {
		cfg.UnknownGrace = 2 * time.Minute
	}
	return &Engine{store: cfg.Store, vault: cfg.Vault, log: cfg.Logger, now: cfg.Now, cfg: cfg, gateways: cfg.Gateways,
		breakers: routing.NewBreakers(cfg.BreakerThreshold, cfg.BreakerOpenFor, cfg.Now), split: newSplitter(),
		dummyHash: sync.OnceValue(func() string { return password.Hash("kassa dummy password", cfg.PasswordParams) }),
		keys:      newHotCache[string, keyEntry](), gwCache: newHotCache[gatewayKey, *payment.Gateway](),
		credCache: newHotCache[gatewayKey, *payment.CredentialVersion](), uses: newKeyUses()}
}

// clock returns the current time as the stores keep it: UTC, microseconds.
func (e *Engine) clock() time.Time {
	return e.now().UTC().Truncate(time.Microsecond)
}

// Ready reports whether the engine's store is reachable.
func (e *Engine) Ready(ctx context.Context) error { return e.store.Ping(ctx) }

// Events lists the account's events, newest first (oldest first when
// p.Ascending).
func (e *Engine) Events(ctx context.Context, accountID string, p payment.ListParams) ([]*payment.Event, bool, error) {
	return e.store.Events(ctx, accountID, p)
}
