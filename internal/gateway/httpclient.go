package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kassapay/kassa/internal/netguard"
	"github.com/kassapay/kassa/internal/payment"
)

// DefaultTimeout bounds a call through an HTTPClient whose options set none.
const DefaultTimeout = 30 * time.Second

// ResponseBodyLimit is the most bytes of a response body HTTPClient.Do
// reads; a longer body is an error.
const ResponseBodyLimit = 4 << 20

// ErrResponseTooLarge is wrapped by the *NetError Do returns for a response
// body over ResponseBodyLimit.
var ErrResponseTooLarge = errors.New("gateway: response body too large")

// HTTPOptions configure an HTTPClient.
type HTTPOptions struct {
	// Timeout bounds each call, reading the response body included; zero
	// means DefaultTimeout. A shorter deadline on the call's context wins.
	Timeout time.Duration
	// Transport sends the requests; nil means a transport of kassa's own
	// (http.DefaultTransport's settings, its own connection pool). With a
	// transport that is not an *http.Transport, Do cannot watch the
	// connection, and only errors that say so themselves (a failed DNS
	// lookup, a failed dial, a refused certificate) count as not sent.
	// Such a transport must not resend requests itself; it sees the
	// Idempotency-Key and X-Idempotency-Key headers under lower-case names
	// in the Header map (see Do). Unless AllowPrivate, live calls go
	// through a copy of an *http.Transport with kassa's own dialer (its
	// dial functions replaced), and are refused through any other
	// transport, whose connections cannot be checked.
	Transport http.RoundTripper
	// Now stamps exchanges; nil means time.Now.
	Now func() time.Time
	// AllowPrivate lets live calls (Do's live) connect to addresses that
	// are not public (netguard.Public): loopback, private, link-local. A
	// live account's gateway then may reach a provider inside a private
	// network or through a proxy there. Test calls always may: developers
	// run stand-ins of providers on their own machines.
	AllowPrivate bool
}

// HTTPClient is the HTTP client real adapters share: deadlines, scrubbed
// transcripts, and the classification of failures into "certainly not sent"
// and "may have happened". It does not follow redirects (a provider's API
// answering a payment with a redirect is an answer to look at, not to
// resend), keeps no cookies, never retries on its own and keeps its
// transport from resending a request that may have been written, even one
// carrying an Idempotency-Key. Live calls connect only to public addresses
// unless HTTPOptions.AllowPrivate. It is safe for concurrent use; make one
// per adapter and keep it.
type HTTPClient struct {
	client *http.Client
	// strict sends live calls when private addresses are not allowed: its
	// transport's dialer refuses them. nil when the transport is not an
	// *http.Transport, whose dialer Do cannot set; such live calls are
	// then refused, since where they connect cannot be checked.
	strict       *http.Client
	allowPrivate bool
	timeout      time.Duration
	now          func() time.Time
	// traced: the transport is an *http.Transport, which reports through
	// httptrace when it has a connection to write on.
	traced bool
}

// NewHTTPClient returns an HTTPClient with opts.
func NewHTTPClient(opts HTTPOptions) *HTTPClient {
	rt := opts.Transport
	if rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 16
		rt = t
	}
	t, traced := rt.(*http.Transport)
	c := &HTTPClient{
		client:       newClient(rt),
		allowPrivate: opts.AllowPrivate,
		timeout:      opts.Timeout,
		now:          opts.Now,
		traced:       traced,
	}
	if traced && !opts.AllowPrivate {
		c.strict = newClient(publicOnly(t))
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

func newClient(rt http.RoundTripper) *http.Client {
	return &http.Client{
		Transport: rt,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// publicOnly is a copy of t (its own connection pool) whose dialer refuses
// addresses that are not public, after name resolution
// (netguard.PublicOnly): a name rebound to a private address since the
// gateway was configured is refused too. t's own dial functions are
// replaced. A proxy (HTTPS_PROXY) is dialed, and so checked, in place of
// the provider; Do checks a provider's literal address itself.
func publicOnly(t *http.Transport) *http.Transport {
	t = t.Clone()
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: netguard.PublicOnly}
	t.DialContext = d.DialContext
	t.DialTLSContext = nil
	return t
}

// errUncheckable refuses a live call through a transport whose dialer Do
// cannot set.
var errUncheckable = errors.New("cannot check that the address is public: the transport is not an *http.Transport")

// HTTPResponse is a response read whole.
type HTTPResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// NetError is the error of a call that brought no complete response.
type NetError struct {
	// Sent is false only when the request certainly never left: no
	// connection to write it on was obtained (the name did not resolve, the
	// connection was refused, the TLS handshake failed, the dial or the wait
	// for a connection ran out of time, the address was not public on a
	// live call), or Do refused the request before sending. Anything later
	// (a timeout or reset after the request was written, a truncated or
	// oversized response) may have been acted on.
	Sent bool
	Err  error
}

func (e *NetError) Error() string {
	if e.Sent {
		return "gateway: request may have reached the gateway: " + e.Err.Error()
	}
	return "gateway: request not sent: " + e.Err.Error()
}

func (e *NetError) Unwrap() error { return e.Err }

// Timeout reports whether the call ran out of time, which health checks
// count like a failure to connect.
func (e *NetError) Timeout() bool {
	var ne net.Error
	return errors.Is(e.Err, context.DeadlineExceeded) || (errors.As(e.Err, &ne) && ne.Timeout())
}

// ClassifyNetError returns the outcome of an operation whose call failed
// with err: OutcomeNotSent for a *NetError that was certainly not sent,
// OutcomeUnknown for anything else, since an error of unknown origin may
// come after the request left.
func ClassifyNetError(err error) payment.Outcome {
	var ne *NetError
	if errors.As(err, &ne) && !ne.Sent {
		return payment.OutcomeNotSent
	}
	return payment.OutcomeUnknown
}

// Do sends req with body and reads the whole response. live is the
// account's mode (gateway.Config.Live): a live call connects only to public
// addresses unless HTTPOptions.AllowPrivate, and one refused for its
// address is a *NetError that was not sent, wrapping
// netguard.ErrNotPublic. It returns the
// response, the scrubbed Exchange (bodies capped at TranscriptBodyLimit)
// whether or not the call failed, and a *NetError when no complete response
// arrived.
//
// req carries the method, URL and headers; its Body must be nil, since Do
// sets it from body (so that what is recorded is what was sent). Any
// response, a 5xx included, is not an error: the adapter decides what the
// status means. For an operation that moves money a 5xx usually means the
// outcome is unknown (the provider may have acted before it failed) unless
// the provider documents otherwise; a 4xx usually means failed or declined.
func (c *HTTPClient) Do(ctx context.Context, live bool, req *http.Request, body []byte, scrub *Scrubber) (*HTTPResponse, Exchange, error) {
	start := c.now()
	ex := Exchange{
		Method:         req.Method,
		URL:            scrub.URL(req.URL.String()),
		RequestHeaders: scrub.Header(req.Header),
		RequestBody:    scrub.transcriptBody(string(body)),
		StartedAt:      start,
	}
	fail := func(sent bool, err error) (*HTTPResponse, Exchange, error) {
		var ue *url.Error
		if errors.As(err, &ue) {
			// The URL in the error is the request's, secrets and all.
			err = &url.Error{Op: ue.Op, URL: scrub.URL(ue.URL), Err: ue.Err}
		}
		ex.Error = scrub.Body(err.Error())
		ex.DurationMS = c.now().Sub(start).Milliseconds()
		return nil, ex, &NetError{Sent: sent, Err: err}
	}
	if req.Body != nil && req.Body != http.NoBody {
		return fail(false, errors.New("gateway: Do takes the request body as an argument, not in req.Body"))
	}
	hc := c.client
	if live && !c.allowPrivate {
		if c.strict == nil {
			return fail(false, errUncheckable)
		}
		// Through a proxy the dialer sees only the proxy's address.
		if a, err := netip.ParseAddr(req.URL.Hostname()); err == nil && !netguard.Public(a) {
			return fail(false, fmt.Errorf("connecting to %s: %w", a, netguard.ErrNotPublic))
		}
		hc = c.strict
	}

	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var gotConn atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		// Called once a connection (TLS handshake done) is ready for the
		// request, before anything of it is written; for HTTP/2 as well.
		GotConn: func(httptrace.GotConnInfo) { gotConn.Store(true) },
	})
	out := req.Clone(ctx)
	// http.Transport takes a request whose Header map has an
	// "Idempotency-Key" or "X-Idempotency-Key" entry for one it may resend
	// when a reused connection fails after the request was written, body or
	// no body; the provider may have acted on the first copy. Under a
	// lower-case name (header names are case-insensitive; HTTP/2 sends them
	// lower-case anyway) the header still goes out but no longer makes the
	// request replayable: the transport then resends only a request of
	// which it wrote nothing.
	for _, k := range idempotencyHeaders {
		if v, ok := out.Header[k]; ok {
			delete(out.Header, k)
			out.Header[strings.ToLower(k)] = v
		}
	}
	if len(body) > 0 {
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.ContentLength = int64(len(body))
		// The transport may replay the body on a fresh connection when
		// the first one turns out dead before anything was written.
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	} else {
		out.Body, out.ContentLength, out.GetBody = nil, 0, nil
	}

	resp, err := hc.Do(out)
	if err != nil {
		// Once a connection was obtained, part of the request may have been
		// written whatever the error says: the write runs in another
		// goroutine and can finish after the round trip gave up.
		sent := gotConn.Load() || !(c.traced || certainlyNotSent(err))
		return fail(sent, err)
	}
	defer resp.Body.Close()
	ex.Status = resp.StatusCode
	ex.ResponseHeaders = scrub.Header(resp.Header)
	data, err := io.ReadAll(io.LimitReader(resp.Body, ResponseBodyLimit+1))
	ex.ResponseBody = scrub.transcriptBody(string(data))
	if err != nil {
		return fail(true, fmt.Errorf("reading response: %w", err))
	}
	if len(data) > ResponseBodyLimit {
		return fail(true, ErrResponseTooLarge)
	}
	ex.DurationMS = c.now().Sub(start).Milliseconds()
	return &HTTPResponse{Status: resp.StatusCode, Header: resp.Header, Body: data}, ex, nil
}

// idempotencyHeaders are the header names that make http.Transport resend
// a request it may have written.
var idempotencyHeaders = []string{"Idempotency-Key", "X-Idempotency-Key"}

// certainlyNotSent reports whether err says itself that no connection was
// made: a failed name lookup, a failed dial, a refused certificate.
func certainlyNotSent(err error) bool {
	var (
		dnsErr   *net.DNSError
		opErr    *net.OpError
		verifErr *tls.CertificateVerificationError
		authErr  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invErr   x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &dnsErr), errors.As(err, &verifErr), errors.As(err, &authErr),
		errors.As(err, &hostErr), errors.As(err, &invErr):
		return true
	case errors.As(err, &opErr):
		return opErr.Op == "dial"
	}
	return false
}
