package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// fanOutFixture is an account of s and helpers to give it an endpoint and
// to count the deliveries of a new event.
type fanOutFixture struct {
	t       *testing.T
	account string
}

func newFanOutFixture(t *testing.T, s *Store) fanOutFixture {
	t.Helper()
	a := &payment.Account{ID: payment.NewAccountID(false), Name: "Shop", CreatedAt: time.Now()}
	if err := s.CreateAccount(context.Background(), a, nil); err != nil {
		t.Fatal(err)
	}
	return fanOutFixture{t: t, account: a.ID}
}

func (f fanOutFixture) event() *payment.Event {
	return &payment.Event{ID: payment.NewID(payment.PrefixEvent), AccountID: f.account, Type: "account.updated",
		ObjectID: f.account, CreatedAt: time.Now()}
}

func (f fanOutFixture) addEndpoint(s *Store) *payment.WebhookEndpoint {
	f.t.Helper()
	now := time.Now()
	we := &payment.WebhookEndpoint{ID: payment.NewID(payment.PrefixWebhookEndpoint), AccountID: f.account,
		URL: "https://shop.example/hooks", EnabledEvents: []string{"*"}, Metadata: map[string]string{},
		SecretSealed: []byte("sealed"), SecretVersion: 1, CreatedAt: now, UpdatedAt: now}
	ev := f.event()
	ev.Type, ev.ObjectID = "webhook_endpoint.created", we.ID
	if err := s.CreateWebhookEndpoint(context.Background(), we, ev); err != nil {
		f.t.Fatal(err)
	}
	return we
}

// deliveries writes a new event of the account through s and returns how
// many deliveries it was given.
func (f fanOutFixture) deliveries(s *Store) int {
	f.t.Helper()
	ctx := context.Background()
	ev := f.event()
	if err := s.write(ctx, func(ctx context.Context, tx *wtx) error { return insertEvent(ctx, tx, ev) }); err != nil {
		f.t.Fatal(err)
	}
	ds, err := s.WebhookDeliveriesOfEvent(ctx, f.account, ev.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return len(ds)
}

// TestFanOutSeesEndpointsOfAnotherConnection: the writer remembers that
// an account has no endpoint, but an endpoint created through another
// connection to the same file (another process, say) is seen by the next
// event.
func TestFanOutSeesEndpointsOfAnotherConnection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kassa.db")
	here, there := open(t, path), open(t, path)
	f := newFanOutFixture(t, here)
	if n := f.deliveries(here); n != 0 {
		t.Fatalf("no endpoint yet: %d deliveries", n)
	}
	f.addEndpoint(there)
	if n := f.deliveries(here); n != 1 {
		t.Fatalf("after another connection created an endpoint: %d deliveries, want 1", n)
	}
}

// TestFanOutForgetsWhatARolledBackUnitSaw: a unit that deletes the
// account's endpoint, fans an event out (learning "no endpoint") and then
// fails is rolled back in a batch that commits; the endpoint is back, and
// the next event must be delivered to it.
func TestFanOutForgetsWhatARolledBackUnitSaw(t *testing.T) {
	s := openTestStore(t)
	f := newFanOutFixture(t, s)
	we := f.addEndpoint(s)

	release, held := holdWriter(t, s)
	failing, fine := make(chan error, 1), make(chan error, 1)
	go func() {
		failing <- s.write(context.Background(), func(ctx context.Context, tx *wtx) error {
			tx.endpoints.forget(f.account)
			if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE id = ?`, we.ID); err != nil {
				return err
			}
			if !tx.endpoints.none(ctx, tx, f.account) {
				return errors.New("the deleted endpoint is still seen")
			}
			return errors.New("this unit fails")
		})
	}()
	go func() { fine <- s.write(context.Background(), insertN(1)) }()
	// Both units wait behind the held one, so they form one batch.
	for s.queued() < 2 {
		time.Sleep(time.Millisecond)
	}
	release()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if err := <-failing; err == nil || err.Error() != "this unit fails" {
		t.Fatalf("failing unit: %v", err)
	}
	if err := <-fine; err != nil {
		t.Fatal(err)
	}
	if n := f.deliveries(s); n != 1 {
		t.Fatalf("after the rolled-back deletion: %d deliveries, want 1", n)
	}
}
