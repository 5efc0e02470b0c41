package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kassapay/kassa/internal/payment"
)

// logBuffer collects JSON log lines from concurrent handlers.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range bytes.Split(bytes.TrimSpace(b.buf.Bytes()), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// testRender renders errors as {"code","message","param"}.
func testRender(log *slog.Logger) ErrorRenderer {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		status, e := Resolve(log, r, err)
		JSON(w, status, map[string]string{"code": e.Code, "message": e.Message, "param": e.Param})
	}
}

type testStack struct {
	h    http.Handler
	logs *logBuffer
	reg  *prometheus.Registry
}

func newTestStack(t *testing.T, routes map[string]Handler) *testStack {
	t.Helper()
	logs := &logBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	render := testRender(log)
	mux := NewMux()
	for pattern, h := range routes {
		mux.Handle(pattern, Handle(h, render))
	}
	reg := prometheus.NewRegistry()
	h := Stack(mux, StackOptions{Dialect: "test", Logger: log, Metrics: NewMetrics(reg), MaxBody: 1024, Render: render})
	return &testStack{h: h, logs: logs, reg: reg}
}

func (s *testStack) do(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	return w
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	s := newTestStack(t, map[string]Handler{"GET /x": func(w http.ResponseWriter, r *http.Request) error {
		return JSON(w, 200, map[string]string{"id": RequestIDFrom(r.Context())})
	}})
	for _, tc := range []struct {
		sent string
		keep bool
	}{
		{"abc-DEF_123", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"", false},
		{"has space", false},
		{"semi;colon", false},
		{"ünï", false},
	} {
		r := httptest.NewRequest("GET", "/x", nil)
		if tc.sent != "" {
			r.Header.Set("X-Request-Id", tc.sent)
		}
		w := s.do(r)
		got := w.Header().Get("X-Request-Id")
		var body map[string]string
		json.Unmarshal(w.Body.Bytes(), &body)
		if body["id"] != got {
			t.Errorf("context id %q, header %q", body["id"], got)
		}
		if tc.keep && got != tc.sent || !tc.keep && (!strings.HasPrefix(got, "req_") || len(got) != 28) {
			t.Errorf("sent %q, got %q", tc.sent, got)
		}
	}
}

func TestAccessLog(t *testing.T) {
	t.Parallel()
	s := newTestStack(t, map[string]Handler{"POST /things/{id}": func(w http.ResponseWriter, r *http.Request) error {
		ctx := WithPrincipal(r.Context(), &payment.Principal{Account: &payment.Account{ID: "T12345678"}})
		if p, ok := PrincipalFrom(ctx); !ok || p.Account.ID != "T12345678" {
			t.Error("principal not in context")
		}
		return JSON(w, 201, map[string]string{})
	}})
	r := httptest.NewRequest("POST", "/things/th_1?secret=hush", strings.NewReader(`{"number":"4242424242424242"}`))
	r.Header.Set("Authorization", "Bearer sk_test_hush")
	r.Header.Set("X-Request-Id", "req_log")
	if w := s.do(r); w.Code != 201 {
		t.Fatalf("status %d", w.Code)
	}
	lines := s.logs.lines(t)
	if len(lines) != 1 {
		t.Fatalf("%d log lines: %v", len(lines), lines)
	}
	l := lines[0]
	for k, want := range map[string]any{"msg": "http request", "method": "POST", "route": "POST /things/{id}",
		"status": float64(201), "request_id": "req_log", "account": "T12345678", "dialect": "test"} {
		if l[k] != want {
			t.Errorf("%s = %v, want %v", k, l[k], want)
		}
	}
	if _, ok := l["duration_ms"].(float64); !ok {
		t.Errorf("duration_ms = %v", l["duration_ms"])
	}
	raw, _ := json.Marshal(l)
	for _, secret := range []string{"hush", "4242", "th_1", "Bearer"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("log line %s holds %q", raw, secret)
		}
	}
}

func TestRecover(t *testing.T) {
	t.Parallel()
	s := newTestStack(t, map[string]Handler{
		"GET /panic": func(w http.ResponseWriter, r *http.Request) error { panic("kaboom") },
		"GET /late": func(w http.ResponseWriter, r *http.Request) error {
			w.WriteHeader(200)
			w.Write([]byte("partial"))
			panic("late kaboom")
		},
		"GET /ok": func(w http.ResponseWriter, r *http.Request) error { return JSON(w, 200, "ok") },
	})
	w := s.do(httptest.NewRequest("GET", "/panic", nil))
	if w.Code != 500 || !strings.Contains(w.Body.String(), payment.CodeInternal) || strings.Contains(w.Body.String(), "kaboom") {
		t.Fatalf("panic: %d %s", w.Code, w.Body)
	}
	if w := s.do(httptest.NewRequest("GET", "/ok", nil)); w.Code != 200 {
		t.Fatalf("after panic: %d", w.Code)
	}
	// A panic after the response started cannot be answered: the
	// connection is aborted, which net/http does on ErrAbortHandler.
	func() {
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Errorf("late panic: recovered %v", v)
			}
		}()
		s.do(httptest.NewRequest("GET", "/late", nil))
	}()
	var panics, internal int
	for _, l := range s.logs.lines(t) {
		switch l["msg"] {
		case "panic in handler":
			panics++
			if !strings.Contains(l["stack"].(string), "middleware_test.go") || l["route"] == "" || l["request_id"] == "" {
				t.Errorf("panic log %v", l)
			}
		case "internal error":
			internal++
		}
	}
	if panics != 2 || internal != 0 {
		t.Errorf("%d panic lines, %d internal error lines", panics, internal)
	}
}

func TestInternalErrorHidden(t *testing.T) {
	t.Parallel()
	s := newTestStack(t, map[string]Handler{"GET /fail": func(w http.ResponseWriter, r *http.Request) error {
		return errors.New("database on fire at 10.0.0.7")
	}})
	r := httptest.NewRequest("GET", "/fail", nil)
	r.Header.Set("X-Request-Id", "req_abc")
	w := s.do(r)
	if w.Code != 500 || strings.Contains(w.Body.String(), "database") || !strings.Contains(w.Body.String(), "req_abc") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	found := false
	for _, l := range s.logs.lines(t) {
		if l["msg"] == "internal error" && l["request_id"] == "req_abc" && strings.Contains(l["error"].(string), "fire") {
			found = true
		}
	}
	if !found {
		t.Error("cause not logged with the request id")
	}
}

func TestLimitBody(t *testing.T) {
	t.Parallel()
	s := newTestStack(t, map[string]Handler{"POST /echo": func(w http.ResponseWriter, r *http.Request) error {
		var v struct {
			S string `json:"s"`
		}
		if err := DecodeJSON(r, &v); err != nil {
			return err
		}
		return JSON(w, 200, v)
	}})
	big := `{"s":"` + strings.Repeat("x", 2000) + `"}`
	for _, chunked := range []bool{false, true} {
		r := httptest.NewRequest("POST", "/echo", strings.NewReader(big))
		r.Header.Set("Content-Type", "application/json")
		if chunked {
			r.ContentLength = -1
			r.Body = io.NopCloser(strings.NewReader(big))
		}
		w := s.do(r)
		var body map[string]string
		json.Unmarshal(w.Body.Bytes(), &body)
		if w.Code != 413 || body["code"] != payment.CodeBodyTooLarge || body["param"] != "body" {
			t.Errorf("chunked=%v: %d %s", chunked, w.Code, w.Body)
		}
	}
	r := httptest.NewRequest("POST", "/echo", strings.NewReader(`{"s":"small"}`))
	r.Header.Set("Content-Type", "application/json")
	if w := s.do(r); w.Code != 200 {
		t.Errorf("small body: %d %s", w.Code, w.Body)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	s := newTestStack(t, map[string]Handler{"GET /things/{id}": func(w http.ResponseWriter, r *http.Request) error {
		return JSON(w, 200, "ok")
	}})
	s.do(httptest.NewRequest("GET", "/things/a", nil))
	s.do(httptest.NewRequest("GET", "/things/b", nil))
	s.do(httptest.NewRequest("GET", "/nowhere", nil))
	// A second set of metrics on the same registry shares the collectors.
	m2 := NewMetrics(s.reg)
	m2.requests.WithLabelValues("other", "x", "200").Inc()

	w := httptest.NewRecorder()
	MetricsHandler(s.reg).ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != 200 {
		t.Fatalf("metrics handler: %d", w.Code)
	}
	text := w.Body.String()
	for _, want := range []string{
		`kassa_http_requests_total{code="200",dialect="test",route="GET /things/{id}"} 2`,
		`kassa_http_requests_total{code="200",dialect="other",route="x"} 1`,
		`kassa_http_requests_total{code="404",dialect="test",route="unmatched"} 1`,
		`kassa_http_request_duration_seconds_count{dialect="test",route="GET /things/{id}"} 2`,
		`kassa_http_request_duration_seconds_bucket{dialect="test",route="unmatched",le="+Inf"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, "/things/a") {
		t.Error("a raw path became a label")
	}
}

type pinger struct{ err error }

func (p pinger) Ready(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		return errors.New("no deadline")
	}
	return p.err
}

func TestHealthAndReady(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		h      http.Handler
		status int
		body   string
	}{
		{Healthz(), 200, `{"status":"ok"}`},
		{Readyz(pinger{}, log), 200, `{"status":"ok"}`},
		{Readyz(pinger{errors.New("db down")}, log), 503, `{"status":"unavailable"}`},
	} {
		w := httptest.NewRecorder()
		tc.h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if w.Code != tc.status || strings.TrimSpace(w.Body.String()) != tc.body || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%d %s", w.Code, w.Body)
		}
	}
}

func TestNewServer(t *testing.T) {
	t.Parallel()
	srv := NewServer(":0", http.NotFoundHandler(), slog.New(slog.DiscardHandler))
	if srv.ReadHeaderTimeout != ReadHeaderTimeout || srv.ReadTimeout != ReadTimeout || srv.WriteTimeout != WriteTimeout ||
		srv.IdleTimeout != IdleTimeout || srv.MaxHeaderBytes != 64<<10 || srv.ErrorLog == nil {
		t.Fatalf("%+v", srv)
	}
}
