package native

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/payment"
)

// gatewayTypeObject is a gateway type as GET /v1/gateway_types lists it:
// its Spec, whose JSON tags are its wire form, marked as an object.
type gatewayTypeObject struct {
	Object string `json:"object"`
	gateway.Spec
}

func gatewayTypeObjectOf(s gateway.Spec) gatewayTypeObject {
	s.CredentialFields = nonNil(s.CredentialFields)
	s.SettingsFields = nonNil(s.SettingsFields)
	s.Operations = nonNil(s.Operations)
	s.PaymentMethodTypes = nonNil(s.PaymentMethodTypes)
	s.GatewaySpecificFields = nonNil(s.GatewaySpecificFields)
	s.Currencies = nonNil(s.Currencies)
	return gatewayTypeObject{Object: "gateway_type", Spec: s}
}

func (s *server) listGatewayTypes(w http.ResponseWriter, r *http.Request) error {
	// A handful of types, fixed at start-up: one page holds them all.
	return listResponse(w, s.eng.GatewayTypes(), false, gatewayTypeObjectOf, "/v1/gateway_types")
}

// createGatewayRequest is the body of POST /v1/gateways. Credentials and
// settings are free-form objects: the gateway type's Spec says which fields
// they take, and the engine checks them against it.
type createGatewayRequest struct {
	Type               string         `json:"type"`
	Description        string         `json:"description"`
	Credentials        map[string]any `json:"credentials"`
	Settings           map[string]any `json:"settings"`
	Sandbox            *bool          `json:"sandbox"`
	MerchantProfileKey string         `json:"merchant_profile_key"`
	SubMerchantKey     string         `json:"sub_merchant_key"`
	DisabledOperations []string       `json:"disabled_operations"`
}

func (s *server) createGateway(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	var req createGatewayRequest
	if err := api.DecodeJSON(r, &req); err != nil {
		return err
	}
	d, err := s.eng.CreateGateway(r.Context(), p, engine.GatewayInput{
		Type: req.Type, Description: req.Description, Credentials: req.Credentials, Settings: req.Settings,
		Sandbox: req.Sandbox, MerchantProfileKey: req.MerchantProfileKey, SubMerchantKey: req.SubMerchantKey,
		DisabledOperations: req.DisabledOperations,
	})
	if err != nil {
		return err
	}
	return api.JSON(w, http.StatusCreated, engine.GatewayObjectOf(d))
}

func (s *server) listGateways(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	return listPage(w, r, func(lp payment.ListParams) ([]*engine.GatewayDetail, bool, error) {
		return s.eng.Gateways(r.Context(), p.Account.ID, lp)
	}, engine.GatewayObjectOf, "/v1/gateways")
}

func (s *server) getGateway(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	d, err := s.eng.Gateway(r.Context(), p.Account.ID, id)
	return gatewayResult(w, d, err, id)
}

// updateGatewayRequest is the body of PATCH /v1/gateways/{id}: the
// non-secret fields. A field left out (or null) is left as it is; settings
// and disabled_operations, when given, replace the old ones.
type updateGatewayRequest struct {
	Description        *string        `json:"description"`
	Settings           map[string]any `json:"settings"`
	Sandbox            *bool          `json:"sandbox"`
	MerchantProfileKey *string        `json:"merchant_profile_key"`
	SubMerchantKey     *string        `json:"sub_merchant_key"`
	DisabledOperations *[]string      `json:"disabled_operations"`
	// Credentials is here only to be refused with a better message than
	// "unknown parameter": they change through PUT …/credentials, which
	// makes a new version. Its value is never looked at.
	Credentials json.RawMessage `json:"credentials"`
}

var errPatchCredentials = payment.Invalid(payment.CodeParameterUnknown, "credentials",
	"credentials cannot be changed with PATCH: send them to PUT /v1/gateways/{id}/credentials, which makes a new credential version.")

func (s *server) updateGateway(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	var req updateGatewayRequest
	if err := api.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.Credentials != nil {
		return errPatchCredentials
	}
	id := r.PathValue("id")
	d, err := s.eng.UpdateGateway(r.Context(), p, id, engine.GatewayUpdate{
		Description: req.Description, Settings: req.Settings, Sandbox: req.Sandbox,
		MerchantProfileKey: req.MerchantProfileKey, SubMerchantKey: req.SubMerchantKey,
		DisabledOperations: req.DisabledOperations,
	})
	return gatewayResult(w, d, err, id)
}

// setCredentialsRequest is the body of PUT /v1/gateways/{id}/credentials.
type setCredentialsRequest struct {
	Credentials map[string]any `json:"credentials"`
	Description string         `json:"description"`
	// Validate asks the gateway whether the credentials work before they
	// are saved, when the gateway type can tell; true when left out.
	Validate *bool `json:"validate"`
}

func (s *server) setGatewayCredentials(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	var req setCredentialsRequest
	if err := api.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.Credentials == nil {
		// Explicit even for a type without required fields: a PUT that
		// forgot them must not make an empty version.
		return payment.Missing("credentials")
	}
	validate := req.Validate == nil || *req.Validate
	id := r.PathValue("id")
	d, err := s.eng.SetGatewayCredentials(r.Context(), p, id, req.Credentials, req.Description, validate)
	return gatewayResult(w, d, err, id)
}

func (s *server) listGatewayCredentials(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	cvs, err := s.eng.GatewayCredentialHistory(r.Context(), p.Account.ID, id)
	if err != nil {
		return notFoundAs(err, "gateway", id)
	}
	// Every version on one page: a gateway's history is short, and the
	// store hands it over whole.
	return listResponse(w, cvs, false, engine.CredentialVersionObjectOf, "/v1/gateways/"+id+"/credentials")
}

func (s *server) retainGateway(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	d, err := s.eng.RetainGateway(r.Context(), p.Account.ID, id)
	return gatewayResult(w, d, err, id)
}

func (s *server) redactGateway(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	d, err := s.eng.RedactGatewayAs(r.Context(), p, id)
	return gatewayResult(w, d, err, id)
}

// gatewayResult answers an operation on the gateway id.
func gatewayResult(w http.ResponseWriter, d *engine.GatewayDetail, err error, id string) error {
	if err != nil {
		return notFoundAs(err, "gateway", id)
	}
	return api.JSON(w, http.StatusOK, engine.GatewayObjectOf(d))
}

// gatewayNotifications receives a provider's notification for one gateway.
// It needs no API key: the adapter verifies the provider's signature with
// the gateway's own credentials, and an unverified body changes nothing.
func (s *server) gatewayNotifications(w http.ResponseWriter, r *http.Request) error {
	body, err := api.ReadBody(r)
	if err != nil {
		return err
	}
	answer, err := s.eng.HandleNotifications(r.Context(), r.PathValue("id"), body)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, err = io.WriteString(w, answer)
	return err
}
