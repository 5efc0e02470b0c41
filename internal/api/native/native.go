// Package native is kassa's own REST API, /v1: JSON in snake_case, bearer
// API keys, Stripe-shaped errors ({"error":{"type","code","message",
// "param"}}), Idempotency-Key on every POST but those that make API keys,
// and cursor-paginated lists (docs/architecture.md §5). Its OpenAPI 3.1
// document, openapi.json, is served at /v1/openapi.json; a test keeps it in
// step with the route table below.
package native

import (
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// Dialect names this API in logs and metrics.
const Dialect = "native"

// Options configures the native API.
type Options struct {
	// Logger receives access logs, panics and internal errors; nil
	// discards them.
	Logger *slog.Logger
	// Registry receives the HTTP metrics (kassa serve exposes it on its
	// own listener, --metrics-addr); a
	// fresh registry when nil (never the global default).
	Registry *prometheus.Registry
	// MaxBody limits request bodies; api.DefaultMaxBody (1 MiB) when not
	// positive.
	MaxBody int64
	// PublicURL is the base URL the hosted checkout pages are reached at
	// (a checkout session's url is PublicURL/checkout/{id}); when empty,
	// the scheme and host the request came to.
	PublicURL string

	// extraRoutes are mounted beside the table; tests use it to add
	// handlers that misbehave on purpose.
	extraRoutes []route
}

// access is what a route asks of the caller's key.
type access int

const (
	public      access = iota // no key at all
	publishable               // a secret or a publishable key
	secret                    // a secret key
)

// route is one endpoint. Its method and path form the ServeMux pattern.
type route struct {
	method string
	path   string
	access access
	handle func(s *server, w http.ResponseWriter, r *http.Request) error
}

// routes is every endpoint of the API. TestOpenAPICoversRoutes checks each
// against openapi.json.
var routes = []route{
	{"POST", "/v1/payment_methods", publishable, (*server).createPaymentMethod},
	{"GET", "/v1/payment_methods", secret, (*server).listPaymentMethods},
	{"GET", "/v1/payment_methods/{id}", secret, (*server).getPaymentMethod},
	{"POST", "/v1/payment_methods/{id}", secret, (*server).updatePaymentMethod},
	{"POST", "/v1/payment_methods/{id}/retain", secret, (*server).retainPaymentMethod},
	{"POST", "/v1/payment_methods/{id}/redact", secret, (*server).redactPaymentMethod},
	{"POST", "/v1/customers", secret, (*server).createCustomer},
	{"GET", "/v1/customers", secret, (*server).listCustomers},
	{"GET", "/v1/customers/{id}", secret, (*server).getCustomer},
	{"POST", "/v1/customers/{id}", secret, (*server).updateCustomer},
	{"DELETE", "/v1/customers/{id}", secret, (*server).deleteCustomer},
	{"GET", "/v1/customers/{id}/payment_methods", secret, (*server).listCustomerPaymentMethods},
	{"POST", "/v1/customers/{id}/tokens", secret, (*server).createCustomerToken},
	{"GET", "/v1/customers/{id}/tokens", secret, (*server).listCustomerTokens},
	{"DELETE", "/v1/customers/{id}/tokens/{token_id}", secret, (*server).deleteCustomerToken},
	{"POST", "/v1/checkout_sessions", secret, (*server).createCheckoutSession},
	{"GET", "/v1/checkout_sessions", secret, (*server).listCheckoutSessions},
	{"GET", "/v1/checkout_sessions/{id}", secret, (*server).getCheckoutSession},
	{"POST", "/v1/checkout_sessions/{id}/cancel", secret, (*server).cancelCheckoutSession},
	{"GET", "/v1/gateway_types", secret, (*server).listGatewayTypes},
	{"POST", "/v1/gateways", secret, (*server).createGateway},
	{"GET", "/v1/gateways", secret, (*server).listGateways},
	{"GET", "/v1/gateways/{id}", secret, (*server).getGateway},
	{"PATCH", "/v1/gateways/{id}", secret, (*server).updateGateway},
	{"PUT", "/v1/gateways/{id}/credentials", secret, (*server).setGatewayCredentials},
	{"GET", "/v1/gateways/{id}/credentials", secret, (*server).listGatewayCredentials},
	{"POST", "/v1/gateways/{id}/retain", secret, (*server).retainGateway},
	{"POST", "/v1/gateways/{id}/redact", secret, (*server).redactGateway},
	{"POST", "/v1/payments", secret, (*server).createPayment},
	{"GET", "/v1/payments", secret, (*server).listPayments},
	{"GET", "/v1/payments/{id}", secret, (*server).getPayment},
	{"POST", "/v1/payments/{id}/capture", secret, (*server).capturePayment},
	{"POST", "/v1/payments/{id}/void", secret, (*server).voidPayment},
	{"POST", "/v1/payments/{id}/refunds", secret, (*server).refundPayment},
	{"POST", "/v1/verifications", secret, (*server).createVerification},
	{"GET", "/v1/operations/{id}", secret, (*server).getOperation},
	{"GET", "/v1/operations/{id}/transcript", secret, (*server).getTranscript},
	{"POST", "/v1/operations/{id}/resolve", secret, (*server).resolveOperation},
	{"GET", "/v1/api_keys", secret, (*server).listAPIKeys},
	{"POST", "/v1/api_keys", secret, (*server).createAPIKey},         // see secretResponses
	{"POST", "/v1/api_keys/{id}/roll", secret, (*server).rollAPIKey}, // see secretResponses
	{"POST", "/v1/api_keys/{id}/revoke", secret, (*server).revokeAPIKey},
	{"GET", "/v1/events", secret, (*server).listEvents},
	{"GET", "/v1/events/{id}", secret, (*server).getEvent},
	{"POST", "/v1/events/{id}/redeliver", secret, (*server).redeliverEvent},
	{"GET", "/v1/event_types", secret, (*server).listEventTypes},
	{"POST", "/v1/webhook_endpoints", secret, (*server).createWebhookEndpoint}, // see secretResponses
	{"GET", "/v1/webhook_endpoints", secret, (*server).listWebhookEndpoints},
	{"GET", "/v1/webhook_endpoints/{id}", secret, (*server).getWebhookEndpoint},
	{"POST", "/v1/webhook_endpoints/{id}", secret, (*server).updateWebhookEndpoint},
	{"DELETE", "/v1/webhook_endpoints/{id}", secret, (*server).deleteWebhookEndpoint},
	{"POST", "/v1/webhook_endpoints/{id}/rotate_secret", secret, (*server).rotateWebhookSecret}, // see secretResponses
	{"POST", "/v1/webhook_endpoints/{id}/ping", secret, (*server).pingWebhookEndpoint},
	{"POST", "/v1/webhook_endpoints/{id}/recover", secret, (*server).recoverWebhooks},
	{"GET", "/v1/webhook_endpoints/{id}/deliveries", secret, (*server).listWebhookAttempts},
	{"GET", "/v1/account", secret, (*server).getAccount},
	{"POST", "/v1/account", secret, (*server).updateAccount},
	{"GET", "/v1/openapi.json", public, (*server).openAPI},
	{"POST", "/v1/gateways/{id}/notifications", public, (*server).gatewayNotifications},
	{"GET", "/healthz", public, (*server).healthz},
	{"GET", "/readyz", public, (*server).readyz},
}

// secretResponses are the POST routes whose responses hold a new key's
// secret. They ignore Idempotency-Key: the idempotency middleware would keep
// the response in the database for a day, the secret in plain text, and
// hand it to anyone replaying the key (with an old key in its grace period,
// say). A retry makes another key instead.
var secretResponses = map[string]bool{
	"POST /v1/api_keys":           true,
	"POST /v1/api_keys/{id}/roll": true,
	// A webhook endpoint's signing secret.
	"POST /v1/webhook_endpoints":                    true,
	"POST /v1/webhook_endpoints/{id}/rotate_secret": true,
}

// idempotent reports whether rt runs behind the idempotency middleware.
// movesMoney are the routes whose Idempotency-Key is claimed by the
// operation's reservation itself (api.IdempotencyAtReserve).
var movesMoney = map[string]bool{
	"POST /v1/payments":              true,
	"POST /v1/payments/{id}/capture": true,
	"POST /v1/payments/{id}/void":    true,
	"POST /v1/payments/{id}/refunds": true,
	"POST /v1/verifications":         true,
}

func (rt route) idempotent() bool {
	return rt.method == http.MethodPost && rt.access != public && !secretResponses[rt.method+" "+rt.path]
}

// server holds what the handlers share.
type server struct {
	eng       *engine.Engine
	log       *slog.Logger
	publicURL string
	ops       struct{ health, ready http.Handler }
}

// New returns the native API over eng, with its middleware: request ids,
// access log, metrics, panic recovery, body limit, authentication and
// idempotency.
func New(eng *engine.Engine, opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	s := &server{eng: eng, log: opts.Logger, publicURL: opts.PublicURL}
	s.ops.health = api.Healthz()
	s.ops.ready = api.Readyz(eng, opts.Logger)
	mux := api.NewMux()
	allowed := map[string][]string{} // path → its methods, for 405s
	for _, rt := range slices.Concat(routes, opts.extraRoutes) {
		mux.Handle(rt.method+" "+rt.path, s.endpoint(rt))
		allowed[rt.path] = append(allowed[rt.path], rt.method)
	}
	for path, methods := range allowed {
		mux.Handle(path, api.Handle(methodNotAllowed(methods), s.render))
	}
	mux.Handle("/", api.Handle(routeNotFound, s.render))
	return api.Stack(mux, api.StackOptions{
		Dialect: Dialect,
		Logger:  opts.Logger,
		Metrics: api.NewMetrics(opts.Registry),
		MaxBody: opts.MaxBody,
		Render:  s.render,
	})
}

// endpoint builds the handler of rt: authentication, then idempotency for
// POSTs (see idempotent), then the route's own handler.
func (s *server) endpoint(rt route) http.Handler {
	h := api.Handle(func(w http.ResponseWriter, r *http.Request) error { return rt.handle(s, w, r) }, s.render)
	if rt.access == public {
		return h
	}
	switch {
	case rt.idempotent() && movesMoney[rt.method+" "+rt.path]:
		h = api.IdempotencyAtReserve(s.eng, s.log, s.render)(h)
	case rt.idempotent():
		h = api.Idempotency(s.eng, s.log, s.render)(h)
	}
	return s.authenticate(rt.access, h)
}

var (
	errNoKey = &payment.Error{Kind: payment.KindUnauthenticated, Code: payment.CodeInvalidAPIKey,
		Message: "No valid API key provided. Send your key as 'Authorization: Bearer <key>'."}
	errScope = &payment.Error{Kind: payment.KindForbidden, Code: payment.CodeScopeInsufficient,
		Message: "A publishable key may only create payment methods; use a secret key for this request."}
)

// authenticate lets a request through to next only with a key that may
// call a route of the given access.
func (s *server) authenticate(need access, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := api.BearerToken(r)
		if !ok {
			s.render(w, r, errNoKey)
			return
		}
		p, err := s.eng.Authenticate(r.Context(), token)
		if err != nil {
			s.render(w, r, err)
			return
		}
		if need == secret && p.Key.Kind != payment.KeySecret {
			s.render(w, r, errScope)
			return
		}
		next.ServeHTTP(w, r.WithContext(api.WithPrincipal(r.Context(), p)))
	})
}

// principal returns the caller; the routes that call it are behind
// authenticate.
func principal(r *http.Request) (*payment.Principal, error) {
	p, ok := api.PrincipalFrom(r.Context())
	if !ok {
		return nil, &payment.Error{Kind: payment.KindInternal, Code: payment.CodeInternal, Message: "route has no principal"}
	}
	return p, nil
}

// methodNotAllowed answers a known path asked with another method.
func methodNotAllowed(methods []string) api.Handler {
	allow := slices.Clone(methods)
	if slices.Contains(allow, http.MethodGet) {
		allow = append(allow, http.MethodHead)
	}
	slices.Sort(allow)
	allow = slices.Compact(allow)
	header := strings.Join(allow, ", ")
	return func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Allow", header)
		return &payment.Error{Kind: payment.KindMalformed, Code: api.CodeMethodNotAllowed,
			Message: "This method is not allowed on this URL; allowed: " + header + "."}
	}
}

// routeNotFound answers every path no route has. The message does not
// repeat the path: clients have been known to put card numbers in URLs.
func routeNotFound(w http.ResponseWriter, r *http.Request) error {
	return &payment.Error{Kind: payment.KindNotFound, Code: api.CodeRouteNotFound,
		Message: "Unrecognized request URL. See /v1/openapi.json for the routes of this API."}
}

func (s *server) healthz(w http.ResponseWriter, r *http.Request) error {
	s.ops.health.ServeHTTP(w, r)
	return nil
}

func (s *server) readyz(w http.ResponseWriter, r *http.Request) error {
	s.ops.ready.ServeHTTP(w, r)
	return nil
}
