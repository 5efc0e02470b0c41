package engine

import (
	"slices"
	"strings"
	"sync"

	"github.com/kassapay/kassa/internal/payment"
)

// EventType is one type of event kassa emits, with what it means.
type EventType struct {
	Type        string `json:"type"`
	Description string `json:"description"`
}

var (
	eventTypesOnce sync.Once
	eventTypes     []EventType
	eventTypeSet   map[string]bool
)

// outcomeMeaning says what each settled (or unknown) outcome of an
// operation means in an event's description.
var outcomeMeaning = []struct {
	outcome payment.Outcome
	meaning string
}{
	{payment.OutcomeSucceeded, "succeeded"},
	{payment.OutcomeDeclined, "was declined"},
	{payment.OutcomeFailed, "failed"},
	{payment.OutcomeNotSent, "was never sent to the gateway"},
	{payment.OutcomeUnknown, "has an unknown outcome (the reconciler will find out)"},
}

// EventTypes returns every event type kassa emits, sorted by type.
func EventTypes() []EventType {
	eventTypesOnce.Do(func() {
		add := func(t, d string) { eventTypes = append(eventTypes, EventType{t, d}) }
		add("payment_method.created", "A card was vaulted.")
		add("payment_method.updated", "A payment method's details changed.")
		add("payment_method.retained", "A payment method was kept beyond its cache time.")
		add("payment_method.recached", "A retained payment method went back to cached.")
		add("payment_method.redacted", "A payment method's card data was destroyed.")
		add("gateway.created", "A gateway was added.")
		add("gateway.updated", "A gateway's settings changed.")
		add("gateway.credentials_rotated", "A gateway got a new credential version.")
		add("gateway.redacted", "A gateway's credentials were destroyed.")
		add("connector.created", "An IXOPAY connector was provisioned.")
		add("connector.updated", "An IXOPAY connector's keys or settings changed.")
		add("connector.archived", "An IXOPAY connector was archived.")
		add("payment.created", "A payment was created.")
		add("payment.status_changed", "A payment's status changed.")
		add("payment.requires_review", "A payment's outcome could not be settled and needs a person.")
		add("payment.remainder_released", "The uncaptured rest of an authorization was released.")
		add("payment.reversal_reported", "A gateway reported a reversal of a payment.")
		for _, k := range []payment.OperationKind{payment.OpAuthorize, payment.OpPurchase, payment.OpCapture,
			payment.OpVoid, payment.OpRefund, payment.OpCredit} {
			for _, o := range outcomeMeaning {
				add("payment."+string(k)+"."+string(o.outcome), "A payment's "+string(k)+" "+o.meaning+".")
			}
		}
		for _, o := range outcomeMeaning {
			add("payment.attempt."+string(o.outcome), "An attempt of a routed payment "+o.meaning+"; the router may try the next gateway.")
		}
		add("operation.resolved", "A person settled an operation under review.")
		for _, k := range []payment.OperationKind{payment.OpVerify, payment.OpStore, payment.OpCredit} {
			add(standaloneEventType(k, "created"), "A stand-alone "+string(k)+" was sent.")
			for _, o := range outcomeMeaning {
				add(standaloneEventType(k, string(o.outcome)), "A stand-alone "+string(k)+" "+o.meaning+".")
			}
			add(standaloneEventType(k, "requires_review"), "A stand-alone "+string(k)+"'s outcome needs a person.")
		}
		add(EventWebhookEndpointCreated, "A webhook endpoint was added.")
		add(EventWebhookEndpointUpdated, "A webhook endpoint's settings or secret changed.")
		add(EventWebhookEndpointDeleted, "A webhook endpoint was deleted.")
		add(EventWebhookEndpointDisabled, "kassa disabled a webhook endpoint: it answered 410 or failed for too long.")
		add(EventWebhookEndpointRedelivered, "Someone asked, in the dashboard, to send an endpoint an event again or to recover its failed deliveries.")
		add(EventWebhookPing, "A test message asked for with the ping of an endpoint; sent only to that endpoint.")
		add(payment.EventCustomerCreated, "A customer was created.")
		add(payment.EventCustomerUpdated, "A customer's details changed.")
		add(payment.EventCustomerDeleted, "A customer was deleted; its cards were redacted and its tokens deleted.")
		add(payment.EventCustomerTokenCreated, "A token was stored for a customer.")
		add(payment.EventCustomerTokenDeleted, "A customer's token was deleted (kept, marked deleted).")
		add(payment.EventCheckoutCompleted, "A checkout session was paid: its payment succeeded.")
		add(payment.EventCheckoutExpired, "A checkout session expired unpaid.")
		add(EventAPIKeyCreated, "An API key was created (by its own create, or by rolling another key).")
		add(EventAPIKeyRolled, "An API key was rolled: it was replaced and expires or was revoked.")
		add(EventAPIKeyRevoked, "An API key was revoked.")
		add(EventMemberAdded, "A dashboard user was made a member of the account.")
		add(EventMemberRemoved, "A dashboard user's membership of the account was removed.")
		add(payment.EventCheckoutCancelled, "A checkout session was cancelled, by the merchant or the customer.")
		slices.SortFunc(eventTypes, func(a, b EventType) int { return strings.Compare(a.Type, b.Type) })
		eventTypes = slices.CompactFunc(eventTypes, func(a, b EventType) bool { return a.Type == b.Type })
		eventTypeSet = make(map[string]bool, len(eventTypes))
		for _, t := range eventTypes {
			eventTypeSet[t.Type] = true
		}
	})
	return eventTypes
}

// KnownEventType reports whether kassa emits events of type t.
func KnownEventType(t string) bool {
	EventTypes()
	return eventTypeSet[t]
}

// Webhook event types.
const (
	EventWebhookEndpointCreated  = "webhook_endpoint.created"
	EventWebhookEndpointUpdated  = "webhook_endpoint.updated"
	EventWebhookEndpointDeleted  = "webhook_endpoint.deleted"
	EventWebhookEndpointDisabled = "webhook_endpoint.disabled"
	EventWebhookPing             = "webhook.ping"
	// EventWebhookEndpointRedelivered records a redelivery or recovery a
	// dashboard user asked for: the endpoint's audit trail.
	EventWebhookEndpointRedelivered = "webhook_endpoint.redelivered"
)

// checkEventPattern reports whether p may stand in a webhook endpoint's
// enabled events: "*", a type kassa emits, or "prefix.*" where some type
// kassa emits begins with "prefix.".
func checkEventPattern(p string) bool {
	if p == "*" {
		return true
	}
	if prefix, ok := strings.CutSuffix(p, ".*"); ok {
		if prefix == "" || strings.ContainsAny(prefix, "* ") {
			return false
		}
		for _, t := range EventTypes() {
			if strings.HasPrefix(t.Type, prefix+".") {
				return true
			}
		}
		return false
	}
	return KnownEventType(p)
}
