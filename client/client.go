package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultUserAgent is the User-Agent sent unless WithUserAgent says otherwise.
const DefaultUserAgent = "kassa-go"

// defaultTimeout bounds a request when the caller brings no http.Client of
// its own; a context deadline may bound it further.
const defaultTimeout = 30 * time.Second

// Client calls one kassa server with one API key. It is safe for concurrent
// use.
type Client struct {
	baseURL    string        // without a trailing slash
	key        func() string // the API key; see New
	httpClient *http.Client
	userAgent  string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send its requests through hc (for its
// transport, proxy or timeout). A nil hc is ignored.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.httpClient = hc
		}
	}
}

// WithUserAgent replaces the User-Agent header the client sends.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// New returns a client of the kassa server at baseURL (such as
// "https://kassa.example.com", or one with a path prefix) that authenticates
// with apiKey. Without WithHTTPClient, requests time out after 30 seconds.
func New(baseURL, apiKey string, opts ...Option) *Client {
	c := &Client{
		baseURL: strings.TrimRight(baseURL, "/"),
		// The key hides in a closure because fmt prints a func as an
		// address whatever the verb: no way of printing a Client, even
		// field by field, can show it.
		key:        func() string { return apiKey },
		httpClient: &http.Client{Timeout: defaultTimeout},
		userAgent:  DefaultUserAgent,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// String describes c without its API key.
func (c *Client) String() string {
	return fmt.Sprintf("kassa client of %s (key %s)", c.baseURL, redactKey(c.key()))
}

// GoString is String, so that %#v does not print the key either.
func (c *Client) GoString() string { return c.String() }

// redactKey keeps only an API key's kind and mode ("sk_test_…"), which say
// which key is meant without giving any of it away.
func redactKey(k string) string {
	if k == "" {
		return "none"
	}
	for _, p := range []string{"sk_test_", "sk_live_", "pk_test_", "pk_live_"} {
		if strings.HasPrefix(k, p) {
			return p + "…"
		}
	}
	return "…"
}

// Response is what a request's HTTP response said beside its body; see
// WithResponse.
type Response struct {
	StatusCode int
	Header     http.Header
	// RequestID is the server's X-Request-Id, to quote when reporting a
	// problem.
	RequestID string
	// Replayed reports that the server answered from its idempotency store
	// (Idempotent-Replayed: true): the request had already been made under
	// the same idempotency key, and this is its original response.
	Replayed bool
}

// RequestOption configures a single request.
type RequestOption func(*requestConfig)

type requestConfig struct {
	idempotencyKey string
	requestID      string
	resp           *Response
}

// WithIdempotencyKey sends the request with an Idempotency-Key header, so
// that sending it again under the same key is answered with the first
// response instead of acting twice. Only POST requests carry it; on other
// requests it is ignored, as is an empty key.
//
// The client encodes the same parameters to the same bytes every time, so a
// retry with the same key and parameters is recognised; the server refuses
// the same key with other parameters (CodeIdempotencyKeyReused).
func WithIdempotencyKey(key string) RequestOption {
	return func(rc *requestConfig) { rc.idempotencyKey = key }
}

// WithRequestID sends id as the request's X-Request-Id, so that the
// server's logs of the request carry the caller's own id. The server uses it
// if it is 1 to 64 characters of [A-Za-z0-9_-], and makes up its own
// otherwise.
func WithRequestID(id string) RequestOption {
	return func(rc *requestConfig) { rc.requestID = id }
}

// WithResponse fills *r with the response's status and headers once one
// arrives, whether the call then succeeds or returns an *Error. It is left
// alone when no response arrives.
func WithResponse(r *Response) RequestOption {
	return func(rc *requestConfig) { rc.resp = r }
}

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 1 << 20

// errEmptyID is returned, before any request, for an empty object id, which
// would otherwise name a different endpoint.
var errEmptyID = errors.New("kassa: empty id")

// do sends a request to path (with query, if any) and decodes a 2xx
// response's JSON body into out (unless out is nil). body, if not nil, is
// sent as JSON. A 4xx or 5xx response is returned as an *Error.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any, opts []RequestOption) error {
	var rc requestConfig
	for _, o := range opts {
		o(&rc)
	}

	u := c.baseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("kassa: %s %s: encode request: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("kassa: %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	// Only the API proper takes the key: the probes (/healthz, /readyz)
	// need none, so none is handed out.
	if key := c.key(); key != "" && strings.HasPrefix(path, "/v1/") {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if rc.requestID != "" {
		req.Header.Set("X-Request-Id", rc.requestID)
	}
	if method == http.MethodPost && rc.idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", rc.idempotencyKey)
	}

	res, err := c.httpClient.Do(req)
	if err != nil {
		// A *url.Error names the URL, never the headers: the key stays out.
		return fmt.Errorf("kassa: %s %s: %w", method, path, err)
	}
	defer func() {
		// Drain a little so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
		_ = res.Body.Close()
	}()

	requestID := res.Header.Get("X-Request-Id")
	if rc.resp != nil {
		*rc.resp = Response{
			StatusCode: res.StatusCode,
			Header:     res.Header,
			RequestID:  requestID,
			Replayed:   res.Header.Get("Idempotent-Replayed") == "true",
		}
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
		return decodeError(res.StatusCode, requestID, b)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fmt.Errorf("kassa: %s %s: decode response (status %d, request %s): %w",
			method, path, res.StatusCode, requestID, err)
	}
	return nil
}

// pathID escapes an object id for use as one path segment.
func pathID(id string) (string, error) {
	if id == "" {
		return "", errEmptyID
	}
	return url.PathEscape(id), nil
}
