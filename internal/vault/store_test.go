package vault

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/kassapay/kassa/internal/store/sqlite"
)

// newStore opens a fresh SQLite store in a temporary directory.
func newStore(t testing.TB) testStore {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "kassa.db"), sqlite.Options{})
	if err != nil {
		t.Fatalf("open sqlite store: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return st
}
