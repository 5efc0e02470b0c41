// Package postgres implements payment.Store on PostgreSQL (pgx), for
// several kassa processes sharing one database.
//
// Read-modify-write methods lock the rows they change with SELECT … FOR
// UPDATE inside a transaction; background sweeps (expiry, rewrapping) take
// rows with SKIP LOCKED or in key order so that processes running them at
// once neither block each other for long nor do the work twice. Migrations
// run under an advisory lock, so processes starting together migrate once.
//
// The schema lives in the first schema of the connection's search_path,
// which may be set in the URL (…?search_path=kassa).
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded schema migrations.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the directory is embedded: cannot happen
	}
	return sub
}

// Options tune a Store. The zero value is ready to use.
type Options struct {
	// Logger receives migration and maintenance messages; nil discards
	// them.
	Logger *slog.Logger
	// MaxConns bounds the connection pool; 0 means the URL's
	// pool_max_conns, or else pgxpool's default (the larger of 4 and
	// the number of CPUs).
	MaxConns int
	// Tracer, if set, sees every statement the store sends (tests record
	// them to check their plans). It must also be a pgx.BatchTracer to see
	// the statements sent in batches.
	Tracer pgx.QueryTracer
	// Now is the clock used to stamp applied migrations; nil means
	// time.Now. Every other time is given by the caller.
	Now func() time.Time
}

// Store is a payment.Store on a PostgreSQL database.
type Store struct {
	pool   *pgxpool.Pool
	log    *slog.Logger
	now    func() time.Time
	counts *counter
}

var _ payment.Store = (*Store)(nil)

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string), checks that it answers and migrates it to the newest
// schema.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url) // accepts pool_max_conns and friends
	if err != nil {
		// pgconn redacts the password in this error.
		return nil, fmt.Errorf("postgres: parse database URL: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = int32(opts.MaxConns)
	}
	counts := &counter{next: opts.Tracer}
	cfg.ConnConfig.Tracer = counts
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{pool: pool, log: opts.Logger, now: opts.Now, counts: counts}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// migrationLockClass is the first key of the advisory lock held while
// migrating ("kass" in ASCII); the second is a hash of the schema name, so
// schemas of one database migrate independently.
const migrationLockClass = 0x6b617373

// Migrate applies the embedded migrations the database lacks. It holds a
// session advisory lock meanwhile, so processes starting at once wait for
// each other and the later ones find nothing to do.
func (s *Store) Migrate(ctx context.Context) error {
	err := s.with(ctx, func(c *pgx.Conn) error {
		const key = `$1::int4, hashtext(coalesce(current_schema(), ''))`
		if _, err := c.Exec(ctx, `SELECT pg_advisory_lock(`+key+`)`, migrationLockClass); err != nil {
			return fmt.Errorf("take migration lock: %w", err)
		}
		defer func() {
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if _, err := c.Exec(uctx, `SELECT pg_advisory_unlock(`+key+`)`, migrationLockClass); err != nil {
				// Closing the session releases the lock.
				c.Close(uctx)
			}
		}()
		n, err := store.Migrate(ctx, migrator{c}, Migrations(), s.now, s.log)
		if err != nil || n == 0 {
			return err
		}
		// New tables and indexes get statistics now rather than when
		// autovacuum (which a server may run rarely, or not at all) gets
		// to them: without them the planner may walk an account's
		// operations where one payment's would do.
		rows, err := c.Query(ctx, `SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema()`)
		if err != nil {
			return fmt.Errorf("analyze after migrating: %w", err)
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("analyze after migrating: %w", err)
		}
		if _, err := c.Exec(ctx, `ANALYZE `+strings.Join(tables, ", ")); err != nil {
			return fmt.Errorf("analyze after migrating: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}

// statsLockClass is the first key of the advisory lock one process holds
// while it refreshes statistics (RefreshStatistics), so that several
// kassa processes on one database do not all analyse the same tables.
const statsLockClass = 0x6b617373 // "kass"

// RefreshStatistics analyses the tables of kassa's schema whose
// statistics lag their contents by as much as autovacuum's own rule
// tolerates (50 rows plus 10 % changed since the last analysis), and
// returns their names. A server may run autovacuum rarely or not at all;
// with statistics from when a table was small, the planner may walk an
// account's payments where one payment's row would do, and every request
// gets slower as the account grows. Only one process analyses at a time;
// the others return at once.
func (s *Store) RefreshStatistics(ctx context.Context) ([]string, error) {
	var analysed []string
	err := s.with(ctx, func(c *pgx.Conn) error {
		var got bool
		if err := c.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, 1)`, statsLockClass).Scan(&got); err != nil {
			return err
		}
		if !got {
			return nil
		}
		defer func() {
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if _, err := c.Exec(uctx, `SELECT pg_advisory_unlock($1, 1)`, statsLockClass); err != nil {
				c.Close(uctx) // closing the session releases the lock
			}
		}()
		rows, err := c.Query(ctx, `SELECT quote_ident(relname) FROM pg_stat_user_tables
			WHERE schemaname = current_schema() AND n_mod_since_analyze > 50 + 0.1 * GREATEST(n_live_tup, 0)
			ORDER BY relname`)
		if err != nil {
			return err
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, t := range tables {
			if _, err := c.Exec(ctx, `ANALYZE `+t); err != nil {
				return err
			}
			analysed = append(analysed, t)
		}
		return nil
	})
	if err != nil {
		return analysed, fmt.Errorf("postgres: refresh statistics: %w", err)
	}
	return analysed, nil
}

type migrator struct{ c *pgx.Conn }

func (m migrator) AppliedVersions(ctx context.Context) ([]int, error) {
	if _, err := m.c.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer     NOT NULL PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL
	)`); err != nil {
		return nil, err
	}
	rows, err := m.c.Query(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int])
}

func (m migrator) Apply(ctx context.Context, mig store.Migration, appliedAt time.Time) (applied bool, err error) {
	err = pgx.BeginFunc(ctx, m.c, func(tx pgx.Tx) error {
		var done bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, mig.Version).Scan(&done); err != nil {
			return err
		}
		if done {
			return nil
		}
		if _, err := tx.Exec(ctx, mig.SQL); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			mig.Version, mig.Name, appliedAt); err != nil {
			return err
		}
		applied = true
		return nil
	})
	return applied, err
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	err := s.with(ctx, func(c *pgx.Conn) error { return c.Ping(ctx) })
	if err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close closes the store's connections.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// with runs fn on a pooled connection. A connection fn closes is dropped
// from the pool.
func (s *Store) with(ctx context.Context, fn func(*pgx.Conn) error) error {
	return s.pool.AcquireFunc(ctx, func(c *pgxpool.Conn) error { return fn(c.Conn()) })
}

// querier is what *pgx.Conn and pgx.Tx have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// withConn runs fn on a pooled connection, outside any transaction.
func (s *Store) withConn(ctx context.Context, fn func(q querier) error) error {
	return s.with(ctx, func(c *pgx.Conn) error { return fn(c) })
}

// inTx runs fn in a transaction, committed when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return s.with(ctx, func(c *pgx.Conn) error { return pgx.BeginFunc(ctx, c, fn) })
}

// sendBatch sends b in one round trip and reads its results, running the
// functions queued with its queries. Outside a transaction block (and b
// must not open one) PostgreSQL runs a batch as one implicit transaction:
// if a statement fails, those before it are rolled back and those after it
// skipped, so b is written entirely or not at all.
func (s *Store) sendBatch(ctx context.Context, b *pgx.Batch) error {
	return s.with(ctx, func(c *pgx.Conn) error { return c.SendBatch(ctx, b).Close() })
}

// inBatchTx is inTx for a transaction whose first queries go with its
// BEGIN, in one round trip: b must begin with pgx.Batch.BeginTx. Once b's
// results are read (running the functions queued with its queries) and
// none failed, fn runs in the transaction, which is committed when fn
// returns nil and rolled back otherwise.
func (s *Store) inBatchTx(ctx context.Context, b *pgx.Batch, fn func(tx pgx.Tx) error) error {
	return s.with(ctx, func(c *pgx.Conn) (err error) {
		br := c.SendBatch(ctx, b)
		tx := br.Tx()
		defer func() {
			// Also on a panic of fn. A transaction that was committed, or
			// never begun, is closed.
			if rerr := tx.Rollback(ctx); rerr != nil && !errors.Is(rerr, pgx.ErrTxClosed) && err == nil {
				err = rerr
			}
		}()
		if err := br.Close(); err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
}

// inTwoTrips runs a transaction in two round trips: first (which must
// begin with pgx.Batch.BeginTx) is sent and its results read; then more
// queues the rest of the transaction's writes, which are sent with its
// COMMIT. If more fails, or a statement does, the transaction is rolled
// back. An error of the second trip may come from the COMMIT, whose
// outcome is then unknown, as with any commit whose answer is lost.
func (s *Store) inTwoTrips(ctx context.Context, first *pgx.Batch, more func(b *pgx.Batch) error) error {
	return s.with(ctx, func(c *pgx.Conn) (err error) {
		defer func() {
			// A failed statement skips the COMMIT and leaves the
			// transaction open (also on a panic of more).
			if c.PgConn().TxStatus() != 'I' {
				if _, rerr := c.Exec(ctx, "rollback"); rerr != nil && err == nil {
					err = rerr
				}
			}
		}()
		if err := c.SendBatch(ctx, first).Close(); err != nil {
			return err
		}
		second := &pgx.Batch{}
		if err := more(second); err != nil {
			return err
		}
		second.Queue(`COMMIT`)
		return c.SendBatch(ctx, second).Close()
	})
}

// inSnapshot sends the queries queue puts in a batch in one round trip, in
// a read-only REPEATABLE READ transaction begun and committed in the same
// batch, so that they see one snapshot, and reads their results.
func (s *Store) inSnapshot(ctx context.Context, queue func(b *pgx.Batch)) error {
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	queue(b)
	b.Queue(`COMMIT`)
	return s.with(ctx, func(c *pgx.Conn) error {
		br := c.SendBatch(ctx, b)
		err := br.Close()
		// A failed statement skips the COMMIT and leaves the transaction
		// open; otherwise it is closed already.
		if rerr := br.Tx().Rollback(ctx); rerr != nil && !errors.Is(rerr, pgx.ErrTxClosed) && err == nil {
			err = rerr
		}
		return err
	})
}

// PostgreSQL error codes the store translates.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

// translate turns uniqueness and foreign-key violations into payment
// errors; accountID names the account a foreign key points to.
func translate(err error, accountID string) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case uniqueViolation:
		return store.Conflict(err)
	case foreignKeyViolation:
		nf := payment.NotFound("account", accountID)
		nf.Err = err
		return nf
	}
	return err
}

// fail wraps a backend error with the operation's name; payment errors
// (not found, conflict) pass unchanged.
func fail(op string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := payment.AsError(err); ok {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == characterNotInRepertoire || pe.Code == untranslatableCharacter) {
		// A NUL or invalid UTF-8 in an id or a filter: SQLite stores and
		// compares such strings, PostgreSQL refuses them. Nothing stored
		// holds one, so what was asked for does not exist.
		return &payment.Error{Kind: payment.KindNotFound, Code: payment.CodeResourceMissing,
			Message: "No such object: the request holds a NUL or invalid UTF-8 character.", Err: err}
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// SQLSTATEs of text PostgreSQL cannot hold.
const (
	characterNotInRepertoire = "22021" // invalid UTF-8
	untranslatableCharacter  = "22P05" // NUL in text
)

// ts is how a time is sent: UTC, microseconds (PostgreSQL's precision).
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func tsPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := ts(*t)
	return &v
}

// utc normalises a time read back (pgx returns timestamptz in time.Local).
func utc(t time.Time) time.Time { return t.UTC() }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}
