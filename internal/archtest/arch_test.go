package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/kassapay/kassa"

type pkg struct {
	ImportPath string
	Imports    []string // non-test imports only: tests may wire real parts
	Standard   bool
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,Standard", module+"/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func under(path, prefix string) bool {
	prefix = module + "/" + prefix
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

func TestDependencyRule(t *testing.T) {
	rules := []struct {
		name    string
		applies func(p string) bool
		forbid  func(imp string) bool
	}{
		{"the domain and card checks import only the standard library",
			func(p string) bool { return under(p, "internal/payment") || under(p, "internal/card") },
			func(imp string) bool { return !isStd(imp) }},
		{"the client imports nothing internal",
			func(p string) bool { return under(p, "client") },
			func(imp string) bool { return under(imp, "internal") }},
		{"API dialects, plumbing and the hosted pages reach data only through the engine",
			func(p string) bool {
				return under(p, "internal/api") || under(p, "internal/web") || under(p, "internal/dashboard")
			},
			func(imp string) bool { return under(imp, "internal/store") || under(imp, "internal/vault") }},
		{"only cmd/kassa picks a store backend",
			func(p string) bool { return !under(p, "cmd") && !under(p, "internal/store") },
			func(imp string) bool {
				return under(imp, "internal/store/sqlite") || under(imp, "internal/store/postgres")
			}},
		{"the engine knows no HTTP dialect",
			func(p string) bool { return under(p, "internal/engine") },
			func(imp string) bool { return under(imp, "internal/api") || under(imp, "internal/dashboard") }},
		{"stores, vault and card checks do not reach up into the engine or the API",
			func(p string) bool {
				return under(p, "internal/store") || under(p, "internal/vault") || under(p, "internal/card")
			},
			func(imp string) bool { return under(imp, "internal/engine") || under(imp, "internal/api") }},
	}
	for _, p := range listPackages(t) {
		for _, r := range rules {
			if !r.applies(p.ImportPath) {
				continue
			}
			for _, imp := range p.Imports {
				if r.forbid(imp) {
					t.Errorf("%s imports %s, but %s", p.ImportPath, imp, r.name)
				}
			}
		}
	}
}
