package payment

import (
	"context"
	"encoding/json"
	"time"
)

// Event is an immutable record of a change, written in the same database
// transaction as the change itself. Webhooks and the audit log read events.
type Event struct {
	ID        string // evt_…
	AccountID string
	Type      string // "payment_method.created", …
	ObjectID  string
	// Data is the object as the native API renders it after the change. It
	// never holds card numbers, CVCs or secrets.
	Data json.RawMessage
	// Actor is who caused the event (Principal.Actor): "user:<id>" for
	// a dashboard user, an API key's id, or "" for kassa itself.
	Actor     string
	CreatedAt time.Time
}

// IdempotencyRecord is one Idempotency-Key of one account. While the first
// request runs it is in flight (Completed false); afterwards it holds the
// response to replay.
//
// A request that moves money binds its key to what it reserved in the
// reserving transaction itself (its recovery point, ADR 0008), so that a
// retry after any crash finds the payment and the operation instead of
// running again.
type IdempotencyRecord struct {
	AccountID string
	// Key is a keyed MAC of the client's Idempotency-Key, never the key
	// itself: a client may send anything there, a card number included.
	Key string
	// Token identifies the claim that holds the key in flight. Taking a
	// key over gives it a new token; binding or completing under an old
	// one fails (ErrIdempotencyClaimLost) or does nothing.
	Token string
	// Method and Path of the first request ("POST", "/v1/payment_methods").
	Method string
	Path   string
	// RequestHash is a keyed MAC of the first request's body: the body may
	// hold a card number, so a plain hash would not do.
	RequestHash []byte
	Completed   bool
	// LockedUntil bounds an in-flight claim that has reserved nothing: a
	// request that died before reserving frees the key for a retry after
	// it. Once bound, the key follows its operation instead.
	LockedUntil time.Time
	// Point is how far the first request got (RecoveryStarted while it has
	// reserved nothing); PaymentID and OperationID are what it reserved.
	Point          RecoveryPoint
	PaymentID      string
	OperationID    string
	ResponseStatus int
	ResponseBody   []byte
	CreatedAt      time.Time
}

// RecoveryPoint is how far the first request of an Idempotency-Key got.
type RecoveryPoint string

const (
	// RecoveryStarted: claimed; nothing reserved yet. A retry after the
	// claim's lock may run the request again: nothing was sent.
	RecoveryStarted RecoveryPoint = "started"
	// RecoveryReserved: the request reserved PaymentID/OperationID (in the
	// same transaction). A retry answers from them once they settle and
	// never calls the gateway again.
	RecoveryReserved RecoveryPoint = "reserved"
	// RecoverySettled: the request settled its operation (in the same
	// transaction); only storing its response may be missing.
	RecoverySettled RecoveryPoint = "settled"
)

// IdempotencyMark moves an in-flight key to Point inside another write
// transaction: the reserve (RecoveryReserved, with the ids; if the claim
// Token no longer holds the key the whole transaction fails with
// ErrIdempotencyClaimLost, so nothing is reserved) or the settle
// (RecoverySettled; a key taken over meanwhile, or never bound, is left
// alone and the settle goes on).
//
// A reserving mark with a Record inserts that record, bound, instead: the
// request claimed its key in its reservation (a claim deferred to the
// reserve, so that a keyed payment costs no transaction of its own for the
// claim). ErrIdempotencyClaimLost then means the key exists already.
type IdempotencyMark struct {
	AccountID   string
	Key         string
	Token       string
	Point       RecoveryPoint
	PaymentID   string
	OperationID string
	Record      *IdempotencyRecord
	// Answer, on a settling mark, completes the key with the request's
	// response in the settle's transaction.
	Answer *IdempotencyAnswer
	// Reference, on a reserving mark, is inserted bound to PaymentID and
	// OperationID in the reserve's transaction; ErrReferenceTaken (and
	// nothing reserved) if its scope has it. A mark with a Reference and
	// no Key claims the reference alone.
	Reference *TransactionReference
	// Checkout, on a reserving mark, makes the reserved payment a checkout
	// session's next attempt in the reserve's transaction;
	// ErrAttemptTaken (and nothing reserved) if it cannot be. A mark with
	// Checkout and no Key claims only the attempt.
	Checkout *CheckoutAttempt
}

// IdempotencyAnswer is a response stored under an Idempotency-Key.
type IdempotencyAnswer struct {
	Status int
	Body   []byte
}

// DataKey is one version of an account's data-encryption key for one
// purpose, stored wrapped (encrypted) by a version of the master key (KEK).
type DataKey struct {
	AccountID  string
	Purpose    string
	Version    int
	KEKVersion int
	Wrapped    []byte
	// Uses counts encryptions reserved under this key, so it is rotated
	// long before AES-GCM's 2^32 random-nonce limit.
	Uses      int64
	CreatedAt time.Time
}

// ListParams are cursor pagination parameters: newest first (oldest first
// when Ascending), at most Limit items, strictly after the object
// StartingAfter in that order.
type ListParams struct {
	Limit         int
	StartingAfter string
	// Ascending lists oldest first, as Spreedly's since_token paging does.
	Ascending bool
}

// OperationFilter narrows an operation list; empty fields match everything.
type OperationFilter struct {
	PaymentMethodID string
	ListParams
}

// Store is kassa's storage contract; internal/store/sqlite and
// internal/store/postgres implement it and internal/store/storetest checks
// that they behave the same. Every method that takes an accountID scopes its
// query to that account: an id of another account is ErrNotFound.
//
// Errors: ErrNotFound when the object does not exist (in that account) or
// when creating an object for an account that does not exist, ErrConflict on
// a uniqueness clash; other errors are the backend's. Times are stored and
// returned in UTC with microsecond precision (finer digits are truncated).
type Store interface {
	AccountStore
	DataKeyStore
	PaymentMethodStore
	CustomerStore
	IdempotencyStore
	EventStore
	GatewayStore
	PaymentStore
	WebhookStore
	ConnectorStore
	TransactionReferenceStore
	CheckoutSessionStore
	CheckoutProfileStore
	UserStore

	// Ping reports whether the database is reachable.
	Ping(ctx context.Context) error
	// Close releases the store's connections.
	Close() error
}

// AccountStore keeps accounts and their API keys.
type AccountStore interface {
	// CreateAccount inserts the account and its first keys atomically.
	// ErrConflict if the account id or a key prefix is taken.
	CreateAccount(ctx context.Context, a *Account, keys []*APIKey) error
	// CreateFirstAccount is CreateAccount on a database without accounts:
	// it inserts nothing and reports false when an account exists. Of
	// processes starting at once on an empty database, exactly one
	// creates.
	CreateFirstAccount(ctx context.Context, a *Account, keys []*APIKey) (created bool, err error)
	// Account returns the account with id, or ErrNotFound.
	Account(ctx context.Context, id string) (*Account, error)
	// CountAccounts returns how many accounts exist.
	CountAccounts(ctx context.Context) (int, error)
	// SetCheckoutEmbedOrigins replaces the account's embedding origins.
	// ErrNotFound if there is no such account.
	SetCheckoutEmbedOrigins(ctx context.Context, accountID string, origins []string) error
	// SetCallbackSignatureSecret stores the account's callback signature
	// secret, sealed. ErrNotFound if there is no such account.
	SetCallbackSignatureSecret(ctx context.Context, accountID string, sealed []byte) error
	// CallbackSignatureSecret returns the account's sealed callback
	// signature secret, or ErrNotFound when none was set.
	CallbackSignatureSecret(ctx context.Context, accountID string) ([]byte, error)

	// CreateAPIKey inserts k, and ev (if not nil) in the same
	// transaction. ErrConflict if its prefix is taken.
	CreateAPIKey(ctx context.Context, k *APIKey, ev *Event) error
	// APIKeyByPrefix returns the key (of any account) with the given prefix,
	// or ErrNotFound. Revoked and expired keys are returned too; the caller
	// checks Active.
	APIKeyByPrefix(ctx context.Context, prefix string) (*APIKey, error)
	// APIKeys lists the account's keys, newest first, revoked ones included.
	APIKeys(ctx context.Context, accountID string) ([]*APIKey, error)
	// RevokeAPIKey marks the key revoked at now and writes the event
	// newEvent (may be nil) renders of the revoked key. ErrNotFound if the
	// account has no such key; revoking a revoked key is a no-op (no
	// event).
	RevokeAPIKey(ctx context.Context, accountID, keyID string, now time.Time, newEvent func(*APIKey) *Event) (*APIKey, error)
	// RollAPIKey inserts next and sets the old key's ExpiresAt to
	// expiresAt (or revokes it when expiresAt is not after now), atomically.
	// evs (nil ones skipped) are written in the same transaction.
	// ErrNotFound if the account has no active key oldID.
	RollAPIKey(ctx context.Context, accountID, oldID string, next *APIKey, expiresAt, now time.Time, evs []*Event) error
	// RecordAPIKeyUse sets the key's LastUsedAt to at, unless it holds a
	// later time already (another process recorded a later use): it never
	// moves back. Revoked and expired keys are recorded like any other;
	// the caller records only uses it authenticated. ErrNotFound if the
	// account has no such key.
	RecordAPIKeyUse(ctx context.Context, accountID, keyID string, at time.Time) error
}

// DataKeyStore keeps wrapped data keys.
type DataKeyStore interface {
	// DataKeys returns every version of the account's keys for purpose,
	// oldest first (possibly none).
	DataKeys(ctx context.Context, accountID, purpose string) ([]*DataKey, error)
	// CreateDataKey inserts k. ErrConflict if that version exists already
	// (another process won the race; the caller re-reads).
	CreateDataKey(ctx context.Context, k *DataKey) error
	// ReserveDataKeyUses adds n to the key's use count and returns the new
	// count. ErrNotFound if there is no such key.
	ReserveDataKeyUses(ctx context.Context, accountID, purpose string, version int, n int64) (int64, error)
	// SomeDataKeys returns up to limit data keys of any accounts (none
	// when the database has none): enough to check at start-up that the
	// master key opens what the database holds.
	SomeDataKeys(ctx context.Context, limit int) ([]*DataKey, error)
	// RewrapDataKeys calls rewrap for every data key of every account whose
	// KEKVersion differs from kekVersion and stores the result, in batches
	// of committed transactions; it returns how many keys it rewrapped.
	// rewrap must return a key with the same account, purpose and version;
	// it runs inside a batch's transaction, so it must be quick and must not
	// call the Store.
	RewrapDataKeys(ctx context.Context, kekVersion int, rewrap func(*DataKey) (*DataKey, error)) (int, error)
}

// PaymentMethodStore keeps vaulted payment methods.
type PaymentMethodStore interface {
	// CreatePaymentMethod inserts pm and the event ev in one transaction.
	// With a CustomerID it checks, in the same transaction, that the
	// customer is one of the account's and not deleted: ErrNotFound with
	// Param "customer" otherwise (so a customer being deleted never gains
	// a card that escapes its redaction).
	CreatePaymentMethod(ctx context.Context, pm *PaymentMethod, ev *Event) error
	// PaymentMethod returns the account's payment method id, or ErrNotFound.
	PaymentMethod(ctx context.Context, accountID, id string) (*PaymentMethod, error)
	// PaymentMethods lists the account's payment methods, newest first
	// (oldest first when p.Ascending). hasMore reports whether more follow
	// in that order. ErrNotFound (param "starting_after") if StartingAfter
	// is not one of the account's.
	PaymentMethods(ctx context.Context, accountID string, p ListParams) (pms []*PaymentMethod, hasMore bool, err error)
	// CustomerPaymentMethods lists the payment methods of the account's
	// customer customerID, paginated as PaymentMethods (the cursor is any
	// payment method of the account). It does not check the customer.
	CustomerPaymentMethods(ctx context.Context, accountID, customerID string, p ListParams) ([]*PaymentMethod, bool, error)
	// UpdatePaymentMethod reads the payment method, calls fn with it inside
	// one transaction that excludes concurrent updates of the same row, and
	// writes back what fn left in it together with the event fn returns
	// (which may be nil). If fn returns an error nothing is written and that
	// error is returned. ErrNotFound if there is no such payment method.
	// fn must not change ID, AccountID, CustomerID or CreatedAt, and must
	// not call the Store (SQLite's single writer connection is held while
	// it runs). The payment method returned is the one stored.
	UpdatePaymentMethod(ctx context.Context, accountID, id string, fn func(*PaymentMethod) (*Event, error)) (*PaymentMethod, error)
	// ExpirePaymentMethods destroys CVC ciphertexts whose CVCExpiresAt is
	// not after now, and redacts payment methods still cached whose
	// CreatedAt is not after cachedBefore (writing a
	// "payment_method.redacted" event each through newEvent). It returns
	// how many payment methods it redacted. newEvent is given the payment
	// method as redacted (PAN, CVC and CVCExpiresAt cleared, RedactedAt and
	// UpdatedAt set to now); a nil event writes none. Destroying a CVC alone
	// writes no event.
	ExpirePaymentMethods(ctx context.Context, now, cachedBefore time.Time, newEvent func(*PaymentMethod) *Event) (int, error)
}

// IdempotencyStore keeps Idempotency-Key records.
type IdempotencyStore interface {
	// ClaimIdempotencyKey inserts rec (Point RecoveryStarted) as in
	// flight. If the key exists it returns the existing record and claimed
	// false, writing nothing — unless it is in flight at RecoveryStarted
	// with LockedUntil not after rec.CreatedAt (its request died before
	// reserving anything): then rec replaces it and claimed is true.
	// existing is nil whenever claimed is true.
	ClaimIdempotencyKey(ctx context.Context, rec *IdempotencyRecord) (existing *IdempotencyRecord, claimed bool, err error)
	// TakeOverIdempotencyKey gives the in-flight key a new claim token
	// (and lock deadline), by compare-and-set on its current token: a
	// retry recovering a request that died after reserving. ErrConflict if
	// the key is completed or holds another token now.
	TakeOverIdempotencyKey(ctx context.Context, accountID, key, token, newToken string, lockedUntil time.Time) error
	// IdempotencyKey returns the account's record of key, or ErrNotFound.
	// It writes nothing: a request whose claim is deferred to its
	// reservation looks first.
	IdempotencyKey(ctx context.Context, accountID, key string) (*IdempotencyRecord, error)
	// SaveIdempotencyResponse inserts rec as completed, with its response:
	// the answer of a request whose deferred claim never reserved anything
	// (a refused request). ErrIdempotencyClaimLost if the key exists.
	SaveIdempotencyResponse(ctx context.Context, rec *IdempotencyRecord) error
	// CompleteIdempotencyKey stores the response of the key's request and
	// marks it completed, if token still holds it. ErrIdempotencyClaimLost
	// if another claim took the key over (its answer is the one kept);
	// ErrNotFound if the account has no such key.
	CompleteIdempotencyKey(ctx context.Context, accountID, key, token string, status int, body []byte) error
	// PurgeIdempotencyKeys deletes records created before before and returns
	// how many it deleted.
	PurgeIdempotencyKeys(ctx context.Context, before time.Time) (int, error)
}

// EventStore reads events (they are written by the other stores' methods).
type EventStore interface {
	// Events lists the account's events, newest first (oldest first when
	// p.Ascending), paginated as PaymentMethods.
	Events(ctx context.Context, accountID string, p ListParams) (evs []*Event, hasMore bool, err error)
	// Event returns the account's event, or ErrNotFound.
	Event(ctx context.Context, accountID, id string) (*Event, error)
	// ObjectEvents lists the account's events about objectID (a payment,
	// gateway, webhook endpoint, API key…), newest first (oldest first
	// when p.Ascending): the object's audit trail. The cursor is any event
	// of the account (ErrNotFound with Param "starting_after" otherwise).
	ObjectEvents(ctx context.Context, accountID, objectID string, p ListParams) ([]*Event, bool, error)
}

// Vault seals and opens secrets of one account. Ciphertexts are bound to
// account, purpose and record: one copied to another record does not open.
type Vault interface {
	// Seal encrypts plaintext for the record under the account's current
	// data key for purpose.
	Seal(ctx context.Context, accountID, purpose, record string, plaintext []byte) ([]byte, error)
	// Open decrypts a ciphertext made by Seal with the same account,
	// purpose and record.
	Open(ctx context.Context, accountID, purpose, record string, ciphertext []byte) ([]byte, error)
	// MAC returns HMAC-SHA256 of data under the account's key for purpose
	// (PurposeFingerprint, PurposeRequestHash).
	MAC(ctx context.Context, accountID, purpose string, data []byte) ([]byte, error)
	// Fingerprint returns the keyed fingerprint of a card number: the same
	// number gives the same fingerprint within an account and unrelated
	// ones across accounts.
	Fingerprint(ctx context.Context, accountID, pan string) (string, error)
}

// GatewayStore keeps gateways and their credential versions.
//
// Settings round-trip through JSON: strings, bools, nil, nested maps and
// slices come back as they were; numbers come back as int64 when integral
// (so an integral float64 becomes an int64) and as float64 otherwise.
type GatewayStore interface {
	// CreateGateway inserts g with its first credential version (which may
	// be nil for a gateway created without credentials) and ev (which may
	// be nil), atomically. The first version is 1, and g.CredentialVersion
	// is 1 with it and 0 without.
	CreateGateway(ctx context.Context, g *Gateway, cred *CredentialVersion, ev *Event) error
	// Gateway returns the account's gateway id, or ErrNotFound.
	Gateway(ctx context.Context, accountID, id string) (*Gateway, error)
	// GatewayByID returns gateway id of whatever account, or ErrNotFound.
	// Only for callers that authenticate by the gateway itself (a
	// provider's signed notification); everything else uses Gateway.
	GatewayByID(ctx context.Context, id string) (*Gateway, error)
	// Gateways lists the account's gateways, newest first (oldest first
	// when p.Ascending), paginated as PaymentMethods.
	Gateways(ctx context.Context, accountID string, p ListParams) ([]*Gateway, bool, error)
	// UpdateGateway is the read-modify-write of a gateway, as
	// UpdatePaymentMethod. fn may return a new credential version to insert
	// (its Version must be the gateway's CredentialVersion + 1, and fn sets
	// the gateway's CredentialVersion to it), and an event. When fn sets
	// the gateway redacted, the store destroys the Sealed bytes of every
	// credential version of the gateway in the same transaction.
	UpdateGateway(ctx context.Context, accountID, id string, fn func(*Gateway) (*CredentialVersion, *Event, error)) (*Gateway, error)
	// CredentialVersion returns one version, or ErrNotFound.
	CredentialVersion(ctx context.Context, accountID, gatewayID string, version int) (*CredentialVersion, error)
	// CredentialVersions lists every version of the gateway, newest first
	// (none for a gateway created without credentials). ErrNotFound if
	// the account has no such gateway.
	CredentialVersions(ctx context.Context, accountID, gatewayID string) ([]*CredentialVersion, error)
}

// PaymentFilter narrows a payment list; empty fields match everything.
type PaymentFilter struct {
	Status          Status
	Reference       string
	GatewayID       string
	PaymentMethodID string
	// CardholderAuthorized keeps the payments a cardholder initiated
	// (StoredCredential.Initiator "cardholder") that authorized money: the
	// ones a merchant-initiated payment on the same card is pinned to.
	CardholderAuthorized bool
	// ID keeps only the payment with this id: a search box's exact match.
	ID string
	// CustomerID keeps the payments made for this customer.
	CustomerID string
	// CardLast4 and CardFingerprint keep the payments on payment methods
	// with these last four digits and this keyed fingerprint.
	CardLast4       string
	CardFingerprint string
	// AmountMin and AmountMax bound Amount, both inclusive (equal for an
	// exact amount); zero is no bound.
	AmountMin int64
	AmountMax int64
	// CreatedFrom (inclusive) and CreatedBefore (exclusive) bound
	// CreatedAt; the zero time is no bound.
	CreatedFrom   time.Time
	CreatedBefore time.Time
	// RequiresReview keeps the payments flagged for review: the review
	// queue.
	RequiresReview bool
	ListParams
}

// StatsQuery asks for the statistics of an account's payments created in
// [From, To), with a series of buckets of Bucket each from From on.
type StatsQuery struct {
	From, To time.Time
	Bucket   time.Duration
}

// PaymentStats are what an account's overview shows of a time range.
type PaymentStats struct {
	// Volume is the payments that authorized money (AmountAuthorized > 0),
	// per currency, by currency code.
	Volume []CurrencyVolume
	// Gateways are the authorize and purchase operations of the range per
	// gateway, by gateway id.
	Gateways []GatewayStats
	// Series has one bucket per StatsQuery.Bucket from From to To, empty
	// ones included, oldest first.
	Series []StatsBucket
	// Unknown and Review are the account's backlog now, whatever the
	// range: payments whose outcome is unknown, and payments flagged for
	// review.
	Unknown int
	Review  int
}

// CurrencyVolume is a count of payments and the sum of their amounts in
// one currency (minor units).
type CurrencyVolume struct {
	Currency string
	Count    int
	Amount   int64
}

// GatewayStats count the authorize and purchase operations of one gateway
// by outcome, with the latency of those the gateway answered (succeeded,
// declined or failed: created to settled, nearest-rank percentiles).
type GatewayStats struct {
	GatewayID                                              string
	Succeeded, Declined, Failed, NotSent, Unknown, Pending int
	LatencyP50, LatencyP95                                 time.Duration
}

// ApprovalRate is the share of the gateway's answered attempts that
// succeeded, from 0 to 1; 0 when it answered none.
func (g GatewayStats) ApprovalRate() float64 {
	answered := g.Succeeded + g.Declined + g.Failed
	if answered == 0 {
		return 0
	}
	return float64(g.Succeeded) / float64(answered)
}

// StatsBucket counts the payments created in [Start, Start+Bucket), and
// those of them that authorized money.
type StatsBucket struct {
	Start      time.Time
	Payments   int
	Authorized int
}

// PaymentChange is what a read-modify-write of a payment writes besides the
// payment row itself.
type PaymentChange struct {
	// Operations are inserted when new and updated (by id) otherwise; each
	// must belong to the payment.
	Operations []*Operation
	Events     []*Event
	// Idempotency, when set, marks the request's Idempotency-Key in the
	// same transaction (see IdempotencyMark).
	Idempotency *IdempotencyMark
	// DestroyCVC, when set, is a payment method of the payment's account
	// whose CVC the transaction destroys: an authorization attempt may
	// have carried it (PCI DSS 3.3.1.2).
	DestroyCVC string
	// Notices are written with the change: each records its change on a
	// transaction reference of the payment and promises its callback (see
	// TransactionNotice).
	Notices []*TransactionNotice
}

// PaymentStore keeps payments and their operations.
type PaymentStore interface {
	// CreatePayment inserts p, its operations (p.Operations) and events,
	// and applies mark (which may be nil), atomically.
	CreatePayment(ctx context.Context, p *Payment, evs []*Event, mark *IdempotencyMark) error
	// Payment returns the account's payment id with its operations (oldest
	// first), or ErrNotFound.
	Payment(ctx context.Context, accountID, id string) (*Payment, error)
	// Payments lists the account's payments matching f, newest first
	// (oldest first when f.Ascending), each with its operations. The
	// cursor is any payment of the account, matching f or not.
	Payments(ctx context.Context, accountID string, f PaymentFilter) ([]*Payment, bool, error)
	// UpdatePayment reads the payment with its operations and calls fn
	// inside one transaction that excludes every other update of the same
	// payment (SELECT … FOR UPDATE; SQLite's single writer), then writes
	// the payment row and what fn returns (which may be nil). If fn
	// returns an error nothing is written and that error is returned. fn
	// must not call the store, and must not change the payment's ID,
	// AccountID or CreatedAt. Of an existing operation only the outcome,
	// the gateway's answer (codes, references, message, transcript), the
	// reconciliation fields and UpdatedAt may change. An amount that
	// breaks the money invariants (captured <= authorized, refunded <=
	// captured, none negative) is refused by the database itself. The
	// payment returned is the one stored.
	UpdatePayment(ctx context.Context, accountID, id string, fn func(*Payment) (*PaymentChange, error)) (*Payment, error)
	// SettlePayment writes the settle of operations a caller reserved, by
	// compare-and-set and without reading: held is the payment as the
	// caller last wrote it, after the payment with change's operations
	// settled. Each operation of change (all of them held's) is written
	// only if its row is still as held has it (pending, reconciliation
	// fields untouched), and the payment's changed columns only if its
	// status, amounts and flags are still held's; then change's events,
	// mark and CVC destruction follow, all in one transaction. If any
	// check fails nothing is written and the error is ErrStale: the caller
	// settles through UpdatePayment instead. The payment returned is the
	// one stored, as UpdatePayment returns it.
	SettlePayment(ctx context.Context, held, after *Payment, change *PaymentChange) (*Payment, error)
	// CreateOperation inserts an operation outside any payment (a
	// verification; PaymentID empty) with its event (which may be nil),
	// and applies mark (which may be nil), atomically.
	CreateOperation(ctx context.Context, op *Operation, ev *Event, mark *IdempotencyMark) error
	// UpdateOperation is the read-modify-write of an operation outside any
	// payment, as UpdatePayment; fn's event may be nil, and mark (which
	// may be nil) is applied in the same transaction when fn succeeds. An
	// operation of a payment is an error (it changes only through
	// UpdatePayment).
	UpdateOperation(ctx context.Context, accountID, id string, mark *IdempotencyMark, fn func(*Operation) (*Event, error)) (*Operation, error)
	// Operation returns the account's operation id, or ErrNotFound.
	Operation(ctx context.Context, accountID, id string) (*Operation, error)
	// Operations lists the account's operations (of payments and outside
	// them) matching f, newest first unless f.Ascending, paginated as
	// PaymentMethods. The cursor is any operation of the account, matching
	// f or not (ErrNotFound with Param "starting_after" otherwise). The
	// operations listed have a nil Transcript (it can be large); Operation
	// returns it.
	Operations(ctx context.Context, accountID string, f OperationFilter) ([]*Operation, bool, error)
	// ClaimUnsettledOperations picks up to limit operations of any account
	// that need reconciling — outcome unknown, or pending and created at
	// or before staleBefore — whose NextReconcileAt is unset or not after
	// now, oldest first, and sets their NextReconcileAt to leaseUntil,
	// atomically, so that concurrent callers (several kassa processes)
	// never claim the same operation. Operations with ReconcileAttempts >=
	// maxAttempts are left alone. Returns the claimed operations, oldest
	// first, as they were before the claim except for NextReconcileAt.
	ClaimUnsettledOperations(ctx context.Context, now, staleBefore, leaseUntil time.Time, maxAttempts, limit int) ([]*Operation, error)
	// UnsettledOperations counts the operations of every account that are
	// pending or unknown, and returns the creation time of the oldest
	// unknown one (zero when there is none): the reconciler's backlog.
	UnsettledOperations(ctx context.Context) (count int, oldestUnknown time.Time, err error)
	// PaymentStats sums up the account's payments and their authorize and
	// purchase operations created in [q.From, q.To) (see PaymentStats).
	// q.Bucket must be positive and q.To after q.From.
	PaymentStats(ctx context.Context, accountID string, q StatsQuery) (*PaymentStats, error)
}
