package native

import (
	"net/http"
	"time"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

func (s *server) listAPIKeys(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	keys, err := s.eng.APIKeys(r.Context(), p.Account.ID)
	if err != nil {
		return err
	}
	// An account has a handful of keys: one page holds them all.
	return listResponse(w, keys, false, listedAPIKey, "/v1/api_keys")
}

// listedAPIKey renders a key as lists show it: without its secret.
func listedAPIKey(k *payment.APIKey) *engine.APIKeyObject { return engine.APIKeyObjectOf(k, "") }

// createAPIKeyRequest is the body of POST /v1/api_keys.
type createAPIKeyRequest struct {
	Type string `json:"type"`
}

func (s *server) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	var req createAPIKeyRequest
	if err := api.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.Type == "" {
		return payment.Missing("type")
	}
	k, plain, err := s.eng.CreateAPIKey(r.Context(), p, payment.KeyKind(req.Type))
	if err != nil {
		return err
	}
	return api.JSON(w, http.StatusCreated, engine.APIKeyObjectOf(k, plain))
}

// rollAPIKeyRequest is the optional body of POST /v1/api_keys/{id}/roll.
type rollAPIKeyRequest struct {
	// ExpiresIn is how many seconds the old key stays valid; 0 (the
	// default) revokes it at once.
	ExpiresIn int64 `json:"expires_in"`
}

func (s *server) rollAPIKey(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	var req rollAPIKeyRequest
	if err := api.DecodeOptionalJSON(r, &req); err != nil {
		return err
	}
	const maxSeconds = int64(engine.MaxKeyGrace / time.Second)
	if req.ExpiresIn < 0 || req.ExpiresIn > maxSeconds {
		// Checked here too: seconds × time.Second could overflow.
		return payment.Invalid(payment.CodeParameterInvalid, "expires_in",
			"expires_in must be between 0 and %d seconds.", maxSeconds)
	}
	id := r.PathValue("id")
	k, plain, err := s.eng.RollAPIKey(r.Context(), p, id, time.Duration(req.ExpiresIn)*time.Second)
	if err != nil {
		return notFoundAs(err, "api_key", id)
	}
	return api.JSON(w, http.StatusOK, engine.APIKeyObjectOf(k, plain))
}

func (s *server) revokeAPIKey(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	k, err := s.eng.RevokeAPIKey(r.Context(), p, id)
	if err != nil {
		return notFoundAs(err, "api_key", id)
	}
	return api.JSON(w, http.StatusOK, engine.APIKeyObjectOf(k, ""))
}
