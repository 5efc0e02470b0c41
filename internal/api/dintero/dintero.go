// Package dintero is kassa's Dintero dialect: Dintero's checkout and core
// APIs (one path space: its two hosts' paths do not overlap), JSON only,
// with Dintero's authentication and error envelope
// ({"error":{"message","code","errors"}}).
//
// It serves paths without a prefix (/v1/…); cmd/kassa mounts it under
// /dintero with http.StripPrefix and on its own listener (--dintero-addr).
//
// Authentication (ADR 0020): a client exchanges its client id and secret
// for an access token at POST /v1/accounts/{aid}/auth/token (HTTP Basic);
// every other route takes "Authorization: Bearer <token>", and admin
// routes (/v1/admin/…) also "x-api-key: <secret key>". A client is a kassa
// secret key: its client_id is the key's prefix (its first 16 characters),
// its client_secret the key. A Dintero account id {aid} is the kassa
// account id (payment.DinteroAccountID).
//
// Routes plug in as entries of routes(): each names the scopes any of which
// grants it, and gets the authenticated caller (account, key, scopes).
package dintero

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// Dialect names this API in logs and metrics.
const Dialect = "dintero"

// Scopes a client may hold (Dintero's names). A kassa secret key is a
// client with all of them; a token request may narrow them ("scope").
// Each route accepts the admin scope of its area and the read or write
// scope its method needs, as Dintero's API reference lists per endpoint.
const (
	ScopeAdminCheckout  = "admin:checkout"
	ScopeWriteCheckout  = "write:checkout"
	ScopeReadCheckout   = "read:checkout"
	ScopeAdminCustomers = "admin:customers"
	ScopeWriteCustomers = "write:customers"
	ScopeReadCustomers  = "read:customers"
	ScopeAdminAccounts  = "admin:accounts"
	ScopeWriteAccounts  = "write:accounts"
	ScopeReadAccounts   = "read:accounts"
)

// AllScopes are the scopes a secret key's tokens carry unless narrowed.
var AllScopes = []string{
	ScopeAdminCheckout, ScopeWriteCheckout, ScopeReadCheckout,
	ScopeAdminCustomers, ScopeWriteCustomers, ScopeReadCustomers,
	ScopeAdminAccounts, ScopeWriteAccounts, ScopeReadAccounts,
}

// Options configures the dialect.
type Options struct {
	// Logger receives access logs, panics and internal errors; nil
	// discards them.
	Logger *slog.Logger
	// Registry receives the HTTP metrics; a fresh registry when nil.
	Registry *prometheus.Registry
	// MaxBody limits request bodies; api.DefaultMaxBody when not positive.
	MaxBody int64
	// PublicURL is the base URL the hosted checkout page is reached at (a
	// session's url is PublicURL/checkout/dintero/v1/view/{id}); when
	// empty, the origin the request came to.
	PublicURL string
}

// authKind is how a route authenticates its caller.
type authKind int

const (
	// authBearer: an access token (the default).
	authBearer authKind = iota
	// authBearerOrAPIKey: an access token or x-api-key (admin routes).
	authBearerOrAPIKey
	// authClient: the handler checks HTTP Basic client credentials itself
	// (the token endpoint).
	authClient
)

// route is one endpoint; its method and path form the ServeMux pattern. A
// path with {aid} must name the caller's account.
type route struct {
	method, path string
	auth         authKind
	// scopes: any one of them grants the route (none for authClient).
	scopes []string
	handle func(s *server, w http.ResponseWriter, r *http.Request, c *caller) error
}

// routes is every endpoint of the dialect.
func routes() []route {
	return []route{
		{method: "POST", path: "/v1/accounts/{aid}/auth/token", auth: authClient, handle: (*server).token},
		{method: "GET", path: "/v1/accounts/{aid}/management/settings", auth: authBearer,
			scopes: []string{ScopeAdminAccounts, ScopeReadAccounts}, handle: (*server).accountSettings},
		// Customers and their tokens (customers.go, ADR 0023).
		{method: "GET", path: "/v1/accounts/{aid}/customers/users", scopes: customersRead, handle: (*server).listCustomers},
		{method: "POST", path: "/v1/accounts/{aid}/customers/users", scopes: customersWrite, handle: (*server).createCustomer},
		{method: "GET", path: "/v1/accounts/{aid}/customers/users/{customer_id}", scopes: customersRead, handle: (*server).getCustomer},
		{method: "PUT", path: "/v1/accounts/{aid}/customers/users/{customer_id}", scopes: customersWrite, handle: (*server).updateCustomer},
		{method: "DELETE", path: "/v1/accounts/{aid}/customers/users/{customer_id}", scopes: customersWrite, handle: (*server).deleteCustomer},
		{method: "GET", path: "/v1/accounts/{aid}/customers/users/{customer_id}/tokens", scopes: customersRead, handle: (*server).listTokens},
		{method: "POST", path: "/v1/accounts/{aid}/customers/users/{customer_id}/tokens", scopes: customersWrite, handle: (*server).createToken},
		{method: "DELETE", path: "/v1/accounts/{aid}/customers/users/{customer_id}/tokens/{token_id}", scopes: customersWrite, handle: (*server).deleteToken},
		// Admin gateway credentials (admin.go).
		{method: "PUT", path: "/v1/admin/gateways/{gateway}/credentials", auth: authBearerOrAPIKey,
			scopes: []string{ScopeAdminCheckout}, handle: (*server).putGatewayCredential},
		{method: "GET", path: "/v1/admin/gateways/{gateway}/credentials", auth: authBearerOrAPIKey,
			scopes: []string{ScopeAdminCheckout}, handle: (*server).listGatewayCredentials},
		{method: "GET", path: "/v1/transactions", auth: authBearer,
			scopes: []string{ScopeAdminCheckout, ScopeReadCheckout}, handle: (*server).transactionList},
		{method: "GET", path: "/v1/transactions/{id}", auth: authBearer,
			scopes: []string{ScopeAdminCheckout, ScopeReadCheckout}, handle: (*server).transactionGet},
		{method: "PUT", path: "/v1/transactions/{id}", auth: authBearer,
			scopes: []string{ScopeAdminCheckout, ScopeWriteCheckout}, handle: (*server).transactionUpdate},
		{method: "POST", path: "/v1/transactions/{id}/capture", auth: authBearer,
			scopes: []string{ScopeAdminCheckout, ScopeWriteCheckout}, handle: (*server).transactionCapture},
		{method: "POST", path: "/v1/transactions/{id}/refund", auth: authBearer,
			scopes: []string{ScopeAdminCheckout, ScopeWriteCheckout}, handle: (*server).transactionRefund},
		{method: "POST", path: "/v1/transactions/{id}/void", auth: authBearer,
			scopes: []string{ScopeAdminCheckout, ScopeWriteCheckout}, handle: (*server).transactionVoid},
		// Checkout sessions (sessions.go) and the callback signature secret
		// (callbacks.go).
		{method: "POST", path: "/v1/sessions", auth: authBearer,
			scopes: []string{ScopeAdminCheckout, ScopeWriteCheckout}, handle: (*server).createSession},
		{method: "GET", path: "/v1/sessions/{session_id}", auth: authBearer,
			scopes: []string{ScopeAdminCheckout, ScopeReadCheckout}, handle: (*server).getSession},
		{method: "POST", path: "/v1/sessions/{session_id}/cancel", auth: authBearer,
			scopes: []string{ScopeAdminCheckout, ScopeWriteCheckout}, handle: (*server).cancelSession},
		{method: "POST", path: "/v1/admin/signature", auth: authBearerOrAPIKey,
			scopes: []string{ScopeAdminCheckout}, handle: (*server).setSignature},
		// Session profiles and sessions from them (profiles.go).
		{method: "GET", path: "/v1/admin/session/profiles", auth: authBearerOrAPIKey,
			scopes: []string{ScopeAdminCheckout}, handle: (*server).listProfiles},
		{method: "POST", path: "/v1/admin/session/profiles", auth: authBearerOrAPIKey,
			scopes: []string{ScopeAdminCheckout}, handle: (*server).createProfile},
		{method: "GET", path: "/v1/admin/session/profiles/{profile_id}", auth: authBearerOrAPIKey,
			scopes: []string{ScopeAdminCheckout}, handle: (*server).getProfile},
		{method: "PUT", path: "/v1/admin/session/profiles/{profile_id}", auth: authBearerOrAPIKey,
			scopes: []string{ScopeAdminCheckout}, handle: (*server).updateProfile},
		{method: "DELETE", path: "/v1/admin/session/profiles/{profile_id}", auth: authBearerOrAPIKey,
			scopes: []string{ScopeAdminCheckout}, handle: (*server).deleteProfile},
		{method: "POST", path: "/v1/sessions-profile", auth: authBearer,
			scopes: []string{ScopeAdminCheckout, ScopeWriteCheckout}, handle: (*server).createProfileSession},
		{method: "POST", path: "/v1/sessions/payment-token", auth: authBearer,
			scopes: []string{ScopeAdminCheckout, ScopeWriteCheckout}, handle: (*server).createPaymentTokenSession},
		{method: "POST", path: "/v1/sessions/pay", auth: authBearer,
			scopes: []string{ScopeAdminCheckout, ScopeWriteCheckout}, handle: (*server).paySession},
		{method: "PUT", path: "/v1/sessions/{session_id}", auth: authBearer,
			scopes: []string{ScopeAdminCheckout, ScopeWriteCheckout}, handle: (*server).updateSession},
		{method: "GET", path: "/v1/card-tokens", auth: authBearer,
			scopes: []string{ScopeAdminCheckout}, handle: (*server).cardTokenList},
		{method: "GET", path: "/v1/card-tokens/{token_id}", auth: authBearer,
			scopes: []string{ScopeAdminCheckout}, handle: (*server).cardTokenGet},
		{method: "DELETE", path: "/v1/card-tokens/{token_id}", auth: authBearer,
			scopes: []string{ScopeAdminCheckout}, handle: (*server).cardTokenDelete},
	}
}

// Routes lists the dialect's routes as "METHOD /path" patterns, for tests
// that must cover every route.
func Routes() []string {
	var out []string
	for _, rt := range routes() {
		out = append(out, rt.method+" "+rt.path)
	}
	return out
}

// caller is who called a route: a principal and the scopes it holds.
type caller struct {
	*payment.Principal
	Scopes []string
}

func (c *caller) has(scopes []string) bool {
	for _, s := range scopes {
		if slices.Contains(c.Scopes, s) {
			return true
		}
	}
	return false
}

// server holds what the handlers share.
type server struct {
	eng       *engine.Engine
	log       *slog.Logger
	publicURL string
}

// New returns the Dintero dialect over eng with its middleware: request
// ids, access log, metrics, panic recovery, body limit and authentication.
func New(eng *engine.Engine, opts Options) http.Handler {
	return newHandler(eng, opts, routes())
}

// newHandler is New with the routes given (tests add their own).
func newHandler(eng *engine.Engine, opts Options, rts []route) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	s := &server{eng: eng, log: opts.Logger, publicURL: opts.PublicURL}
	mux := api.NewMux()
	byPath := map[string][]string{}
	for _, rt := range rts {
		mux.Handle(rt.method+" "+rt.path, s.endpoint(rt))
		byPath[rt.path] = append(byPath[rt.path], rt.method)
	}
	// The other methods of a path are 405s. They are registered one by
	// one, not as the bare path: "/v1/sessions/pay" for every method would
	// conflict with "GET /v1/sessions/{session_id}" in a ServeMux.
	missing := api.Handle(func(http.ResponseWriter, *http.Request) error { return errMethodMissing }, s.render)
	for path, served := range byPath {
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
			if !slices.Contains(served, m) {
				mux.Handle(m+" "+path, missing)
			}
		}
	}
	mux.Handle("/", api.Handle(func(http.ResponseWriter, *http.Request) error { return errRouteMissing }, s.render))
	return api.Stack(mux, api.StackOptions{
		Dialect: Dialect,
		Logger:  opts.Logger,
		Metrics: api.NewMetrics(opts.Registry),
		MaxBody: opts.MaxBody,
		Render:  s.render,
	})
}

// endpoint checks the path's account id, authenticates the caller, checks
// the route's scopes and that {aid} is the caller's, and runs rt.
func (s *server) endpoint(rt route) http.Handler {
	return api.Handle(func(w http.ResponseWriter, r *http.Request) error {
		aid := r.PathValue("aid")
		if strings.Contains(rt.path, "{aid}") && !payment.ValidAccountID(aid) {
			return errNoAccount
		}
		if rt.auth == authClient {
			return rt.handle(s, w, r, nil)
		}
		c, err := s.authenticate(r, rt.auth)
		if err != nil {
			return err
		}
		r = r.WithContext(api.WithPrincipal(r.Context(), c.Principal))
		if aid != "" && aid != payment.DinteroAccountID(c.Account.ID) {
			return errOtherAccount
		}
		if !c.has(rt.scopes) {
			return errScope
		}
		return rt.handle(s, w, r, c)
	}, s.render)
}

// authenticate reads the caller from an access token or, where auth
// allows, from x-api-key (which holds every scope). Every failure is a 401.
func (s *server) authenticate(r *http.Request, auth authKind) (*caller, error) {
	if auth == authBearerOrAPIKey {
		if vals := r.Header.Values("X-Api-Key"); len(vals) > 0 {
			return s.apiKeyCaller(r.Context(), vals)
		}
	}
	raw, ok := api.BearerToken(r)
	if !ok {
		return nil, errUnauthorized
	}
	g, err := s.eng.VerifyAccessToken(r.Context(), raw)
	if err != nil {
		if e, ok := payment.AsError(err); ok && e.Kind == payment.KindUnauthenticated {
			return nil, errBadToken
		}
		return nil, err
	}
	// The audience a token was minted for must be its own account's.
	if audienceAccount(g.Audience) != payment.DinteroAccountID(g.Principal.Account.ID) {
		return nil, errBadToken
	}
	return &caller{Principal: g.Principal, Scopes: g.Scopes}, nil
}

// apiKeyCaller authenticates x-api-key: one header holding a secret key.
func (s *server) apiKeyCaller(ctx context.Context, vals []string) (*caller, error) {
	if len(vals) != 1 || vals[0] == "" {
		return nil, errBadAPIKey
	}
	p, err := s.eng.Authenticate(ctx, vals[0])
	if err != nil {
		if e, ok := payment.AsError(err); ok && e.Kind == payment.KindUnauthenticated {
			return nil, errBadAPIKey
		}
		return nil, err
	}
	if p.Key.Kind != payment.KeySecret {
		return nil, errBadAPIKey
	}
	return &caller{Principal: p, Scopes: AllScopes}, nil
}

// audienceAccount is the account an audience names: the last segment of
// its path, which must end in /v1/accounts/{aid}. The SDKs build the
// audience from whatever base URL they were given, so scheme, host, user
// and any path before /v1 are not looked at. "" when it names none.
func audienceAccount(audience string) string {
	u, err := url.Parse(audience)
	if err != nil {
		return ""
	}
	rest := strings.TrimSuffix(u.Path, "/")
	i := strings.LastIndex(rest, "/v1/accounts/")
	if i < 0 {
		return ""
	}
	aid := rest[i+len("/v1/accounts/"):]
	if !payment.ValidAccountID(aid) {
		return ""
	}
	return aid
}
