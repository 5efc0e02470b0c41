package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite" // the naive bound's own database

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store/postgres"
	"github.com/kassapay/kassa/internal/store/sqlite"
)

// benchConfig is what `kassa bench` was asked to do.
type benchConfig struct {
	clients     int
	duration    time.Duration
	warmup      time.Duration
	url, key    string
	databaseURL string
	latency     time.Duration
	preload     int
	rate        int
	keyed       bool
	cpuProfile  string
}

// bench runs a load test: closed-loop purchases over HTTP (or, with
// --rate, an open loop at a steady rate) against a throwaway server it
// starts, or against --url; and, beside them, the naive bound of the same
// store measured in the same run.
func (m *Main) bench(ctx context.Context, args []string) error {
	var c benchConfig
	fs := newFlagSet("kassa bench", "Usage: kassa bench [flags]\n\nStarts a throwaway kassa (SQLite in a temporary directory, or a fresh schema of --database-url),\ncreates a simulator gateway and a card, and runs purchases over HTTP: closed loop with\n--clients workers, or open loop at --rate purchases per second. Prints purchases per second,\nlatency percentiles, errors and the store's commits per purchase, beside the store's naive\nbound (two durable commits per payment) measured in the same run.", m.Stderr)
	fs.IntVar(&c.clients, "clients", 32, "concurrent clients (closed loop), or the cap on requests in flight (open loop)")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "how long to measure")
	fs.DurationVar(&c.warmup, "warmup", time.Second, "load before measuring, not counted")
	fs.StringVar(&c.url, "url", "", "a running kassa to load instead of a throwaway one (needs --key)")
	fs.StringVar(&c.key, "key", "", "secret key of an account of --url")
	fs.StringVar(&c.databaseURL, "database-url", "", "PostgreSQL server for the throwaway kassa (a fresh schema, dropped afterwards); empty means SQLite")
	fs.DurationVar(&c.latency, "latency", 0, "the simulator's latency per call")
	fs.IntVar(&c.preload, "preload", 0, "payments (with operations and transcripts) stored before the run, spread over 4 accounts")
	fs.IntVar(&c.rate, "rate", 0, "open loop: purchases started per second, whatever the answers' pace (0: closed loop)")
	fs.BoolVar(&c.keyed, "keyed", false, "send every purchase with an Idempotency-Key")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the measured run (server and load together) to this file")
	if err := parseFlags(fs, args, m.Getenv); err != nil {
		return err
	}
	if c.clients <= 0 || c.duration <= 0 || c.rate < 0 || c.preload < 0 {
		return errors.New("--clients and --duration must be positive, --rate and --preload not negative")
	}
	if (c.url == "") != (c.key == "") {
		return errors.New("--url and --key go together")
	}

	store := "sqlite"
	if c.databaseURL != "" {
		store = "postgres"
	}
	target := c.url
	var dataDir, dbURL, metricsURL, pgApp string
	if target == "" {
		dir, err := os.MkdirTemp("", "kassa-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		dataDir = dir
		if c.databaseURL != "" {
			u, app, drop, err := benchSchema(ctx, c.databaseURL)
			if err != nil {
				return err
			}
			defer drop()
			dbURL, pgApp = u, app
		}
		if c.preload > 0 {
			fmt.Fprintf(m.Stdout, "preloading %d payments…\n", c.preload)
			took, err := preload(ctx, dataDir, dbURL, c.preload)
			if err != nil {
				return fmt.Errorf("preload: %w", err)
			}
			fmt.Fprintf(m.Stdout, "preloaded %d payments in %s\n", c.preload, took.Round(time.Millisecond))
		}
		url, key, metrics, stop, err := m.benchServer(ctx, dataDir, dbURL)
		if err != nil {
			return err
		}
		defer stop()
		target, c.key, metricsURL = url, key, metrics
	} else {
		store = "the server at " + target
	}

	hc := &http.Client{Transport: &http.Transport{MaxIdleConns: 4 * c.clients, MaxIdleConnsPerHost: 4 * c.clients}, Timeout: time.Minute}
	gw, pm, err := benchSetup(ctx, hc, target, c.key, c.latency)
	if err != nil {
		return err
	}
	mode := fmt.Sprintf("closed loop, %d clients", c.clients)
	if c.rate > 0 {
		mode = fmt.Sprintf("open loop, %d purchases/s (at most %d in flight)", c.rate, c.clients)
	}
	fmt.Fprintf(m.Stdout, "kassa bench: %s, %s, %s, simulator latency %s, preload %d, keyed %v\n",
		store, mode, c.duration, c.latency, c.preload, c.keyed)

	// The bound is measured before the load and again after it: this
	// machine kind's disk moves its fsync latency by 2× and more within
	// minutes, so one measurement can misstate what the disk allowed
	// while the load ran. The ratio is to the mean of the two.
	var boundBefore float64
	if dataDir != "" {
		if boundBefore, err = naiveBound(ctx, dataDir, dbURL, c.clients); err != nil {
			return fmt.Errorf("naive bound: %w", err)
		}
		fmt.Fprintf(m.Stdout, "naive bound (two durable commits per payment, same store, same run): %.0f payments/s before the load\n", boundBefore)
	}

	load := &benchLoad{hc: hc, url: target, key: c.key, gw: gw, pm: pm, keyed: c.keyed}
	if c.warmup > 0 {
		load.run(ctx, c, c.warmup, nil)
	}
	before, _ := scrapeCounters(ctx, hc, metricsURL)
	cpu0, cpuOK := processCPU()
	pg0 := backendsCPU(ctx, c.databaseURL, pgApp)
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	res := load.run(ctx, c, c.duration, m.Stderr)
	if c.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	cpu1, _ := processCPU()
	pg1 := backendsCPU(ctx, c.databaseURL, pgApp)
	after, _ := scrapeCounters(ctx, hc, metricsURL)

	var boundAfter float64
	if dataDir != "" {
		if boundAfter, err = naiveBound(ctx, dataDir, dbURL, c.clients); err != nil {
			return fmt.Errorf("naive bound: %w", err)
		}
		fmt.Fprintf(m.Stdout, "naive bound after the load: %.0f payments/s\n", boundAfter)
	}

	n := len(res.latencies)
	secs := res.elapsed.Seconds()
	rate := float64(n) / secs
	fmt.Fprintf(m.Stdout, "purchases   %d in %.1fs = %.0f/s", n, secs, rate)
	if boundBefore > 0 && boundAfter > 0 {
		lo, hi := min(boundBefore, boundAfter), max(boundBefore, boundAfter)
		fmt.Fprintf(m.Stdout, " (%.2f× the naive bound; %.2f–%.2f× its two measurements)", rate/((lo+hi)/2), rate/hi, rate/lo)
	}
	fmt.Fprintln(m.Stdout)
	if n > 0 {
		slices.Sort(res.latencies)
		q := func(p float64) time.Duration { return res.latencies[min(n-1, int(p*float64(n)))] }
		fmt.Fprintf(m.Stdout, "latency     p50 %s  p90 %s  p99 %s  max %s\n",
			ms(q(0.50)), ms(q(0.90)), ms(q(0.99)), ms(res.latencies[n-1]))
	}
	fmt.Fprintf(m.Stdout, "errors      %d", res.errors.Load())
	if e := res.firstError.Load(); e != nil {
		fmt.Fprintf(m.Stdout, " (first: %s)", *e)
	}
	fmt.Fprintln(m.Stdout)
	if commits, ok := after["kassa_sqlite_commits_total"]; ok && n > 0 {
		dc, du := commits-before["kassa_sqlite_commits_total"], after["kassa_sqlite_write_units_total"]-before["kassa_sqlite_write_units_total"]
		fmt.Fprintf(m.Stdout, "store       %.2f commits (fsyncs) and %.2f write transactions per purchase\n", dc/float64(n), du/float64(n))
	}
	if st, ok := after["kassa_postgres_statements_total"]; ok && n > 0 {
		per := func(name string, total float64) float64 { return (total - before[name]) / float64(n) }
		fmt.Fprintf(m.Stdout, "store       %.2f commits, %.1f round trips and %.1f statements per purchase\n",
			per("kassa_postgres_commits_total", after["kassa_postgres_commits_total"]),
			per("kassa_postgres_round_trips_total", after["kassa_postgres_round_trips_total"]),
			per("kassa_postgres_statements_total", st))
	}
	if cpuOK && n > 0 {
		// In microseconds: a tenth of a millisecond is too coarse to see
		// a change of a few per cent.
		perPurchase := func(d time.Duration) string {
			return fmt.Sprintf("%dµs", (d / time.Duration(n)).Microseconds())
		}
		fmt.Fprintf(m.Stdout, "cpu         %s per purchase in this process (server and load generator)", perPurchase(cpu1-cpu0))
		if pg0 != nil && pg1 != nil {
			var pg time.Duration
			for pid, t := range pg1 {
				pg += t - pg0[pid] // a backend opened during the run counts from its start
			}
			fmt.Fprintf(m.Stdout, ", %s in the PostgreSQL backends serving it", perPurchase(pg))
		}
		fmt.Fprintln(m.Stdout)
	}
	if res.errors.Load() > 0 {
		return fmt.Errorf("%d purchases failed", res.errors.Load())
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

// benchServer starts kassa serve in this process on dataDir (and dbURL)
// and returns its URL, the first account's secret key and a stop function.
func (m *Main) benchServer(ctx context.Context, dataDir, dbURL string) (string, string, string, func(), error) {
	out := &lockedBuffer{}
	addr := make(chan string, 1)
	var metricsAddr atomic.Pointer[string]
	sm := &Main{Stdout: out, Stderr: io.Discard, Getenv: func(k string) string {
		if k == "KASSA_MASTER_KEY" || k == "KASSA_MASTER_KEY_FILE" {
			return "" // the throwaway server makes its own development key
		}
		return m.Getenv(k)
	}, OnListen: func(name, a string) {
		switch name {
		case "native":
			addr <- a
		case "metrics":
			metricsAddr.Store(&a)
		}
	}}
	args := []string{"serve", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--data-dir", dataDir,
		"--log-level", "error", "--reconcile-interval", "1s"}
	if dbURL != "" {
		args = append(args, "--database-url", dbURL)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sm.Run(sctx, args) }()
	stop := func() { cancel(); <-done }
	select {
	case a := <-addr:
		metrics := ""
		if ma := metricsAddr.Load(); ma != nil {
			metrics = "http://" + *ma
		}
		if key := regexp.MustCompile(`(?m)^secret key:\s+(sk_test_\w+)$`).FindStringSubmatch(out.String()); key != nil {
			return "http://" + a, key[1], metrics, stop, nil
		}
		// A preloaded database has accounts already, so the server made
		// none: make one for the load.
		created := &lockedBuffer{}
		cm := &Main{Stdout: created, Stderr: io.Discard, Getenv: sm.Getenv}
		cargs := []string{"account", "create", "--name", "bench", "--json", "--data-dir", dataDir}
		if dbURL != "" {
			cargs = append(cargs, "--database-url", dbURL)
		}
		var na struct {
			SecretKey string `json:"secret_key"`
		}
		if err := cm.Run(ctx, cargs); err != nil {
			stop()
			return "", "", "", nil, fmt.Errorf("create the load's account: %w", err)
		}
		if err := json.Unmarshal([]byte(created.String()), &na); err != nil || na.SecretKey == "" {
			stop()
			return "", "", "", nil, fmt.Errorf("create the load's account: %q", created.String())
		}
		return "http://" + a, na.SecretKey, metrics, stop, nil
	case err := <-done:
		cancel()
		return "", "", "", nil, fmt.Errorf("the throwaway server did not start: %w", err)
	}
}

// benchSchema makes a fresh schema on the server of base and returns a URL
// that selects it (its connections named by the schema's name, which it
// also returns, as their application_name), and a function that drops it.
func benchSchema(ctx context.Context, base string) (string, string, func(), error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", "", nil, errors.New("--database-url is not a URL")
	}
	schema := "kassa_bench_" + strings.ToLower(payment.RandomString(10))
	// A plain connection takes no pool_* settings.
	direct := *u
	dq := direct.Query()
	for k := range dq {
		if strings.HasPrefix(k, "pool_") {
			dq.Del(k)
		}
	}
	direct.RawQuery = dq.Encode()
	base = direct.String()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", "", nil, fmt.Errorf("connect to --database-url: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", "", nil, fmt.Errorf("create schema: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	q.Set("application_name", schema)
	u.RawQuery = q.Encode()
	drop := func() {
		dctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if c, err := pgx.Connect(dctx, base); err == nil {
			c.Exec(dctx, "DROP SCHEMA "+schema+" CASCADE")
			c.Close(dctx)
		}
	}
	return u.String(), schema, drop, nil
}

// backendsCPU is the CPU time used so far by each backend of the server at
// base whose connection is named app, when the server runs on this machine
// (nil otherwise): the server's share of the load, measured apart from
// whatever else the server is doing.
func backendsCPU(ctx context.Context, base, app string) map[int]time.Duration {
	if app == "" {
		return nil
	}
	cfg, err := pgx.ParseConfig(base)
	if err != nil {
		return nil
	}
	delete(cfg.RuntimeParams, "search_path")
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, app)
	if err != nil {
		return nil
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil
	}
	out := map[int]time.Duration{}
	for _, pid := range pids {
		t, ok := otherProcessCPU(int(pid))
		if !ok {
			return nil // not this machine's server, or not Linux
		}
		out[int(pid)] = t
	}
	return out
}

// benchSetup creates a simulator gateway and a retained card.
func benchSetup(ctx context.Context, hc *http.Client, base, key string, latency time.Duration) (string, string, error) {
	var gw, pm struct{ ID string }
	settings := map[string]any{}
	if latency > 0 {
		settings["latency_ms"] = latency.Milliseconds()
	}
	if err := benchPost(ctx, hc, base+"/v1/gateways", key, "", map[string]any{"type": "simulator", "settings": settings}, &gw); err != nil {
		return "", "", fmt.Errorf("create gateway: %w", err)
	}
	card := map[string]any{"type": "card", "retain": true,
		"card": map[string]any{"number": "4111111111111111", "exp_month": 12, "exp_year": time.Now().Year() + 3}}
	if err := benchPost(ctx, hc, base+"/v1/payment_methods", key, "", card, &pm); err != nil {
		return "", "", fmt.Errorf("create card: %w", err)
	}
	return gw.ID, pm.ID, nil
}

func benchPost(ctx context.Context, hc *http.Client, url, key, idem string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	rb, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %d %s", url, res.StatusCode, bytes.TrimSpace(rb))
	}
	if out != nil {
		return json.Unmarshal(rb, out)
	}
	return nil
}

// benchLoad sends purchases.
type benchLoad struct {
	hc       *http.Client
	url, key string
	gw, pm   string
	keyed    bool
	seq      atomic.Int64
}

type benchResult struct {
	mu         sync.Mutex
	latencies  []time.Duration
	errors     atomic.Int64
	firstError atomic.Pointer[string]
	elapsed    time.Duration
}

func (r *benchResult) record(d time.Duration, err error) {
	if err != nil {
		if r.errors.Add(1) == 1 {
			s := err.Error()
			r.firstError.Store(&s)
		}
		return
	}
	r.mu.Lock()
	r.latencies = append(r.latencies, d)
	r.mu.Unlock()
}

// purchase makes one purchase; a payment that is not CAPTURED counts as an
// error.
func (l *benchLoad) purchase(ctx context.Context) error {
	n := l.seq.Add(1)
	idem := ""
	if l.keyed {
		idem = fmt.Sprintf("bench-%d-%s", n, payment.RandomString(8))
	}
	var p struct{ Status string }
	err := benchPost(ctx, l.hc, l.url+"/v1/payments", l.key, idem, map[string]any{
		"amount": 1000 + n%50*100, "currency": "EUR", "payment_method": l.pm, "gateway": l.gw,
		"reference": fmt.Sprintf("bench-%d", n)}, &p)
	if err == nil && p.Status != "CAPTURED" {
		err = fmt.Errorf("payment status %s", p.Status)
	}
	return err
}

// run loads the server for d and reports each second to progress (if not
// nil).
func (l *benchLoad) run(ctx context.Context, c benchConfig, d time.Duration, progress io.Writer) *benchResult {
	res := &benchResult{}
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	stopProgress := make(chan struct{})
	if progress != nil {
		go func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			last := 0
			for {
				select {
				case <-stopProgress:
					return
				case now := <-t.C:
					res.mu.Lock()
					n := len(res.latencies)
					res.mu.Unlock()
					fmt.Fprintf(progress, "  %3.0fs  %7d purchases  %6d/s  errors %d\n", now.Sub(start).Seconds(), n, n-last, res.errors.Load())
					last = n
				}
			}
		}()
	}
	if c.rate == 0 {
		for range c.clients {
			wg.Go(func() {
				for time.Now().Before(end) {
					t0 := time.Now()
					err := l.purchase(ctx)
					res.record(time.Since(t0), err)
				}
			})
		}
	} else {
		// Open loop: a purchase is due every 1/rate seconds whatever the
		// answers' pace, and its latency counts from when it was due, so
		// queueing shows (no coordinated omission).
		inFlight := make(chan struct{}, c.clients)
		interval := time.Second / time.Duration(c.rate)
	schedule:
		for due := start; due.Before(end); due = due.Add(interval) {
			time.Sleep(time.Until(due))
			select {
			case inFlight <- struct{}{}:
			case <-time.After(time.Until(end)):
				break schedule // the cap on requests in flight held until the end
			}
			wg.Go(func() {
				defer func() { <-inFlight }()
				err := l.purchase(ctx)
				res.record(time.Since(due), err)
			})
		}
	}
	wg.Wait()
	close(stopProgress)
	res.elapsed = time.Since(start)
	return res
}

// scrapeCounters reads the counters of /metrics at base (none without one).
func scrapeCounters(ctx context.Context, hc *http.Client, base string) (map[string]float64, error) {
	if base == "" {
		return nil, nil
	}
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(val, 64); err == nil {
			out[name] = v
		}
	}
	return out, sc.Err()
}

// naiveBound measures what the store's disk allows for a payment made of
// two durable commits: on SQLite a bare loop of two WAL commits with
// synchronous=FULL in a database beside kassa's; on PostgreSQL clients
// connections each making two committed transactions per payment.
func naiveBound(ctx context.Context, dataDir, dbURL string, clients int) (float64, error) {
	const d = 2 * time.Second
	if dbURL == "" {
		db, err := sql.Open("sqlite", filepath.Join(dataDir, "bound.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
		if err != nil {
			return 0, err
		}
		defer db.Close()
		db.SetMaxOpenConns(1)
		if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS bound (id INTEGER PRIMARY KEY, status TEXT NOT NULL)`); err != nil {
			return 0, err
		}
		payments := 0
		end := time.Now().Add(d)
		for ; time.Now().Before(end); payments++ {
			res, err := db.ExecContext(ctx, `INSERT INTO bound (status) VALUES ('pending')`)
			if err != nil {
				return 0, err
			}
			id, _ := res.LastInsertId()
			if _, err := db.ExecContext(ctx, `UPDATE bound SET status = 'captured' WHERE id = ?`, id); err != nil {
				return 0, err
			}
		}
		return float64(payments) / d.Seconds(), nil
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return 0, err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE TABLE bound (id bigserial PRIMARY KEY, status text NOT NULL)`); err != nil {
		return 0, err
	}
	defer pool.Exec(context.Background(), `DROP TABLE bound`)
	var payments atomic.Int64
	var firstErr atomic.Pointer[error]
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for time.Now().Before(end) {
				var id int64
				if err := pool.QueryRow(ctx, `INSERT INTO bound (status) VALUES ('pending') RETURNING id`).Scan(&id); err != nil {
					firstErr.CompareAndSwap(nil, &err)
					return
				}
				if _, err := pool.Exec(ctx, `UPDATE bound SET status = 'captured' WHERE id = $1`, id); err != nil {
					firstErr.CompareAndSwap(nil, &err)
					return
				}
				payments.Add(1)
			}
		})
	}
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		return 0, *e
	}
	return float64(payments.Load()) / d.Seconds(), nil
}

// preloadAccount is the id of preload's i-th account.
func preloadAccount(i int) string { return fmt.Sprintf("T%08d", 90000000+i) }

// preload stores n payments of 4 accounts, each with an operation and a
// transcript of the simulator's size: on SQLite through the store in
// transactions of a few thousand, on PostgreSQL by COPY.
func preload(ctx context.Context, dataDir, dbURL string, n int) (time.Duration, error) {
	start := time.Now()
	var st payment.Store
	var err error
	if dbURL == "" {
		st, err = sqlite.Open(ctx, filepath.Join(dataDir, "kassa.db"), sqlite.Options{})
	} else {
		st, err = postgres.Open(ctx, dbURL, postgres.Options{})
	}
	if err != nil {
		return 0, err
	}
	defer st.Close()
	var accounts []string
	for i := range 4 {
		a := &payment.Account{ID: preloadAccount(i), Name: "preload", CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
		if err := st.CreateAccount(ctx, a, nil); err != nil {
			return 0, err
		}
		accounts = append(accounts, a.ID)
	}
	if dbURL != "" {
		err = copyPayments(ctx, dbURL, accounts, n)
	} else {
		err = importPayments(ctx, st.(*sqlite.Store), accounts, n)
	}
	if err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// preloadTranscript is a preloaded operation's transcript, of the
// simulator's size.
var preloadTranscript = []byte(`[{"request":{"method":"POST","url":"simulator://purchase","body":"{\"amount\":1000,\"card\":\"411111••••••1111\",\"currency\":\"EUR\"}"},"response":{"status":200,"body":"{\"outcome\":\"succeeded\",\"reference\":\"sim_0123456789abcdef\",\"avs\":\"Y\",\"cvv\":\"M\"}"}}]`)

// preloadChunk is how many payments preload writes per transaction.
const preloadChunk = 20000

// preloadPayment is preload's i-th payment, made at t, with its operation.
func preloadPayment(accounts []string, i int, t time.Time) *payment.Payment {
	p := &payment.Payment{ID: payment.NewIDAt(payment.PrefixPayment, t), AccountID: accounts[i%len(accounts)], Amount: 1000,
		Currency: "EUR", GatewayID: "gw_preload", CredentialVersion: 1, PaymentMethodID: "pm_preload", Capture: true,
		Reference: fmt.Sprintf("preload-%d", i), Metadata: map[string]string{}, Status: payment.StatusCaptured,
		AmountAuthorized: 1000, AmountCaptured: 1000, Test: true, CreatedAt: t, UpdatedAt: t}
	p.Operations = []*payment.Operation{{ID: payment.NewIDAt(payment.PrefixOperation, t), AccountID: p.AccountID,
		PaymentID: p.ID, PaymentMethodID: p.PaymentMethodID, GatewayID: p.GatewayID, CredentialVersion: 1,
		Kind: payment.OpPurchase, Amount: 1000, Currency: "EUR", Outcome: payment.OutcomeSucceeded,
		GatewayReference: "sim_preload", Transcript: preloadTranscript, CreatedAt: t, UpdatedAt: t}}
	return p
}

// preloadTimes returns the creation time of preload's first payment: the
// payments are a millisecond apart and end now, so their ids are in order
// and older than the run's.
func preloadTimes(n int) time.Time {
	return time.Now().UTC().Add(-time.Duration(n) * time.Millisecond).Truncate(time.Microsecond)
}

// importPayments is preload's SQLite path.
func importPayments(ctx context.Context, st *sqlite.Store, accounts []string, n int) error {
	t := preloadTimes(n)
	for done := 0; done < n; done += preloadChunk {
		m := min(preloadChunk, n-done)
		ps := make([]*payment.Payment, 0, m)
		for i := done; i < done+m; i++ {
			t = t.Add(time.Millisecond)
			ps = append(ps, preloadPayment(accounts, i, t))
		}
		if err := st.ImportPayments(ctx, ps); err != nil {
			return err
		}
	}
	return nil
}

// copyPayments is preload's PostgreSQL path: the same rows as SQLite's,
// sent with COPY in chunks, since a million payments through the store,
// one transaction each, would take longer than the benchmark is worth.
// Its column lists must follow the schema: a NOT NULL column added
// without a default makes it fail, not skip.
func copyPayments(ctx context.Context, dbURL string, accounts []string, n int) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	t := preloadTimes(n)
	for done := 0; done < n; done += preloadChunk {
		m := min(preloadChunk, n-done)
		pays := make([][]any, 0, m)
		ops := make([][]any, 0, m)
		for i := done; i < done+m; i++ {
			t = t.Add(time.Millisecond)
			p := preloadPayment(accounts, i, t)
			op := p.Operations[0]
			pays = append(pays, []any{p.ID, p.AccountID, p.Amount, p.Currency, p.GatewayID, p.CredentialVersion,
				p.PaymentMethodID, p.Capture, p.Reference, p.Description, "{}", "{}", string(p.Status), p.AmountAuthorized,
				p.AmountCaptured, p.AmountRefunded, p.Voided, p.RequiresReview, p.Test, p.CreatedAt, p.UpdatedAt})
			ops = append(ops, []any{op.ID, op.AccountID, op.PaymentID, op.PaymentMethodID, op.GatewayID, op.CredentialVersion,
				string(op.Kind), op.Amount, op.Currency, string(op.Outcome), "", op.GatewayReference, "", "", "", "", "",
				op.Transcript, 0, op.CreatedAt, op.UpdatedAt})
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"payments"}, []string{"id", "account_id", "amount", "currency",
				"gateway_id", "credential_version", "payment_method_id", "capture", "reference", "description", "metadata",
				"gateway_specific_fields", "status", "amount_authorized", "amount_captured", "amount_refunded", "voided",
				"requires_review", "test", "created_at", "updated_at"}, pgx.CopyFromRows(pays)); err != nil {
				return fmt.Errorf("copy payments: %w", err)
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"operations"}, []string{"id", "account_id", "payment_id",
				"payment_method_id", "gateway_id", "credential_version", "kind", "amount", "currency", "outcome", "decline_code",
				"gateway_reference", "response_code", "message", "avs_code", "cvv_code", "network_transaction_id", "transcript",
				"reconcile_attempts", "created_at", "updated_at"}, pgx.CopyFromRows(ops)); err != nil {
				return fmt.Errorf("copy operations: %w", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	// As a server's autovacuum would, before the load begins.
	_, err = conn.Exec(ctx, `ANALYZE payments, operations`)
	return err
}

// lockedBuffer is a bytes.Buffer for a server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
