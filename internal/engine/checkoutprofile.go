package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/kassapay/kassa/internal/payment"
)

// maxProfileJSON bounds a profile's url and configuration objects each.
const maxProfileJSON = 64 << 10

// CheckoutProfileInput is a checkout session profile as a merchant writes
// it. URL and Configuration are JSON objects (nil is {}) in the form of the
// dialect that made the profile, which checks their content; the engine
// checks only that they are objects of bounded size holding no card number.
type CheckoutProfileInput struct {
	Name          string
	Description   string
	URL           json.RawMessage
	Configuration json.RawMessage
}

func checkProfile(in CheckoutProfileInput) error {
	if strings.TrimSpace(in.Name) == "" {
		return payment.Missing("name")
	}
	for _, f := range []struct{ param, v string }{{"name", in.Name}, {"description", in.Description}} {
		if err := checkText(f.param, f.v, maxAddressLen); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		param string
		v     json.RawMessage
	}{{"url", in.URL}, {"configuration", in.Configuration}} {
		if len(f.v) == 0 {
			continue
		}
		v := bytes.TrimSpace(f.v)
		if len(v) > maxProfileJSON || !json.Valid(v) || v[0] != '{' {
			return payment.Invalid(payment.CodeParameterInvalid, f.param, "%s must be a JSON object of at most %d bytes.", f.param, maxProfileJSON)
		}
		if err := CheckNoCardNumber(f.param, string(v)); err != nil {
			return err
		}
	}
	return nil
}

// CreateCheckoutProfile stores a new profile of the account.
func (e *Engine) CreateCheckoutProfile(ctx context.Context, accountID string, in CheckoutProfileInput) (*payment.CheckoutProfile, error) {
	if err := checkProfile(in); err != nil {
		return nil, err
	}
	now := e.clock()
	p := &payment.CheckoutProfile{ID: payment.NewID(payment.PrefixCheckoutProfile), AccountID: accountID, Name: in.Name,
		Description: in.Description, URL: compactObject(in.URL), Configuration: compactObject(in.Configuration),
		CreatedAt: now, UpdatedAt: now}
	if err := e.store.CreateCheckoutProfile(ctx, p); err != nil {
		return nil, fmt.Errorf("create checkout profile: %w", err)
	}
	return p, nil
}

// CheckoutProfile returns the account's profile id.
func (e *Engine) CheckoutProfile(ctx context.Context, accountID, id string) (*payment.CheckoutProfile, error) {
	return e.store.CheckoutProfile(ctx, accountID, id)
}

// CheckoutProfiles lists the account's profiles, newest first.
func (e *Engine) CheckoutProfiles(ctx context.Context, accountID string, lp payment.ListParams) ([]*payment.CheckoutProfile, bool, error) {
	return e.store.CheckoutProfiles(ctx, accountID, lp)
}

// UpdateCheckoutProfile replaces the account's profile id with in. Sessions
// made from it before keep what they copied.
func (e *Engine) UpdateCheckoutProfile(ctx context.Context, accountID, id string, in CheckoutProfileInput) (*payment.CheckoutProfile, error) {
	if err := checkProfile(in); err != nil {
		return nil, err
	}
	p := &payment.CheckoutProfile{ID: id, AccountID: accountID, Name: in.Name, Description: in.Description,
		URL: compactObject(in.URL), Configuration: compactObject(in.Configuration), UpdatedAt: e.clock()}
	return e.store.UpdateCheckoutProfile(ctx, p)
}

// DeleteCheckoutProfile deletes the account's profile id.
func (e *Engine) DeleteCheckoutProfile(ctx context.Context, accountID, id string) error {
	return e.store.DeleteCheckoutProfile(ctx, accountID, id)
}

// compactObject is raw without insignificant space, {} when empty.
func compactObject(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage(`{}`)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw // checked valid before: cannot happen
	}
	return b.Bytes()
}

// CheckoutOrder is the order of an open session a merchant replaces
// (Dintero's PUT /v1/sessions/{id}): empty Currency or MerchantReference
// keep the session's.
type CheckoutOrder struct {
	Amount            int64
	Currency          string
	Items             []payment.CheckoutItem
	MerchantReference string
}

// UpdateCheckoutOrder replaces the order of the account's open session id.
// A session whose payment is in flight, that is closed or has expired is a
// conflict: the order a customer is paying for does not change under them.
// The hosted page shows the new order when it next reads the session.
func (e *Engine) UpdateCheckoutOrder(ctx context.Context, accountID, id string, o CheckoutOrder) (*payment.CheckoutSession, error) {
	stored, err := e.store.CheckoutSession(ctx, accountID, id)
	if err != nil {
		return nil, err
	}
	for range 3 {
		cs, pay, err := e.followCheckout(ctx, stored)
		if err != nil {
			return nil, err
		}
		switch {
		case cs.Status != payment.CheckoutOpen:
			return nil, payment.Conflict(payment.CodeInvalidState, "This checkout session is %s; its order cannot change.", cs.Status)
		case pay != nil && (attemptInFlight(pay.Status) || attemptSucceeded(pay.Status)):
			return nil, payment.Conflict(payment.CodeInvalidState,
				"A payment of this checkout session is in flight; its order cannot change until its outcome is known.")
		}
		upd := *cs
		upd.Amount, upd.Items = o.Amount, o.Items
		if upd.Items == nil {
			upd.Items = []payment.CheckoutItem{}
		}
		if o.Currency != "" {
			upd.Currency = o.Currency
		}
		if o.MerchantReference != "" {
			upd.MerchantReference = o.MerchantReference
		}
		if err := ValidateCheckout(CheckoutInput{Amount: upd.Amount, Currency: upd.Currency, Items: upd.Items,
			MerchantReference: upd.MerchantReference, ReturnURL: upd.ReturnURL, GatewayID: upd.GatewayID}); err != nil {
			return nil, err
		}
		upd.UpdatedAt = e.clock()
		out, err := e.store.UpdateCheckoutSessionOrder(ctx, &upd, cs.Attempts)
		if errors.Is(err, payment.ErrStale) {
			if stored, err = e.store.CheckoutSession(ctx, accountID, id); err != nil {
				return nil, err
			}
			continue // an attempt began, or the session closed or expired: look again
		}
		if err != nil {
			return nil, fmt.Errorf("update checkout session %s: %w", id, err)
		}
		return out, nil
	}
	return nil, payment.Conflict(payment.CodeInvalidState, "This checkout session is changing; try again.")
}
