// Package pgtest gives tests outside the store packages a PostgreSQL store of
// their own: a fresh schema per test in the database named by
// KASSA_TEST_DATABASE_URL, dropped when the test ends.
package pgtest

import (
	"context"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store/postgres"
	"github.com/kassapay/kassa/internal/testskip"
)

// EnvURL names the variable holding the test server's URL.
const EnvURL = "KASSA_TEST_DATABASE_URL"

// URL returns the test server's URL. Without one the test is skipped with a
// loud reason, or fails when KASSA_REQUIRE_POSTGRES is set (as in CI).
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		if os.Getenv("KASSA_REQUIRE_POSTGRES") != "" {
			t.Fatalf("KASSA_REQUIRE_POSTGRES is set but %s is empty", EnvURL)
		}
		testskip.Skip(t, "PostgreSQL tests did not run: set "+EnvURL+" (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)")
	}
	return u
}

// SchemaURL creates a fresh schema and returns a URL whose search_path
// selects it; the schema is dropped when the test ends.
func SchemaURL(t testing.TB) string {
	t.Helper()
	base := URL(t)
	ctx := context.Background()
	schema := "kassa_t_" + strings.ToLower(payment.RandomString(12))
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to %s: %v", EnvURL, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(context.Background())
		// A test that killed a kassa process may leave its server
		// backends finishing a statement for a moment; the drop can
		// deadlock with one of them. Try again while that is what fails.
		for attempt := 1; ; attempt++ {
			_, err := c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			var pe *pgconn.PgError
			if err == nil {
				return
			}
			if attempt == 10 || !errors.As(err, &pe) || pe.Code != "40P01" {
				t.Errorf("drop schema %s: %v", schema, err)
				return
			}
			time.Sleep(time.Duration(attempt) * 50 * time.Millisecond)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open returns a migrated store in a fresh schema, dropped at cleanup.
func Open(t testing.TB) payment.Store {
	t.Helper()
	u := SchemaURL(t)
	st, err := postgres.Open(context.Background(), u, postgres.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	// Cleanups run last-in first-out: the store closes before its schema
	// is dropped.
	t.Cleanup(func() { st.Close() })
	return st
}
