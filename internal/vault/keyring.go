package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
)

// KeySize is the size in bytes of master keys and data keys (AES-256).
const KeySize = 32

// maxVersion bounds KEK and DEK versions: they travel as uint32 in
// ciphertexts and additional data, and as int in the store.
const maxVersion = math.MaxInt32

// EnvMasterKey is the environment variable that may hold the keyring text.
const EnvMasterKey = "KASSA_MASTER_KEY"

// Keyring is a set of numbered master keys (KEKs). It is immutable once
// built: a rotation builds a new Keyring and swaps it in.
//
// A Keyring never prints its keys: String, Format and LogValue show only the
// versions.
type Keyring struct {
	versions []int // ascending, at least one
	keks     map[int]cipher.AEAD
	// prks are HKDF pseudorandom keys extracted from each KEK, from which
	// DerivedKey expands labelled keys. A KEK itself never signs or MACs.
	prks map[int][]byte
}

// deriveSalt separates the keys derived from a KEK from anything else
// that KEK might ever be put to.
var deriveSalt = []byte("kassa keyring derivation")

// ParseKeyring parses keyring text (see the package documentation). Its
// errors name the offending line but never hold key material.
func ParseKeyring(text string) (*Keyring, error) {
	k, _, err := parseKeyring(text)
	if err != nil {
		return nil, fmt.Errorf("vault: keyring: %w", err)
	}
	return k, nil
}

// parseKeyring also returns the index of the line holding a bare key, or -1.
// Its errors must never quote the input: any token may be a key.
func parseKeyring(text string) (*Keyring, int, error) {
	var (
		keys    = map[int][]byte{}
		lineOf  = map[int]int{}
		bare    = -1
		entries = 0
	)
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		s := strings.TrimSpace(line)
		if s == "" || s[0] == '#' {
			continue
		}
		entries++
		f := strings.Fields(s)
		var (
			version int
			token   string
		)
		switch {
		case f[0] == "kek":
			if len(f) != 3 {
				return nil, -1, fmt.Errorf(`line %d: want "kek <version> <base64 key>"`, n)
			}
			v, ok := parseVersion(f[1])
			if !ok {
				return nil, -1, fmt.Errorf("line %d: the version must be a whole number from 1 to %d", n, maxVersion)
			}
			version, token = v, f[2]
		case len(f) == 1:
			if bare < 0 {
				bare = i
			}
			version, token = 1, f[0]
		default:
			return nil, -1, fmt.Errorf(`line %d: want "kek <version> <base64 key>"`, n)
		}
		if bare >= 0 && entries > 1 {
			return nil, -1, fmt.Errorf(`line %d: a bare key is allowed only as the single key; write "kek <version> <base64 key>" lines`, bare+1)
		}
		key, err := decodeKey(token)
		if err != nil {
			return nil, -1, fmt.Errorf("line %d: %w", n, err)
		}
		if prev, dup := lineOf[version]; dup {
			return nil, -1, fmt.Errorf("line %d: version %d is already defined on line %d", n, version, prev)
		}
		keys[version], lineOf[version] = key, n
	}
	if len(keys) == 0 {
		return nil, -1, errors.New("no keys")
	}
	k, err := newKeyring(keys)
	if err != nil {
		return nil, -1, err
	}
	return k, bare, nil
}

func parseVersion(s string) (int, bool) {
	if s == "" || len(s) > 10 {
		return 0, false
	}
	v := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, v >= 1 && v <= maxVersion
}

// decodeKey decodes one base64 key. Its errors say what is wrong with the
// key, never what the key is (base64's own errors quote an offset only, but
// are dropped anyway).
func decodeKey(s string) ([]byte, error) {
	key, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, errors.New("the key is not valid standard base64")
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("the key is %d bytes, want %d", len(key), KeySize)
	}
	if subtle.ConstantTimeCompare(key, make([]byte, KeySize)) == 1 {
		return nil, errors.New("the key is all zero bytes")
	}
	return key, nil
}

func newKeyring(keys map[int][]byte) (*Keyring, error) {
	k := &Keyring{keks: make(map[int]cipher.AEAD, len(keys)), prks: make(map[int][]byte, len(keys))}
	for v, key := range keys {
		aead, err := newAEAD(key)
		if err != nil {
			return nil, err
		}
		prk, err := hkdf.Extract(sha256.New, key, deriveSalt)
		if err != nil {
			return nil, fmt.Errorf("vault: hkdf: %w", err)
		}
		k.keks[v] = aead
		k.prks[v] = prk
		k.versions = append(k.versions, v)
	}
	slices.Sort(k.versions)
	return k, nil
}

// newAEAD returns AES-256-GCM with random 96-bit nonces, which it prepends to
// the sealed bytes.
func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("vault: aes: %w", err)
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// Newest returns the highest version, the one that wraps new data keys.
func (k *Keyring) Newest() int { return k.versions[len(k.versions)-1] }

// Versions returns the versions the keyring holds, ascending.
func (k *Keyring) Versions() []int { return slices.Clone(k.versions) }

// Has reports whether the keyring holds version v.
func (k *Keyring) Has(v int) bool {
	_, ok := k.keks[v]
	return ok
}

// derive expands the key for label from KEK version v (HKDF-SHA256), and
// reports false when the keyring lacks v.
func (k *Keyring) derive(v int, label string) ([]byte, bool) {
	prk, ok := k.prks[v]
	if !ok {
		return nil, false
	}
	key, err := hkdf.Expand(sha256.New, prk, label, KeySize)
	if err != nil {
		return nil, false // only for lengths HKDF cannot give; KeySize is not one
	}
	return key, true
}

func (k *Keyring) String() string {
	return fmt.Sprintf("vault.Keyring{versions: %v}", k.versions)
}

// Format prints String for every verb, so no verb (%d, %#v, %x…) can reach
// the keys.
func (k *Keyring) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// LogValue shows the versions only.
func (k *Keyring) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("versions", k.versions))
}

// newKey returns KeySize fresh random bytes.
func newKey() []byte {
	key := make([]byte, KeySize)
	rand.Read(key) // never fails; it crashes the program if the system's source does
	return key
}
