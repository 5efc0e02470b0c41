// Package ixopay is kassa's IXOPAY dialect: the provisioning API
// (connectors) and the transaction API v3, JSON only, with HTTP Basic
// authentication (the account id as user, one of its secret keys as
// password) and IXOPAY's error envelope
// ({"success":false,"errorCode","errorMessage"}).
//
// It serves paths without a prefix (/api/v3/…); cmd/kassa mounts it under
// /ixopay with http.StripPrefix and on its own listener (--ixopay-addr).
//
// Mapping: a connector is a kassa gateway (a router for a
// meta-connector), stored with its IXOPAY keys (payment.Connector); a
// kassa account is an IXOPAY merchant, its merchantGuid derived from the
// account id (MerchantGUID).
package ixopay

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/ratelimit"
)

// Dialect names this API in logs and metrics.
const Dialect = "ixopay"

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

// route is one endpoint; its method and path form the ServeMux pattern.
type route struct {
	method string
	path   string
	handle func(s *server, w http.ResponseWriter, r *http.Request, p *payment.Principal) error
}

// routes is every endpoint of the dialect. provisioningRoutes and
// transactionRoutes are defined beside their handlers.
func routes() []route {
	return append(append([]route{}, provisioningRoutes...), transactionRoutes...)
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

// server holds what the handlers share.
type server struct {
	eng *engine.Engine
	log *slog.Logger
	// limits holds the status API's rate limits, in this process's memory
	// (ratelimit.go).
	limits *ratelimit.Limiter
}

// New returns the IXOPAY dialect over eng with its middleware: request
// ids, access log, metrics, panic recovery, body limit and authentication.
// The callbacks its transactions promise are sent by eng.RunWebhooks with
// CallbackSigner under SignerName.
func New(eng *engine.Engine, opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	s := &server{eng: eng, log: opts.Logger, limits: ratelimit.New(eng.Now)}
	mux := api.NewMux()
	byPath := map[string][]string{}
	for _, rt := range routes() {
		mux.Handle(rt.method+" "+rt.path, s.endpoint(rt))
		byPath[rt.path] = append(byPath[rt.path], rt.method)
	}
	for path := range byPath {
		mux.Handle(path, api.Handle(func(http.ResponseWriter, *http.Request) error { return errMethodNotAllow }, s.render))
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

// endpoint authenticates the caller and runs rt.
func (s *server) endpoint(rt route) http.Handler {
	return api.Handle(func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.authenticate(r)
		if err != nil {
			return err
		}
		r = r.WithContext(api.WithPrincipal(r.Context(), p))
		if strings.HasPrefix(rt.path, statusPrefix) {
			if err := s.limitStatus(r, p); err != nil {
				return err
			}
		}
		return rt.handle(s, w, r, p)
	}, s.render)
}

// authenticate checks HTTP Basic credentials: the account id as user, one
// of its secret keys as password, or the key's digest as the official
// IXOPAY client sends it (engine.KeyDigest: 40 hex digits). Every failure
// is the same 401.
func (s *server) authenticate(r *http.Request) (*payment.Principal, error) {
	user, pass, ok := r.BasicAuth()
	if !ok || user == "" || pass == "" {
		return nil, errAccessDenied
	}
	authenticate := s.eng.Authenticate
	if len(pass) == 40 && !strings.HasPrefix(pass, "sk_") {
		authenticate = func(ctx context.Context, digest string) (*payment.Principal, error) {
			return s.eng.AuthenticateDigest(ctx, user, digest)
		}
	}
	p, err := authenticate(r.Context(), pass)
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

// MerchantGUID is the IXOPAY merchant guid of a kassa account
// (payment.IXOPAYMerchantGUID): "ME-" and the account id.
func MerchantGUID(accountID string) string { return payment.IXOPAYMerchantGUID(accountID) }

// accountOfMerchantGUID is the account id in a merchant guid, or "".
func accountOfMerchantGUID(guid string) string {
	id, ok := strings.CutPrefix(guid, "ME-")
	if !ok || !payment.ValidAccountID(id) {
		return ""
	}
	return id
}
