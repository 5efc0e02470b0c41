package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/kassapay/kassa/internal/payment"
)

// UnmarshalObject decodes a JSON object of arbitrary values, as stored for
// gateway settings and gateway-specific fields. JSON null gives a nil map.
//
// encoding/json would turn every number into a float64, so that
// map[string]any{"latency_ms": int64(5)} came back as float64(5). Numbers
// are decoded exactly instead: a number that parses as an int64 (written
// without fraction or exponent) comes back as int64, any other as
// float64, at any depth. A float64 with an integral value (float64(5) is
// written "5") therefore also comes back as int64: the JSON does not say
// which it was.
func UnmarshalObject(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("store: trailing data after JSON object")
	}
	for k, v := range m {
		n, err := exactNumbers(v)
		if err != nil {
			return nil, fmt.Errorf("store: %q: %w", k, err)
		}
		m[k] = n
	}
	return m, nil
}

// exactNumbers replaces the json.Numbers in v by int64 or float64.
func exactNumbers(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, err
		}
		return f, nil
	case map[string]any:
		for k, e := range x {
			n, err := exactNumbers(e)
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
	case []any:
		for i, e := range x {
			n, err := exactNumbers(e)
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
	}
	return v, nil
}

// storedCredential is the stored form of payment.StoredCredential, with
// names of its own so that renaming a Go field does not change the schema.
type storedCredential struct {
	Initiator string `json:"initiator"`
	Reason    string `json:"reason"`
}

// MarshalStoredCredential encodes sc as a JSON object, or returns nil for
// nil (stored as SQL NULL).
func MarshalStoredCredential(sc *payment.StoredCredential) ([]byte, error) {
	if sc == nil {
		return nil, nil
	}
	return json.Marshal(storedCredential{Initiator: sc.Initiator, Reason: sc.Reason})
}

// UnmarshalStoredCredential decodes what MarshalStoredCredential made; nil
// (SQL NULL) gives nil.
func UnmarshalStoredCredential(data []byte) (*payment.StoredCredential, error) {
	if data == nil {
		return nil, nil
	}
	var sc storedCredential
	if err := json.Unmarshal(data, &sc); err != nil {
		return nil, err
	}
	return &payment.StoredCredential{Initiator: sc.Initiator, Reason: sc.Reason}, nil
}

// PaymentBefore is a payment as it was read for an update, kept so that
// the update writes only the columns that changed: an UPDATE that sets a
// column rewrites every index on it and re-checks its constraints (JSON
// validity among them), whether or not its value moved, and a settle moves
// only the amounts, the status and the update time. The JSON columns are
// kept rendered, so that a map fn changed in place is still seen to
// differ.
type PaymentBefore struct {
	p                       payment.Payment
	trace                   []byte
	metadata, cred, gateway string
}

// SnapshotColumns records p's columns before an update.
func SnapshotColumns(p *payment.Payment) (*PaymentBefore, error) {
	b := &PaymentBefore{p: *p, trace: slices.Clone(p.RoutingTrace)}
	var err error
	b.metadata, b.cred, b.gateway, err = paymentJSONText(p)
	return b, err
}

// paymentJSONText renders p's JSON columns for comparison.
func paymentJSONText(p *payment.Payment) (metadata, cred, gateway string, err error) {
	m, err := json.Marshal(p.Metadata)
	if err != nil {
		return "", "", "", err
	}
	c, err := MarshalStoredCredential(p.StoredCredential)
	if err != nil {
		return "", "", "", err
	}
	g, err := json.Marshal(p.GatewaySpecificFields)
	if err != nil {
		return "", "", "", err
	}
	return string(m), string(c), string(g), nil
}

// PaymentColumn is a column of the payments table an update writes, with
// its value as both stores take it: a number, text, a flag, JSON text, or
// nil for NULL. The two columns each store renders its own way have a nil
// Value and Rendered false: routing_trace (NULL or JSON, typed by the
// store) and updated_at (the store's time).
type PaymentColumn struct {
	Name     string
	Value    any
	Rendered bool
}

// ChangedColumns are the columns of the payments table whose value p no
// longer shares with the snapshot, in a fixed order, with their values;
// updated_at is always among them. The identity columns (id, account_id,
// created_at) are never written by an update.
func (b *PaymentBefore) ChangedColumns(p *payment.Payment) ([]PaymentColumn, error) {
	a := &b.p
	metadata, cred, gateway, err := paymentJSONText(p)
	if err != nil {
		return nil, err
	}
	var credValue any // NULL without a stored credential
	if cred != "" {
		credValue = cred
	}
	var cols []PaymentColumn
	add := func(name string, changed bool, v any) {
		if changed {
			cols = append(cols, PaymentColumn{Name: name, Value: v, Rendered: true})
		}
	}
	add("amount", a.Amount != p.Amount, p.Amount)
	add("currency", a.Currency != p.Currency, p.Currency)
	add("gateway_id", a.GatewayID != p.GatewayID, p.GatewayID)
	add("credential_version", a.CredentialVersion != p.CredentialVersion, p.CredentialVersion)
	add("router_id", a.RouterID != p.RouterID, p.RouterID)
	if !bytes.Equal(b.trace, p.RoutingTrace) || (b.trace == nil) != (p.RoutingTrace == nil) {
		cols = append(cols, PaymentColumn{Name: "routing_trace"})
	}
	add("payment_method_id", a.PaymentMethodID != p.PaymentMethodID, p.PaymentMethodID)
	add("capture", a.Capture != p.Capture, p.Capture)
	add("reference", a.Reference != p.Reference, p.Reference)
	add("description", a.Description != p.Description, p.Description)
	add("metadata", b.metadata != metadata, metadata)
	add("stored_credential", b.cred != cred, credValue)
	add("gateway_specific_fields", b.gateway != gateway, gateway)
	add("status", a.Status != p.Status, string(p.Status))
	add("amount_authorized", a.AmountAuthorized != p.AmountAuthorized, p.AmountAuthorized)
	add("amount_captured", a.AmountCaptured != p.AmountCaptured, p.AmountCaptured)
	add("amount_refunded", a.AmountRefunded != p.AmountRefunded, p.AmountRefunded)
	add("voided", a.Voided != p.Voided, p.Voided)
	add("requires_review", a.RequiresReview != p.RequiresReview, p.RequiresReview)
	add("test", a.Test != p.Test, p.Test)
	cols = append(cols, PaymentColumn{Name: "updated_at"})
	return cols, nil
}
