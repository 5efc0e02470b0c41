package dintero

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/gateway/collector"
	"github.com/kassapay/kassa/internal/payment"
)

// Admin gateway credentials (ADR 0022): PUT and GET
// /v1/admin/gateways/{gateway}/credentials. {gateway} is a kassa gateway
// type (collector, simulator, stripe, adyen, authorize_net, …); a Dintero
// credential name of that type is one kassa gateway
// (engine.NamedCredentialGatewayID), and each PUT of it is a credential
// version of that gateway.

// credentialRequest is the body of PUT …/credentials; D is the shape of
// data for the gateway type: collectorData for collector, the type's
// credential fields (strings) for the others.
type credentialRequest[D any] struct {
	Name        string        `json:"name"`
	Data        D             `json:"data"`
	Description string        `json:"description"`
	Promote     []promoteItem `json:"promote"`
}

// promoteItem names another kassa gateway of the same type that takes the
// credential as a new version of its own (kassa's form: Dintero's
// reference does not publish the item's schema).
type promoteItem struct {
	GatewayID string `json:"gateway_id"`
}

// collectorData is Dintero's data for the collector gateway.
type collectorData struct {
	URL      *string           `json:"url"`
	Username *string           `json:"username"`
	Password *string           `json:"password"`
	StoreID  *int64            `json:"store_id"`
	Country  *string           `json:"country"`
	Options  *collectorOptions `json:"options"`
}

type collectorOptions struct {
	CustomerClient            *collectorCustomerClient `json:"customer_client"`
	EnableOnHold              *bool                    `json:"enable_on_hold"`
	SettlementReferenceFields *string                  `json:"settlement_reference_fields"`
}

type collectorCustomerClient struct {
	ClientID       *string `json:"customers_client_id"`
	ClientSecret   *string `json:"customers_client_secret"`
	ClientAudience *string `json:"customers_client_audience"`
}

// collectorPaths is where each of the collector type's flat credential
// fields sits in Dintero's data.
var collectorPaths = map[string]string{
	collector.CredURL:                       "data.url",
	collector.CredUsername:                  "data.username",
	collector.CredPassword:                  "data.password",
	collector.CredStoreID:                   "data.store_id",
	collector.CredCountry:                   "data.country",
	collector.CredCustomersClientID:         "data.options.customer_client.customers_client_id",
	collector.CredCustomersClientSecret:     "data.options.customer_client.customers_client_secret",
	collector.CredCustomersClientAudience:   "data.options.customer_client.customers_client_audience",
	collector.CredEnableOnHold:              "data.options.enable_on_hold",
	collector.CredSettlementReferenceFields: "data.options.settlement_reference_fields",
}

// credentials flattens collector data onto the collector type's fields,
// checking what Dintero's schema says of each: strings present, store_id a
// positive integer. Whether url is a URL Collector answers on is the
// credential check's to say (validate_credential), so Dintero's example
// body, "<string>" placeholders and all, is accepted without it.
func (d *collectorData) credentials() (map[string]any, error) {
	if d == nil {
		return nil, required("data")
	}
	out := map[string]any{}
	str := func(field string, v *string, need bool) error {
		if v == nil || *v == "" {
			if need {
				return required(collectorPaths[field])
			}
			return nil
		}
		out[field] = *v
		return nil
	}
	for _, f := range []struct {
		field string
		v     *string
	}{{collector.CredURL, d.URL}, {collector.CredUsername, d.Username}, {collector.CredPassword, d.Password}} {
		if err := str(f.field, f.v, true); err != nil {
			return nil, err
		}
	}
	if d.StoreID == nil {
		return nil, required("data.store_id")
	}
	if *d.StoreID <= 0 {
		return nil, fieldError("data.store_id", payment.CodeParameterInvalid, "data.store_id must be a positive integer.")
	}
	out[collector.CredStoreID] = strconv.FormatInt(*d.StoreID, 10)
	if err := str(collector.CredCountry, d.Country, true); err != nil {
		return nil, err
	}
	if o := d.Options; o != nil {
		if c := o.CustomerClient; c != nil {
			for _, f := range []struct {
				field string
				v     *string
			}{{collector.CredCustomersClientID, c.ClientID}, {collector.CredCustomersClientSecret, c.ClientSecret},
				{collector.CredCustomersClientAudience, c.ClientAudience}} {
				_ = str(f.field, f.v, false)
			}
		}
		if o.EnableOnHold != nil {
			out[collector.CredEnableOnHold] = strconv.FormatBool(*o.EnableOnHold)
		}
		_ = str(collector.CredSettlementReferenceFields, o.SettlementReferenceFields, false)
	}
	return out, nil
}

// credentialResponse is Dintero's answer for a credential: who made it and
// when, its newest version — never its values.
type credentialResponse struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
	Version   int       `json:"version"`
}

func credentialResponseOf(nc *engine.NamedCredential) credentialResponse {
	return credentialResponse{Name: nc.Name, CreatedAt: nc.First.CreatedAt, CreatedBy: nc.First.CreatedBy,
		UpdatedAt: nc.Current.CreatedAt, UpdatedBy: nc.Current.CreatedBy, Version: nc.Current.Version}
}

var errNoGateway = newError(http.StatusNotFound, CodeNotFound,
	"Unknown gateway: use a kassa gateway type (collector, simulator, stripe, adyen, authorize_net, …).")

// gatewayType is the kassa gateway type a {gateway} path segment names:
// the type of the same name, except routers (no credentials) and types
// that cannot be created from credentials alone (a required setting, as
// simulator_http's base_url).
func (s *server) gatewayType(name string) (string, error) {
	for _, sp := range s.eng.GatewayTypes() {
		if sp.Type != name || name == engine.RouterType ||
			slices.ContainsFunc(sp.SettingsFields, func(f gateway.Field) bool { return f.Required }) {
			continue
		}
		return name, nil
	}
	return "", errNoGateway
}

// boolQuery reads a boolean query parameter, def when absent.
func boolQuery(r *http.Request, name string, def bool) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fieldError(name, payment.CodeParameterInvalid, "%s must be true or false.", name)
	}
	return b, nil
}

// putGatewayCredential answers PUT /v1/admin/gateways/{gateway}/credentials:
// 201 with a new credential, 200 with a new version of an existing one
// (overwrite=true), 409 when the name exists without overwrite, 400 when
// the body is wrong or the provider refuses the credentials
// (validate_credential, default true); nothing is saved on any error.
func (s *server) putGatewayCredential(w http.ResponseWriter, r *http.Request, c *caller) error {
	typ, err := s.gatewayType(r.PathValue("gateway"))
	if err != nil {
		return err
	}
	overwrite, err := boolQuery(r, "overwrite", false)
	if err != nil {
		return err
	}
	validate, err := boolQuery(r, "validate_credential", true)
	if err != nil {
		return err
	}
	in := engine.NamedCredentialInput{Type: typ, Overwrite: overwrite, Validate: validate}
	var promote []promoteItem
	if typ == collector.Type {
		var req credentialRequest[*collectorData]
		if err := decode(r, &req); err != nil {
			return err
		}
		if in.Credentials, err = req.Data.credentials(); err != nil {
			return err
		}
		in.Name, in.Description, promote = req.Name, req.Description, req.Promote
	} else {
		var req credentialRequest[map[string]any]
		if err := decode(r, &req); err != nil {
			return err
		}
		if req.Data == nil {
			return required("data")
		}
		in.Name, in.Description, in.Credentials, promote = req.Name, req.Description, req.Data, req.Promote
	}
	if in.Name == "" {
		return required("name")
	}
	for i, p := range promote {
		if p.GatewayID == "" {
			return required("promote[" + strconv.Itoa(i) + "].gateway_id")
		}
		in.Promote = append(in.Promote, p.GatewayID)
	}
	nc, err := s.eng.PutNamedCredential(r.Context(), c.Principal, in)
	if err != nil {
		return s.credentialError(typ, err)
	}
	status := http.StatusOK
	if nc.Created {
		status = http.StatusCreated
	}
	return api.JSON(w, status, credentialResponseOf(nc))
}

// listGatewayCredentials answers GET /v1/admin/gateways/{gateway}/credentials:
// the account's credentials of the type, oldest first, names and versions
// only.
func (s *server) listGatewayCredentials(w http.ResponseWriter, r *http.Request, c *caller) error {
	typ, err := s.gatewayType(r.PathValue("gateway"))
	if err != nil {
		return err
	}
	ncs, err := s.eng.NamedCredentials(r.Context(), c.Account.ID, typ)
	if err != nil {
		return err
	}
	out := make([]credentialResponse, len(ncs))
	for i, nc := range ncs {
		out[i] = credentialResponseOf(nc)
	}
	return api.JSON(w, http.StatusOK, out)
}

// credentialError renames the engine's and the adapter's field names to
// the request's paths: "credentials.x" and an adapter's bare "x" are
// data's x (for collector, where x sits in Dintero's nested data), "type"
// is the {gateway} path segment. Every invalid request is Dintero's 400,
// a refused credential included, with the provider's reason as message.
func (s *server) credentialError(typ string, err error) error {
	pe, ok := payment.AsError(err)
	if !ok || pe.Param == "" {
		return err
	}
	param := pe.Param
	field := strings.TrimPrefix(param, "credentials.")
	var path string
	switch {
	case param == "type":
		path = "gateway"
	case param == "credentials":
		path = "data"
	case typ == collector.Type && collectorPaths[field] != "":
		path = collectorPaths[field]
	case strings.HasPrefix(param, "credentials."):
		path = "data." + field
	case s.credentialField(typ, param):
		path = "data." + param
	default:
		return err
	}
	out := *pe
	out.Param = path
	if strings.HasPrefix(param, "credentials") {
		out.Message = strings.ReplaceAll(pe.Message, param, path)
	}
	return &out
}

// credentialField reports whether name is a credential field of type typ.
func (s *server) credentialField(typ, name string) bool {
	for _, sp := range s.eng.GatewayTypes() {
		if sp.Type == typ {
			for _, f := range sp.CredentialFields {
				if f.Name == name {
					return true
				}
			}
		}
	}
	return false
}
