package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// DinteroBase is where the page's Dintero forms are served: the endpoint a
// merchant gives Dintero's web SDK is <public url>/checkout/dintero, as
// https://checkout.dintero.com is Dintero's, and a session's url is
// <DinteroBase>/v1/view/{sid}.
const DinteroBase = "/checkout/dintero"

// The messages of Dintero's web SDK protocol (ADR 0026).
const (
	msgPaymentAuthorized = "SessionPaymentAuthorized"
	msgPaymentError      = "SessionPaymentError"
	msgCancel            = "SessionCancel"
)

// The roles the SDK gives the page in its pop-out flow (ADR 0028): the
// iframe only launches the window (the SDK draws the button), and the
// window, opened by the merchant's page, is where the customer pays.
const (
	rolePopOutLauncher = "pop_out_launcher"
	rolePopOutPayment  = "pop_out_payment"
)

// validationTimeout is how long the page waits for the merchant's
// ValidationResult before it gives up, pays nothing and says so (ADR
// 0028).
const validationTimeout = 30 * time.Second

// embedView is what the embedded page's script gets: Data is embedData as
// JSON, put in an attribute (html/template escapes it there).
type embedView struct {
	Data string
}

// embedData drives assets/embed.js.
type embedData struct {
	SID string `json:"sid"`
	// Origins are the only targets the page posts to and the only
	// senders it listens to: the account's embedding origins, the same
	// list as the CSP's frame-ancestors, so no other page can read a
	// message or lock the session. "*" only for a session not found,
	// whose message says nothing the URL did not.
	Origins []string `json:"origins"`
	// State is the page's state (form, processing, paid, …).
	State string `json:"state,omitempty"`
	// Session is posted with SessionLoaded; SessionURL is where
	// RefreshSession reads it again.
	Session    *dinteroSession `json:"session,omitempty"`
	SessionURL string          `json:"session_url,omitempty"`
	// Event is the final event to post (payment, error or cancel), with
	// href: where the redirect flow would go.
	Event *finalEvent `json:"event,omitempty"`
	// NotFound posts SessionNotFound; Result marks the embedResult page,
	// which only reports its height.
	NotFound bool `json:"not_found,omitempty"`
	Result   bool `json:"result,omitempty"`
	// Context is "popOut" in the pop-out window: it talks to
	// window.opener, every message marked with the context. Role is
	// "launcher" in the iframe that only launches that window.
	Context string `json:"context,omitempty"`
	Role    string `json:"role,omitempty"`
	// Language is the SDK's language, which the pop-out window opens in.
	Language string `json:"language,omitempty"`
	// ValidateMS is set when the merchant validates the order first
	// (client_side_validation=true): how long to wait for its answer.
	ValidateMS int64 `json:"validate_ms,omitempty"`
	// Texts are the words the script shows or hands to the SDK.
	Texts map[string]string `json:"texts,omitempty"`
}

type finalEvent struct {
	Type              string `json:"type"`
	TransactionID     string `json:"transaction_id,omitempty"`
	MerchantReference string `json:"merchant_reference,omitempty"`
	Error             string `json:"error,omitempty"`
	Href              string `json:"href"`
}

// dinteroSession is the session as the SDK hands it to onSession: the
// part of Dintero's Session kassa has. No card data is in it.
type dinteroSession struct {
	ID            string             `json:"id"`
	Order         dinteroOrder       `json:"order"`
	URL           dinteroSessionURLs `json:"url"`
	Customer      *dinteroCustomer   `json:"customer,omitempty"`
	TransactionID string             `json:"transaction_id,omitempty"`
	ExpiresAt     time.Time          `json:"expires_at"`
	CreatedAt     time.Time          `json:"created_at"`
	UpdatedAt     time.Time          `json:"updated_at"`
	// Status is kassa's (open, paid, cancelled, expired); Dintero derives
	// one from the session's events.
	Status string `json:"status"`
}

type dinteroOrder struct {
	Amount            int64                  `json:"amount"`
	Currency          string                 `json:"currency"`
	MerchantReference string                 `json:"merchant_reference"`
	Items             []payment.CheckoutItem `json:"items"`
}

type dinteroSessionURLs struct {
	ReturnURL string `json:"return_url"`
}

type dinteroCustomer struct {
	CustomerID string `json:"customer_id"`
}

func dinteroSessionOf(cv *engine.CheckoutView) *dinteroSession {
	cs := cv.Session
	items := cs.Items
	if items == nil {
		items = []payment.CheckoutItem{}
	}
	out := &dinteroSession{ID: payment.DinteroID(cs.AccountID, cs.ID),
		Order: dinteroOrder{Amount: cs.Amount, Currency: cs.Currency, MerchantReference: cs.MerchantReference, Items: items},
		URL:   dinteroSessionURLs{ReturnURL: cs.ReturnURL}, ExpiresAt: cs.ExpiresAt, CreatedAt: cs.CreatedAt,
		UpdatedAt: cs.UpdatedAt, Status: string(cs.Status)}
	if cs.CustomerID != "" {
		out.Customer = &dinteroCustomer{CustomerID: cs.CustomerID}
	}
	if (cs.Status == payment.CheckoutPaid || cs.Status == payment.CheckoutCancelled) && cv.Payment != nil {
		// A cancelled session names its latest attempt's transaction, as
		// the API does: the voided one when cancelled after payment.
		out.TransactionID = TransactionID(cs, cv.Payment)
	}
	return out
}

// dinteroPage returns the session a Dintero session id names, of whatever
// account: ErrNotFound for any id that names none.
func (s *server) dinteroPage(ctx context.Context, sid string) (*engine.CheckoutView, error) {
	aid, id, ok := payment.ParseDinteroID(sid, payment.PrefixCheckoutSession)
	if !ok {
		return nil, payment.NotFound("checkout_session", "")
	}
	cv, err := s.eng.CheckoutPage(ctx, id)
	if err != nil {
		return nil, err
	}
	if payment.DinteroAccountID(cv.Session.AccountID) != aid {
		return nil, payment.NotFound("checkout_session", "")
	}
	return cv, nil
}

// dinteroView is GET /checkout/dintero/v1/view/{sid}: the page of a
// session by its Dintero id, the redirect flow.
func (s *server) dinteroView(w http.ResponseWriter, r *http.Request, nonce string) error {
	cv, err := s.dinteroPage(r.Context(), r.PathValue("sid"))
	if err != nil {
		return err
	}
	return s.showView(w, r, cv, nonce)
}

// dinteroEmbed is GET /checkout/dintero/?sid=…&sdk=…&ui=inline: the page
// the SDK's embed() opens in its iframe (or redirect() in the top window,
// without ui: then it is the redirect flow's page).
func (s *server) dinteroEmbed(w http.ResponseWriter, r *http.Request, nonce string) error {
	sid := r.URL.Query().Get("sid")
	cv, err := s.dinteroPage(r.Context(), sid)
	if errors.Is(err, payment.ErrNotFound) && r.URL.Query().Get("ui") != "" {
		return s.embedNotFound(w, r, sid, nonce)
	}
	if err != nil {
		return err
	}
	return s.showView(w, r, cv, nonce)
}

// dinteroEmbedResult is GET /checkout/dintero/embedResult/: what the SDK
// loads into its iframe after the final event. It shows the outcome and
// reports its height; the merchant's page does the rest.
func (s *server) dinteroEmbedResult(w http.ResponseWriter, r *http.Request, nonce string) error {
	sid := r.URL.Query().Get("sid")
	cv, err := s.dinteroPage(r.Context(), sid)
	if errors.Is(err, payment.ErrNotFound) {
		return s.embedNotFound(w, r, sid, nonce)
	}
	if err != nil {
		return err
	}
	v, err := s.viewOf(r.Context(), cv, nonce)
	if err != nil {
		return err
	}
	if v.State == stateForm || v.State == stateFailed {
		v.State = stateCancelled // the SDK is done with the session; no form in the result
	}
	if err := s.embedInto(w, r, cv, v); err != nil {
		return err
	}
	v.Next = "" // the merchant's page goes on; the frame shows the outcome only
	v.Embed.Data = embedJSON(embedData{SID: sid, Origins: cv.Account.CheckoutEmbedOrigins, Result: true})
	return s.render(w, r, http.StatusOK, v)
}

// dinteroSessionJSON is GET /checkout/dintero/sessions/{sid}: the session
// the embedded page's RefreshSession reads.
func (s *server) dinteroSessionJSON(w http.ResponseWriter, r *http.Request, _ string) error {
	cv, err := s.dinteroPage(r.Context(), r.PathValue("sid"))
	if errors.Is(err, payment.ErrNotFound) {
		return api.JSON(w, http.StatusNotFound, map[string]string{"error": "not_found"})
	}
	if err != nil {
		return err
	}
	return api.JSON(w, http.StatusOK, dinteroSessionOf(cv))
}

// showView renders session view cv as GET /checkout/{id} does, embedded
// when the SDK asked for it (ui=inline, or any ui but the pop-out's).
func (s *server) showView(w http.ResponseWriter, r *http.Request, cv *engine.CheckoutView, nonce string) error {
	v, err := s.viewOf(r.Context(), cv, nonce)
	if err != nil {
		return err
	}
	v.Auto = v.State == statePaid || (v.State == stateCancelled && r.URL.Query().Get("done") == "1") || v.State == stateFailed
	if err := s.embedded(w, r, cv, v); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, v)
}

// isEmbedded reports whether r asks for the embedded page: Dintero's SDK
// sends ui (inline by default) from embed() only.
func isEmbedded(r *http.Request) bool {
	return r.URL.Query().Get("ui") != ""
}

// embedded turns v into the embedded page when r asks for it: framing
// allowed to the account's origins only (none: the browser refuses to
// show it), the final event posted instead of the meta refresh, and
// forms that come back to the embedded page.
func (s *server) embedded(w http.ResponseWriter, r *http.Request, cv *engine.CheckoutView, v *view) error {
	if !isEmbedded(r) {
		return nil
	}
	return s.embedInto(w, r, cv, v)
}

// embedInto makes v the embedded page, whatever r asked for (the
// embedResult page has no ui parameter).
func (s *server) embedInto(w http.ResponseWriter, r *http.Request, cv *engine.CheckoutView, v *view) error {
	cs := cv.Session
	// The SDK names the page's language (its language option, "no" for
	// Norwegian).
	if lang := r.URL.Query().Get("language"); lang != "" && engine.IsCheckoutLocale(lang) {
		v.T = textFor(lang)
		v.Total = FormatAmount(cs.Amount, cs.Currency, lang)
		for i, it := range cs.Items {
			if i < len(v.Lines) {
				v.Lines[i].Amount = FormatAmount(it.Amount, cs.Currency, lang)
			}
		}
	}
	origins := cv.Account.CheckoutEmbedOrigins
	q := r.URL.Query()
	popOut := q.Get("role") == rolePopOutPayment
	if popOut {
		// A window of its own, opened by the merchant's page: no one
		// frames it, and it talks to its opener.
		allowFraming(w, v.Nonce, nil)
	} else {
		allowFraming(w, v.Nonce, origins)
	}
	sid := payment.DinteroID(cs.AccountID, cs.ID)
	d := embedData{SID: sid, Origins: origins, State: string(v.State), Session: dinteroSessionOf(cv),
		SessionURL: DinteroBase + "/sessions/" + url.PathEscape(sid), Texts: embedTexts(v)}
	if lang := q.Get("language"); engine.IsCheckoutLocale(lang) {
		d.Language = lang
	}
	switch {
	case popOut:
		d.Context = "popOut"
		v.Role = "popOut"
		// loader=true: the merchant is still validating the order; the
		// SDK reopens the window without it once the order is accepted.
		v.Loader = q.Get("loader") == "true"
	case q.Get("role") == rolePopOutLauncher:
		d.Role = "launcher"
		v.Role = "launcher"
	case q.Get("client_side_validation") == "true":
		d.ValidateMS = validationTimeout.Milliseconds()
	}
	if q.Get("hide_test_message") == "true" {
		v.Test = false // the SDK's hideTestMessage: the merchant shows its own
	}
	switch v.State {
	case statePaid:
		d.Event = &finalEvent{Type: msgPaymentAuthorized, TransactionID: TransactionID(cs, cv.Payment),
			MerchantReference: cs.MerchantReference, Href: v.Next}
	case stateCancelled:
		d.Event = &finalEvent{Type: msgCancel, MerchantReference: cs.MerchantReference, Error: "cancelled", Href: v.Next}
	case stateFailed, stateExpired:
		d.Event = &finalEvent{Type: msgPaymentError, MerchantReference: cs.MerchantReference, Error: "failed", Href: v.Next}
	}
	v.Auto = false
	v.Embed = &embedView{Data: embedJSON(d)}
	v.Action = "?" + embedQuery(r, sid).Encode()
	return nil
}

// embedTexts are the words embed.js needs, in the page's language.
func embedTexts(v *view) map[string]string {
	t := v.T
	open := fmt.Sprintf(t.Pay, v.Total) // the label of the SDK's button, as the form's
	if v.TokenOnly {
		open = t.SaveCard
	}
	return map[string]string{"validating": t.Validating, "validation_failed": t.ValidationFailed,
		"validation_timeout": t.ValidationTimeout, "open": open, "focus": t.PopOutFocus,
		"close": t.PopOutClose, "opened": t.PopOutOpened, "failed": t.PopOutFailed}
}

// embedQuery is the query the embedded page's URL keeps across its forms
// (not loader: a form is never posted from the loader).
func embedQuery(r *http.Request, sid string) url.Values {
	q := url.Values{"sid": {sid}}
	for _, k := range []string{"ui", "sdk", "language", "role", "client_side_validation", "hide_test_message"} {
		if v := r.URL.Query().Get(k); v != "" && len(v) <= 32 {
			q.Set(k, v)
		}
	}
	return q
}

// pageURL is where a form's answer sends the browser: the embedded page
// when the form was posted from it, the session's page otherwise; extra
// is added to the query ("done=1").
func pageURL(r *http.Request, cs *payment.CheckoutSession, extra string) string {
	if isEmbedded(r) {
		u := DinteroBase + "/?" + embedQuery(r, payment.DinteroID(cs.AccountID, cs.ID)).Encode()
		if extra != "" {
			u += "&" + extra
		}
		return u
	}
	u := "/checkout/" + url.PathEscape(cs.ID)
	if extra != "" {
		u += "?" + extra
	}
	return u
}

// embedNotFound is the embedded page of a session id that names none: it
// tells the SDK (SessionNotFound) from any framing page, since it says no
// more than the URL did.
func (s *server) embedNotFound(w http.ResponseWriter, r *http.Request, sid, nonce string) error {
	allowFraming(w, nonce, []string{"*"})
	t := textFor(r.URL.Query().Get("language"))
	v := &view{T: t, Nonce: nonce, State: "error", Merch: t.NotFound, Decline: t.NotFoundHint,
		Embed: &embedView{Data: embedJSON(embedData{SID: sid, Origins: []string{"*"}, NotFound: true})}}
	return s.render(w, r, http.StatusNotFound, v)
}

// allowFraming replaces the no-framing headers of securityHeaders with
// frame-ancestors origins ('none' when there are none).
func allowFraming(w http.ResponseWriter, nonce string, origins []string) {
	h := w.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy(nonce, origins))
	if len(origins) > 0 {
		h.Del("X-Frame-Options")
	}
}

func embedJSON(d embedData) string {
	b, err := json.Marshal(d)
	if err != nil {
		panic(fmt.Sprintf("web: embed data: %v", err)) // plain structs: cannot fail
	}
	return string(b)
}
