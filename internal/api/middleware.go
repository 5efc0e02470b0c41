package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"time"
	"unicode/utf8"

	"github.com/kassapay/kassa/internal/payment"
)

// reqState is what the middleware learns about a request as it goes through
// the layers: the id, then the route the mux matched, then the account that
// authenticated. One request's layers run on one goroutine, so it needs no
// lock.
type reqState struct {
	id      string
	route   string
	account string
	quiet   bool // an operational endpoint: access-logged at debug level
}

type stateKey struct{}

func stateOf(ctx context.Context) *reqState {
	st, _ := ctx.Value(stateKey{}).(*reqState)
	return st
}

// RequestIDHeader carries the request id in both directions.
const RequestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds a client's request id.
const maxRequestIDLen = 64

// RequestID gives every request an id: the client's X-Request-Id when it is
// 1 to 64 characters of [A-Za-z0-9_-], else a new "req_…". The id is sent
// back in X-Request-Id, put in the request's context (RequestIDFrom) and
// written into every log line of this package. It must be the outermost
// middleware: the others keep their state next to the id.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID(id) {
			id = "req_" + payment.RandomString(24)
		}
		w.Header().Set(RequestIDHeader, id)
		ctx := context.WithValue(r.Context(), stateKey{}, &reqState{id: id})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func validRequestID(s string) bool {
	if s == "" || len(s) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// RequestIDFrom returns the request id RequestID put in ctx, or "".
func RequestIDFrom(ctx context.Context) string {
	if st := stateOf(ctx); st != nil {
		return st.id
	}
	return ""
}

// RouteFrom returns the pattern of the route that took the request, or ""
// before the mux has matched one (or when none matched).
func RouteFrom(ctx context.Context) string {
	if st := stateOf(ctx); st != nil {
		return st.route
	}
	return ""
}

// routeLabel is the route as logs and metrics name it: always bounded, never
// the raw path (which would hold ids).
func routeLabel(st *reqState) string {
	if st == nil || st.route == "" {
		return "unmatched"
	}
	return st.route
}

// MarkQuiet marks the request as an operational one (a probe or a scrape),
// which the access log writes at debug level so probes don't drown the log.
func MarkQuiet(ctx context.Context) {
	if st := stateOf(ctx); st != nil {
		st.quiet = true
	}
}

// Logger returns log with the request's id attached, for handlers that log.
func Logger(ctx context.Context, log *slog.Logger) *slog.Logger {
	if id := RequestIDFrom(ctx); id != "" {
		return log.With(slog.String("request_id", id))
	}
	return log
}

// recorder remembers the status and size of a response. The middleware here
// share one recorder per request instead of wrapping the writer again and
// again.
type recorder struct {
	http.ResponseWriter
	status int // final status written, 0 before
	bytes  int64
}

func recorderOf(w http.ResponseWriter) *recorder {
	if rec, ok := w.(*recorder); ok {
		return rec
	}
	return &recorder{ResponseWriter: w}
}

func (rec *recorder) WriteHeader(code int) {
	// 1xx responses other than 101 are informational: the final status
	// follows.
	if rec.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		rec.status = code
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *recorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	n, err := rec.ResponseWriter.Write(b)
	rec.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// started reports whether the response's header has gone out.
func (rec *recorder) started() bool { return rec.status != 0 }

// statusCode is the status the client got (200 when the handler wrote
// nothing at all, as net/http then sends).
func (rec *recorder) statusCode() int {
	if rec.status == 0 {
		return http.StatusOK
	}
	return rec.status
}

// AccessLog writes one line per request to log: dialect, method, route
// pattern, status, duration_ms, bytes, request_id and account. It never logs
// the query string, the body or any header: they may hold card data or keys.
func AccessLog(log *slog.Logger, dialect string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := recorderOf(w)
			defer func() {
				st := stateOf(r.Context())
				level := slog.LevelInfo
				var id, account string
				if st != nil {
					id, account = st.id, st.account
					if st.quiet {
						level = slog.LevelDebug
					}
				}
				log.LogAttrs(r.Context(), level, "http request",
					slog.String("dialect", dialect),
					slog.String("method", r.Method),
					slog.String("route", routeLabel(st)),
					slog.Int("status", rec.statusCode()),
					slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
					slog.Int64("bytes", rec.bytes),
					slog.String("request_id", id),
					slog.String("account", account),
				)
			}()
			next.ServeHTTP(rec, r)
		})
	}
}

// Recover turns a panic in the handler into a logged 500 that render writes,
// so one bad request never takes the process down. The log line holds the
// panic value and the stack. A panic with http.ErrAbortHandler is passed on:
// net/http uses it to abort a response on purpose.
func Recover(log *slog.Logger, render ErrorRenderer) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := recorderOf(w)
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					panic(v)
				}
				ctx := r.Context()
				log.LogAttrs(ctx, slog.LevelError, "panic in handler",
					slog.String("request_id", RequestIDFrom(ctx)),
					slog.String("route", routeLabel(stateOf(ctx))),
					slog.String("panic", fmt.Sprint(v)),
					slog.String("stack", string(debug.Stack())),
				)
				if rec.started() {
					// Too late for an error response: cut the connection
					// so the client sees the response is incomplete.
					panic(http.ErrAbortHandler)
				}
				render(rec, r, ErrPanic)
			}()
			next.ServeHTTP(rec, r)
		})
	}
}

// DefaultMaxBody is the default limit on a request body: 1 MiB.
const DefaultMaxBody = 1 << 20

// BodyTooLarge is the error of a request body over max bytes.
func BodyTooLarge(max int64) *payment.Error {
	return &payment.Error{Kind: payment.KindMalformed, Code: payment.CodeBodyTooLarge, Param: "body",
		Message: fmt.Sprintf("The request body must be at most %d bytes.", max)}
}

// LimitBody refuses request bodies over max bytes (DefaultMaxBody when max
// is not positive): at once when Content-Length says so, else when a reader
// of the body reaches the limit (it gets an *http.MaxBytesError, which
// DecodeJSON and Idempotency turn into BodyTooLarge).
func LimitBody(max int64, render ErrorRenderer) func(http.Handler) http.Handler {
	if max <= 0 {
		max = DefaultMaxBody
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > max {
				render(w, r, BodyTooLarge(max))
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, max)
			next.ServeHTTP(w, r)
		})
	}
}

// Mux is an http.ServeMux that tells the access log and the metrics which
// pattern took each request, so they can name routes without the ids in
// paths.
type Mux struct {
	mux *http.ServeMux
}

// NewMux returns an empty Mux.
func NewMux() *Mux { return &Mux{mux: http.NewServeMux()} }

// Handle registers h for pattern, as http.ServeMux.Handle does (and panics
// as it does on a conflicting pattern).
func (m *Mux) Handle(pattern string, h http.Handler) {
	m.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if st := stateOf(r.Context()); st != nil {
			st.route = pattern
		}
		h.ServeHTTP(w, r)
	}))
}

func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.mux.ServeHTTP(w, r) }

// StackOptions configures Stack.
type StackOptions struct {
	// Dialect names the API in logs and metrics ("native", "spreedly", …).
	Dialect string
	// Logger receives access log lines, panics and internal errors.
	Logger *slog.Logger
	// Metrics, when set, counts and times requests.
	Metrics *Metrics
	// MaxBody limits request bodies; DefaultMaxBody when not positive.
	MaxBody int64
	// Render writes the dialect's errors.
	Render ErrorRenderer
}

// Stack wraps h in the middleware every dialect listener needs, outermost
// first: RequestID, AccessLog, Metrics.Instrument, Recover, LimitBody.
func Stack(h http.Handler, o StackOptions) http.Handler {
	h = RejectBadText(o.Render)(h)
	h = LimitBody(o.MaxBody, o.Render)(h)
	h = Recover(o.Logger, o.Render)(h)
	if o.Metrics != nil {
		h = o.Metrics.Instrument(o.Dialect)(h)
	}
	h = AccessLog(o.Logger, o.Dialect)(h)
	return RequestID(h)
}

// RejectBadText answers 400 to a request whose path or query holds a NUL,
// another control character or invalid UTF-8 (an overlong encoding
// included), naming the query parameter: no id or filter value of kassa's
// can hold one, and a store must never be asked for it (PostgreSQL refuses
// such text outright).
func RejectBadText(render ErrorRenderer) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if badText(r.URL.Path) {
				render(w, r, &payment.Error{Kind: payment.KindMalformed, Code: payment.CodeParameterInvalid,
					Message: "The URL's path holds a NUL, a control character or invalid UTF-8."})
				return
			}
			q, err := url.ParseQuery(r.URL.RawQuery)
			if err != nil {
				render(w, r, &payment.Error{Kind: payment.KindMalformed, Code: payment.CodeParameterInvalid,
					Message: "The URL's query string cannot be read."})
				return
			}
			for k, vs := range q {
				bad := badText(k)
				for _, v := range vs {
					bad = bad || badText(v)
				}
				if bad {
					param := k
					if badText(k) {
						param = ""
					}
					render(w, r, &payment.Error{Kind: payment.KindMalformed, Code: payment.CodeParameterInvalid, Param: param,
						Message: "A query parameter holds a NUL, a control character or invalid UTF-8."})
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

func badText(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}
