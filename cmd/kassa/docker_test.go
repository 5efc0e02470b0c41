package main

import (
	"encoding/json"
	"flag"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kassapay/kassa/internal/vault"
)

// The Dockerfile and the compose example are built and run by people with
// docker; CI has none. These tests keep them honest without it: the Go they
// build with, the user they run as, and the command lines they give kassa,
// parsed by kassa serve's own flag set.

// dockerInstruction is one instruction of a Dockerfile, continuation lines
// joined.
type dockerInstruction struct {
	cmd, args string
}

// dockerStages reads a Dockerfile into its stages, each starting with FROM.
func dockerStages(t *testing.T, path string) [][]dockerInstruction {
	t.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var stages [][]dockerInstruction
	var line string
	for raw := range strings.Lines(string(text)) {
		raw = strings.TrimSpace(raw)
		if strings.HasPrefix(raw, "#") || (raw == "" && line == "") {
			continue
		}
		if cont, ok := strings.CutSuffix(raw, `\`); ok {
			line += cont + " "
			continue
		}
		line += raw
		cmd, args, _ := strings.Cut(line, " ")
		line = ""
		in := dockerInstruction{strings.ToUpper(cmd), strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			t.Fatalf("%s: %s before the first FROM", path, in.cmd)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	return stages
}

// goModVersion is go.mod's go directive, as numbers.
func goModVersion(t *testing.T) []int {
	t.Helper()
	text, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+(?:\.\d+)?)\s*$`).FindSubmatch(text)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	return versionNumbers(t, string(m[1]))
}

func versionNumbers(t *testing.T, v string) []int {
	t.Helper()
	var n []int
	for part := range strings.SplitSeq(v, ".") {
		i, err := strconv.Atoi(part)
		if err != nil {
			t.Fatalf("version %q: %v", v, err)
		}
		n = append(n, i)
	}
	return n
}

// serveAccepts parses a command line (from "serve" on) and KASSA_* variables
// with kassa serve's flag set, the way kassa serve parses them, and returns
// the flags' values.
func serveAccepts(t *testing.T, where string, args []string, vars map[string]string) *serveConfig {
	t.Helper()
	if len(args) == 0 || args[0] != "serve" {
		t.Fatalf("%s: the command is %q, not kassa serve", where, args)
	}
	var c serveConfig
	fs := serveFlags(&c, &syncBuffer{})
	if err := parseFlags(fs, args[1:], env(vars)); err != nil {
		t.Fatalf("%s: kassa serve does not accept %q: %v", where, args, err)
	}
	// parseFlags ignores variables that name no flag: a misspelt one would
	// pass unnoticed.
	known := map[string]bool{vault.EnvMasterKey: true, "KASSA_METRICS_TOKEN": true}
	fs.VisitAll(func(f *flag.Flag) { known[envName(f.Name)] = true })
	for k := range vars {
		if !known[k] {
			t.Errorf("%s: %s is no variable kassa serve reads", where, k)
		}
	}
	return &c
}

// listensBeyondContainer fails unless addr is reachable from outside the
// container: a server on 127.0.0.1 inside one answers nobody.
func listensBeyondContainer(t *testing.T, where, addr, port string) {
	t.Helper()
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%s: --addr %q: %v", where, addr, err)
	}
	if host != "" && host != "0.0.0.0" && host != "::" {
		t.Errorf("%s: kassa listens on %s, which nothing outside its container reaches", where, addr)
	}
	if port != "" && p != port {
		t.Errorf("%s: kassa listens on port %s, the image exposes %s", where, p, port)
	}
}

func TestDockerfile(t *testing.T) {
	const path = "../../Dockerfile"
	stages := dockerStages(t, path)
	if len(stages) < 2 {
		t.Fatalf("%s has %d stages, want a builder and a final stage", path, len(stages))
	}

	// The builder's Go is go.mod's: the same major.minor, and not an older
	// patch release than go.mod names.
	from := strings.Fields(stages[0][0].args)
	image, _, _ := strings.Cut(from[0], "@")
	tag, ok := strings.CutPrefix(image, "golang:")
	if !ok {
		t.Fatalf("the builder is %s, not the official golang image", from[0])
	}
	tag, _, _ = strings.Cut(tag, "-") // golang:1.26-bookworm
	img, mod := versionNumbers(t, tag), goModVersion(t)
	if len(img) < 2 || img[0] != mod[0] || img[1] != mod[1] {
		t.Errorf("the builder has Go %s, go.mod says %v", tag, mod)
	} else if len(img) == 3 && len(mod) == 3 && img[2] < mod[2] {
		t.Errorf("the builder has Go %s, older than go.mod's %v", tag, mod)
	}
	var built bool
	for _, in := range stages[0] {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			built = true
			for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version="} {
				if !strings.Contains(in.args, want) {
					t.Errorf("the go build lacks %s", want)
				}
			}
		}
	}
	if !built {
		t.Error("the builder runs no go build")
	}

	final := stages[len(stages)-1]
	base := strings.Fields(final[0].args)[0]
	if base != "scratch" && !strings.HasPrefix(base, "gcr.io/distroless/static") {
		t.Errorf("the final stage is FROM %s: want scratch or distroless static, nothing kassa does not need", base)
	}
	var (
		user, entrypoint, cmd, expose string
		vars                          = map[string]string{}
		copied                        = map[string]bool{}
	)
	for _, in := range final {
		switch in.cmd {
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entrypoint = in.args
		case "CMD":
			cmd = in.args
		case "EXPOSE":
			expose, _, _ = strings.Cut(in.args, "/")
		case "ENV":
			k, v, ok := strings.Cut(in.args, "=")
			if !ok || strings.ContainsAny(k, " \t") {
				t.Errorf("ENV %s: write ENV NAME=value, one a line", in.args)
			}
			vars[k] = v
		case "COPY":
			f := strings.Fields(in.args)
			copied[f[len(f)-1]] = true
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("the final stage runs as USER %q: want a numeric user that is not root (scratch has no /etc/passwd)", user)
	}
	var ep, args []string
	if err := json.Unmarshal([]byte(entrypoint), &ep); err != nil || len(ep) != 1 || !copied[ep[0]] {
		t.Errorf("ENTRYPOINT %s: want the JSON form naming the binary the stage copies in", entrypoint)
	}
	if err := json.Unmarshal([]byte(cmd), &args); err != nil {
		t.Fatalf("CMD %s: want the JSON form (there is no shell): %v", cmd, err)
	}
	if !copied["/etc/ssl/certs/ca-certificates.crt"] {
		t.Error("the final stage has no CA certificates: kassa could not call a gateway over HTTPS")
	}
	c := serveAccepts(t, "Dockerfile", args, vars)
	listensBeyondContainer(t, "Dockerfile", c.addr, expose)
	if c.storage.dataDir != "/data" {
		t.Errorf("the image keeps its data in %s, not in the volume /data", c.storage.dataDir)
	}
}

func TestComposeExample(t *testing.T) {
	const path = "../../compose.yaml"
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// No YAML library for one file: the kassa service's command is written
	// as a JSON array on one line, and its variables as NAME: value.
	// The kassa service: its line and the more deeply indented ones after.
	var kassa strings.Builder
	in := false
	for line := range strings.Lines(string(text)) {
		switch {
		case line == "  kassa:\n":
			in = true
		case in && strings.TrimSpace(line) != "" && !strings.HasPrefix(line, "    "):
			in = false
		}
		if in {
			kassa.WriteString(line)
		}
	}
	if kassa.Len() == 0 {
		t.Fatalf("%s has no kassa service", path)
	}
	m := regexp.MustCompile(`(?m)^    command: (\[.*\])\s*$`).FindStringSubmatch(kassa.String())
	if m == nil {
		t.Fatalf("%s: the kassa service has no one-line command", path)
	}
	// Compose fills ${VAR} and ${VAR:?message} in; here any value will do.
	command := regexp.MustCompile(`\$\{[A-Z_]+(:\?[^}]*)?\}`).ReplaceAllString(m[1], "x")
	var args []string
	if err := json.Unmarshal([]byte(command), &args); err != nil {
		t.Fatalf("%s: command %s: %v", path, m[1], err)
	}
	vars := map[string]string{}
	for _, v := range regexp.MustCompile(`(?m)^      (KASSA_[A-Z0-9_]+):`).FindAllStringSubmatch(kassa.String(), -1) {
		vars[v[1]] = "x"
	}
	c := serveAccepts(t, path, args, vars)
	listensBeyondContainer(t, path, c.addr, "8080")
	if !strings.HasPrefix(c.storage.databaseURL, "postgres://") || !c.storage.createDatabase {
		t.Errorf("%s: kassa is not told to use (and create) its PostgreSQL database", path)
	}
	if !strings.Contains(kassa.String(), "condition: service_healthy") {
		t.Errorf("%s: kassa does not wait for PostgreSQL to be healthy", path)
	}
}
