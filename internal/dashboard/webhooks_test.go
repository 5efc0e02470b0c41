package dashboard

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/webhook"
)

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
	}
}

// TestWebhookPages: the endpoints list, an endpoint's delivery log with a
// failed attempt (status code, error), redelivery after the receiver is
// fixed, recovery of a window, the audit trail naming the user, refused
// forms that change nothing, viewers without actions, and another
// account's endpoint not found.
func TestWebhookPages(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		var status atomic.Int32
		status.Store(http.StatusInternalServerError)
		receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(int(status.Load()))
		}))
		t.Cleanup(receiver.Close)
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			f.eng.RunWebhooks(runCtx, engine.WebhookOptions{Client: webhook.NewClient(true), Schedule: webhook.Schedule{0}, Poll: 10 * time.Millisecond})
		}()
		t.Cleanup(func() { stop(); <-done })

		u := receiver.URL + "/hooks"
		we, err := f.eng.CreateWebhookEndpoint(ctx, f.a, engine.WebhookEndpointInput{URL: &u, EnabledEvents: []string{"payment.created"}})
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := f.eng.CreateWebhookEndpoint(ctx, f.b, engine.WebhookEndpointInput{URL: &u, EnabledEvents: []string{"payment.created"}})
		if err != nil {
			t.Fatal(err)
		}
		f.user(t, f.a.Account.ID, "admin@example.com", payment.RoleAdmin)
		f.user(t, f.a.Account.ID, "viewer@example.com", payment.RoleViewer)
		pay := f.pay(t, f.a, f.gwA, "order-1")
		evs, _, err := f.eng.ObjectEvents(ctx, f.a.Account.ID, pay.ID, payment.ListParams{Limit: 10, Ascending: true})
		if err != nil || evs[0].Type != "payment.created" {
			t.Fatalf("events %+v %v", evs, err)
		}
		created := evs[0]
		attempts := func() []*payment.WebhookAttempt {
			as, _, err := f.eng.WebhookAttempts(ctx, f.a, we.ID, payment.ListParams{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			return as
		}
		waitFor(t, "the failed attempt", func() bool { return len(attempts()) == 1 })

		admin := f.browser(t)
		csrf := admin.signIn("admin@example.com")
		origin := map[string]string{"Origin": f.srv.URL}
		resp, page := admin.get("/dashboard/webhooks")
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, `href="/dashboard/webhooks/`+we.ID+`"`) || strings.Contains(page, theirs.ID) {
			t.Fatalf("endpoints: %d %s", resp.StatusCode, page)
		}
		resp, page = admin.get("/dashboard/webhooks/" + we.ID)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, "o-failed\">failed") || !strings.Contains(page, `<td class="num">500</td>`) ||
			!strings.Contains(page, `href="/dashboard/webhooks/`+we.ID+`/redeliver?event=`+created.ID+`"`) {
			t.Fatalf("delivery log: %d %s", resp.StatusCode, page)
		}
		if strings.Contains(page, we.Secret) {
			t.Fatal("the endpoint page shows its signing secret")
		}

		// The confirm step, then the redelivery, to a fixed receiver.
		status.Store(http.StatusOK)
		resp, page = admin.get("/dashboard/webhooks/" + we.ID + "/redeliver?event=" + created.ID)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="event" value="`+created.ID+`"`) {
			t.Fatalf("redeliver step: %d %s", resp.StatusCode, page)
		}
		if resp, _ := admin.post("/dashboard/webhooks/"+we.ID+"/redeliver", url.Values{"csrf": {csrf}, "event": {created.ID}}, origin); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("redelivery without the confirm step: %d", resp.StatusCode)
		}
		resp, _ = admin.post("/dashboard/webhooks/"+we.ID+"/redeliver", url.Values{"csrf": {csrf}, "confirm": {"yes"}, "event": {created.ID}}, origin)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dashboard/webhooks/"+we.ID+"?queued=1" {
			t.Fatalf("redelivery: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		waitFor(t, "the redelivered attempt", func() bool { as := attempts(); return len(as) == 2 && as[0].Succeeded })
		_, page = admin.get("/dashboard/webhooks/" + we.ID + "?queued=1")
		if !strings.Contains(page, "1 delivery queued") || !strings.Contains(page, "o-succeeded\">delivered") ||
			!regexp.MustCompile(`webhook_endpoint.redelivered</code></td><td class="actor">admin@example.com \(you\)`).MatchString(page) {
			t.Errorf("after the redelivery: %s", page)
		}

		// Recovery: bad windows are refused naming the field; a window
		// without failures queues nothing and is written down.
		for q, param := range map[string]string{"since=yesterday": "since", "until=2026-13-01T00:00": "until",
			"since=2026-01-02T00:00&until=2026-01-01T00:00": "until"} {
			resp, page := admin.get("/dashboard/webhooks/" + we.ID + "/recover?" + q)
			if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, param) {
				t.Errorf("recover %s: %d", q, resp.StatusCode)
			}
		}
		since := time.Now().UTC().Add(-time.Hour).Format(windowLayout)
		resp, page = admin.get("/dashboard/webhooks/" + we.ID + "/recover?since=" + url.QueryEscape(since))
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="since" value="`+since+`"`) {
			t.Fatalf("recover step: %d %s", resp.StatusCode, page)
		}
		resp, _ = admin.post("/dashboard/webhooks/"+we.ID+"/recover", url.Values{"csrf": {csrf}, "confirm": {"yes"}, "since": {since}}, origin)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dashboard/webhooks/"+we.ID+"?queued=0" {
			t.Fatalf("recovery: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		audit, _, err := f.eng.ObjectEvents(ctx, f.a.Account.ID, we.ID, payment.ListParams{Limit: 1})
		if err != nil || audit[0].Type != engine.EventWebhookEndpointRedelivered || !strings.HasPrefix(audit[0].Actor, "user:usr_") ||
			!strings.Contains(string(audit[0].Data), `"kind":"recover"`) {
			t.Fatalf("recovery event %+v %v", audit, err)
		}

		// A viewer sees the log without actions, and may not act.
		viewer := f.browser(t)
		vcsrf := viewer.signIn("viewer@example.com")
		_, page = viewer.get("/dashboard/webhooks/" + we.ID)
		if strings.Contains(page, "/redeliver?") || strings.Contains(page, `id="recover-form"`) || strings.Count(page, "<form") != 1 {
			t.Errorf("a viewer's endpoint page has actions: %s", page)
		}
		for _, path := range []string{"/redeliver?event=" + created.ID, "/recover"} {
			if resp, _ := viewer.get("/dashboard/webhooks/" + we.ID + path); resp.StatusCode != http.StatusForbidden {
				t.Errorf("viewer's GET %s: %d, want 403", path, resp.StatusCode)
			}
		}
		for _, path := range []string{"/redeliver", "/recover"} {
			if resp, _ := viewer.post("/dashboard/webhooks/"+we.ID+path, url.Values{"csrf": {vcsrf}, "confirm": {"yes"}, "event": {created.ID}}, nil); resp.StatusCode != http.StatusForbidden {
				t.Errorf("viewer's POST %s: %d, want 403", path, resp.StatusCode)
			}
		}

		// Another account's endpoint: not found, in every page and action.
		for _, path := range []string{"", "/redeliver?event=" + created.ID, "/recover"} {
			if resp, _ := admin.get("/dashboard/webhooks/" + theirs.ID + path); resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET another account's endpoint%s: %d, want 404", path, resp.StatusCode)
			}
		}
		for _, path := range []string{"/redeliver", "/recover"} {
			if resp, _ := admin.post("/dashboard/webhooks/"+theirs.ID+path, url.Values{"csrf": {csrf}, "confirm": {"yes"}, "event": {created.ID}}, origin); resp.StatusCode != http.StatusNotFound {
				t.Errorf("POST %s to another account's endpoint: %d, want 404", path, resp.StatusCode)
			}
		}
		if evs, _, _ := f.eng.ObjectEvents(ctx, f.b.Account.ID, theirs.ID, payment.ListParams{Limit: 10}); len(evs) != 1 {
			t.Errorf("another account's endpoint has %d events, want its creation only", len(evs))
		}
		// Another account's event, to my endpoint: not found either.
		pB := f.pay(t, f.b, mustGateway(t, f), "order-B")
		if resp, _ := admin.get("/dashboard/webhooks/" + we.ID + "/redeliver?event=" + firstEvent(t, f, pB).ID); resp.StatusCode != http.StatusNotFound {
			t.Errorf("another account's event: %d, want 404", resp.StatusCode)
		}
		if resp, _ := admin.get("/dashboard/webhooks/" + we.ID + "/redeliver?event=nope"); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("a malformed event id: %d, want 422", resp.StatusCode)
		}
		if strings.Contains(f.logs.String(), we.Secret) {
			t.Error("the log holds the signing secret")
		}
	})
}

func mustGateway(t *testing.T, f *fixture) string {
	t.Helper()
	g, err := f.eng.CreateGateway(context.Background(), f.b, engine.GatewayInput{Type: "simulator"})
	if err != nil {
		t.Fatal(err)
	}
	return g.ID
}

func firstEvent(t *testing.T, f *fixture, p *payment.Payment) *payment.Event {
	t.Helper()
	evs, _, err := f.eng.ObjectEvents(context.Background(), p.AccountID, p.ID, payment.ListParams{Limit: 1, Ascending: true})
	if err != nil || len(evs) == 0 {
		t.Fatal(evs, err)
	}
	return evs[0]
}

func TestParseWindow(t *testing.T) {
	since, until, err := parseWindow(url.Values{"since": {"2026-01-31T14:00"}, "until": {"2026-02-01T00:00:00Z"}})
	if err != nil || !since.Equal(time.Date(2026, 1, 31, 14, 0, 0, 0, time.UTC)) || !until.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatal(since, until, err)
	}
	if s, u, err := parseWindow(url.Values{}); err != nil || !s.IsZero() || !u.IsZero() {
		t.Fatal(s, u, err)
	}
}

func FuzzParseWindow(f *testing.F) {
	f.Add("2026-01-31T14:00", "2026-02-01T00:00")
	f.Add("", "1999-01-01T00:00")
	f.Add("2026-01-31T14:00:05", "2026-01-31T14:00:05+02:00")
	f.Fuzz(func(t *testing.T, since, until string) {
		s, u, err := parseWindow(url.Values{"since": {since}, "until": {until}})
		if err != nil {
			if pe, ok := payment.AsError(err); !ok || pe.Kind != payment.KindInvalid || (pe.Param != "since" && pe.Param != "until") {
				t.Fatalf("error %v", err)
			}
			return
		}
		if !s.IsZero() && !u.IsZero() && !s.Before(u) {
			t.Fatalf("accepted a reversed window %v %v", s, u)
		}
		if (since == "") != s.IsZero() && strings.TrimSpace(since) != "" {
			t.Fatalf("since %q read as %v", since, s)
		}
	})
}

func FuzzParseEventID(f *testing.F) {
	f.Add("evt_123")
	f.Add("")
	f.Add("pay_1")
	f.Fuzz(func(t *testing.T, id string) {
		got, err := parseEventID(url.Values{"event": {id}})
		if err != nil {
			if pe, ok := payment.AsError(err); !ok || pe.Param != "event" {
				t.Fatalf("error %v", err)
			}
			return
		}
		if got != id || !strings.HasPrefix(got, "evt_") || len(got) > maxEventID {
			t.Fatalf("accepted %q", id)
		}
	})
}
