package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

func newUser(email string) *payment.User {
	return &payment.User{ID: payment.NewID(payment.PrefixUser), Email: email,
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA", CreatedAt: t0}
}

// testUsers: a user is found by email and id, its email is unique, and it
// is a member of each account it was added to, once, with its role.
func testUsers(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	email := "kari." + strings.ToLower(payment.RandomString(6)) + "@example.com"
	u := newUser(email)
	if err := s.CreateUser(ctx, u, &payment.Membership{UserID: u.ID, AccountID: a.ID, Role: payment.RoleAdmin, CreatedAt: t0}, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.UserByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "user by email", got, u)
	if got, err = s.User(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	equal(t, "user by id", got, u)
	if _, err := s.UserByEmail(ctx, "nobody@example.com"); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("unknown email: %v, want ErrNotFound", err)
	}
	if _, err := s.User(ctx, payment.NewID(payment.PrefixUser)); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("unknown id: %v, want ErrNotFound", err)
	}

	// The same email again is a conflict, and leaves no membership behind.
	twin := newUser(email)
	if err := s.CreateUser(ctx, twin, &payment.Membership{UserID: twin.ID, AccountID: b.ID, Role: payment.RoleAdmin, CreatedAt: t0}, nil); !errors.Is(err, payment.ErrConflict) {
		t.Errorf("same email: %v, want ErrConflict", err)
	}
	if ms, err := s.Memberships(ctx, twin.ID); err != nil || len(ms) != 0 {
		t.Errorf("refused user's memberships %v, %v", ms, err)
	}
	ghost := newUser("ghost." + strings.ToLower(payment.RandomString(6)) + "@example.com")
	if err := s.CreateUser(ctx, ghost, &payment.Membership{UserID: ghost.ID, AccountID: "T00000000", Role: payment.RoleAdmin, CreatedAt: t0}, nil); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("no account: %v, want ErrNotFound", err)
	}
	if _, err := s.UserByEmail(ctx, ghost.Email); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("a user without its membership was kept: %v", err)
	}

	mb := &payment.Membership{UserID: u.ID, AccountID: b.ID, Role: payment.RoleViewer, CreatedAt: t0.Add(time.Second)}
	if err := s.AddMembership(ctx, mb, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMembership(ctx, mb, nil); !errors.Is(err, payment.ErrConflict) {
		t.Errorf("same membership again: %v, want ErrConflict", err)
	}
	if err := s.AddMembership(ctx, &payment.Membership{UserID: payment.NewID(payment.PrefixUser), AccountID: a.ID, Role: payment.RoleViewer, CreatedAt: t0}, nil); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("membership of no user: %v, want ErrNotFound", err)
	}
	ms, err := s.Memberships(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "memberships", ms, []*payment.Membership{
		{UserID: u.ID, AccountID: a.ID, Role: payment.RoleAdmin, CreatedAt: t0}, mb})
}

// testDashboardSessions: a session is found by its token's hash only, is
// touched (account and last request), deleted, and swept when expired or
// idle.
func testDashboardSessions(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	u := newUser("ola." + strings.ToLower(payment.RandomString(6)) + "@example.com")
	if err := s.CreateUser(ctx, u, &payment.Membership{UserID: u.ID, AccountID: a.ID, Role: payment.RoleAdmin, CreatedAt: t0}, nil); err != nil {
		t.Fatal(err)
	}
	hash := func(tok string) []byte { h := sha256.Sum256([]byte(tok)); return h[:] }
	newSession := func(tok string, seen, expires time.Time) *payment.DashboardSession {
		ds := &payment.DashboardSession{TokenHash: hash(tok), UserID: u.ID, AccountID: a.ID, CSRFSecret: []byte("csrf-" + tok),
			CreatedAt: t0, LastSeenAt: seen, ExpiresAt: expires}
		if err := s.CreateDashboardSession(ctx, ds); err != nil {
			t.Fatal(err)
		}
		return ds
	}
	live := newSession("live", t0, t0.Add(12*time.Hour))
	got, err := s.DashboardSession(ctx, hash("live"))
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "session", got, live)
	if _, err := s.DashboardSession(ctx, hash("other")); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("unknown token: %v, want ErrNotFound", err)
	}
	if err := s.CreateDashboardSession(ctx, &payment.DashboardSession{TokenHash: hash("x"), UserID: u.ID, AccountID: "T00000000",
		CSRFSecret: []byte("c"), CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0}); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("session of no account: %v, want ErrNotFound", err)
	}

	if err := s.TouchDashboardSession(ctx, hash("live"), b.ID, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err = s.DashboardSession(ctx, hash("live"))
	if err != nil || got.AccountID != b.ID || !got.LastSeenAt.Equal(t0.Add(time.Minute)) || !bytes.Equal(got.CSRFSecret, live.CSRFSecret) {
		t.Errorf("touched session %+v, %v", got, err)
	}
	if err := s.TouchDashboardSession(ctx, hash("gone"), a.ID, t0); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("touch unknown: %v, want ErrNotFound", err)
	}

	newSession("expired", t0, t0.Add(time.Hour))
	newSession("idle", t0.Add(-time.Hour), t0.Add(12*time.Hour))
	n, err := s.DeleteExpiredDashboardSessions(ctx, t0.Add(time.Hour), t0.Add(-30*time.Minute))
	if err != nil || n != 2 {
		t.Errorf("swept %d, %v; want 2", n, err)
	}
	for _, tok := range []string{"expired", "idle"} {
		if _, err := s.DashboardSession(ctx, hash(tok)); !errors.Is(err, payment.ErrNotFound) {
			t.Errorf("%s session kept: %v", tok, err)
		}
	}
	if err := s.DeleteDashboardSession(ctx, hash("live")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DashboardSession(ctx, hash("live")); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("deleted session: %v, want ErrNotFound", err)
	}
	if err := s.DeleteDashboardSession(ctx, hash("live")); err != nil {
		t.Errorf("delete again: %v", err)
	}
}
