package engine_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// keyUseStore counts the key uses the engine writes, tells wrote of each,
// and fails them while fail is set.
type keyUseStore struct {
	payment.Store
	mu     sync.Mutex
	writes int
	fail   bool
	wrote  chan string // key ids; nil: nobody listens
}

func (s *keyUseStore) RecordAPIKeyUse(ctx context.Context, accountID, keyID string, at time.Time) error {
	s.mu.Lock()
	s.writes++
	fail, wrote := s.fail, s.wrote
	s.mu.Unlock()
	err := errors.New("injected failure")
	if !fail {
		err = s.Store.RecordAPIKeyUse(ctx, accountID, keyID, at)
	}
	if wrote != nil {
		wrote <- keyID
	}
	return err
}

func (s *keyUseStore) count() int { s.mu.Lock(); defer s.mu.Unlock(); return s.writes }

// lastUsed reads the key with prefix's LastUsedAt from the store.
func lastUsed(t *testing.T, st payment.Store, key string) *time.Time {
	t.Helper()
	k, err := st.APIKeyByPrefix(context.Background(), key[:payment.KeyPrefixLen])
	if err != nil {
		t.Fatal(err)
	}
	return k.LastUsedAt
}

func wantLastUsed(t *testing.T, what string, got *time.Time, want time.Time) {
	t.Helper()
	if got == nil || !got.Equal(want) {
		t.Errorf("%s: last used %v, want %s", what, got, want)
	}
}

// TestKeyUseIsWrittenOnceAMinute: a request authenticated with a key
// (by the key, by its IXOPAY digest, or by an access token made with it)
// notes its use without writing; the flush writes the first use of each
// minute and nothing for later uses in that minute; a use one minute
// later is written again. Other keys, of this account or another, stay
// unused, and a revoked key is still refused and noted no more.
func TestKeyUseIsWrittenOnceAMinute(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := &keyUseStore{Store: b.open(t)}
			f := newFixture(t, st)
			a, err := f.eng.CreateAccount(ctx, "shop", false)
			if err != nil {
				t.Fatal(err)
			}
			other, err := f.eng.CreateAccount(ctx, "other shop", false)
			if err != nil {
				t.Fatal(err)
			}
			authenticate := func() *payment.Principal {
				t.Helper()
				p, err := f.eng.Authenticate(ctx, a.SecretKey)
				if err != nil {
					t.Fatal(err)
				}
				return p
			}
			flush := func(want int) {
				t.Helper()
				if n := f.eng.FlushKeyUses(ctx); n != want {
					t.Errorf("flushed %d uses, want %d", n, want)
				}
			}

			first := f.clock.Now()
			p := authenticate()
			if n := st.count(); n != 0 {
				t.Fatalf("authentication wrote %d key uses itself", n)
			}
			if got := lastUsed(t, st, a.SecretKey); got != nil {
				t.Fatalf("last used %v before any flush", got)
			}
			flush(1)
			wantLastUsed(t, "after the first use", lastUsed(t, st, a.SecretKey), first)

			// Later in the same minute: nothing to write.
			f.clock.Add(59 * time.Second)
			authenticate()
			authenticate()
			flush(0)
			if n := st.count(); n != 1 {
				t.Errorf("%d writes after three uses in one minute, want 1", n)
			}
			wantLastUsed(t, "after more uses in the same minute", lastUsed(t, st, a.SecretKey), first)

			// The next minute: written again.
			f.clock.Add(time.Second)
			second := f.clock.Now()
			authenticate()
			flush(1)
			wantLastUsed(t, "a minute later", lastUsed(t, st, a.SecretKey), second)

			// The key's IXOPAY digest and an access token made with it
			// are uses of it too.
			f.clock.Add(time.Minute)
			byDigest := f.clock.Now()
			if _, err := f.eng.AuthenticateDigest(ctx, a.Account.ID, engine.KeyDigest(a.SecretKey)); err != nil {
				t.Fatal(err)
			}
			flush(1)
			wantLastUsed(t, "by digest", lastUsed(t, st, a.SecretKey), byDigest)
			tok, err := f.eng.IssueAccessToken(ctx, p, engine.AccessTokenRequest{Audience: "aud", Scopes: []string{"s"}})
			if err != nil {
				t.Fatal(err)
			}
			f.clock.Add(time.Minute)
			byToken := f.clock.Now()
			if _, err := f.eng.VerifyAccessToken(ctx, tok.Token); err != nil {
				t.Fatal(err)
			}
			flush(1)
			wantLastUsed(t, "by access token", lastUsed(t, st, a.SecretKey), byToken)

			for _, k := range []string{a.PublishableKey, other.SecretKey, other.PublishableKey} {
				if got := lastUsed(t, st, k); got != nil {
					t.Errorf("key %s… was never used, but last used %v", k[:payment.KeyPrefixLen], got)
				}
			}

			// Revoked: refused, and its refused requests are no use.
			if _, err := f.eng.RevokeAPIKey(ctx, p, p.Key.ID); err != nil {
				t.Fatal(err)
			}
			f.clock.Add(time.Minute)
			if _, err := f.eng.Authenticate(ctx, a.SecretKey); err == nil {
				t.Fatal("a revoked key authenticated")
			}
			if _, err := f.eng.VerifyAccessToken(ctx, tok.Token); err == nil {
				t.Fatal("an access token of a revoked key was accepted")
			}
			flush(0)
			wantLastUsed(t, "revoked", lastUsed(t, st, a.SecretKey), byToken)
		})
	}
}

// TestKeyUseRecorder: RunKeyUseRecorder writes a noted use without being
// asked, a failing write fails no request (and is logged), and what is
// noted when it stops is written before it returns.
func TestKeyUseRecorder(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := &keyUseStore{Store: b.open(t), wrote: make(chan string, 16)}
			f := newFixture(t, st)
			a, err := f.eng.CreateAccount(ctx, "shop", false)
			if err != nil {
				t.Fatal(err)
			}
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				defer close(done)
				f.eng.RunKeyUseRecorder(runCtx)
			}()
			waitWrite := func() string {
				t.Helper()
				select {
				case id := <-st.wrote:
					return id
				case <-time.After(10 * time.Second):
					t.Fatal("no key use was written")
					return ""
				}
			}

			p, err := f.eng.Authenticate(ctx, a.SecretKey)
			if err != nil {
				t.Fatal(err)
			}
			if id := waitWrite(); id != p.Key.ID {
				t.Errorf("wrote the use of %s, want %s", id, p.Key.ID)
			}
			wantLastUsed(t, "in the background", lastUsed(t, st, a.SecretKey), f.clock.Now())

			// The store fails: the request does not.
			st.mu.Lock()
			st.fail = true
			st.mu.Unlock()
			f.clock.Add(time.Minute)
			if _, err := f.eng.Authenticate(ctx, a.SecretKey); err != nil {
				t.Fatalf("a failing write of its use failed the request: %v", err)
			}
			waitWrite()
			st.mu.Lock()
			st.fail = false
			st.mu.Unlock()

			// Stopped right after a use: written before it returns.
			f.clock.Add(time.Minute)
			last := f.clock.Now()
			if _, err := f.eng.Authenticate(ctx, a.SecretKey); err != nil {
				t.Fatal(err)
			}
			stop()
			<-done
			wantLastUsed(t, "after stopping", lastUsed(t, st, a.SecretKey), last)
			if logs := f.logs.String(); !strings.Contains(logs, "record api key use") || !strings.Contains(logs, "injected failure") {
				t.Errorf("the failed write is not in the log: %s", logs)
			}
		})
	}
}
