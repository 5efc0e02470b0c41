package dashboard

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

var auditTableRE = regexp.MustCompile(`(?s)<table class="list" id="audit">.*?</table>`)

// TestAuditTrails: the five object pages (key, user, gateway, webhook
// endpoint, payment) draw one audit trail, the table #audit with the same
// columns, and name each actor the same way: the signed-in user as their
// email "(you)", another member by email, a user removed from the account
// as a former member, an API key as the key, kassa itself as kassa.
func TestAuditTrails(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		for _, u := range []struct {
			email string
			role  payment.Role
		}{{"kari@example.com", payment.RoleAdmin}, {"per@example.com", payment.RoleViewer},
			{"ola@example.com", payment.RoleAdmin}, {"lars@example.com", payment.RoleViewer}} {
			f.user(t, f.a.Account.ID, u.email, u.role)
		}
		ms, err := f.eng.Members(ctx, f.a.Account.ID)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]string{}
		for _, m := range ms {
			ids[m.Email] = m.UserID
		}
		as := func(email string) *payment.Principal {
			return &payment.Principal{Account: f.a.Account, User: &payment.User{ID: ids[email], Email: email}}
		}
		kari, per, ola, key := as("kari@example.com"), as("per@example.com"), as("ola@example.com"), f.a

		// Each object gets events by several kinds of actor.
		k, _, err := f.eng.CreateAPIKey(ctx, key, payment.KeySecret)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.eng.RollAPIKey(ctx, ola, k.ID, time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := f.eng.RevokeAPIKey(ctx, per, k.ID); err != nil {
			t.Fatal(err)
		}
		// Lars, added by kassa (f.user), is removed and added back twice.
		lars := ids["lars@example.com"]
		for _, step := range []struct{ remove, add *payment.Principal }{{key, ola}, {per, kari}} {
			if _, err := f.eng.RemoveMember(ctx, step.remove, lars); err != nil {
				t.Fatal(err)
			}
			if _, err := f.eng.AddMember(ctx, step.add, "lars@example.com", "", payment.RoleViewer); err != nil {
				t.Fatal(err)
			}
		}
		for i, by := range []*payment.Principal{key, ola, per} {
			creds := map[string]any{"login": "login-" + string(rune('a'+i)), "password": "password-" + string(rune('a'+i))}
			if _, err := f.eng.SetGatewayCredentials(ctx, by, f.gwA, creds, "rotation", false); err != nil {
				t.Fatal(err)
			}
		}
		u := "https://hooks.example.com/kassa"
		we, err := f.eng.CreateWebhookEndpoint(ctx, key, engine.WebhookEndpointInput{URL: &u, EnabledEvents: []string{"payment.created"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, by := range []*payment.Principal{key, ola, per, kari} {
			if _, err := f.eng.RecoverWebhooksAs(ctx, by, we.ID, time.Time{}, time.Time{}); err != nil {
				t.Fatal(err)
			}
		}
		pay := f.pay(t, key, f.gwA, "audit-1")
		for _, by := range []*payment.Principal{ola, per, kari} {
			amount := int64(100)
			if _, _, err := f.eng.Refund(ctx, by, pay.ID, &amount, ""); err != nil {
				t.Fatal(err)
			}
		}
		// Ola leaves the account: her events stay, her email is no
		// member's any more.
		if _, err := f.eng.RemoveMember(ctx, kari, ids["ola@example.com"]); err != nil {
			t.Fatal(err)
		}

		you, member := "kari@example.com (you)", "per@example.com"
		former, apiKey := "former member "+ids["ola@example.com"], "API key "+key.Key.ID
		b := f.browser(t)
		b.signIn("kari@example.com")
		for _, tc := range []struct {
			name, path string
			// want are the actor cells the trail must hold, each
			// with the event it names.
			want [][2]string
		}{
			{"key", "/dashboard/keys/" + k.ID, [][2]string{
				{engine.EventAPIKeyCreated, apiKey}, {engine.EventAPIKeyRolled, former}, {engine.EventAPIKeyRevoked, member}}},
			{"user", "/dashboard/users/" + lars, [][2]string{{engine.EventMemberAdded, "kassa"},
				{engine.EventMemberRemoved, apiKey}, {engine.EventMemberAdded, former},
				{engine.EventMemberRemoved, member}, {engine.EventMemberAdded, you}}},
			{"gateway", "/dashboard/gateways/" + f.gwA, [][2]string{{"gateway.credentials_rotated", apiKey},
				{"gateway.credentials_rotated", former}, {"gateway.credentials_rotated", member}}},
			{"webhook", "/dashboard/webhooks/" + we.ID, [][2]string{{engine.EventWebhookEndpointRedelivered, apiKey},
				{engine.EventWebhookEndpointRedelivered, former}, {engine.EventWebhookEndpointRedelivered, member},
				{engine.EventWebhookEndpointRedelivered, you}}},
			{"payment", "/dashboard/payments/" + pay.ID, [][2]string{{"payment.created", apiKey},
				{"payment.refund.succeeded", former}, {"payment.refund.succeeded", member}, {"payment.refund.succeeded", you}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp, page := b.get(tc.path)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s: %d %s", tc.path, resp.StatusCode, page)
				}
				for _, old := range []string{`id="events"`, `id="trail"`} {
					if strings.Contains(page, old) {
						t.Errorf("the page still has the table %s", old)
					}
				}
				tables := auditTableRE.FindAllString(page, -1)
				if len(tables) != 1 {
					t.Fatalf("%d audit trails (#audit), want 1: %s", len(tables), page)
				}
				trail := tables[0]
				if !strings.Contains(trail, `<thead><tr><th>When</th><th>Event</th><th>By</th></tr></thead>`) {
					t.Errorf("the trail's columns: %s", trail)
				}
				for _, w := range tc.want {
					row := `<td><code>` + w[0] + `</code></td><td class="actor">` + w[1] + `</td></tr>`
					if !strings.Contains(trail, row) {
						t.Errorf("the trail lacks %s by %q: %s", w[0], w[1], trail)
					}
				}
				if strings.Contains(trail, ">user:") || strings.Contains(trail, `">`+key.Key.ID+"<") {
					t.Errorf("the trail shows a raw actor: %s", trail)
				}
			})
		}
	})
}

// TestActorNames: how the trail names each kind of actor.
func TestActorNames(t *testing.T) {
	n := &actorNames{me: "user:usr_me", myEmail: "me@example.com",
		members: map[string]string{"user:usr_me": "me@example.com", "user:usr_per": "per@example.com"}}
	for actor, want := range map[string]string{
		"":             "kassa",
		"user:usr_me":  "me@example.com (you)",
		"user:usr_per": "per@example.com",
		"user:usr_ola": "former member usr_ola",
		"key_123":      "API key key_123",
		"cli":          "command line",
	} {
		if got := n.name(actor); got != want {
			t.Errorf("name(%q) = %q, want %q", actor, got, want)
		}
	}
}
