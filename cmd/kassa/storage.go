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

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

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
	// createDatabase is set only by the commands that register
	// --create-database.
	createDatabase bool
}

func (s *storageFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.dataDir, "data-dir", "./kassa-data", "directory for the SQLite database and the development master key")
	fs.StringVar(&s.databaseURL, "database-url", "", "PostgreSQL URL (postgres://…); empty means SQLite in --data-dir")
	fs.StringVar(&s.masterKeyFile, "master-key-file", "", "file holding the master key ring (0600); KASSA_MASTER_KEY may hold the ring itself instead")
}

// registerCreateDatabase adds --create-database, for the commands that may
// be the first to reach a new PostgreSQL server.
func (s *storageFlags) registerCreateDatabase(fs *flag.FlagSet) {
	fs.BoolVar(&s.createDatabase, "create-database", false, "with --database-url: create the database when it does not exist (the user needs the CREATEDB privilege)")
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
		if missingDatabase(err) && s.createDatabase {
			if err := createDatabase(ctx, u); err != nil {
				return nil, err
			}
			st, err = postgres.Open(ctx, u, postgres.Options{})
		}
		var pe *pgconn.PgError
		if missingDatabase(err) && errors.As(err, &pe) {
			return nil, fmt.Errorf("open PostgreSQL: %s. Create the database first (createdb NAME, or CREATE DATABASE NAME "+
				"as a superuser), or give kassa serve or kassa migrate --create-database; kassa creates its tables itself", pe.Message)
		}
		if err != nil {
			// The URL may hold a password: never print it.
			return nil, fmt.Errorf("open PostgreSQL: %w", err)
		}
		return st, nil
	}
	return nil, errors.New("--database-url must start with postgres:// or postgresql://")
}

// missingDatabase tells whether err is PostgreSQL's answer to a connection
// naming a database that does not exist.
func missingDatabase(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "3D000" // invalid_catalog_name
}

// createDatabase creates the database the URL u names. It connects to the
// server's maintenance database (postgres, or template1 where that was
// dropped, as createdb does) with u's host, user and parameters. Another
// process creating the database at the same moment is no error: kassa
// processes started together on a new server all go on.
func createDatabase(ctx context.Context, u string) error {
	// pgxpool's parser, as postgres.Open's: it takes pool_max_conns and
	// friends out of the URL, where pgx alone would send them to the
	// server as settings it does not know.
	pc, err := pgxpool.ParseConfig(u)
	if err != nil {
		return fmt.Errorf("create database: %w", err) // pgconn redacts the password
	}
	name := pc.ConnConfig.Database
	if name == "" {
		name = pc.ConnConfig.User // PostgreSQL's own default
	}
	var conn *pgx.Conn
	for _, maintenance := range []string{"postgres", "template1"} {
		cfg := pc.ConnConfig.Copy()
		cfg.Database = maintenance
		if conn, err = pgx.ConnectConfig(ctx, cfg); !missingDatabase(err) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("create database %q: connect to the server's maintenance database: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "42P04" || // duplicate_database
		// PostgreSQL checks the name before it inserts it: a creator that
		// passed the check while another committed meets the unique index
		// instead.
		pe.Code == "23505" && pe.ConstraintName == "pg_database_datname_index") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database %q: %w", name, err)
	}
	return nil
}

// devKeyFile is where a development master key is kept when none is
// configured.
func (s *storageFlags) devKeyFile() string { return filepath.Join(s.dataDir, "master.key") }

// keySource finds the master key ring: KASSA_MASTER_KEY, then
// --master-key-file, then a development key file in the data directory,
// created on first use when create is set. warn receives the loud warning
// about development keys.
//
// hasKeys, when not nil, tells whether the database holds data keys
// already: kassa never generates a development key for such a database,
// since no new key could open them.
func (s *storageFlags) keySource(getenv func(string) string, create bool, warn io.Writer, hasKeys func() (bool, error)) (vault.KeySource, string, error) {
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
		if hasKeys != nil {
			has, err := hasKeys()
			if err != nil {
				return nil, "", fmt.Errorf("look for data keys: %w", err)
			}
			if has {
				return nil, "", fmt.Errorf("this database already holds data keys, sealed under a master key kassa was not given "+
					"(no --master-key-file, no KASSA_MASTER_KEY, and no development key at %s). Start kassa with the master key "+
					"this database was created with; kassa will not generate a new one, which could never open them", path)
			}
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
	hasKeys := func() (bool, error) {
		keys, err := st.SomeDataKeys(ctx, 1)
		return len(keys) > 0, err
	}
	src, _, err := s.keySource(getenv, true, warn, hasKeys)
	if err == nil {
		var v *vault.Vault
		if v, err = vault.New(st, src, vault.Options{}); err == nil {
			if err = v.Verify(ctx); err == nil {
				return st, v, nil
			}
			err = fmt.Errorf("%w.\nThe master key kassa was given does not open this database's data keys: start kassa with the master "+
				"key (--master-key-file or KASSA_MASTER_KEY) that this database was created with, including every version "+
				"a 'kassa keys rotate' added", err)
		}
	}
	st.Close()
	return nil, nil, err
}
