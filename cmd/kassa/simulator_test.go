package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kassapay/kassa/client"
)

// TestSimulatorServe runs `kassa simulator serve` and kassa in-process,
// with a gateway of type simulator_http between them, on both stores: the
// gateway's settings are checked, a purchase crosses the wire, its
// transcript holds no card data or credential, the simulator shuts down
// gracefully when told to, and kassa then finds it gone: not sent.
func TestSimulatorServe(t *testing.T) {
	for _, st := range serverStores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			testSimulatorServe(t, st.args(t))
		})
	}
}

func testSimulatorServe(t *testing.T, dbArgs []string) {
	simAddr := make(chan string, 1)
	simErr := make(chan error, 1)
	simLog := &syncBuffer{}
	// Its flags have variables of their own: kassa serve's KASSA_ADDR in
	// the same environment does not move it.
	m := &Main{Stdout: &syncBuffer{}, Stderr: simLog,
		Getenv:   env(map[string]string{"KASSA_ADDR": "127.0.0.1:not-a-port", "KASSA_SIMULATOR_ADDR": "127.0.0.1:0"}),
		OnListen: func(name, addr string) { simAddr <- "http://" + addr }}
	simCtx, stopSim := context.WithCancel(context.Background())
	defer stopSim()
	go func() {
		simErr <- m.Run(simCtx, []string{"simulator", "serve", "--data", filepath.Join(t.TempDir(), "simulator.db")})
	}()
	var simURL string
	select {
	case simURL = <-simAddr:
	case err := <-simErr:
		t.Fatalf("simulator serve exited: %v\n%s", err, simLog)
	case <-time.After(30 * time.Second):
		t.Fatal("simulator serve did not start listening")
	}

	s := startServer(t, t.TempDir(), env(nil), dbArgs...)
	c := client.New(s.URL, s.bootstrapKey(t))
	ctx := context.Background()

	types, err := c.GatewayTypes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(types.Data, func(gt *client.GatewayType) bool { return gt.Type == "simulator_http" && gt.TestOnly }) {
		t.Errorf("gateway types lack simulator_http (test only): %+v", types.Data)
	}
	for _, tc := range []struct {
		settings map[string]any
		code     string
	}{
		{nil, "parameter_missing"},
		{map[string]any{"base_url": "127.0.0.1:9090"}, "parameter_invalid"},
		{map[string]any{"base_url": "http://user:pw@127.0.0.1:9090"}, "parameter_invalid"},
	} {
		_, err := c.CreateGateway(ctx, &client.GatewayParams{Type: "simulator_http", Settings: tc.settings})
		var ce *client.Error
		if !errors.As(err, &ce) || ce.StatusCode != http.StatusUnprocessableEntity || ce.Param != "settings.base_url" || ce.Code != tc.code {
			t.Errorf("settings %v: %v, want 422 %s naming settings.base_url", tc.settings, err, tc.code)
		}
	}
	const login, password = "sim-login-1", "sim-password-secret"
	gw, err := c.CreateGateway(ctx, &client.GatewayParams{Type: "simulator_http",
		Credentials: map[string]any{"login": login, "password": password}, Settings: map[string]any{"base_url": simURL}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateGateway(ctx, gw.ID, &client.UpdateGatewayParams{Settings: map[string]any{}}); err == nil {
		t.Error("settings replaced without base_url were taken")
	}
	pm, err := c.CreatePaymentMethod(ctx, card("4111111111111111", "737"))
	if err != nil {
		t.Fatal(err)
	}
	pay, err := c.CreatePayment(ctx, &client.PaymentParams{Amount: 1200, Currency: "EUR", PaymentMethod: pm.ID, Gateway: gw.ID})
	if err != nil {
		t.Fatal(err)
	}
	if pay.Status != "CAPTURED" || pay.AmountCaptured != 1200 {
		t.Fatalf("purchase over HTTP: %s, %d captured", pay.Status, pay.AmountCaptured)
	}
	op := pay.Operations[len(pay.Operations)-1]
	tr, err := c.OperationTranscript(ctx, op.ID)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(tr)
	if len(tr.Exchanges) != 1 || !strings.Contains(string(data), "/v1/accounts/"+gw.ID+"/purchase") {
		t.Errorf("transcript: %s", data)
	}
	for _, secret := range []string{"4111111111111111", `"cvc":"737"`, login, password} {
		for where, text := range map[string]string{"transcript": string(data), "kassa's log": s.Stderr.String(), "the simulator's log": simLog.String()} {
			if strings.Contains(text, secret) {
				t.Errorf("%s holds %q", where, secret)
			}
		}
	}

	// SIGTERM and SIGINT end Run's context: the simulator drains and stops.
	stopSim()
	select {
	case err := <-simErr:
		if err != nil {
			t.Errorf("simulator serve returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("simulator serve did not stop")
	}
	pay, err = c.CreatePayment(ctx, &client.PaymentParams{Amount: 1200, Currency: "EUR", PaymentMethod: pm.ID, Gateway: gw.ID})
	if err != nil {
		t.Fatal(err)
	}
	if op := pay.Operations[len(pay.Operations)-1]; pay.Status != "FAILED" || op.Outcome != "not_sent" {
		t.Errorf("purchase with the simulator stopped: %s, operation %s; want FAILED, not_sent", pay.Status, op.Outcome)
	}
}
