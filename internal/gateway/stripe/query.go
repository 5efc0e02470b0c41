package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/payment"
)

// recentWindow is how far back QueryStatus lists PaymentIntents, a read
// that is strongly consistent. Stripe's search lags writes by under a
// minute normally and "up to an hour" during outages, so an operation older
// than the window is found by search and a younger one by the list.
const recentWindow = 2 * 60 * 60 // seconds

// listPages bounds the pages (of 100) of recent PaymentIntents read; an
// account busier than that within recentWindow gets an unknown answer
// rather than a wrong "not found".
const listPages = 10

// QueryStatus finds out what became of operation r.Reference:
//
//   - authorize, purchase: the PaymentIntent whose metadata[kassa_operation]
//     is the reference, looked for among the PaymentIntents created within
//     the last two hours (GET /v1/payment_intents, consistent) and by search
//     (GET /v1/payment_intents/search, which lags); none is
//     ErrReferenceNotFound (Stripe creates the PaymentIntent for every
//     confirmation it accepts, declines included).
//   - capture, void: the PaymentIntent r.PriorReference. Captured with this
//     operation's id in metadata[kassa_capture], or canceled, is succeeded;
//     still requires_capture (or, for a void, captured; for a capture,
//     canceled) means the operation did not happen: ErrReferenceNotFound.
//   - refund: the refunds of r.PriorReference (GET /v1/refunds,
//     consistent), matched by metadata[kassa_operation].
//   - verify: SetupIntents cannot be searched: unknown.
//
// A failed read gives an unknown Result.
func (a *Adapter) QueryStatus(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	c, err := a.start(r, false)
	if err != nil || c.done != nil {
		if err == nil {
			// A key of the wrong mode cannot ask: the engine tries again.
			out := *c.done
			out.Outcome = payment.OutcomeUnknown
			return out, nil
		}
		return gateway.Result{}, err
	}
	switch r.Kind {
	case payment.OpAuthorize, payment.OpPurchase:
		return c.queryPayment(ctx, r)
	case payment.OpCapture, payment.OpVoid:
		return c.queryFollowUp(ctx, r)
	case payment.OpRefund:
		return c.queryRefund(ctx, r)
	}
	return c.finish(gateway.Result{Outcome: payment.OutcomeUnknown,
		Message: "Stripe cannot be asked about a " + string(r.Kind) + " operation."}), nil
}

func (c *call) queryPayment(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	// Recent PaymentIntents first: the list is consistent.
	q := url.Values{}
	q.Set("limit", "100")
	q.Set("created[gte]", strconv.FormatInt(c.a.now().Unix()-recentWindow, 10))
	q.Add("expand[]", "data.latest_charge")
	complete := false
	for range listPages {
		res := c.get(ctx, "/v1/payment_intents", q)
		if res.done {
			return c.finish(unknownRead(res.out)), nil
		}
		page, ok := decode[list[paymentIntent]](res.body)
		if !ok {
			return c.finish(unreadable()), nil
		}
		for i := range page.Data {
			if pi := &page.Data[i]; pi.Metadata["kassa_operation"] == r.Reference {
				return c.finish(pi.result()), nil
			}
		}
		if !page.HasMore || len(page.Data) == 0 {
			complete = true
			break
		}
		q.Set("starting_after", page.Data[len(page.Data)-1].ID)
	}
	// Older ones by search.
	s := url.Values{}
	s.Set("query", "metadata['kassa_operation']:'"+searchEscape(r.Reference)+"'")
	s.Add("expand[]", "data.latest_charge")
	res := c.get(ctx, "/v1/payment_intents/search", s)
	if res.done {
		return c.finish(unknownRead(res.out)), nil
	}
	page, ok := decode[list[paymentIntent]](res.body)
	if !ok {
		return c.finish(unreadable()), nil
	}
	for i := range page.Data {
		if pi := &page.Data[i]; pi.Metadata["kassa_operation"] == r.Reference {
			return c.finish(pi.result()), nil
		}
	}
	if !complete {
		return c.finish(gateway.Result{Outcome: payment.OutcomeUnknown,
			Message: "Too many recent PaymentIntents at Stripe to be sure this operation is not among them."}), nil
	}
	return gateway.Result{}, fmt.Errorf("stripe: no PaymentIntent for %s: %w", r.Reference, gateway.ErrReferenceNotFound)
}

func (c *call) queryFollowUp(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	if r.PriorReference == "" {
		return c.finish(gateway.Result{Outcome: payment.OutcomeUnknown,
			Message: "The PaymentIntent of the " + string(r.Kind) + " is not known."}), nil
	}
	q := url.Values{}
	q.Add("expand[]", "latest_charge")
	res := c.get(ctx, "/v1/payment_intents/"+url.PathEscape(r.PriorReference), q)
	if res.done {
		return c.finish(unknownRead(res.out)), nil
	}
	pi, ok := decode[paymentIntent](res.body)
	if !ok {
		return c.finish(unreadable()), nil
	}
	notFound := fmt.Errorf("stripe: PaymentIntent %s is %s: %w", pi.ID, pi.Status, gateway.ErrReferenceNotFound)
	switch {
	case r.Kind == payment.OpVoid && pi.Status == "canceled":
		return c.finish(gateway.Result{Outcome: payment.OutcomeSucceeded, GatewayReference: pi.ID,
			ResponseCode: pi.Status, Message: "The PaymentIntent was canceled."}), nil
	case r.Kind == payment.OpCapture && pi.Status == "succeeded":
		if pi.Metadata["kassa_capture"] != r.Reference {
			return c.finish(gateway.Result{Outcome: payment.OutcomeUnknown, GatewayReference: pi.ID,
				ResponseCode: pi.Status, Message: "The PaymentIntent was captured, but not by this operation."}), nil
		}
		out := pi.result()
		return c.finish(out), nil
	case pi.Status == "processing":
		return c.finish(gateway.Result{Outcome: payment.OutcomeUnknown, GatewayReference: pi.ID,
			ResponseCode: pi.Status, Message: "Stripe is still processing the PaymentIntent."}), nil
	}
	return gateway.Result{}, notFound
}

func (c *call) queryRefund(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	if r.PriorReference == "" {
		return c.finish(gateway.Result{Outcome: payment.OutcomeUnknown,
			Message: "The PaymentIntent of the refund is not known."}), nil
	}
	q := url.Values{}
	q.Set("payment_intent", r.PriorReference)
	q.Set("limit", "100")
	for range listPages {
		res := c.get(ctx, "/v1/refunds", q)
		if res.done {
			return c.finish(unknownRead(res.out)), nil
		}
		page, ok := decode[list[refund]](res.body)
		if !ok {
			return c.finish(unreadable()), nil
		}
		for i := range page.Data {
			if rf := &page.Data[i]; rf.Metadata["kassa_operation"] == r.Reference {
				return c.finish(rf.result()), nil
			}
		}
		if !page.HasMore || len(page.Data) == 0 {
			return gateway.Result{}, fmt.Errorf("stripe: no refund for %s: %w", r.Reference, gateway.ErrReferenceNotFound)
		}
		q.Set("starting_after", page.Data[len(page.Data)-1].ID)
	}
	return c.finish(gateway.Result{Outcome: payment.OutcomeUnknown,
		Message: "Too many refunds of the PaymentIntent to look through."}), nil
}

// searchEscape escapes a value for a single-quoted string of Stripe's
// search query language.
func searchEscape(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' || s[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return string(b)
}

// unknownRead turns the result of a failed read into an unknown one: a
// status query that fails says nothing about the operation.
func unknownRead(out gateway.Result) gateway.Result {
	return gateway.Result{Outcome: payment.OutcomeUnknown,
		Message: "The status query failed: " + out.Message}
}

func unreadable() gateway.Result {
	return gateway.Result{Outcome: payment.OutcomeUnknown, Message: "Stripe's answer to the status query could not be read."}
}

// CheckCredentials checks that the secret key suits the gateway's mode and
// that Stripe accepts it: GET /v1/payment_intents?limit=1. A 401 or 403 is a
// *payment.Error naming secret_key; other failures mean it could not tell.
func (a *Adapter) CheckCredentials(ctx context.Context, cfg gateway.Config) error {
	if perr := keyMode(cfg.Credentials["secret_key"], cfg.Sandbox); perr != nil {
		return perr
	}
	c := &call{a: a, base: baseURL(cfg), key: cfg.Credentials["secret_key"],
		scrub: gateway.NewScrubber(nil, cfg.Credentials)}
	q := url.Values{}
	q.Set("limit", "1")
	res := c.get(ctx, "/v1/payment_intents", q)
	if !res.done {
		return nil
	}
	if res.out.DeclineCode == CodeInvalidCredentials {
		return &payment.Error{Kind: payment.KindInvalid, Code: CodeInvalidCredentials, Param: "secret_key",
			Message: "Stripe refused the secret key."}
	}
	return errors.New("stripe: checking credentials: " + c.scrub.String(res.out.Message))
}
