package dashboard

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/payment"
)

// Credential values of the rotation tests: no page or log may hold them.
const (
	rotatedLogin    = "merchant-login-rotated-7781"
	rotatedPassword = "pw-rotated-Secr3t-value-0042"
)

// TestGatewayPages: the list with health, a gateway's page with its
// credential versions, rotation and redaction by an admin (their events
// name the user), refusals that change nothing, viewers without actions,
// and another account's gateway not found.
func TestGatewayPages(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		f.user(t, f.a.Account.ID, "admin@example.com", payment.RoleAdmin)
		f.user(t, f.a.Account.ID, "viewer@example.com", payment.RoleViewer)
		f.pay(t, f.a, f.gwA, "order-1")
		router, err := f.eng.CreateGateway(ctx, f.a, engine.GatewayInput{Type: engine.RouterType, Settings: map[string]any{
			"rules":   []any{map[string]any{"when": map[string]any{"currency": []any{"NOK", "SEK"}, "amount_min": 10000}, "then": map[string]any{"gateway": f.gwA}}},
			"default": map[string]any{"cascade": []any{f.gwA}}}})
		if err != nil {
			t.Fatal(err)
		}
		gB, err := f.eng.CreateGateway(ctx, f.b, engine.GatewayInput{Type: "simulator", Description: "theirs"})
		if err != nil {
			t.Fatal(err)
		}
		admin := f.browser(t)
		csrf := admin.signIn("admin@example.com")
		origin := map[string]string{"Origin": f.srv.URL}

		resp, page := admin.get("/dashboard/gateways")
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, `href="/dashboard/gateways/`+f.gwA+`"`) ||
			!strings.Contains(page, router.ID) || strings.Contains(page, gB.ID) {
			t.Fatalf("gateways list: %d %s", resp.StatusCode, page)
		}
		if !strings.Contains(page, "100.0%") || !strings.Contains(page, `b-closed`) {
			t.Errorf("the list lacks the health of the gateway with a payment: %s", page)
		}

		_, page = admin.get("/dashboard/gateways/" + router.ID)
		if !strings.Contains(page, "Payments with amount ≥ 10000 (minor units), currency NOK or SEK → "+f.gwA) ||
			!strings.Contains(page, "Otherwise → cascade "+f.gwA) || strings.Contains(page, `id="rotate-form"`) {
			t.Errorf("router page: %s", page)
		}

		resp, page = admin.get("/dashboard/gateways/" + f.gwA)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, `id="rotate-form"`) || !strings.Contains(page, "v1") ||
			!strings.Contains(page, "gateway.created") {
			t.Fatalf("gateway page: %d %s", resp.StatusCode, page)
		}

		rotate := url.Values{"csrf": {csrf}, "cred_login": {rotatedLogin}, "cred_password": {rotatedPassword},
			"description": {"yearly"}, "validate": {"yes"}}
		// Without the confirmation, or with a bad value: a 422 naming the
		// field, nothing saved, nothing echoed.
		resp, page = admin.post("/dashboard/gateways/"+f.gwA+"/credentials", rotate, origin)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "confirm") || strings.Contains(page, rotatedPassword) {
			t.Errorf("rotation unconfirmed: %d %s", resp.StatusCode, page)
		}
		bad := url.Values{"csrf": {csrf}, "confirm": {"yes"}, "cred_login": {"a\x00b"}, "cred_password": {rotatedPassword}}
		resp, page = admin.post("/dashboard/gateways/"+f.gwA+"/credentials", bad, origin)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "credentials.login") || strings.Contains(page, rotatedPassword) {
			t.Errorf("bad credential: %d %s", resp.StatusCode, page)
		}
		invalid := url.Values{"csrf": {csrf}, "confirm": {"yes"}, "validate": {"yes"}, "cred_login": {"invalid"}, "cred_password": {rotatedPassword}}
		if resp, page = admin.post("/dashboard/gateways/"+f.gwA+"/credentials", invalid, origin); resp.StatusCode != http.StatusUnprocessableEntity || strings.Contains(page, rotatedPassword) {
			t.Errorf("credentials the gateway refuses: %d %s", resp.StatusCode, page)
		}
		if hist, _ := f.eng.GatewayCredentialHistory(ctx, f.a.Account.ID, f.gwA); len(hist) != 1 {
			t.Fatalf("refused rotations saved %d versions", len(hist))
		}

		rotate.Set("confirm", "yes")
		resp, _ = admin.post("/dashboard/gateways/"+f.gwA+"/credentials", rotate, origin)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dashboard/gateways/"+f.gwA+"?rotated=2" {
			t.Fatalf("rotation: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		_, page = admin.get("/dashboard/gateways/" + f.gwA + "?rotated=2")
		if !strings.Contains(page, "version 2 is in use") || !strings.Contains(page, "v2") || !strings.Contains(page, "yearly") ||
			!strings.Contains(page, "••••0042") {
			t.Errorf("after the rotation: %s", page)
		}
		if !regexp.MustCompile(`gateway.credentials_rotated</code></td><td class="actor">admin@example.com \(you\)`).MatchString(page) {
			t.Errorf("the audit trail lacks the rotation by the user: %s", page)
		}
		// The credential versions name their authors as the trail does.
		versions := page[strings.Index(page, `id="credential-versions"`):]
		versions = versions[:strings.Index(versions, "</table>")]
		if !regexp.MustCompile(`<td>v2 <span class="badge">in use</span></td>(?s:.*?)<td>admin@example.com \(you\)</td>`).MatchString(versions) ||
			strings.Contains(page, "user:usr_") {
			t.Errorf("the credential versions do not name their authors: %s", versions)
		}
		evs, _, err := f.eng.ObjectEvents(ctx, f.a.Account.ID, f.gwA, payment.ListParams{Limit: 1})
		if err != nil || evs[0].Type != "gateway.credentials_rotated" || !strings.HasPrefix(evs[0].Actor, "user:usr_") {
			t.Fatalf("rotation event %+v %v", evs, err)
		}

		// A viewer sees the page without actions, and may not act.
		viewer := f.browser(t)
		vcsrf := viewer.signIn("viewer@example.com")
		_, page = viewer.get("/dashboard/gateways/" + f.gwA)
		if strings.Contains(page, `id="rotate-form"`) || strings.Contains(page, `id="redact-link"`) || strings.Count(page, "<form") != 1 {
			t.Errorf("a viewer's gateway page has actions: %s", page)
		}
		if resp, _ := viewer.get("/dashboard/gateways/" + f.gwA + "/redact"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("viewer's redact step: %d", resp.StatusCode)
		}
		rotate.Set("csrf", vcsrf)
		for _, path := range []string{"/credentials", "/redact"} {
			if resp, _ := viewer.post("/dashboard/gateways/"+f.gwA+path, url.Values{"csrf": {vcsrf}, "confirm": {"yes"},
				"cred_login": {"x"}}, nil); resp.StatusCode != http.StatusForbidden {
				t.Errorf("viewer's POST %s: %d, want 403", path, resp.StatusCode)
			}
		}

		// Another account's gateway: not found, in every page and action.
		for _, path := range []string{"/dashboard/gateways/" + gB.ID, "/dashboard/gateways/" + gB.ID + "/redact", "/dashboard/gateways/gw_nope"} {
			if resp, _ := admin.get(path); resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
			}
		}
		for _, path := range []string{"/credentials", "/redact"} {
			resp, _ := admin.post("/dashboard/gateways/"+gB.ID+path, url.Values{"csrf": {csrf}, "confirm": {"yes"},
				"cred_login": {"x"}}, origin)
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("POST %s to another account's gateway: %d, want 404", path, resp.StatusCode)
			}
		}
		if d, _ := f.eng.Gateway(ctx, f.b.Account.ID, gB.ID); d.CredentialVersion != 1 || d.State != payment.GatewayRetained {
			t.Errorf("another account's gateway changed: %+v", d.Gateway)
		}

		// Redaction: a confirm step, then the POST.
		resp, page = admin.get("/dashboard/gateways/" + f.gwA + "/redact")
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="confirm" value="yes"`) {
			t.Fatalf("redact step: %d %s", resp.StatusCode, page)
		}
		if resp, _ := admin.post("/dashboard/gateways/"+f.gwA+"/redact", url.Values{"csrf": {csrf}}, origin); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("redaction without the confirm step: %d", resp.StatusCode)
		}
		if d, _ := f.eng.Gateway(ctx, f.a.Account.ID, f.gwA); d.State != payment.GatewayRetained {
			t.Fatal("an unconfirmed redaction redacted")
		}
		resp, _ = admin.post("/dashboard/gateways/"+f.gwA+"/redact", url.Values{"csrf": {csrf}, "confirm": {"yes"}}, origin)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("redaction: %d", resp.StatusCode)
		}
		_, page = admin.get("/dashboard/gateways/" + f.gwA + "?redacted=1")
		if !strings.Contains(page, `id="gateway-state">redacted`) || strings.Contains(page, `id="redact-link"`) ||
			!strings.Contains(page, `gateway.redacted</code></td><td class="actor">admin@example.com (you)`) {
			t.Errorf("after the redaction: %s", page)
		}
		for _, sec := range []string{rotatedLogin, rotatedPassword} {
			if strings.Contains(f.logs.String(), sec) {
				t.Errorf("the log holds a credential (%.6s…)", sec)
			}
		}
	})
}

func TestParseCredentialsForm(t *testing.T) {
	fields := []gateway.Field{{Name: "login", Label: "Login", Sensitive: true}, {Name: "password", Label: "Password", Sensitive: true}}
	cf, err := parseCredentialsForm(url.Values{"confirm": {"yes"}, "cred_login": {"l"}, "cred_other": {"x"}, "description": {" d "}}, fields)
	if err != nil || len(cf.Credentials) != 1 || cf.Credentials["login"] != "l" || cf.Description != "d" || cf.Validate {
		t.Fatalf("%+v %v", cf, err)
	}
	for name, tc := range map[string]struct {
		form  url.Values
		param string
	}{
		"unconfirmed": {url.Values{"cred_login": {"l"}}, "confirm"},
		"empty":       {url.Values{"confirm": {"yes"}}, "credentials"},
		"too long":    {url.Values{"confirm": {"yes"}, "cred_password": {strings.Repeat("x", maxCredentialValue+1)}}, "credentials.password"},
		"control":     {url.Values{"confirm": {"yes"}, "cred_login": {"a\nb"}}, "credentials.login"},
	} {
		_, err := parseCredentialsForm(tc.form, fields)
		if pe, ok := payment.AsError(err); !ok || pe.Param != tc.param || pe.Kind != payment.KindInvalid {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzParseCredentialsForm(f *testing.F) {
	fields := []gateway.Field{{Name: "login", Label: "Login", Sensitive: true}, {Name: "password", Label: "Password", Sensitive: true}}
	f.Add("confirm=yes&cred_login=a&cred_password=b")
	f.Add("cred_login=%00")
	f.Add("confirm=yes&cred_login=" + strings.Repeat("%ff", 50))
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		cf, err := parseCredentialsForm(form, fields)
		if err != nil {
			pe, ok := payment.AsError(err)
			if !ok || pe.Kind != payment.KindInvalid || pe.Param == "" {
				t.Fatalf("error %v", err)
			}
			if name, ok := strings.CutPrefix(pe.Param, "credentials."); ok {
				if v := form.Get("cred_" + name); strings.Contains(pe.Message, v) {
					t.Fatalf("the error echoes the value: %q", pe.Message)
				}
			}
			return
		}
		if len(cf.Credentials) == 0 || form.Get("confirm") != "yes" {
			t.Fatalf("accepted %q as %+v", body, cf)
		}
		for k, v := range cf.Credentials {
			if s := v.(string); s == "" || len(s) > maxCredentialValue || s != form.Get("cred_"+k) {
				t.Fatalf("field %s = %q", k, s)
			}
		}
	})
}
