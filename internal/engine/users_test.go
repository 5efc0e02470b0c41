package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

const userPassword = "fjord-bicycle-Tr0ll"

// TestDashboardUsers: a user signs in with its password only, the same
// email is added to a second account as a membership, and a failed
// sign-in says the same thing whatever failed, never echoing the password.
func TestDashboardUsers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		a, _ := f.account(t, false)
		b, _ := f.account(t, false)
		nu, err := f.eng.CreateUser(ctx, a.Account.ID, "  Kari@Example.COM ", userPassword, payment.RoleAdmin)
		if err != nil || !nu.Created || nu.User.Email != "kari@example.com" || strings.Contains(nu.User.PasswordHash, userPassword) {
			t.Fatalf("CreateUser = %+v, %v", nu, err)
		}
		again, err := f.eng.CreateUser(ctx, b.Account.ID, "kari@example.com", "", payment.RoleViewer)
		if err != nil || again.Created || again.User.ID != nu.User.ID || again.Membership.Role != payment.RoleViewer {
			t.Fatalf("second account = %+v, %v", again, err)
		}
		if _, err := f.eng.CreateUser(ctx, b.Account.ID, "kari@example.com", "", payment.RoleAdmin); !errors.Is(err, payment.ErrConflict) {
			t.Errorf("same membership again: %v, want conflict", err)
		}
		if _, err := f.eng.CreateUser(ctx, "T00000000", "ola@example.com", userPassword, payment.RoleAdmin); !errors.Is(err, payment.ErrNotFound) {
			t.Errorf("no such account: %v", err)
		}
		for _, tc := range []struct{ email, pw, role, param string }{
			{"not an email", userPassword, "admin", "email"},
			{"Ola <ola@example.com>", userPassword, "admin", "email"},
			{"ola@example.com", "short", "admin", "password"},
			{"ola@example.com", userPassword, "owner", "role"},
		} {
			_, err := f.eng.CreateUser(ctx, a.Account.ID, tc.email, tc.pw, payment.Role(tc.role))
			pe, ok := payment.AsError(err)
			if !ok || pe.Kind != payment.KindInvalid || pe.Param != tc.param || strings.Contains(err.Error(), tc.pw) {
				t.Errorf("%+v: %v, want invalid %s", tc, err, tc.param)
			}
		}

		u, err := f.eng.Login(ctx, "KARI@example.com", userPassword)
		if err != nil || u.ID != nu.User.ID {
			t.Fatalf("Login = %+v, %v", u, err)
		}
		var msgs []string
		for _, tc := range [][2]string{{"kari@example.com", userPassword + "x"}, {"nobody@example.com", userPassword},
			{"", ""}, {"kari@example.com", strings.Repeat("x", 5000)}} {
			_, err := f.eng.Login(ctx, tc[0], tc[1])
			pe, ok := payment.AsError(err)
			if !ok || pe.Kind != payment.KindUnauthenticated || pe.Code != engine.CodeInvalidLogin || pe.Param != "" {
				t.Errorf("Login(%q) = %v, want the one invalid-login error", tc[0], err)
				continue
			}
			if strings.Contains(err.Error(), userPassword) {
				t.Errorf("error holds the password: %v", err)
			}
			msgs = append(msgs, pe.Message)
		}
		for _, m := range msgs {
			if m != msgs[0] {
				t.Errorf("failed sign-ins differ: %q vs %q", m, msgs[0])
			}
		}
		if strings.Contains(f.logs.String(), userPassword) {
			t.Error("the password is in the log")
		}
	})
}

// TestDashboardSessions: a session is found by its token, follows its
// current account among the user's memberships only, ends on sign-out,
// after the idle timeout and at its expiry.
func TestDashboardSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		a, _ := f.account(t, false)
		b, _ := f.account(t, false)
		other, _ := f.account(t, false)
		nu, err := f.eng.CreateUser(ctx, a.Account.ID, "ola@example.com", userPassword, payment.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Add(time.Second) // memberships list oldest first
		if _, err := f.eng.CreateUser(ctx, b.Account.ID, "ola@example.com", "", payment.RoleViewer); err != nil {
			t.Fatal(err)
		}
		tok, ds, err := f.eng.StartDashboardSession(ctx, nu.User)
		if err != nil || ds.AccountID != a.Account.ID || len(ds.CSRFSecret) != 32 {
			t.Fatalf("StartDashboardSession = %+v, %v", ds, err)
		}
		if got, _ := f.store.DashboardSession(ctx, engine.TokenHash(tok)); got == nil || string(got.TokenHash) == tok {
			t.Fatal("the session is not stored by its token's hash")
		}
		v, err := f.eng.DashboardSession(ctx, tok)
		if err != nil || v.Account.ID != a.Account.ID || v.Role != payment.RoleAdmin || len(v.Memberships) != 2 {
			t.Fatalf("DashboardSession = %+v, %v", v, err)
		}
		if p := v.Principal(); p.Key != nil || p.User.ID != nu.User.ID || p.Actor() != "user:"+nu.User.ID {
			t.Errorf("principal %+v", p)
		}
		if _, err := f.eng.DashboardSession(ctx, tok+"0"); !errors.Is(err, &payment.Error{Kind: payment.KindUnauthenticated}) {
			t.Errorf("wrong token: %v", err)
		}
		if _, err := f.eng.SwitchDashboardAccount(ctx, v, other.Account.ID); !errors.Is(err, payment.ErrNotFound) {
			t.Errorf("switch to a foreign account: %v, want not found", err)
		}
		v, err = f.eng.SwitchDashboardAccount(ctx, v, b.Account.ID)
		if err != nil || v.Account.ID != b.Account.ID || v.Role != payment.RoleViewer {
			t.Fatalf("switch = %+v, %v", v, err)
		}
		if v, err = f.eng.DashboardSession(ctx, tok); err != nil || v.Account.ID != b.Account.ID {
			t.Fatalf("after switch = %+v, %v", v, err)
		}

		// Active within the idle timeout keeps it; idle past it ends it.
		f.clock.Add(20 * time.Minute)
		if _, err := f.eng.DashboardSession(ctx, tok); err != nil {
			t.Fatalf("active session: %v", err)
		}
		f.clock.Add(31 * time.Minute)
		if _, err := f.eng.DashboardSession(ctx, tok); err == nil {
			t.Fatal("idle session still open")
		}

		// Expiry ends even an active session.
		tok2, _, err := f.eng.StartDashboardSession(ctx, nu.User)
		if err != nil {
			t.Fatal(err)
		}
		for range 12 * 4 {
			f.clock.Add(15 * time.Minute)
			if _, err := f.eng.DashboardSession(ctx, tok2); err != nil {
				break
			}
		}
		if _, err := f.eng.DashboardSession(ctx, tok2); err == nil {
			t.Fatal("session open past its expiry")
		}

		tok3, _, err := f.eng.StartDashboardSession(ctx, nu.User)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.eng.EndDashboardSession(ctx, tok3); err != nil {
			t.Fatal(err)
		}
		if _, err := f.eng.DashboardSession(ctx, tok3); err == nil {
			t.Fatal("signed-out session still open")
		}
	})
}

// TestEventActors: the events of a payment made with an API key name the
// key; those of a refund a dashboard user made name the user; the
// reconciler's own would name no one.
func TestEventActors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		p, _ := f.account(t, false)
		nu, err := f.eng.CreateUser(ctx, p.Account.ID, "kari@example.com", userPassword, payment.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		g, err := f.eng.CreateGateway(ctx, p, engine.GatewayInput{Type: "simulator", Description: "sim"})
		if err != nil {
			t.Fatal(err)
		}
		pm, err := f.eng.CreatePaymentMethod(ctx, p, engine.PaymentMethodInput{Type: "card", Card: visa("123")})
		if err != nil {
			t.Fatal(err)
		}
		pay, err := f.eng.CreatePayment(ctx, p, engine.PaymentInput{Amount: 1000, Currency: "EUR", PaymentMethodID: pm.ID, GatewayID: g.ID})
		if err != nil {
			t.Fatal(err)
		}
		user := &payment.Principal{Account: p.Account, User: nu.User}
		if _, _, err := f.eng.Refund(ctx, user, pay.ID, new(int64(300)), ""); err != nil {
			t.Fatal(err)
		}
		evs, _, err := f.store.Events(ctx, p.Account.ID, payment.ListParams{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]string{}
		for _, ev := range evs {
			if ev.ObjectID == pay.ID {
				seen[ev.Type] = ev.Actor
			}
		}
		if seen["payment.created"] != p.Key.ID || seen["payment.purchase.succeeded"] != p.Key.ID {
			t.Errorf("the key's payment: actors %v, want %s", seen, p.Key.ID)
		}
		if seen["payment.refund.succeeded"] != "user:"+nu.User.ID {
			t.Errorf("the user's refund: actors %v", seen)
		}
	})
}
