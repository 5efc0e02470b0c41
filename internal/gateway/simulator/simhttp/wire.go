// Package simhttp is the simulator over the network: Server, a small JSON
// API around a simulator.Simulator that `kassa simulator serve` runs as a
// stand-alone provider, and Adapter, gateway type "simulator_http", which
// makes kassa call it through the shared gateway.HTTPClient. The decisions
// (card table, amount rules, ledger rules, idempotent repeats, status
// queries) are the simulator's, unchanged; this package adds only the wire
// and the faults a network has: answers lost after the provider acted,
// connections reset before it did, slow answers. docs/simulator.md
// describes the API.
//
// Server and Adapter share the wire types below, so that what one writes
// the other reads.
package simhttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/kassapay/kassa/internal/payment"
)

// MaxRequestBody is the largest operation request the server reads.
const MaxRequestBody = 64 << 10

// Limits of an operation request, so that the ledger holds nothing a
// client could make arbitrarily large.
const (
	maxReferenceLen = 255
	maxCardFieldLen = 64
	maxSpecific     = 32
)

// OperationRequest is the body of POST /v1/accounts/{account}/{kind}.
type OperationRequest struct {
	// Reference is the client's id of the operation (kassa's operation
	// id): a repeat of it returns the first answer without acting again.
	Reference string `json:"reference"`
	// Amount in minor units; absent for a void, a store and a zero verify.
	Amount   int64  `json:"amount,omitempty"`
	Currency string `json:"currency,omitempty"`
	// PriorReference is the provider's id ("sim_…") of the authorization
	// or purchase a capture, void or refund acts on.
	PriorReference string `json:"prior_reference,omitempty"`
	// Card travels in the request of authorize, purchase, verify, credit
	// and store. Never log it.
	Card                  *Card          `json:"card,omitempty"`
	GatewaySpecificFields map[string]any `json:"gateway_specific_fields,omitempty"`
}

// Card is a card in a request.
type Card struct {
	Number     string `json:"number"`
	CVC        string `json:"cvc,omitempty"`
	ExpMonth   int    `json:"exp_month"`
	ExpYear    int    `json:"exp_year"`
	HolderName string `json:"holder_name,omitempty"`
}

// LogValue keeps a card out of any log it is passed to by mistake.
func (Card) LogValue() slog.Value { return slog.StringValue("[card]") }

// String keeps a card out of any message it is formatted into by mistake.
func (Card) String() string { return "[card]" }

// Answer is the provider's answer to an operation, and to a status query
// of one. The HTTP status goes with Status: 200 succeeded, 402 declined,
// 422 failed, 503 not_sent (the provider did not act on the request; also
// unknown, to a status query it cannot answer).
type Answer struct {
	Status               payment.Outcome `json:"status"`
	ID                   string          `json:"id,omitempty"`
	Reference            string          `json:"reference,omitempty"`
	ResponseCode         string          `json:"response_code,omitempty"`
	Message              string          `json:"message,omitempty"`
	DeclineCode          string          `json:"decline_code,omitempty"`
	AVSResult            string          `json:"avs_result,omitempty"`
	CVCResult            string          `json:"cvc_result,omitempty"`
	NetworkTransactionID string          `json:"network_transaction_id,omitempty"`
}

// Operation is one entry of the ledger, as GET
// /v1/accounts/{account}/operations lists it.
type Operation struct {
	Reference      string                `json:"reference"`
	Kind           payment.OperationKind `json:"kind"`
	Amount         int64                 `json:"amount,omitempty"`
	PriorReference string                `json:"prior_reference,omitempty"`
	Result         Answer                `json:"result"`
	// Calls counts the requests of this reference that reached the
	// ledger: 1 unless the client sent it again.
	Calls     int       `json:"calls"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// OperationList is the body of the ledger listing.
type OperationList struct {
	Data []Operation `json:"data"`
}

// Faults are the server's run-time fault settings, read and replaced
// whole with GET and PUT /v1/faults. The zero value is a healthy provider.
type Faults struct {
	// LatencyMS is spent before a request "arrives": a client that gives
	// up during it leaves no trace. Operations and status queries.
	LatencyMS int64 `json:"latency_ms"`
	// Outage: operations are answered 503 not_sent, status queries 503
	// unknown.
	Outage bool `json:"outage"`
	// DropAfterProcessing is the share (0..1) of operations that are
	// processed and recorded, and then get no answer: the connection is
	// closed.
	DropAfterProcessing float64 `json:"drop_after_processing"`
	// Reset is the share (0..1) of operations whose connection is reset
	// once the request is read, before anything is processed or recorded.
	Reset float64 `json:"reset"`
	// SlowMS delays the answer of a processed operation: it is recorded
	// at once and answered after this long, if the client still waits.
	SlowMS int64 `json:"slow_ms"`
}

// maxDelayMS bounds LatencyMS and SlowMS: ten minutes.
const maxDelayMS = 10 * 60 * 1000

// check reports the first setting out of range.
func (f Faults) check() error {
	for _, r := range []struct {
		name string
		v    float64
	}{{"drop_after_processing", f.DropAfterProcessing}, {"reset", f.Reset}} {
		if !(r.v >= 0 && r.v <= 1) { // NaN fails too
			return fmt.Errorf("%s must be between 0 and 1", r.name)
		}
	}
	for _, d := range []struct {
		name string
		v    int64
	}{{"latency_ms", f.LatencyMS}, {"slow_ms", f.SlowMS}} {
		if d.v < 0 || d.v > maxDelayMS {
			return fmt.Errorf("%s must be between 0 and %d", d.name, maxDelayMS)
		}
	}
	return nil
}

// ErrorBody is the body of a 400 or 404 answer.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Error codes of ErrorBody.
const (
	// CodeInvalidRequest: the request could not be read; nothing was
	// processed.
	CodeInvalidRequest = "invalid_request"
	// CodeReferenceNotFound: a status query of a reference the ledger
	// does not hold. Only this code, not a bare 404, means "never
	// processed".
	CodeReferenceNotFound = "reference_not_found"
)

// DecodeOperation reads an operation request: one JSON object of the
// fields of OperationRequest and no others, within the limits of each.
func DecodeOperation(data []byte) (*OperationRequest, error) {
	if len(data) > MaxRequestBody {
		return nil, fmt.Errorf("the request body exceeds %d bytes", MaxRequestBody)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r OperationRequest
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("the request body is not a valid operation: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("the request body holds more than one JSON value")
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	return &r, nil
}

func (r *OperationRequest) check() error {
	if r.Reference == "" {
		return errors.New("reference is required")
	}
	if err := text("reference", r.Reference, maxReferenceLen); err != nil {
		return err
	}
	if err := text("prior_reference", r.PriorReference, maxReferenceLen); err != nil {
		return err
	}
	if r.Amount < 0 || r.Amount > payment.MaxAmount {
		return fmt.Errorf("amount must be between 0 and %d", payment.MaxAmount)
	}
	if r.Currency != "" && !isCurrency(r.Currency) {
		return errors.New("currency must be three capital letters")
	}
	if c := r.Card; c != nil {
		for _, f := range []struct{ name, v string }{{"card.number", c.Number}, {"card.cvc", c.CVC}, {"card.holder_name", c.HolderName}} {
			if err := text(f.name, f.v, maxCardFieldLen); err != nil {
				return err
			}
		}
	}
	if len(r.GatewaySpecificFields) > maxSpecific {
		return fmt.Errorf("gateway_specific_fields holds more than %d fields", maxSpecific)
	}
	return nil
}

// text refuses a value too long, or not printable UTF-8.
func text(name, v string, max int) error {
	if len(v) > max {
		return fmt.Errorf("%s is longer than %d bytes", name, max)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("%s is not valid UTF-8", name)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%s holds a control character", name)
		}
	}
	return nil
}

func isCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := range 3 {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
