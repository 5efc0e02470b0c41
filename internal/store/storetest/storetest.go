// Package storetest is the conformance suite of payment.Store: every
// backend runs it (see Run) and must pass all of it, concurrency tests
// included, so that the backends are interchangeable.
package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// Run runs the suite. open is called once per subtest and returns a fresh,
// migrated, empty store; open arranges for it to be closed when the test
// ends (t.Cleanup). Subtests run in parallel.
func Run(t *testing.T, open func(t *testing.T) payment.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s payment.Store)
	}{
		{"Ping", testPing},
		{"Accounts", testAccounts},
		{"CreateFirstAccount", testCreateFirstAccount},
		{"AccountSettings", testAccountSettings},
		{"APIKeys", testAPIKeys},
		{"RevokeAPIKey", testRevokeAPIKey},
		{"RollAPIKey", testRollAPIKey},
		{"RecordAPIKeyUse", testRecordAPIKeyUse},
		{"DataKeys", testDataKeys},
		{"ReserveDataKeyUses", testReserveDataKeyUses},
		{"RewrapDataKeys", testRewrapDataKeys},
		{"PaymentMethodRoundTrip", testPaymentMethodRoundTrip},
		{"PaymentMethodTimes", testPaymentMethodTimes},
		{"PaymentMethodConflicts", testPaymentMethodConflicts},
		{"PaymentMethodIsolation", testPaymentMethodIsolation},
		{"PaymentMethodPagination", testPaymentMethodPagination},
		{"ListLimits", testListLimits},
		{"UpdatePaymentMethod", testUpdatePaymentMethod},
		{"UpdatePaymentMethodConcurrent", testUpdatePaymentMethodConcurrent},
		{"ExpirePaymentMethods", testExpirePaymentMethods},
		{"Events", testEvents},
		{"WebhookFanOut", testWebhookFanOut},
		{"WebhookFanOutFollowsEndpoints", testWebhookFanOutFollowsEndpoints},
		{"WebhookClaims", testWebhookClaims},
		{"RedeliveryEvent", testRedeliveryEvent},
		{"Connectors", testConnectors},
		{"TransactionReferences", testTransactionReferences},
		{"TransactionNotices", testTransactionNotices},
		{"CustomerRoundTrip", testCustomerRoundTrip},
		{"CustomerList", testCustomerList},
		{"CustomerExternalID", testCustomerExternalID},
		{"CustomerIsolation", testCustomerIsolation},
		{"CustomerPaymentMethods", testCustomerPaymentMethods},
		{"DeleteCustomer", testDeleteCustomer},
		{"DeleteCustomerConcurrent", testDeleteCustomerConcurrent},
		{"CustomerTokens", testCustomerTokens},
		{"CustomerTokenConcurrent", testCustomerTokenConcurrent},
		{"Idempotency", testIdempotency},
		{"IdempotencyTakeover", testIdempotencyTakeover},
		{"IdempotencyPurge", testIdempotencyPurge},
		{"IdempotencyConcurrent", testIdempotencyConcurrent},
		{"IdempotencyRecovery", testIdempotencyRecovery},
		{"IdempotencyClaimAtReserve", testIdempotencyClaimAtReserve},
		{"GatewayRoundTrip", testGatewayRoundTrip},
		{"GatewayConflicts", testGatewayConflicts},
		{"GatewayPagination", testGatewayPagination},
		{"GatewayIsolation", testGatewayIsolation},
		{"CredentialVersions", testCredentialVersions},
		{"GatewayRedaction", testGatewayRedaction},
		{"UpdateGatewayConcurrent", testUpdateGatewayConcurrent},
		{"PaymentRoundTrip", testPaymentRoundTrip},
		{"PaymentTimes", testPaymentTimes},
		{"PaymentConflicts", testPaymentConflicts},
		{"PaymentList", testPaymentList},
		{"PaymentIsolation", testPaymentIsolation},
		{"UpdatePayment", testUpdatePayment},
		{"UpdatePaymentRouted", testUpdatePaymentRouted},
		{"UpdatePaymentConcurrentRefunds", testUpdatePaymentConcurrentRefunds},
		{"UpdatePaymentPanic", testUpdatePaymentPanic},
		{"SettlePayment", testSettlePayment},
		{"PaymentInvariants", testPaymentInvariants},
		{"VerificationOperations", testVerificationOperations},
		{"ClaimUnsettledOperations", testClaimUnsettledOperations},
		{"ClaimConcurrent", testClaimConcurrent},
		{"UnsettledOperations", testUnsettledOperations},
		{"ListAscending", testListAscending},
		{"PaymentSearch", testPaymentSearch},
		{"PaymentStats", testPaymentStats},
		{"ObjectEvents", testObjectEvents},
		{"OperationList", testOperationList},
		{"SimulatorLedger", testSimulatorLedger},
		{"SimulatorLedgerConcurrent", testSimulatorLedgerConcurrent},
		{"CheckoutProfiles", testCheckoutProfiles},
		{"UpdateCheckoutSessionOrder", testUpdateCheckoutSessionOrder},
		{"CheckoutTokenSessions", testCheckoutTokenSessions},
		{"CheckoutSessions", testCheckoutSessions},
		{"CheckoutAttempts", testCheckoutAttempts},
		{"CheckoutAttemptCards", testCheckoutAttemptCards},
		{"ExpiredCheckoutSessions", testExpiredCheckoutSessions},
		{"Users", testUsers},
		{"DashboardSessions", testDashboardSessions},
		{"Members", testMembers},
		{"MembersConcurrentRemoval", testMembersConcurrentRemoval},
		{"APIKeyEvents", testAPIKeyEvents},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

// t0 is the suite's "now": UTC and whole microseconds, so what a store
// returns must equal what it was given.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 678901000, time.UTC)

func ptr[T any](v T) *T { return &v }

// newAccount creates a test account with no keys.
func newAccount(t *testing.T, s payment.Store) *payment.Account {
	t.Helper()
	a := &payment.Account{ID: payment.NewAccountID(false), Name: "Shop " + payment.RandomString(4), CreatedAt: t0}
	if err := s.CreateAccount(context.Background(), a, nil); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	return a
}

func newKey(accountID string, created time.Time) *payment.APIKey {
	secret := "sk_test_" + payment.RandomString(32)
	h := sha256.Sum256([]byte(secret))
	d := sha256.Sum256([]byte("digest of " + secret))
	return &payment.APIKey{
		ID:         payment.NewID(payment.PrefixAPIKey),
		AccountID:  accountID,
		Kind:       payment.KeySecret,
		Prefix:     secret[:payment.KeyPrefixLen],
		Hash:       h[:],
		DigestHash: d[:],
		CreatedAt:  created,
	}
}

// newPM returns a cached card payment method with every field set.
func newPM(accountID string, created time.Time) *payment.PaymentMethod {
	return &payment.PaymentMethod{
		ID:        payment.NewID(payment.PrefixPaymentMethod),
		AccountID: accountID,
		Type:      payment.PaymentMethodTypeCard,
		Card: payment.Card{
			Brand: "visa", First6: "424242", Last4: "4242", ExpMonth: 12, ExpYear: 2031,
			HolderName: "Ada Lovelace", Fingerprint: "fp_" + payment.RandomString(16),
		},
		Billing: payment.Address{
			Line1: "1 Main St", Line2: "Apt 2", City: "Oslo", PostalCode: "0150", State: "Oslo", Country: "NO",
		},
		Email:        "ada@example.com",
		Metadata:     map[string]string{"order": "1234", "note": `quote " and ünïcode`},
		StorageState: payment.StorageCached,
		Test:         true,
		CreatedAt:    created,
		UpdatedAt:    created,
		PANSealed:    []byte("\x01pan-ciphertext\x00\xff"),
		CVCSealed:    []byte("\x01cvc-ciphertext\x00\xfe"),
		CVCExpiresAt: ptr(created.Add(time.Hour)),
	}
}

func newEvent(accountID, typ, objectID string, at time.Time) *payment.Event {
	return &payment.Event{
		ID:        payment.NewID(payment.PrefixEvent),
		AccountID: accountID,
		Type:      typ,
		ObjectID:  objectID,
		Data:      json.RawMessage(fmt.Sprintf(`{"id":%q,"object":"payment_method"}`, objectID)),
		CreatedAt: at,
	}
}

// createPM stores pm with a "payment_method.created" event and returns the
// event.
func createPM(t *testing.T, s payment.Store, pm *payment.PaymentMethod) *payment.Event {
	t.Helper()
	ev := newEvent(pm.AccountID, "payment_method.created", pm.ID, pm.CreatedAt)
	if err := s.CreatePaymentMethod(context.Background(), pm, ev); err != nil {
		t.Fatalf("CreatePaymentMethod: %v", err)
	}
	return ev
}

func getPM(t *testing.T, s payment.Store, accountID, id string) *payment.PaymentMethod {
	t.Helper()
	pm, err := s.PaymentMethod(context.Background(), accountID, id)
	if err != nil {
		t.Fatalf("PaymentMethod(%s): %v", id, err)
	}
	return pm
}

func allEvents(t *testing.T, s payment.Store, accountID string) []*payment.Event {
	t.Helper()
	evs, _, err := s.Events(context.Background(), accountID, payment.ListParams{Limit: 100})
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	return evs
}

// equal fails the test if got is not deeply equal to want, showing both as
// JSON (times and pointers spelled out).
func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("%s: err = %v, want ErrNotFound", what, err)
	}
}

func wantConflict(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, payment.ErrConflict) {
		t.Errorf("%s: err = %v, want ErrConflict", what, err)
	}
}

func wantCursorNotFound(t *testing.T, what string, err error) {
	t.Helper()
	e, ok := payment.AsError(err)
	if !ok || e.Kind != payment.KindNotFound || e.Param != "starting_after" {
		t.Errorf("%s: err = %v, want not found with param starting_after", what, err)
	}
}

func ids[T any](items []T, id func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = id(it)
	}
	return out
}

func pmID(pm *payment.PaymentMethod) string { return pm.ID }
func keyID(k *payment.APIKey) string        { return k.ID }

func testPing(t *testing.T, s payment.Store) {
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}
