package dintero

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// tokenRequest is the body of POST /v1/accounts/{aid}/auth/token for
// grant_type client_credentials. Scope is OAuth 2.0's optional narrowing
// (RFC 6749 §4.4.2), space-separated.
type tokenRequest struct {
	GrantType string `json:"grant_type"`
	Audience  string `json:"audience"`
	Scope     string `json:"scope"`
}

// tokenResponse is Dintero's AccessToken.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// token exchanges client credentials for an access token. The client is
// authenticated before the body is read, so a caller without credentials
// learns nothing from the body's errors. Failures: 404 for an {aid} not of
// the account form (endpoint), 401 for missing or wrong client
// credentials or a client of another account, 400 for a bad body or
// grant_type or scope, 403 for an audience not naming the account.
func (s *server) token(w http.ResponseWriter, r *http.Request, _ *caller) error {
	aid := r.PathValue("aid")
	p, err := s.client(r, aid)
	if err != nil {
		return err
	}
	r = r.WithContext(api.WithPrincipal(r.Context(), p))
	var in tokenRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	switch {
	case in.GrantType == "":
		return required("grant_type")
	case in.GrantType != "client_credentials":
		return fieldError("grant_type", CodeUnsupportedGrantType, "grant_type must be client_credentials.")
	case in.Audience == "":
		return required("audience")
	case audienceAccount(in.Audience) != aid:
		e := *errOtherAccount
		e.Message = "Forbidden: the audience must name this account: a URL whose path ends in /v1/accounts/" + aid + "."
		e.Errors = []FieldError{{Path: "audience", Message: e.Message}}
		return &e
	}
	scopes := AllScopes
	if in.Scope != "" {
		scopes = strings.Fields(in.Scope)
		for _, sc := range scopes {
			if !slices.Contains(AllScopes, sc) {
				return fieldError("scope", CodeInvalidScope, "scope holds a scope this client does not have; it may hold %s.",
					strings.Join(AllScopes, ", "))
			}
		}
	}
	tok, err := s.eng.IssueAccessToken(r.Context(), p, engine.AccessTokenRequest{Audience: in.Audience, Scopes: scopes})
	if err != nil {
		return err
	}
	return api.JSON(w, http.StatusOK, tokenResponse{AccessToken: tok.Token, TokenType: "Bearer",
		ExpiresIn: int64(tok.ExpiresIn / time.Second)})
}

// client authenticates HTTP Basic client credentials: client_id the
// secret key's prefix, client_secret the key, of account aid. Every
// failure is the same 401.
func (s *server) client(r *http.Request, aid string) (*payment.Principal, error) {
	id, secret, ok := r.BasicAuth()
	if !ok || id == "" || secret == "" {
		return nil, errBadClient
	}
	p, err := s.eng.Authenticate(r.Context(), secret)
	if err != nil {
		if e, ok := payment.AsError(err); ok && e.Kind == payment.KindUnauthenticated {
			return nil, errBadClient
		}
		return nil, err
	}
	if p.Key.Kind != payment.KeySecret || p.Key.Prefix != id || p.Account.ID != aid {
		return nil, errBadClient
	}
	return p, nil
}

// ClientID is the Dintero client_id of a kassa secret key: its prefix.
func ClientID(k *payment.APIKey) string { return k.Prefix }
