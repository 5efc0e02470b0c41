package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kassapay/kassa/client"
)

var (
	goBlock = regexp.MustCompile("(?s)```go\n(.*?)```")
	jsBlock = regexp.MustCompile("(?s)```js\n(.*?)```")
)

// TestReadmeWebhookSnippets runs the README's two ways of verifying a
// webhook, the Go function and the JavaScript lines, on requests a real
// server sent: a ping signed with one secret, and one signed with two
// during a rotation's overlap. Each must accept them with the right
// secret, and the Go function must refuse a changed body and a wrong
// secret.
func TestReadmeWebhookSnippets(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start, end := strings.Index(text, "## Webhooks"), strings.Index(text, "## Running it for real")
	if start < 0 || end < start {
		t.Fatal("README.md lost its Webhooks section, or it no longer comes before Running it for real")
	}
	section := text[start:end]
	goSnippet, jsSnippet := goBlock.FindStringSubmatch(section), jsBlock.FindStringSubmatch(section)
	if goSnippet == nil || jsSnippet == nil {
		t.Fatal("the Webhooks section lost its go or js block")
	}
	dir, err := filepath.Abs(standardWebhooksE2EDir)
	if err != nil {
		t.Fatal(err)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the Go snippet needs the go command: %v", err)
	}

	// Two real requests: a ping, and a ping during a rotation's overlap.
	recv := &hookReceiver{}
	hooks := startReceiver(t, recv)
	s := startServer(t, filepath.Join(t.TempDir(), "data"), env(nil))
	c := client.New(s.URL, s.bootstrapKey(t))
	ctx := context.Background()
	we, err := c.CreateWebhookEndpoint(ctx, &client.WebhookEndpointParams{URL: hooks + "/hooks", EnabledEvents: []string{"payment.*"}})
	if err != nil {
		t.Fatal(err)
	}
	ping := func() hookRequest {
		t.Helper()
		d, err := c.PingWebhookEndpoint(ctx, we.ID)
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the ping", func() bool { return recv.count(d.MessageID) == 1 })
		for _, r := range recv.requests() {
			if r.Header.Get("webhook-id") == d.MessageID {
				return r
			}
		}
		panic("unreachable")
	}
	first := ping()
	rotated, err := c.RotateWebhookSecret(ctx, we.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	second := ping()
	if n := len(strings.Fields(second.Header.Get("webhook-signature"))); n != 2 {
		t.Fatalf("the ping during the overlap has %d signatures, want 2", n)
	}
	type snippetCase struct {
		Name    string            `json:"name"`
		Secret  string            `json:"secret"`
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"` // base64
		Valid   bool              `json:"valid"`
	}
	mk := func(name, secret string, r hookRequest, valid bool) snippetCase {
		h := map[string]string{}
		for _, k := range []string{"webhook-id", "webhook-timestamp", "webhook-signature"} {
			h[k] = r.Header.Get(k)
		}
		return snippetCase{name, secret, h, base64.StdEncoding.EncodeToString(r.Body), valid}
	}
	changed := second
	changed.Body = []byte(strings.Replace(string(second.Body), "webhook_ping", "webhook_pong", 1))
	cases := []snippetCase{
		mk("a ping", we.Secret, first, true),
		mk("a ping during the overlap, old secret", we.Secret, second, true),
		mk("a ping during the overlap, new secret", rotated.Secret, second, true),
		mk("a ping before the rotation, new secret", rotated.Secret, first, false),
		mk("a changed body", rotated.Secret, changed, false),
	}
	work := t.TempDir()
	data, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	casesFile := filepath.Join(work, "cases.json")
	if err := os.WriteFile(casesFile, data, 0o600); err != nil {
		t.Fatal(err)
	}

	// The Go function, in a program of its own with the standard library.
	prog := `package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

` + goSnippet[1] + `
func main() {
	var cases []struct {
		Name    string
		Secret  string
		Headers map[string]string
		Body    string
		Valid   bool
	}
	data, _ := os.ReadFile(os.Args[1])
	if err := json.Unmarshal(data, &cases); err != nil {
		panic(err)
	}
	bad := 0
	for _, c := range cases {
		h := http.Header{}
		for k, v := range c.Headers {
			h.Set(k, v)
		}
		body, _ := base64.StdEncoding.DecodeString(c.Body)
		if err := verifyWebhook(c.Secret, h, body); (err == nil) != c.Valid {
			fmt.Printf("FAIL %s: valid %v, got %v\n", c.Name, c.Valid, err)
			bad++
		}
	}
	if bad > 0 {
		os.Exit(1)
	}
}
`
	if err := os.WriteFile(filepath.Join(work, "main.go"), []byte(prog), 0o600); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, goTool, "run", "main.go", casesFile)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("the README's Go verification: %v\n%s", err, out)
	}

	// The JavaScript lines, with the npm library, on the valid cases.
	node := requireNPM(t, "the README's JavaScript verification", dir, "standardwebhooks")
	script := `'use strict';
const cases = require(process.argv[2]);
let bad = 0;
for (const c of cases.filter((c) => c.valid)) {
  process.env.KASSA_WEBHOOK_SECRET = c.secret;
  const body = Buffer.from(c.body, 'base64');
  const headers = c.headers;
  try {
` + jsSnippet[1] + `
    if (event.type !== 'webhook.ping') throw new Error('event.type is ' + event.type);
  } catch (err) {
    console.error('FAIL ' + c.name + ': ' + err.message);
    bad++;
  }
}
process.exit(bad ? 1 : 0);
`
	jsFile := filepath.Join(work, "snippet.js")
	if err := os.WriteFile(jsFile, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd = exec.CommandContext(cctx, node, jsFile, casesFile)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(dir, "node_modules"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("the README's JavaScript verification: %v\n%s", err, out)
	}
}
