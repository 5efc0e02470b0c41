package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// Migration is one numbered schema change of a backend.
type Migration struct {
	Version int
	Name    string // "init" for 0001_init.sql
	SQL     string
}

// ErrSchemaTooNew is returned by Migrate when the database holds a migration
// this binary does not know: a newer kassa has migrated it, and running an
// older one against it could corrupt data.
var ErrSchemaTooNew = errors.New("store: database schema is newer than this kassa binary")

var migrationName = regexp.MustCompile(`^([0-9]{4})_([a-z0-9_]+)\.sql$`)

// LoadMigrations reads the migrations in the root of fsys: files named
// NNNN_name.sql, numbered from 0001 without gaps. Other files are an error,
// so a misnamed migration is never silently skipped.
func LoadMigrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("store: read migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			return nil, fmt.Errorf("store: %q is not a migration (want NNNN_name.sql)", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		b, err := fs.ReadFile(fsys, path.Clean(e.Name()))
		if err != nil {
			return nil, fmt.Errorf("store: read migration %s: %w", e.Name(), err)
		}
		ms = append(ms, Migration{Version: v, Name: m[2], SQL: string(b)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("store: migration %04d_%s: want version %04d (versions start at 1, without gaps or repeats)", m.Version, m.Name, i+1)
		}
	}
	return ms, nil
}

// Migrator is a backend's side of Migrate.
type Migrator interface {
	// AppliedVersions creates the schema_migrations table if it is missing
	// and returns the versions recorded in it.
	AppliedVersions(ctx context.Context) ([]int, error)
	// Apply runs m.SQL and records m as applied at appliedAt, in one
	// transaction. It returns false, and changes nothing, if m is already
	// recorded when that transaction starts (another process applied it).
	Apply(ctx context.Context, m Migration, appliedAt time.Time) (bool, error)
}

// Migrate applies the migrations of fsys (see LoadMigrations) that the
// database has not recorded, in order, each in its own transaction, and
// returns how many it applied. It returns ErrSchemaTooNew, applying nothing,
// if the database records a version this binary does not know.
//
// Migrate does not serialise concurrent callers by itself: the backend
// either holds a lock around it (PostgreSQL) or makes each Apply exclusive
// (SQLite's single writer), and Apply skips what another process applied.
func Migrate(ctx context.Context, db Migrator, fsys fs.FS, now func() time.Time, log *slog.Logger) (int, error) {
	ms, err := LoadMigrations(fsys)
	if err != nil {
		return 0, err
	}
	applied, err := db.AppliedVersions(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: read applied migrations: %w", err)
	}
	done := make(map[int]bool, len(applied))
	for _, v := range applied {
		if v > len(ms) {
			return 0, fmt.Errorf("%w: it has migration %04d, this binary knows up to %04d", ErrSchemaTooNew, v, len(ms))
		}
		if v < 1 {
			return 0, fmt.Errorf("store: schema_migrations holds invalid version %d", v)
		}
		done[v] = true
	}
	n := 0
	for _, m := range ms {
		if done[m.Version] {
			continue
		}
		ok, err := db.Apply(ctx, m, now().UTC())
		if err != nil {
			return n, fmt.Errorf("store: migration %04d_%s: %w", m.Version, m.Name, err)
		}
		if ok {
			n++
			log.LogAttrs(ctx, slog.LevelInfo, "applied migration",
				slog.Int("version", m.Version), slog.String("name", m.Name))
		}
	}
	return n, nil
}
