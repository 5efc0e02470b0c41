package sqlite

import "context"

// endpointPresence remembers, for the writer, which accounts have any
// webhook endpoint at all, so that the event writer can skip the fan-out
// statement for the many accounts that have none: that statement was a
// twelfth of the writer's time per purchase, and the writer is what a
// SQLite kassa's throughput waits on.
//
// It may only ever err towards "has endpoints" (one fan-out statement too
// many writes no delivery); "has none" must be true of the transaction
// it is used in. So:
//   - only the committer goroutine uses it, inside a write transaction,
//     which sees every commit before it (BEGIN IMMEDIATE);
//   - a write of this store to webhook_endpoints forgets the account
//     before it writes;
//   - a commit by any other connection (another Store on the same file,
//     another process) changes PRAGMA data_version, which is read once per
//     batch, before the first use, and then forgets everything;
//   - a unit rolled back to its savepoint, and a batch that does not
//     commit, forget everything, since what was learnt may come from
//     writes that are undone.
type endpointPresence struct {
	has     map[string]bool
	version int64 // data_version when has was last valid
	checked bool  // data_version was read in the current batch
}

func newEndpointPresence() *endpointPresence {
	return &endpointPresence{has: map[string]bool{}, version: -1}
}

// none reports whether the account certainly has no webhook endpoint in
// tx's view. On an error it says false: the fan-out runs.
func (p *endpointPresence) none(ctx context.Context, tx *wtx, accountID string) bool {
	if !p.checked {
		var v int64
		if err := tx.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v); err != nil {
			return false
		}
		if v != p.version {
			clear(p.has)
			p.version = v
		}
		p.checked = true
	}
	has, ok := p.has[accountID]
	if !ok {
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE account_id = ?)`,
			accountID).Scan(&has); err != nil {
			return false
		}
		p.has[accountID] = has
	}
	return !has
}

// forget drops what is known of the account, before a write to its
// endpoints.
func (p *endpointPresence) forget(accountID string) { delete(p.has, accountID) }

// rolledBack forgets everything: a unit's writes were undone.
func (p *endpointPresence) rolledBack() { clear(p.has) }

// endBatch ends the current batch: committed tells whether it committed.
func (p *endpointPresence) endBatch(committed bool) {
	p.checked = false
	if !committed {
		clear(p.has)
		p.version = -1
	}
}
