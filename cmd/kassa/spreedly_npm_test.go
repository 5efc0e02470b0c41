package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/testskip"
)

// spreedlyE2EDir holds the npm spreedly client and the script that drives
// kassa's Spreedly dialect with it, relative to this package's directory.
const spreedlyE2EDir = "../../e2e/spreedly"

var accountLine = regexp.MustCompile(`(?m)^account:\s+(T\d+)\b`)

// TestSpreedlyNPMClient starts the real server and runs e2e/spreedly/run.js:
// the npm `spreedly` client (0.0.16, over axios 0.21.4) driving the Spreedly
// dialect at /spreedly/v1/ with the bootstrap account's id as the
// environment key and its secret key as the access secret.
func TestSpreedlyNPMClient(t *testing.T) {
	dir, err := filepath.Abs(spreedlyE2EDir)
	if err != nil {
		t.Fatal(err)
	}
	node := requireNode(t, dir)

	s := startServer(t, filepath.Join(t.TempDir(), "data"), env(nil))
	m := accountLine.FindStringSubmatch(s.Stdout.String())
	if m == nil {
		t.Fatalf("serve printed no account id on first start; stdout:\n%s", s.Stdout)
	}
	account, secret := m[1], s.bootstrapKey(t)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "run.js", s.URL+"/spreedly", account, secret)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if strings.Contains(string(out), secret) {
		t.Errorf("run.js printed the secret key")
	}
	if err != nil {
		if ctx.Err() != nil {
			err = errors.Join(err, errors.New("run.js did not finish within 60 s"))
		}
		t.Fatalf("node run.js %s/spreedly %s <secret>: %v\n%s\nserver stderr:\n%s", s.URL, account, err, out, s.Stderr)
	}
	t.Logf("run.js:\n%s", out)
}

// requireNode returns the path of node, when it and the npm packages of
// e2e/spreedly are installed; see requireNPM.
func requireNode(t *testing.T, dir string) string {
	t.Helper()
	return requireNPM(t, "the npm spreedly client test", dir, "spreedly", "axios")
}

// requireNPM returns the path of node, when it and pkgs are installed in
// dir (an e2e/ directory). Otherwise the test (what) is skipped loudly, or
// fails when KASSA_REQUIRE_NODE is set (as in CI).
func requireNPM(t *testing.T, what, dir string, pkgs ...string) string {
	t.Helper()
	rel := "e2e/" + filepath.Base(dir)
	missing := func(why string) {
		t.Helper()
		msg := what + " did not run: " + why +
			". Install Node.js (v20+) and npm, then from the repository root run: npm ci --prefix " + rel
		if os.Getenv("KASSA_REQUIRE_NODE") != "" {
			t.Fatal("KASSA_REQUIRE_NODE is set but " + msg)
		}
		testskip.Skip(t, msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not on PATH")
	}
	for _, pkg := range pkgs {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
			missing(rel + "/node_modules/" + pkg + " is missing")
		}
	}
	return node
}
