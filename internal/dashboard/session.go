package dashboard

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/password"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/ratelimit"
)

const (
	// sessionCookie holds the session's token; the store has only its
	// SHA-256.
	sessionCookie = "kassa_dashboard"
	// loginCookie holds the sign-in form's anti-forgery value before there
	// is a session (a double-submit token): a forged sign-in would put the
	// victim in the attacker's session.
	loginCookie = "kassa_dashboard_login"
)

// csrfToken is the token the session's forms carry: a MAC of a constant
// under the session's CSRF secret, so the secret itself never leaves the
// server.
func csrfToken(secret []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("kassa dashboard form"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// session returns the request's signed-in session, or an unauthenticated
// error.
func (s *Server) session(r *http.Request) (*request, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, &payment.Error{Kind: payment.KindUnauthenticated, Code: "session_expired", Message: "Sign in to continue."}
	}
	v, err := s.eng.DashboardSession(r.Context(), c.Value)
	if err != nil {
		return nil, err
	}
	return &request{View: v, Nonce: nonceOf(r), CSRF: csrfToken(v.Session.CSRFSecret), token: c.Value}, nil
}

// checkForm refuses a POST not sent by a page of this site with the
// expected token: a browser's Sec-Fetch-Site and Origin, when sent, must
// say same origin (as the checkout page checks), and the form's csrf
// field must be want.
func checkForm(r *http.Request, want string) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return errFormForbidden
	}
	// "null" is what a browser sends under Referrer-Policy no-referrer;
	// Sec-Fetch-Site and the token decide then.
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return errFormForbidden
		}
	}
	if err := r.ParseForm(); err != nil {
		return &payment.Error{Kind: payment.KindMalformed, Code: payment.CodeMalformedBody, Message: "The form could not be read."}
	}
	if want == "" || !hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(want)) {
		return errFormForbidden
	}
	return nil
}

func (s *Server) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: Base, MaxAge: maxAge, HttpOnly: true,
		Secure: s.secure || r.TLS != nil, SameSite: http.SameSiteStrictMode}
}

func (s *Server) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, s.cookie(r, name, "", -1))
}

// loginForm is the sign-in form as posted.
type loginForm struct {
	Email    string
	Password string
	CSRF     string
	Next     string
}

// maxLoginForm bounds the sign-in body: an email, a password of at most
// password.MaxLen, a token and a path.
const maxLoginForm = 8 << 10

// parseLoginForm decodes a sign-in body (application/x-www-form-urlencoded).
// Each field must appear at most once; an error names the field, never
// its value.
func parseLoginForm(body string) (loginForm, error) {
	if len(body) > maxLoginForm {
		return loginForm{}, &payment.Error{Kind: payment.KindMalformed, Code: payment.CodeBodyTooLarge, Message: "The form is too large."}
	}
	vs, err := url.ParseQuery(body)
	if err != nil {
		return loginForm{}, &payment.Error{Kind: payment.KindMalformed, Code: payment.CodeMalformedBody, Message: "The form could not be read."}
	}
	one := func(name string) (string, error) {
		switch len(vs[name]) {
		case 0:
			return "", nil
		case 1:
			return vs[name][0], nil
		}
		return "", payment.Invalid(payment.CodeParameterInvalid, name, "%s is given more than once.", name)
	}
	var f loginForm
	for _, fld := range []struct {
		name string
		dst  *string
	}{{"email", &f.Email}, {"password", &f.Password}, {"csrf", &f.CSRF}, {"next", &f.Next}} {
		v, err := one(fld.name)
		if err != nil {
			return loginForm{}, err
		}
		*fld.dst = v
	}
	if len(f.Password) > password.MaxLen {
		return loginForm{}, payment.Invalid(payment.CodeParameterInvalid, "password", "password is too long.")
	}
	f.Next = safeNext(f.Next)
	return f, nil
}

// safeNext is where to go after signing in: a dashboard path only, never
// another site.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || cleanPath(u.Path) != u.Path || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, Base+"/") ||
		strings.HasPrefix(next, "//") || strings.Contains(next, "\\") || strings.HasPrefix(u.Path, Base+"/login") {
		return Base + "/payments"
	}
	return u.RequestURI()
}

// cleanPath is p without dot segments and doubled slashes, keeping a
// trailing slash.
func cleanPath(p string) string {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// loginPage is the sign-in page's data.
type loginPage struct {
	Email string
	Next  string
	Error string
	// Token is the form's double-submit value (also in loginCookie).
	Token string
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request, q *request) error {
	if v, err := s.session(r); err == nil && v != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return nil
	}
	return s.showLogin(w, r, q, http.StatusOK, loginPage{Next: safeNext(r.URL.Query().Get("next"))})
}

func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, q *request, status int, lp loginPage) error {
	var b [32]byte
	rand.Read(b[:])
	lp.Token = base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, s.cookie(r, loginCookie, lp.Token, 3600))
	return s.render(w, r, q, status, "login", "", lp)
}

// errLoginForged refuses a sign-in form not posted by the sign-in page.
var errLoginForged = &payment.Error{Kind: payment.KindForbidden, Code: "form_forbidden",
	Message: "This sign-in form was not sent by kassa's sign-in page. Reload it and try again."}

// clientAddr is the address a request came from, for rate limits: the
// connection's peer. Forwarded headers are not trusted (anyone can send
// them).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) login(w http.ResponseWriter, r *http.Request, q *request) error {
	body, err := readLimited(r, maxLoginForm)
	if err != nil {
		return err
	}
	f, err := parseLoginForm(string(body))
	if err != nil {
		return err
	}
	c, cerr := r.Cookie(loginCookie)
	if cerr != nil || f.CSRF == "" || !hmac.Equal([]byte(c.Value), []byte(f.CSRF)) {
		return errLoginForged
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return errLoginForged
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		if u, err := url.Parse(o); err != nil || u.Host != r.Host {
			return errLoginForged
		}
	}
	email := strings.ToLower(strings.TrimSpace(f.Email))
	ok, err := s.eng.TakeLoginAttempt(r.Context(), s.now(), ratelimit.Budget{Key: "email:" + email, Limit: s.limits.PerEmail},
		ratelimit.Budget{Key: "client:" + clientAddr(r), Limit: s.limits.PerClient})
	if err != nil {
		return err
	}
	if !ok {
		return errRateLimited
	}
	u, err := s.eng.Login(r.Context(), f.Email, f.Password)
	if pe, ok := payment.AsError(err); ok && pe.Code == engine.CodeInvalidLogin {
		// One message for every failure; the email is kept, the password
		// never is.
		return s.showLogin(w, r, q, http.StatusUnauthorized, loginPage{Email: email, Next: f.Next, Error: pe.Message})
	}
	if err != nil {
		return err
	}
	token, _, err := s.eng.StartDashboardSession(r.Context(), u)
	if pe, ok := payment.AsError(err); ok && pe.Code == engine.CodeInvalidLogin {
		return s.showLogin(w, r, q, http.StatusUnauthorized, loginPage{Email: email, Next: f.Next, Error: pe.Message})
	}
	if err != nil {
		return err
	}
	s.clearCookie(w, r, loginCookie)
	http.SetCookie(w, s.cookie(r, sessionCookie, token, 0))
	http.Redirect(w, r, f.Next, http.StatusSeeOther)
	return nil
}

// readLimited reads r's body, at most max bytes.
func readLimited(r *http.Request, max int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, max))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, &payment.Error{Kind: payment.KindMalformed, Code: payment.CodeBodyTooLarge, Message: "The form is too large."}
	}
	if err != nil {
		return nil, &payment.Error{Kind: payment.KindMalformed, Code: payment.CodeMalformedBody, Message: "The form could not be read."}
	}
	return b, nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := s.eng.EndDashboardSession(r.Context(), q.token); err != nil {
		return err
	}
	s.clearCookie(w, r, sessionCookie)
	http.Redirect(w, r, Base+"/login", http.StatusSeeOther)
	return nil
}

// switchAccount makes the posted account the session's current one; an
// account the user is not a member of is not found.
func (s *Server) switchAccount(w http.ResponseWriter, r *http.Request, q *request) error {
	if _, err := s.eng.SwitchDashboardAccount(r.Context(), q.View, r.PostFormValue("account")); err != nil {
		return err
	}
	http.Redirect(w, r, Base+"/payments", http.StatusSeeOther)
	return nil
}
