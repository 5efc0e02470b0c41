package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

// fakeClock is a clock the test moves.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestAllowBurstThenRefill(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	l := New(clk.now)
	perMinute := Limit{N: 60, Window: time.Minute}
	user := Budget{Key: "acct_a", Limit: perMinute}
	for i := range 60 {
		if _, _, ok := l.Allow(user); !ok {
			t.Fatalf("request %d of a burst of 60 refused", i+1)
		}
	}
	lim, retry, ok := l.Allow(user)
	if ok || lim != perMinute || retry != time.Second {
		t.Fatalf("61st: ok %v limit %+v retry %v, want refused, %+v, 1s", ok, lim, retry, perMinute)
	}
	clk.advance(999 * time.Millisecond)
	if _, _, ok := l.Allow(user); ok {
		t.Fatal("allowed before a request's share of the window passed")
	}
	clk.advance(time.Millisecond)
	if _, _, ok := l.Allow(user); !ok {
		t.Fatal("refused once a second had passed")
	}
	clk.advance(time.Minute)
	for i := range 60 {
		if _, _, ok := l.Allow(user); !ok {
			t.Fatalf("after an idle minute, request %d refused", i+1)
		}
	}
}

// TestAllowAllOrNone: a request refused by one budget takes nothing from
// the others, and the refusal names the spent budget.
func TestAllowAllOrNone(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	l := New(clk.now)
	user := Budget{Key: "user", Limit: Limit{N: 60, Window: time.Minute}}
	tx := func(id string) Budget { return Budget{Key: "tx " + id, Limit: Limit{N: 10, Window: time.Minute}} }
	for range 10 {
		if _, _, ok := l.Allow(user, tx("a")); !ok {
			t.Fatal("refused within both budgets")
		}
	}
	for range 5 {
		lim, retry, ok := l.Allow(user, tx("a"))
		if ok || lim.N != 10 || retry != 6*time.Second {
			t.Fatalf("11th on one transaction: ok %v limit %+v retry %v", ok, lim, retry)
		}
	}
	// The refusals took nothing from the user's budget: 50 are left.
	for i := range 50 {
		if _, _, ok := l.Allow(user, tx(fmt.Sprint("b", i))); !ok {
			t.Fatalf("request %d of the user's remaining 50 refused", i+1)
		}
	}
	if lim, _, ok := l.Allow(user, tx("c")); ok || lim.N != 60 {
		t.Fatalf("the user's 61st: ok %v limit %+v", ok, lim)
	}
	// Another key is another budget.
	if _, _, ok := l.Allow(Budget{Key: "other user", Limit: user.Limit}); !ok {
		t.Fatal("one key's spent budget refused another key")
	}
}

// TestIdleKeysEvicted: a key whose budget is full again is dropped at the
// next sweep, so memory follows the keys in use.
func TestIdleKeysEvicted(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	l := New(clk.now)
	for i := range 1000 {
		l.Allow(Budget{Key: fmt.Sprint("k", i), Limit: Limit{N: 10, Window: time.Minute}})
	}
	if n := l.Len(); n != 1000 {
		t.Fatalf("%d keys, want 1000", n)
	}
	clk.advance(2 * time.Minute)
	l.Allow(Budget{Key: "fresh", Limit: Limit{N: 10, Window: time.Minute}})
	if n := l.Len(); n != 1 {
		t.Fatalf("%d keys after they all went idle, want 1", n)
	}
}

func TestZeroLimitRefuses(t *testing.T) {
	l := New(time.Now)
	if _, _, ok := l.Allow(Budget{Key: "k"}); ok {
		t.Fatal("a zero limit allowed a request")
	}
}
