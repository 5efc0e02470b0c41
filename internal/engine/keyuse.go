package engine

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// An API key's last use (payment.APIKey.LastUsedAt) is written down off
// the request's path: authentication is on every request and served from
// memory (ADR 0010), so a write there would add a database round trip, and
// a failure, to each one. Instead, the first use of a key in a minute (of
// the clock, per process) notes the use in memory and wakes
// RunKeyUseRecorder, which writes it; later uses in the same minute note
// nothing. A key therefore gets at most one write a minute from each
// process, and its last use is known to the minute, which is what the
// dashboard shows. A use that fails to be written is logged and left to
// the key's next minute of use.

// keyUseFlushTimeout bounds one flush of RunKeyUseRecorder.
const keyUseFlushTimeout = 5 * time.Second

// keyUse is a use of a key waiting to be written.
type keyUse struct {
	accountID string
	at        time.Time
}

// keyUses is what RunKeyUseRecorder has to write, and what this process
// has noted already.
type keyUses struct {
	mu sync.Mutex
	// noted is the minute of the last use noted of each key, by id.
	noted map[string]time.Time
	// pending are the uses to write, by key id: the latest of each.
	pending map[string]keyUse
	// wake has a value when pending may have something to write.
	wake chan struct{}
}

func newKeyUses() *keyUses {
	return &keyUses{noted: map[string]time.Time{}, pending: map[string]keyUse{}, wake: make(chan struct{}, 1)}
}

// note records that k authenticated a request at now, unless a use of it
// in the same minute was noted already. It never blocks on the store.
func (u *keyUses) note(k *payment.APIKey, now time.Time) {
	minute := now.Truncate(time.Minute)
	u.mu.Lock()
	if last, ok := u.noted[k.ID]; ok && !minute.After(last) {
		u.mu.Unlock()
		return
	}
	// Both maps hold one entry per key used; past hotMax keys (far more
	// than an installation has), they start over, which costs at most one
	// extra write per key.
	if len(u.noted) >= hotMax {
		u.noted = map[string]time.Time{}
	}
	if len(u.pending) >= hotMax {
		u.pending = map[string]keyUse{}
	}
	u.noted[k.ID] = minute
	u.pending[k.ID] = keyUse{accountID: k.AccountID, at: now}
	u.mu.Unlock()
	select {
	case u.wake <- struct{}{}:
	default: // a wake-up is waiting already; it will take this use too
	}
}

// take returns the pending uses and leaves none.
func (u *keyUses) take() map[string]keyUse {
	u.mu.Lock()
	defer u.mu.Unlock()
	p := u.pending
	if len(p) > 0 {
		u.pending = map[string]keyUse{}
	}
	return p
}

// noteKeyUse notes that k authenticated a request (see keyUses).
func (e *Engine) noteKeyUse(k *payment.APIKey, now time.Time) {
	e.uses.note(k, now.UTC().Truncate(time.Microsecond))
}

// FlushKeyUses writes the API key uses noted since the last flush and
// reports how many it wrote. A use that fails is logged and dropped: the
// key's next minute of use writes it again. RunKeyUseRecorder calls it;
// tests call it to see the uses written.
func (e *Engine) FlushKeyUses(ctx context.Context) int {
	n := 0
	for id, use := range e.uses.take() {
		if err := e.store.RecordAPIKeyUse(ctx, use.accountID, id, use.at); err != nil {
			e.log.LogAttrs(ctx, slog.LevelError, "record api key use", slog.String("api_key", id), slog.Any("error", err))
			continue
		}
		n++
	}
	return n
}

// RunKeyUseRecorder writes API keys' uses as requests note them, until
// ctx ends; then it writes what is left and returns. kassa serve runs one
// per process.
func (e *Engine) RunKeyUseRecorder(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			e.flushKeyUsesFrom(ctx)
			return
		case <-e.uses.wake:
			e.flushKeyUsesFrom(ctx)
		}
	}
}

// flushKeyUsesFrom is FlushKeyUses in a context that ctx's end does not
// cancel, bounded by keyUseFlushTimeout: the uses a flush has taken are
// written even when the recorder is being stopped, and a store that hangs
// cannot hold the stop for long.
func (e *Engine) flushKeyUsesFrom(ctx context.Context) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), keyUseFlushTimeout)
	defer cancel()
	e.FlushKeyUses(fctx)
}
