// Package spreedly is kassa's Spreedly Core API v1 dialect: gateways,
// payment methods and transactions in JSON or XML (chosen by the path's
// .json / .xml suffix), HTTP Basic authentication with the account id as
// environment key and a secret key as access secret, and Spreedly's error
// envelope ({"errors":[{"attribute","key","message"}]}).
//
// It serves paths without a prefix (/v1/gateways.json); cmd/kassa mounts it
// under /spreedly with http.StripPrefix and on its own listener.
//
// Mapping: a gateway token is a kassa gateway id (gateway_type "test" is the
// simulator); a payment method token is a kassa payment method id; a
// transaction token is a kassa operation id. The transactions that change a
// payment method or a gateway without a gateway call (AddPaymentMethod,
// RetainPaymentMethod, RedactPaymentMethod, RedactGateway, RetainGateway)
// get a fresh token that is not kept: GET /v1/transactions/{token} knows only
// operations.
//
// Status codes: malformed bodies are 400 (errors.malformed_body), validation
// errors 422, a failed gateway transaction 422 with the whole transaction,
// an unknown outcome 200 with state gateway_processing_result_unknown, a
// state conflict 422 (errors.invalid_state), an unknown token 404
// (errors.gateway_not_found, errors.payment_method_not_found,
// errors.transaction_not_found), what kassa does not support 422
// (errors.unsupported_operation).
package spreedly

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// Dialect names this API in logs and metrics.
const Dialect = "spreedly"

// Options configures the dialect.
type Options struct {
	// Logger receives access logs, panics and internal errors; nil
	// discards them.
	Logger *slog.Logger
	// Registry receives the HTTP metrics; a fresh registry when nil.
	Registry *prometheus.Registry
	// MaxBody limits request bodies; api.DefaultMaxBody when not positive.
	MaxBody int64
}

type format int

const (
	formatJSON format = iota
	formatXML
)

// formatOfPath is the format a path asks for: XML for ".xml", else JSON.
func formatOfPath(path string) format {
	if strings.HasSuffix(path, ".xml") {
		return formatXML
	}
	return formatJSON
}

// write renders root in f with status.
func write(w http.ResponseWriter, f format, status int, root *node) {
	h := w.Header()
	var body []byte
	if f == formatXML {
		h.Set("Content-Type", "application/xml; charset=utf-8")
		body = renderXML(root)
	} else {
		h.Set("Content-Type", "application/json; charset=utf-8")
		body = renderJSON(root)
	}
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(body)
}

// call is one request as a handler sees it: the caller, the format and the
// token of the path (without its suffix).
type call struct {
	p      *payment.Principal
	f      format
	token  string
	w      http.ResponseWriter
	r      *http.Request
	server *server
}

func (c *call) reply(status int, root *node) error {
	write(c.w, c.f, status, root)
	return nil
}

// route is one endpoint. path holds "{token}" where the resource's token
// goes; a path ending in "{token}" takes the format suffix on the token, the
// others after their last segment. Paths with raw set take no suffix.
type route struct {
	method string
	path   string
	public bool
	raw    bool
	// movesMoney: its Idempotency-Key is claimed by the operation's
	// reservation (api.IdempotencyAtReserve).
	movesMoney bool
	handle     func(c *call) error
}

var routes = []route{
	{method: "GET", path: "/v1/gateways_options", public: true, handle: (*call).gatewaysOptions},
	{method: "POST", path: "/v1/gateways", handle: (*call).createGateway},
	{method: "GET", path: "/v1/gateways", handle: (*call).listGateways},
	{method: "GET", path: "/v1/gateways/{token}", handle: (*call).showGateway},
	{method: "PUT", path: "/v1/gateways/{token}", handle: (*call).updateGateway},
	{method: "PUT", path: "/v1/gateways/{token}/retain", handle: (*call).retainGateway},
	{method: "PUT", path: "/v1/gateways/{token}/redact", handle: (*call).redactGateway},
	{method: "POST", path: "/v1/gateways/{token}/purchase", movesMoney: true, handle: (*call).purchase},
	{method: "POST", path: "/v1/gateways/{token}/authorize", movesMoney: true, handle: (*call).authorize},
	{method: "POST", path: "/v1/gateways/{token}/verify", movesMoney: true, handle: (*call).verify},
	{method: "POST", path: "/v1/gateways/{token}/store", movesMoney: true, handle: (*call).store},
	{method: "POST", path: "/v1/gateways/{token}/general_credit", movesMoney: true, handle: (*call).generalCredit},
	{method: "POST", path: "/v1/gateways/{token}/offsite_purchase", handle: unsupportedHandler("offsite purchase")},
	{method: "POST", path: "/v1/gateways/{token}/offsite_authorize", handle: unsupportedHandler("offsite authorize")},
	{method: "POST", path: "/v1/payment_methods", handle: (*call).createPaymentMethod},
	{method: "GET", path: "/v1/payment_methods", handle: (*call).listPaymentMethods},
	{method: "GET", path: "/v1/payment_methods/{token}", handle: (*call).showPaymentMethod},
	{method: "PUT", path: "/v1/payment_methods/{token}", handle: (*call).updatePaymentMethod},
	{method: "PUT", path: "/v1/payment_methods/{token}/retain", handle: (*call).retainPaymentMethod},
	{method: "PUT", path: "/v1/payment_methods/{token}/redact", handle: (*call).redactPaymentMethod},
	{method: "PUT", path: "/v1/payment_methods/{token}/recache", handle: (*call).recachePaymentMethod},
	{method: "GET", path: "/v1/payment_methods/{token}/transactions", handle: (*call).listPaymentMethodTransactions},
	{method: "GET", path: "/v1/transactions", handle: (*call).listTransactions},
	{method: "GET", path: "/v1/transactions/{token}", handle: (*call).showTransaction},
	{method: "POST", path: "/v1/transactions/{token}/capture", movesMoney: true, handle: (*call).capture},
	{method: "POST", path: "/v1/transactions/{token}/void", movesMoney: true, handle: (*call).void},
	{method: "POST", path: "/v1/transactions/{token}/credit", movesMoney: true, handle: (*call).credit},
	{method: "POST", path: "/v1/transactions/{token}/complete", handle: unsupportedHandler("complete")},
	{method: "POST", path: "/v1/transactions/{token}/confirm", handle: unsupportedHandler("confirm")},
	{method: "GET", path: "/v1/transactions/{token}/transcript", raw: true, handle: (*call).transcript},
	{method: "POST", path: "/v1/receivers", handle: unsupportedHandler("receivers")},
	{method: "GET", path: "/v1/receivers", handle: unsupportedHandler("receivers")},
}

func unsupportedHandler(what string) func(*call) error {
	return func(*call) error { return unsupported(what) }
}

// server holds what the handlers share.
type server struct {
	eng *engine.Engine
	log *slog.Logger
	// idempotent wraps a POST's handler in the Idempotency-Key protocol;
	// idempotentAtReserve that of a route that moves money.
	idempotent, idempotentAtReserve func(http.Handler) http.Handler
}

// Routes lists the dialect's routes as "METHOD /path" patterns with their
// {wildcards}, each with its .json suffix (routes answer .xml the same
// way): for tests that must cover every route.
func Routes() []string {
	var out []string
	for _, rt := range routes {
		p := rt.path
		if !rt.raw {
			p += ".json"
		}
		out = append(out, rt.method+" "+p)
	}
	return out
}

// New returns the Spreedly dialect over eng with its middleware: request
// ids, access log, metrics, panic recovery, body limit and authentication.
func New(eng *engine.Engine, opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	s := &server{eng: eng, log: opts.Logger}
	s.idempotent = api.Idempotency(eng, opts.Logger, s.render)
	s.idempotentAtReserve = api.IdempotencyAtReserve(eng, opts.Logger, s.render)
	mux := api.NewMux()
	for _, rt := range routes {
		if rt.raw {
			mux.Handle(rt.method+" "+rt.path, s.endpoint(rt, ""))
			continue
		}
		if strings.HasSuffix(rt.path, "/{token}") {
			mux.Handle(rt.method+" "+strings.TrimSuffix(rt.path, "{token}")+"{file}", s.endpoint(rt, "file"))
			continue
		}
		for _, ext := range []string{".json", ".xml"} {
			mux.Handle(rt.method+" "+rt.path+ext, s.endpoint(rt, ""))
		}
	}
	mux.Handle("/", api.Handle(func(w http.ResponseWriter, r *http.Request) error { return errRouteMissing }, s.render))
	return api.Stack(mux, api.StackOptions{
		Dialect: Dialect,
		Logger:  opts.Logger,
		Metrics: api.NewMetrics(opts.Registry),
		MaxBody: opts.MaxBody,
		Render:  s.render,
	})
}

// endpoint builds the handler of rt. file names the path wildcard holding
// "token.ext", when the token is the last segment.
func (s *server) endpoint(rt route, file string) http.Handler {
	return api.Handle(func(w http.ResponseWriter, r *http.Request) error {
		c := &call{w: w, r: r, server: s, f: formatOfPath(r.URL.Path), token: r.PathValue("token")}
		if file != "" {
			name := r.PathValue(file)
			tok, ext, ok := cutExt(name)
			if !ok {
				return errRouteMissing
			}
			c.token = tok
			c.f = ext
		}
		if !rt.public {
			p, err := s.authenticate(r)
			if err != nil {
				return err
			}
			c.p = p
			c.r = r.WithContext(api.WithPrincipal(r.Context(), p))
			if r.Method == http.MethodPost {
				// Spreedly has no Idempotency-Key; kassa honours one on
				// every POST, as its own API does, with the same recovery
				// after a crash (ADR 0008).
				idem := s.idempotent
				if rt.movesMoney {
					idem = s.idempotentAtReserve
				}
				idem(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					c.w, c.r = w, r
					if err := rt.handle(c); err != nil {
						s.render(w, r, err)
					}
				})).ServeHTTP(c.w, c.r)
				return nil
			}
		}
		return rt.handle(c)
	}, s.render)
}

// cutExt splits "token.json" into the token and its format.
func cutExt(name string) (string, format, bool) {
	if tok, ok := strings.CutSuffix(name, ".json"); ok && tok != "" {
		return tok, formatJSON, true
	}
	if tok, ok := strings.CutSuffix(name, ".xml"); ok && tok != "" {
		return tok, formatXML, true
	}
	return "", formatJSON, false
}

// authenticate checks HTTP Basic credentials: the account id as user, one
// of its secret keys as password. Every failure is the same 401.
func (s *server) authenticate(r *http.Request) (*payment.Principal, error) {
	user, pass, ok := r.BasicAuth()
	if !ok || user == "" || pass == "" {
		return nil, errAccessDenied
	}
	p, err := s.eng.Authenticate(r.Context(), pass)
	if err != nil {
		if e, ok := payment.AsError(err); ok && e.Kind == payment.KindUnauthenticated {
			return nil, errAccessDenied
		}
		return nil, err
	}
	if p.Account == nil || p.Account.ID != user || p.Key == nil || p.Key.Kind != payment.KeySecret {
		return nil, errAccessDenied
	}
	return p, nil
}
