package dintero

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// Dintero's customers API (spec-customers: /accounts/{aid}/customers/users
// and their tokens) over kassa's customers (ADR 0023). A Dintero customer
// is a kassa customer: customer_id is its external id, email, phone_number
// and metadata are its own, first_name and last_name make its name. What
// kassa's customer has no column for is kept in its metadata under keys
// beginning with "dintero:" (reservedPrefix), so nothing a client sends is
// silently dropped; what cannot be kept is refused naming the field.

// reservedPrefix begins the metadata keys that hold the Dintero fields a
// kassa customer has no column for. Clients may not use it.
const reservedPrefix = "dintero:"

// typedKey lists, as a JSON array, the metadata keys whose value a client
// sent as JSON other than a string (a number, say); kassa's metadata holds
// strings, so those values are kept as their JSON text.
const typedKey = reservedPrefix + "typed"

// Limits of the Dintero fields kassa keeps in metadata: a metadata value
// holds at most 500 bytes (engine), short text fields at most 200.
const (
	maxExtraText = 200
	maxExtraJSON = 500
)

var (
	errCustomerMissing = newError(http.StatusNotFound, CodeNotFound, "Customer not found.")
	errTokenMissing    = newError(http.StatusNotFound, CodeNotFound, "Token not found.")
	// e164 is Dintero's phone_number format.
	e164 = regexp.MustCompile(`^\+?[1-9]\d{1,14}$`)
)

// The scopes of the customers routes, as Dintero's reference lists them
// (its user:customers and create:customers:/users are end-user and
// narrower grants kassa does not issue).
var (
	customersRead  = []string{ScopeAdminCustomers, ScopeReadCustomers}
	customersWrite = []string{ScopeAdminCustomers, ScopeWriteCustomers}
)

// customerTypes are Dintero's customer types ("customer" by default).
var customerTypes = []string{"customer", "company", "contact", "employee", "other"}

// extraText are Dintero's text fields a kassa customer keeps in metadata.
var extraText = []string{"first_name", "last_name", "type", "status", "gender", "date_of_birth", "favorite_store"}

// extraJSON are Dintero's structured fields a kassa customer keeps in
// metadata as JSON text, each with the JSON kind it must be.
var extraJSON = []struct {
	name  string
	array bool
}{
	{"attributes", false}, {"addresses", true}, {"company", false}, {"enrolled_by", false},
	{"marketing_consent", false}, {"term", false},
}

// customerRequest is the body of POST …/customers/users and PUT
// …/users/{customer_id}. A field left out (or null) is left as it is on
// PUT; "" clears a text field.
type customerRequest struct {
	CustomerID       *string         `json:"customer_id"`
	Type             *string         `json:"type"`
	FirstName        *string         `json:"first_name"`
	LastName         *string         `json:"last_name"`
	Email            *string         `json:"email"`
	PhoneNumber      *string         `json:"phone_number"`
	Status           *string         `json:"status"`
	Gender           *string         `json:"gender"`
	DateOfBirth      *string         `json:"date_of_birth"`
	FavoriteStore    *string         `json:"favorite_store"`
	Attributes       json.RawMessage `json:"attributes"`
	Addresses        json.RawMessage `json:"addresses"`
	Company          json.RawMessage `json:"company"`
	EnrolledBy       json.RawMessage `json:"enrolled_by"`
	MarketingConsent json.RawMessage `json:"marketing_consent"`
	Term             json.RawMessage `json:"term"`
	Metadata         json.RawMessage `json:"metadata"`
	Password         *string         `json:"password"`
	Pin              *string         `json:"pin"`
}

func (in *customerRequest) text() map[string]*string {
	return map[string]*string{"first_name": in.FirstName, "last_name": in.LastName, "type": in.Type,
		"status": in.Status, "gender": in.Gender, "date_of_birth": in.DateOfBirth, "favorite_store": in.FavoriteStore}
}

func (in *customerRequest) json() map[string]json.RawMessage {
	return map[string]json.RawMessage{"attributes": in.Attributes, "addresses": in.Addresses, "company": in.Company,
		"enrolled_by": in.EnrolledBy, "marketing_consent": in.MarketingConsent, "term": in.Term}
}

// customerResponse is Dintero's CustomerResponse as kassa fills it.
// created_by is left out: kassa does not record who created a customer.
type customerResponse struct {
	ID               string          `json:"id"`
	CustomerID       string          `json:"customer_id"`
	Type             string          `json:"type"`
	FirstName        string          `json:"first_name,omitempty"`
	LastName         string          `json:"last_name,omitempty"`
	Email            string          `json:"email,omitempty"`
	PhoneNumber      string          `json:"phone_number,omitempty"`
	Status           string          `json:"status,omitempty"`
	Gender           string          `json:"gender,omitempty"`
	DateOfBirth      string          `json:"date_of_birth,omitempty"`
	FavoriteStore    string          `json:"favorite_store,omitempty"`
	Attributes       json.RawMessage `json:"attributes,omitempty"`
	Addresses        json.RawMessage `json:"addresses,omitempty"`
	Company          json.RawMessage `json:"company,omitempty"`
	EnrolledBy       json.RawMessage `json:"enrolled_by,omitempty"`
	MarketingConsent json.RawMessage `json:"marketing_consent,omitempty"`
	Term             json.RawMessage `json:"term,omitempty"`
	Metadata         map[string]any  `json:"metadata,omitempty"`
	CreatedAt        time.Time       `json:"created_at"`
	UpdatedAt        time.Time       `json:"updated_at"`
	DeletedAt        *time.Time      `json:"deleted_at,omitempty"`
	DeletedBy        string          `json:"deleted_by,omitempty"`
}

// tokenRequestBody is the body of POST …/users/{customer_id}/tokens.
type tokenRequestBody struct {
	Type     string          `json:"type"`
	Value    string          `json:"value"`
	TokenID  *string         `json:"token_id"`
	Metadata json.RawMessage `json:"metadata"`
}

// customerToken is Dintero's CustomerToken.
type customerToken struct {
	Type      string         `json:"type"`
	Value     string         `json:"value"`
	ID        string         `json:"id"`
	TokenID   string         `json:"token_id"`
	Metadata  map[string]any `json:"metadata"`
	CreatedAt time.Time      `json:"created_at"`
	CreatedBy string         `json:"created_by"`
	UpdatedAt time.Time      `json:"updated_at"`
	DeletedAt *time.Time     `json:"deleted_at,omitempty"`
	DeletedBy string         `json:"deleted_by,omitempty"`
}

// uuidNamespace is the UUID (version 5) namespace of the ids kassa shows for
// its objects in Dintero's API: id = UUIDv5(uuidNamespace, kassa id).
var uuidNamespace = [16]byte{0x6b, 0x61, 0x73, 0x73, 0x61, 0x2d, 0x44, 0x69, 0x8e, 0x74, 0x65, 0x72, 0x6f, 0x2d, 0x69, 0x64}

// DinteroUUID is the UUID Dintero's API shows as the id of the kassa object
// id: a name-based UUID (RFC 9562 version 5), the same every time and in
// every process, naming nothing but id.
func DinteroUUID(id string) string {
	h := sha1.New()
	h.Write(uuidNamespace[:])
	h.Write([]byte(id))
	return formatUUID(h.Sum(nil), 0x50)
}

// newUUID is a random UUID (version 4): a customer_id kassa makes.
func newUUID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("dintero: crypto/rand failed: " + err.Error())
	}
	return formatUUID(b, 0x40)
}

func formatUUID(b []byte, version byte) string {
	b[6] = b[6]&0x0f | version
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// createCustomer answers POST /v1/accounts/{aid}/customers/users: 200 and
// the customer (Dintero's reference answers 200, not 201). A customer_id
// another customer has is a 400, as Dintero documents duplicates.
func (s *server) createCustomer(w http.ResponseWriter, r *http.Request, c *caller) error {
	var in customerRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	md, err := customerMetadata(&in, nil)
	if err != nil {
		return err
	}
	cid := newUUID()
	if in.CustomerID != nil {
		cid = *in.CustomerID
		if err := engine.CheckDinteroID("customer_id", cid); err != nil {
			return err
		}
	}
	var ci engine.CustomerInput
	ci.ExternalID, ci.Metadata = &cid, md
	ci.Email, ci.Phone = deref(in.Email), deref(in.PhoneNumber)
	ci.Name = joinName(deref(in.FirstName), deref(in.LastName))
	cus, err := s.eng.CreateCustomer(r.Context(), c.Principal, ci)
	if err != nil {
		return customerError(err)
	}
	return api.JSON(w, http.StatusOK, customerOf(cus))
}

// listCustomers answers GET …/customers/users: a JSON array, newest first.
// Query: limit (1–100, 10), starting_after (the customer_id the previous
// page ended with), email (exact), include_deleted=false. kassa refuses
// Dintero's other filters rather than ignore them.
func (s *server) listCustomers(w http.ResponseWriter, r *http.Request, c *caller) error {
	q := r.URL.Query()
	if err := onlyParams(q, "limit", "starting_after", "email", "include_deleted"); err != nil {
		return err
	}
	limit, err := listLimit(q)
	if err != nil {
		return err
	}
	if err := falseOnly(q, "include_deleted", "kassa does not list deleted customers."); err != nil {
		return err
	}
	acct := c.Account.ID
	f := payment.CustomerFilter{Email: q.Get("email"), ListParams: payment.ListParams{Limit: limit}}
	if after := q.Get("starting_after"); after != "" {
		prev, err := s.customer(r.Context(), acct, "starting_after", after)
		if err != nil {
			if errors.Is(err, errCustomerMissing) {
				return fieldError("starting_after", payment.CodeParameterInvalid, "starting_after must be the customer_id of a customer.")
			}
			return err
		}
		f.StartingAfter = prev.ID
	}
	cs, _, err := s.eng.Customers(r.Context(), acct, f)
	if err != nil {
		return err
	}
	out := make([]customerResponse, 0, len(cs))
	for _, cus := range cs {
		out = append(out, customerOf(cus))
	}
	return api.JSON(w, http.StatusOK, out)
}

// getCustomer answers GET …/users/{customer_id}.
func (s *server) getCustomer(w http.ResponseWriter, r *http.Request, c *caller) error {
	cus, err := s.customer(r.Context(), c.Account.ID, "customer_id", r.PathValue("customer_id"))
	if err != nil {
		return err
	}
	return api.JSON(w, http.StatusOK, customerOf(cus))
}

// updateCustomer answers PUT …/users/{customer_id}: fields left out stay
// as they are; metadata is merged, a key set to null removed, and metadata
// null clears it. customer_id is not changed here (Dintero changes it at
// …/change_customer_id, which kassa does not serve).
func (s *server) updateCustomer(w http.ResponseWriter, r *http.Request, c *caller) error {
	acct := c.Account.ID
	cus, err := s.customer(r.Context(), acct, "customer_id", r.PathValue("customer_id"))
	if err != nil {
		return err
	}
	var in customerRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.CustomerID != nil {
		return fieldError("customer_id", payment.CodeParameterUnknown, "customer_id cannot be changed by an update.")
	}
	md, err := customerMetadata(&in, cus)
	if err != nil {
		return err
	}
	u := engine.CustomerUpdate{Email: in.Email, Phone: in.PhoneNumber, Metadata: md}
	if in.FirstName != nil || in.LastName != nil {
		first, last := splitName(cus)
		if in.FirstName != nil {
			first = *in.FirstName
		}
		if in.LastName != nil {
			last = *in.LastName
		}
		name := joinName(first, last)
		u.Name = &name
	}
	cus, err = s.eng.UpdateCustomer(r.Context(), acct, cus.ID, u)
	if err != nil {
		if errors.Is(err, payment.ErrNotFound) {
			return errCustomerMissing
		}
		return customerError(err)
	}
	return api.JSON(w, http.StatusOK, customerOf(cus))
}

// deleteCustomer answers DELETE …/users/{customer_id}: kassa's delete,
// which also deletes the customer's tokens and redacts its payment methods
// whatever delete_tokens says (it is accepted and checked to be a boolean).
// The answer is the deleted customer as Dintero shows one: ids, times and
// who deleted it.
func (s *server) deleteCustomer(w http.ResponseWriter, r *http.Request, c *caller) error {
	q := r.URL.Query()
	if err := onlyParams(q, "delete_tokens"); err != nil {
		return err
	}
	if _, err := boolParam(q, "delete_tokens"); err != nil {
		return err
	}
	cus, err := s.customer(r.Context(), c.Account.ID, "customer_id", r.PathValue("customer_id"))
	if err != nil {
		return err
	}
	cus, err = s.eng.DeleteCustomer(r.Context(), c.Principal, cus.ID)
	if err != nil {
		if errors.Is(err, payment.ErrNotFound) {
			return errCustomerMissing
		}
		return err
	}
	full := customerOf(cus)
	return api.JSON(w, http.StatusOK, customerResponse{ID: full.ID, CustomerID: full.CustomerID, Type: full.Type,
		CreatedAt: full.CreatedAt, UpdatedAt: full.UpdatedAt, DeletedAt: cus.DeletedAt, DeletedBy: c.Key.ID})
}

// createToken answers POST …/users/{customer_id}/tokens: 201 and the
// token. delete_token_events asks Dintero to delete the token events
// recorded on the token's type and value first; kassa records no token
// events, so there are none to delete (ADR 0023), and the parameter is only
// checked to be a boolean.
func (s *server) createToken(w http.ResponseWriter, r *http.Request, c *caller) error {
	q := r.URL.Query()
	if err := onlyParams(q, "delete_token_events"); err != nil {
		return err
	}
	if _, err := boolParam(q, "delete_token_events"); err != nil {
		return err
	}
	cus, err := s.customer(r.Context(), c.Account.ID, "customer_id", r.PathValue("customer_id"))
	if err != nil {
		return err
	}
	var in tokenRequestBody
	if err := decode(r, &in); err != nil {
		return err
	}
	md, typed, err := userMetadata(in.Metadata)
	if err != nil {
		return err
	}
	if len(typed) > 0 {
		md[typedKey] = typedList(typed)
	}
	t, err := s.eng.CreateCustomerToken(r.Context(), c.Principal, cus.ID, engine.CustomerTokenInput{Type: in.Type,
		Value: in.Value, TokenID: in.TokenID, Metadata: md})
	if err != nil {
		if errors.Is(err, payment.ErrNotFound) {
			return errCustomerMissing
		}
		if e, ok := payment.AsError(err); ok && e.Kind == payment.KindConflict {
			return fieldError("token_id", e.Code, "The customer has a token with this token_id; delete it first or choose another.")
		}
		return err
	}
	return api.JSON(w, http.StatusCreated, tokenOf(t))
}

// listTokens answers GET …/users/{customer_id}/tokens: a JSON array,
// newest first. Query: type, limit (1–100, 10), starting_after (the
// token_id the previous page ended with), include_deleted (false).
func (s *server) listTokens(w http.ResponseWriter, r *http.Request, c *caller) error {
	q := r.URL.Query()
	if err := onlyParams(q, "type", "limit", "starting_after", "include_deleted"); err != nil {
		return err
	}
	limit, err := listLimit(q)
	if err != nil {
		return err
	}
	withDeleted, err := boolParam(q, "include_deleted")
	if err != nil {
		return err
	}
	acct := c.Account.ID
	cus, err := s.customer(r.Context(), acct, "customer_id", r.PathValue("customer_id"))
	if err != nil {
		return err
	}
	// A customer has few tokens: read them all, then filter and page here,
	// where the filters are.
	var all []*payment.CustomerToken
	lp := payment.ListParams{Limit: 100}
	for {
		page, more, err := s.eng.CustomerTokens(r.Context(), acct, cus.ID, lp)
		if err != nil {
			if errors.Is(err, payment.ErrNotFound) {
				return errCustomerMissing
			}
			return err
		}
		all = append(all, page...)
		if !more || len(page) == 0 {
			break
		}
		lp.StartingAfter = page[len(page)-1].ID
	}
	after, typ := q.Get("starting_after"), q.Get("type")
	started := after == ""
	out := []customerToken{}
	for _, t := range all {
		if !started {
			started = t.TokenID == after
			continue
		}
		if (t.DeletedAt != nil && !withDeleted) || (typ != "" && t.Type != typ) {
			continue
		}
		if len(out) == limit {
			break
		}
		out = append(out, tokenOf(t))
	}
	if !started {
		return fieldError("starting_after", payment.CodeParameterInvalid, "starting_after must be the token_id of a token of this customer.")
	}
	return api.JSON(w, http.StatusOK, out)
}

// deleteToken answers DELETE …/users/{customer_id}/tokens/{token_id}: the
// token, deleted softly (deleted_at, deleted_by).
func (s *server) deleteToken(w http.ResponseWriter, r *http.Request, c *caller) error {
	cus, err := s.customer(r.Context(), c.Account.ID, "customer_id", r.PathValue("customer_id"))
	if err != nil {
		return err
	}
	tid := r.PathValue("token_id")
	if err := engine.CheckDinteroID("token_id", tid); err != nil {
		return err
	}
	t, err := s.eng.DeleteCustomerToken(r.Context(), c.Principal, cus.ID, tid)
	if err != nil {
		if e, ok := payment.AsError(err); ok && e.Param == "token_id" || errors.Is(err, payment.ErrNotFound) {
			return errTokenMissing
		}
		return err
	}
	return api.JSON(w, http.StatusOK, tokenOf(t))
}

// customer is the account's customer a Dintero customer_id names: the one
// whose external id it is or, for a customer made without one (through
// kassa's own API), the one whose kassa id it is. param names where the id
// came from, for the 400 of an id that is not of Dintero's form.
func (s *server) customer(ctx context.Context, acct, param, cid string) (*payment.Customer, error) {
	if err := engine.CheckDinteroID(param, cid); err != nil {
		return nil, err
	}
	cs, _, err := s.eng.Customers(ctx, acct, payment.CustomerFilter{ExternalID: cid, ListParams: payment.ListParams{Limit: 1}})
	if err != nil {
		return nil, err
	}
	if len(cs) == 1 {
		return cs[0], nil
	}
	if strings.HasPrefix(cid, payment.PrefixCustomer+"_") {
		cus, err := s.eng.Customer(ctx, acct, cid)
		switch {
		case err == nil && cus.ExternalID == "":
			return cus, nil
		case err != nil && !errors.Is(err, payment.ErrNotFound):
			return nil, err
		}
	}
	return nil, errCustomerMissing
}

// customerError names an engine error's field as Dintero does: kassa's
// external_id is customer_id, phone phone_number, name first_name, and a
// kept field's metadata key the field. A customer_id another customer has
// is Dintero's 400 "duplicate field".
func customerError(err error) error {
	e, ok := payment.AsError(err)
	if !ok {
		return err
	}
	if e.Kind == payment.KindConflict {
		return fieldError("customer_id", e.Code, "Another customer of this account has this customer_id.")
	}
	param := e.Param
	switch {
	case param == "external_id":
		param = "customer_id"
	case param == "phone":
		param = "phone_number"
	case param == "name":
		param = "first_name"
	case strings.HasPrefix(param, "metadata."+reservedPrefix):
		param = strings.TrimPrefix(param, "metadata."+reservedPrefix)
	}
	if param == e.Param {
		return err
	}
	c := *e
	c.Param = param
	c.Message = strings.ReplaceAll(c.Message, e.Param, param)
	return &c
}

// customerMetadata checks the Dintero fields of in that kassa keeps in
// metadata and returns the metadata to store: on create all of it, on
// update (cur set) the changes to merge, "" removing a key.
func customerMetadata(in *customerRequest, cur *payment.Customer) (map[string]string, error) {
	for _, f := range []struct {
		name string
		v    *string
	}{{"password", in.Password}, {"pin", in.Pin}} {
		if f.v != nil {
			return nil, fieldError(f.name, payment.CodeParameterUnknown, "%s is not supported: kassa keeps no customer logins.", f.name)
		}
	}
	if in.PhoneNumber != nil && *in.PhoneNumber != "" && !e164.MatchString(*in.PhoneNumber) {
		if err := engine.CheckNoCardNumber("phone_number", *in.PhoneNumber); err != nil {
			return nil, err
		}
		return nil, fieldError("phone_number", payment.CodeParameterInvalid, "phone_number must be in E.164 format, like +4799999999.")
	}
	md := map[string]string{}
	text := in.text()
	for _, name := range extraText {
		v := text[name]
		if v == nil {
			continue
		}
		if err := checkExtraText(name, *v); err != nil {
			return nil, err
		}
		md[reservedPrefix+name] = *v
	}
	js := in.json()
	for _, f := range extraJSON {
		raw := js[f.name]
		if raw == nil {
			continue
		}
		v, err := checkExtraJSON(f.name, raw, f.array)
		if err != nil {
			return nil, err
		}
		md[reservedPrefix+f.name] = v
	}
	if in.Metadata == nil {
		return md, nil
	}
	var curTyped []string
	if cur != nil {
		curTyped = typedKeys(cur.Metadata)
	}
	if bytes.Equal(bytes.TrimSpace(in.Metadata), []byte("null")) {
		// Clear every key of the client's own.
		if cur != nil {
			for k := range cur.Metadata {
				if !strings.HasPrefix(k, reservedPrefix) {
					md[k] = ""
				}
			}
			if len(curTyped) > 0 {
				md[typedKey] = ""
			}
		}
		return md, nil
	}
	user, typed, err := userMetadata(in.Metadata)
	if err != nil {
		return nil, err
	}
	for k, v := range user {
		md[k] = v
	}
	// The typed keys after the merge: those kept that stay typed, and the
	// new ones.
	set := map[string]bool{}
	for _, k := range curTyped {
		if _, changed := user[k]; !changed {
			set[k] = true
		}
	}
	for _, k := range typed {
		set[k] = true
	}
	if len(set) > 0 || len(curTyped) > 0 {
		md[typedKey] = typedList(sortedKeys(set))
	}
	return md, nil
}

// checkExtraText checks a Dintero text field kassa keeps in metadata.
func checkExtraText(name, v string) error {
	if err := checkFreeText(name, v, maxExtraText); err != nil {
		return err
	}
	switch {
	case name == "type" && !containsString(customerTypes, v):
		return fieldError(name, payment.CodeParameterInvalid, "type must be one of %s.", strings.Join(customerTypes, ", "))
	case name == "date_of_birth" && v != "":
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			return fieldError(name, payment.CodeParameterInvalid, "date_of_birth must be a date like 1990-09-20.")
		}
	}
	return nil
}

// checkExtraJSON checks a structured Dintero field kassa keeps in metadata
// and returns its compact JSON text ("" for null: the field removed).
func checkExtraJSON(name string, raw json.RawMessage, array bool) (string, error) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return "", nil
	}
	v, err := parseJSON(raw)
	if err != nil {
		return "", fieldError(name, payment.CodeParameterInvalid, "%s must be valid JSON.", name)
	}
	_, isArray := v.([]any)
	_, isObject := v.(map[string]any)
	if array && !isArray || !array && !isObject {
		kind := "an object"
		if array {
			kind = "an array"
		}
		return "", fieldError(name, payment.CodeParameterInvalid, "%s must be %s.", name, kind)
	}
	if err := checkJSONText(name, v); err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return "", fieldError(name, payment.CodeParameterInvalid, "%s must be valid JSON.", name)
	}
	if buf.Len() > maxExtraJSON {
		return "", fieldError(name, payment.CodeParameterInvalid, "%s may hold at most %d bytes of JSON in kassa.", name, maxExtraJSON)
	}
	return buf.String(), nil
}

// userMetadata checks a client's metadata object and returns it as kassa's
// metadata: strings as they are, other values as their JSON text (their
// keys in typed); null values as "" (removed on update).
func userMetadata(raw json.RawMessage) (map[string]string, []string, error) {
	md := map[string]string{}
	if raw == nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return md, nil, nil
	}
	v, err := parseJSON(raw)
	obj, ok := v.(map[string]any)
	if err != nil || !ok {
		return nil, nil, fieldError("metadata", payment.CodeParameterInvalid, "metadata must be an object.")
	}
	var typed []string
	for k, val := range obj {
		if strings.HasPrefix(k, reservedPrefix) {
			return nil, nil, fieldError("metadata", payment.CodeParameterInvalid, "metadata keys beginning with %q are kassa's.", reservedPrefix)
		}
		if err := checkJSONText("metadata", k); err != nil {
			return nil, nil, err
		}
		path := "metadata." + k
		if api.SafeParam(path) != path {
			path = "metadata"
		}
		if err := checkJSONText(path, val); err != nil {
			return nil, nil, err
		}
		switch x := val.(type) {
		case nil:
			md[k] = ""
		case string:
			md[k] = x
		default:
			b, err := json.Marshal(x)
			if err != nil {
				return nil, nil, fieldError(path, payment.CodeParameterInvalid, "%s must be JSON.", path)
			}
			md[k] = string(b)
			typed = append(typed, k)
		}
	}
	sort.Strings(typed)
	return md, typed, nil
}

// parseJSON decodes raw keeping numbers as sent.
func parseJSON(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// checkJSONText refuses a card number anywhere in v — a string, a number
// or an object key — naming the path of the value it is in.
func checkJSONText(path string, v any) error {
	switch x := v.(type) {
	case string:
		return checkFreeText(path, x, 1<<20)
	case json.Number:
		return engine.CheckNoCardNumber(path, x.String())
	case []any:
		for i, e := range x {
			if err := checkJSONText(fmt.Sprintf("%s[%d]", path, i), e); err != nil {
				return err
			}
		}
	case map[string]any:
		for k, e := range x {
			if err := engine.CheckNoCardNumber(path, k); err != nil {
				return err
			}
			sub := path + "." + k
			if api.SafeParam(sub) != sub {
				sub = path
			}
			if err := checkJSONText(sub, e); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkFreeText is kassa's rule for free text: valid UTF-8, no control
// characters, at most max bytes, no card number.
func checkFreeText(param, s string, max int) error {
	if len(s) > max {
		return fieldError(param, payment.CodeParameterInvalid, "%s must be at most %d characters.", param, max)
	}
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fieldError(param, payment.CodeParameterInvalid, "%s must be printable UTF-8 text.", param)
	}
	return engine.CheckNoCardNumber(param, s)
}

// customerOf is Dintero's view of a kassa customer.
func customerOf(c *payment.Customer) customerResponse {
	out := customerResponse{ID: DinteroUUID(c.ID), CustomerID: c.ExternalID, Email: c.Email, PhoneNumber: c.Phone,
		Type: "customer", CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, DeletedAt: c.DeletedAt}
	if out.CustomerID == "" {
		out.CustomerID = c.ID
	}
	out.FirstName, out.LastName = splitName(c)
	md := c.Metadata
	if t := md[reservedPrefix+"type"]; t != "" {
		out.Type = t
	}
	out.Status, out.Gender = md[reservedPrefix+"status"], md[reservedPrefix+"gender"]
	out.DateOfBirth, out.FavoriteStore = md[reservedPrefix+"date_of_birth"], md[reservedPrefix+"favorite_store"]
	raw := func(name string) json.RawMessage {
		if v := md[reservedPrefix+name]; v != "" && json.Valid([]byte(v)) {
			return json.RawMessage(v)
		}
		return nil
	}
	out.Attributes, out.Addresses, out.Company = raw("attributes"), raw("addresses"), raw("company")
	out.EnrolledBy, out.MarketingConsent, out.Term = raw("enrolled_by"), raw("marketing_consent"), raw("term")
	out.Metadata = metadataOf(md)
	return out
}

// tokenOf is Dintero's view of a kassa customer token.
func tokenOf(t *payment.CustomerToken) customerToken {
	return customerToken{Type: t.Type, Value: t.Value, ID: DinteroUUID(t.ID), TokenID: t.TokenID,
		Metadata: metadataOf(t.Metadata), CreatedAt: t.CreatedAt, CreatedBy: t.CreatedBy, UpdatedAt: t.UpdatedAt,
		DeletedAt: t.DeletedAt, DeletedBy: t.DeletedBy}
}

// metadataOf is the client's metadata of a kassa metadata map: without
// kassa's reserved keys, typed values as the JSON they were sent as.
func metadataOf(md map[string]string) map[string]any {
	typed := map[string]bool{}
	for _, k := range typedKeys(md) {
		typed[k] = true
	}
	out := map[string]any{}
	for k, v := range md {
		if strings.HasPrefix(k, reservedPrefix) {
			continue
		}
		if typed[k] && json.Valid([]byte(v)) {
			out[k] = json.RawMessage(v)
		} else {
			out[k] = v
		}
	}
	return out
}

func typedKeys(md map[string]string) []string {
	var keys []string
	if v := md[typedKey]; v != "" {
		_ = json.Unmarshal([]byte(v), &keys) // a list changed by hand is ignored
	}
	return keys
}

func typedList(keys []string) string {
	if len(keys) == 0 {
		return ""
	}
	b, _ := json.Marshal(keys)
	return string(b)
}

// joinName is kassa's name of a Dintero first and last name.
func joinName(first, last string) string {
	return strings.TrimSpace(first + " " + last)
}

// splitName is the first and last name of a customer: those kept when they
// still make its name, else the whole name as first_name (it was changed
// through kassa's own API).
func splitName(c *payment.Customer) (string, string) {
	first, last := c.Metadata[reservedPrefix+"first_name"], c.Metadata[reservedPrefix+"last_name"]
	if joinName(first, last) == c.Name {
		return first, last
	}
	return c.Name, ""
}

// onlyParams refuses a query parameter other than allowed, naming it:
// a filter kassa does not apply must not look applied.
func onlyParams(q map[string][]string, allowed ...string) error {
	for k, vs := range q {
		if !containsString(allowed, k) {
			name := api.SafeParam(k)
			if name == "" || name != k {
				name = "query"
			}
			return fieldError(name, payment.CodeParameterUnknown, "The query parameter %s is not supported.", name)
		}
		if len(vs) > 1 {
			return fieldError(k, payment.CodeParameterInvalid, "%s may be given once.", k)
		}
	}
	return nil
}

// listLimit is Dintero's limit: 1 to 100, 10 when not given.
func listLimit(q map[string][]string) (int, error) {
	v := queryValue(q, "limit")
	if v == "" {
		return 10, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100 {
		return 0, fieldError("limit", payment.CodeParameterInvalid, "limit must be an integer from 1 to 100.")
	}
	return n, nil
}

// boolParam is a boolean query parameter, false when not given.
func boolParam(q map[string][]string, name string) (bool, error) {
	switch queryValue(q, name) {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, fieldError(name, payment.CodeParameterInvalid, "%s must be true or false.", name)
}

// falseOnly is a boolean query parameter kassa supports only as false.
func falseOnly(q map[string][]string, name, why string) error {
	v, err := boolParam(q, name)
	if err == nil && v {
		return fieldError(name, payment.CodeParameterInvalid, "%s=true is not supported: %s", name, why)
	}
	return err
}

func queryValue(q map[string][]string, name string) string {
	if vs := q[name]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func sortedKeys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
