package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/password"
	"github.com/kassapay/kassa/internal/payment"
)

func (m *Main) userCreate(ctx context.Context, args []string) error {
	var sf storageFlags
	var accountID, email, role string
	fs := newFlagSet("kassa user create", `Usage: kassa user create --account ID --email EMAIL [--role admin|viewer]

Creates a dashboard user who signs in at /dashboard/ with EMAIL, a member of the
account with the role (admin by default). The password is read from the first
line of standard input; when standard input is a terminal or empty, a password
is generated and printed once. An existing user (same email) is added to the
account instead and keeps its password.`, m.Stderr)
	sf.register(fs)
	fs.StringVar(&accountID, "account", "", "the account the user is a member of (required)")
	fs.StringVar(&email, "email", "", "the user's email, its sign-in name (required)")
	fs.StringVar(&role, "role", "admin", "admin (may act) or viewer (may only look)")
	if err := parseFlags(fs, args, m.Getenv); err != nil {
		return err
	}
	if accountID == "" || email == "" {
		return errors.New("--account and --email are required")
	}
	if !payment.Role(role).Valid() {
		return errors.New("--role must be admin or viewer")
	}
	pw, err := readPassword(m.Stdin)
	if err != nil {
		return err
	}
	generated := pw == ""
	if generated {
		pw = password.Generate()
	}
	st, v, err := sf.openVault(ctx, m.Getenv, m.Stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	eng := engine.New(engine.Config{Store: st, Vault: v, Logger: discardLogger()})
	nu, err := eng.CreateUser(ctx, accountID, email, pw, payment.Role(role))
	if pe, ok := payment.AsError(err); ok {
		// The engine's message names the field and never the password.
		return errors.New(pe.Message)
	}
	if err != nil {
		return err
	}
	if !nu.Created {
		fmt.Fprintf(m.Stdout, "user %s (%s) added to account %s as %s; its password is unchanged\n",
			nu.User.ID, nu.User.Email, accountID, nu.Membership.Role)
		return nil
	}
	fmt.Fprintf(m.Stdout, "user %s (%s) created, %s of account %s\n", nu.User.ID, nu.User.Email, nu.Membership.Role, accountID)
	if generated {
		fmt.Fprintf(m.Stdout, "password: %s\n\nStore the password now: kassa keeps only its hash and cannot show it again.\n", pw)
	}
	return nil
}

// readPassword reads the first line of r: "" when r is nil, empty or a
// terminal (kassa then generates one rather than echo what is typed).
func readPassword(r io.Reader) (string, error) {
	if r == nil {
		return "", nil
	}
	if f, ok := r.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			return "", nil
		}
	}
	line, err := bufio.NewReader(io.LimitReader(r, password.MaxLen+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
