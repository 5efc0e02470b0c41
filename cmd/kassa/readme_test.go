package main

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

var shBlock = regexp.MustCompile("(?s)```sh\n(.*?)```")

// TestReadmeQuickStart runs the README's quick start, its Spreedly example
// and its webhook endpoint, every sh block in order, against a fresh
// server, the way a new user types them: with the keys the server printed
// and its address.
// curl fails on any 4xx or 5xx, and the script on any failing command, so
// a command that no longer works as written fails the test.
func TestReadmeQuickStart(t *testing.T) {
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README's commands need %s: %v", tool, err)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start, end := strings.Index(text, "## Five-minute quick start"), strings.Index(text, "## Running it for real")
	if start < 0 || end < start {
		t.Fatal("README.md lost its quick start or the section after the Spreedly example")
	}
	s := startServer(t, t.TempDir(), env(nil))
	key := s.bootstrapKey(t)
	account := accountLine.FindStringSubmatch(s.Stdout.String())[1]

	script := []string{"set -euo pipefail", `curl() { command curl --fail-with-body "$@"; }`}
	blocks := 0
	for _, m := range shBlock.FindAllStringSubmatch(text[start:end], -1) {
		block := m[1]
		if strings.Contains(block, "go run ./cmd/kassa serve") {
			continue // the server: this test started it
		}
		block = strings.ReplaceAll(block, "KASSA_KEY=sk_test_…", "KASSA_KEY="+key)
		block = strings.ReplaceAll(block, "KASSA_ACCOUNT=T…", "KASSA_ACCOUNT="+account)
		block = strings.ReplaceAll(block, "http://127.0.0.1:8080", s.URL)
		if strings.Contains(block, "…") && !strings.Contains(block, "# ") {
			t.Fatalf("a block still holds a placeholder a user cannot type:\n%s", block)
		}
		script = append(script, block)
		blocks++
	}
	if blocks < 6 {
		t.Fatalf("found %d runnable blocks in the quick start", blocks)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", strings.Join(script, "\n"))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's commands failed: %v\n%s", err, out)
	}
	for _, want := range []string{
		`"storage_state":"retained"`,
		`"status":"AUTHORIZED"`,
		`"status":"PARTIALLY_CAPTURED_REFUNDED"`,
		`"outcome":"not_sent"`, // the cascade's first attempt
		`"status":"CAPTURED"`,  // … and its payment
		`"storage_state":"redacted"`,
		`"gateway_type":"test"`, // the Spreedly example
		`<storage_state>cached</storage_state>`,
		`"object":"webhook_delivery"`,            // the webhook endpoint's ping
		`"token_type":"Bearer"`,                  // the Dintero token …
		`"business_name":"Default test account"`, // … and the account it opens
		`"event_reference":"order-2001"`,         // a Dintero capture of a native payment
		`"transaction_status":"CAPTURED"`,        // … and the void of its rest
		`"object":"checkout_session"`,            // the hosted page's session
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the quick start's output lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}
