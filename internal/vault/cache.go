package vault

import (
	"sync"
	"sync/atomic"
)

// boundedMap is a sync.Map that holds at most about max entries. Reads take
// no lock. When an insert passes max, entries are dropped in the map's
// iteration order (unrelated to use) until a quarter of the room is free: an
// evicted data key costs one store read and one unwrap to get back, so a
// rough bound is all that is needed, and it keeps the hot path lock-free.
type boundedMap[K comparable, V any] struct {
	m        sync.Map
	n        atomic.Int64
	max      int64
	evicting sync.Mutex
}

func newBoundedMap[K comparable, V any](max int64) *boundedMap[K, V] {
	return &boundedMap[K, V]{max: max}
}

func (c *boundedMap[K, V]) load(k K) (V, bool) {
	v, ok := c.m.Load(k)
	if !ok {
		var zero V
		return zero, false
	}
	return v.(V), true
}

// loadOrStore returns the value stored for k, storing v first if there was
// none.
func (c *boundedMap[K, V]) loadOrStore(k K, v V) V {
	actual, loaded := c.m.LoadOrStore(k, v)
	if !loaded && c.n.Add(1) > c.max {
		c.evict()
	}
	return actual.(V)
}

func (c *boundedMap[K, V]) evict() {
	if !c.evicting.TryLock() {
		return // another goroutine is at it
	}
	defer c.evicting.Unlock()
	target := c.max - c.max/4
	c.m.Range(func(k, _ any) bool {
		if _, ok := c.m.LoadAndDelete(k); ok {
			c.n.Add(-1)
		}
		return c.n.Load() > target
	})
}

func (c *boundedMap[K, V]) len() int { return int(c.n.Load()) }
