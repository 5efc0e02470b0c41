package engine

import (
	"sync"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// Hot reads — an API key and its account on every request, a gateway on
// every payment — are kept in memory for at most hotTTL. A change made by
// this process drops its entry at once; a change made by another process
// sharing the database is seen within hotTTL, when the entry expires. That
// bounds how long a revoked key or a rotated credential can still be used
// elsewhere to one second, without any signalling between processes.
const hotTTL = time.Second

// hotMax bounds a cache: past it, it starts over empty.
const hotMax = 10_000

type hotEntry[V any] struct {
	v  V
	at time.Time
}

// hotCache is a small map of entries younger than hotTTL.
type hotCache[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]hotEntry[V]
}

func newHotCache[K comparable, V any]() *hotCache[K, V] {
	return &hotCache[K, V]{m: map[K]hotEntry[V]{}}
}

func (c *hotCache[K, V]) get(k K, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || now.Sub(e.at) >= hotTTL || now.Before(e.at) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *hotCache[K, V]) put(k K, v V, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= hotMax {
		c.m = map[K]hotEntry[V]{}
	}
	c.m[k] = hotEntry[V]{v, now}
}

func (c *hotCache[K, V]) drop(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, k)
}

// keyEntry is an API key with its account, as authentication needs them.
type keyEntry struct {
	key     *payment.APIKey
	account *payment.Account
}

// gatewayKey names a gateway of an account.
type gatewayKey struct{ account, id string }
