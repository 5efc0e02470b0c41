// Package gateway is the contract between kassa's engine and the adapters
// that speak to payment service providers: what a gateway type declares
// (its Spec), the operations it may implement (optional capability
// interfaces found by type assertion, as database/sql/driver does), the
// Result every operation returns, the Registry of types, and the shared HTTP
// client that gives adapters deadlines, scrubbed transcripts and the
// "not sent" / "unknown" classification of network errors.
package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// FieldKind is the JSON type of a field's value.
type FieldKind string

const (
	KindString  FieldKind = "string"
	KindBoolean FieldKind = "boolean"
	KindInteger FieldKind = "integer"
)

// Field describes one credential, setting or gateway-specific field.
type Field struct {
	Name     string    `json:"name"`
	Label    string    `json:"label"`
	Kind     FieldKind `json:"type"`
	Required bool      `json:"required"`
	// Sensitive fields are sealed, masked when shown and scrubbed from
	// transcripts.
	Sensitive bool `json:"sensitive"`
	// URL fields say where kassa connects: for a live account, the engine
	// refuses one whose host is or resolves to an address that is not
	// public (netguard), unless the server allows private addresses.
	URL bool `json:"-"`
}

// Spec is what a gateway type declares about itself.
type Spec struct {
	Type        string `json:"type"`
	DisplayName string `json:"name"`
	// CredentialFields are the secret-bearing fields, versioned and sealed.
	CredentialFields []Field `json:"credential_fields"`
	// SettingsFields are plain configuration; every adapter that talks HTTP
	// has base_url so it can be pointed at a sandbox or a test server.
	SettingsFields []Field `json:"settings_fields"`
	// Operations are the kinds the adapter implements ("characteristics").
	Operations            []payment.OperationKind `json:"characteristics"`
	PaymentMethodTypes    []string                `json:"payment_method_types"`
	GatewaySpecificFields []Field                 `json:"gateway_specific_fields"`
	// Currencies the gateway accepts; empty means any kassa knows.
	Currencies []string `json:"currencies"`
	// SingleCapture providers capture an authorization once: a partial
	// capture releases the rest (Stripe, Authorize.Net). kassa then refuses
	// further captures and a void, and records the rest as released.
	SingleCapture bool `json:"single_capture"`
	// TestOnly gateways (the simulator) serve test accounts only.
	TestOnly bool `json:"test_only"`
	// Notifications: the provider reports outcomes asynchronously to a
	// per-gateway notification endpoint.
	Notifications bool `json:"notifications"`
	// UnknownGrace is how long after an unknown outcome this provider may
	// still be working on the call, so that a status query before then
	// could wrongly find no record; 0 leaves it to kassa's default (two
	// minutes, for providers that give no better figure).
	UnknownGrace time.Duration `json:"-"`
}

// Supports reports whether the Spec lists kind.
func (s Spec) Supports(kind payment.OperationKind) bool {
	for _, k := range s.Operations {
		if k == kind {
			return true
		}
	}
	return false
}

// Config is one configured gateway as an adapter sees it.
type Config struct {
	GatewayID string
	// Credentials of the version the operation runs with. Never log them.
	Credentials        map[string]string
	Settings           map[string]any
	Sandbox            bool
	MerchantProfileKey string
	SubMerchantKey     string
	// Live is the mode of the gateway's account: a live account's calls
	// connect only to public addresses unless the server allows private
	// ones (adapters pass it to HTTPClient.Do). Sandbox is the provider's
	// mode, which a live account may set too.
	Live bool
}

// Card is a card opened from the vault for one call. It lives only in
// memory and only as long as the call.
type Card struct {
	Number     string
	CVC        string // empty once destroyed
	ExpMonth   int
	ExpYear    int
	HolderName string
	Brand      string
	Billing    payment.Address
	Email      string
}

// Request is one operation asked of an adapter.
type Request struct {
	Config Config
	// Reference is kassa's operation id: the adapter sends it as the
	// provider's idempotency key / merchant reference, and QueryStatus
	// finds the operation by it.
	Reference string
	Kind      payment.OperationKind
	Amount    int64
	Currency  string
	// Card is set for authorize, purchase, verify, credit and store.
	Card *Card
	// PriorReference is the gateway reference of the operation a follow-up
	// (capture, void, refund) acts on: the authorization or purchase.
	PriorReference string
	// PriorKind is the kind of that operation.
	PriorKind payment.OperationKind
	// CardLast4 is set on follow-ups: some providers (Authorize.Net
	// refunds) want the card's last four digits again.
	CardLast4             string
	Description           string
	PaymentReference      string // the merchant's own reference of the payment
	StoredCredential      *payment.StoredCredential
	GatewaySpecificFields map[string]any
}

// Result is what an operation came to. Outcome is one of succeeded,
// declined, failed, not_sent, unknown — or pending, from an adapter whose
// Spec.Notifications is set, when the provider accepted the request and will
// report its outcome in a notification (Adyen's captures, cancels, refunds).
type Result struct {
	Outcome payment.Outcome
	// DeclineCode is kassa's normalised code for declines and failures
	// ("card_declined", "insufficient_funds", "do_not_honor", …).
	DeclineCode          string
	GatewayReference     string
	ResponseCode         string
	Message              string
	AVSCode              string
	CVVCode              string
	NetworkTransactionID string
	// Transcript is the scrubbed exchange; nil when nothing was exchanged.
	Transcript *Transcript
	// UnknownGrace, on an unknown outcome, is the gateway's
	// Spec.UnknownGrace (the engine sets it): when to ask first.
	UnknownGrace time.Duration
}

// Adapter is a gateway type. Operations are the optional interfaces below.
type Adapter interface {
	Spec() Spec
}

// The operations an adapter may implement. Each returns a Result for every
// outcome, including network failures: the error return is only for
// programming errors (a Request the adapter cannot express at all), and the
// engine treats an error as an unknown outcome if anything may have been
// sent.
type (
	Authorizer interface {
		Authorize(ctx context.Context, r *Request) (Result, error)
	}
	Purchaser interface {
		Purchase(ctx context.Context, r *Request) (Result, error)
	}
	Capturer interface {
		Capture(ctx context.Context, r *Request) (Result, error)
	}
	Voider interface {
		Void(ctx context.Context, r *Request) (Result, error)
	}
	Refunder interface {
		Refund(ctx context.Context, r *Request) (Result, error)
	}
	Verifier interface {
		Verify(ctx context.Context, r *Request) (Result, error)
	}
	Crediter interface {
		Credit(ctx context.Context, r *Request) (Result, error)
	}
	Storer interface {
		Store(ctx context.Context, r *Request) (Result, error)
	}
	// StatusQuerier finds out what became of the operation r.Reference
	// (r.Kind, r.Amount as first sent). A Result with Outcome unknown means
	// the gateway could not say (yet); ErrReferenceNotFound means the
	// gateway never saw the reference, so the operation did not happen.
	StatusQuerier interface {
		QueryStatus(ctx context.Context, r *Request) (Result, error)
	}
	// CredentialChecker asks the provider whether credentials work. A
	// *payment.Error (KindInvalid, with Param naming the credential field
	// when known) means they do not; other errors mean it could not tell.
	CredentialChecker interface {
		CheckCredentials(ctx context.Context, c Config) error
	}
	// SettingsChecker checks a gateway's settings beyond the kinds its
	// Spec declares (a URL that must parse), when a gateway is created or
	// its settings replaced; settings holds only declared fields of the
	// right kinds. A *payment.Error (KindInvalid, Param "settings.<field>")
	// says what is wrong.
	SettingsChecker interface {
		CheckSettings(settings map[string]any) error
	}
	// ConfigChecker checks, locally (nothing is sent), what a
	// configuration needs beyond each field's kind: a credential's format,
	// a setting a live gateway cannot do without. It runs when a gateway
	// is created and when its credentials, settings or mode change.
	// c.Credentials holds the credential fields being set — all of them,
	// or nil when none change (sealed credentials are not opened to check
	// a setting) — and c.Settings and c.Sandbox what the gateway will
	// have. A *payment.Error (KindInvalid, Param "credentials.<field>" or
	// "settings.<field>", never quoting a credential) says what is wrong.
	ConfigChecker interface {
		CheckConfig(c Config) error
	}
)

// NotificationHandler is implemented by adapters whose Spec.Notifications
// is set: it authenticates and reads what the provider posts to the
// gateway's notification endpoint.
type NotificationHandler interface {
	// ReadNotifications verifies body (every item's signature, with the
	// credentials in c) and returns the outcomes it reports. Any error
	// means nothing in body may be applied.
	ReadNotifications(ctx context.Context, c Config, body []byte) ([]Notification, error)
	// NotificationAnswer is the body the provider expects on success
	// (Adyen's "[accepted]").
	NotificationAnswer() string
}

// Notification is one outcome reported by a provider.
type Notification struct {
	// Reference is kassa's operation id, as sent in the request.
	Reference string
	// Result is the final outcome (never pending or unknown).
	Result Result
}

// ErrReferenceNotFound is returned by QueryStatus when the gateway has no
// record of the reference.
var ErrReferenceNotFound = errors.New("gateway: no such reference at the gateway")

// ErrUnsupported is returned by Call for an operation the adapter lacks.
var ErrUnsupported = errors.New("gateway: operation not supported")

// Call runs r.Kind on adapter a. It returns ErrUnsupported if a does not
// implement that operation.
func Call(ctx context.Context, a Adapter, r *Request) (Result, error) {
	var (
		res Result
		err = ErrUnsupported
	)
	switch r.Kind {
	case payment.OpAuthorize:
		if o, ok := a.(Authorizer); ok {
			res, err = o.Authorize(ctx, r)
		}
	case payment.OpPurchase:
		if o, ok := a.(Purchaser); ok {
			res, err = o.Purchase(ctx, r)
		}
	case payment.OpCapture:
		if o, ok := a.(Capturer); ok {
			res, err = o.Capture(ctx, r)
		}
	case payment.OpVoid:
		if o, ok := a.(Voider); ok {
			res, err = o.Void(ctx, r)
		}
	case payment.OpRefund:
		if o, ok := a.(Refunder); ok {
			res, err = o.Refund(ctx, r)
		}
	case payment.OpVerify:
		if o, ok := a.(Verifier); ok {
			res, err = o.Verify(ctx, r)
		}
	case payment.OpCredit:
		if o, ok := a.(Crediter); ok {
			res, err = o.Credit(ctx, r)
		}
	case payment.OpStore:
		if o, ok := a.(Storer); ok {
			res, err = o.Store(ctx, r)
		}
	}
	return res, err
}

// Registry holds the gateway types kassa offers. It is built once by
// cmd/kassa and read-only afterwards.
type Registry struct {
	types map[string]Adapter
	order []string
}

// NewRegistry returns a registry of the given adapters. It panics on two
// adapters of one type: that is a wiring mistake.
func NewRegistry(adapters ...Adapter) *Registry {
	r := &Registry{types: map[string]Adapter{}}
	for _, a := range adapters {
		t := a.Spec().Type
		if _, dup := r.types[t]; dup {
			panic("gateway: two adapters of type " + t)
		}
		r.types[t] = a
		r.order = append(r.order, t)
	}
	return r
}

// Lookup returns the adapter of type t.
func (r *Registry) Lookup(t string) (Adapter, bool) {
	a, ok := r.types[t]
	return a, ok
}

// Specs returns every type's Spec in registration order.
func (r *Registry) Specs() []Spec {
	out := make([]Spec, 0, len(r.order))
	for _, t := range r.order {
		out = append(out, r.types[t].Spec())
	}
	return out
}
