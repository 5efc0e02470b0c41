package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/netguard"
	"github.com/kassapay/kassa/internal/payment"
)

func newRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// checkNetError checks that err is a *NetError with the given Sent and that
// ClassifyNetError agrees.
func checkNetError(t *testing.T, err error, sent bool) *NetError {
	t.Helper()
	var ne *NetError
	if !errors.As(err, &ne) {
		t.Fatalf("error %v (%T) is not a *NetError", err, err)
	}
	if ne.Sent != sent {
		t.Errorf("Sent = %v, want %v (error %v)", ne.Sent, sent, err)
	}
	want := payment.OutcomeUnknown
	if !sent {
		want = payment.OutcomeNotSent
	}
	if got := ClassifyNetError(err); got != want {
		t.Errorf("ClassifyNetError = %q, want %q", got, want)
	}
	return ne
}

func TestDoScrubsTheExchange(t *testing.T) {
	t.Parallel()
	var gotBody []byte
	var gotHeader http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotBody, _ = io.ReadAll(r.Body)
		gotHeader = r.Header.Clone()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Set-Cookie", "sid="+testAPIKey)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":"ch_1","card":{"number":"%s","last4":"1111"},"echo_login":"%s"}`, testPAN, testLogin)
	}))
	defer srv.Close()

	c := NewHTTPClient(HTTPOptions{})
	req := newRequest(t, "POST", srv.URL+"/v1/charges?card_number="+testPAN+"&user="+testLogin)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Api-Key", testAPIKey)
	req.SetBasicAuth(testLogin, testPassword)
	body := []byte(`{"amount":1737,"card":{"number":"` + testPAN + `","cvc":"` + testCVC + `"},"password":` + mustJSON(t, testPassword) + `}`)

	resp, ex, err := c.Do(context.Background(), false, req, body, testScrubber())
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	// What was sent and received is untouched.
	if !bytes.Equal(gotBody, body) || gotHeader.Get("X-Api-Key") != testAPIKey {
		t.Errorf("server got body %s and key %q", gotBody, gotHeader.Get("X-Api-Key"))
	}
	if resp.Status != http.StatusCreated || !strings.Contains(string(resp.Body), testPAN) ||
		resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("response = %d %v %s", resp.Status, resp.Header, resp.Body)
	}
	// What is recorded is scrubbed.
	raw, _ := json.Marshal(ex)
	if l := leaks(string(raw)); l != nil {
		t.Errorf("exchange leaks %q: %s", l, raw)
	}
	if ex.Method != "POST" || ex.Status != http.StatusCreated || ex.StartedAt.IsZero() || ex.Error != "" {
		t.Errorf("exchange = %+v", ex)
	}
	if !strings.Contains(ex.RequestBody, `"amount":1737`) || !strings.Contains(ex.ResponseBody, `"last4":"1111"`) {
		t.Errorf("scrubbing took too much: %s / %s", ex.RequestBody, ex.ResponseBody)
	}
	if ex.RequestHeaders["Authorization"] != Filtered || ex.RequestHeaders["X-Api-Key"] != Filtered ||
		ex.ResponseHeaders["Set-Cookie"] != Filtered || ex.RequestHeaders["Content-Type"] != "application/json" {
		t.Errorf("headers = %v / %v", ex.RequestHeaders, ex.ResponseHeaders)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDoServerErrorIsAResponse(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusBadGateway)
	}))
	defer srv.Close()
	resp, ex, err := NewHTTPClient(HTTPOptions{}).Do(context.Background(), false, newRequest(t, "GET", srv.URL), nil, nil)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if resp.Status != http.StatusBadGateway || ex.Status != http.StatusBadGateway || !strings.Contains(ex.ResponseBody, "boom") {
		t.Errorf("resp %d, exchange %+v", resp.Status, ex)
	}
}

func TestDoDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/pay" {
			http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
			return
		}
		t.Errorf("redirect followed to %s", r.URL.Path)
	}))
	defer srv.Close()
	resp, _, err := NewHTTPClient(HTTPOptions{}).Do(context.Background(), false, newRequest(t, "POST", srv.URL+"/pay"), []byte("x"), nil)
	if err != nil || resp.Status != http.StatusTemporaryRedirect {
		t.Fatalf("Do = %v, %v", resp, err)
	}
}

func TestDoConnectionRefusedIsNotSent(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, ex, err := NewHTTPClient(HTTPOptions{Timeout: 5 * time.Second}).
		Do(context.Background(), false, newRequest(t, "POST", "http://"+addr+"/pay?cvc="+testCVC), []byte("{}"), testScrubber())
	checkNetError(t, err, false)
	if ex.Error == "" || ex.Status != 0 || strings.Contains(ex.Error, "cvc="+testCVC) || strings.Contains(err.Error(), "cvc="+testCVC) {
		t.Errorf("exchange error %q, error %q", ex.Error, err)
	}
}

func TestDoUnresolvableHostIsNotSent(t *testing.T) {
	t.Parallel()
	// No proxy from the environment: a proxy would answer for the host.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	_, _, err := NewHTTPClient(HTTPOptions{Timeout: 5 * time.Second, Transport: tr}).
		Do(context.Background(), false, newRequest(t, "POST", "http://psp.kassa.invalid/pay"), []byte("{}"), nil)
	checkNetError(t, err, false)
}

func TestDoTLSHandshakeFailureIsNotSent(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("request reached the handler")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake error
	srv.StartTLS()
	defer srv.Close()
	// The client does not trust the test server's certificate.
	_, _, err := NewHTTPClient(HTTPOptions{Timeout: 5 * time.Second}).
		Do(context.Background(), false, newRequest(t, "POST", srv.URL), []byte("{}"), nil)
	checkNetError(t, err, false)
}

func TestDoDialTimeoutIsNotSent(t *testing.T) {
	t.Parallel()
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	_, _, err := NewHTTPClient(HTTPOptions{Timeout: 50 * time.Millisecond, Transport: tr}).
		Do(context.Background(), false, newRequest(t, "POST", "http://psp.example/pay"), []byte("{}"), nil)
	ne := checkNetError(t, err, false)
	if !ne.Timeout() {
		t.Errorf("Timeout() = false for %v", err)
	}
}

func TestDoCanceledContextIsNotSent(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("request reached the handler")
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := NewHTTPClient(HTTPOptions{}).Do(ctx, false, newRequest(t, "POST", srv.URL), []byte("{}"), nil)
	checkNetError(t, err, false)
}

func TestDoTimeoutAfterSendingIsUnknown(t *testing.T) {
	t.Parallel()
	read := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		read <- struct{}{}
		<-r.Context().Done() // longer than the client waits
	}))
	defer srv.Close()
	start := time.Now()
	_, ex, err := NewHTTPClient(HTTPOptions{Timeout: 200 * time.Millisecond}).
		Do(context.Background(), false, newRequest(t, "POST", srv.URL), []byte(`{"amount":1}`), nil)
	ne := checkNetError(t, err, true)
	if !ne.Timeout() {
		t.Errorf("Timeout() = false for %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Do took %v past a 200ms timeout", d)
	}
	if ex.Error == "" || ex.RequestBody != `{"amount":1}` {
		t.Errorf("exchange = %+v", ex)
	}
	select {
	case <-read:
	default:
		t.Error("the server never read the request")
	}
}

func TestDoConnectionClosedAfterReadingIsUnknown(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		conn.Close()
	}))
	defer srv.Close()
	req := newRequest(t, "POST", srv.URL)
	req.Header.Set("Idempotency-Key", "op_1") // a fresh connection: see also TestDoNeverResendsOnAReusedConnection
	_, _, err := NewHTTPClient(HTTPOptions{}).Do(context.Background(), false, req, []byte("{}"), nil)
	checkNetError(t, err, true)
}

func TestDoTruncatedResponseIsUnknown(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"id\":\"ch_")
		buf.Flush()
		conn.Close()
	}))
	defer srv.Close()
	resp, ex, err := NewHTTPClient(HTTPOptions{}).Do(context.Background(), false, newRequest(t, "POST", srv.URL), []byte("{}"), nil)
	checkNetError(t, err, true)
	if resp != nil || ex.Status != 200 || ex.ResponseBody != `{"id":"ch_` {
		t.Errorf("resp %v, exchange %+v", resp, ex)
	}
}

func TestDoResponseTooLargeIsUnknown(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("x"), ResponseBodyLimit+1))
	}))
	defer srv.Close()
	_, ex, err := NewHTTPClient(HTTPOptions{}).Do(context.Background(), false, newRequest(t, "GET", srv.URL), nil, nil)
	checkNetError(t, err, true)
	if !errors.Is(err, ErrResponseTooLarge) {
		t.Errorf("error %v is not ErrResponseTooLarge", err)
	}
	if len(ex.ResponseBody) > TranscriptBodyLimit+len("…[truncated]") {
		t.Errorf("transcript body is %d bytes", len(ex.ResponseBody))
	}
}

func TestDoRefusesARequestBody(t *testing.T) {
	t.Parallel()
	req, _ := http.NewRequest("POST", "http://psp.example/", strings.NewReader("x"))
	_, _, err := NewHTTPClient(HTTPOptions{}).Do(context.Background(), false, req, nil, nil)
	checkNetError(t, err, false)
}

// roundTripFunc is a transport Do cannot watch.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestDoOpaqueTransport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		sent bool
	}{
		{"unknown error", errors.New("stream reset"), true},
		{"dial error", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, false},
		{"read error", &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset")}, true},
		{"dns error", &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, false},
	}
	for _, tt := range tests {
		c := NewHTTPClient(HTTPOptions{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
			return nil, tt.err
		})})
		_, _, err := c.Do(context.Background(), false, newRequest(t, "POST", "http://psp.example/"), []byte("{}"), nil)
		t.Run(tt.name, func(t *testing.T) { checkNetError(t, err, tt.sent) })
	}
}

func TestClassifyNetError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want payment.Outcome
	}{
		{&NetError{Sent: false, Err: io.EOF}, payment.OutcomeNotSent},
		{fmt.Errorf("stripe: %w", &NetError{Sent: false, Err: io.EOF}), payment.OutcomeNotSent},
		{&NetError{Sent: true, Err: io.EOF}, payment.OutcomeUnknown},
		{io.EOF, payment.OutcomeUnknown},
		{context.DeadlineExceeded, payment.OutcomeUnknown},
	}
	for _, tt := range tests {
		if got := ClassifyNetError(tt.err); got != tt.want {
			t.Errorf("ClassifyNetError(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// A reused keep-alive connection that drops after the request was read is
// the case http.Transport resends a POST in when the request carries an
// idempotency key header. The provider may have acted on the first copy:
// it must see the request once, and Do must report the outcome unknown.
func TestDoNeverResendsOnAReusedConnection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, header string
		body         []byte
	}{
		{"body", "Idempotency-Key", []byte(`{"amount":1737}`)},
		{"no body", "Idempotency-Key", nil},
		{"x- header", "X-Idempotency-Key", []byte(`{"amount":1737}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var (
				mu                 sync.Mutex
				warmAddr, payAddrs = "", []string(nil)
				gotKey             string
			)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.ReadAll(r.Body)
				mu.Lock()
				defer mu.Unlock()
				if r.URL.Path == "/warm" {
					warmAddr = r.RemoteAddr
					return
				}
				payAddrs = append(payAddrs, r.RemoteAddr)
				gotKey = r.Header.Get(tt.header)
				conn, _, err := w.(http.Hijacker).Hijack()
				if err != nil {
					t.Error(err)
					return
				}
				conn.Close()
			}))
			defer srv.Close()
			// One connection per host: the second request waits for the
			// first's connection to be idle again instead of dialing.
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.MaxConnsPerHost = 1
			c := NewHTTPClient(HTTPOptions{Timeout: 5 * time.Second, Transport: tr})
			if _, _, err := c.Do(context.Background(), false, newRequest(t, "GET", srv.URL+"/warm"), nil, nil); err != nil {
				t.Fatal(err)
			}
			req := newRequest(t, "POST", srv.URL+"/pay")
			req.Header.Set(tt.header, "op_1")
			_, _, err := c.Do(context.Background(), false, req, tt.body, nil)
			checkNetError(t, err, true)
			mu.Lock()
			defer mu.Unlock()
			if len(payAddrs) != 1 {
				t.Fatalf("the server got the request %d times, want once", len(payAddrs))
			}
			if payAddrs[0] != warmAddr {
				t.Errorf("the request came on connection %s, not on the reused %s", payAddrs[0], warmAddr)
			}
			if gotKey != "op_1" {
				t.Errorf("%s = %q at the server, want op_1", tt.header, gotKey)
			}
		})
	}
}

// TestDoLiveCallsReachOnlyPublicAddresses: a live account's call to a
// loopback address is refused before connecting, as not sent, without
// quoting the request's secrets; a test account's call, or a live one
// where private addresses are allowed, goes through.
func TestDoLiveCallsReachOnlyPublicAddresses(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	call := func(c *HTTPClient, live bool, url string) (Exchange, error) {
		req := newRequest(t, "POST", url+"/pay?key="+testAPIKey)
		req.Header.Set("X-Api-Key", testAPIKey)
		_, ex, err := c.Do(context.Background(), live, req, []byte(`{"cvc":"`+testCVC+`"}`), testScrubber())
		return ex, err
	}
	strict := NewHTTPClient(HTTPOptions{Timeout: 5 * time.Second})
	// By address and by a name that resolves to one.
	for _, url := range []string{srv.URL, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)} {
		ex, err := call(strict, true, url)
		ne := checkNetError(t, err, false)
		if !errors.Is(err, netguard.ErrNotPublic) || !strings.Contains(err.Error(), "address is not public") {
			t.Errorf("%s: error %v does not say the address is not public", url, err)
		}
		if ne.Timeout() {
			t.Errorf("%s: a refused address counted as a timeout", url)
		}
		// (Not the CVC: three digits may be part of the port.)
		if strings.Contains(err.Error(), testAPIKey) || strings.Contains(ex.Error, testAPIKey) || strings.Contains(ex.URL, testAPIKey) {
			t.Errorf("%s: the refusal quotes the key: %v / %+v", url, err, ex)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the server got %d live requests", n)
	}
	if _, err := call(strict, false, srv.URL); err != nil || hits.Load() != 1 {
		t.Errorf("test call: %v, %d hits", err, hits.Load())
	}
	if _, err := call(NewHTTPClient(HTTPOptions{Timeout: 5 * time.Second, AllowPrivate: true}), true, srv.URL); err != nil || hits.Load() != 2 {
		t.Errorf("live call with private addresses allowed: %v, %d hits", err, hits.Load())
	}
	// A transport whose dialer Do cannot set: refused, not sent, as well.
	own := NewHTTPClient(HTTPOptions{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		t.Error("a live call went through an unchecked transport")
		return nil, errors.New("no")
	})})
	_, err := call(own, true, "https://93.184.215.14")
	checkNetError(t, err, false)
}
