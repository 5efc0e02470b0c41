// Package ratelimit keeps request budgets in memory: N requests per
// window for each key, refilled evenly (one every window/N), with idle
// keys evicted so that memory follows the keys in use, not every key ever
// seen.
//
// A Limiter belongs to one process: several processes behind one address
// each enforce their budgets on their own share of the requests.
package ratelimit

import (
	"sync"
	"time"
)

// Limit is a budget: N requests per Window. A burst of N is allowed; after
// that one request every Window/N.
type Limit struct {
	N      int
	Window time.Duration
}

// Budget is one budget a request draws from: a key and its limit.
type Budget struct {
	Key   string
	Limit Limit
}

// Limiter holds the budgets. The zero value is not usable; use New.
type Limiter struct {
	now func() time.Time

	mu sync.Mutex
	// tat is each key's theoretical arrival time (GCRA): the time at
	// which its budget is full again. A key whose tat has passed holds
	// nothing a fresh key would not, so it is evicted.
	tat       map[string]time.Time
	lastSweep time.Time
}

// sweepEvery is how often Allow evicts idle keys.
const sweepEvery = time.Minute

// New returns a Limiter reading the time from now.
func New(now func() time.Time) *Limiter {
	return &Limiter{now: now, tat: map[string]time.Time{}}
}

// Allow takes one request from every budget, or from none of them: when
// one is spent it returns that budget's limit and how long until it allows
// a request again, with ok false. A refused request takes nothing from
// the budgets that would have allowed it.
func (l *Limiter) Allow(budgets ...Budget) (refused Limit, retryAfter time.Duration, ok bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= sweepEvery {
		for k, t := range l.tat {
			if !t.After(now) {
				delete(l.tat, k)
			}
		}
		l.lastSweep = now
	}
	next := make([]time.Time, len(budgets))
	for i, b := range budgets {
		if b.Limit.N <= 0 || b.Limit.Window <= 0 {
			return b.Limit, b.Limit.Window, false
		}
		t := l.tat[b.Key]
		if t.Before(now) {
			t = now
		}
		next[i] = t.Add(b.Limit.Window / time.Duration(b.Limit.N))
		if over := next[i].Sub(now) - b.Limit.Window; over > 0 && over > retryAfter {
			refused, retryAfter = b.Limit, over
		}
	}
	if retryAfter > 0 {
		return refused, retryAfter, false
	}
	for i, b := range budgets {
		l.tat[b.Key] = next[i]
	}
	return Limit{}, 0, true
}

// Len is how many keys the Limiter holds (for tests and metrics).
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.tat)
}
