package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kassapay/kassa/client"
	"github.com/kassapay/kassa/internal/gateway/simulator/simhttp"
	"github.com/kassapay/kassa/internal/payment"
)

// The fault-injection variant of the kill suite: the provider is `kassa
// simulator serve`, a separate process kassa reaches over the network
// (gateways of type simulator_http), and while the traffic runs and kassa
// is killed at random moments, the provider's faults are switched on and
// off through its API: answers dropped after it processed the request,
// connections reset before it did, answers stalled past kassa's call
// timeout, latency. A third gateway points at an address where
// nothing listens: refused connections, not sent. The checks are the kill
// suite's, with the provider's ledger read from its listing endpoint.
//
// CI runs faultKills kills per store; KASSA_KILLS runs as many as it says.
// The stall is twice kassa's call timeout (crashArgs: 1 s) unless
// KASSA_STALL says otherwise ("30s" for a provider that really hangs for
// 30 seconds).

const faultKills = 5

// simListeningLine is the line `kassa simulator serve` logs once it
// accepts connections.
var simListeningLine = regexp.MustCompile(`"msg":"simulator listening","addr":"([^"]+)"`)

// faultArgs let a gateway whose breaker opened be tried again soon, so that
// the traffic keeps reaching a provider that misbehaves.
var faultArgs = []string{"--breaker-open-for", "1s"}

func TestKillSuiteFaults(t *testing.T) {
	bin := buildFailpointBinary(t)
	n := faultKills
	if os.Getenv("KASSA_KILLS") != "" {
		n = kills(t)
	}
	stall := 2 * time.Second
	if s := os.Getenv("KASSA_STALL"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			t.Fatalf("KASSA_STALL=%q: want a positive duration", s)
		}
		stall = d
	}
	forEachStoreURL(t, func(t *testing.T, dbURL string) { runFaultSuite(t, bin, dbURL, n, stall) })
}

// Lines the provider logs when a fault strikes.
const (
	faultDropped = "fault: answer dropped after processing"
	faultReset   = "fault: connection reset before processing"
	faultSlow    = "fault: slow answer"
)

// faultSet is one of the provider's states the suite cycles through
// while traffic runs: a quarter of a second, or, for a state with a fault
// to wait for (strikes: the line the provider logs), until that fault has
// struck once more (3 s at most) — so that a slow run (the race
// detector's) still sees every fault.
type faultSet struct {
	faults  simhttp.Faults
	strikes string
}

// faultSets are the states in order. An outage is not among them: it
// fails the reconciler's status queries too, whose backoff (5 s,
// doubling) would outlast a short run's window; the gateway at an address
// where nothing listens stands for a provider that is down.
func faultSets(stall time.Duration) []faultSet {
	return []faultSet{
		{faults: simhttp.Faults{}},
		{faults: simhttp.Faults{DropAfterProcessing: 0.3}, strikes: faultDropped},
		{faults: simhttp.Faults{Reset: 0.3}, strikes: faultReset},
		{faults: simhttp.Faults{SlowMS: stall.Milliseconds()}, strikes: faultSlow},
		{faults: simhttp.Faults{DropAfterProcessing: 0.15, Reset: 0.15, LatencyMS: 20}},
		{faults: simhttp.Faults{LatencyMS: 150}},
	}
}

func runFaultSuite(t *testing.T, bin, dbURL string, kills int, stall time.Duration) {
	sim := startProcess(t, bin, []string{"simulator", "serve", "--addr", "127.0.0.1:0",
		"--data", filepath.Join(t.TempDir(), "simulator.db")}, "", simListeningLine)
	dataDir := t.TempDir()
	proc := startChild(t, bin, dataDir, dbURL, "", faultArgs...)
	s := newCrashSetup(t, proc, dataDir, dbURL, "purchase")
	ctx := context.Background()

	newGateway := func(baseURL string) string {
		t.Helper()
		gw, err := s.cl.CreateGateway(ctx, &client.GatewayParams{Type: simhttp.Type,
			Credentials: map[string]any{"login": "fault-suite", "password": "fault-suite-secret"},
			Settings:    map[string]any{simhttp.SettingBaseURL: baseURL}})
		if err != nil {
			t.Fatal(err)
		}
		return gw.ID
	}
	primary, other := newGateway(sim.URL), newGateway(sim.URL)
	down := newGateway("http://" + closedAddr(t))
	s.gateway = primary

	var (
		mu   sync.Mutex
		next int
	)
	sets := faultSets(stall)
	setFaults := func(f simhttp.Faults) {
		if err := putFaults(sim.URL, f); err != nil {
			t.Errorf("set the provider's faults: %v", err)
		}
	}
	r := &killRun{bin: bin, dataDir: dataDir, dbURL: dbURL, args: faultArgs,
		gateways:       []string{primary, routerOver(t, s, down, other)},
		ledgerGateways: []string{primary, other},
		ledger: func(t *testing.T, gw string) []*payment.SimulatorOperation {
			return httpLedger(t, sim.URL, gw)
		},
		during: func(stop <-chan struct{}) {
			for {
				mu.Lock()
				f := sets[next%len(sets)]
				next++
				mu.Unlock()
				struck := strings.Count(sim.Stderr.String(), f.strikes)
				setFaults(f.faults)
				hold := time.Now().Add(3 * time.Second)
				for {
					select {
					case <-stop:
						return
					case <-time.After(250 * time.Millisecond):
					}
					if f.strikes == "" || strings.Count(sim.Stderr.String(), f.strikes) > struck || time.Now().After(hold) {
						break
					}
				}
			}
		},
		settled: func() { setFaults(simhttp.Faults{}) },
		// A status query that failed (kassa killed during it, a latency
		// past the call timeout) waits for the reconciler's backoff.
		window: 90 * time.Second,
	}
	r.run(t, proc, s, kills)

	logs := sim.Stderr.String()
	counts := map[string]int{}
	for _, fault := range []string{faultDropped, faultReset, faultSlow, "answer lost"} {
		counts[fault] = strings.Count(logs, fault)
	}
	t.Logf("provider faults: %d answers dropped, %d connections reset, %d answers stalled %v", counts[faultDropped],
		counts[faultReset], counts[faultSlow], stall)
	if counts[faultDropped] == 0 || counts[faultReset] == 0 || counts[faultSlow] == 0 {
		t.Errorf("a fault never struck: %v", counts)
	}
	for _, secret := range []string{"4111111111111111", "fault-suite-secret"} {
		if strings.Contains(logs, secret) || strings.Contains(proc.Stderr.String(), secret) {
			t.Errorf("a log holds %q", secret)
		}
	}
}

// closedAddr is a local address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// putFaults replaces the provider's fault settings.
func putFaults(base string, f simhttp.Faults) error {
	body, _ := json.Marshal(f)
	req, _ := http.NewRequest(http.MethodPut, base+"/v1/faults", bytes.NewReader(body))
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New("PUT /v1/faults: " + resp.Status)
	}
	return nil
}

// httpLedger reads the provider's ledger of gateway gw from its listing.
func httpLedger(t *testing.T, base, gw string) []*payment.SimulatorOperation {
	t.Helper()
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(base + "/v1/accounts/" + gw + "/operations")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list simhttp.OperationList
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the provider's ledger of %s: %d %v", gw, resp.StatusCode, err)
	}
	out := make([]*payment.SimulatorOperation, 0, len(list.Data))
	for _, op := range list.Data {
		out = append(out, &payment.SimulatorOperation{GatewayID: gw, Reference: op.Reference, Kind: op.Kind,
			Amount: op.Amount, PriorReference: op.PriorReference, Calls: op.Calls,
			Result: payment.SimulatorResult{Outcome: op.Result.Status, GatewayReference: op.Result.ID}})
	}
	return out
}
