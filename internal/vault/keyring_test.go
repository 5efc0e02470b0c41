package vault

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func b64(key []byte) string { return base64.StdEncoding.EncodeToString(key) }

func TestParseKeyring(t *testing.T) {
	t.Parallel()
	k1, k2, k7 := b64(newKey()), b64(newKey()), b64(newKey())
	for _, tc := range []struct {
		name, text string
		versions   string
	}{
		{"bare key", k1, "[1]"},
		{"bare key with blank lines and a newline", "\n  " + k1 + "  \n\n", "[1]"},
		{"bare key with comment", "# dev\n" + k1 + "\n", "[1]"},
		{"one line", "kek 1 " + k1, "[1]"},
		{"several, comments, blank lines", "# keys\n\nkek 1 " + k1 + "\n  # rotated\nkek 2 " + k2 + "\n", "[1 2]"},
		{"any order, gaps", "kek 7 " + k7 + "\nkek 2 " + k2 + "\n", "[2 7]"},
		{"CRLF and tabs", "kek\t1\t" + k1 + "\r\nkek 2 " + k2 + "\r\n", "[1 2]"},
	} {
		k, err := ParseKeyring(tc.text)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := fmt.Sprint(k.Versions()); got != tc.versions {
			t.Errorf("%s: versions %s, want %s", tc.name, got, tc.versions)
		}
		vs := k.Versions()
		if k.Newest() != vs[len(vs)-1] || !k.Has(vs[0]) || k.Has(99) {
			t.Errorf("%s: Newest %d, Has wrong", tc.name, k.Newest())
		}
	}
}

func TestParseKeyringErrors(t *testing.T) {
	t.Parallel()
	key := newKey()
	k := b64(key)
	short := b64(key[:31])
	long := b64(append(bytes.Clone(key), 1))
	unpadded := strings.TrimRight(k, "=")
	urlSafe := base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb, 0xff, 0xfe}, 11)[:32])
	for _, tc := range []struct {
		name, text, want string
	}{
		{"empty", "", "no keys"},
		{"comments only", "# kek 1 " + k + "\n\n", "no keys"},
		{"short key", "kek 1 " + short, "line 1: the key is 31 bytes, want 32"},
		{"long key", "kek 1 " + long, "line 1: the key is 33 bytes"},
		{"bad base64", "kek 1 " + k[:20] + "!" + k[21:], "line 1: the key is not valid standard base64"},
		{"unpadded", "kek 1 " + unpadded, "not valid standard base64"},
		{"url alphabet", "kek 1 " + urlSafe, "not valid standard base64"},
		{"zero key", "kek 1 " + b64(make([]byte, 32)), "all zero"},
		{"version zero", "kek 0 " + k, "line 1: the version must be a whole number"},
		{"negative version", "kek -1 " + k, "the version must be"},
		{"plus version", "kek +1 " + k, "the version must be"},
		{"huge version", "kek 99999999999 " + k, "the version must be"},
		{"key where the version goes", "kek " + k + " 1", "line 1: the version must be"},
		{"missing key", "kek 1", `line 1: want "kek <version> <base64 key>"`},
		{"extra field", "kek 1 " + k + " extra", `line 1: want "kek`},
		{"unknown word", "key 1 " + k, `line 1: want "kek`},
		{"key with a space", "kek 1 " + k[:10] + " " + k[10:], `line 1: want "kek`},
		{"duplicate", "kek 1 " + k + "\n\nkek 1 " + b64(newKey()), "line 3: version 1 is already defined on line 1"},
		{"two bare keys", k + "\n" + b64(newKey()), "line 1: a bare key is allowed only as the single key"},
		{"bare then kek", k + "\nkek 2 " + b64(newKey()), "line 1: a bare key"},
		{"kek then bare", "kek 2 " + b64(newKey()) + "\n" + k, "line 2: a bare key"},
	} {
		_, err := ParseKeyring(tc.text)
		if err == nil {
			t.Errorf("%s: parsed", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "vault: keyring: ") {
			t.Errorf("%s: error %q, want it to say %q", tc.name, err, tc.want)
		}
		assertNoKeyMaterial(t, tc.name, err.Error(), tc.text)
	}
}

// assertNoKeyMaterial fails if msg quotes any long token of text.
func assertNoKeyMaterial(t testing.TB, name, msg, text string) {
	t.Helper()
	for _, tok := range strings.Fields(text) {
		if len(tok) < 8 {
			continue
		}
		for i := 0; i+8 <= len(tok); i++ {
			if strings.Contains(msg, tok[i:i+8]) {
				t.Errorf("%s: error %q quotes the input", name, msg)
				return
			}
		}
	}
}

func FuzzParseKeyring(f *testing.F) {
	f.Add("kek 1 " + b64(newKey()))
	f.Add(b64(newKey()))
	f.Add("# c\nkek 1 " + b64(newKey()) + "\nkek 2 " + b64(newKey()) + "\n")
	f.Add("kek 1 AAAA\nkek 1 " + b64(newKey()))
	f.Fuzz(func(t *testing.T, text string) {
		k, err := ParseKeyring(text)
		if err != nil {
			// Tokens of 20 characters or more are never in the messages'
			// own words: they can only come from the input.
			for _, tok := range strings.Fields(text) {
				if len(tok) >= 20 && strings.Contains(err.Error(), tok) {
					t.Fatalf("error %q quotes the input", err)
				}
			}
			return
		}
		vs := k.Versions()
		if len(vs) == 0 || k.Newest() != vs[len(vs)-1] {
			t.Fatalf("keyring %v: newest %d", vs, k.Newest())
		}
	})
}

func TestKeyringNeverPrintsKeys(t *testing.T) {
	t.Parallel()
	key := newKey()
	k, err := ParseKeyring("kek 3 " + b64(key))
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("loaded", "keyring", k)
	outs := []string{logged.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%d", "%q"} {
		outs = append(outs, fmt.Sprintf(verb, k), fmt.Sprintf(verb, *k))
	}
	for _, out := range outs {
		if strings.Contains(out, b64(key)) || strings.Contains(strings.ToLower(out), hex.EncodeToString(key)) || strings.Contains(out, string(key)) {
			t.Errorf("printed keyring shows the key: %s", out)
		}
	}
	if !strings.Contains(k.String(), "[3]") || !strings.Contains(logged.String(), `"versions":[3]`) {
		t.Errorf("printed keyring should show its versions: %s / %s", k, logged.String())
	}
}

func writeFile(t testing.TB, path, text string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}

func TestLoadKeyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	text := "kek 1 " + b64(newKey()) + "\n"
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o601} {
		path := filepath.Join(dir, fmt.Sprintf("key-%o", mode))
		writeFile(t, path, text, mode)
		_, err := LoadKeyFile(path)
		if err == nil {
			t.Errorf("mode %04o: loaded", mode)
			continue
		}
		for _, want := range []string{path, "chmod 600 " + path, fmt.Sprintf("%04o", mode)} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("mode %04o: error %q does not say %q", mode, err, want)
			}
		}
	}
	for _, mode := range []os.FileMode{0o600, 0o400} {
		path := filepath.Join(dir, fmt.Sprintf("ok-%o", mode))
		writeFile(t, path, text, mode)
		if k, err := LoadKeyFile(path); err != nil || k.Newest() != 1 {
			t.Errorf("mode %04o: LoadKeyFile = %v, %v", mode, k, err)
		}
	}

	if _, err := LoadKeyFile(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: error %v, want fs.ErrNotExist", err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyFile(sub); err == nil {
		t.Error("a directory loaded as a key file")
	}
	bad := filepath.Join(dir, "bad")
	writeFile(t, bad, "kek 1 "+b64(newKey()[:16])+"\n", 0o600)
	if _, err := LoadKeyFile(bad); err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("bad key file: error %v, want the path and the line", err)
	}
}

func TestCreateDevKeyFile(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "kassa-data")
	path := filepath.Join(dir, "master.key")
	k, err := CreateDevKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(k.Versions()) != "[1]" {
		t.Errorf("versions %v, want [1]", k.Versions())
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o, want 0600", fi.Mode().Perm())
	}
	if di, err := os.Stat(dir); err != nil || di.Mode().Perm() != 0o700 {
		t.Errorf("data directory mode %v (%v), want 0700", di.Mode().Perm(), err)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(text), "# ") || !strings.Contains(string(text), "DEVELOPMENT KEY") {
		t.Errorf("key file does not start with a development warning:\n%s", text)
	}
	if loaded, err := LoadKeyFile(path); err != nil || loaded.Newest() != 1 {
		t.Errorf("LoadKeyFile = %v, %v", loaded, err)
	}

	// Two files are two keys.
	other := filepath.Join(dir, "other.key")
	if _, err := CreateDevKeyFile(other); err != nil {
		t.Fatal(err)
	}
	if keyringText(t, path, 1) == keyringText(t, other, 1) {
		t.Error("two development key files hold the same key")
	}

	// An existing key is never overwritten.
	if _, err := CreateDevKeyFile(path); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second CreateDevKeyFile: error %v, want fs.ErrExist", err)
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, text) {
		t.Error("second CreateDevKeyFile changed the file")
	}
}

func TestAddKEKVersion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")
	if _, err := CreateDevKeyFile(path); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	for want := 2; want <= 3; want++ {
		v, err := AddKEKVersion(path)
		if err != nil || v != want {
			t.Fatalf("AddKEKVersion = %d, %v; want %d", v, err, want)
		}
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(after, before) {
		t.Errorf("AddKEKVersion changed existing lines:\n%s\nbecame\n%s", before, after)
	}
	k, err := LoadKeyFile(path)
	if err != nil || fmt.Sprint(k.Versions()) != "[1 2 3]" {
		t.Fatalf("after two rotations: %v, %v; want versions [1 2 3]", k, err)
	}
	if keyringText(t, path, 2) == keyringText(t, path, 3) {
		t.Error("two versions hold the same key")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after rotation %04o, want 0600", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want the key file only (no temporary or lock file)", names)
	}
}

func TestAddKEKVersionToBareKey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "master.key")
	k1 := b64(newKey())
	writeFile(t, path, "# mine\n"+k1, 0o600)
	if v, err := AddKEKVersion(path); err != nil || v != 2 {
		t.Fatalf("AddKEKVersion = %d, %v; want 2", v, err)
	}
	text, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(text), "# mine\nkek 1 "+k1+"\nkek 2 ") {
		t.Errorf("bare key file after rotation:\n%s", text)
	}
	if k, err := LoadKeyFile(path); err != nil || fmt.Sprint(k.Versions()) != "[1 2]" {
		t.Errorf("LoadKeyFile = %v, %v; want [1 2]", k, err)
	}
}

func TestAddKEKVersionRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")
	if _, err := CreateDevKeyFile(path); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)

	// Another rotation holds the lock.
	writeFile(t, path+".lock", "", 0o600)
	if _, err := AddKEKVersion(path); err == nil || !strings.Contains(err.Error(), path+".lock") {
		t.Errorf("with a lock file: error %v, want one naming the lock file", err)
	}
	if err := os.Remove(path + ".lock"); err != nil {
		t.Errorf("the failed rotation removed another's lock file: %v", err)
	}

	// A readable file is refused, as by LoadKeyFile.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := AddKEKVersion(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("mode 0644: error %v, want the chmod advice", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Error("a refused rotation changed the key file")
	}
	if _, err := os.Stat(path + ".lock"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused rotation left its lock file: %v", err)
	}

	if _, err := AddKEKVersion(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: error %v, want fs.ErrNotExist", err)
	}
}

func TestAddKEKVersionThroughSymlink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	real := filepath.Join(dir, "real.key")
	link := filepath.Join(dir, "link.key")
	if _, err := CreateDevKeyFile(real); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, link); err != nil {
		t.Skip("no symlinks:", err)
	}
	if _, err := AddKEKVersion(link); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v, %v", fi.Mode(), err)
	}
	if k, err := LoadKeyFile(real); err != nil || k.Newest() != 2 {
		t.Errorf("the link's target: %v, %v; want version 2", k, err)
	}
}

func TestSources(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "master.key")
	if _, err := CreateDevKeyFile(path); err != nil {
		t.Fatal(err)
	}
	fs := NewFileSource(path)
	if k, err := fs.Keyring(); err != nil || k.Newest() != 1 {
		t.Fatalf("Keyring = %v, %v", k, err)
	}
	if _, err := AddKEKVersion(path); err != nil {
		t.Fatal(err)
	}
	if k, err := fs.Reload(); err != nil || k.Newest() != 2 {
		t.Errorf("Reload = %v, %v; want version 2", k, err)
	}

	ss, err := NewStaticSource("kek 4 " + b64(newKey()))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := ss.Keyring()
	b, _ := ss.Reload()
	if a != b || a.Newest() != 4 {
		t.Errorf("static source: %v then %v", a, b)
	}
	if _, err := NewStaticSource("kek 1 " + b64(newKey()[:8])); err == nil {
		t.Error("static source of a bad key succeeded")
	}
}
