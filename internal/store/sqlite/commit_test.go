package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func openTestStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "kassa.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.write(context.Background(), func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE group_commit_test (n INTEGER NOT NULL)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return s
}

func insertN(n int) func(ctx context.Context, tx *wtx) error {
	return func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO group_commit_test (n) VALUES (?)`, n)
		return err
	}
}

func storedNs(t *testing.T, s *Store) map[int]bool {
	t.Helper()
	rows, err := s.reader.Query(`SELECT n FROM group_commit_test`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[int]bool{}
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		got[n] = true
	}
	return got
}

// holdWriter blocks the committer inside a unit until release is closed,
// so that the writes sent meanwhile queue up and form one batch.
func holdWriter(t *testing.T, s *Store) (release func(), done chan error) {
	t.Helper()
	started, hold := make(chan struct{}), make(chan struct{})
	done = make(chan error, 1)
	go func() {
		done <- s.write(context.Background(), func(ctx context.Context, tx *wtx) error {
			close(started)
			<-hold
			return insertN(-1)(ctx, tx)
		})
	}()
	<-started
	return func() { close(hold) }, done
}

// TestGroupCommitIsolatesUnits: units that queue behind a busy writer are
// committed together, and a unit that fails or panics inside the batch
// rolls back alone while its neighbours commit — whether each unit has a
// savepoint of its own or rerunnable ones share one (then the shared one
// is rolled back and its other units run again: their writes must land
// once, and a unit that may not run twice must not).
func TestGroupCommitIsolatesUnits(t *testing.T) {
	for _, mode := range []string{"own savepoints", "rerunnable", "mixed"} {
		t.Run(mode, func(t *testing.T) {
			s := openTestStore(t)
			release, held := holdWriter(t, s)
			before := s.Stats()
			savepoints := s.stats.savepoints.Load()

			const n = 20
			errs := make([]error, n)
			panics := make([]any, n)
			runs := make([]atomic.Int32, n)
			rerunnable := func(i int) bool { return mode == "rerunnable" || (mode == "mixed" && i%3 != 0) }
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() { panics[i] = recover() }()
					fn := func(ctx context.Context, tx *wtx) error {
						runs[i].Add(1)
						if err := insertN(i)(ctx, tx); err != nil {
							return err
						}
						switch i % 5 {
						case 1:
							return fmt.Errorf("unit %d fails after writing", i)
						case 2:
							panic(fmt.Sprintf("unit %d panics after writing", i))
						}
						return nil
					}
					if rerunnable(i) {
						errs[i] = s.writeRerunnable(context.Background(), fn)
					} else {
						errs[i] = s.write(context.Background(), fn)
					}
				}()
			}
			time.Sleep(200 * time.Millisecond) // all twenty are waiting on the writer
			release()
			if err := <-held; err != nil {
				t.Fatal(err)
			}
			wg.Wait()

			got := storedCounts(t, s)
			for i := range n {
				switch i % 5 {
				case 1:
					if errs[i] == nil || got[i] != 0 {
						t.Errorf("unit %d: err %v, stored %d times; want its error and nothing stored", i, errs[i], got[i])
					}
				case 2:
					if panics[i] == nil || got[i] != 0 {
						t.Errorf("unit %d: panic %v, stored %d times; want its panic raised again and nothing stored", i, panics[i], got[i])
					}
				default:
					if errs[i] != nil || panics[i] != nil || got[i] != 1 {
						t.Errorf("unit %d: err %v, panic %v, stored %d times; want it committed once", i, errs[i], panics[i], got[i])
					}
				}
				if r := runs[i].Load(); r != 1 && !rerunnable(i) {
					t.Errorf("unit %d ran %d times; only rerunnable units may run again", i, r)
				}
			}
			after := s.Stats()
			commits, units := after.Commits-before.Commits, after.Units-before.Units
			if units != 1+n*3/5 {
				t.Errorf("%d units committed, want %d", units, 1+n*3/5)
			}
			// The held unit is one commit; the twenty that queued behind it take
			// far fewer than one each.
			if commits > 4 {
				t.Errorf("%d commits for %d units: the queued writes were not batched", commits, units)
			}
			// Units with savepoints of their own take one each.
			if sp := s.stats.savepoints.Load() - savepoints; mode == "own savepoints" && sp != n {
				t.Errorf("%d savepoints for %d units, want one each", sp, n)
			}
		})
	}
}

// TestGroupCommitSharesSavepoints: rerunnable units that all succeed share
// one savepoint per batch, and each runs once.
func TestGroupCommitSharesSavepoints(t *testing.T) {
	s := openTestStore(t)
	release, held := holdWriter(t, s)
	savepoints := s.stats.savepoints.Load()
	const n = 30
	var runs atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := s.writeRerunnable(context.Background(), func(ctx context.Context, tx *wtx) error {
				runs.Add(1)
				return insertN(i)(ctx, tx)
			}); err != nil {
				t.Error(err)
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	release()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if r := runs.Load(); r != n {
		t.Errorf("%d runs of %d units that all succeed, want one each", r, n)
	}
	if sp := s.stats.savepoints.Load() - savepoints; sp > 2 {
		t.Errorf("%d savepoints for %d rerunnable units in at most two batches", sp, n)
	}
	if got := storedCounts(t, s); len(got) != n+1 {
		t.Errorf("%d values stored, want %d", len(got), n+1)
	}
}

// storedCounts counts the rows of each value of group_commit_test.
func storedCounts(t *testing.T, s *Store) map[int]int {
	t.Helper()
	rows, err := s.reader.Query(`SELECT n, count(*) FROM group_commit_test GROUP BY n`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[int]int{}
	for rows.Next() {
		var n, c int
		if err := rows.Scan(&n, &c); err != nil {
			t.Fatal(err)
		}
		got[n] = c
	}
	return got
}

// TestGroupCommitSkipsCallersWhoLeft: a caller whose context ends while its
// unit waits gets its error, and its unit never runs; the batch goes on.
func TestGroupCommitSkipsCallersWhoLeft(t *testing.T) {
	s := openTestStore(t)
	release, held := holdWriter(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan error, 1)
	go func() { gone <- s.write(ctx, insertN(1)) }()
	stays := make(chan error, 1)
	go func() { stays <- s.write(context.Background(), insertN(2)) }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	release()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Errorf("the caller who left got %v, want context.Canceled", err)
	}
	if err := <-stays; err != nil {
		t.Errorf("its neighbour: %v", err)
	}
	if got := storedNs(t, s); got[1] || !got[2] {
		t.Errorf("stored %v; want 2 and not 1", got)
	}
}

// TestGroupCommitAfterClose: writes after Close fail instead of hanging.
func TestGroupCommitAfterClose(t *testing.T) {
	s := openTestStore(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.write(context.Background(), insertN(1)); !errors.Is(err, errClosed) {
		t.Errorf("write after Close: %v, want errClosed", err)
	}
}

// TestGroupCommitTakesUnitsArrivingMidBatch: a unit sent while a batch is
// executing joins that batch, so both share one commit; and when the
// batch's lone first unit fails, the unit that arrived meanwhile is not
// rolled back with it.
func TestGroupCommitTakesUnitsArrivingMidBatch(t *testing.T) {
	for _, firstFails := range []bool{false, true} {
		t.Run(fmt.Sprintf("first fails %v", firstFails), func(t *testing.T) {
			s := openTestStore(t)
			before := s.Stats()
			started, hold := make(chan struct{}), make(chan struct{})
			first := make(chan error, 1)
			go func() {
				first <- s.write(context.Background(), func(ctx context.Context, tx *wtx) error {
					close(started)
					<-hold
					if err := insertN(1)(ctx, tx); err != nil {
						return err
					}
					if firstFails {
						return errors.New("the first unit fails after writing")
					}
					return nil
				})
			}()
			<-started // the batch is executing its only unit
			second := make(chan error, 1)
			go func() { second <- s.write(context.Background(), insertN(2)) }()
			for s.queued() == 0 {
				time.Sleep(time.Millisecond) // until the second unit waits for the committer
			}
			close(hold)
			if err := <-first; (err != nil) != firstFails {
				t.Fatalf("first unit: %v", err)
			}
			if err := <-second; err != nil {
				t.Fatalf("second unit: %v", err)
			}
			got := storedNs(t, s)
			if got[1] == firstFails || !got[2] {
				t.Errorf("stored %v; want 2, and 1 only if it did not fail", got)
			}
			after := s.Stats()
			commits, units := after.Commits-before.Commits, after.Units-before.Units
			if !firstFails && (commits != 1 || units != 2) {
				t.Errorf("%d commits for %d units; want the unit that arrived mid-batch in the same commit", commits, units)
			}
			if firstFails && (commits != 1 || units != 1) {
				t.Errorf("%d commits for %d units; want the second unit committed alone", commits, units)
			}
		})
	}
}
