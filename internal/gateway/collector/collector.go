// Package collector is kassa's adapter for Collector Bank (now Walley),
// gateway type "collector". It holds a store's credentials — the shape
// Dintero's PUT /v1/admin/gateways/collector/credentials takes — and checks
// them against Collector's Checkout API; it makes no payments (Collector's
// invoice and instalment payments are not part of kassa yet), so its Spec
// lists no operations and a payment through it is refused with
// operation_not_supported before anything is sent.
//
// Credential check: Collector's Checkout API authenticates every request
// with "Authorization: SharedKey base64(username ":" hex(sha256(body + path
// + shared key)))", where the shared key is the password. The cheapest
// authenticated read is "get checkout information",
// GET {url}/merchants/{store_id}/checkouts/{private id}; the adapter asks
// for the nil UUID, which no checkout has. 404 (or 200) means Collector
// took the credentials and the store; 401 that it refused the username or
// password, 403 that they may not act for the store id. Anything else means
// it could not tell. A url that answers 404 to everything passes the check:
// point url at Collector's Checkout API host.
package collector

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/payment"
)

// Type is the gateway type.
const Type = "collector"

// Credential fields. Dintero's nested data (options.customer_client.…) is
// flattened onto these names; every value is a string ("123" for the store
// id, "true" for enable_on_hold).
const (
	CredURL                       = "url"
	CredUsername                  = "username"
	CredPassword                  = "password"
	CredStoreID                   = "store_id"
	CredCountry                   = "country"
	CredCustomersClientID         = "customers_client_id"
	CredCustomersClientSecret     = "customers_client_secret"
	CredCustomersClientAudience   = "customers_client_audience"
	CredEnableOnHold              = "enable_on_hold"
	CredSettlementReferenceFields = "settlement_reference_fields"
)

// CodeInvalidCredentials is the error code of credentials Collector refused.
const CodeInvalidCredentials = "invalid_credentials"

// probeCheckout is the private checkout id the credential check asks for:
// the nil UUID, which no checkout has.
const probeCheckout = "00000000-0000-0000-0000-000000000000"

// Options configure an Adapter.
type Options struct {
	// HTTP sends the credential check; nil means a client of its own.
	HTTP *gateway.HTTPClient
}

// Adapter is the collector gateway type. It is safe for concurrent use.
type Adapter struct {
	http *gateway.HTTPClient
}

var (
	_ gateway.Adapter           = (*Adapter)(nil)
	_ gateway.CredentialChecker = (*Adapter)(nil)
)

// New returns an Adapter. Make one per process.
func New(opts Options) *Adapter {
	c := opts.HTTP
	if c == nil {
		c = gateway.NewHTTPClient(gateway.HTTPOptions{})
	}
	return &Adapter{http: c}
}

// Spec describes the type: credentials only, no operations.
func (a *Adapter) Spec() gateway.Spec {
	return gateway.Spec{
		Type:        Type,
		DisplayName: "Collector Bank (Walley)",
		CredentialFields: []gateway.Field{
			{Name: CredURL, Label: "Checkout API base URL", Kind: gateway.KindString, Required: true, URL: true},
			{Name: CredUsername, Label: "Username", Kind: gateway.KindString, Required: true},
			{Name: CredPassword, Label: "Password (shared key)", Kind: gateway.KindString, Required: true, Sensitive: true},
			{Name: CredStoreID, Label: "Store id (an integer)", Kind: gateway.KindString, Required: true},
			{Name: CredCountry, Label: "Country (ISO 3166-1 alpha-2)", Kind: gateway.KindString, Required: true},
			{Name: CredCustomersClientID, Label: "Customers API client id", Kind: gateway.KindString},
			{Name: CredCustomersClientSecret, Label: "Customers API client secret", Kind: gateway.KindString, Sensitive: true},
			{Name: CredCustomersClientAudience, Label: "Customers API audience", Kind: gateway.KindString},
			{Name: CredEnableOnHold, Label: "Enable ON_HOLD transactions (true or false)", Kind: gateway.KindString},
			{Name: CredSettlementReferenceFields, Label: "Settlement reference fields", Kind: gateway.KindString},
		},
		SettingsFields:        []gateway.Field{},
		Operations:            []payment.OperationKind{},
		PaymentMethodTypes:    []string{},
		GatewaySpecificFields: []gateway.Field{},
		Currencies:            []string{},
	}
}

// CheckURL reports whether raw can be the Checkout API's base URL: an
// absolute http or https URL without query, fragment or user.
func CheckURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" &&
		u.User == nil && u.RawQuery == "" && u.Fragment == ""
}

// SharedKey is the Authorization header value Collector's Checkout API
// expects for a request of body to path.
func SharedKey(username, password, path string, body []byte) string {
	sum := sha256.Sum256([]byte(string(body) + path + password))
	return "SharedKey " + base64.StdEncoding.EncodeToString([]byte(username+":"+hex.EncodeToString(sum[:])))
}

// CheckCredentials asks Collector for a checkout that does not exist (see
// the package comment). A *payment.Error (KindInvalid) names the field at
// fault; other errors mean Collector could not be asked.
func (a *Adapter) CheckCredentials(ctx context.Context, c gateway.Config) error {
	cr := c.Credentials
	invalid := func(param, msg string) error {
		return &payment.Error{Kind: payment.KindInvalid, Code: CodeInvalidCredentials, Param: param, Message: msg}
	}
	if !CheckURL(cr[CredURL]) {
		return invalid(CredURL, "url must be an absolute http or https URL without query or fragment.")
	}
	if n, err := strconv.ParseInt(cr[CredStoreID], 10, 64); err != nil || n <= 0 {
		return invalid(CredStoreID, "store_id must be a positive integer.")
	}
	base, _ := url.Parse(cr[CredURL])
	path := strings.TrimSuffix(base.Path, "/") + "/merchants/" + cr[CredStoreID] + "/checkouts/" + probeCheckout
	u := *base
	u.Path = path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("collector: checking credentials: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", SharedKey(cr[CredUsername], cr[CredPassword], path, nil))
	scrub := gateway.NewScrubber(nil, map[string]string{
		CredPassword: cr[CredPassword], CredCustomersClientSecret: cr[CredCustomersClientSecret]})
	resp, _, err := a.http.Do(ctx, c.Live, req, nil, scrub)
	if err != nil {
		return fmt.Errorf("collector: checking credentials: %s", scrub.String(err.Error()))
	}
	switch resp.Status {
	case http.StatusOK, http.StatusNotFound:
		return nil
	case http.StatusUnauthorized:
		return invalid(CredPassword, "Collector refused the username or password (HTTP 401).")
	case http.StatusForbidden:
		return invalid(CredStoreID, "Collector refused the credentials for this store id (HTTP 403).")
	}
	return fmt.Errorf("collector: checking credentials: unexpected HTTP status %d", resp.Status)
}
