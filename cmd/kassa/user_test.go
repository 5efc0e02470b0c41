package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestUserCreate: kassa user create takes the password from stdin and
// never prints it, generates and prints one when stdin is empty, adds an
// existing user to another account, and refuses bad input naming the
// flag or field, never echoing the password.
func TestUserCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	run := func(stdin string, args ...string) (string, string, error) {
		var out, errOut syncBuffer
		m := &Main{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut, Getenv: env(nil)}
		err := m.Run(context.Background(), append(args, "--data-dir", dir))
		return out.String(), errOut.String(), err
	}
	account := func(name string) string {
		out, _, err := run("", "account", "create", "--name", name, "--json")
		if err != nil {
			t.Fatal(err)
		}
		var na struct{ Account string }
		if err := json.Unmarshal([]byte(out), &na); err != nil {
			t.Fatal(err)
		}
		return na.Account
	}
	a, b := account("Fjord"), account("Other")
	const pw = "correct horse battery staple"
	out, errOut, err := run(pw+"\n", "user", "create", "--account", a, "--email", "Kari@Example.com")
	if err != nil || !strings.Contains(out, "kari@example.com") || !strings.Contains(out, "admin of account "+a) ||
		strings.Contains(out+errOut, pw) {
		t.Fatalf("create: %q %q %v", out, errOut, err)
	}
	out, _, err = run("", "user", "create", "--account", b, "--email", "kari@example.com", "--role", "viewer")
	if err != nil || !strings.Contains(out, "added to account "+b+" as viewer") || strings.Contains(out, "password:") {
		t.Fatalf("add to another account: %q %v", out, err)
	}
	out, _, err = run("", "user", "create", "--account", a, "--email", "ola@example.com", "--role", "viewer")
	if err != nil || !generatedPassword.MatchString(out) {
		t.Fatalf("generated: %q %v", out, err)
	}
	for _, tc := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{pw, []string{"--account", a}, "--email"},
		{pw, []string{"--account", a, "--email", "per@example.com", "--role", "owner"}, "--role"},
		{pw, []string{"--account", a, "--email", "not an email"}, "email"},
		{"short-pw-1", []string{"--account", a, "--email", "per@example.com"}, "password must be"},
		{pw, []string{"--account", "T00000000", "--email", "per@example.com"}, "No such account"},
		{pw, []string{"--account", a, "--email", "kari@example.com"}, ""},
	} {
		out, errOut, err := run(tc.stdin+"\n", append([]string{"user", "create"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error()+out+errOut, tc.stdin) {
			t.Errorf("%v: %v (out %q)", tc.args, err, out)
		}
	}
}
