package archtest

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The repository is shipped without the team's private design notes, which
// sit beside it. These are the ways files have pointed into them. Each is
// split in two so that this file does not match itself.
var outsidePointers = []string{
	"../" + "shared/",
	"shared/" + "reference",
	"shared/" + "ARCHITECTURE",
	"shared/" + "STYLE",
	"ARCHITECTURE" + " §",
	"ARCHITECTURE" + ".md",
}

// bareReference matches a citation of a reference note by its path inside
// the notes ("see reference/<note>.md"), but not a path that merely ends
// so ("docs/reference/x.md").
var bareReference = regexp.MustCompile(`(^|[^\w/.-])` + "reference/" + `[\w.-]+\.md`)

// TestNoPointersOutsideTheRepository fails if a file of the repository
// cites or links the private notes: what it points to does not exist where
// kassa is used. docs/architecture.md and docs/simulator.md are the
// repository's own versions.
func TestNoPointersOutsideTheRepository(t *testing.T) {
	root, files := repoFiles(t)
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted in the work tree, not yet in the index
		}
		if err != nil {
			t.Fatal(err)
		}
		if isBinary(data) {
			continue
		}
		for i, line := range strings.Split(string(data), "\n") {
			for _, p := range outsidePointers {
				if strings.Contains(line, p) {
					t.Errorf("%s:%d: %q points outside the repository: %s", f, i+1, p, strings.TrimSpace(line))
				}
			}
			if m := bareReference.FindString(line); m != "" {
				t.Errorf("%s:%d: %q cites a note outside the repository: %s", f, i+1, strings.TrimSpace(m), strings.TrimSpace(line))
			}
		}
	}
}

var (
	// inlineLink is [text](target "title") and ![alt](target).
	inlineLink = regexp.MustCompile(`\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	// refDefinition is [label]: target.
	refDefinition = regexp.MustCompile(`^\s{0,3}\[[^\]]+\]:\s*<?([^\s>]+)`)
	codeSpan      = regexp.MustCompile("`+[^`]*`+")
	scheme        = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
)

// TestMarkdownLinksResolve fails if a relative link in README.md or under
// docs/ names a file or directory that the repository does not hold.
func TestMarkdownLinksResolve(t *testing.T) {
	root, files := repoFiles(t)
	held := map[string]bool{}
	for _, f := range files {
		held[f] = true
		for d := path.Dir(f); d != "."; d = path.Dir(d) {
			held[d] = true
		}
	}
	checked := 0
	for _, f := range files {
		if f != "README.md" && !(strings.HasPrefix(f, "docs/") && strings.HasSuffix(f, ".md")) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, l := range markdownLinks(data) {
			target, ok := resolveLink(f, l.target)
			switch {
			case !ok:
				continue
			case target == ".." || strings.HasPrefix(target, "../"):
				t.Errorf("%s:%d: link %q leaves the repository", f, l.line, l.target)
			case !held[target]:
				t.Errorf("%s:%d: link %q: the repository holds no %s", f, l.line, l.target, target)
			}
		}
	}
	if checked == 0 {
		t.Fatal("found no README.md or docs/*.md to check")
	}
}

type mdLink struct {
	line   int
	target string
}

// markdownLinks returns the targets of the inline links and link reference
// definitions of a Markdown text, outside fenced code blocks and code spans.
func markdownLinks(data []byte) []mdLink {
	var links []mdLink
	fence := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			continue
		}
		line = codeSpan.ReplaceAllString(line, "")
		for _, m := range inlineLink.FindAllStringSubmatch(line, -1) {
			links = append(links, mdLink{n, m[1]})
		}
		if m := refDefinition.FindStringSubmatch(line); m != nil {
			links = append(links, mdLink{n, m[1]})
		}
	}
	return links
}

// resolveLink returns the repository path that target, a link in file
// from, names, cleaned (it starts with "../" if it leaves the repository).
// ok is false for links this test does not check: URLs with a scheme and
// anchors within the page.
func resolveLink(from, target string) (string, bool) {
	if scheme.MatchString(target) || strings.HasPrefix(target, "//") {
		return "", false
	}
	target, _, _ = strings.Cut(target, "#")
	target, _, _ = strings.Cut(target, "?")
	if target == "" {
		return "", false
	}
	if p, err := url.PathUnescape(target); err == nil {
		target = p
	}
	if strings.HasPrefix(target, "/") {
		// GitHub resolves such links from the repository's root.
		return path.Clean(strings.TrimPrefix(target, "/")), true
	}
	return path.Clean(path.Join(path.Dir(from), target)), true
}

// repoFiles returns the repository's root directory and its files, as
// slash-separated paths relative to it: what git tracks, or, outside a git
// checkout, every file under the root but .git and node_modules.
func repoFiles(t *testing.T) (string, []string) {
	t.Helper()
	root := moduleRoot(t)
	if out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output(); err == nil {
		var files []string
		for _, f := range strings.Split(string(out), "\x00") {
			if f != "" {
				files = append(files, f)
			}
		}
		if len(files) > 0 {
			return root, files
		}
	}
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return root, files
}

// moduleRoot is the nearest directory above the working directory that
// holds go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// isBinary reports whether data looks like a binary file: a NUL byte in
// its first 8000 bytes, as git decides.
func isBinary(data []byte) bool {
	return bytes.IndexByte(data[:min(len(data), 8000)], 0) >= 0
}
