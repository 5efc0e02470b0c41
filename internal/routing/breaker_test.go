package routing

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a settable clock for Breakers.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func wantStatus(t *testing.T, b *Breakers, gw string, state BreakerState, failures int, openUntil time.Time) {
	t.Helper()
	s := b.Status(gw)
	if s.State != state || s.ConsecutiveFailures != failures {
		t.Errorf("%s: got %s with %d failures, want %s with %d", gw, s.State, s.ConsecutiveFailures, state, failures)
	}
	switch {
	case openUntil.IsZero() && s.OpenUntil != nil:
		t.Errorf("%s: open_until %v, want none", gw, *s.OpenUntil)
	case !openUntil.IsZero() && (s.OpenUntil == nil || !s.OpenUntil.Equal(openUntil)):
		t.Errorf("%s: open_until %v, want %v", gw, s.OpenUntil, openUntil)
	}
}

func TestBreakerOpensAfterThreshold(t *testing.T) {
	clk := newClock()
	b := NewBreakers(3, time.Minute, clk.now)
	for i := 1; i <= 2; i++ {
		b.Record("gw_a", true)
		if !b.Allow("gw_a") {
			t.Fatalf("skipped after %d failures", i)
		}
		wantStatus(t, b, "gw_a", BreakerClosed, i, time.Time{})
	}
	b.Record("gw_a", true)
	until := clk.now().Add(time.Minute)
	wantStatus(t, b, "gw_a", BreakerOpen, 3, until)

	// Skipped while open, up to the last instant.
	for _, d := range []time.Duration{0, 30 * time.Second, time.Minute - time.Nanosecond} {
		clk.set(until.Add(-time.Minute).Add(d))
		if b.Allow("gw_a") {
			t.Errorf("allowed %v after opening", d)
		}
	}
	// Other gateways are not affected.
	if !b.Allow("gw_b") {
		t.Error("gw_b skipped")
	}
	wantStatus(t, b, "gw_b", BreakerClosed, 0, time.Time{})
}

func TestBreakerSuccessResets(t *testing.T) {
	b := NewBreakers(3, time.Minute, newClock().now)
	b.Record("gw_a", true)
	b.Record("gw_a", true)
	b.Record("gw_a", false) // a success in between
	wantStatus(t, b, "gw_a", BreakerClosed, 0, time.Time{})
	b.Record("gw_a", true)
	b.Record("gw_a", true)
	if !b.Allow("gw_a") {
		t.Error("opened after 2+2 failures split by a success")
	}
	wantStatus(t, b, "gw_a", BreakerClosed, 2, time.Time{})
	b.Record("gw_a", true)
	if b.Allow("gw_a") {
		t.Error("not open after 3 consecutive failures")
	}
}

// openBreaker returns breakers with gw_a just opened, and their clock.
func openBreaker(t *testing.T) (*Breakers, *clock) {
	clk := newClock()
	b := NewBreakers(2, time.Minute, clk.now)
	b.Record("gw_a", true)
	b.Record("gw_a", true)
	if b.Allow("gw_a") {
		t.Fatal("not open")
	}
	return b, clk
}

func TestBreakerHalfOpensWithOneTrial(t *testing.T) {
	b, clk := openBreaker(t)
	opened := clk.now()
	clk.advance(time.Minute)
	// The open period is over: Status already says the next call is a trial.
	wantStatus(t, b, "gw_a", BreakerHalfOpen, 2, opened.Add(time.Minute))

	var allowed atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 20 {
		wg.Go(func() {
			<-start
			if b.Allow("gw_a") {
				allowed.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := allowed.Load(); n != 1 {
		t.Fatalf("%d of 20 concurrent callers allowed, want exactly 1 trial", n)
	}
	wantStatus(t, b, "gw_a", BreakerHalfOpen, 2, opened.Add(time.Minute))
	clk.advance(30 * time.Second)
	if b.Allow("gw_a") {
		t.Error("a second caller allowed while the trial is under way")
	}
}

func TestBreakerTrialFailureReopens(t *testing.T) {
	b, clk := openBreaker(t)
	clk.advance(2 * time.Minute)
	if !b.Allow("gw_a") {
		t.Fatal("no trial")
	}
	clk.advance(5 * time.Second) // the trial takes a while, then fails
	b.Record("gw_a", true)
	wantStatus(t, b, "gw_a", BreakerOpen, 3, clk.now().Add(time.Minute))
	if b.Allow("gw_a") {
		t.Error("allowed right after a failed trial")
	}
	clk.advance(time.Minute - time.Nanosecond)
	if b.Allow("gw_a") {
		t.Error("allowed before openFor passed again")
	}
	clk.advance(time.Nanosecond)
	if !b.Allow("gw_a") {
		t.Error("no new trial after openFor")
	}
}

func TestBreakerTrialSuccessCloses(t *testing.T) {
	b, clk := openBreaker(t)
	clk.advance(time.Minute)
	if !b.Allow("gw_a") {
		t.Fatal("no trial")
	}
	b.Record("gw_a", false)
	wantStatus(t, b, "gw_a", BreakerClosed, 0, time.Time{})
	for range 5 {
		if !b.Allow("gw_a") {
			t.Fatal("skipped after a successful trial")
		}
	}
	// The count starts again from zero.
	b.Record("gw_a", true)
	if !b.Allow("gw_a") {
		t.Error("one failure after closing opened it")
	}
}

// A trial whose result never comes (its caller died) lapses after openFor.
func TestBreakerLostTrialLapses(t *testing.T) {
	b, clk := openBreaker(t)
	clk.advance(time.Minute)
	if !b.Allow("gw_a") {
		t.Fatal("no trial")
	}
	clk.advance(time.Minute - time.Nanosecond)
	if b.Allow("gw_a") {
		t.Error("second trial before the first lapsed")
	}
	clk.advance(time.Nanosecond)
	if !b.Allow("gw_a") {
		t.Error("no new trial after the first lapsed")
	}
	if b.Allow("gw_a") {
		t.Error("two new trials")
	}
}

// Results of calls that began before the breaker opened.
func TestBreakerLateResults(t *testing.T) {
	b, clk := openBreaker(t)
	opened := clk.now()
	clk.advance(10 * time.Second)
	b.Record("gw_a", true) // counts, but does not extend the open period
	wantStatus(t, b, "gw_a", BreakerOpen, 3, opened.Add(time.Minute))
	b.Record("gw_a", false) // the gateway answered: it works
	wantStatus(t, b, "gw_a", BreakerClosed, 0, time.Time{})
	if !b.Allow("gw_a") {
		t.Error("skipped after a success")
	}
}

func TestBreakerEach(t *testing.T) {
	clk := newClock()
	b := NewBreakers(2, time.Minute, clk.now)
	b.Record("gw_c", true)
	b.Record("gw_c", true) // open
	b.Record("gw_a", true) // closed, one failure
	b.Record("gw_b", true)
	b.Record("gw_b", false) // healthy again: not visited
	b.Record("gw_d", false) // never failed: not visited
	var got []string
	b.Each(func(gw string, s BreakerStatus) {
		got = append(got, gw+":"+string(s.State))
		_ = b.Status(gw) // fn may call back into b
	})
	want := []string{"gw_a:closed", "gw_c:open"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("Each visited %v, want %v", got, want)
	}
}

func TestBreakerDefaults(t *testing.T) {
	b := NewBreakers(0, time.Minute, nil) // threshold counts as 1, real clock
	b.Record("gw_a", true)
	if b.Allow("gw_a") {
		t.Error("threshold 0 did not open on the first failure")
	}
	if s := b.Status("gw_a"); s.OpenUntil == nil || time.Until(*s.OpenUntil) <= 0 {
		t.Errorf("status %+v", s)
	}

	var nb *Breakers
	nb.Record("gw_a", true)
	if !nb.Allow("gw_a") || nb.Status("gw_a").State != BreakerClosed {
		t.Error("a nil *Breakers does not let calls through")
	}
	nb.Each(func(string, BreakerStatus) { t.Error("nil *Breakers visited a gateway") })
}

// Many goroutines recording and asking at once; run with -race.
func TestBreakerConcurrent(t *testing.T) {
	clk := newClock()
	b := NewBreakers(5, time.Millisecond, clk.now)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			gw := []string{"gw_a", "gw_b"}[i%2]
			for j := range 500 {
				if b.Allow(gw) {
					b.Record(gw, j%3 != 0)
				}
				if j%50 == 0 {
					clk.advance(time.Millisecond)
					b.Each(func(string, BreakerStatus) {})
				}
			}
		})
	}
	wg.Wait()
}
