package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/vault"
)

func (m *Main) migrate(ctx context.Context, args []string) error {
	var sf storageFlags
	fs := newFlagSet("kassa migrate", "Usage: kassa migrate [flags]\n\nApplies the database migrations this binary knows and exits.", m.Stderr)
	sf.register(fs)
	sf.registerCreateDatabase(fs)
	if err := parseFlags(fs, args, m.Getenv); err != nil {
		return err
	}
	st, err := sf.openStore(ctx) // opening migrates
	if err != nil {
		return err
	}
	defer st.Close()
	if mg, ok := st.(migrator); ok {
		if err := mg.Migrate(ctx); err != nil {
			return err
		}
	}
	fmt.Fprintln(m.Stdout, "migrations applied")
	return nil
}

func (m *Main) accountCreate(ctx context.Context, args []string) error {
	var sf storageFlags
	var name string
	var live, asJSON bool
	fs := newFlagSet("kassa account create", "Usage: kassa account create --name NAME [--live] [--json]\n\nCreates an account and prints its id, a secret key and a publishable key.\nThe keys are shown this once; kassa keeps only their hashes.", m.Stderr)
	sf.register(fs)
	fs.StringVar(&name, "name", "", "the account's name (required)")
	fs.BoolVar(&live, "live", false, "create a live-mode account (P…) instead of a test-mode one (T…)")
	fs.BoolVar(&asJSON, "json", false, "print {\"account\",\"secret_key\",\"publishable_key\"} as JSON")
	if err := parseFlags(fs, args, m.Getenv); err != nil {
		return err
	}
	if name == "" {
		return fmt.Errorf("--name is required")
	}
	st, v, err := sf.openVault(ctx, m.Getenv, m.Stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	eng := engine.New(engine.Config{Store: st, Vault: v, Logger: discardLogger()})
	na, err := eng.CreateAccount(ctx, name, live)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(m.Stdout).Encode(struct {
			Account        string `json:"account"`
			SecretKey      string `json:"secret_key"`
			PublishableKey string `json:"publishable_key"`
		}{na.Account.ID, na.SecretKey, na.PublishableKey})
	}
	printAccount(m.Stdout, na)
	return nil
}

func printAccount(w interface{ Write([]byte) (int, error) }, na *engine.NewAccount) {
	mode := "test"
	if na.Account.Live {
		mode = "live"
	}
	fmt.Fprintf(w, "account:         %s (%s mode, %q)\nsecret key:      %s\npublishable key: %s\n\nStore the keys now: kassa keeps only their hashes and cannot show them again.\n",
		na.Account.ID, mode, na.Account.Name, na.SecretKey, na.PublishableKey)
}

func (m *Main) keysRotate(ctx context.Context, args []string) error {
	var sf storageFlags
	fs := newFlagSet("kassa keys rotate", `Usage: kassa keys rotate [flags]

Adds a new master key (KEK) version to the key file and re-wraps every account's
data keys under it; the data itself is not touched. Running servers pick up the
new version by themselves. With KASSA_MASTER_KEY, add the new version to the
variable yourself first ("kek 2 <base64 of 32 random bytes>" on a new line);
this command then re-wraps under the newest version it holds.`, m.Stderr)
	sf.register(fs)
	if err := parseFlags(fs, args, m.Getenv); err != nil {
		return err
	}
	st, err := sf.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	src, path, err := sf.keySource(m.Getenv, false, m.Stderr, nil)
	if err != nil {
		return err
	}
	if path != "" {
		ver, err := vault.AddKEKVersion(path)
		if err != nil {
			return fmt.Errorf("add master key version: %w", err)
		}
		if _, err := src.Reload(); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "added master key version %d to %s\n", ver, path)
	}
	v, err := vault.New(st, src, vault.Options{})
	if err != nil {
		return err
	}
	n, err := v.Rewrap(ctx)
	if err != nil {
		return fmt.Errorf("re-wrap data keys: %w", err)
	}
	fmt.Fprintf(m.Stdout, "re-wrapped %d data keys\n", n)
	return nil
}
