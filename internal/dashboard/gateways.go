package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/routing"
)

// gatewaysPage is the gateways list's data.
type gatewaysPage struct {
	Gateways []health
	// Window is how far back the recent figures look.
	Window string
}

// gateways lists the account's gateways with their health: the breaker as
// this process sees it and the last hour's attempts.
func (s *Server) gateways(w http.ResponseWriter, r *http.Request, q *request) error {
	hs, err := s.eng.GatewaysHealth(r.Context(), q.AccountID())
	if err != nil {
		return err
	}
	gp := &gatewaysPage{Window: "hour"}
	for _, h := range hs {
		gp.Gateways = append(gp.Gateways, healthOf(h))
	}
	return s.render(w, r, q, http.StatusOK, "gateways", "gateways", gp)
}

// health is a gateway's health as the pages show it.
type health struct {
	Gateway *engine.GatewayDetail
	// Breaker is the circuit breaker's state; Failures its consecutive
	// failures.
	Breaker  string
	Failures int
	// Attempts counts the recent window's attempts; Rate is the share of
	// the answered ones that succeeded ("" without any), P50 and P95 the
	// latency.
	Attempts       int
	Rate, P50, P95 string
	Unknown        int
}

func healthOf(h *engine.GatewayHealth) health {
	st := h.Recent
	out := health{Gateway: h.Detail, Breaker: string(h.Detail.Health.State), Failures: h.Detail.Health.ConsecutiveFailures,
		Attempts: st.Succeeded + st.Declined + st.Failed + st.NotSent + st.Unknown + st.Pending, Unknown: st.Unknown}
	if st.Succeeded+st.Declined+st.Failed > 0 {
		out.Rate = fmt.Sprintf("%.1f%%", 100*st.ApprovalRate())
	}
	if out.Attempts > 0 {
		out.P50, out.P95 = millis(st.LatencyP50), millis(st.LatencyP95)
	}
	return out
}

func millis(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) + " ms" }

// gatewayPage is a gateway page's data.
type gatewayPage struct {
	Gateway  *engine.GatewayDetail
	Health   health
	Versions []credentialVersion
	// Fields are the credential fields the rotate form asks for; none for
	// a router or a redacted type no longer on offer.
	Fields []gateway.Field
	// Rules are a router's rules, as sentences.
	Rules []string
	// RulesError is a router's settings that could not be read.
	RulesError string
	Audit      auditTrail
	// Rotated is the version a rotation just made (from the redirect).
	Rotated int
	// Redacted is set after a redaction (from the redirect).
	Redacted bool
	// Error is why the rotate form was refused.
	Error string
}

// credentialVersion is a row of a gateway page's credential versions.
type credentialVersion struct {
	*payment.CredentialVersion
	// By is who made it, named as the audit trail names actors.
	By string
}

// credentialVersions reads the credential versions of the account's
// gateway id, naming who made each.
func (s *Server) credentialVersions(ctx context.Context, q *request, id string) ([]credentialVersion, error) {
	cvs, err := s.eng.GatewayCredentialHistory(ctx, q.AccountID(), id)
	if err != nil {
		return nil, err
	}
	actors := make([]string, len(cvs))
	for i, cv := range cvs {
		actors[i] = cv.CreatedBy
	}
	names, err := s.namesFor(ctx, q, actors)
	if err != nil {
		return nil, err
	}
	out := make([]credentialVersion, len(cvs))
	for i, cv := range cvs {
		out[i] = credentialVersion{CredentialVersion: cv, By: names.name(cv.CreatedBy)}
	}
	return out, nil
}

// loadGatewayPage reads what the gateway page shows of the account's
// gateway id.
func (s *Server) loadGatewayPage(r *http.Request, q *request, id string) (*gatewayPage, error) {
	ctx := r.Context()
	d, err := s.eng.Gateway(ctx, q.AccountID(), id)
	if err != nil {
		return nil, err
	}
	gp := &gatewayPage{Gateway: d, Health: healthOf(&engine.GatewayHealth{Detail: d, Recent: payment.GatewayStats{GatewayID: d.ID}})}
	hs, err := s.eng.GatewaysHealth(ctx, q.AccountID())
	if err != nil {
		return nil, err
	}
	for _, h := range hs {
		if h.Detail.ID == d.ID {
			gp.Health = healthOf(h)
		}
	}
	if gp.Versions, err = s.credentialVersions(ctx, q, id); err != nil {
		return nil, err
	}
	if d.Type == engine.RouterType {
		cfg, err := routing.Parse(d.Settings)
		if err != nil {
			gp.RulesError = "The router's rules could not be read."
		} else {
			gp.Rules = describeRules(cfg)
		}
	} else {
		gp.Fields = d.Spec.CredentialFields
	}
	if gp.Audit, err = s.audit(r, q, id); err != nil {
		return nil, err
	}
	return gp, nil
}

// gateway shows one gateway of the account: health, credential versions
// (masked previews, never values), a router's rules, the audit trail and,
// to admins, the rotate and redact actions.
func (s *Server) gateway(w http.ResponseWriter, r *http.Request, q *request) error {
	gp, err := s.loadGatewayPage(r, q, r.PathValue("id"))
	if err != nil {
		return err
	}
	in := r.URL.Query()
	gp.Rotated, _ = strconv.Atoi(in.Get("rotated"))
	gp.Redacted = in.Get("redacted") == "1"
	return s.render(w, r, q, http.StatusOK, "gateway", "gateways", gp)
}

// maxCredentialValue bounds one credential field of the rotate form.
const maxCredentialValue = 4096

// credentialsForm is the rotate form as posted: the values of the
// gateway type's credential fields ("cred_<name>"), the version's
// description, whether to ask the gateway first, and the confirmation.
type credentialsForm struct {
	Credentials map[string]any
	Description string
	Validate    bool
}

// parseCredentialsForm reads the rotate form against fields. An empty
// field is left out (the adapter says whether it is required); a value
// that is too long or holds control characters is refused naming the
// field, without echoing it.
func parseCredentialsForm(form url.Values, fields []gateway.Field) (*credentialsForm, error) {
	if form.Get("confirm") != "yes" {
		return nil, payment.Invalid(payment.CodeParameterMissing, "confirm", "Tick the box to confirm the rotation.")
	}
	cf := &credentialsForm{Credentials: map[string]any{}, Description: strings.TrimSpace(form.Get("description")),
		Validate: form.Get("validate") == "yes"}
	for _, f := range fields {
		v := form.Get("cred_" + f.Name)
		if v == "" {
			continue
		}
		if len(v) > maxCredentialValue || strings.ContainsFunc(v, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
			return nil, payment.Invalid(payment.CodeParameterInvalid, "credentials."+f.Name,
				"%s must be at most %d characters, without control characters.", f.Label, maxCredentialValue)
		}
		cf.Credentials[f.Name] = v
	}
	if len(cf.Credentials) == 0 {
		return nil, payment.Missing("credentials")
	}
	return cf, nil
}

// rotateCredentials makes a new credential version of the account's
// gateway from the rotate form. The values go to the engine only: a
// refusal shows the page again with the reason and empty fields.
func (s *Server) rotateCredentials(w http.ResponseWriter, r *http.Request, q *request) error {
	id := r.PathValue("id")
	d, err := s.eng.Gateway(r.Context(), q.AccountID(), id)
	if err != nil {
		return err
	}
	cf, err := parseCredentialsForm(r.PostForm, d.Spec.CredentialFields)
	if err == nil {
		d, err = s.eng.SetGatewayCredentials(r.Context(), q.Principal(), id, cf.Credentials, cf.Description, cf.Validate)
	}
	if pe, ok := payment.AsError(err); ok && pe.Kind != payment.KindNotFound && pe.Kind != payment.KindInternal {
		gp, lerr := s.loadGatewayPage(r, q, id)
		if lerr != nil {
			return lerr
		}
		gp.Error = formError(pe)
		return s.render(w, r, q, statusOf(pe), "gateway", "gateways", gp)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("%s/gateways/%s?rotated=%d", Base, url.PathEscape(id), d.CredentialVersion), http.StatusSeeOther)
	return nil
}

// formError is a refused form's message, naming the field.
func formError(pe *payment.Error) string {
	if pe.Param != "" && !strings.Contains(pe.Message, pe.Param) {
		return pe.Param + ": " + pe.Message
	}
	return pe.Message
}

// statusOf is the 4xx of a refused form.
func statusOf(pe *payment.Error) int {
	switch pe.Kind {
	case payment.KindConflict:
		return http.StatusConflict
	case payment.KindForbidden:
		return http.StatusForbidden
	}
	return http.StatusUnprocessableEntity
}

// redactGatewayConfirm is the confirm step of a redaction.
func (s *Server) redactGatewayConfirm(w http.ResponseWriter, r *http.Request, q *request) error {
	d, err := s.eng.Gateway(r.Context(), q.AccountID(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.render(w, r, q, http.StatusOK, "gateway_redact", "gateways", d)
}

// redactGateway destroys the account's gateway's credentials, as the
// signed-in user.
func (s *Server) redactGateway(w http.ResponseWriter, r *http.Request, q *request) error {
	id := r.PathValue("id")
	if err := confirmed(r); err != nil {
		return err
	}
	if _, err := s.eng.RedactGatewayAs(r.Context(), q.Principal(), id); err != nil {
		return err
	}
	http.Redirect(w, r, Base+"/gateways/"+url.PathEscape(id)+"?redacted=1", http.StatusSeeOther)
	return nil
}

// confirmed refuses an action not posted from its confirm step.
func confirmed(r *http.Request) error {
	if r.PostForm.Get("confirm") != "yes" {
		return payment.Invalid(payment.CodeParameterMissing, "confirm", "confirm is missing: confirm the action on its page.")
	}
	return nil
}

// describeRules renders a router's rules as sentences: "Payments of
// NOK or SEK, of 100.00 or more → gw_a".
func describeRules(cfg *routing.Config) []string {
	var out []string
	for i, r := range cfg.Rules {
		out = append(out, fmt.Sprintf("%d. %s → %s", i+1, describeConditions(r.When), describeAction(r.Then)))
	}
	if cfg.Default != nil {
		out = append(out, "Otherwise → "+describeAction(*cfg.Default))
	}
	if len(cfg.CascadeOn) > 0 {
		out = append(out, "A cascade moves on after: "+strings.Join(cfg.CascadeOn, ", ")+".")
	}
	if cfg.PinRecurring {
		out = append(out, "Merchant-initiated payments go to the gateway of the card's first cardholder-initiated payment.")
	}
	return out
}

func describeConditions(c routing.Conditions) string {
	var parts []string
	minor := func(v int64) string { return strconv.FormatInt(v, 10) }
	switch {
	case c.AmountMin != nil && c.AmountMax != nil:
		parts = append(parts, "amount "+minor(*c.AmountMin)+"–"+minor(*c.AmountMax)+" (minor units)")
	case c.AmountMin != nil:
		parts = append(parts, "amount ≥ "+minor(*c.AmountMin)+" (minor units)")
	case c.AmountMax != nil:
		parts = append(parts, "amount ≤ "+minor(*c.AmountMax)+" (minor units)")
	}
	list := func(name string, vs []string) {
		if len(vs) > 0 {
			parts = append(parts, name+" "+strings.Join(vs, " or "))
		}
	}
	list("currency", c.Currencies)
	list("card brand", c.CardBrands)
	list("BIN starting", c.BINPrefixes)
	list("payment method", c.PaymentMethodTypes)
	if c.Initiator != "" {
		parts = append(parts, c.Initiator+"-initiated")
	}
	keys := make([]string, 0, len(c.Metadata))
	for k := range c.Metadata {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		parts = append(parts, "metadata "+k+" = "+c.Metadata[k])
	}
	if len(parts) == 0 {
		return "Every payment"
	}
	return "Payments with " + strings.Join(parts, ", ")
}

func describeAction(a routing.Action) string {
	switch {
	case a.Gateway != "":
		return a.Gateway
	case len(a.Split) > 0:
		parts := make([]string, len(a.Split))
		for i, w := range a.Split {
			parts[i] = fmt.Sprintf("%d%% %s", w.Weight, w.Gateway)
		}
		return "split " + strings.Join(parts, ", ")
	case len(a.Cascade) > 0:
		return "cascade " + strings.Join(a.Cascade, ", then ")
	}
	return "nothing"
}
