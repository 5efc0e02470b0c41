package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"
)

// Timeout bounds one attempt: connecting, sending and reading the answer.
const Timeout = 15 * time.Second

// ResponseKeep is how much of a receiver's answer the delivery log keeps.
const ResponseKeep = 1024

// UserAgent is sent with every attempt.
const UserAgent = "kassa-webhooks/1"

// Client makes attempts. It never follows a redirect (a 3xx is a failed
// attempt), reads at most ResponseKeep bytes of an answer, and, for live
// deliveries, connects only to public addresses unless AllowPrivate.
type Client struct {
	strict, open *http.Client
	allowPrivate bool
}

// NewClient returns a Client; allowPrivate lets live deliveries reach
// private addresses too (a server inside a private network).
func NewClient(allowPrivate bool) *Client {
	return &Client{strict: newHTTPClient(publicOnly), open: newHTTPClient(nil), allowPrivate: allowPrivate}
}

func newHTTPClient(control func(string, string, syscall.RawConn) error) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: control}
	t := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: Timeout,
	}
	return &http.Client{
		Transport:     t,
		Timeout:       Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// AllowsPrivate reports whether live deliveries may reach private
// addresses.
func (c *Client) AllowsPrivate() bool { return c.allowPrivate }

// Request is one attempt to make.
type Request struct {
	Method  string // "" means POST
	URL     string
	Headers map[string]string
	Body    []byte
	MsgID   string
	Signer  Signer
	// Live deliveries may not reach private addresses.
	Live bool
}

// Response is how an attempt went.
type Response struct {
	Status     int // 0 when no answer came
	Body       []byte
	RetryAfter time.Duration
	Latency    time.Duration
	Err        error // the transport's error, when no answer came
}

// Verdict is what an attempt's answer means for its delivery.
type Verdict int

const (
	// Delivered: a 2xx.
	Delivered Verdict = iota
	// Retry: a timeout, a connection error, a 3xx, a 429 or a 5xx; try
	// again later.
	Retry
	// Refused: another 4xx; the receiver will not take it, trying again
	// does not help.
	Refused
	// Gone: a 410; the receiver asks never to be called again.
	Gone
)

// Verdict classifies r.
func (r *Response) Verdict() Verdict {
	switch s := r.Status; {
	case s == 0:
		return Retry
	case s >= 200 && s < 300:
		return Delivered
	case s == http.StatusGone:
		return Gone
	case s >= 300 && s < 400, s == http.StatusTooManyRequests, s >= 500:
		return Retry
	default:
		return Refused
	}
}

// Do makes one attempt, signed at now.
func (c *Client) Do(ctx context.Context, req Request, now time.Time) *Response {
	method := req.Method
	if method == "" {
		method = http.MethodPost
	}
	var body io.Reader
	if req.Body != nil && method != http.MethodGet {
		body = bytes.NewReader(req.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, method, req.URL, body)
	if err != nil {
		return &Response{Err: fmt.Errorf("bad request: %w", err)}
	}
	hr.Header.Set("User-Agent", UserAgent)
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	for k, v := range req.Headers {
		hr.Header.Set(k, v)
	}
	if req.Signer != nil {
		if err := req.Signer.Sign(hr, req.MsgID, now, req.Body); err != nil {
			return &Response{Err: err}
		}
	}
	hc := c.open
	if req.Live && !c.allowPrivate {
		hc = c.strict
	}
	start := time.Now()
	res, err := hc.Do(hr)
	if err != nil {
		return &Response{Err: describe(err), Latency: time.Since(start)}
	}
	defer res.Body.Close()
	kept, _ := io.ReadAll(io.LimitReader(res.Body, ResponseKeep))
	// Drain a little more so the connection can be reused.
	io.CopyN(io.Discard, res.Body, 64<<10)
	return &Response{Status: res.StatusCode, Body: kept, Latency: time.Since(start),
		RetryAfter: retryAfter(res.Header.Get("Retry-After"), start)}
}

// describe shortens a transport error to what the delivery log shows.
func describe(err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, ErrPrivateAddress):
		return ErrPrivateAddress
	case errors.As(err, &ne) && ne.Timeout():
		return errors.New("timed out")
	}
	return err
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		// Beyond a week it means "not soon"; the schedule caps it anyway.
		return time.Duration(min(s, 7*24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
