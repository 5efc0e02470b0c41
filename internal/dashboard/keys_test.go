package dashboard

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// TestOverviewPage: today's purchases in the volume and the gateway's
// row, the chart, the backlog linked to its lists, and nothing of another
// account.
func TestOverviewPage(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, f *fixture) {
		f.user(t, f.a.Account.ID, "viewer@example.com", payment.RoleViewer)
		for _, ref := range []string{"o-1", "o-2"} {
			f.pay(t, f.a, f.gwA, ref)
		}
		gB, err := f.eng.CreateGateway(context.Background(), f.b, engine.GatewayInput{Type: "simulator", Description: "sim"})
		if err != nil {
			t.Fatal(err)
		}
		f.pay(t, f.b, gB.ID, "theirs")
		b := f.browser(t)
		b.signIn("viewer@example.com")
		resp, page := b.get("/dashboard/")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("overview: %d %s", resp.StatusCode, page)
		}
		volume := regexp.MustCompile(`(?s)<table class="list[^"]*" id="volume">.*?</table>`).FindString(page)
		if !strings.Contains(volume, "<td>NOK</td><td class=\"num\">2</td>") || !strings.Contains(volume, "NOK\u00a02,500.00") {
			t.Errorf("volume: %s", volume)
		}
		stats := regexp.MustCompile(`(?s)<table class="list[^"]*" id="gateway-stats">.*?</table>`).FindString(page)
		if !strings.Contains(stats, f.gwA) || !strings.Contains(stats, "100.0 %") || strings.Contains(page, gB.ID) {
			t.Errorf("gateway stats: %s", stats)
		}
		if !strings.Contains(page, `<svg`) || !strings.Contains(page, "Payments per hour today") ||
			!strings.Contains(page, `href="/dashboard/payments?status=UNKNOWN"`) || !strings.Contains(page, `href="/dashboard/review"`) {
			t.Errorf("chart or backlog links missing: %s", page)
		}
		if n := strings.Count(page, "<form"); n != 1 {
			t.Errorf("the overview has %d forms, want only sign-out", n)
		}
	})
}

var (
	secretRE = regexp.MustCompile(`id="key-secret" type="text" readonly value="([^"]+)"`)
	keyIDRE  = regexp.MustCompile(`<code id="key-id">([^<]+)</code>`)
)

// TestKeysPages: an admin creates a key (its secret shown once, working,
// on no other page and in no log), rolls it with a grace period and
// revokes the new one after a confirmation step; each leaves its event,
// by the user, on the key's page. Another account's key is not found and
// unchanged; bad input is a 4xx naming the field.
func TestKeysPages(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		f.user(t, f.a.Account.ID, "kari@example.com", payment.RoleAdmin)
		b := f.browser(t)
		csrf := b.signIn("kari@example.com")
		resp, page := b.get("/dashboard/keys")
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, f.a.Key.Prefix) || !strings.Contains(page, "kari@example.com") {
			t.Fatalf("keys page: %d %s", resp.StatusCode, page)
		}

		resp, page = b.post("/dashboard/keys", url.Values{"csrf": {csrf}, "type": {"secret"}}, nil)
		m := secretRE.FindStringSubmatch(page)
		if resp.StatusCode != http.StatusCreated || m == nil {
			t.Fatalf("create: %d %s", resp.StatusCode, page)
		}
		secret, id := m[1], keyIDRE.FindStringSubmatch(page)[1]
		p, err := f.eng.Authenticate(ctx, secret)
		if err != nil || p.Account.ID != f.a.Account.ID || p.Key.ID != id {
			t.Fatalf("the shown key does not work: %v", err)
		}
		for _, path := range []string{"/dashboard/keys", "/dashboard/keys/" + id, "/dashboard/keys/" + id + "/roll"} {
			resp, page := b.get(path)
			if resp.StatusCode != http.StatusOK || strings.Contains(page, secret) || strings.Contains(page, secret[8:]) {
				t.Errorf("%s: %d, or it shows the secret", path, resp.StatusCode)
			}
		}
		_, page = b.get("/dashboard/keys/" + id)
		if !strings.Contains(page, engine.EventAPIKeyCreated) || !strings.Contains(page, `<td class="actor">kari@example.com (you)</td>`) {
			t.Errorf("key page's trail: %s", page)
		}

		// Roll, the old key working for the hour chosen.
		_, page = b.get("/dashboard/keys/" + id + "/roll")
		if !strings.Contains(page, `id="roll-form"`) || !strings.Contains(page, `<option value="3600">`) {
			t.Fatalf("roll confirmation: %s", page)
		}
		resp, page = b.post("/dashboard/keys/"+id+"/roll", url.Values{"csrf": {csrf}, "expires_in": {"3600"}}, nil)
		m = secretRE.FindStringSubmatch(page)
		if resp.StatusCode != http.StatusOK || m == nil {
			t.Fatalf("roll: %d %s", resp.StatusCode, page)
		}
		rolledSecret, rolledID := m[1], keyIDRE.FindStringSubmatch(page)[1]
		if _, err := f.eng.Authenticate(ctx, secret); err != nil {
			t.Errorf("the rolled key stopped before its grace period: %v", err)
		}
		if _, err := f.eng.Authenticate(ctx, rolledSecret); err != nil {
			t.Errorf("the new key: %v", err)
		}
		_, page = b.get("/dashboard/keys/" + id)
		if !strings.Contains(page, "expiring") || !strings.Contains(page, engine.EventAPIKeyRolled) {
			t.Errorf("rolled key page: %s", page)
		}

		// Revoke after the confirmation step.
		_, page = b.get("/dashboard/keys/" + rolledID + "/revoke")
		if !strings.Contains(page, `action="/dashboard/keys/`+rolledID+`/revoke"`) {
			t.Fatalf("revoke confirmation: %s", page)
		}
		resp, _ = b.post("/dashboard/keys/"+rolledID+"/revoke", url.Values{"csrf": {csrf}}, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dashboard/keys/"+rolledID {
			t.Fatalf("revoke: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		if _, err := f.eng.Authenticate(ctx, rolledSecret); err == nil {
			t.Error("a revoked key still works")
		}
		_, page = b.get("/dashboard/keys/" + rolledID)
		if !strings.Contains(page, `id="key-state">revoked`) || !strings.Contains(page, engine.EventAPIKeyRevoked) ||
			strings.Contains(page, `id="revoke"`) {
			t.Errorf("revoked key page: %s", page)
		}

		// Bad input: a 4xx naming the field; nothing made.
		before, _ := f.eng.APIKeys(ctx, f.a.Account.ID)
		for _, tc := range []struct {
			path  string
			form  url.Values
			field string
		}{
			{"/dashboard/keys", url.Values{"type": {"root"}}, "type"},
			{"/dashboard/keys", url.Values{}, "type"},
			{"/dashboard/keys/" + id + "/roll", url.Values{"expires_in": {"99"}}, "expires_in"},
			{"/dashboard/keys/" + id + "/roll", url.Values{"expires_in": {"-1e9"}}, "expires_in"},
			{"/dashboard/keys/" + id + "/roll", url.Values{}, "expires_in"},
		} {
			tc.form.Set("csrf", csrf)
			resp, page := b.post(tc.path, tc.form, nil)
			if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(html.UnescapeString(page), tc.field) {
				t.Errorf("%s %v: %d, want 422 naming %s", tc.path, tc.form, resp.StatusCode, tc.field)
			}
		}
		if after, _ := f.eng.APIKeys(ctx, f.a.Account.ID); len(after) != len(before) {
			t.Errorf("bad input made keys: %d → %d", len(before), len(after))
		}

		// Another account's key: not found everywhere, and unchanged.
		theirs := f.b.Key.ID
		for _, path := range []string{"/dashboard/keys/" + theirs, "/dashboard/keys/" + theirs + "/roll", "/dashboard/keys/" + theirs + "/revoke"} {
			if resp, _ := b.get(path); resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
			}
		}
		for _, tc := range []struct {
			path string
			form url.Values
		}{{"/dashboard/keys/" + theirs + "/roll", url.Values{"expires_in": {"0"}}}, {"/dashboard/keys/" + theirs + "/revoke", url.Values{}}} {
			tc.form.Set("csrf", csrf)
			if resp, _ := b.post(tc.path, tc.form, nil); resp.StatusCode != http.StatusNotFound {
				t.Errorf("POST %s: %d, want 404", tc.path, resp.StatusCode)
			}
		}
		bKeys, _ := f.eng.APIKeys(ctx, f.b.Account.ID)
		for _, k := range bKeys {
			if k.RevokedAt != nil || k.ExpiresAt != nil {
				t.Errorf("another account's key changed: %+v", k)
			}
		}
		if strings.Contains(f.logs.String(), secret) || strings.Contains(f.logs.String(), rolledSecret) {
			t.Error("a key's secret is in the log")
		}
	})
}

// TestKeysPagesShowLastUse: the keys list and a key's page say "never"
// until a key's use is written, then the time of that use; a key not
// used stays "never".
func TestKeysPagesShowLastUse(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		f.user(t, f.a.Account.ID, "kari@example.com", payment.RoleAdmin)
		b := f.browser(t)
		b.signIn("kari@example.com")
		keys, err := f.eng.APIKeys(ctx, f.a.Account.ID)
		if err != nil || len(keys) != 2 {
			t.Fatalf("keys: %v, %v", keys, err)
		}
		lastUsed := func(id string) (row, fact string) {
			t.Helper()
			_, page := b.get("/dashboard/keys")
			m := regexp.MustCompile(`(?s)href="/dashboard/keys/` + id + `">.*?<td class="last-used">([^<]*)</td>`).FindStringSubmatch(page)
			if m == nil {
				t.Fatalf("no row of %s with a last use: %s", id, page)
			}
			_, page = b.get("/dashboard/keys/" + id)
			n := regexp.MustCompile(`<dd id="key-last-used">([^<]*)</dd>`).FindStringSubmatch(page)
			if n == nil {
				t.Fatalf("no last use on the page of %s: %s", id, page)
			}
			return m[1], n[1]
		}
		// The fixture authenticated the secret key: noted, not yet written.
		for _, k := range keys {
			if row, fact := lastUsed(k.ID); row != "never" || fact != "never" {
				t.Errorf("%s before any write: %q, %q; want never", k.ID, row, fact)
			}
		}
		if n := f.eng.FlushKeyUses(ctx); n != 2 {
			t.Errorf("flushed %d uses, want 2 (the secret keys of both accounts)", n)
		}
		keys, _ = f.eng.APIKeys(ctx, f.a.Account.ID)
		for _, k := range keys {
			want := "never"
			if k.ID == f.a.Key.ID {
				if k.LastUsedAt == nil {
					t.Fatal("the secret key's use was not written")
				}
				want = k.LastUsedAt.UTC().Format("2006-01-02 15:04:05 UTC")
			}
			if row, fact := lastUsed(k.ID); row != want || fact != want {
				t.Errorf("%s: %q, %q; want %q", k.ID, row, fact, want)
			}
		}
	})
}

// TestUsersPages: an admin adds a new user and an existing one (of
// another account), each leaving an event by the admin on the member's
// page; bad input is a 4xx naming the field; the only admin is never
// removed; another account's member is not found; a removed member's
// session sees the account no more.
func TestUsersPages(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		f.user(t, f.a.Account.ID, "kari@example.com", payment.RoleAdmin)
		f.user(t, f.b.Account.ID, "per@example.com", payment.RoleAdmin)
		b := f.browser(t)
		csrf := b.signIn("kari@example.com")
		const pw = "a new user's long pass"
		resp, _ := b.post("/dashboard/users", url.Values{"csrf": {csrf}, "email": {"Ola@example.com"}, "role": {"viewer"}, "password": {pw}}, nil)
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/dashboard/users/usr_") {
			t.Fatalf("add a new user: %d %s", resp.StatusCode, loc)
		}
		ola := strings.TrimPrefix(loc, "/dashboard/users/")
		_, page := b.get(loc)
		if !strings.Contains(page, "ola@example.com") || !strings.Contains(page, `id="member-role">viewer`) ||
			!strings.Contains(page, engine.EventMemberAdded) || !strings.Contains(page, `<td class="actor">kari@example.com (you)</td>`) {
			t.Errorf("new member's page: %s", page)
		}
		if strings.Contains(page, pw) || strings.Contains(f.logs.String(), pw) {
			t.Error("the new user's password is shown or logged")
		}
		nb := f.browser(t)
		if resp, _ := nb.login("ola@example.com", pw); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("the added user cannot sign in: %d", resp.StatusCode)
		}
		// An existing user keeps their password; the one posted is not used.
		resp, _ = b.post("/dashboard/users", url.Values{"csrf": {csrf}, "email": {"per@example.com"}, "role": {"admin"}, "password": {""}}, nil)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("add an existing user: %d", resp.StatusCode)
		}
		per := strings.TrimPrefix(resp.Header.Get("Location"), "/dashboard/users/")
		ms, _ := f.eng.Members(ctx, f.a.Account.ID)
		if len(ms) != 3 {
			t.Fatalf("members %v", ms)
		}

		for _, tc := range []struct {
			form  url.Values
			field string
			code  int
		}{
			{url.Values{"email": {"not an email"}, "role": {"viewer"}, "password": {pw}}, "email", 422},
			{url.Values{"email": {"new@example.com"}, "role": {"owner"}, "password": {pw}}, "role", 422},
			{url.Values{"email": {"new@example.com"}, "password": {pw}}, "role", 422},
			{url.Values{"email": {"new@example.com"}, "role": {"viewer"}, "password": {"short"}}, "password", 422},
			{url.Values{"email": {"ola@example.com"}, "role": {"admin"}}, "member of this account already", 409},
		} {
			tc.form.Set("csrf", csrf)
			resp, page := b.post("/dashboard/users", tc.form, nil)
			if resp.StatusCode != tc.code || !strings.Contains(page, tc.field) || strings.Contains(page, pw) {
				t.Errorf("%v: %d, want %d naming %s", tc.form, resp.StatusCode, tc.code, tc.field)
			}
		}
		if ms, _ := f.eng.Members(ctx, f.a.Account.ID); len(ms) != 3 {
			t.Errorf("bad input changed the members: %v", ms)
		}

		// Another account's member: not found, and still a member there.
		f.user(t, f.b.Account.ID, "bjorn@example.com", payment.RoleViewer)
		other := ""
		bMembers, _ := f.eng.Members(ctx, f.b.Account.ID)
		for _, m := range bMembers {
			if m.Email == "bjorn@example.com" {
				other = m.UserID
			}
		}
		for _, path := range []string{"/dashboard/users/" + other, "/dashboard/users/" + other + "/remove"} {
			if resp, _ := b.get(path); resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
			}
		}
		if resp, _ := b.post("/dashboard/users/"+other+"/remove", url.Values{"csrf": {csrf}}, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("removing another account's member: %d, want 404", resp.StatusCode)
		}
		if ms, _ := f.eng.Members(ctx, f.b.Account.ID); len(ms) != 2 {
			t.Errorf("another account's members changed: %v", ms)
		}

		// Remove ola after the confirmation step; her session loses the account.
		_, page = b.get("/dashboard/users/" + ola + "/remove")
		if !strings.Contains(page, `action="/dashboard/users/`+ola+`/remove"`) {
			t.Fatalf("remove confirmation: %s", page)
		}
		resp, _ = b.post("/dashboard/users/"+ola+"/remove", url.Values{"csrf": {csrf}}, nil)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("remove: %d", resp.StatusCode)
		}
		if resp, _ := nb.get("/dashboard/payments"); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("a removed member's session: %d, want sent to sign in", resp.StatusCode)
		}
		evs, _, _ := f.eng.ObjectEvents(ctx, f.a.Account.ID, ola, payment.ListParams{Limit: 10})
		if len(evs) != 2 || evs[0].Type != engine.EventMemberRemoved || !strings.HasPrefix(evs[0].Actor, "user:usr_") {
			t.Errorf("removed member's events: %+v", evs)
		}

		// Two admins: kari may leave, per may not (then the only one).
		me := ""
		for _, m := range ms {
			if m.Email == "kari@example.com" {
				me = m.UserID
			}
		}
		if resp, page := b.post("/dashboard/users/"+per+"/remove", url.Values{"csrf": {csrf}}, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("removing the other admin: %d %s", resp.StatusCode, page)
		}
		resp, page = b.post("/dashboard/users/"+me+"/remove", url.Values{"csrf": {csrf}}, nil)
		if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "only admin") {
			t.Errorf("removing yourself as the last admin: %d %s", resp.StatusCode, page)
		}
		if _, err := f.eng.RemoveMember(ctx, &payment.Principal{Account: f.a.Account}, me); !errors.Is(err, payment.ErrLastAdmin) {
			t.Errorf("the last admin: %v", err)
		}
	})
}

// TestKeysAndUsersViewer: a viewer opens none of the keys and users pages
// and every form posted directly is refused, changing nothing.
func TestKeysAndUsersViewer(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		f.user(t, f.a.Account.ID, "kari@example.com", payment.RoleAdmin)
		f.user(t, f.a.Account.ID, "viewer@example.com", payment.RoleViewer)
		ms, _ := f.eng.Members(ctx, f.a.Account.ID)
		kari := ms[0].UserID
		v := f.browser(t)
		csrf := v.signIn("viewer@example.com")
		key := f.a.Key.ID
		for _, path := range []string{"/dashboard/keys", "/dashboard/keys/" + key, "/dashboard/keys/" + key + "/roll",
			"/dashboard/keys/" + key + "/revoke", "/dashboard/users/" + kari, "/dashboard/users/" + kari + "/remove"} {
			if resp, page := v.get(path); resp.StatusCode != http.StatusForbidden || strings.Contains(page, f.a.Key.Prefix) {
				t.Errorf("viewer GET %s: %d, want 403", path, resp.StatusCode)
			}
		}
		for _, tc := range []struct {
			path string
			form url.Values
		}{
			{"/dashboard/keys", url.Values{"type": {"secret"}}},
			{"/dashboard/keys/" + key + "/roll", url.Values{"expires_in": {"0"}}},
			{"/dashboard/keys/" + key + "/revoke", url.Values{}},
			{"/dashboard/users", url.Values{"email": {"x@example.com"}, "role": {"admin"}, "password": {"long enough password"}}},
			{"/dashboard/users/" + kari + "/remove", url.Values{}},
		} {
			tc.form.Set("csrf", csrf)
			if resp, _ := v.post(tc.path, tc.form, nil); resp.StatusCode != http.StatusForbidden {
				t.Errorf("viewer POST %s: %d, want 403", tc.path, resp.StatusCode)
			}
		}
		keys, _ := f.eng.APIKeys(ctx, f.a.Account.ID)
		if len(keys) != 2 || keys[0].RevokedAt != nil || keys[1].RevokedAt != nil {
			t.Errorf("a viewer's posts changed the keys: %+v", keys)
		}
		if after, _ := f.eng.Members(ctx, f.a.Account.ID); len(after) != 2 {
			t.Errorf("a viewer's posts changed the members: %v", after)
		}
		// An admin's form without the token changes nothing either.
		a := f.browser(t)
		a.signIn("kari@example.com")
		if resp, _ := a.post("/dashboard/keys", url.Values{"type": {"secret"}}, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("create without CSRF token: %d", resp.StatusCode)
		}
		if after, _ := f.eng.APIKeys(ctx, f.a.Account.ID); len(after) != 2 {
			t.Errorf("a CSRF-less post made a key")
		}
	})
}

// FuzzParseGrace: a roll's expires_in is one of the offered grace periods
// or an invalid error naming expires_in; nothing else, and no panic.
func FuzzParseGrace(f *testing.F) {
	for _, s := range []string{"0", "3600", "86400", "604800", "", "-1", "99", "1e3", "3600 ", "9223372036854775807", "0x10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, err := parseGrace(v)
		if err != nil {
			pe, ok := payment.AsError(err)
			if !ok || pe.Kind != payment.KindInvalid || pe.Param != "expires_in" {
				t.Fatalf("parseGrace(%q): %v", v, err)
			}
			return
		}
		for _, g := range keyGraces {
			if g.D == d {
				return
			}
		}
		t.Fatalf("parseGrace(%q) = %v, not an offered grace period", v, d)
	})
}
