// Package sqlite implements payment.Store on an embedded SQLite database
// (modernc.org/sqlite, pure Go): kassa's default storage.
//
// The database runs in WAL mode with synchronous=FULL. All writes go through
// one connection whose transactions start with BEGIN IMMEDIATE, so a
// read-modify-write never loses a race and never fails half-way with
// SQLITE_BUSY; reads use a separate pool of read-only connections, which WAL
// lets run beside the writer. secure_delete is on, so a redacted ciphertext
// is overwritten in the database file, not merely unlinked from the b-tree.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

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

// busyTimeout is how long a connection waits for another process's lock
// before it gives up with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// Options tune a Store. The zero value is ready to use.
type Options struct {
	// Logger receives migration and maintenance messages; nil discards
	// them.
	Logger *slog.Logger
	// ReadConns is the size of the read pool; 0 means 4.
	ReadConns int
	// Now is the clock used to stamp applied migrations; nil means
	// time.Now. Every other time is given by the caller.
	Now func() time.Time
	// Driver is the database/sql driver name to open the file with; ""
	// means modernc.org/sqlite's "sqlite". Tests register a wrapper of it
	// to see every statement the store sends.
	Driver string
}

// Store is a payment.Store on one SQLite database file.
type Store struct {
	// writer has exactly one connection; every write and every
	// read-modify-write transaction runs on it (BEGIN IMMEDIATE).
	writer *sql.DB
	// reader is a pool of query_only connections for plain reads; reads
	// runs its single queries prepared.
	reader *sql.DB
	reads  *readCache
	log    *slog.Logger
	now    func() time.Time

	// The group committer (commit.go) owns the writer connection's
	// transactions.
	units     chan *writeUnit
	stop      chan struct{}
	stopped   chan struct{}
	stats     writeStats
	waiting   atomic.Int32 // units announced and not yet taken by the committer (or withdrawn)
	stmts     *stmtCache
	endpoints *endpointPresence
	closeOnce sync.Once
}

var _ payment.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path, creating its
// directory with mode 0700 and the file with mode 0600, and migrates it to
// the newest schema.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") || path == ":memory:" {
		return nil, fmt.Errorf("sqlite: invalid database path %q", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: create data directory: %w", err)
	}
	// SQLite would create the file with the umask's mode (usually 0644);
	// create it first so it is private. Its -wal and -shm files inherit
	// the mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: create database file: %w", err)
	}
	fi, err := f.Stat()
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("sqlite: create database file: %w", err)
	}

	s := &Store{log: opts.Logger, now: opts.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if fi.Mode().Perm()&0o077 != 0 {
		s.log.LogAttrs(ctx, slog.LevelWarn, "database file is readable by other users; it holds encrypted card data",
			slog.String("path", path), slog.String("mode", fi.Mode().Perm().String()))
	}

	busy := fmt.Sprintf("_pragma=busy_timeout(%d)", busyTimeout.Milliseconds())
	// busy_timeout must come before journal_mode: switching to WAL takes a
	// lock another process may hold.
	driver := opts.Driver
	if driver == "" {
		driver = "sqlite"
	}
	s.writer, err = sql.Open(driver, path+"?"+strings.Join([]string{
		busy,
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(FULL)",
		"_pragma=foreign_keys(ON)",
		"_pragma=secure_delete(ON)",
		// Statement and savepoint journals (group commit runs each unit
		// in a savepoint) stay in memory instead of temporary files.
		"_pragma=temp_store(MEMORY)",
		"_txlock=immediate",
	}, "&"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	s.writer.SetMaxOpenConns(1)
	s.writer.SetMaxIdleConns(1)
	s.writer.SetConnMaxLifetime(0)
	s.writer.SetConnMaxIdleTime(0)
	// Connect the writer first, so the file is in WAL mode before any
	// reader opens it.
	if err := connect(ctx, s.writer); err != nil {
		s.writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}

	s.reader, err = sql.Open(driver, path+"?"+strings.Join([]string{
		busy,
		"_pragma=foreign_keys(ON)",
		"_pragma=query_only(ON)",
	}, "&"))
	if err != nil {
		s.writer.Close()
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	n := opts.ReadConns
	if n <= 0 {
		n = 4
	}
	s.reads = newReadCache(s.reader)
	s.reader.SetMaxOpenConns(n)
	s.reader.SetMaxIdleConns(n)

	s.units, s.stop, s.stopped = make(chan *writeUnit), make(chan struct{}), make(chan struct{})
	s.stmts = &stmtCache{byQuery: map[string]*sql.Stmt{}}
	s.endpoints = newEndpointPresence()
	go s.runCommitter()
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// connect opens db's first connection. Processes opening a new database
// at once may find each other converting it to WAL mode; SQLite then
// reports SQLITE_BUSY at once rather than wait (waiting could deadlock), so
// connect retries for as long as busyTimeout.
func connect(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(busyTimeout)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		err := db.PingContext(ctx)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Migrate applies the embedded migrations the database lacks. Several
// processes may run it at once: each migration is one BEGIN IMMEDIATE
// transaction that first checks whether another process applied it.
func (s *Store) Migrate(ctx context.Context) error {
	n, err := store.Migrate(ctx, migrator{s.writer}, Migrations(), s.now, s.log)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if n > 0 {
		// New tables and indexes: let the planner know them.
		if _, err := s.writer.ExecContext(ctx, `PRAGMA optimize=0x10002`); err != nil {
			return fmt.Errorf("sqlite: optimize after migrating: %w", err)
		}
	}
	return nil
}

// RefreshStatistics lets SQLite analyse the tables whose statistics have
// fallen behind (PRAGMA optimize, which analyses a table once it has grown
// many times over since its last analysis, reading at most a bounded
// sample of each index), so that plans chosen while the database was
// small do not stay as it grows. It runs as a unit of the writer, like
// any write. It names no tables: SQLite does not say which it analysed.
func (s *Store) RefreshStatistics(ctx context.Context) ([]string, error) {
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `PRAGMA analysis_limit=1000`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `PRAGMA optimize`)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: refresh statistics: %w", err)
	}
	return nil, nil
}

type migrator struct{ db *sql.DB }

func (m migrator) AppliedVersions(ctx context.Context) ([]int, error) {
	if _, err := m.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return nil, err
	}
	rows, err := m.db.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	return vs, rows.Err()
}

func (m migrator) Apply(ctx context.Context, mig store.Migration, appliedAt time.Time) (applied bool, err error) {
	err = inTx(ctx, m.db, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, mig.Version).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, mig.SQL); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			mig.Version, mig.Name, micros(appliedAt)); err != nil {
			return err
		}
		applied = true
		return nil
	})
	return applied, err
}

// Ping reports whether the database file can be read.
func (s *Store) Ping(ctx context.Context) error {
	var n int
	if err := s.reads.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Close stops the group committer (after the batch it is committing) and
// closes both connection pools. Writes after Close fail.
func (s *Store) Close() error {
	if s.stop != nil {
		s.closeOnce.Do(func() { close(s.stop) })
		<-s.stopped
	}
	return errors.Join(s.reads.close(), s.reader.Close(), s.writer.Close())
}

// checkpoint copies the WAL into the database file and truncates the WAL,
// so that page images holding destroyed ciphertexts leave the WAL file as
// well. It is best effort: with a long reader open it may not complete, and
// the next checkpoint finishes the job.
func (s *Store) checkpoint(ctx context.Context) {
	var busy, logFrames, checkpointed int
	err := s.writer.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &checkpointed)
	if err == nil && busy != 0 {
		err = errors.New("readers still use the WAL")
	}
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "sqlite checkpoint after redaction incomplete", slog.String("error", err.Error()))
	}
}

func inTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	// Deferred, so that a panicking fn (an update function's bug) does not
	// leave the writer's only connection inside a transaction. After a
	// commit it does nothing.
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// translate turns SQLite's uniqueness and foreign-key violations into
// payment errors; accountID names the account a foreign key points to.
func translate(err error, accountID string) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return store.Conflict(err)
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		nf := payment.NotFound("account", accountID)
		nf.Err = err
		return nf
	}
	return err
}

// micros is how times are stored: microseconds since the Unix epoch.
func micros(t time.Time) int64 { return t.UnixMicro() }

func microsPtr(t *time.Time) sql.Null[int64] {
	if t == nil {
		return sql.Null[int64]{}
	}
	return sql.Null[int64]{V: t.UnixMicro(), Valid: true}
}

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func fromMicrosPtr(v sql.Null[int64]) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.V)
	return &t
}

// fail wraps a backend error with the operation's name; payment errors
// (not found, conflict, or an update function's own error) pass unchanged.
func fail(op string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := payment.AsError(err); ok {
		return err
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}
