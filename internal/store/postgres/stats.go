package postgres

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// Stats counts what the store asked of the server since Open: statements,
// round trips (a batch of statements is one) and commits of writes — each
// a WAL flush the request waits for: an explicit COMMIT, or a write sent
// outside a transaction block (a single statement, or a batch without
// BEGIN, which the server runs as one implicit transaction). They are
// counted as sent, by a pgx tracer, not estimated: `kassa bench` reports
// them per purchase.
type Stats struct {
	Statements, RoundTrips, Commits int64
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	return Stats{Statements: s.counts.statements.Load(), RoundTrips: s.counts.roundTrips.Load(), Commits: s.counts.commits.Load()}
}

// counter is the store's own tracer; it passes every event on to next
// (Options.Tracer), if set.
type counter struct {
	statements, roundTrips, commits atomic.Int64
	next                            pgx.QueryTracer
}

func (c *counter) statement(sql string) {
	c.statements.Add(1)
	if len(sql) <= 8 && strings.EqualFold(strings.TrimSpace(sql), "commit") {
		c.commits.Add(1)
	}
}

// writes reports whether sql changes data: an INSERT, UPDATE or DELETE,
// also inside a WITH.
func writes(sql string) bool {
	t := strings.ToLower(strings.TrimSpace(sql))
	for _, verb := range []string{"insert", "update", "delete"} {
		if strings.HasPrefix(t, verb) || (strings.HasPrefix(t, "with") && strings.Contains(t, verb+" ")) {
			return true
		}
	}
	return false
}

// begins reports whether sql opens a transaction block.
func begins(sql string) bool {
	t := strings.TrimSpace(sql)
	return len(t) >= 5 && strings.EqualFold(t[:5], "begin")
}

// idle reports whether conn is outside a transaction block, where each
// statement (or batch) the server gets is a transaction of its own.
func idle(conn *pgx.Conn) bool { return conn != nil && conn.PgConn().TxStatus() == 'I' }

func (c *counter) TraceQueryStart(ctx context.Context, conn *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.roundTrips.Add(1)
	c.statement(d.SQL)
	if idle(conn) && writes(d.SQL) {
		c.commits.Add(1)
	}
	if c.next != nil {
		return c.next.TraceQueryStart(ctx, conn, d)
	}
	return ctx
}

func (c *counter) TraceQueryEnd(ctx context.Context, conn *pgx.Conn, d pgx.TraceQueryEndData) {
	if c.next != nil {
		c.next.TraceQueryEnd(ctx, conn, d)
	}
}

func (c *counter) TraceBatchStart(ctx context.Context, conn *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	c.roundTrips.Add(1)
	if b := d.Batch; b != nil && len(b.QueuedQueries) > 0 && idle(conn) && !begins(b.QueuedQueries[0].SQL) &&
		slices.ContainsFunc(b.QueuedQueries, func(q *pgx.QueuedQuery) bool { return writes(q.SQL) }) {
		c.commits.Add(1) // one implicit transaction
	}
	if bt, ok := c.next.(pgx.BatchTracer); ok {
		return bt.TraceBatchStart(ctx, conn, d)
	}
	return ctx
}

func (c *counter) TraceBatchQuery(ctx context.Context, conn *pgx.Conn, d pgx.TraceBatchQueryData) {
	c.statement(d.SQL)
	if bt, ok := c.next.(pgx.BatchTracer); ok {
		bt.TraceBatchQuery(ctx, conn, d)
	}
}

func (c *counter) TraceBatchEnd(ctx context.Context, conn *pgx.Conn, d pgx.TraceBatchEndData) {
	if bt, ok := c.next.(pgx.BatchTracer); ok {
		bt.TraceBatchEnd(ctx, conn, d)
	}
}
