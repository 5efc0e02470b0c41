package storetest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// memberEvent renders the event of a removed membership.
func memberEvent(typ string) func(*payment.Member) *payment.Event {
	return func(m *payment.Member) *payment.Event { return newEvent(m.AccountID, typ, m.UserID, t0) }
}

// testMembers: an account lists its own members with their emails; a
// membership is removed with its event, another account's member is not
// found, and the only admin is never removed.
func testMembers(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	kari := newUser("kari." + strings.ToLower(payment.RandomString(6)) + "@example.com")
	ola := newUser("ola." + strings.ToLower(payment.RandomString(6)) + "@example.com")
	added := newEvent(a.ID, "member.added", ola.ID, t0)
	if err := s.CreateUser(ctx, kari, &payment.Membership{UserID: kari.ID, AccountID: a.ID, Role: payment.RoleAdmin, CreatedAt: t0}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, ola, &payment.Membership{UserID: ola.ID, AccountID: a.ID, Role: payment.RoleViewer, CreatedAt: t0.Add(time.Second)}, added); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMembership(ctx, &payment.Membership{UserID: ola.ID, AccountID: b.ID, Role: payment.RoleAdmin, CreatedAt: t0},
		newEvent(b.ID, "member.added", ola.ID, t0)); err != nil {
		t.Fatal(err)
	}
	ms, err := s.Members(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "members of a", ms, []*payment.Member{
		{Membership: payment.Membership{UserID: kari.ID, AccountID: a.ID, Role: payment.RoleAdmin, CreatedAt: t0}, Email: kari.Email},
		{Membership: payment.Membership{UserID: ola.ID, AccountID: a.ID, Role: payment.RoleViewer, CreatedAt: t0.Add(time.Second)}, Email: ola.Email}})
	if evs, _, err := s.ObjectEvents(ctx, a.ID, ola.ID, payment.ListParams{Limit: 10}); err != nil || len(evs) != 1 || evs[0].ID != added.ID {
		t.Errorf("a's events of ola: %v, %v; want the one CreateUser wrote", evs, err)
	}
	// An event of another account is refused with its membership.
	viktor := newUser("viktor." + strings.ToLower(payment.RandomString(6)) + "@example.com")
	if err := s.CreateUser(ctx, viktor, &payment.Membership{UserID: viktor.ID, AccountID: a.ID, Role: payment.RoleViewer, CreatedAt: t0},
		newEvent(b.ID, "member.added", viktor.ID, t0)); err == nil {
		t.Error("CreateUser wrote an event of another account")
	}
	if _, err := s.UserByEmail(ctx, viktor.Email); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("the refused user was kept: %v", err)
	}

	if _, err := s.RemoveMembership(ctx, a.ID, kari.ID, memberEvent("member.removed")); !errors.Is(err, payment.ErrLastAdmin) {
		t.Errorf("removing the only admin: %v, want ErrLastAdmin", err)
	}
	if _, err := s.RemoveMembership(ctx, b.ID, kari.ID, memberEvent("member.removed")); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("removing a member of another account: %v, want ErrNotFound", err)
	}
	m, err := s.RemoveMembership(ctx, a.ID, ola.ID, memberEvent("member.removed"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Email != ola.Email || m.Role != payment.RoleViewer {
		t.Errorf("removed %+v", m)
	}
	if ms, _ := s.Members(ctx, a.ID); len(ms) != 1 || ms[0].UserID != kari.ID {
		t.Errorf("members after the removal: %v", ms)
	}
	if ms, _ := s.Memberships(ctx, ola.ID); len(ms) != 1 || ms[0].AccountID != b.ID {
		t.Errorf("ola's memberships after the removal: %v", ms)
	}
	if evs, _, _ := s.ObjectEvents(ctx, a.ID, ola.ID, payment.ListParams{Limit: 10}); len(evs) != 2 || evs[0].Type != "member.removed" {
		t.Errorf("a's events of ola after the removal: %v", evs)
	}
	if _, err := s.RemoveMembership(ctx, a.ID, ola.ID, nil); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("removing again: %v, want ErrNotFound", err)
	}
	if ms, err := s.Members(ctx, newAccount(t, s).ID); err != nil || len(ms) != 0 {
		t.Errorf("members of an account without users: %v, %v", ms, err)
	}
}

// testMembersConcurrentRemoval: of two admins removed at once, one stays.
func testMembersConcurrentRemoval(t *testing.T, s payment.Store) {
	ctx := context.Background()
	for range 5 {
		a := newAccount(t, s)
		var users []*payment.User
		for i := range 2 {
			u := newUser("admin" + string(rune('a'+i)) + "." + strings.ToLower(payment.RandomString(8)) + "@example.com")
			if err := s.CreateUser(ctx, u, &payment.Membership{UserID: u.ID, AccountID: a.ID, Role: payment.RoleAdmin, CreatedAt: t0}, nil); err != nil {
				t.Fatal(err)
			}
			users = append(users, u)
		}
		var wg sync.WaitGroup
		errs := make([]error, len(users))
		for i, u := range users {
			wg.Go(func() { _, errs[i] = s.RemoveMembership(ctx, a.ID, u.ID, nil) })
		}
		wg.Wait()
		ms, err := s.Members(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 || ms[0].Role != payment.RoleAdmin {
			t.Fatalf("after removing both admins at once: %v (errors %v)", ms, errs)
		}
		if (errs[0] == nil) == (errs[1] == nil) || !errors.Is(errors.Join(errs...), payment.ErrLastAdmin) {
			t.Errorf("errors %v, want one ErrLastAdmin", errs)
		}
	}
}

// testAPIKeyEvents: creating, rolling and revoking a key write their
// events in the same transaction; a revoke of a revoked key writes none.
func testAPIKeyEvents(t *testing.T, s payment.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	k := newKey(a.ID, t0)
	if err := s.CreateAPIKey(ctx, k, newEvent(a.ID, "api_key.created", k.ID, t0)); err != nil {
		t.Fatal(err)
	}
	next := newKey(a.ID, t0)
	if err := s.RollAPIKey(ctx, a.ID, k.ID, next, t0.Add(time.Hour), t0,
		[]*payment.Event{newEvent(a.ID, "api_key.created", next.ID, t0), nil, newEvent(a.ID, "api_key.rolled", k.ID, t0)}); err != nil {
		t.Fatal(err)
	}
	revoke := func(k *payment.APIKey) *payment.Event { return newEvent(a.ID, "api_key.revoked", k.ID, t0) }
	if _, err := s.RevokeAPIKey(ctx, a.ID, next.ID, t0, revoke); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeAPIKey(ctx, a.ID, next.ID, t0, revoke); err != nil {
		t.Fatal(err)
	}
	types := func(id string) []string {
		evs, _, err := s.ObjectEvents(ctx, a.ID, id, payment.ListParams{Limit: 10, Ascending: true})
		if err != nil {
			t.Fatal(err)
		}
		var ts []string
		for _, ev := range evs {
			ts = append(ts, ev.Type)
		}
		return ts
	}
	equal(t, "events of the first key", types(k.ID), []string{"api_key.created", "api_key.rolled"})
	equal(t, "events of the rolled-to key", types(next.ID), []string{"api_key.created", "api_key.revoked"})

	// A key whose event is refused is not made.
	other := newAccount(t, s)
	bad := newKey(a.ID, t0)
	if err := s.CreateAPIKey(ctx, bad, newEvent(other.ID, "api_key.created", bad.ID, t0)); err == nil {
		t.Error("CreateAPIKey wrote an event of another account")
	}
	if _, err := s.APIKeyByPrefix(ctx, bad.Prefix); !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("the key of a refused event was kept: %v", err)
	}
}
