// Package dashboard serves kassa's web console at /dashboard/: operators
// sign in as dashboard users (engine users.go) and see, within the account
// their session looks at, its payments and (pages to come) its review
// queue, gateways, webhooks, API keys and users.
//
// The pages are the hosted checkout page's kind: server-rendered with
// html/template, embedded assets only, the same strict Content-Security-
// Policy with a per-response nonce (web.ContentSecurityPolicy), no caching,
// no framing. Every page reads through the engine, scoped to the session's
// current account: another account's id is "not found".
//
// Writing a page (see routes.go): register it with s.get (a page any
// member may see), s.getAdmin (a page for admins only) or s.post (an action: admins only, the session's CSRF
// token and a same-origin request required); the handler gets the
// *request, whose Principal acts as the signed-in user (the actor of the
// events its actions cause), and renders with s.render, a template in
// templates/ that defines "title" and "content" and puts {{csrfField .}}
// in every form. Viewers get 403 on every action and .Admin is false for
// them: templates show action forms only {{if .Admin}}.
package dashboard

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/ratelimit"
	"github.com/kassapay/kassa/internal/web"
)

// Dialect names the dashboard in logs and metrics.
const Dialect = "dashboard"

// Base is the path the dashboard is mounted at.
const Base = "/dashboard"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Options configures the dashboard.
type Options struct {
	// Logger receives access logs, panics and internal errors; nil
	// discards them.
	Logger *slog.Logger
	// Registry receives the HTTP metrics; a fresh one when nil.
	Registry *prometheus.Registry
	// MaxBody limits request bodies; the forms are small.
	MaxBody int64
	// SecureCookies marks the cookies Secure even on a plain-HTTP
	// request: kassa sits behind a TLS proxy (its public URL is https).
	// A request that came over TLS gets Secure cookies anyway.
	SecureCookies bool
	// Now is the clock of the sign-in rate limits; time.Now when nil.
	Now func() time.Time
	// LoginLimits override the sign-in rate limits (tests); zero fields
	// keep the defaults.
	LoginLimits LoginLimits
}

// LoginLimits are the budgets of sign-in attempts. They are kept in the
// store (engine.TakeLoginAttempt), so the processes sharing a database
// share them and a restart refills none.
type LoginLimits struct {
	// PerEmail bounds attempts on one email, from anywhere: guessing one
	// user's password. Default 10 per 15 minutes.
	PerEmail ratelimit.Limit
	// PerClient bounds attempts from one client address, on any email:
	// trying one password on many users. Default 30 per 15 minutes.
	PerClient ratelimit.Limit
}

// Server is the dashboard. Its pages are methods registered in routes.go.
type Server struct {
	eng    *engine.Engine
	log    *slog.Logger
	mux    *api.Mux
	pages  map[string]*template.Template
	secure bool
	now    func() time.Time
	limits LoginLimits
	assets http.Handler
}

// New returns the dashboard over eng, to be mounted at /dashboard/.
func New(eng *engine.Engine, opts Options) http.Handler {
	return newServer(eng, &opts).handler(&opts)
}

// newServer builds the dashboard with its routes; handler wraps it in the
// middleware. Tests register probe routes in between.
func newServer(eng *engine.Engine, opts *Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 64 << 10
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.LoginLimits.PerEmail.N == 0 {
		opts.LoginLimits.PerEmail = ratelimit.Limit{N: 10, Window: 15 * time.Minute}
	}
	if opts.LoginLimits.PerClient.N == 0 {
		opts.LoginLimits.PerClient = ratelimit.Limit{N: 30, Window: 15 * time.Minute}
	}
	sub, _ := fs.Sub(assetFS, "assets") // cannot fail: the directory is embedded
	s := &Server{eng: eng, log: opts.Logger, mux: api.NewMux(), pages: parsePages(), secure: opts.SecureCookies,
		now: opts.Now, limits: opts.LoginLimits,
		assets: http.StripPrefix(Base+"/assets/", http.FileServerFS(sub))}
	names, _ := fs.Glob(sub, "*")
	for _, name := range names {
		s.mux.Handle("GET "+Base+"/assets/"+name, http.HandlerFunc(s.asset))
	}
	s.routes()
	return s
}

func (s *Server) handler(opts *Options) http.Handler {
	s.mux.Handle("/", s.public(func(w http.ResponseWriter, r *http.Request, _ *request) error {
		return payment.NotFound("page", "")
	}))
	return securityHeaders(api.Stack(s.mux, api.StackOptions{Dialect: Dialect, Logger: opts.Logger,
		Metrics: api.NewMetrics(opts.Registry), MaxBody: opts.MaxBody, Render: s.renderError}))
}

// sharedTemplates are the templates/ files every page is parsed with: the
// layout and the parts several pages draw (the audit trail). They are no
// pages themselves.
var sharedTemplates = []string{"layout", "audit"}

// parsePages parses each page template of templates/ with the shared ones.
func parsePages() map[string]*template.Template {
	funcs := template.FuncMap{
		"csrfField": func(p *page) template.HTML {
			return template.HTML(`<input type="hidden" name="csrf" value="` + template.HTMLEscapeString(p.CSRF) + `">`)
		},
		"amount": func(minor int64, currency string) string { return web.FormatAmount(minor, currency, "en") },
		"when": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04:05 UTC")
		},
	}
	var shared []string
	for _, name := range sharedTemplates {
		shared = append(shared, "templates/"+name+".html")
	}
	names, _ := fs.Glob(templateFS, "templates/*.html")
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if slices.Contains(sharedTemplates, name) {
			continue
		}
		pages[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, append(shared, n)...))
	}
	return pages
}

// request is what a page handler gets besides the HTTP request: the
// signed-in session (nil on public pages), the response's CSP nonce and
// the session's CSRF token.
type request struct {
	View  *engine.DashboardView
	Nonce string
	CSRF  string
	// token is the session cookie's value.
	token string
}

// Principal is who acts when the handler calls the engine: the session's
// user in its current account. Events record it as "user:<id>".
func (q *request) Principal() *payment.Principal { return q.View.Principal() }

// AccountID is the session's current account: scope every read to it.
func (q *request) AccountID() string { return q.View.Account.ID }

// Admin reports whether the user is an admin of the current account.
func (q *request) Admin() bool { return q.View != nil && q.View.Role == payment.RoleAdmin }

// handler is a page handler; its error is rendered by renderError.
type handler func(w http.ResponseWriter, r *http.Request, q *request) error

type nonceKey struct{}

func nonceOf(r *http.Request) string { n, _ := r.Context().Value(nonceKey{}).(string); return n }

// public serves a page without a session (sign-in).
func (s *Server) public(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r, &request{Nonce: nonceOf(r)}); err != nil {
			s.renderError(w, r, err)
		}
	})
}

// get registers a page any member of the current account may see. A
// request without a live session is sent to sign in.
func (s *Server) get(pattern string, h handler) {
	s.mux.Handle("GET "+Base+pattern, s.signedIn(h, false))
}

// getAdmin registers a page only admins may see (API keys and users):
// viewers get 403.
func (s *Server) getAdmin(pattern string, h handler) {
	s.mux.Handle("GET "+Base+pattern, s.signedIn(func(w http.ResponseWriter, r *http.Request, q *request) error {
		if !q.Admin() {
			return errForbidden
		}
		return h(w, r, q)
	}, false))
}

// post registers an action: admins only, with the session's CSRF token
// and a same-origin request.
func (s *Server) post(pattern string, h handler) {
	s.mux.Handle("POST "+Base+pattern, s.signedIn(h, true))
}

// postSession registers a POST that manages the session itself (sign-out,
// switching accounts): CSRF-checked like an action, allowed to viewers.
func (s *Server) postSession(pattern string, h handler) {
	s.mux.Handle("POST "+Base+pattern, s.signedIn(h, false))
}

// errForbidden refuses an action: a viewer's, or a form not sent by a
// page of this session.
var errForbidden = &payment.Error{Kind: payment.KindForbidden, Code: "forbidden", Message: "You may not do this."}

var errFormForbidden = &payment.Error{Kind: payment.KindForbidden, Code: "form_forbidden",
	Message: "This form was not sent by a page of your session. Reload the page and try again."}

func (s *Server) signedIn(h handler, admin bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := s.session(r)
		if err != nil {
			if r.Method == http.MethodGet && errors.Is(err, &payment.Error{Kind: payment.KindUnauthenticated}) {
				s.clearCookie(w, r, sessionCookie)
				http.Redirect(w, r, Base+"/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.renderError(w, r, err)
			return
		}
		if r.Method == http.MethodPost {
			if err := checkForm(r, q.CSRF); err != nil {
				s.renderError(w, r, err)
				return
			}
			if admin && !q.Admin() {
				s.renderError(w, r, errForbidden)
				return
			}
		}
		if err := h(w, r, q); err != nil {
			s.renderError(w, r, err)
		}
	})
}

// page is the layout template's data.
type page struct {
	Title string
	// Nav is the nav entry to mark current ("payments", …).
	Nav   string
	Nonce string
	CSRF  string
	View  *engine.DashboardView
	Admin bool
	// Data is the page's own data.
	Data any
}

// render writes page name (templates/<name>.html) inside the layout.
func (s *Server) render(w http.ResponseWriter, r *http.Request, q *request, status int, name, nav string, data any) error {
	t, ok := s.pages[name]
	if !ok {
		return fmt.Errorf("dashboard: no page template %q", name)
	}
	p := &page{Nav: nav, Nonce: q.Nonce, CSRF: q.CSRF, View: q.View, Admin: q.Admin(), Data: data}
	var buf strings.Builder
	if err := t.Execute(&buf, p); err != nil {
		return fmt.Errorf("render dashboard page %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if _, err := w.Write([]byte(buf.String())); err != nil && r.Context().Err() == nil {
		s.log.DebugContext(r.Context(), "write dashboard page", "error", err)
	}
	return nil
}

// errRateLimited refuses a sign-in over its budget.
var errRateLimited = errors.New("dashboard: too many sign-in attempts")

// renderError writes err as the error page. Not found covers every
// unknown id, another account's included; a server fault is logged with
// the request id and shown without detail.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	status, e := api.Resolve(s.log, r, err)
	msg := e.Message
	switch {
	case errors.Is(err, errRateLimited):
		status, msg = http.StatusTooManyRequests, "Too many sign-in attempts. Wait a while and try again."
	case errors.Is(err, payment.ErrNotFound):
		status, msg = http.StatusNotFound, "There is no such page in this account."
	case status >= 500:
		msg = "Something went wrong on our side. Try again; if it persists, tell your kassa operator."
	}
	q := &request{Nonce: nonceOf(r)}
	if v, serr := s.session(r); serr == nil {
		q = v // the error page keeps the nav of a signed-in user
	}
	_ = s.render(w, r, q, status, "error", "", errorPage{Status: status, Title: http.StatusText(status), Message: msg})
}

type errorPage struct {
	Status  int
	Title   string
	Message string
}

func (s *Server) asset(w http.ResponseWriter, r *http.Request) {
	// The assets hold no data: caching them is fine, unlike the pages.
	w.Header().Set("Cache-Control", "public, max-age=300")
	s.assets.ServeHTTP(w, r)
}

// securityHeaders sets the checkout page's headers on every response: the
// same strict CSP with a fresh nonce and frame-ancestors 'none', no
// caching, no framing, no referrer, HSTS over TLS.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [18]byte
		rand.Read(b[:])
		nonce := base64.RawURLEncoding.EncodeToString(b[:])
		h := w.Header()
		h.Set("Content-Security-Policy", web.ContentSecurityPolicy(nonce, nil))
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), nonceKey{}, nonce)))
	})
}
