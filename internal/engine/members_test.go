package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// TestKeyAndMemberEvents: creating, rolling and revoking a key, and adding
// and removing a member, each write an event about the object that names
// who did it and holds no secret; the last admin stays, another account's
// user is not found.
func TestKeyAndMemberEvents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		other, _ := f.account(t, false)
		nu, err := f.eng.CreateUser(ctx, p.Account.ID, "kari@example.com", userPassword, payment.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		kari := &payment.Principal{Account: p.Account, User: nu.User}
		actorOf := func(objectID string) map[string]string {
			t.Helper()
			evs, _, err := f.eng.ObjectEvents(ctx, p.Account.ID, objectID, payment.ListParams{Limit: 20})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]string{}
			for _, ev := range evs {
				seen[ev.Type] = ev.Actor
				if !engine.KnownEventType(ev.Type) {
					t.Errorf("event type %s is not listed", ev.Type)
				}
			}
			return seen
		}
		k, secret, err := f.eng.CreateAPIKey(ctx, kari, payment.KeySecret)
		if err != nil {
			t.Fatal(err)
		}
		rolled, rolledSecret, err := f.eng.RollAPIKey(ctx, kari, k.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.eng.RevokeAPIKey(ctx, kari, rolled.ID); err != nil {
			t.Fatal(err)
		}
		want := "user:" + nu.User.ID
		if got := actorOf(k.ID); got[engine.EventAPIKeyCreated] != want || got[engine.EventAPIKeyRolled] != want {
			t.Errorf("events of the created key: %v", got)
		}
		if got := actorOf(rolled.ID); got[engine.EventAPIKeyCreated] != want || got[engine.EventAPIKeyRevoked] != want {
			t.Errorf("events of the rolled-to key: %v", got)
		}
		// Through the API, the key is the actor.
		if _, _, err := f.eng.CreateAPIKey(ctx, p, payment.KeyPublishable); err != nil {
			t.Fatal(err)
		}
		evs, _, err := f.store.Events(ctx, p.Account.ID, payment.ListParams{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if evs[0].Type != engine.EventAPIKeyCreated || evs[0].Actor != p.Key.ID {
			t.Errorf("newest event %s by %q, want api_key.created by the key", evs[0].Type, evs[0].Actor)
		}
		for _, ev := range evs {
			for _, s := range []string{secret, rolledSecret, userPassword, nu.User.PasswordHash} {
				if strings.Contains(string(ev.Data), s) {
					t.Errorf("event %s holds a secret", ev.Type)
				}
			}
		}
		if _, err := f.eng.RevokeAPIKey(ctx, &payment.Principal{Account: other.Account}, k.ID); !errors.Is(err, payment.ErrNotFound) {
			t.Errorf("revoking from another account: %v, want not found", err)
		}

		added, err := f.eng.AddMember(ctx, kari, "Ola@example.com", userPassword, payment.RoleViewer)
		if err != nil || !added.Created {
			t.Fatalf("AddMember = %+v, %v", added, err)
		}
		ms, err := f.eng.Members(ctx, p.Account.ID)
		if err != nil || len(ms) != 2 || ms[1].Email != "ola@example.com" || ms[1].Role != payment.RoleViewer {
			t.Fatalf("members %v, %v", ms, err)
		}
		if _, err := f.eng.RemoveMember(ctx, kari, nu.User.ID); !errors.Is(err, payment.ErrLastAdmin) {
			t.Errorf("removing the last admin: %v", err)
		}
		if _, err := f.eng.RemoveMember(ctx, &payment.Principal{Account: other.Account}, added.User.ID); !errors.Is(err, payment.ErrNotFound) {
			t.Errorf("removing from another account: %v, want not found", err)
		}
		if _, err := f.eng.RemoveMember(ctx, kari, added.User.ID); err != nil {
			t.Fatal(err)
		}
		if got := actorOf(added.User.ID); got[engine.EventMemberAdded] != want || got[engine.EventMemberRemoved] != want {
			t.Errorf("events of the member: %v", got)
		}
		if got := actorOf(nu.User.ID); got[engine.EventMemberAdded] != "" || len(got) != 1 {
			t.Errorf("events of the CLI-made member: %v (the CLI acts as kassa)", got)
		}
	})
}
