package client_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kassapay/kassa/client"
)

// testKey is a well-formed secret key; tests check it never leaks.
const testKey = "sk_test_abcdefghijklmnopqrstuvwxyzABCDEF"

// exchange is one request the client must send and the canned answer the
// stand-in server replays for it.
type exchange struct {
	method string
	uri    string            // exact request URI: escaped path and query
	header map[string]string // request headers beyond the defaults; "" means absent
	body   string            // expected JSON body, compared as JSON; "" means no body

	status     int // 200 if 0
	respHeader map[string]string
	resp       string
}

// standIn starts a server that expects exactly exs, in order, and fails t
// on any other request or on one that never came.
func standIn(t *testing.T, exs ...exchange) *httptest.Server {
	t.Helper()
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		i := n
		n++
		mu.Unlock()
		if i >= len(exs) {
			t.Errorf("unexpected request #%d: %s %s", i+1, r.Method, r.RequestURI)
			http.Error(w, "unexpected request", http.StatusTeapot)
			return
		}
		ex := exs[i]
		checkRequest(t, i+1, ex, r)
		for k, v := range ex.respHeader {
			w.Header().Set(k, v)
		}
		if ex.resp != "" && w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(cmp.Or(ex.status, http.StatusOK))
		_, _ = io.WriteString(w, ex.resp)
	}))
	t.Cleanup(func() {
		srv.Close()
		mu.Lock()
		defer mu.Unlock()
		if n < len(exs) {
			t.Errorf("stand-in got %d requests, want %d; first missing: %s %s", n, len(exs), exs[n].method, exs[n].uri)
		}
	})
	return srv
}

func checkRequest(t *testing.T, i int, ex exchange, r *http.Request) {
	t.Helper()
	if r.Method != ex.method || r.RequestURI != ex.uri {
		t.Errorf("request #%d: got %s %s, want %s %s", i, r.Method, r.RequestURI, ex.method, ex.uri)
	}
	want := map[string]string{
		"Accept":          "application/json",
		"User-Agent":      client.DefaultUserAgent,
		"Authorization":   "Bearer " + testKey,
		"Content-Type":    "",
		"Idempotency-Key": "",
		"X-Request-Id":    "",
	}
	if ex.body != "" {
		want["Content-Type"] = "application/json"
	}
	maps.Copy(want, ex.header)
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if got := r.Header.Values(k); want[k] == "" && len(got) > 0 || want[k] != "" && !slices.Equal(got, []string{want[k]}) {
			t.Errorf("request #%d %s %s: header %s = %q, want %q", i, r.Method, r.RequestURI, k, got, want[k])
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Errorf("request #%d: read body: %v", i, err)
	}
	if ex.body == "" {
		if len(body) != 0 {
			t.Errorf("request #%d %s %s: body %s, want none", i, r.Method, r.RequestURI, body)
		}
		return
	}
	var got, exp any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Errorf("request #%d %s %s: body %q is not JSON: %v", i, r.Method, r.RequestURI, body, err)
		return
	}
	if err := json.Unmarshal([]byte(ex.body), &exp); err != nil {
		t.Fatalf("bad expected body %q: %v", ex.body, err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("request #%d %s %s:\n body %s\n want %s", i, r.Method, r.RequestURI, body, compact(ex.body))
	}
}

func compact(s string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		return s
	}
	return b.String()
}

// newClient returns a client of a stand-in that expects exs.
func newClient(t *testing.T, exs ...exchange) *client.Client {
	t.Helper()
	return client.New(standIn(t, exs...).URL, testKey)
}

// noLeak fails t if s holds the API key or any part of its random tail.
func noLeak(t *testing.T, what, s string) {
	t.Helper()
	if strings.Contains(s, testKey[8:16]) || strings.Contains(s, testKey[len(testKey)-8:]) {
		t.Errorf("%s shows the API key: %s", what, s)
	}
}

func TestOptions(t *testing.T) {
	t.Parallel()
	srv := standIn(t, exchange{
		method: "GET", uri: "/kassa/v1/account",
		header: map[string]string{"User-Agent": "shop/1.0", "X-Via": "custom-transport"},
		resp:   accountJSON,
	})
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set("X-Via", "custom-transport")
		return http.DefaultTransport.RoundTrip(r)
	})}
	// A base URL with a path prefix and a trailing slash.
	c := client.New(srv.URL+"/kassa/", testKey, client.WithHTTPClient(hc), client.WithUserAgent("shop/1.0"), client.WithHTTPClient(nil))
	if _, err := c.Account(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestRequestOptions(t *testing.T) {
	t.Parallel()
	c := newClient(t,
		// The request id goes on any request; the idempotency key only on
		// POSTs, and only when it is not empty.
		exchange{method: "GET", uri: "/v1/account", header: map[string]string{"X-Request-Id": "shop-42"},
			respHeader: map[string]string{"X-Request-Id": "shop-42"}, resp: accountJSON},
		exchange{method: "POST", uri: "/v1/api_keys/key_1/revoke", body: `{}`,
			resp: `{"id":"key_1","object":"api_key","type":"secret","prefix":"sk_test_abcdefgh","created_at":"2026-03-01T00:00:00Z"}`},
	)
	var res client.Response
	if _, err := c.Account(t.Context(), client.WithRequestID("shop-42"), client.WithIdempotencyKey("ignored"),
		client.WithResponse(&res)); err != nil {
		t.Fatal(err)
	}
	if res.RequestID != "shop-42" {
		t.Errorf("RequestID = %q", res.RequestID)
	}
	if _, err := c.RevokeAPIKey(t.Context(), "key_1", client.WithIdempotencyKey("")); err != nil {
		t.Fatal(err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestNoKey(t *testing.T) {
	t.Parallel()
	srv := standIn(t, exchange{
		method: "GET", uri: "/v1/account", header: map[string]string{"Authorization": ""},
		status: 401, resp: `{"error":{"type":"authentication_error","code":"invalid_api_key","message":"Invalid API key provided."}}`,
	})
	_, err := client.New(srv.URL, "").Account(t.Context())
	if !client.IsUnauthorized(err) {
		t.Fatalf("err = %v, want unauthorized", err)
	}
}

func TestHealthReady(t *testing.T) {
	t.Parallel()
	noAuth := map[string]string{"Authorization": ""}
	c := newClient(t,
		exchange{method: "GET", uri: "/healthz", header: noAuth, resp: `{"status":"ok"}`},
		exchange{method: "GET", uri: "/readyz", header: noAuth, resp: `{"status":"ok"}`},
		exchange{method: "GET", uri: "/readyz", header: noAuth, status: 503,
			respHeader: map[string]string{"Content-Type": "text/plain"}, resp: "store unreachable\n"},
	)
	ctx := t.Context()
	if err := c.Health(ctx); err != nil {
		t.Errorf("Health: %v", err)
	}
	if err := c.Ready(ctx); err != nil {
		t.Errorf("Ready: %v", err)
	}
	err := c.Ready(ctx)
	var e *client.Error
	if !errors.As(err, &e) || e.StatusCode != 503 || e.Message != "Service Unavailable" {
		t.Errorf("Ready when down: %#v", err)
	}
}

func TestContextCanceled(t *testing.T) {
	t.Parallel()
	c := newClient(t) // no request may arrive
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := c.Account(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	noLeak(t, "error", err.Error())
}

func TestClientDoesNotPrintKey(t *testing.T) {
	t.Parallel()
	c := client.New("https://kassa.example.com/", testKey)
	out := []string{c.String(), c.GoString()}
	for _, v := range []any{c, *c, []*client.Client{c}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x"} {
			out = append(out, fmt.Sprintf(verb, v))
		}
	}
	for _, s := range out {
		noLeak(t, "formatted client", s)
	}
	if got, want := c.String(), "kassa client of https://kassa.example.com (key sk_test_…)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
