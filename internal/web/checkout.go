// Package web serves kassa's hosted checkout page: GET /checkout/{id}
// shows a checkout session (merchant, order lines, total, a card form)
// rendered with html/template and styled by embedded assets only; the form
// posts to kassa, which vaults the card and pays through the engine. A
// session's id, unguessable, is all that opens its page; the page never
// shows another session's data.
//
// Every response carries a strict Content-Security-Policy with a fresh
// nonce, is not cacheable, and holds no card data: the card number and CVC
// go from the form to the vault and are never echoed, logged or put in a
// URL. The flow is redirect-based (POST, 303 to the page, then the page
// sends the customer back to the merchant).
//
// The Dintero dialect's forms of the page (embedded.go) are the same page:
// /checkout/dintero/v1/view/{sid} (a session's url) and, for Dintero's web
// SDK with its endpoint set to /checkout/dintero, /checkout/dintero/?sid=…
// (embedded in the merchant's iframe, talking to it by postMessage) and
// /checkout/dintero/embedResult/ (ADR 0026).
package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// Dialect names the page in logs and metrics.
const Dialect = "checkout"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

var page = template.Must(template.New("checkout.html").Funcs(template.FuncMap{
	"printf": fmt.Sprintf,
}).ParseFS(templateFS, "templates/checkout.html"))

// Options configures the page.
type Options struct {
	// Logger receives access logs, panics and internal errors; nil
	// discards them.
	Logger *slog.Logger
	// Registry receives the HTTP metrics; a fresh one when nil.
	Registry *prometheus.Registry
	// MaxBody limits request bodies; the form is small.
	MaxBody int64
}

type server struct {
	eng    *engine.Engine
	log    *slog.Logger
	assets http.Handler
}

// New returns the hosted checkout page over eng, to be mounted at
// /checkout/.
func New(eng *engine.Engine, opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 16 << 10
	}
	sub, _ := fs.Sub(assetFS, "assets") // cannot fail: the directory is embedded
	s := &server{eng: eng, log: opts.Logger, assets: http.StripPrefix("/checkout/assets/", http.FileServerFS(sub))}
	mux := api.NewMux()
	// Each asset by its own path: a pattern /checkout/assets/{name} would
	// overlap /checkout/{id}/status.
	names, _ := fs.Glob(sub, "*")
	for _, name := range names {
		mux.Handle("GET /checkout/assets/"+name, http.HandlerFunc(s.asset))
	}
	mux.Handle("GET /checkout/{id}", s.handle(s.show))
	mux.Handle("GET "+DinteroBase+"/v1/view/{sid}", s.handle(s.dinteroView))
	mux.Handle("GET "+DinteroBase+"/{$}", s.handle(s.dinteroEmbed))
	mux.Handle("GET "+DinteroBase+"/embedResult/{$}", s.handle(s.dinteroEmbedResult))
	mux.Handle("GET "+DinteroBase+"/sessions/{sid}", s.handle(s.dinteroSessionJSON))
	mux.Handle("GET /checkout/{id}/status", s.handle(s.status))
	mux.Handle("POST /checkout/{id}/pay", s.handle(s.pay))
	mux.Handle("POST /checkout/{id}/cancel", s.handle(s.cancel))
	mux.Handle("/", s.handle(func(w http.ResponseWriter, r *http.Request, nonce string) error {
		return payment.NotFound("page", "")
	}))
	return securityHeaders(api.Stack(mux, api.StackOptions{Dialect: Dialect, Logger: opts.Logger,
		Metrics: api.NewMetrics(opts.Registry), MaxBody: opts.MaxBody, Render: s.renderError}))
}

// handler is a page handler: it gets the response's CSP nonce and returns
// its failure for renderError.
type handler func(w http.ResponseWriter, r *http.Request, nonce string) error

type nonceKey struct{}

func (s *server) handle(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nonce, _ := r.Context().Value(nonceKey{}).(string)
		if err := h(w, r, nonce); err != nil {
			s.renderError(w, r, err)
		}
	})
}

// securityHeaders sets, on every response, the headers that keep the page
// safe: a strict CSP with a fresh nonce, no caching, no framing, no
// referrer (the page's URL names the session), and HSTS over TLS.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [18]byte
		rand.Read(b[:])
		nonce := base64.RawURLEncoding.EncodeToString(b[:])
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy(nonce, nil))
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		// Dintero's pop-out window must keep its opener, the merchant's
		// page on another origin, to talk to it (ADR 0028); every other
		// page is isolated from whoever opened it.
		if isEmbedded(r) && r.URL.Query().Get("role") == rolePopOutPayment {
			h.Set("Cross-Origin-Opener-Policy", "unsafe-none")
		} else {
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
		}
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), nonceKey{}, nonce)))
	})
}

// ContentSecurityPolicy is the page's policy: nothing but kassa's own
// styles, images and status requests, scripts only with the response's
// nonce, forms only to kassa, and framing only by ancestors (none: 'none'):
// the account's embedding origins on the embedded page (embedded.go).
func ContentSecurityPolicy(nonce string, ancestors []string) string {
	fa := "'none'"
	if len(ancestors) > 0 {
		fa = strings.Join(ancestors, " ")
	}
	return "default-src 'none'; script-src 'nonce-" + nonce + "'; style-src 'self'; img-src 'self'; " +
		"connect-src 'self'; form-action 'self'; frame-ancestors " + fa + "; base-uri 'none'"
}

func (s *server) asset(w http.ResponseWriter, r *http.Request) {
	// The assets hold no data: caching them is fine, unlike the page.
	w.Header().Set("Cache-Control", "public, max-age=300")
	s.assets.ServeHTTP(w, r)
}

// state is what the page shows of a session.
type state string

const (
	stateForm       state = "form"       // open: the card form
	stateProcessing state = "processing" // the latest attempt's outcome is not known yet
	statePaid       state = "paid"       // back to the merchant with the payment
	stateCancelled  state = "cancelled"
	stateExpired    state = "expired"
	stateFailed     state = "failed" // open, but no attempt is left
)

func stateOf(v *engine.CheckoutView) state {
	cs := v.Session
	switch cs.Status {
	case payment.CheckoutPaid:
		return statePaid
	case payment.CheckoutCancelled:
		return stateCancelled
	case payment.CheckoutExpired:
		return stateExpired
	}
	if v.Payment != nil && (v.Payment.Status == payment.StatusInitiated || v.Payment.Status == payment.StatusUnknown ||
		v.Payment.Status == payment.StatusOnHold) {
		return stateProcessing
	}
	if cs.Attempts >= engine.MaxCheckoutAttempts {
		return stateFailed
	}
	return stateForm
}

// TransactionID is the id the return URL names the session's payment by:
// Dintero's transaction id (T12345678.…) for a session the Dintero
// dialect made, kassa's payment id otherwise. It is done here and nowhere
// else.
func TransactionID(cs *payment.CheckoutSession, pay *payment.Payment) string {
	if pay == nil {
		return "" // a token session: no payment
	}
	if cs.Dialect == payment.CheckoutDialectDintero {
		return payment.DinteroID(cs.AccountID, pay.ID)
	}
	return pay.ID
}

// ReturnURL is where the customer goes back to, by Dintero's rules:
// return_url with transaction_id and merchant_reference after a payment,
// with merchant_reference and error=cancelled|failed otherwise
// (transaction_id too when a failed payment exists). A cancel goes to the
// session's cancel_url instead when it has one. The merchant's own query
// is kept as it was.
func ReturnURL(cs *payment.CheckoutSession, pay *payment.Payment, errCode string) string {
	base := cs.ReturnURL
	if errCode == "cancelled" && cs.CancelURL != "" {
		base = cs.CancelURL
	}
	var params []string
	if pay != nil && (errCode == "" || errCode == "failed") {
		params = append(params, "transaction_id="+url.QueryEscape(TransactionID(cs, pay)))
	}
	if pay == nil && errCode == "" && cs.CardTokenID != "" {
		// A token session saved a card: no transaction, the session names
		// it (GET /v1/sessions/{id} shows the card token).
		sid := cs.ID
		if cs.Dialect == payment.CheckoutDialectDintero {
			sid = payment.DinteroID(cs.AccountID, cs.ID)
		}
		params = append(params, "session_id="+url.QueryEscape(sid))
	}
	params = append(params, "merchant_reference="+url.QueryEscape(cs.MerchantReference))
	if errCode != "" {
		params = append(params, "error="+errCode)
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
		if strings.HasSuffix(base, "?") || strings.HasSuffix(base, "&") {
			sep = ""
		}
	}
	return base + sep + strings.Join(params, "&")
}

// outcomeURL is where a closed (or failed) session sends the customer.
func outcomeURL(v *engine.CheckoutView, st state) string {
	switch st {
	case statePaid:
		return ReturnURL(v.Session, v.Payment, "")
	case stateCancelled:
		return ReturnURL(v.Session, nil, "cancelled")
	case stateExpired, stateFailed:
		return ReturnURL(v.Session, v.Payment, "failed")
	}
	return ""
}

// line is an order line as the page shows it.
type line struct {
	Description string
	Quantity    int64
	Amount      string
}

// view is the template's data.
type view struct {
	T     *text
	Nonce string
	State state
	ID    string
	Token string
	Merch string
	Total string
	Lines []line
	Test  bool
	// Attempt is the attempt number the form pays as.
	Attempt int
	// Decline is the message of the latest attempt's decline, or "".
	Decline string
	// Errors are field errors by field name (number, exp, cvc, name).
	Errors map[string]string
	Name   string
	// Next is where a closed session sends the customer; Auto makes the
	// page go there by itself (a meta refresh, which form-action does not
	// govern).
	Next string
	Auto bool
	// Embed is set on the page embedded by Dintero's web SDK: its script
	// talks to the merchant's page instead of redirecting (embedded.go).
	Embed *embedView
	// TokenOnly: the page saves a card and charges nothing.
	TokenOnly bool
	// Action is the query the page's forms post with ("?ui=inline…" when
	// embedded, so that the answer is the embedded page again).
	Action string
	// Role is the embedded page's part in Dintero's pop-out flow:
	// "launcher" (the iframe shows the order and the SDK's button instead
	// of the form) or "popOut" (the window the customer pays in); Loader
	// shows the window waiting for the merchant's check, without a form.
	Role   string
	Loader bool
}

func (s *server) render(w http.ResponseWriter, r *http.Request, status int, v *view) error {
	var buf strings.Builder
	if err := page.Execute(&buf, v); err != nil {
		return fmt.Errorf("render checkout page: %w", err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write([]byte(buf.String()))
	if err != nil && r.Context().Err() == nil {
		s.log.DebugContext(r.Context(), "write checkout page", "error", err)
	}
	return nil
}

// viewOf builds the page of session view cv.
func (s *server) viewOf(ctx context.Context, cv *engine.CheckoutView, nonce string) (*view, error) {
	cs := cv.Session
	t := textFor(cs.Locale)
	v := &view{T: t, Nonce: nonce, State: stateOf(cv), ID: cs.ID, Merch: cv.Account.Name,
		Total: FormatAmount(cs.Amount, cs.Currency, cs.Locale), Test: !cv.Account.Live, Attempt: cs.Attempts + 1,
		TokenOnly: cs.TokenOnly()}
	for _, it := range cs.Items {
		v.Lines = append(v.Lines, line{Description: it.Description, Quantity: it.Quantity, Amount: FormatAmount(it.Amount, cs.Currency, cs.Locale)})
	}
	if v.State == stateForm || v.State == stateFailed {
		if p := cv.Payment; p != nil && (p.Status == payment.StatusDeclined || p.Status == payment.StatusFailed) {
			v.Decline = declineText(t, p)
		}
		if cs.TokenOnly() && cs.Attempts > 0 {
			// Every earlier attempt of an open token session failed its
			// verification (a verified one closes the session).
			v.Decline = t.Declines[""]
		}
	}
	if v.State == stateForm {
		tok, err := s.eng.CheckoutFormToken(ctx, cs)
		if err != nil {
			return nil, err
		}
		v.Token = tok
	}
	v.Next = outcomeURL(cv, v.State)
	return v, nil
}

func declineText(t *text, p *payment.Payment) string {
	code := ""
	if n := len(p.Operations); n > 0 {
		code = p.Operations[n-1].DeclineCode
	}
	if m, ok := t.Declines[code]; ok {
		return m
	}
	return t.Declines[""]
}

func (s *server) show(w http.ResponseWriter, r *http.Request, nonce string) error {
	cv, err := s.eng.CheckoutPage(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	// Paid: straight back to the merchant. Cancelled or failed just now
	// (the customer's own cancel, the last attempt): back too. Otherwise
	// (a later visit) the page says what happened and links back.
	return s.showView(w, r, cv, nonce)
}

// status is the small JSON the processing page polls.
func (s *server) status(w http.ResponseWriter, r *http.Request, _ string) error {
	cv, err := s.eng.CheckoutPage(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return api.JSON(w, http.StatusOK, map[string]string{"status": string(cv.Session.Status), "state": string(stateOf(cv))})
}

// checkForm refuses a form not posted by a page kassa rendered for the
// session: its token must be the session's, and a browser's Origin or
// Sec-Fetch-Site, when sent, must say the same origin.
func (s *server) checkForm(r *http.Request, cs *payment.CheckoutSession) error {
	forbidden := &payment.Error{Kind: payment.KindForbidden, Code: "form_forbidden", Message: "This form was not sent by its page."}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return forbidden
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return forbidden
		}
	}
	want, err := s.eng.CheckoutFormToken(r.Context(), cs)
	if err != nil {
		return err
	}
	if !hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(want)) {
		return forbidden
	}
	return nil
}

// fieldOf maps the engine's card params to the form's fields.
var fieldOf = map[string]string{"card.number": "number", "card.exp_month": "exp", "card.exp_year": "exp",
	"card.cvc": "cvc", "card.holder_name": "name"}

func (s *server) pay(w http.ResponseWriter, r *http.Request, nonce string) error {
	id := r.PathValue("id")
	cv, err := s.eng.CheckoutPage(r.Context(), id)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return &payment.Error{Kind: payment.KindMalformed, Code: payment.CodeMalformedBody, Message: "The form could not be read."}
	}
	if err := s.checkForm(r, cv.Session); err != nil {
		return err
	}
	attempt, _ := strconv.Atoi(r.PostFormValue("attempt"))
	c, fieldErrs := cardOf(r, textFor(cv.Session.Locale))
	if len(fieldErrs) == 0 {
		_, err = s.eng.PayCheckoutPage(r.Context(), id, attempt, c)
		if pe, ok := payment.AsError(err); ok && pe.Kind == payment.KindInvalid && fieldOf[pe.Param] != "" {
			fieldErrs = map[string]string{fieldOf[pe.Param]: textFor(cv.Session.Locale).Fields[pe.Param]}
			err = nil
		}
		if err != nil {
			return err
		}
	}
	if len(fieldErrs) > 0 {
		v, err := s.viewOf(r.Context(), cv, nonce)
		if err != nil {
			return err
		}
		v.Errors, v.Name = fieldErrs, r.PostFormValue("name") // never the number or CVC
		if err := s.embedded(w, r, cv, v); err != nil {
			return err
		}
		return s.render(w, r, http.StatusUnprocessableEntity, v)
	}
	// Post/Redirect/Get: a reload shows the outcome and sends nothing.
	http.Redirect(w, r, pageURL(r, cv.Session, ""), http.StatusSeeOther)
	return nil
}

// cardOf reads the card from the form, with the fields the browser left
// empty or malformed as errors.
func cardOf(r *http.Request, t *text) (engine.CardInput, map[string]string) {
	errs := map[string]string{}
	digits := strings.Map(func(c rune) rune {
		if c == ' ' || c == '-' {
			return -1
		}
		return c
	}, r.PostFormValue("number"))
	c := engine.CardInput{Number: digits, CVC: strings.TrimSpace(r.PostFormValue("cvc")),
		HolderName: strings.TrimSpace(r.PostFormValue("name"))}
	if c.Number == "" {
		errs["number"] = t.Required
	}
	if c.CVC == "" {
		errs["cvc"] = t.Required
	}
	mm, yy, ok := strings.Cut(strings.ReplaceAll(r.PostFormValue("exp"), " ", ""), "/")
	m, err1 := strconv.Atoi(mm)
	y, err2 := strconv.Atoi(yy)
	switch {
	case !ok || err1 != nil || err2 != nil || len(yy) != 2 && len(yy) != 4:
		errs["exp"] = t.Fields["card.exp_month"]
	case len(yy) == 2:
		y += 2000
	}
	c.ExpMonth, c.ExpYear = m, y
	return c, errs
}

func (s *server) cancel(w http.ResponseWriter, r *http.Request, _ string) error {
	id := r.PathValue("id")
	cv, err := s.eng.CheckoutPage(r.Context(), id)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return &payment.Error{Kind: payment.KindMalformed, Code: payment.CodeMalformedBody, Message: "The form could not be read."}
	}
	if err := s.checkForm(r, cv.Session); err != nil {
		return err
	}
	if _, err := s.eng.CancelCheckoutPage(r.Context(), id); err != nil {
		return err
	}
	http.Redirect(w, r, pageURL(r, cv.Session, "done=1"), http.StatusSeeOther)
	return nil
}

// renderError writes an error as a page (or, for the status endpoint,
// JSON). Not found covers every unknown or malformed id alike; a server
// fault is logged with the request id and shown without detail.
func (s *server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	status, e := api.Resolve(s.log, r, err)
	if errors.Is(err, payment.ErrNotFound) {
		status = http.StatusNotFound
	}
	if strings.HasSuffix(r.URL.Path, "/status") {
		b, _ := json.Marshal(map[string]string{"error": e.Code})
		api.WriteJSON(w, status, b)
		return
	}
	t := textFor(r.URL.Query().Get("language"))
	nonce, _ := r.Context().Value(nonceKey{}).(string)
	v := &view{T: t, Nonce: nonce, State: "error"}
	switch status {
	case http.StatusNotFound:
		v.Decline = t.NotFoundHint
	default:
		v.Decline = e.Message
	}
	if status == http.StatusNotFound {
		v.Merch = t.NotFound
	} else {
		v.Merch = http.StatusText(status)
	}
	_ = s.render(w, r, status, v)
}
