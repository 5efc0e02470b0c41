package dintero

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// Session profiles (ADR 0026, "Profiles, updates and tokens"): GET/POST
// /v1/admin/session/profiles, GET/PUT/DELETE …/{profile_id}, and POST
// /v1/sessions-profile, a session whose url and configuration start as its
// profile's. A profile is a kassa payment.CheckoutProfile whose id in
// Dintero's form is the account id, a dot and the kassa id without "sp_".
// Its url and configuration are kept as Dintero's JSON; kassa acts on
// url.return_url, url.callback_url and configuration.kassa.gateway.

// profileRequest is the body of POST and PUT …/profiles.
type profileRequest struct {
	Name          string                     `json:"name"`
	Description   string                     `json:"description"`
	URL           *profileURLs               `json:"url"`
	Configuration map[string]json.RawMessage `json:"configuration"`
}

// profileURLs are a profile's defaults of a session's url.
type profileURLs struct {
	ReturnURL        string `json:"return_url,omitempty"`
	CallbackURL      string `json:"callback_url,omitempty"`
	MerchantTermsURL string `json:"merchant_terms_url,omitempty"`
}

// input checks what kassa reads of the profile and returns the engine's
// input, or an error naming Dintero's path of the field.
func (req *profileRequest) input() (engine.CheckoutProfileInput, error) {
	in := engine.CheckoutProfileInput{Name: req.Name, Description: req.Description}
	if req.Name == "" {
		return in, required("name")
	}
	if req.URL != nil {
		for _, f := range []struct{ path, v string }{{"url.return_url", req.URL.ReturnURL}, {"url.callback_url", req.URL.CallbackURL},
			{"url.merchant_terms_url", req.URL.MerchantTermsURL}} {
			if f.v != "" && engine.CheckRedirectURL(f.path, f.v) != nil {
				return in, fieldError(f.path, payment.CodeParameterInvalid, "%s must be an absolute http(s) URL.", f.path)
			}
		}
		in.URL, _ = json.Marshal(req.URL)
	}
	if raw, ok := req.Configuration["kassa"]; ok {
		var kc kassaConfiguration
		if err := decodeBody(raw, &kc); err != nil {
			return in, fieldError("configuration.kassa", payment.CodeParameterInvalid,
				"configuration.kassa must be an object with gateway, the gateway or router to pay through.")
		}
	}
	if req.Configuration != nil {
		in.Configuration, _ = json.Marshal(req.Configuration)
	}
	return in, nil
}

// profile is Dintero's session profile as kassa answers it.
type profile struct {
	ID            string                     `json:"id"`
	Name          string                     `json:"name"`
	Description   string                     `json:"description,omitempty"`
	URL           json.RawMessage            `json:"url"`
	Configuration map[string]json.RawMessage `json:"configuration"`
	CreatedAt     time.Time                  `json:"created_at"`
	UpdatedAt     time.Time                  `json:"updated_at"`
}

func profileOf(p *payment.CheckoutProfile) *profile {
	out := &profile{ID: payment.DinteroID(p.AccountID, p.ID), Name: p.Name, Description: p.Description, URL: p.URL,
		CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC(), Configuration: map[string]json.RawMessage{}}
	if len(out.URL) == 0 {
		out.URL = json.RawMessage(`{}`)
	}
	_ = json.Unmarshal(p.Configuration, &out.Configuration) // an object, checked when written
	return out
}

var errProfileNotFound = newError(http.StatusNotFound, CodeNotFound, "Session profile not found.")

// profileID is the caller's kassa profile id of a Dintero profile id;
// another account's, or no id at all, is not found.
func profileID(c *caller, id string) (string, bool) {
	aid, kid, ok := payment.ParseDinteroID(id, payment.PrefixCheckoutProfile)
	return kid, ok && aid == payment.DinteroAccountID(c.Account.ID)
}

func (s *server) profileOfPath(r *http.Request, c *caller) (*payment.CheckoutProfile, error) {
	id, ok := profileID(c, r.PathValue("profile_id"))
	if !ok {
		return nil, errProfileNotFound
	}
	p, err := s.eng.CheckoutProfile(r.Context(), c.Account.ID, id)
	if err != nil {
		return nil, notFoundAs(err, errProfileNotFound)
	}
	return p, nil
}

// createProfile answers POST /v1/admin/session/profiles.
func (s *server) createProfile(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req profileRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	in, err := req.input()
	if err != nil {
		return err
	}
	p, err := s.eng.CreateCheckoutProfile(r.Context(), c.Account.ID, in)
	if err != nil {
		return err
	}
	return api.JSON(w, http.StatusOK, profileOf(p))
}

// listProfiles answers GET /v1/admin/session/profiles: newest first, a
// JSON array; starting_after is the last id of the previous page.
func (s *server) listProfiles(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := checkQuery(r, "limit", "starting_after"); err != nil {
		return err
	}
	n, err := limit(r)
	if err != nil {
		return err
	}
	after, err := one(r, "starting_after")
	if err != nil {
		return err
	}
	lp := payment.ListParams{Limit: n}
	if after != "" {
		id, ok := profileID(c, after)
		if !ok {
			return fieldError("starting_after", payment.CodeParameterInvalid, "starting_after must be a session profile id of this account.")
		}
		lp.StartingAfter = id
	}
	ps, _, err := s.eng.CheckoutProfiles(r.Context(), c.Account.ID, lp)
	if err != nil {
		if pe, ok := payment.AsError(err); ok && pe.Kind == payment.KindNotFound {
			return fieldError("starting_after", payment.CodeParameterInvalid, "starting_after names no session profile of this account.")
		}
		return err
	}
	out := make([]*profile, 0, len(ps))
	for _, p := range ps {
		out = append(out, profileOf(p))
	}
	return api.JSON(w, http.StatusOK, out)
}

// getProfile answers GET /v1/admin/session/profiles/{profile_id}.
func (s *server) getProfile(w http.ResponseWriter, r *http.Request, c *caller) error {
	p, err := s.profileOfPath(r, c)
	if err != nil {
		return err
	}
	return api.JSON(w, http.StatusOK, profileOf(p))
}

// updateProfile answers PUT /v1/admin/session/profiles/{profile_id}: the
// body replaces the profile.
func (s *server) updateProfile(w http.ResponseWriter, r *http.Request, c *caller) error {
	id, ok := profileID(c, r.PathValue("profile_id"))
	if !ok {
		return errProfileNotFound
	}
	var req profileRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	in, err := req.input()
	if err != nil {
		return err
	}
	p, err := s.eng.UpdateCheckoutProfile(r.Context(), c.Account.ID, id, in)
	if err != nil {
		return notFoundAs(err, errProfileNotFound)
	}
	return api.JSON(w, http.StatusOK, profileOf(p))
}

// deleteProfile answers DELETE /v1/admin/session/profiles/{profile_id}
// with the profile as it was.
func (s *server) deleteProfile(w http.ResponseWriter, r *http.Request, c *caller) error {
	p, err := s.profileOfPath(r, c)
	if err != nil {
		return err
	}
	if err := s.eng.DeleteCheckoutProfile(r.Context(), c.Account.ID, p.ID); err != nil {
		return notFoundAs(err, errProfileNotFound)
	}
	return api.JSON(w, http.StatusOK, profileOf(p))
}

// applyProfile fills what req leaves out from the caller's profile
// req.ProfileID: url fields the request does not give, and configuration
// keys it does not have. An unknown profile names profile_id.
func (s *server) applyProfile(r *http.Request, c *caller, req *sessionRequest) error {
	if req.ProfileID == "" {
		return nil
	}
	bad := fieldError("profile_id", payment.CodeParameterInvalid, "profile_id names no session profile of this account.")
	id, ok := profileID(c, req.ProfileID)
	if !ok {
		return bad
	}
	p, err := s.eng.CheckoutProfile(r.Context(), c.Account.ID, id)
	if err != nil {
		if pe, ok := payment.AsError(err); ok && pe.Kind == payment.KindNotFound {
			return bad
		}
		return err
	}
	var pu profileURLs
	var conf map[string]json.RawMessage
	_ = json.Unmarshal(p.URL, &pu) // both checked when written
	_ = json.Unmarshal(p.Configuration, &conf)
	if req.URL == nil {
		req.URL = &sessionURLs{}
	}
	if req.URL.ReturnURL == "" {
		req.URL.ReturnURL = pu.ReturnURL
	}
	if req.URL.CallbackURL == "" {
		req.URL.CallbackURL = pu.CallbackURL
	}
	if req.URL.MerchantTermsURL == "" {
		req.URL.MerchantTermsURL = pu.MerchantTermsURL
	}
	for k, v := range conf {
		if req.Configuration == nil {
			req.Configuration = map[string]json.RawMessage{}
		}
		if _, ok := req.Configuration[k]; !ok {
			req.Configuration[k] = v
		}
	}
	return nil
}

// createProfileSession answers POST /v1/sessions-profile: a session from
// a profile (profile_id required); ?include_session=true adds the session.
func (s *server) createProfileSession(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := checkQuery(r, "include_session"); err != nil {
		return err
	}
	include, err := one(r, "include_session")
	if err != nil {
		return err
	}
	if include != "" && include != "true" && include != "false" {
		return fieldError("include_session", payment.CodeParameterInvalid, "include_session must be true or false.")
	}
	var req sessionRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.ProfileID == "" {
		return required("profile_id")
	}
	cs, err := s.newSession(r, c, &req)
	if err != nil {
		return err
	}
	id := payment.DinteroID(cs.AccountID, cs.ID)
	out := sessionCreated{ID: id, URL: s.sessionURL(r, id)}
	if include == "true" {
		if out.Session, err = s.sessionView(r.Context(), cs); err != nil {
			return err
		}
	}
	return api.JSON(w, http.StatusOK, out)
}
