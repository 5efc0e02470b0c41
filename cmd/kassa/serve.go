package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/api/dintero"
	"github.com/kassapay/kassa/internal/api/ixopay"
	"github.com/kassapay/kassa/internal/api/native"
	"github.com/kassapay/kassa/internal/api/spreedly"
	"github.com/kassapay/kassa/internal/dashboard"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/gateway/adyen"
	"github.com/kassapay/kassa/internal/gateway/authorizenet"
	"github.com/kassapay/kassa/internal/gateway/collector"
	"github.com/kassapay/kassa/internal/gateway/simulator"
	"github.com/kassapay/kassa/internal/gateway/simulator/simhttp"
	"github.com/kassapay/kassa/internal/gateway/stripe"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store/postgres"
	"github.com/kassapay/kassa/internal/store/sqlite"
	"github.com/kassapay/kassa/internal/web"
	"github.com/kassapay/kassa/internal/webhook"
)

// serveConfig is what kassa serve's flags (and their KASSA_* variables) set.
type serveConfig struct {
	storage storageFlags

	addr, spreedlyAddr, ixopayAddr, dinteroAddr, metricsAddr, logLevel string
	publicURL                                                          string
	maxBody                                                            int64

	cacheTTL, cvcTTL, sweepEvery, shutdownWait time.Duration

	callTimeout, staleAfter, reconcileEvery time.Duration
	breakerThreshold                        int
	breakerOpenFor                          time.Duration

	webhookAllowPrivate bool
	webhookSchedule     string
	gatewayAllowPrivate bool
}

// serveFlags is kassa serve's flag set, filling c. The tests parse the
// Dockerfile's and the compose example's command lines with it.
func serveFlags(c *serveConfig, stderr io.Writer) *flag.FlagSet {
	fs := newFlagSet("kassa serve", "Usage: kassa serve [flags]\n\nRuns the kassa server. With no flags: SQLite in ./kassa-data, listening on 127.0.0.1:8080,\na development master key generated on first start, and a test-mode account created\n(and its keys printed once) when the database has no accounts.", stderr)
	c.storage.register(fs)
	c.storage.registerCreateDatabase(fs)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "address of the main listener: the native API at /v1, the Spreedly dialect at /spreedly/v1, the IXOPAY dialect at /ixopay/api, the Dintero dialect at /dintero/v1")
	fs.StringVar(&c.spreedlyAddr, "spreedly-addr", "", "optional dedicated listener serving the Spreedly dialect at /v1, for clients that cannot take a path prefix")
	fs.StringVar(&c.ixopayAddr, "ixopay-addr", "", "optional dedicated listener serving the IXOPAY dialect at /api, for clients that cannot take a path prefix")
	fs.StringVar(&c.dinteroAddr, "dintero-addr", "", "optional dedicated listener serving the Dintero dialect at /v1, for clients that cannot take a path prefix")
	fs.StringVar(&c.metricsAddr, "metrics-addr", "", "optional listener serving Prometheus metrics at /metrics, apart from the API (KASSA_METRICS_TOKEN, when set, is the bearer token it requires)")
	fs.StringVar(&c.publicURL, "public-url", "", "base URL customers reach kassa at, for the hosted checkout page's links (https://pay.example.com); default: the origin each API request came to")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.DurationVar(&c.cacheTTL, "cache-ttl", 24*time.Hour, "how long a payment method that was never retained keeps its card number")
	fs.DurationVar(&c.cvcTTL, "cvc-ttl", time.Hour, "how long a CVC is kept for the first authorization")
	fs.DurationVar(&c.sweepEvery, "sweep-interval", time.Minute, "how often expired CVCs, cached payment methods and idempotency keys are cleared")
	fs.DurationVar(&c.shutdownWait, "shutdown-timeout", 30*time.Second, "how long shutdown waits for in-flight requests")
	fs.Int64Var(&c.maxBody, "max-body-bytes", 1<<20, "largest request body accepted")
	fs.DurationVar(&c.callTimeout, "call-timeout", 30*time.Second, "deadline of one gateway call; a call that runs out is settled later by the reconciler")
	fs.DurationVar(&c.staleAfter, "stale-after", 0, "how long an operation may stay pending before it is taken for abandoned by a process that died, and its gateway asked (0: --call-timeout + 30s; must exceed --call-timeout)")
	fs.DurationVar(&c.reconcileEvery, "reconcile-interval", 2*time.Second, "how often operations with an unknown outcome are looked for")
	fs.IntVar(&c.breakerThreshold, "breaker-threshold", 5, "consecutive not-sent or unknown outcomes that open a gateway's circuit breaker")
	fs.DurationVar(&c.breakerOpenFor, "breaker-open-for", 30*time.Second, "how long an open circuit breaker skips its gateway before one trial call")
	fs.BoolVar(&c.webhookAllowPrivate, "webhook-allow-private", false, "let live accounts' webhook endpoints point at loopback, private and link-local addresses (test accounts always may)")
	fs.BoolVar(&c.gatewayAllowPrivate, "gateway-allow-private", false, "let live accounts' gateways connect to loopback, private and link-local addresses, for a provider reached through a private network or proxy (test accounts always may)")
	fs.StringVar(&c.webhookSchedule, "webhook-schedule", "", "waits before each webhook attempt, comma-separated (default 0s,5s,5m,30m,2h,5h,10h,10h); for tests that compress the schedule")
	return fs
}

func (m *Main) serve(ctx context.Context, args []string) error {
	var c serveConfig
	fs := serveFlags(&c, m.Stderr)
	if err := parseFlags(fs, args, m.Getenv); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	if c.sweepEvery <= 0 || c.reconcileEvery <= 0 || c.callTimeout <= 0 {
		return errors.New("--sweep-interval, --reconcile-interval and --call-timeout must be positive")
	}
	if c.staleAfter != 0 && c.staleAfter <= c.callTimeout {
		return errors.New("--stale-after must exceed --call-timeout: a call may be sent until then")
	}
	if c.publicURL != "" {
		if u, err := url.Parse(c.publicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.RawQuery != "" || u.Fragment != "" {
			return errors.New("--public-url must be an absolute http(s) URL without query or fragment")
		}
	}
	schedule, err := parseSchedule(c.webhookSchedule)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(m.Stderr, &slog.HandlerOptions{Level: level}))

	if c.storage.databaseURL == "" {
		release, err := lockDataDir(c.storage.dataDir)
		if err != nil {
			return err
		}
		defer release()
	}
	st, v, err := c.storage.openVault(ctx, m.Getenv, m.Stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	gateways, err := gatewayRegistry(st, c.gatewayAllowPrivate)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	eng := engine.New(engine.Config{Store: st, Vault: v, Logger: log, CacheTTL: c.cacheTTL, CVCTTL: c.cvcTTL, Observer: newEngineMetrics(reg),
		Gateways: gateways, CallTimeout: c.callTimeout, StaleAfter: c.staleAfter, BreakerThreshold: c.breakerThreshold, BreakerOpenFor: c.breakerOpenFor,
		WebhookAllowPrivate: c.webhookAllowPrivate, GatewayAllowPrivate: c.gatewayAllowPrivate})

	if err := m.bootstrapAccount(ctx, eng); err != nil {
		return err
	}

	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newBreakerCollector(eng), newBacklogCollector(eng), newWebhookBacklogCollector(eng))
	webhookObserver := newWebhookMetrics(reg)
	if ws, ok := st.(interface{ Stats() sqlite.WriteStats }); ok {
		reg.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "kassa_sqlite_commits_total",
				Help: "Durable commits of the SQLite writer (each an fsync); a commit carries a batch of write units."},
				func() float64 { return float64(ws.Stats().Commits) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "kassa_sqlite_write_units_total",
				Help: "Write transactions as kassa's code asks for them, committed by the SQLite writer in batches."},
				func() float64 { return float64(ws.Stats().Units) }))
	}
	if ps, ok := st.(interface{ Stats() postgres.Stats }); ok {
		reg.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "kassa_postgres_statements_total",
				Help: "Statements sent to PostgreSQL, alone or in batches."},
				func() float64 { return float64(ps.Stats().Statements) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "kassa_postgres_round_trips_total",
				Help: "Round trips to PostgreSQL (a batch of statements is one)."},
				func() float64 { return float64(ps.Stats().RoundTrips) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "kassa_postgres_commits_total",
				Help: "Transactions committed on PostgreSQL."},
				func() float64 { return float64(ps.Stats().Commits) }))
	}
	spreedlyAPI := spreedly.New(eng, spreedly.Options{Logger: log, Registry: reg, MaxBody: c.maxBody})
	mux := http.NewServeMux()
	mux.Handle("/spreedly/", http.StripPrefix("/spreedly", spreedlyAPI))
	ixopayAPI := ixopay.New(eng, ixopay.Options{Logger: log, Registry: reg, MaxBody: c.maxBody})
	mux.Handle("/ixopay/", http.StripPrefix("/ixopay", ixopayAPI))
	dinteroAPI := dintero.New(eng, dintero.Options{Logger: log, Registry: reg, MaxBody: c.maxBody, PublicURL: c.publicURL})
	mux.Handle("/dintero/", http.StripPrefix("/dintero", dinteroAPI))
	page := web.New(eng, web.Options{Logger: log, Registry: reg})
	mux.Handle("/checkout/", page)
	mux.Handle(dashboard.Base+"/", dashboard.New(eng, dashboard.Options{Logger: log, Registry: reg,
		SecureCookies: strings.HasPrefix(c.publicURL, "https://")}))
	mux.Handle("/", native.New(eng, native.Options{Logger: log, Registry: reg, MaxBody: c.maxBody, PublicURL: c.publicURL}))
	listeners := []listener{{name: "native", addr: c.addr, handler: mux}}
	if c.spreedlyAddr != "" {
		listeners = append(listeners, listener{name: "spreedly", addr: c.spreedlyAddr, handler: spreedlyAPI})
	}
	if c.ixopayAddr != "" {
		listeners = append(listeners, listener{name: "ixopay", addr: c.ixopayAddr, handler: ixopayAPI})
	}
	if c.dinteroAddr != "" {
		listeners = append(listeners, listener{name: "dintero", addr: c.dinteroAddr, handler: dinteroListener(dinteroAPI, page)})
	}
	if c.metricsAddr != "" {
		listeners = append(listeners, listener{name: "metrics", addr: c.metricsAddr,
			handler: metricsHandler(api.MetricsHandler(reg), m.Getenv("KASSA_METRICS_TOKEN"))})
	}

	// Bind every listener before serving any, so a bad address fails the
	// start as a whole.
	lns := make([]net.Listener, len(listeners))
	for i, l := range listeners {
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			for _, bound := range lns[:i] {
				bound.Close()
			}
			return fmt.Errorf("listen on %s (%s): %w", l.addr, l.name, err)
		}
		lns[i] = ln
	}
	servers := make([]*http.Server, len(listeners))
	serveErr := make(chan error, len(listeners))
	// The main listener comes first in listeners and is announced last,
	// once every other one is up.
	for i := len(listeners) - 1; i >= 0; i-- {
		l, ln := listeners[i], lns[i]
		srv := api.NewServer(l.addr, l.handler, log)
		servers[i] = srv
		go func() { serveErr <- srv.Serve(ln) }()
		log.Info("kassa listening", "listener", l.name, "addr", ln.Addr().String(), "version", version)
		if m.OnListen != nil {
			m.OnListen(l.name, ln.Addr().String())
		}
	}

	var wg sync.WaitGroup
	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBackground()
	wg.Add(4)
	go func() {
		defer wg.Done()
		eng.RunSweeper(bgCtx, c.sweepEvery)
	}()
	go func() {
		defer wg.Done()
		eng.RunKeyUseRecorder(bgCtx)
	}()
	go func() {
		defer wg.Done()
		eng.RunWebhooks(bgCtx, engine.WebhookOptions{Client: webhook.NewClient(c.webhookAllowPrivate),
			Schedule: schedule, Observer: webhookObserver,
			Signers: map[string]engine.CallbackSigner{ixopay.SignerName: ixopay.CallbackSigner(eng),
				payment.SignerDintero: dintero.CallbackSigner(eng)}})
	}()
	go func() {
		defer wg.Done()
		eng.RunReconciler(bgCtx, c.reconcileEvery)
	}()

	select {
	case err := <-serveErr:
		stopBackground()
		wg.Wait()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests", "timeout", c.shutdownWait.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.shutdownWait)
	defer cancel()
	for _, srv := range servers {
		if e := srv.Shutdown(sctx); e != nil && err == nil {
			err = e
		}
	}
	stopBackground()
	wg.Wait()
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// bootstrapAccount creates a test-mode account on the first start of an empty
// database and prints its keys, once, to standard output (never to the log).
func (m *Main) bootstrapAccount(ctx context.Context, eng *engine.Engine) error {
	// Processes starting at once on an empty database make one account
	// between them.
	na, created, err := eng.CreateFirstAccount(ctx, "Default test account")
	if err != nil {
		return fmt.Errorf("create the first account: %w", err)
	}
	if !created {
		return nil
	}
	fmt.Fprintln(m.Stdout, "This is a new kassa database: created a test-mode account.")
	fmt.Fprintln(m.Stdout, strings.Repeat("-", 72))
	printAccount(m.Stdout, na)
	fmt.Fprintln(m.Stdout, strings.Repeat("-", 72))
	return nil
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Both stores keep the simulator's ledger in kassa's database.
var (
	_ simulator.Ledger = (*sqlite.Store)(nil)
	_ simulator.Ledger = (*postgres.Store)(nil)
)

// gatewayRegistry is every gateway type this build of kassa offers. The
// simulator keeps its ledger in st, so that it survives a restart and is
// shared by every kassa process on the database, as a provider's would be.
// allowPrivate lets live accounts' calls reach private addresses
// (--gateway-allow-private).
func gatewayRegistry(st payment.Store, allowPrivate bool) (*gateway.Registry, error) {
	ledger, ok := st.(simulator.Ledger)
	if !ok {
		return nil, fmt.Errorf("store %T cannot keep the simulator's ledger", st)
	}
	opts := gateway.HTTPOptions{AllowPrivate: allowPrivate}
	return gateway.NewRegistry(
		simulator.New(simulator.Options{Ledger: ledger}),
		simhttp.New(simhttp.Options{HTTP: opts}),
		adyen.New(adyen.Options{HTTP: opts}),
		authorizenet.New(authorizenet.Options{HTTP: gateway.NewHTTPClient(opts)}),
		stripe.New(stripe.Options{HTTP: opts}),
		collector.New(collector.Options{HTTP: gateway.NewHTTPClient(opts)}),
	), nil
}

// listener is one address kassa serves and what it serves there.
type listener struct {
	name, addr string
	handler    http.Handler
}

// parseSchedule reads --webhook-schedule: durations separated by commas,
// the first the wait before the first attempt; "" is the default.
func parseSchedule(v string) (webhook.Schedule, error) {
	if v == "" {
		return nil, nil
	}
	var s webhook.Schedule
	for _, f := range strings.Split(v, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil || d < 0 {
			return nil, fmt.Errorf("--webhook-schedule: %q is not a duration", f)
		}
		s = append(s, d)
	}
	return s, nil
}
