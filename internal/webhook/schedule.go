package webhook

import (
	"math/rand/v2"
	"time"
)

// DefaultSchedule is the wait before each attempt of a delivery: the first
// at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h (about 28 h
// in all). After the last, the delivery has failed.
var DefaultSchedule = []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

// Schedule is a retry schedule: the wait before attempt i+1.
type Schedule []time.Duration

// Next returns the wait after attempt n (1 for the first) failed, and
// false when n was the last. retryAfter, the receiver's Retry-After (zero
// without one), lengthens the wait, never beyond the schedule's longest.
// Waits get ±10 % of jitter so that deliveries that failed together do not
// return together.
func (s Schedule) Next(n int, retryAfter time.Duration) (time.Duration, bool) {
	if n >= len(s) {
		return 0, false
	}
	wait := s[n]
	if retryAfter > wait {
		wait = min(retryAfter, s.longest())
	}
	if wait > 0 {
		wait += time.Duration((rand.Float64()*0.2 - 0.1) * float64(wait))
	}
	return wait, true
}

func (s Schedule) longest() time.Duration {
	var m time.Duration
	for _, d := range s {
		m = max(m, d)
	}
	return m
}
