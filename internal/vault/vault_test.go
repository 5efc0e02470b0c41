package vault

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// testStore is what the tests need of a store: accounts (data keys belong
// to one) and the data key contract.
type testStore interface {
	payment.AccountStore
	payment.DataKeyStore
}

type fixture struct {
	t       testing.TB
	store   testStore
	keyFile string
}

// setup returns a fresh store and a fresh development key file.
func setup(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{t: t, store: newStore(t), keyFile: filepath.Join(t.TempDir(), "keys", "master.key")}
	if _, err := CreateDevKeyFile(f.keyFile); err != nil {
		t.Fatal(err)
	}
	return f
}

// vault returns a new Vault (think: a new process) on the fixture's store
// and key file.
func (f *fixture) vault(opts Options) *Vault {
	f.t.Helper()
	v, err := New(f.store, NewFileSource(f.keyFile), opts)
	if err != nil {
		f.t.Fatal(err)
	}
	return v
}

// account creates an account and returns its id.
func (f *fixture) account() string {
	f.t.Helper()
	for {
		a := &payment.Account{ID: payment.NewAccountID(false), Name: "test", CreatedAt: time.Now().UTC()}
		err := f.store.CreateAccount(context.Background(), a, nil)
		if errors.Is(err, payment.ErrConflict) {
			continue
		}
		if err != nil {
			f.t.Fatal(err)
		}
		return a.ID
	}
}

func (f *fixture) dataKeys(acct, purpose string) []*payment.DataKey {
	f.t.Helper()
	keys, err := f.store.DataKeys(context.Background(), acct, purpose)
	if err != nil {
		f.t.Fatal(err)
	}
	return keys
}

func seal(t testing.TB, v *Vault, acct, purpose, record string, pt []byte) []byte {
	t.Helper()
	ct, err := v.Seal(context.Background(), acct, purpose, record, pt)
	if err != nil {
		t.Fatalf("Seal(%s, %s, %s): %v", acct, purpose, record, err)
	}
	return ct
}

func mustOpen(t testing.TB, v *Vault, acct, purpose, record string, ct, want []byte) {
	t.Helper()
	got, err := v.Open(context.Background(), acct, purpose, record, ct)
	if err != nil {
		t.Fatalf("Open(%s, %s, %s): %v", acct, purpose, record, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Open(%s, %s, %s) = %q, want %q", acct, purpose, record, got, want)
	}
}

func version(t testing.TB, ct []byte) int {
	t.Helper()
	v, ok := KeyVersion(ct)
	if !ok {
		t.Fatalf("KeyVersion: not a ciphertext")
	}
	return v
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	f := setup(t)
	v := f.vault(Options{})
	acct := f.account()
	for _, pt := range [][]byte{{}, []byte("4242424242424242"), bytes.Repeat([]byte("x"), 4096)} {
		ct := seal(t, v, acct, payment.PurposeCard, "pm_1", pt)
		if len(ct) != len(pt)+headerLen+gcmOverhead {
			t.Errorf("len(ciphertext) = %d, want %d", len(ct), len(pt)+headerLen+gcmOverhead)
		}
		if ct[0] != formatSeal || version(t, ct) != 1 {
			t.Errorf("header = % x, want format 1, version 1", ct[:headerLen])
		}
		if len(pt) > 0 && bytes.Contains(ct, pt) {
			t.Errorf("ciphertext holds the plaintext")
		}
		mustOpen(t, v, acct, payment.PurposeCard, "pm_1", ct, pt)
		// A new process has no cached key: it reads and unwraps it.
		mustOpen(t, f.vault(Options{}), acct, payment.PurposeCard, "pm_1", ct, pt)
	}
	a := seal(t, v, acct, payment.PurposeCard, "pm_1", []byte("same"))
	b := seal(t, v, acct, payment.PurposeCard, "pm_1", []byte("same"))
	if bytes.Equal(a, b) {
		t.Error("two seals of one plaintext are equal: nonce reused")
	}
	if keys := f.dataKeys(acct, payment.PurposeCard); len(keys) != 1 || keys[0].KEKVersion != 1 || keys[0].Uses != DefaultUseBlock {
		t.Errorf("data keys = %+v, want one, under KEK 1, with %d uses reserved", keys, DefaultUseBlock)
	}
}

func TestOpenRejects(t *testing.T) {
	t.Parallel()
	f := setup(t)
	v := f.vault(Options{})
	ctx := context.Background()
	acct, other := f.account(), f.account()
	pan := []byte("4242424242424242")
	ct := seal(t, v, acct, payment.PurposeCard, "pm_1", pan)

	flip := func(i int) []byte {
		c := bytes.Clone(ct)
		c[i] ^= 0x01
		return c
	}
	cases := []struct {
		name                  string
		acct, purpose, record string
		ciphertext            []byte
		before                func() // makes keys exist where they would not
	}{
		{name: "format byte", ciphertext: flip(0)},
		{name: "key version", ciphertext: flip(4)},
		{name: "nonce", ciphertext: flip(headerLen)},
		{name: "sealed bytes", ciphertext: flip(headerLen + 12)},
		{name: "tag", ciphertext: flip(len(ct) - 1)},
		{name: "truncated", ciphertext: ct[:len(ct)-1]},
		{name: "header only", ciphertext: ct[:headerLen]},
		{name: "empty", ciphertext: nil},
		{name: "appended", ciphertext: append(bytes.Clone(ct), 0)},
		{name: "relabelled to an existing version", ciphertext: relabel(ct, 2), before: func() {
			if _, err := v.RotateDataKey(ctx, acct, payment.PurposeCard); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "relabelled to a missing version", ciphertext: relabel(ct, 3)},
		{name: "other record", record: "pm_2"},
		{name: "record prefix", record: "pm_"},
		{name: "other purpose, no key", purpose: payment.PurposeCredentials},
		{name: "other purpose", purpose: payment.PurposeCredentials, before: func() {
			seal(t, v, acct, payment.PurposeCredentials, "gw_1", []byte("secret"))
		}},
		{name: "other account, no key", acct: other},
		{name: "other account", acct: other, before: func() {
			seal(t, v, other, payment.PurposeCard, "pm_1", pan)
		}},
	}
	for _, tc := range cases {
		if tc.acct == "" {
			tc.acct = acct
		}
		if tc.purpose == "" {
			tc.purpose = payment.PurposeCard
		}
		if tc.record == "" {
			tc.record = "pm_1"
		}
		if tc.ciphertext == nil && !strings.Contains(tc.name, "empty") {
			tc.ciphertext = ct
		}
		if tc.before != nil {
			tc.before()
		}
		for _, vv := range []*Vault{v, f.vault(Options{})} { // cached key, and not
			got, err := vv.Open(ctx, tc.acct, tc.purpose, tc.record, tc.ciphertext)
			if err != ErrDecrypt { // exactly: nothing more is told
				t.Errorf("%s: Open = %q, %v; want ErrDecrypt", tc.name, got, err)
			}
		}
	}
	mustOpen(t, v, acct, payment.PurposeCard, "pm_1", ct, pan)
}

// relabel returns ct claiming to be sealed under another key version.
func relabel(ct []byte, version uint32) []byte {
	c := bytes.Clone(ct)
	binary.BigEndian.PutUint32(c[1:], version)
	return c
}

func TestAdditionalDataFieldsCannotShift(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for _, f := range [][3]string{
		{"T1", "card", "pm_1"}, {"T1c", "ard", "pm_1"}, {"T1", "cardp", "m_1"}, {"T1", "card", "pm_1\x00"},
		{"", "T1card", "pm_1"}, {"T1card", "", "pm_1"},
	} {
		ad := string(sealAD(f[0], f[1], f[2], 1))
		if prev, ok := seen[ad]; ok {
			t.Errorf("sealAD%q = sealAD%s", f, prev)
		}
		seen[ad] = fmt.Sprintf("%q", f)
	}
	if bytes.Equal(sealAD("a", "b", "c", 1), sealAD("a", "b", "c", 2)) {
		t.Error("sealAD ignores the key version")
	}
}

func TestWrappedKeyIsBoundToItsRow(t *testing.T) {
	t.Parallel()
	ring, err := ParseKeyring(keyLine(1, newKey()) + keyLine(2, newKey()))
	if err != nil {
		t.Fatal(err)
	}
	raw := newKey()
	good := &payment.DataKey{AccountID: "T00000001", Purpose: payment.PurposeCard, Version: 3, KEKVersion: 1}
	good.Wrapped = wrap(ring, 1, good.AccountID, good.Purpose, good.Version, raw)
	got, err := unwrap(ring, good)
	if err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("unwrap = %x, %v; want the key", got, err)
	}
	for name, change := range map[string]func(*payment.DataKey){
		"account":     func(k *payment.DataKey) { k.AccountID = "T00000002" },
		"purpose":     func(k *payment.DataKey) { k.Purpose = payment.PurposeCredentials },
		"version":     func(k *payment.DataKey) { k.Version = 4 },
		"kek version": func(k *payment.DataKey) { k.KEKVersion = 2 },
		"tampered":    func(k *payment.DataKey) { k.Wrapped[20] ^= 1 },
		"truncated":   func(k *payment.DataKey) { k.Wrapped = k.Wrapped[:40] },
	} {
		k := *good
		k.Wrapped = bytes.Clone(good.Wrapped)
		change(&k)
		if _, err := unwrap(ring, &k); !errors.Is(err, ErrBadDataKey) {
			t.Errorf("%s changed: unwrap error = %v, want ErrBadDataKey", name, err)
		}
	}
	k := *good
	k.KEKVersion = 9
	if _, err := unwrap(ring, &k); !errors.Is(err, ErrUnknownKEK) {
		t.Errorf("unknown KEK: unwrap error = %v, want ErrUnknownKEK", err)
	}
}

func TestDataKeyRotationByUses(t *testing.T) {
	t.Parallel()
	f := setup(t)
	v := f.vault(Options{MaxUses: 10, UseBlock: 4})
	acct := f.account()
	var cts [][]byte
	perVersion := map[int]int{}
	for i := range 25 {
		ct := seal(t, v, acct, payment.PurposeCard, fmt.Sprint("pm_", i), []byte(fmt.Sprint("pan ", i)))
		cts = append(cts, ct)
		perVersion[version(t, ct)]++
		// Versions only ever go up.
		if i > 0 && version(t, ct) < version(t, cts[i-1]) {
			t.Fatalf("seal %d uses version %d after %d", i, version(t, ct), version(t, cts[i-1]))
		}
	}
	if want := map[int]int{1: 10, 2: 10, 3: 5}; fmt.Sprint(perVersion) != fmt.Sprint(want) {
		t.Errorf("seals per key version = %v, want %v", perVersion, want)
	}
	keys := f.dataKeys(acct, payment.PurposeCard)
	if len(keys) != 3 {
		t.Fatalf("got %d data keys, want 3", len(keys))
	}
	for _, k := range keys {
		if k.Uses < int64(perVersion[k.Version]) {
			t.Errorf("version %d: %d uses reserved, %d spent", k.Version, k.Uses, perVersion[k.Version])
		}
	}
	// Old versions still open, in this process and in a new one.
	fresh := f.vault(Options{MaxUses: 10, UseBlock: 4})
	for i, ct := range cts {
		pt := []byte(fmt.Sprint("pan ", i))
		mustOpen(t, v, acct, payment.PurposeCard, fmt.Sprint("pm_", i), ct, pt)
		mustOpen(t, fresh, acct, payment.PurposeCard, fmt.Sprint("pm_", i), ct, pt)
	}
}

// Processes sharing a database share each key's budget: together they never
// seal more than MaxUses times under one version.
func TestUseBudgetSharedByProcesses(t *testing.T) {
	t.Parallel()
	f := setup(t)
	opts := Options{MaxUses: 10, UseBlock: 3}
	vaults := []*Vault{f.vault(opts), f.vault(opts), f.vault(opts)}
	acct := f.account()
	perVersion := map[int]int{}
	for i := range 60 {
		ct := seal(t, vaults[i%len(vaults)], acct, payment.PurposeCard, "pm_1", []byte("x"))
		perVersion[version(t, ct)]++
	}
	for ver, n := range perVersion {
		if n > 10 {
			t.Errorf("version %d sealed %d times, MaxUses 10", ver, n)
		}
	}
}

func TestRotateDataKey(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	a := f.vault(Options{UseBlock: 2})
	b := f.vault(Options{UseBlock: 2}) // another process
	acct := f.account()

	old := seal(t, a, acct, payment.PurposeCard, "pm_1", []byte("one"))
	bOld := seal(t, b, acct, payment.PurposeCard, "pm_2", []byte("two")) // b holds one more use of v1
	ver, err := a.RotateDataKey(ctx, acct, payment.PurposeCard)
	if err != nil || ver != 2 {
		t.Fatalf("RotateDataKey = %d, %v; want 2", ver, err)
	}
	if ct := seal(t, a, acct, payment.PurposeCard, "pm_3", []byte("three")); version(t, ct) != 2 {
		t.Errorf("after rotation this process seals with version %d, want 2", version(t, ct))
	}
	// b finishes its reserved block, then moves to the newest version.
	if ct := seal(t, b, acct, payment.PurposeCard, "pm_4", []byte("four")); version(t, ct) != 1 {
		t.Errorf("another process seals with version %d before its block ends, want 1", version(t, ct))
	}
	if ct := seal(t, b, acct, payment.PurposeCard, "pm_5", []byte("five")); version(t, ct) != 2 {
		t.Errorf("another process seals with version %d after its block, want 2", version(t, ct))
	}
	mustOpen(t, a, acct, payment.PurposeCard, "pm_1", old, []byte("one"))
	mustOpen(t, a, acct, payment.PurposeCard, "pm_2", bOld, []byte("two"))

	// A purpose never used rotates to version 1... of nothing: it is made.
	if ver, err := a.RotateDataKey(ctx, acct, payment.PurposeCredentials); err != nil || ver != 1 {
		t.Errorf("RotateDataKey of a fresh purpose = %d, %v; want 1", ver, err)
	}
	for _, p := range []string{payment.PurposeFingerprint, payment.PurposeRequestHash} {
		if _, err := a.RotateDataKey(ctx, acct, p); err == nil {
			t.Errorf("RotateDataKey(%s) succeeded; MAC keys must never rotate", p)
		}
	}
}

// The heart of `kassa keys rotate`: a new master key version, every data key
// re-wrapped under it, no ciphertext touched.
func TestKEKRotation(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	v := f.vault(Options{})
	acct1, acct2 := f.account(), f.account()
	pan := []byte("4111111111111111")
	ct1 := seal(t, v, acct1, payment.PurposeCard, "pm_1", pan)
	ct2 := seal(t, v, acct2, payment.PurposeCredentials, "gw_1", []byte(`{"api_key":"k"}`))
	fp, err := v.Fingerprint(ctx, acct1, string(pan))
	if err != nil {
		t.Fatal(err)
	}
	oldText, err := os.ReadFile(f.keyFile)
	if err != nil {
		t.Fatal(err)
	}

	ver, err := AddKEKVersion(f.keyFile)
	if err != nil || ver != 2 {
		t.Fatalf("AddKEKVersion = %d, %v; want 2", ver, err)
	}
	n, err := f.vault(Options{}).Rewrap(ctx)
	if err != nil || n != 3 {
		t.Fatalf("Rewrap = %d, %v; want 3 keys", n, err)
	}
	for _, k := range append(append(f.dataKeys(acct1, payment.PurposeCard), f.dataKeys(acct2, payment.PurposeCredentials)...), f.dataKeys(acct1, payment.PurposeFingerprint)...) {
		if k.KEKVersion != 2 {
			t.Errorf("data key %s/%s v%d: KEK version %d after Rewrap, want 2", k.AccountID, k.Purpose, k.Version, k.KEKVersion)
		}
	}
	if n, err := f.vault(Options{}).Rewrap(ctx); err != nil || n != 0 {
		t.Errorf("second Rewrap = %d, %v; want 0", n, err)
	}

	// A fresh vault on the new file opens what was sealed before.
	fresh := f.vault(Options{})
	mustOpen(t, fresh, acct1, payment.PurposeCard, "pm_1", ct1, pan)
	mustOpen(t, fresh, acct2, payment.PurposeCredentials, "gw_1", ct2, []byte(`{"api_key":"k"}`))
	if got, err := fresh.Fingerprint(ctx, acct1, string(pan)); err != nil || got != fp {
		t.Errorf("fingerprint after KEK rotation = %q, %v; want %q", got, err, fp)
	}

	// Only the new version is needed now: the old one can leave the file.
	newOnly := keyringText(t, f.keyFile, 2)
	nv, err := New(f.store, mustStatic(t, newOnly), Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustOpen(t, nv, acct1, payment.PurposeCard, "pm_1", ct1, pan)

	// A keyring holding only the old master key opens nothing any more.
	ov, err := New(f.store, mustStatic(t, string(oldText)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ov.Open(ctx, acct1, payment.PurposeCard, "pm_1", ct1); !errors.Is(err, ErrUnknownKEK) {
		t.Errorf("old KEK only: Open error = %v, want ErrUnknownKEK", err)
	} else if !strings.Contains(err.Error(), "master key version 2") || !strings.Contains(err.Error(), "[1]") {
		t.Errorf("old KEK only: error %q does not say which version is missing and which are held", err)
	}
	if _, err := ov.Open(ctx, acct2, payment.PurposeCredentials, "gw_1", ct2); !errors.Is(err, ErrUnknownKEK) {
		t.Errorf("old KEK only: Open error = %v, want ErrUnknownKEK", err)
	}
	if _, err := ov.Fingerprint(ctx, acct1, string(pan)); !errors.Is(err, ErrUnknownKEK) {
		t.Errorf("old KEK only: Fingerprint error = %v, want ErrUnknownKEK", err)
	}
	// Nor does one holding another key under the new version's number.
	forged, err := New(f.store, mustStatic(t, keyLine(2, newKey())), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := forged.Open(ctx, acct1, payment.PurposeCard, "pm_1", ct1); !errors.Is(err, ErrBadDataKey) {
		t.Errorf("wrong key for version 2: Open error = %v, want ErrBadDataKey", err)
	}

	// New data keys are wrapped under the new version.
	acct3 := f.account()
	seal(t, fresh, acct3, payment.PurposeCard, "pm_1", pan)
	if k := f.dataKeys(acct3, payment.PurposeCard); len(k) != 1 || k[0].KEKVersion != 2 {
		t.Errorf("new data key: %+v, want one under KEK version 2", k)
	}
}

// keyringText returns the "kek <version> …" line of version from a key file.
func keyringText(t testing.TB, path string, version int) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, fmt.Sprintf("kek %d ", version)) {
			return line + "\n"
		}
	}
	t.Fatalf("key file has no version %d", version)
	return ""
}

func mustStatic(t testing.TB, text string) *StaticSource {
	t.Helper()
	s, err := NewStaticSource(text)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A process that started before another one ran `kassa keys rotate` reloads
// its key file when it meets the new version.
func TestReloadWhenAnotherProcessRotated(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	writer := f.vault(Options{})
	acct := f.account()
	ct := seal(t, writer, acct, payment.PurposeCard, "pm_1", []byte("pan"))

	reader := f.vault(Options{}) // started now: knows KEK 1 only, caches nothing yet
	creator := f.vault(Options{})
	if _, err := AddKEKVersion(f.keyFile); err != nil {
		t.Fatal(err)
	}

	// Before the re-wrap: a data key created now is wrapped under the new
	// version, though this process never saw it.
	acct2 := f.account()
	seal(t, creator, acct2, payment.PurposeCard, "pm_1", []byte("pan"))
	if k := f.dataKeys(acct2, payment.PurposeCard); k[0].KEKVersion != 2 {
		t.Errorf("data key created after AddKEKVersion is under KEK %d, want 2", k[0].KEKVersion)
	}

	if _, err := f.vault(Options{}).Rewrap(ctx); err != nil {
		t.Fatal(err)
	}
	if got := reader.Keyring().Newest(); got != 1 {
		t.Fatalf("reader knows KEK %d before it needs it", got)
	}
	mustOpen(t, reader, acct, payment.PurposeCard, "pm_1", ct, []byte("pan"))
	if got := reader.Keyring().Versions(); fmt.Sprint(got) != "[1 2]" {
		t.Errorf("reader's keyring after reload = %v, want [1 2]", got)
	}
	// The writer has the key cached: rotation does not disturb it.
	mustOpen(t, writer, acct, payment.PurposeCard, "pm_1", ct, []byte("pan"))

	// A static keyring (KASSA_MASTER_KEY) reloads to itself: a clear error.
	static, err := New(f.store, mustStatic(t, keyringText(t, f.keyFile, 1)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := static.Open(ctx, acct, payment.PurposeCard, "pm_1", ct); !errors.Is(err, ErrUnknownKEK) {
		t.Errorf("static keyring without KEK 2: Open error = %v, want ErrUnknownKEK", err)
	}
}

func TestMAC(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	v := f.vault(Options{})
	acct := f.account()
	fp, err := v.MAC(ctx, acct, payment.PurposeFingerprint, []byte("data"))
	if err != nil || len(fp) != 32 {
		t.Fatalf("MAC = %x, %v; want 32 bytes", fp, err)
	}
	rh, err := v.MAC(ctx, acct, payment.PurposeRequestHash, []byte("data"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(fp, rh) {
		t.Error("MACs of two purposes are equal: they share a key")
	}
	again, err := f.vault(Options{}).MAC(ctx, acct, payment.PurposeRequestHash, []byte("data"))
	if err != nil || !bytes.Equal(again, rh) {
		t.Errorf("MAC in a new process = %x, %v; want %x", again, err, rh)
	}
	for _, p := range []string{payment.PurposeCard, payment.PurposeCredentials, ""} {
		if _, err := v.MAC(ctx, acct, p, []byte("data")); err == nil {
			t.Errorf("MAC(%q) succeeded; only MAC purposes may", p)
		}
	}
	for _, p := range []string{payment.PurposeFingerprint, payment.PurposeRequestHash} {
		if _, err := v.Seal(ctx, acct, p, "r", []byte("x")); err == nil {
			t.Errorf("Seal(%s) succeeded; MAC keys must not seal", p)
		}
	}
	for _, k := range [][]*payment.DataKey{f.dataKeys(acct, payment.PurposeFingerprint), f.dataKeys(acct, payment.PurposeRequestHash)} {
		if len(k) != 1 || k[0].Version != 1 || k[0].Uses != 0 {
			t.Errorf("MAC data keys = %+v, want version 1 only, no uses", k)
		}
	}
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	v := f.vault(Options{})
	a, b := f.account(), f.account()
	fp := func(v *Vault, acct, pan string) string {
		t.Helper()
		s, err := v.Fingerprint(ctx, acct, pan)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a1 := fp(v, a, "4242424242424242")
	if raw, err := base64.RawURLEncoding.DecodeString(a1); err != nil || len(raw) != 16 || len(a1) != 22 {
		t.Errorf("fingerprint %q is not 16 bytes of unpadded base64url", a1)
	}
	if got := fp(v, a, "4242424242424242"); got != a1 {
		t.Errorf("same card, same account: %q then %q", a1, got)
	}
	if got := fp(f.vault(Options{}), a, "4242424242424242"); got != a1 {
		t.Errorf("same card, same account, new process: %q then %q", a1, got)
	}
	if got := fp(v, b, "4242424242424242"); got == a1 {
		t.Errorf("same card in two accounts has one fingerprint %q", got)
	}
	if got := fp(v, a, "4000056655665556"); got == a1 {
		t.Errorf("two cards have one fingerprint %q", got)
	}
}

// Fifty requests racing to seal the first secret of an account, across five
// processes, agree on one data key.
func TestConcurrentFirstSeal(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	vaults := make([]*Vault, 5)
	for i := range vaults {
		vaults[i] = f.vault(Options{})
	}
	acct := f.account()
	const n = 50
	cts := make([][]byte, n)
	errs := make([]error, n)
	fps := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			v := vaults[i%len(vaults)]
			cts[i], errs[i] = v.Seal(ctx, acct, payment.PurposeCard, fmt.Sprint("pm_", i), []byte(fmt.Sprint(i)))
			if errs[i] == nil {
				fps[i], errs[i] = v.Fingerprint(ctx, acct, "4242424242424242")
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("goroutine %d: %v", i, err)
		}
	}
	for _, p := range []string{payment.PurposeCard, payment.PurposeFingerprint} {
		if keys := f.dataKeys(acct, p); len(keys) != 1 || keys[0].Version != 1 {
			t.Errorf("%s: %d data keys after concurrent first use, want exactly version 1", p, len(keys))
		}
	}
	fresh := f.vault(Options{})
	for i, ct := range cts {
		if version(t, ct) != 1 {
			t.Errorf("goroutine %d sealed with version %d", i, version(t, ct))
		}
		mustOpen(t, fresh, acct, payment.PurposeCard, fmt.Sprint("pm_", i), ct, []byte(fmt.Sprint(i)))
		if fps[i] != fps[0] {
			t.Errorf("goroutine %d: fingerprint %q, goroutine 0: %q", i, fps[i], fps[0])
		}
	}
}

func TestKeyCacheIsBounded(t *testing.T) {
	t.Parallel()
	f := setup(t)
	v := f.vault(Options{MaxCachedKeys: 4})
	type sealed struct {
		acct string
		ct   []byte
	}
	var all []sealed
	for range 12 {
		acct := f.account()
		all = append(all, sealed{acct, seal(t, v, acct, payment.PurposeCard, "pm_1", []byte(acct))})
		if n := v.keys.len(); n > 4 {
			t.Errorf("%d keys cached, max 4", n)
		}
		if n := v.sealers.len(); n > 4 {
			t.Errorf("%d sealing states, max 4", n)
		}
	}
	for _, s := range all {
		mustOpen(t, v, s.acct, payment.PurposeCard, "pm_1", s.ct, []byte(s.acct))
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	src := mustStatic(t, keyLine(1, newKey()))
	st := newStore(t)
	for _, opts := range []Options{{MaxUses: 1<<32 + 1}, {MaxUses: -1}, {UseBlock: -1}, {MaxCachedKeys: -1}} {
		if _, err := New(st, src, opts); err == nil {
			t.Errorf("New(%+v) succeeded", opts)
		}
	}
	if _, err := New(nil, src, Options{}); err == nil {
		t.Error("New without a store succeeded")
	}
	if _, err := New(st, NewFileSource(filepath.Join(t.TempDir(), "missing")), Options{}); err == nil {
		t.Error("New with a missing key file succeeded")
	}
}

func TestSealRejectsEmptyNames(t *testing.T) {
	t.Parallel()
	f := setup(t)
	v := f.vault(Options{})
	acct := f.account()
	ctx := context.Background()
	for _, args := range [][3]string{{"", "card", "r"}, {acct, "", "r"}, {acct, "card", ""}} {
		if _, err := v.Seal(ctx, args[0], args[1], args[2], []byte("x")); err == nil {
			t.Errorf("Seal%q succeeded", args)
		}
		if _, err := v.Open(ctx, args[0], args[1], args[2], []byte("x")); err == nil {
			t.Errorf("Open%q succeeded", args)
		}
	}
}

// raceStore passes everything to the real store, but runs between right
// after the at-th DataKeys call returns: another process acting between a
// vault's last read and its write. Used by one goroutine at a time.
type raceStore struct {
	testStore
	at        int
	between   func()
	reads     int
	conflicts int
}

func (r *raceStore) DataKeys(ctx context.Context, accountID, purpose string) ([]*payment.DataKey, error) {
	keys, err := r.testStore.DataKeys(ctx, accountID, purpose)
	if r.reads++; r.reads == r.at {
		r.between()
	}
	return keys, err
}

func (r *raceStore) CreateDataKey(ctx context.Context, k *payment.DataKey) error {
	err := r.testStore.CreateDataKey(ctx, k)
	if errors.Is(err, payment.ErrConflict) {
		r.conflicts++
	}
	return err
}

// A vault that loses the race to create an account's first data key takes
// the winner's: its CreateDataKey meets ErrConflict and it reads again.
func TestLostCreateRace(t *testing.T) {
	t.Parallel()
	for _, purpose := range []string{payment.PurposeCard, payment.PurposeFingerprint} {
		f := setup(t)
		ctx := context.Background()
		winner := f.vault(Options{})
		acct := f.account()
		var winnerCT []byte
		var winnerFP string
		// Seal reads once before creating; MAC reads, locks, reads again.
		at := 1
		if purpose == payment.PurposeFingerprint {
			at = 2
		}
		rs := &raceStore{testStore: f.store, at: at, between: func() {
			var err error
			if purpose == payment.PurposeCard {
				winnerCT, err = winner.Seal(ctx, acct, purpose, "pm_1", []byte("w"))
			} else {
				winnerFP, err = winner.Fingerprint(ctx, acct, "4242424242424242")
			}
			if err != nil {
				t.Error(err)
			}
		}}
		loser, err := New(rs, NewFileSource(f.keyFile), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if purpose == payment.PurposeCard {
			ct := seal(t, loser, acct, purpose, "pm_2", []byte("l"))
			mustOpen(t, winner, acct, purpose, "pm_2", ct, []byte("l"))
			mustOpen(t, loser, acct, purpose, "pm_1", winnerCT, []byte("w"))
		} else if fp, err := loser.Fingerprint(ctx, acct, "4242424242424242"); err != nil || fp != winnerFP {
			t.Errorf("loser's fingerprint %q, %v; winner's %q", fp, err, winnerFP)
		}
		if rs.conflicts != 1 {
			t.Errorf("%s: %d conflicts, want the loser's one", purpose, rs.conflicts)
		}
		if keys := f.dataKeys(acct, purpose); len(keys) != 1 {
			t.Errorf("%s: %d data keys, want 1", purpose, len(keys))
		}
	}
}
