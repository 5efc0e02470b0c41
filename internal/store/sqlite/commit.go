package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"

	"github.com/kassapay/kassa/internal/failpoint"
)

// Group commit. SQLite has one writer, and with synchronous=FULL every
// commit is an fsync that all other writers queue behind. So one goroutine
// owns the writer connection's transactions: it takes every unit of work
// that is waiting, runs them in one BEGIN IMMEDIATE transaction — each in
// its own SAVEPOINT, so that one unit's failure rolls back only that unit —
// commits once, and only then tells each caller its result. Acknowledged
// still means durable; the fsync is shared. When the writer is idle a unit
// runs at once, alone: batching adds no latency, it only absorbs the queue
// that forms behind a commit.
//
// A savepoint costs the writer two statements and a copy of every page the
// unit changes, to the statement journal. Units that may run twice
// (writeRerunnable: the hot ones of a payment) share one savepoint
// instead: when one of them fails, the group is rolled back to its start
// and its other units run again, each in a savepoint of its own. Failures
// are rare (a lost compare-and-set, a key taken), so the common batch pays
// for one savepoint per group of units, not one per unit.

// maxBatch bounds the units of one transaction, so that one batch cannot
// hold the writer (and its callers) for long.
const maxBatch = 128

// writeUnit is one caller's work in a batch.
type writeUnit struct {
	ctx context.Context
	fn  func(ctx context.Context, tx *wtx) error
	// rerunnable: fn may be run again after a rollback (see
	// writeRerunnable).
	rerunnable bool
	// Set by the committer before done is closed.
	err      error
	panicked any
	done     chan struct{}
}

// writeStats counts the committer's work (see Stats).
type writeStats struct {
	commits, units atomic.Int64
	savepoints     atomic.Int64 // SAVEPOINT statements run
}

// WriteStats says how much work the store's writer did: Units of work
// (write transactions as callers see them) in Commits durable commits.
type WriteStats struct {
	Commits int64
	Units   int64
}

// Stats returns the writer's counters since Open.
func (s *Store) Stats() WriteStats {
	return WriteStats{Commits: s.stats.commits.Load(), Units: s.stats.units.Load()}
}

var errClosed = errors.New("sqlite: store closed")

// write runs fn as one unit of work in a write transaction of the writer
// connection (BEGIN IMMEDIATE), possibly together with other callers'
// units, and returns when it is committed (or rolled back). fn must use
// the ctx and tx it is given, must not call the Store, and must do no
// network I/O: the units after it wait for it. The ctx fn gets is the
// caller's without its cancellation, so that a caller who gives up cannot
// abort a batch; a unit whose caller has gone before it starts is skipped.
// A panic in fn rolls the unit back and is raised again in the caller.
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, tx *wtx) error) error {
	return s.enqueue(&writeUnit{ctx: ctx, fn: fn, done: make(chan struct{})})
}

// writeRerunnable is write for a fn that the committer may run more than
// once, rolling back its writes in between: only its last run counts. So
// fn must start from nothing each time — it may assign its results to
// variables it captures, but must not accumulate (append, count) across
// runs, change its inputs, or call code with effects outside tx. In
// return it shares a savepoint with the rerunnable units beside it.
func (s *Store) writeRerunnable(ctx context.Context, fn func(ctx context.Context, tx *wtx) error) error {
	return s.enqueue(&writeUnit{ctx: ctx, fn: fn, rerunnable: true, done: make(chan struct{})})
}

// enqueue hands u to the committer and waits for its result.
func (s *Store) enqueue(u *writeUnit) error {
	ctx := u.ctx
	// Announced before it is offered, so that a batch about to commit
	// waits the instant it takes this unit to reach the channel (gather).
	// The committer uncounts the units it takes; a caller who withdraws
	// uncounts its own.
	s.waiting.Add(1)
	select {
	case s.units <- u:
	case <-ctx.Done():
		s.waiting.Add(-1)
		return ctx.Err()
	case <-s.stop:
		s.waiting.Add(-1)
		return errClosed
	}
	<-u.done
	if u.panicked != nil {
		panic(u.panicked)
	}
	return u.err
}

// queued returns how many units wait for the committer to take them.
func (s *Store) queued() int { return int(s.waiting.Load()) }

// runCommitter is the committer goroutine: it runs until Close.
func (s *Store) runCommitter() {
	defer close(s.stopped)
	defer s.stmts.close()
	for {
		var first *writeUnit
		select {
		case first = <-s.units:
			s.waiting.Add(-1)
		case <-s.stop:
			return
		}
		batch, committed := s.commit(first)
		s.endpoints.endBatch(committed)
		for _, u := range batch {
			close(u.done)
		}
		s.prepareNew()
	}
}

// gather appends the units waiting now to batch, up to maxBatch. It
// waits only for units already announced (queued) that have not reached
// the channel yet — the instant between a caller counting itself and
// offering its unit — so that no unit that came before the commit misses
// it.
func (s *Store) gather(batch []*writeUnit) []*writeUnit {
	for len(batch) < maxBatch {
		select {
		case u := <-s.units:
			s.waiting.Add(-1)
			batch = append(batch, u)
		default:
			if s.queued() == 0 {
				return batch
			}
			runtime.Gosched() // let the announced caller reach the channel
		}
	}
	return batch
}

// commit runs first, and every unit that is waiting or arrives while the
// transaction runs, in one transaction, sets each unit's result, and
// returns the units it ran and whether the transaction committed. Units
// that arrive while the batch executes join it rather than wait for its
// commit and then a commit of their own: the batch grows with the load
// (up to maxBatch) at no cost in latency, and one fsync serves them all.
func (s *Store) commit(first *writeUnit) (batch []*writeUnit, committed bool) {
	ctx := context.Background()
	batch = s.gather([]*writeUnit{first})
	fail := func(err error) {
		for _, u := range batch {
			if u.err == nil && u.panicked == nil {
				u.err = err
			}
		}
	}
	sqltx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		fail(err)
		return batch, false
	}
	defer sqltx.Rollback() // after a commit it does nothing
	tx := &wtx{Tx: sqltx, stmts: s.stmts, endpoints: s.endpoints}
	exec := func(q string) bool {
		if strings.HasPrefix(q, "SAVEPOINT") {
			s.stats.savepoints.Add(1)
		}
		if _, err := tx.ExecContext(ctx, q); err != nil {
			fail(err)
			return false
		}
		return true
	}
	// group is the index of the first unit of the open group savepoint,
	// or -1 when none is open.
	group := -1
	endGroup := func() bool {
		if group < 0 {
			return true
		}
		group = -1
		return exec(`RELEASE grp`)
	}
	for i := 0; i < len(batch); i++ {
		u := batch[i]
		switch {
		case u.ctx.Err() != nil:
			u.err = u.ctx.Err() // the caller gave up before its unit started
		case i == 0 && len(batch) == 1:
			// Alone so far: no savepoint. If it fails, so does the
			// transaction, which holds nothing else.
			run(context.WithoutCancel(u.ctx), tx, u)
			if failed(u) {
				return batch, false // the deferred rollback ends it
			}
		case u.rerunnable:
			if group < 0 {
				if !exec(`SAVEPOINT grp`) {
					return batch, false
				}
				group = i
			}
			run(context.WithoutCancel(u.ctx), tx, u)
			if failed(u) {
				// Undo the group and run its other units again, each
				// alone; u's failure stands (it met the state they left).
				s.endpoints.rolledBack()
				if !exec(`ROLLBACK TO grp`) {
					return batch, false
				}
				start := group
				if !endGroup() {
					return batch, false
				}
				for _, v := range batch[start:i] {
					// The group's units all succeeded, but for those whose
					// callers had left before they started.
					if !failed(v) && !s.runInSavepoint(tx, v, exec) {
						return batch, false
					}
				}
			}
		default:
			if !endGroup() || !s.runInSavepoint(tx, u, exec) {
				return batch, false
			}
		}
		if i == len(batch)-1 {
			batch = s.gather(batch)
		}
	}
	if !endGroup() {
		return batch, false
	}
	ok := 0
	for _, u := range batch {
		if !failed(u) {
			ok++
		}
	}
	if ok == 0 {
		return batch, false // nothing to keep: the deferred rollback ends it
	}
	failpoint.Hit(failpoint.BeforeCommit, batchKind(ok))
	if err := tx.Commit(); err != nil {
		fail(err)
		return batch, false
	}
	s.stats.commits.Add(1)
	s.stats.units.Add(int64(ok))
	return batch, true
}

// runInSavepoint runs u in a savepoint of its own, rolled back if u fails.
// It reports false if a savepoint statement failed (exec has then failed
// the batch).
func (s *Store) runInSavepoint(tx *wtx, u *writeUnit, exec func(q string) bool) bool {
	if !exec(`SAVEPOINT unit`) {
		return false
	}
	run(context.WithoutCancel(u.ctx), tx, u)
	if failed(u) {
		s.endpoints.rolledBack()
		if !exec(`ROLLBACK TO unit`) {
			return false
		}
	}
	return exec(`RELEASE unit`)
}

// failed reports whether u's run failed (or was skipped).
func failed(u *writeUnit) bool { return u.err != nil || u.panicked != nil }

// batchKind is the failpoint kind of a batch committing ok units.
func batchKind(ok int) string {
	if ok > 1 {
		return "batch"
	}
	return "single"
}

// prepareNew prepares the statements the last batch ran unprepared, now
// that the writer's connection is free, so that the next batches run them
// prepared.
func (s *Store) prepareNew() {
	for _, q := range s.stmts.wanted {
		if _, ok := s.stmts.byQuery[q]; ok {
			continue
		}
		if len(s.stmts.byQuery) >= maxStmts {
			break
		}
		st, err := s.writer.PrepareContext(context.Background(), q)
		if err != nil {
			continue // it runs unprepared, and fails there if it must
		}
		s.stmts.byQuery[q] = st
	}
	s.stmts.wanted = s.stmts.wanted[:0]
}

// maxStmts bounds the prepared statements kept: queries whose text varies
// (an IN list's length) must not grow the cache without end.
const maxStmts = 512

// stmtCache holds the writer's prepared statements. Only the committer
// goroutine uses it: units run there, and prepareNew runs between batches.
type stmtCache struct {
	byQuery map[string]*sql.Stmt
	wanted  []string
}

func (c *stmtCache) close() {
	for _, st := range c.byQuery {
		st.Close()
	}
}

// wtx is a write transaction of the writer connection that runs the
// statements it has seen before prepared: parsing SQL was a fifth of the
// writer's time.
type wtx struct {
	*sql.Tx
	stmts     *stmtCache
	endpoints *endpointPresence
}

// stmt returns q prepared in this transaction, or nil when it is not
// prepared yet (it is after this batch).
func (t *wtx) stmt(ctx context.Context, q string) *sql.Stmt {
	if st, ok := t.stmts.byQuery[q]; ok {
		return t.Tx.StmtContext(ctx, st)
	}
	t.stmts.wanted = append(t.stmts.wanted, q)
	return nil
}

func (t *wtx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, q, args...)
}

func (t *wtx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, q, args...)
}

func (t *wtx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := t.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, q, args...)
}

// run runs one unit's fn, catching its panic.
func run(ctx context.Context, tx *wtx, u *writeUnit) {
	defer func() {
		if r := recover(); r != nil {
			u.panicked = r
		}
	}()
	u.err = u.fn(ctx, tx)
}
