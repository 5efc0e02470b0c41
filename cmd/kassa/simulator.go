package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/kassapay/kassa/internal/gateway/simulator"
	"github.com/kassapay/kassa/internal/gateway/simulator/simhttp"
	"github.com/kassapay/kassa/internal/store/sqlite"
)

// simulatorServe runs the simulator as a stand-alone provider: the JSON API
// of simhttp.Server around the same simulator.Simulator kassa runs in
// process, with its ledger in a SQLite file of its own.
//
// The ledger is kassa's SQLite store opened on that file: its
// simulator_operations and simulator_authorizations tables are the
// simulator.Ledger both stores pass the conformance suite with, so the
// provider keeps what it did across its own restarts with code that is
// tested already; the store's other tables stay empty.
func (m *Main) simulatorServe(ctx context.Context, args []string) error {
	var addr, data, logLevel string
	fs := newFlagSetEnv("kassa simulator serve", `Usage: kassa simulator serve [flags]

Runs kassa's simulator as a stand-alone payment provider with a small JSON API,
for gateways of type simulator_http (settings.base_url = http://ADDR). Its ledger
is kept in the SQLite file --data. Faults (latency_ms, outage,
drop_after_processing, reset, slow_ms) are read and changed at run time with
GET and PUT /v1/faults. See docs/simulator.md.`, simulatorEnvName, m.Stderr)
	fs.StringVar(&addr, "addr", "127.0.0.1:9090", "address to listen on")
	fs.StringVar(&data, "data", "./kassa-simulator.db", "the SQLite file of the simulator's ledger")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	// Its own variables: kassa serve's KASSA_ADDR, set in the same
	// environment, must not move the simulator onto kassa's address.
	getenv := func(k string) string { return m.Getenv(simulatorEnvName(strings.TrimPrefix(k, "KASSA_"))) }
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	if data == "" {
		return errors.New("--data is required")
	}
	log := slog.New(slog.NewJSONHandler(m.Stderr, &slog.HandlerOptions{Level: level}))
	st, err := sqlite.Open(ctx, data, sqlite.Options{Logger: log})
	if err != nil {
		return fmt.Errorf("open the simulator's ledger %s: %w", data, err)
	}
	defer st.Close()
	srv, err := simhttp.NewServer(simhttp.ServerOptions{
		Simulator: simulator.New(simulator.Options{Ledger: st}), Ledger: st, Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	log.Info("simulator listening", "addr", ln.Addr().String(), "data", data, "version", version)
	if m.OnListen != nil {
		m.OnListen("simulator", ln.Addr().String())
	}
	if err := simhttp.Serve(ctx, ln, srv, log); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

// simulatorEnvName is the environment variable standing for a flag of
// kassa simulator serve: --addr is KASSA_SIMULATOR_ADDR.
func simulatorEnvName(flagName string) string {
	return "KASSA_SIMULATOR_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}
