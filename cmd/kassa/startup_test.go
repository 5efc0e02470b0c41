package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kassapay/kassa/client"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store/pgtest"
)

// serveFails runs kassa serve and returns the error it stops with; it
// fails the test if the server starts listening instead.
func serveFails(t *testing.T, dataDir string, getenv func(string) string, extra ...string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut syncBuffer
	m := &Main{Stdout: &out, Stderr: &errOut, Getenv: getenv, OnListen: func(name, addr string) {
		t.Errorf("kassa serve started (%s on %s) where it must refuse", name, addr)
		cancel()
	}}
	err := m.Run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir}, extra...))
	if err == nil {
		t.Fatal("kassa serve stopped without an error")
	}
	return err
}

func wantErrorSays(t *testing.T, err error, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not say %q", err, p)
		}
	}
}

// TestRefusesAMasterKeyThatDoesNotOpenTheDatabase: a database holds data
// keys sealed under its master key. Started with another key, or with none
// (where it would generate a fresh development key), kassa refuses to
// start and says what to do, instead of answering every card call with an
// error.
func TestRefusesAMasterKeyThatDoesNotOpenTheDatabase(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, env(nil))
	key := s.bootstrapKey(t)
	pm, err := client.New(s.URL, key).CreatePaymentMethod(context.Background(), card("4111111111111111", "123"))
	if err != nil {
		t.Fatal(err) // the account's card data key now exists
	}
	s.Stop(t)

	raw := make([]byte, 32)
	rand.Read(raw)
	other := "kek 1 " + base64.StdEncoding.EncodeToString(raw) + "\n"
	err = serveFails(t, dir, env(map[string]string{"KASSA_MASTER_KEY": other}))
	wantErrorSays(t, err, "does not open", "--master-key-file or KASSA_MASTER_KEY")

	devKey := filepath.Join(dir, "master.key")
	saved, err := os.ReadFile(devKey)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(devKey)
	err = serveFails(t, dir, env(nil))
	wantErrorSays(t, err, "already holds data keys", "will not generate")
	if _, err := os.Stat(devKey); err == nil {
		t.Error("kassa generated a development key next to a database with data keys")
	}

	// With its own key it starts, and the card opens.
	if err := os.WriteFile(devKey, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	s = startServer(t, dir, env(nil))
	if _, err := client.New(s.URL, key).PaymentMethod(context.Background(), pm.ID); err != nil {
		t.Fatalf("with its own master key: %v", err)
	}
}

// TestOneServerPerDataDirectory: a second kassa serve on a SQLite data
// directory in use refuses to start, naming PostgreSQL as the way to run
// several processes.
func TestOneServerPerDataDirectory(t *testing.T) {
	dir := t.TempDir()
	startServer(t, dir, env(nil))
	err := serveFails(t, dir, env(nil))
	wantErrorSays(t, err, "another kassa serve", "PostgreSQL")
}

// newDatabaseURL returns the test server's URL with its database changed to
// a new name that no database has yet, and drops that database, if one was
// made, when the test ends (after the servers it started, whose cleanups
// run first). The name needs quoting: upper case and a hyphen.
func newDatabaseURL(t *testing.T) (dbURL, name string) {
	t.Helper()
	base := pgtest.URL(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	name = "kassa-Create-" + strings.ToLower(payment.RandomString(10))
	u.Path = "/" + name
	t.Cleanup(func() {
		ctx := context.Background()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	return u.String(), name
}

// databasesNamed counts the server's databases named name.
func databasesNamed(t *testing.T, name string) int {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestMissingPostgresDatabase: a database URL naming a database that does
// not exist gets a hint to create it, or to let kassa create it, and kassa
// creates nothing unasked.
func TestMissingPostgresDatabase(t *testing.T) {
	u, name := newDatabaseURL(t)
	err := serveFails(t, t.TempDir(), env(nil), "--database-url", u)
	wantErrorSays(t, err, "does not exist", "createdb", "--create-database")
	if n := databasesNamed(t, name); n != 0 {
		t.Errorf("without --create-database kassa made the database %s", name)
	}
}

// TestCreateDatabase: with --create-database (or KASSA_CREATE_DATABASE),
// kassa processes started at once against a server that lacks their
// database create it between them, once, and all start on it: one of them
// makes the first account.
func TestCreateDatabase(t *testing.T) {
	u, name := newDatabaseURL(t)
	raw := make([]byte, 32)
	rand.Read(raw)
	// Processes sharing a database share its master key.
	vars := map[string]string{"KASSA_MASTER_KEY": base64.StdEncoding.EncodeToString(raw), "KASSA_DATABASE_URL": u}
	withFlag := launchServer(t, t.TempDir(), env(maps.Clone(vars)), "--create-database")
	vars["KASSA_CREATE_DATABASE"] = "true" // a copy: the first server reads its own
	withEnv := launchServer(t, t.TempDir(), env(vars))
	withFlag.waitListening(t)
	withEnv.waitListening(t)

	if n := databasesNamed(t, name); n != 1 {
		t.Fatalf("%d databases named %s", n, name)
	}
	// Started together, both usually pass PostgreSQL's check for the name,
	// and the later one meets the unique index (23505); a creator that
	// comes after gets duplicate_database (42P04). Neither is an error.
	if err := createDatabase(context.Background(), u); err != nil {
		t.Errorf("creating the database again: %v", err)
	}
	made := 0
	for _, s := range []*server{withFlag, withEnv} {
		if keyLine.MatchString(s.Stdout.String()) {
			made++
		}
		if err := client.New(s.URL, "").Ready(context.Background()); err != nil {
			t.Errorf("ready: %v", err)
		}
	}
	if made != 1 {
		t.Errorf("%d processes made the first account, want 1", made)
	}

	// On a later start the database is there; the flag changes nothing.
	withFlag.Stop(t)
	withEnv.Stop(t)
	again := startServer(t, t.TempDir(), env(vars))
	if keyLine.MatchString(again.Stdout.String()) {
		t.Error("a restart made a new first account")
	}
}
