package payment

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var idShape = regexp.MustCompile(`^pay_[0-9A-Za-z]{24}$`)

func TestNewIDShape(t *testing.T) {
	seen := map[string]bool{}
	for range 10000 {
		id := NewID(PrefixPayment)
		if !idShape.MatchString(id) {
			t.Fatalf("NewID = %q, want pay_ and 24 base62 characters", id)
		}
		if seen[id] {
			t.Fatalf("NewID repeated %q", id)
		}
		seen[id] = true
	}
}

// TestNewIDOrder: ids sort by the time they were made, whatever their
// random part, so indexes on ids grow at their right edge.
func TestNewIDOrder(t *testing.T) {
	base := time.Date(2026, 12, 4, 17, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 2000 {
		ids = append(ids, NewIDAt(PrefixOperation, base.Add(time.Duration(i*i)*time.Millisecond)))
	}
	if !slices.IsSorted(ids) {
		t.Error("ids made one after another do not sort in that order")
	}
	// Far apart in time too: the epoch, now, and the year 8000.
	far := []string{NewIDAt("op", time.Unix(0, 0)), NewIDAt("op", base), NewIDAt("op", time.Date(8000, 1, 1, 0, 0, 0, 0, time.UTC))}
	if !slices.IsSorted(far) {
		t.Errorf("ids of 1970, 2026 and 8000 out of order: %v", far)
	}
	if got := NewIDAt("op", time.Unix(-5, 0))[3:11]; got != "00000000" {
		t.Errorf("time part before the epoch = %q, want zeros", got)
	}
	// Two ids of one millisecond share the time part and differ after it.
	a, b := NewIDAt("op", base), NewIDAt("op", base)
	if a[:11] != b[:11] || a == b {
		t.Errorf("ids of one millisecond: %q %q", a, b)
	}
}

// TestRandomStringUniform: every base62 character is drawn about equally
// often (a modulo bias towards the first characters would show here).
func TestRandomStringUniform(t *testing.T) {
	const n = 62 * 4000
	s := RandomString(n)
	if len(s) != n {
		t.Fatalf("len = %d, want %d", len(s), n)
	}
	for _, c := range base62 {
		k := strings.Count(s, string(c))
		// Expected 4000, standard deviation about 63: ±8 deviations.
		if k < 3500 || k > 4500 {
			t.Errorf("%q drawn %d times of %d, want about 4000", c, k, n)
		}
	}
}
