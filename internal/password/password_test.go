package password

import (
	"errors"
	"strings"
	"testing"
)

// cheap keeps the tests quick; the format and the checks are the same.
var cheap = Params{Memory: 64, Time: 1, Threads: 1}

func TestHashVerify(t *testing.T) {
	h := Hash("correct horse", cheap)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q", h)
	}
	if strings.Contains(h, "correct horse") {
		t.Fatal("hash holds the password")
	}
	if ok, err := Verify("correct horse", h); !ok || err != nil {
		t.Errorf("right password: %v, %v", ok, err)
	}
	for _, wrong := range []string{"", "correct hors", "correct horse ", "Correct horse"} {
		if ok, err := Verify(wrong, h); ok || err != nil {
			t.Errorf("%q: %v, %v; want false", wrong, ok, err)
		}
	}
	if h2 := Hash("correct horse", cheap); h2 == h {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
}

func TestDefaultParams(t *testing.T) {
	h := Hash("x", Default)
	if !strings.Contains(h, "$m=65536,t=3,p=2$") {
		t.Errorf("default hash %q", h)
	}
	if ok, _ := Verify("x", h); !ok {
		t.Error("default hash does not verify")
	}
}

func TestVerifyMalformed(t *testing.T) {
	good := Hash("pw", cheap)
	for _, h := range []string{"", "pw", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5",
		strings.Replace(good, "v=19", "v=16", 1), strings.Replace(good, "t=1", "t=0", 1),
		strings.Replace(good, "m=64", "m=999999999", 1), good + "$x", strings.Replace(good, "$argon2id", "argon2id", 1)} {
		if ok, err := Verify("pw", h); ok || !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v, %v; want ErrMalformed", h, ok, err)
		}
	}
}

func TestGenerate(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		p := Generate()
		if len(p) != 20 || strings.Trim(p, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != "" || seen[p] {
			t.Fatalf("generated %q", p)
		}
		seen[p] = true
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("pw", Hash("pw", cheap))
	f.Add("", "$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, pw, h string) {
		if strings.Contains(h, "m=") && !strings.Contains(h, "m=64,") && !strings.Contains(h, "m=8,") {
			t.Skip("costly parameters")
		}
		Verify(pw, h) // must not panic
	})
}
