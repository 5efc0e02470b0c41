package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// readCache runs the read pool's plain queries as prepared statements,
// one per query text, kept for the store's life: modernc.org/sqlite
// parses and compiles a statement on every call otherwise, which was
// most of the cost of the payment method read every purchase makes. A
// *sql.Stmt of the pool is prepared on each connection as it is first
// used there, and is safe for concurrent use.
type readCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func newReadCache(db *sql.DB) *readCache { return &readCache{db: db, m: map[string]*sql.Stmt{}} }

// stmt returns q prepared, or nil when it cannot be (the cache is full:
// query texts that vary, such as IN lists, must not grow it without end).
func (c *readCache) stmt(ctx context.Context, q string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[q]; ok {
		return st
	}
	if len(c.m) >= maxStmts {
		return nil
	}
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil // run unprepared, where the error shows
	}
	c.m[q] = st
	return st
}

func (c *readCache) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return c.db.ExecContext(ctx, q, args...) // the read pool is query_only
}

func (c *readCache) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := c.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.db.QueryContext(ctx, q, args...)
}

func (c *readCache) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := c.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.db.QueryRowContext(ctx, q, args...)
}

// close closes the cached statements.
func (c *readCache) close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var first error
	for q, st := range c.m {
		if err := st.Close(); err != nil && first == nil {
			first = err
		}
		delete(c.m, q)
	}
	return first
}
