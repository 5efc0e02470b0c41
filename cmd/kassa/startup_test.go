package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kassapay/kassa/client"
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

// TestMissingPostgresDatabase: a database URL naming a database that does
// not exist gets a hint to create it.
func TestMissingPostgresDatabase(t *testing.T) {
	u, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/kassa_no_such_database_x7"
	err = serveFails(t, t.TempDir(), env(nil), "--database-url", u.String())
	wantErrorSays(t, err, "does not exist", "createdb")
}
