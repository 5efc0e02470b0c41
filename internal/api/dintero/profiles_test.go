package dintero

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

func profileBody(gateway, name string) string {
	return `{"name":"` + name + `","description":"Nettbutikk",` +
		`"url":{"return_url":"https://shop.example/return","callback_url":"https://shop.example/cb"},` +
		`"configuration":{"kassa":{"gateway":"` + gateway + `"},"payex":{"creditcard":{"enabled":true}}}}`
}

const profileOrder = `"order":{"amount":500,"currency":"NOK","merchant_reference":"order-p",` +
	`"items":[{"id":"a","line_id":"1","description":"Kaffe","quantity":1,"amount":500,"vat_amount":100,"vat":25}]}`

// TestSessionProfiles: profiles are made, read, listed, replaced and
// deleted through the admin routes (a token with admin:checkout or
// x-api-key), within their account only; a session made from one takes
// its url and configuration; errors name Dintero's fields.
func TestSessionProfiles(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			f := setupOn(t, st.open(t), newKeyFile(t), nil)
			s, other := f.txShop(t), f.txShop(t)
			const base = "/v1/admin/session/profiles"
			p := expect(t, f.do(t, req{method: "POST", path: base, apiKey: s.secret, body: profileBody(s.gateway, "Standard")}), 200)
			pid, _ := p["id"].(string)
			if !strings.HasPrefix(pid, s.id+".") || p["name"] != "Standard" || p["url"].(map[string]any)["callback_url"] != "https://shop.example/cb" {
				t.Fatalf("profile %v", p)
			}
			expect(t, f.do(t, req{method: "POST", path: base, bearer: s.tok, body: profileBody(s.gateway, "Second")}), 200)
			list := f.do(t, req{method: "GET", path: base + "?limit=1", bearer: s.tok})
			if list.status != 200 || !strings.Contains(string(list.body), `"name":"Second"`) || strings.Contains(string(list.body), "Standard") {
				t.Fatalf("list %s", list.body)
			}
			got := expect(t, f.do(t, req{method: "GET", path: base + "/" + pid, bearer: s.tok}), 200)
			if got["id"] != pid || got["configuration"].(map[string]any)["payex"] == nil {
				t.Errorf("get %v", got)
			}

			// A session from the profile: the profile's url and gateway,
			// the request's order; the request's url wins where given.
			res := expect(t, f.do(t, req{method: "POST", path: "/v1/sessions-profile?include_session=true", bearer: s.tok,
				body: `{"profile_id":"` + pid + `","url":{"callback_url":"https://shop.example/other"},` + profileOrder + `}`}), 200)
			sess, _ := res["session"].(map[string]any)
			u, _ := sess["url"].(map[string]any)
			if sess == nil || u["return_url"] != "https://shop.example/return" || u["callback_url"] != "https://shop.example/other" ||
				sess["order"].(map[string]any)["amount"] != 500.0 || res["url"] != "http://example.com/checkout/dintero/v1/view/"+res["id"].(string) {
				t.Fatalf("session from profile %v", res)
			}
			plain := expect(t, f.do(t, req{method: "POST", path: "/v1/sessions-profile", bearer: s.tok,
				body: `{"profile_id":"` + pid + `",` + profileOrder + `}`}), 200)
			if len(plain) != 2 {
				t.Errorf("without include_session %v", plain)
			}
			// POST /v1/sessions takes profile_id too.
			expect(t, f.do(t, req{method: "POST", path: "/v1/sessions", bearer: s.tok, body: `{"profile_id":"` + pid + `",` + profileOrder + `}`}), 200)

			// Another account sees nothing, by its id or by this one's.
			for _, q := range []req{{method: "GET", path: base + "/" + pid}, {method: "PUT", path: base + "/" + pid, body: profileBody(s.gateway, "x")},
				{method: "DELETE", path: base + "/" + pid}, {method: "GET", path: base + "/" + other.id + ".nope"}} {
				q.bearer = other.tok
				wantDinteroError(t, f.do(t, q), 404, "")
			}
			if l := f.do(t, req{method: "GET", path: base, bearer: other.tok}); l.status != 200 || strings.TrimSpace(string(l.body)) != "[]" {
				t.Errorf("another account lists %s", l.body)
			}
			wantDinteroError(t, f.do(t, req{method: "POST", path: "/v1/sessions-profile", bearer: other.tok,
				body: `{"profile_id":"` + pid + `",` + profileOrder + `}`}), 400, "profile_id")

			// Scopes: admin:checkout only for profiles; write:checkout makes
			// sessions from them.
			for _, scope := range []string{"read:checkout", "write:checkout"} {
				tok := f.tokenScoped(t, s.merchant, scope)
				wantDinteroError(t, f.do(t, req{method: "GET", path: base, bearer: tok}), 403, "")
				wantDinteroError(t, f.do(t, req{method: "POST", path: base, bearer: tok, body: profileBody(s.gateway, "x")}), 403, "")
				wantDinteroError(t, f.do(t, req{method: "DELETE", path: base + "/" + pid, bearer: tok}), 403, "")
			}
			ro := f.tokenScoped(t, s.merchant, "read:checkout")
			wantDinteroError(t, f.do(t, req{method: "POST", path: "/v1/sessions-profile", bearer: ro, body: `{"profile_id":"` + pid + `",` + profileOrder + `}`}), 403, "")
			wo := f.tokenScoped(t, s.merchant, "write:checkout")
			expect(t, f.do(t, req{method: "POST", path: "/v1/sessions-profile", bearer: wo, body: `{"profile_id":"` + pid + `",` + profileOrder + `}`}), 200)
			wantDinteroError(t, f.do(t, req{method: "GET", path: base}), 401, "")

			for _, tc := range []struct{ path, body, field string }{
				{base, `{"description":"x"}`, "name"},
				{base, strings.Replace(profileBody(s.gateway, "x"), "https://shop.example/cb", "ftp://x", 1), "url.callback_url"},
				{base, `{"name":"x","configuration":{"kassa":[]}}`, "configuration.kassa"},
				{base, `{"name":"x","surprise":1}`, "surprise"},
				{base, `{"name":"x","configuration":{"note":"4111 1111 1111 1111"}}`, "configuration"},
				{base + "/" + pid, `{"url":{}}`, "name"},
				{base + "?limit=0", "", "limit"},
				{base + "?starting_after=nope", "", "starting_after"},
				{"/v1/sessions-profile", `{` + profileOrder + `}`, "profile_id"},
				{"/v1/sessions-profile?include_session=maybe", `{"profile_id":"` + pid + `"}`, "include_session"},
				{"/v1/sessions-profile", `{"profile_id":"` + pid + `","order":{"amount":1,"currency":"NOK","merchant_reference":"r","items":[{"description":"x","amount":2}]}}`, "order.amount"},
			} {
				method := "POST"
				switch {
				case tc.body == "":
					method = "GET"
				case strings.Count(tc.path, "/") == 5:
					method = "PUT"
				}
				res := f.do(t, req{method: method, path: tc.path, bearer: s.tok, body: tc.body})
				wantDinteroError(t, res, 400, tc.field)
				if strings.Contains(string(res.body), "4111") {
					t.Errorf("the error repeats a card number: %s", res.body)
				}
			}

			upd := expect(t, f.do(t, req{method: "PUT", path: base + "/" + pid, apiKey: s.secret, body: `{"name":"Renamed"}`}), 200)
			if upd["name"] != "Renamed" || len(upd["configuration"].(map[string]any)) != 0 {
				t.Errorf("updated %v", upd)
			}
			// Without the profile's url a session needs its own return_url.
			wantDinteroError(t, f.do(t, req{method: "POST", path: "/v1/sessions-profile", bearer: s.tok,
				body: `{"profile_id":"` + pid + `",` + profileOrder + `}`}), 400, "url.return_url")
			expect(t, f.do(t, req{method: "DELETE", path: base + "/" + pid, bearer: s.tok}), 200)
			wantDinteroError(t, f.do(t, req{method: "GET", path: base + "/" + pid, bearer: s.tok}), 404, "")
			wantDinteroError(t, f.do(t, req{method: "DELETE", path: base + "/" + pid, bearer: s.tok}), 404, "")
			if strings.Contains(f.logs.String(), "4111 1111") {
				t.Error("a card number in the log")
			}
		})
	}
}

// TestSessionUpdate: an open session's order is replaced, and the hosted
// page reads the new one; a session whose payment is in flight, a paid or
// cancelled one is a 409; another account's is a 404; errors name
// Dintero's fields.
func TestSessionUpdate(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			f := setupOn(t, st.open(t), newKeyFile(t), nil)
			s, other := f.txShop(t), f.txShop(t)
			create := func() (string, string) {
				id := expect(t, f.do(t, req{method: "POST", path: "/v1/sessions", bearer: s.tok, body: sessionBody(s.gateway, "")}), 200)["id"].(string)
				_, csID, _ := payment.ParseDinteroID(id, payment.PrefixCheckoutSession)
				return id, csID
			}
			id, csID := create()
			put := func(tok, id, body string) response {
				return f.do(t, req{method: "PUT", path: "/v1/sessions/" + id, bearer: tok, body: body})
			}
			got := expect(t, put(s.tok, id, `{`+profileOrder+`,"remove_lock":true}`), 200)
			o := got["order"].(map[string]any)
			if o["amount"] != 500.0 || o["merchant_reference"] != "order-p" || len(o["items"].([]any)) != 1 || got["status"] != "open" {
				t.Fatalf("updated %v", got)
			}
			v, err := f.eng.CheckoutPage(context.Background(), csID)
			if err != nil || v.Session.Amount != 500 || v.Session.MerchantReference != "order-p" {
				t.Fatalf("the page reads %+v, %v", v, err)
			}
			// currency and merchant_reference are kept when left out.
			got = expect(t, put(s.tok, id, `{"order":{"amount":700}}`), 200)
			if o := got["order"].(map[string]any); o["amount"] != 700.0 || o["currency"] != "NOK" || o["merchant_reference"] != "order-p" {
				t.Errorf("partial update %v", got)
			}
			for _, tc := range []struct{ body, field string }{
				{`{}`, "order"},
				{`{"order":{"currency":"NOK"}}`, "order.amount"},
				{`{"order":{"amount":900,"items":[{"description":"x","amount":800}]}}`, "order.amount"},
				{`{"order":{"amount":900,"items":[{"description":"x"}]}}`, "order.items[0].amount"},
				{`{"order":{"amount":900,"currency":"XYZ"}}`, "order.currency"},
				{`{"order":{"amount":900},"surprise":1}`, "surprise"},
			} {
				wantDinteroError(t, put(s.tok, id, tc.body), 400, tc.field)
			}
			wantDinteroError(t, put(other.tok, id, `{"order":{"amount":900}}`), 404, "")
			wantDinteroError(t, put(s.tok, other.id+".x", `{"order":{"amount":900}}`), 404, "")
			wantDinteroError(t, put(f.tokenScoped(t, s.merchant, "read:checkout"), id, `{"order":{"amount":900}}`), 403, "")

			// A payment in flight (the simulator's authorization timeout)
			// holds the order.
			card := func(n string) engine.CardInput {
				return engine.CardInput{Number: n, ExpMonth: 12, ExpYear: 2030, CVC: "737", HolderName: "Kari"}
			}
			if _, err := f.eng.PayCheckoutPage(context.Background(), csID, 1, card("4100000000000001")); err != nil {
				t.Fatal(err)
			}
			wantDinteroError(t, put(s.tok, id, `{"order":{"amount":900}}`), 409, "")
			// A paid session, and a cancelled one.
			paid, paidID := create()
			if v, err := f.eng.PayCheckoutPage(context.Background(), paidID, 1, card("4242424242424242")); err != nil || v.Session.Status != payment.CheckoutPaid {
				t.Fatalf("pay: %v %+v", err, v)
			}
			wantDinteroError(t, put(s.tok, paid, `{"order":{"amount":900}}`), 409, "")
			cancelled, _ := create()
			expect(t, f.do(t, req{method: "POST", path: "/v1/sessions/" + cancelled + "/cancel", bearer: s.tok}), 200)
			wantDinteroError(t, put(s.tok, cancelled, `{"order":{"amount":900}}`), 409, "")
		})
	}
}

// TestGoldenProfiles pins the shapes of profiles, sessions made from them,
// a session's update, and their errors.
func TestGoldenProfiles(t *testing.T) {
	f := setup(t)
	s, other := f.txShop(t), f.txShop(t)
	const base = "/v1/admin/session/profiles"
	pid := expect(t, f.do(t, req{method: "POST", path: base, bearer: s.tok, body: profileBody(s.gateway, "Standard")}), 200)["id"].(string)
	sid := expect(t, f.do(t, req{method: "POST", path: "/v1/sessions", bearer: s.tok,
		body: sessionBody(s.gateway, `,"expires_at":"2026-11-23T10:00:00Z"`)}), 200)["id"].(string)
	steps := []struct {
		name string
		q    req
	}{
		{"profile_create", req{method: "POST", path: base, body: profileBody(s.gateway, "Second")}},
		{"profile_get", req{method: "GET", path: base + "/" + pid}},
		{"profile_list", req{method: "GET", path: base + "?limit=1"}},
		{"profile_update", req{method: "PUT", path: base + "/" + pid, body: profileBody(s.gateway, "Renamed")}},
		{"session_profile_created", req{method: "POST", path: "/v1/sessions-profile?include_session=true",
			body: `{"profile_id":"` + pid + `","expires_at":"2026-11-23T10:00:00Z",` + profileOrder + `}`}},
		{"session_update", req{method: "PUT", path: "/v1/sessions/" + sid, body: `{` + profileOrder + `}`}},
		{"profile_delete", req{method: "DELETE", path: base + "/" + pid}},
		{"error_profile_not_found", req{method: "GET", path: base + "/" + pid}},
		{"error_profile_name", req{method: "POST", path: base, body: `{"description":"x"}`}},
		{"error_session_profile_id", req{method: "POST", path: "/v1/sessions-profile", body: `{"profile_id":"` + other.id + `.x",` + profileOrder + `}`}},
		{"error_session_update_amount", req{method: "PUT", path: "/v1/sessions/" + sid, body: `{"order":{"amount":1,"items":[{"description":"x","amount":2}]}}`}},
	}
	seen := map[string]string{}
	for _, st := range steps {
		st.q.bearer = s.tok
		res := f.do(t, st.q)
		body := kassaIDParts.ReplaceAll(res.body, []byte("$1.<id>"))
		body = gatewayIDs.ReplaceAll(body, []byte("gw_<id>"))
		golden(t, st.name, append([]byte(fmt.Sprintf("HTTP %d\n", res.status)), normalize(body, seen)...))
	}
}

var gatewayIDs = regexp.MustCompile(`gw_[0-9A-Za-z]{24}`)

// FuzzProfileRequest: a profile or session update body is decoded and
// checked without a panic, refused with Dintero's 400 only, never
// repeating a card number.
func FuzzProfileRequest(f *testing.F) {
	for _, s := range []string{profileBody("gw_1", "x"), `{"name":""}`, `{"name":"x","url":{"return_url":"4111111111111111"}}`,
		`{"name":"x","configuration":{"kassa":{"gateway":1}}}`, `{"order":{"amount":1,"items":[{"amount":1,"quantity":0.5}]}}`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		check := func(err error) {
			if err == nil {
				return
			}
			var de *Error
			if !errors.As(err, &de) || de.Status != http.StatusBadRequest || de.Code != CodeBadRequest {
				t.Fatalf("error %v", err)
			}
			text := de.Message
			for _, fe := range de.Errors {
				text += " " + fe.Path + " " + fe.Message
			}
			if longName(text) || longDigits(text) {
				t.Fatalf("the error repeats the body: %q", text)
			}
		}
		var p profileRequest
		err := decodeBody(body, &p)
		if err == nil {
			_, err = p.input()
		}
		check(err)
		var u sessionUpdate
		err = decodeBody(body, &u)
		if err == nil {
			_, err = u.order()
		}
		check(err)
	})
}
