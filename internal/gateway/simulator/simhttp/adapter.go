package simhttp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/gateway/simulator"
	"github.com/kassapay/kassa/internal/netguard"
	"github.com/kassapay/kassa/internal/payment"
)

// Type is the gateway type of the simulator over HTTP.
const Type = "simulator_http"

// SettingBaseURL is the required setting: where `kassa simulator serve`
// listens ("http://127.0.0.1:9090").
const SettingBaseURL = "base_url"

// Options configure an Adapter.
type Options struct {
	// HTTP configures the shared client (timeout, transport, clock).
	HTTP gateway.HTTPOptions
}

// Adapter is gateway type "simulator_http": kassa's side of the wire. The
// simulator account it uses is the kassa gateway's id, so that gateways
// sharing one simulator process keep apart ledgers. It is safe for
// concurrent use.
type Adapter struct {
	client *gateway.HTTPClient
}

var (
	_ gateway.Adapter         = (*Adapter)(nil)
	_ gateway.Authorizer      = (*Adapter)(nil)
	_ gateway.Purchaser       = (*Adapter)(nil)
	_ gateway.Capturer        = (*Adapter)(nil)
	_ gateway.Voider          = (*Adapter)(nil)
	_ gateway.Refunder        = (*Adapter)(nil)
	_ gateway.Verifier        = (*Adapter)(nil)
	_ gateway.Crediter        = (*Adapter)(nil)
	_ gateway.Storer          = (*Adapter)(nil)
	_ gateway.StatusQuerier   = (*Adapter)(nil)
	_ gateway.SettingsChecker = (*Adapter)(nil)
)

// New returns an Adapter. Make one per process and keep it: it holds the
// connection pool.
func New(opts Options) *Adapter {
	return &Adapter{client: gateway.NewHTTPClient(opts.HTTP)}
}

// Spec describes the type: the simulator's, with its own type, name and
// setting. The unknown-outcome grace is the simulator's few seconds too:
// it records a request before it answers, so a status query moments after
// a lost answer tells the truth.
func (a *Adapter) Spec() gateway.Spec {
	spec := simulator.TypeSpec()
	spec.Type, spec.DisplayName = Type, "kassa simulator over HTTP"
	spec.SettingsFields = []gateway.Field{
		{Name: SettingBaseURL, Label: "URL of `kassa simulator serve` (http://host:port)", Kind: gateway.KindString, Required: true, URL: true},
	}
	return spec
}

// CheckSettings requires base_url to be an http or https URL of a host,
// without credentials, query or fragment.
func (a *Adapter) CheckSettings(settings map[string]any) error {
	param := "settings." + SettingBaseURL
	s, _ := settings[SettingBaseURL].(string)
	if s == "" {
		return payment.Missing(param)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return payment.Invalid(payment.CodeParameterInvalid, param,
			"%s must be the http:// or https:// URL of a running `kassa simulator serve`.", param)
	}
	if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return payment.Invalid(payment.CodeParameterInvalid, param,
			"%s must hold no user, query or fragment.", param)
	}
	return nil
}

// Authorize reserves r.Amount on r.Card.
func (a *Adapter) Authorize(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	return a.run(ctx, payment.OpAuthorize, r)
}

// Purchase authorizes and captures r.Amount on r.Card.
func (a *Adapter) Purchase(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	return a.run(ctx, payment.OpPurchase, r)
}

// Capture captures r.Amount of r.PriorReference.
func (a *Adapter) Capture(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	return a.run(ctx, payment.OpCapture, r)
}

// Void releases what is left of r.PriorReference.
func (a *Adapter) Void(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	return a.run(ctx, payment.OpVoid, r)
}

// Refund refunds r.Amount of r.PriorReference.
func (a *Adapter) Refund(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	return a.run(ctx, payment.OpRefund, r)
}

// Verify checks r.Card.
func (a *Adapter) Verify(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	return a.run(ctx, payment.OpVerify, r)
}

// Credit pays r.Amount out to r.Card.
func (a *Adapter) Credit(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	return a.run(ctx, payment.OpCredit, r)
}

// Store keeps r.Card at the simulator.
func (a *Adapter) Store(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	return a.run(ctx, payment.OpStore, r)
}

// run sends one operation. Outcomes: the answer's status when the HTTP
// status agrees with it (200 succeeded, 402 declined, 422 failed, 503
// not_sent); a 400 is failed (the simulator refused the request unread);
// a refused connection is not sent; anything else — a timeout, a reset or
// a close after the request was written, an answer kassa cannot read — is
// unknown, for the reconciler's status query to settle.
func (a *Adapter) run(ctx context.Context, kind payment.OperationKind, r *gateway.Request) (gateway.Result, error) {
	if r == nil {
		return gateway.Result{}, errors.New("simhttp: nil request")
	}
	in := OperationRequest{Reference: r.Reference, Amount: r.Amount, Currency: r.Currency,
		PriorReference: r.PriorReference, GatewaySpecificFields: r.GatewaySpecificFields}
	if c := r.Card; c != nil {
		in.Card = &Card{Number: c.Number, CVC: c.CVC, ExpMonth: c.ExpMonth, ExpYear: c.ExpYear, HolderName: c.HolderName}
	}
	body, err := json.Marshal(in)
	if err != nil {
		return gateway.Result{}, fmt.Errorf("simhttp: encode the request: %w", err)
	}
	c := a.start(r)
	resp, err := c.do(ctx, http.MethodPost, "/"+string(kind), r.Reference, body)
	if err != nil {
		return c.finish(netResult(err)), nil
	}
	var ans Answer
	decodeErr := json.Unmarshal(resp.Body, &ans)
	switch {
	case resp.Status == http.StatusBadRequest:
		return c.finish(gateway.Result{Outcome: payment.OutcomeFailed, DeclineCode: CodeInvalidRequest,
			Message: "The simulator refused the request: " + errorMessage(resp.Body)}), nil
	case decodeErr == nil && agrees(ans, resp.Status, true):
		return c.finish(resultOf(ans)), nil
	}
	return c.finish(gateway.Result{Outcome: payment.OutcomeUnknown,
		Message: fmt.Sprintf("The simulator answered HTTP %d, which says nothing certain.", resp.Status)}), nil
}

// QueryStatus asks the simulator what became of r.Reference. It returns
// ErrReferenceNotFound only on a 404 whose body says reference_not_found:
// a bare 404 may come from anything at a wrong base_url.
func (a *Adapter) QueryStatus(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	if r == nil {
		return gateway.Result{}, errors.New("simhttp: nil request")
	}
	c := a.start(r)
	resp, err := c.do(ctx, http.MethodGet, "/operations/"+url.PathEscape(r.Reference), "", nil)
	if err != nil {
		res := netResult(err)
		res.Outcome = payment.OutcomeUnknown // a query that did not happen tells nothing
		return c.finish(res), nil
	}
	if resp.Status == http.StatusNotFound {
		var eb ErrorBody
		if json.Unmarshal(resp.Body, &eb) == nil && eb.Error.Code == CodeReferenceNotFound {
			return gateway.Result{}, fmt.Errorf("simhttp: %w", gateway.ErrReferenceNotFound)
		}
	}
	var ans Answer
	if json.Unmarshal(resp.Body, &ans) == nil && agrees(ans, resp.Status, false) {
		return c.finish(resultOf(ans)), nil
	}
	return c.finish(gateway.Result{Outcome: payment.OutcomeUnknown,
		Message: fmt.Sprintf("The simulator's status query answered HTTP %d.", resp.Status)}), nil
}

// call is one operation's exchanges.
type call struct {
	a       *Adapter
	base    string
	account string
	auth    string
	live    bool // the account's mode: public addresses only
	scrub   *gateway.Scrubber
	tr      gateway.Transcript
}

func (a *Adapter) start(r *gateway.Request) *call {
	base, _ := r.Config.Settings[SettingBaseURL].(string)
	c := &call{a: a, base: strings.TrimRight(base, "/"), account: r.Config.GatewayID, live: r.Config.Live,
		scrub: gateway.NewScrubber(r.Card, r.Config.Credentials)}
	if login, pw := r.Config.Credentials["login"], r.Config.Credentials["password"]; login != "" || pw != "" {
		c.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(login+":"+pw))
	}
	return c
}

// do sends one request to path under the account. A base_url that makes no
// request is not sent.
func (c *call) do(ctx context.Context, method, path, idemKey string, body []byte) (*gateway.HTTPResponse, error) {
	u := c.base + "/v1/accounts/" + url.PathEscape(c.account) + path
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, &gateway.NetError{Sent: false, Err: errors.New("simhttp: base_url is not a valid URL")}
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	resp, ex, err := c.a.client.Do(ctx, c.live, req, body, c.scrub)
	c.tr.Add(ex)
	return resp, err
}

// finish attaches the transcript and scrubs the message, which may quote
// the simulator's.
func (c *call) finish(res gateway.Result) gateway.Result {
	res.Message = c.scrub.String(res.Message)
	if len(c.tr.Exchanges) > 0 {
		tr := c.tr
		res.Transcript = &tr
	}
	return res
}

// netResult is the Result of a call that brought no answer.
func netResult(err error) gateway.Result {
	if errors.Is(err, netguard.ErrNotPublic) {
		// Not an outage: the gateway points inside kassa's network.
		return gateway.Result{Outcome: payment.OutcomeNotSent,
			Message: "Not sent: the base_url's address is not public; a live account's gateway reaches only public addresses."}
	}
	if gateway.ClassifyNetError(err) == payment.OutcomeNotSent {
		return gateway.Result{Outcome: payment.OutcomeNotSent, Message: "Not sent: the simulator could not be reached."}
	}
	return gateway.Result{Outcome: payment.OutcomeUnknown, Message: "No answer from the simulator after the request was sent."}
}

// agrees reports whether an answer's status is a final outcome (not_sent
// only if notSent) that its HTTP status confirms: anything else kassa does
// not take for certain.
func agrees(a Answer, httpStatus int, notSent bool) bool {
	switch a.Status {
	case payment.OutcomeSucceeded, payment.OutcomeDeclined, payment.OutcomeFailed:
	case payment.OutcomeNotSent:
		if !notSent {
			return false
		}
	default:
		return false
	}
	return statusOf(a.Status) == httpStatus
}

func resultOf(a Answer) gateway.Result {
	return gateway.Result{Outcome: a.Status, GatewayReference: a.ID, ResponseCode: a.ResponseCode, Message: a.Message,
		DeclineCode: a.DeclineCode, AVSCode: a.AVSResult, CVVCode: a.CVCResult, NetworkTransactionID: a.NetworkTransactionID}
}

// errorMessage is the message of an ErrorBody, or a placeholder.
func errorMessage(body []byte) string {
	var eb ErrorBody
	if json.Unmarshal(body, &eb) == nil && eb.Error.Message != "" {
		return eb.Error.Message
	}
	return "no reason given"
}
