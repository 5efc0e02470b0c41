package dashboard

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/gateway/simulator"
	"github.com/kassapay/kassa/internal/password"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store/pgtest"
	"github.com/kassapay/kassa/internal/store/sqlite"
	"github.com/kassapay/kassa/internal/vault"
)

// benchPayments is how many payments BenchmarkDashboardPages preloads
// into the signed-in account.
const benchPayments = 100_000

// benchPages are the pages BenchmarkDashboardPages renders, by the path
// of their GET. A new page is one line here; {pay} is a preloaded
// payment's id, {gw} the account's gateway's, {key} its secret key's,
// {usr} the signed-in user's.
var benchPages = []struct{ name, path string }{
	{"overview", "/dashboard/"},
	{"payments", "/dashboard/payments"},
	{"payments_page_2", "/dashboard/payments?starting_after={pay}"},
	{"payments_by_reference", "/dashboard/payments?q=order-77777"},
	{"payments_by_id", "/dashboard/payments?q={pay}"},
	{"payments_by_status", "/dashboard/payments?status=UNKNOWN"},
	{"payment", "/dashboard/payments/{pay}"},
	{"review", "/dashboard/review"},
	{"gateways", "/dashboard/gateways"},
	{"gateway", "/dashboard/gateways/{gw}"},
	{"webhooks", "/dashboard/webhooks"},
	{"keys", "/dashboard/keys"},
	{"key", "/dashboard/keys/{key}"},
	{"member", "/dashboard/users/{usr}"},
}

// importer is the stores' bulk load of test payments.
type importer interface {
	ImportPayments(ctx context.Context, ps []*payment.Payment) error
}

// BenchmarkDashboardPages renders each dashboard page through the
// dashboard's HTTP handler (session, engine, store, template; no network)
// for an admin of an account of 100,000 payments, on both stores
// (figures in docs/benchmarks.md, "Dashboard pages"). A page not built
// yet is skipped (404).
func BenchmarkDashboardPages(b *testing.B) {
	for _, be := range []struct {
		name string
		open func(b *testing.B) payment.Store
	}{
		{"sqlite", func(b *testing.B) payment.Store {
			st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "kassa.db"), sqlite.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return st
		}},
		{"postgres", func(b *testing.B) payment.Store { return pgtest.Open(b) }},
	} {
		b.Run(be.name, func(b *testing.B) {
			h, cookie, vars := benchDashboard(b, be.open(b))
			for _, pg := range benchPages {
				path := pg.path
				for k, v := range vars {
					path = strings.ReplaceAll(path, k, v)
				}
				b.Run(pg.name, func(b *testing.B) {
					req := httptest.NewRequest(http.MethodGet, path, nil)
					req.AddCookie(cookie)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code == http.StatusNotFound {
						b.Skipf("%s: no such page yet", path)
					}
					if rec.Code != http.StatusOK {
						b.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
					}
					size := rec.Body.Len()
					for b.Loop() {
						rec := httptest.NewRecorder()
						h.ServeHTTP(rec, req)
						if rec.Code != http.StatusOK {
							b.Fatalf("%s: %d", path, rec.Code)
						}
					}
					b.ReportMetric(float64(size), "bytes/page")
				})
			}
		})
	}
}

// benchDashboard preloads an account with benchPayments payments over the
// last 30 days (one in ten declined, one in 2,000 unknown and flagged for
// review), signs in one of its admins and returns the dashboard's handler
// with the session's cookie and the page variables.
func benchDashboard(b *testing.B, st payment.Store) (http.Handler, *http.Cookie, map[string]string) {
	ctx := context.Background()
	keyFile := filepath.Join(b.TempDir(), "master.key")
	if _, err := vault.CreateDevKeyFile(keyFile); err != nil {
		b.Fatal(err)
	}
	v, err := vault.New(st, vault.NewFileSource(keyFile), vault.Options{})
	if err != nil {
		b.Fatal(err)
	}
	eng := engine.New(engine.Config{Store: st, Vault: v, Logger: slog.New(slog.DiscardHandler),
		Gateways: gateway.NewRegistry(simulator.New(simulator.Options{})), PasswordParams: password.Params{Memory: 64, Time: 1, Threads: 1}})
	na, err := eng.CreateAccount(ctx, "Bench AS", false)
	if err != nil {
		b.Fatal(err)
	}
	p, err := eng.Authenticate(ctx, na.SecretKey)
	if err != nil {
		b.Fatal(err)
	}
	g, err := eng.CreateGateway(ctx, p, engine.GatewayInput{Type: "simulator", Description: "sim"})
	if err != nil {
		b.Fatal(err)
	}
	pm, err := eng.CreatePaymentMethod(ctx, p, engine.PaymentMethodInput{Type: "card",
		Card: &engine.CardInput{Number: "4111111111111111", ExpMonth: 12, ExpYear: 2031, CVC: "737"}})
	if err != nil {
		b.Fatal(err)
	}
	imp, ok := st.(importer)
	if !ok {
		b.Fatalf("%T cannot import payments", st)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	step := 30 * 24 * time.Hour / benchPayments
	const chunk = 5000
	var some string
	for done := 0; done < benchPayments; done += chunk {
		ps := make([]*payment.Payment, 0, chunk)
		for i := done; i < done+chunk; i++ {
			t := now.Add(-time.Duration(benchPayments-i) * step)
			ps = append(ps, benchPayment(p.Account.ID, g.ID, pm.ID, i, t))
		}
		if err := imp.ImportPayments(ctx, ps); err != nil {
			b.Fatal(err)
		}
		if done == benchPayments/2 {
			some = ps[0].ID
		}
	}
	if err := eng.Sweep(ctx); err != nil { // statistics, as the server's sweeper keeps them
		b.Fatal(err)
	}
	nu, err := eng.CreateUser(ctx, p.Account.ID, "bench@example.com", testPassword, payment.RoleAdmin)
	if err != nil {
		b.Fatal(err)
	}
	token, _, err := eng.StartDashboardSession(ctx, nu.User)
	if err != nil {
		b.Fatal(err)
	}
	opts := Options{}
	h := newServer(eng, &opts).handler(&opts)
	return h, &http.Cookie{Name: sessionCookie, Value: token}, map[string]string{"{pay}": some, "{gw}": g.ID, "{key}": p.Key.ID, "{usr}": nu.User.ID}
}

// benchPayment is the preload's i-th payment, made at t, with its
// purchase.
func benchPayment(accountID, gatewayID, pmID string, i int, t time.Time) *payment.Payment {
	amount := int64(i%999+1) * 10
	p := &payment.Payment{ID: payment.NewIDAt(payment.PrefixPayment, t), AccountID: accountID, Amount: amount,
		Currency: "NOK", GatewayID: gatewayID, CredentialVersion: 1, PaymentMethodID: pmID, Capture: true,
		Reference: fmt.Sprintf("order-%d", i), Metadata: map[string]string{}, Status: payment.StatusCaptured,
		AmountAuthorized: amount, AmountCaptured: amount, Test: true, CreatedAt: t, UpdatedAt: t}
	op := &payment.Operation{ID: payment.NewIDAt(payment.PrefixOperation, t), AccountID: accountID, PaymentID: p.ID,
		PaymentMethodID: pmID, GatewayID: gatewayID, CredentialVersion: 1, Kind: payment.OpPurchase, Amount: amount,
		Currency: "NOK", Outcome: payment.OutcomeSucceeded, GatewayReference: fmt.Sprintf("sim_%d", i),
		CreatedAt: t, UpdatedAt: t.Add(time.Duration(i%500) * time.Millisecond)}
	switch {
	case i%2000 == 0:
		p.Status, p.RequiresReview, p.AmountAuthorized, p.AmountCaptured = payment.StatusUnknown, true, 0, 0
		op.Outcome = payment.OutcomeUnknown
	case i%10 == 0:
		p.Status, p.AmountAuthorized, p.AmountCaptured = payment.StatusDeclined, 0, 0
		op.Outcome, op.DeclineCode = payment.OutcomeDeclined, "insufficient_funds"
	}
	p.Operations = []*payment.Operation{op}
	return p
}
