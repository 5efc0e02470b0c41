package storetest

import (
	"context"
	"crypto/sha256"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// OpenShared returns a fresh, migrated, empty store and a function that
// opens another handle on the same database, as another kassa process (or
// the same one restarted) would. Both close when the test ends.
type OpenShared func(t *testing.T) (payment.Store, func(t *testing.T) payment.Store)

// RunShared runs the tests that need two handles on one database.
// Subtests run in parallel.
func RunShared(t *testing.T, open OpenShared) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s payment.Store, another func(t *testing.T) payment.Store)
	}{
		{"LoginBudgetsShared", testLoginBudgetsShared},
		{"LoginBudgetsConcurrent", testLoginBudgetsConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, another := open(t)
			tt.fn(t, s, another)
		})
	}
}

func loginBudget(key string, n int) payment.LoginBudget {
	h := sha256.Sum256([]byte(key))
	return payment.LoginBudget{KeyHash: h[:], N: n, Window: 15 * time.Minute}
}

func takeLogin(t *testing.T, s payment.Store, at time.Time, budgets ...payment.LoginBudget) bool {
	t.Helper()
	ok, err := s.TakeLoginAttempt(context.Background(), at, budgets)
	if err != nil {
		t.Fatalf("TakeLoginAttempt: %v", err)
	}
	return ok
}

// testLoginBudgetsShared: what one handle takes, another sees, and so
// does a handle opened afterwards (a restart); a refused attempt takes
// nothing; a window later the budget is full again, and the purge deletes
// only budgets that are.
func testLoginBudgetsShared(t *testing.T, s payment.Store, another func(t *testing.T) payment.Store) {
	ctx := context.Background()
	email, client := loginBudget("email:kari@example.com", 3), loginBudget("client:192.0.2.1", 5)
	for i := range 3 {
		if !takeLogin(t, s, t0.Add(time.Duration(i)*time.Second), email, client) {
			t.Fatalf("attempt %d refused", i+1)
		}
	}
	s2 := another(t)
	if takeLogin(t, s2, t0.Add(3*time.Second), email, client) {
		t.Fatal("the other handle allowed a 4th attempt on an email of 3")
	}
	// The refused attempt took nothing from the client's budget: 2 left.
	for i, e := range []string{"ola@example.com", "per@example.com"} {
		if !takeLogin(t, s2, t0.Add(4*time.Second), loginBudget("email:"+e, 3), client) {
			t.Fatalf("client attempt %d refused", 4+i)
		}
	}
	if takeLogin(t, s, t0.Add(5*time.Second), loginBudget("email:liv@example.com", 3), client) {
		t.Fatal("a 6th attempt from a client of 5 allowed")
	}

	s3 := another(t) // a restart
	if takeLogin(t, s3, t0.Add(4*time.Minute), email) {
		t.Fatal("a fresh handle allowed an attempt on a spent email")
	}
	// ola's and per's budgets, drawn on once, are full again 5 minutes
	// later; kari's and the client's are not before 15.
	if n, err := s3.PurgeLoginBudgets(ctx, t0.Add(14*time.Minute)); err != nil || n != 2 {
		t.Errorf("purged %d, %v at 14 minutes; want 2", n, err)
	}
	// GCRA refills one attempt every window/N: 5 minutes for the email.
	if !takeLogin(t, s3, t0.Add(5*time.Minute+3*time.Second), email) {
		t.Fatal("no attempt after window/N")
	}

	later := t0.Add(time.Hour)
	n, err := s3.PurgeLoginBudgets(ctx, later)
	if err != nil || n != 2 {
		t.Errorf("purged %d, %v an hour later; want kari's and the client's", n, err)
	}
	for i := range 3 {
		if !takeLogin(t, s2, later, email) {
			t.Fatalf("attempt %d after the window refused", i+1)
		}
	}
	if takeLogin(t, s, later, email) {
		t.Fatal("a 4th attempt after the window allowed")
	}

	if _, err := s.TakeLoginAttempt(ctx, t0, []payment.LoginBudget{{KeyHash: []byte("short"), N: 1, Window: time.Minute}}); err == nil {
		t.Error("a key hash of 5 bytes accepted")
	}
	if _, err := s.TakeLoginAttempt(ctx, t0, []payment.LoginBudget{email, email}); err == nil {
		t.Error("one budget twice accepted")
	}
}

// testLoginBudgetsConcurrent races attempts through two handles for the
// last attempts of two budgets, named in either order: exactly the
// budget's attempts succeed, and nothing deadlocks.
func testLoginBudgetsConcurrent(t *testing.T, s payment.Store, another func(t *testing.T) payment.Store) {
	s2 := another(t)
	email, client := loginBudget("email:kari@example.com", 5), loginBudget("client:192.0.2.1", 7)
	const racers = 24
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	start := make(chan struct{})
	for i := range racers {
		st, bs := s, []payment.LoginBudget{email, client}
		if i%2 == 1 {
			st, bs = s2, []payment.LoginBudget{client, email}
		}
		wg.Go(func() {
			<-start
			ok, err := st.TakeLoginAttempt(context.Background(), t0, bs)
			if err != nil {
				t.Errorf("TakeLoginAttempt: %v", err)
				return
			}
			if ok {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	if granted != 5 {
		t.Fatalf("%d of %d racing attempts granted; want the email's 5", granted, racers)
	}
	// The client's budget lost exactly those 5: 2 are left.
	other := loginBudget("email:ola@example.com", 5)
	for i := range 2 {
		if !takeLogin(t, s2, t0, other, client) {
			t.Fatalf("client attempt %d refused", 6+i)
		}
	}
	if takeLogin(t, s, t0, other, client) {
		t.Fatal("an 8th attempt from a client of 7 allowed")
	}
}
