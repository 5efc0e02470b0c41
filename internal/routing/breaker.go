package routing

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// BreakerState is the state of a gateway's circuit breaker.
type BreakerState string

const (
	// BreakerClosed: calls go through. Entered at the start, after a
	// successful call, and after a successful trial; left for open when
	// threshold consecutive calls fail.
	BreakerClosed BreakerState = "closed"
	// BreakerOpen: the gateway is skipped. Entered when the threshold is
	// reached or a trial fails; left for half_open once openFor has passed,
	// or for closed when a call that was already under way succeeds.
	BreakerOpen BreakerState = "open"
	// BreakerHalfOpen: openFor has passed; the next caller gets the one trial
	// call and everyone else is still refused. Left for closed or open by the
	// trial's result. If that result never comes (the caller died), the trial
	// lapses after another openFor and the next caller gets a new one.
	BreakerHalfOpen BreakerState = "half_open"
)

// Breakers holds the circuit breakers of gateways, in memory and per
// process. It is safe for concurrent use. A nil *Breakers lets every call
// through and records nothing.
type Breakers struct {
	threshold int
	openFor   time.Duration
	now       func() time.Time

	mu sync.Mutex
	// m holds only breakers that are not closed or count failures: a
	// success deletes the entry, so a healthy gateway costs nothing.
	m map[string]*breaker
}

type breaker struct {
	state     BreakerState
	failures  int       // consecutive
	openUntil time.Time // open: when a trial may begin
	trialEnds time.Time // half_open: when an unanswered trial lapses
}

// NewBreakers returns breakers that open after threshold consecutive
// failures (values below 1 count as 1) and stay open for openFor before a
// trial. now is the clock; nil means time.Now.
func NewBreakers(threshold int, openFor time.Duration, now func() time.Time) *Breakers {
	if threshold < 1 {
		threshold = 1
	}
	if now == nil {
		now = time.Now
	}
	return &Breakers{threshold: threshold, openFor: openFor, now: now, m: map[string]*breaker{}}
}

// Allow reports whether gw may be called now. Closed: yes. Open and openFor
// not yet passed: no. Open and passed: the breaker becomes half_open and
// this caller, alone, gets yes: the trial. Others get no until the trial's
// result is recorded (or it lapses).
func (b *Breakers) Allow(gw string) bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	br := b.m[gw]
	if br == nil {
		return true
	}
	now := b.now()
	switch br.state {
	case BreakerOpen:
		if now.Before(br.openUntil) {
			return false
		}
		br.state, br.trialEnds = BreakerHalfOpen, now.Add(b.openFor)
		return true
	case BreakerHalfOpen:
		if now.Before(br.trialEnds) {
			return false
		}
		br.trialEnds = now.Add(b.openFor)
		return true
	}
	return true
}

// Record notes the result of a call to gw. failure means it was not sent or
// timed out: the gateway is unreachable or unwell. Declines and other
// answers are not failures; the gateway worked.
//
// threshold consecutive failures open a closed breaker for openFor; a failed
// trial opens it again for openFor; any non-failure closes it and resets the
// count. A failure recorded while open (a call from before it opened) counts
// but does not extend the open period.
func (b *Breakers) Record(gw string, failure bool) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	br := b.m[gw]
	if !failure {
		if br != nil {
			delete(b.m, gw)
		}
		return
	}
	if br == nil {
		br = &breaker{state: BreakerClosed}
		b.m[gw] = br
	}
	br.failures++
	switch br.state {
	case BreakerClosed:
		if br.failures >= b.threshold {
			br.state, br.openUntil = BreakerOpen, b.now().Add(b.openFor)
		}
	case BreakerHalfOpen:
		br.state, br.openUntil, br.trialEnds = BreakerOpen, b.now().Add(b.openFor), time.Time{}
	}
}

// BreakerStatus is a breaker as seen from outside.
type BreakerStatus struct {
	State               BreakerState `json:"state"`
	ConsecutiveFailures int          `json:"consecutive_failures"`
	// OpenUntil is when the last open period ends or ended; nil when closed.
	OpenUntil *time.Time `json:"open_until"`
}

// Status returns gw's breaker. An open breaker whose open period is over
// reports half_open: the next call will be the trial.
func (b *Breakers) Status(gw string) BreakerStatus {
	if b == nil {
		return BreakerStatus{State: BreakerClosed}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	br := b.m[gw]
	if br == nil {
		return BreakerStatus{State: BreakerClosed}
	}
	return b.status(br)
}

func (b *Breakers) status(br *breaker) BreakerStatus {
	s := BreakerStatus{State: br.state, ConsecutiveFailures: br.failures}
	if br.state != BreakerClosed {
		t := br.openUntil
		s.OpenUntil = &t
		if br.state == BreakerOpen && !b.now().Before(t) {
			s.State = BreakerHalfOpen
		}
	}
	return s
}

// Each calls fn, in order of gateway id, for every gateway whose breaker is
// not closed or counts failures (for metrics). fn runs without the lock
// held: it may call b's methods.
func (b *Breakers) Each(fn func(gw string, s BreakerStatus)) {
	if b == nil {
		return
	}
	type entry struct {
		gw string
		s  BreakerStatus
	}
	b.mu.Lock()
	entries := make([]entry, 0, len(b.m))
	for gw, br := range b.m {
		entries = append(entries, entry{gw, b.status(br)})
	}
	b.mu.Unlock()
	slices.SortFunc(entries, func(x, y entry) int { return strings.Compare(x.gw, y.gw) })
	for _, e := range entries {
		fn(e.gw, e.s)
	}
}
