package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store/postgres"
	"github.com/kassapay/kassa/internal/store/sqlite"
	"github.com/kassapay/kassa/internal/vault"
)

// storageFlags are the flags of every command that opens kassa's data.
type storageFlags struct {
	dataDir       string
	databaseURL   string
	masterKeyFile string
}

func (s *storageFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.dataDir, "data-dir", "./kassa-data", "directory for the SQLite database and the development master key")
	fs.StringVar(&s.databaseURL, "database-url", "", "PostgreSQL URL (postgres://…); empty means SQLite in --data-dir")
	fs.StringVar(&s.masterKeyFile, "master-key-file", "", "file holding the master key ring (0600); KASSA_MASTER_KEY may hold the ring itself instead")
}

// migrator is what the stores offer beyond payment.Store.
type migrator interface {
	Migrate(ctx context.Context) error
}

// openStore opens (and migrates) the configured database.
func (s *storageFlags) openStore(ctx context.Context) (payment.Store, error) {
	switch u := s.databaseURL; {
	case u == "":
		st, err := sqlite.Open(ctx, filepath.Join(s.dataDir, "kassa.db"), sqlite.Options{})
		if err != nil {
			return nil, fmt.Errorf("open SQLite in %s: %w", s.dataDir, err)
		}
		return st, nil
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		st, err := postgres.Open(ctx, u, postgres.Options{})
		if err != nil {
			// The URL may hold a password: never print it.
			return nil, fmt.Errorf("open PostgreSQL: %w", err)
		}
		return st, nil
	}
	return nil, errors.New("--database-url must start with postgres:// or postgresql://")
}

// devKeyFile is where a development master key is kept when none is
// configured.
func (s *storageFlags) devKeyFile() string { return filepath.Join(s.dataDir, "master.key") }

// keySource finds the master key ring: KASSA_MASTER_KEY, then
// --master-key-file, then a development key file in the data directory,
// created on first use when create is set. warn receives the loud warning
// about development keys.
func (s *storageFlags) keySource(getenv func(string) string, create bool, warn io.Writer) (vault.KeySource, string, error) {
	if text := getenv(vault.EnvMasterKey); text != "" {
		src, err := vault.NewStaticSource(text)
		if err != nil {
			return nil, "", fmt.Errorf("KASSA_MASTER_KEY: %w", err)
		}
		return src, "", nil
	}
	if s.masterKeyFile != "" {
		if _, err := vault.LoadKeyFile(s.masterKeyFile); err != nil {
			return nil, "", err
		}
		return vault.NewFileSource(s.masterKeyFile), s.masterKeyFile, nil
	}
	path := s.devKeyFile()
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if !create {
			return nil, "", fmt.Errorf("no master key configured and no development key at %s", path)
		}
		if _, err := vault.CreateDevKeyFile(path); err != nil {
			return nil, "", fmt.Errorf("create development master key: %w", err)
		}
		fmt.Fprintf(warn, `
*****************************************************************************
 WARNING: no master key was configured, so kassa generated a DEVELOPMENT
 master key at %s.
 Anyone who can read that file and the database can decrypt every card and
 credential. In production supply your own key with --master-key-file or
 KASSA_MASTER_KEY and keep it away from the database.
*****************************************************************************

`, path)
	}
	if _, err := vault.LoadKeyFile(path); err != nil {
		return nil, "", err
	}
	return vault.NewFileSource(path), path, nil
}

// openVault opens the store and the vault over it, creating a development
// master key when none is configured (with a warning to warn). The caller
// closes the store.
func (s *storageFlags) openVault(ctx context.Context, getenv func(string) string, warn io.Writer) (payment.Store, *vault.Vault, error) {
	st, err := s.openStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	src, _, err := s.keySource(getenv, true, warn)
	if err == nil {
		var v *vault.Vault
		if v, err = vault.New(st, src, vault.Options{}); err == nil {
			return st, v, nil
		}
	}
	st.Close()
	return nil, nil, err
}
