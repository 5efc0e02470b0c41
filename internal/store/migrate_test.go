package store

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// fakeDB records applied migrations in memory.
type fakeDB struct {
	applied   []int
	ran       []string
	failOn    int
	appliedAt []time.Time
}

func (f *fakeDB) AppliedVersions(ctx context.Context) ([]int, error) {
	return slices.Clone(f.applied), nil
}

func (f *fakeDB) Apply(ctx context.Context, m Migration, at time.Time) (bool, error) {
	if m.Version == f.failOn {
		return false, errors.New("syntax error")
	}
	if slices.Contains(f.applied, m.Version) {
		return false, nil
	}
	f.applied = append(f.applied, m.Version)
	f.ran = append(f.ran, m.SQL)
	f.appliedAt = append(f.appliedAt, at)
	return true, nil
}

func files(names ...string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for _, n := range names {
		fsys[n] = &fstest.MapFile{Data: []byte("-- " + n)}
	}
	return fsys
}

var quiet = slog.New(slog.DiscardHandler)

func TestLoadMigrations(t *testing.T) {
	ms, err := LoadMigrations(files("0002_add_things.sql", "0001_init.sql", "0003_x9.sql"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.Name)
		if m.SQL != "-- "+[]string{"", "0001_init.sql", "0002_add_things.sql", "0003_x9.sql"}[m.Version] {
			t.Errorf("migration %d has SQL %q", m.Version, m.SQL)
		}
	}
	if !slices.Equal(got, []string{"init", "add_things", "x9"}) {
		t.Errorf("names in order = %v", got)
	}

	for _, bad := range []fstest.MapFS{
		files("0001_init.sql", "0003_gap.sql"),
		files("0002_no_first.sql"),
		files("0001_init.sql", "0001_again.sql"),
		files("0001_init.sql", "README.md"),
		files("1_short.sql"),
		files("0001_Upper.sql"),
		files("0001_init.sql.bak"),
	} {
		if _, err := LoadMigrations(bad); err == nil {
			t.Errorf("LoadMigrations(%v) succeeded", keys(bad))
		}
	}
}

func keys(fsys fstest.MapFS) []string {
	var ks []string
	for k := range fsys {
		ks = append(ks, k)
	}
	return ks
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 3600))
	clock := func() time.Time { return now }
	fsys := files("0001_init.sql", "0002_more.sql", "0003_most.sql")

	db := &fakeDB{applied: []int{1}}
	n, err := Migrate(ctx, db, fsys, clock, quiet)
	if err != nil || n != 2 {
		t.Fatalf("Migrate = %d, %v; want 2", n, err)
	}
	if !slices.Equal(db.ran, []string{"-- 0002_more.sql", "-- 0003_most.sql"}) {
		t.Errorf("ran %v", db.ran)
	}
	if db.appliedAt[0] != now.UTC() {
		t.Errorf("applied at %v, want %v", db.appliedAt[0], now.UTC())
	}
	if n, err := Migrate(ctx, db, fsys, clock, quiet); err != nil || n != 0 {
		t.Errorf("second Migrate = %d, %v; want 0", n, err)
	}

	newer := &fakeDB{applied: []int{1, 2, 3, 4}}
	if _, err := Migrate(ctx, newer, fsys, clock, quiet); !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("Migrate of a newer database: err = %v, want ErrSchemaTooNew", err)
	}
	if len(newer.ran) != 0 {
		t.Errorf("Migrate of a newer database ran %v", newer.ran)
	}

	failing := &fakeDB{failOn: 2}
	n, err = Migrate(ctx, failing, fsys, clock, quiet)
	if err == nil || !strings.Contains(err.Error(), "0002_more") || n != 1 {
		t.Errorf("Migrate with a failing migration = %d, %v; want 1 and an error naming 0002_more", n, err)
	}
	if !slices.Equal(failing.applied, []int{1}) {
		t.Errorf("applied %v after a failure, want [1]", failing.applied)
	}
}

func TestPageLimit(t *testing.T) {
	for in, want := range map[int]int{-5: 10, 0: 10, 1: 1, 10: 10, 99: 99, 100: 100, 101: 100, 1 << 30: 100} {
		if got := PageLimit(in); got != want {
			t.Errorf("PageLimit(%d) = %d, want %d", in, got, want)
		}
	}
}
