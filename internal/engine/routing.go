package engine

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"

	"github.com/kassapay/kassa/internal/failpoint"
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/routing"
)

// RouterType is the gateway type of routers: gateways that choose among the
// account's other gateways for each payment (docs/architecture.md §6).
const RouterType = "router"

// routerSpec describes routers beside the adapters' Specs. A router holds no
// credentials; its settings are its rules (internal/routing).
var routerSpec = gateway.Spec{
	Type:               RouterType,
	DisplayName:        "kassa router",
	CredentialFields:   []gateway.Field{},
	SettingsFields:     []gateway.Field{},
	Operations:         []payment.OperationKind{payment.OpAuthorize, payment.OpPurchase, payment.OpCapture, payment.OpVoid, payment.OpRefund},
	PaymentMethodTypes: []string{payment.PaymentMethodTypeCard},
	Currencies:         []string{},
}

// splitter draws the random numbers of weighted splits; math/rand/v2's Rand
// is not safe for concurrent use.
type splitter struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newSplitter() *splitter {
	var seed [32]byte
	if _, err := crand.Read(seed[:]); err != nil {
		panic("engine: crypto/rand failed: " + err.Error())
	}
	return &splitter{r: rand.New(rand.NewChaCha8(seed))}
}

func (s *splitter) decide(c *routing.Config, in routing.Input) (routing.Decision, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return c.Decide(in, s.r)
}

// routerConfig parses and checks a router's settings: every gateway it names
// must be one of the account's gateways and not a router.
func (e *Engine) routerConfig(ctx context.Context, accountID string, settings map[string]any) (*routing.Config, map[string]any, error) {
	if settings == nil {
		return nil, nil, payment.Missing("settings.rules")
	}
	cfg, err := routing.Parse(settings)
	if err != nil {
		return nil, nil, err
	}
	// Metadata conditions are kept in the router's settings, shown in the
	// clear. Payment metadata never holds a card number, so a condition
	// that did could match nothing anyway.
	for i, r := range cfg.Rules {
		if err := checkConditionMetadata(fmt.Sprintf("settings.rules[%d].when.metadata", i), r.When.Metadata); err != nil {
			return nil, nil, err
		}
	}
	for _, ref := range gatewayRefs(cfg) {
		g, err := e.store.Gateway(ctx, accountID, ref.id)
		if errors.Is(err, payment.ErrNotFound) {
			return nil, nil, payment.Invalid(payment.CodeParameterInvalid, ref.param, "%s: no such gateway '%s'.", ref.param, printableID(ref.id))
		}
		if err != nil {
			return nil, nil, err
		}
		if g.Type == RouterType {
			return nil, nil, payment.Invalid(payment.CodeParameterInvalid, ref.param, "%s: %s is a router; a router cannot route to another router.", ref.param, g.ID)
		}
	}
	// Keep the canonical form: what Parse understood, not what was sent.
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("encode router settings: %w", err)
	}
	var canonical map[string]any
	if err := json.Unmarshal(b, &canonical); err != nil {
		return nil, nil, fmt.Errorf("decode router settings: %w", err)
	}
	return cfg, canonical, nil
}

// checkConditionMetadata refuses a card number in the keys and values of a
// rule's metadata condition, named by param (the key only when it holds
// none).
func checkConditionMetadata(param string, md map[string]string) error {
	// Sorted: the same key is reported first every time.
	for _, k := range slices.Sorted(maps.Keys(md)) {
		if err := CheckNoCardNumber(param, k); err != nil {
			return err
		}
		if err := CheckNoCardNumber(param+"."+k, md[k]); err != nil {
			return err
		}
	}
	return nil
}

type gatewayRef struct{ param, id string }

// gatewayRefs lists where a config names gateways, with the param naming
// each place for errors.
func gatewayRefs(c *routing.Config) []gatewayRef {
	var refs []gatewayRef
	action := func(prefix string, a *routing.Action) {
		if a == nil {
			return
		}
		if a.Gateway != "" {
			refs = append(refs, gatewayRef{prefix + ".gateway", a.Gateway})
		}
		for i, w := range a.Split {
			refs = append(refs, gatewayRef{fmt.Sprintf("%s.split[%d].gateway", prefix, i), w.Gateway})
		}
		for i, g := range a.Cascade {
			refs = append(refs, gatewayRef{fmt.Sprintf("%s.cascade[%d]", prefix, i), g})
		}
	}
	for i := range c.Rules {
		action(fmt.Sprintf("settings.rules[%d].then", i), &c.Rules[i].Then)
	}
	action("settings.default", c.Default)
	return refs
}

// createRouter makes a router gateway.
func (e *Engine) createRouter(ctx context.Context, p *payment.Principal, in GatewayInput) (*GatewayDetail, error) {
	if len(in.Credentials) > 0 {
		return nil, payment.Invalid(payment.CodeParameterUnknown, "credentials", "Routers hold no credentials: the gateways they route to do.")
	}
	if len(in.DisabledOperations) > 0 {
		return nil, payment.Invalid(payment.CodeParameterUnknown, "disabled_operations", "Disable operations on the gateways a router routes to.")
	}
	for _, f := range []struct{ param, v string }{
		{"description", in.Description}, {"merchant_profile_key", in.MerchantProfileKey}, {"sub_merchant_key", in.SubMerchantKey},
	} {
		if err := checkText(f.param, f.v, maxNameLen); err != nil {
			return nil, err
		}
	}
	_, settings, err := e.routerConfig(ctx, p.Account.ID, in.Settings)
	if err != nil {
		return nil, err
	}
	now := e.clock()
	g := &payment.Gateway{ID: payment.NewID(payment.PrefixGateway), AccountID: p.Account.ID, Type: RouterType,
		Description: in.Description, State: payment.GatewayRetained, Sandbox: !p.Account.Live, Settings: settings,
		MerchantProfileKey: in.MerchantProfileKey, SubMerchantKey: in.SubMerchantKey,
		DisabledOperations: []payment.OperationKind{}, CreatedAt: now, UpdatedAt: now}
	d := &GatewayDetail{Gateway: g, Spec: routerSpec}
	if err := e.store.CreateGateway(ctx, g, nil, newEvent(g.AccountID, "gateway.created", g.ID, GatewayObjectOf(d), now)); err != nil {
		return nil, fmt.Errorf("create router: %w", err)
	}
	return d, nil
}

// trace is a routed payment's routing_trace.
type trace struct {
	Router   string         `json:"router"`
	Rule     *int           `json:"rule"` // nil when pinned
	Kind     string         `json:"kind"`
	Reason   string         `json:"reason"`
	Attempts []traceAttempt `json:"attempts"`
}

type traceAttempt struct {
	Gateway     string          `json:"gateway"`
	Skipped     bool            `json:"skipped"`
	Reason      string          `json:"reason"`
	Operation   string          `json:"operation,omitempty"`
	Outcome     payment.Outcome `json:"outcome,omitempty"`
	DeclineCode string          `json:"decline_code,omitempty"`
}

func (t *trace) bytes() []byte {
	b, err := json.Marshal(t)
	if err != nil {
		panic("engine: render routing trace: " + err.Error())
	}
	return b
}

// routedPayment runs a payment through router r: decide, then try each
// candidate, moving on only when the router's cascade allows it.
func (e *Engine) routedPayment(ctx context.Context, p *payment.Principal, in PaymentInput, kind payment.OperationKind, r *payment.Gateway) (*payment.Payment, error) {
	acct := p.Account
	cfg, err := routing.Parse(r.Settings)
	if err != nil {
		return nil, fmt.Errorf("router %s has unreadable settings: %w", r.ID, err)
	}
	pm, err := e.paymentMethodOf(ctx, acct.ID, in.PaymentMethodID)
	if errors.Is(err, payment.ErrNotFound) {
		return nil, &payment.Error{Kind: payment.KindNotFound, Code: payment.CodeResourceMissing, Param: "payment_method",
			Message: fmt.Sprintf("No such payment_method: '%s'", printableID(in.PaymentMethodID))}
	}
	if err != nil {
		return nil, err
	}
	customerID, err := paymentCustomer(in.CustomerID, pm)
	if err != nil {
		return nil, err
	}
	initiator := ""
	if in.StoredCredential != nil {
		initiator = in.StoredCredential.Initiator
	}
	tr := &trace{Router: r.ID}
	var candidates []string
	if pinned := e.pinnedGateway(ctx, cfg, pm, initiator); pinned != nil {
		tr.Kind, candidates = "pinned", []string{pinned.GatewayID}
		tr.Reason = fmt.Sprintf("merchant-initiated: pinned to %s, the gateway of the first cardholder-initiated payment %s", pinned.GatewayID, pinned.ID)
	} else {
		d, err := e.split.decide(cfg, routing.Input{Amount: in.Amount, Currency: in.Currency, CardBrand: pm.Card.Brand,
			BIN: pm.Card.First6, PaymentMethodType: pm.Type, Initiator: initiator, Metadata: in.Metadata})
		if err != nil {
			return nil, err
		}
		rule := d.Rule
		tr.Rule, tr.Kind, tr.Reason, candidates = &rule, d.Kind, d.Reason, d.Candidates
	}

	// pay is the payment as this request last wrote it.
	var pay *payment.Payment
	// carry is an attempt the cascade moves on from: its result is settled
	// in the same transaction that reserves the next attempt, so the
	// payment never shows a terminal status between attempts. It moved no
	// money (a cascade moves on only after not sent or a decline).
	var carry *carried
	// spent is the payment method once an attempt may have carried its
	// CVC: later attempts go without it, and the next write destroys it.
	spent := ""
	for i, gwID := range candidates {
		if !e.breakers.Allow(gwID) {
			tr.Attempts = append(tr.Attempts, traceAttempt{Gateway: gwID, Skipped: true, Reason: "circuit breaker open: the gateway failed repeatedly and is rested"})
			continue
		}
		c, err := e.prepareRoutedCall(ctx, acct, pm.ID, gwID, kind, in)
		if err != nil {
			pe, ok := payment.AsError(err)
			if !ok {
				return nil, err
			}
			tr.Attempts = append(tr.Attempts, traceAttempt{Gateway: gwID, Skipped: true, Reason: "not usable: " + pe.Message})
			continue
		}
		if spent != "" {
			c.req.Card.CVC = "" // PCI DSS 3.3.1.2: one authorization attempt
		}
		now := e.clock()
		var op *payment.Operation
		if pay == nil {
			pay = &payment.Payment{ID: payment.NewID(payment.PrefixPayment), AccountID: acct.ID, Amount: in.Amount, Currency: in.Currency,
				GatewayID: c.gw.ID, CredentialVersion: c.gw.CredentialVersion, RouterID: r.ID, PaymentMethodID: pm.ID,
				Capture: kind == payment.OpPurchase, Reference: in.Reference, Description: in.Description, Metadata: cleanMetadata(in.Metadata),
				StoredCredential: in.StoredCredential, GatewaySpecificFields: c.req.GatewaySpecificFields, CustomerID: customerID, Test: !acct.Live,
				CreatedAt: now, UpdatedAt: now}
			op = e.newOperation(pay, kind, in.Amount, now)
			pay.Operations = []*payment.Operation{op}
			tr.Attempts = append(tr.Attempts, traceAttempt{Gateway: gwID, Operation: op.ID, Reason: attemptReason(tr.Kind, i)})
			pay.RoutingTrace = tr.bytes()
			pay.Status = payment.DeriveStatus(pay)
			if err := e.reservePayment(ctx, claimFrom(ctx), pay, now); err != nil {
				return nil, err
			}
		} else {
			gw, ver := c.gw.ID, c.gw.CredentialVersion
			reserved, err := e.store.UpdatePayment(ctx, acct.ID, pay.ID, func(p *payment.Payment) (*payment.PaymentChange, error) {
				ch := &payment.PaymentChange{DestroyCVC: spent}
				if carry != nil {
					if prev := findOperation(p, carry.op); prev != nil && !prev.Outcome.Settled() {
						recordResult(prev, carry.res, now)
						ch.Operations = append(ch.Operations, prev)
						ch.Events = append(ch.Events, newEvent(acct.ID, "payment.attempt."+string(carry.res.Outcome), p.ID,
							map[string]any{"id": p.ID, "operation": prev.ID, "gateway": prev.GatewayID, "decline_code": prev.DeclineCode}, now))
					}
				}
				p.GatewayID, p.CredentialVersion = gw, ver
				op = e.newOperation(p, kind, in.Amount, now)
				p.Operations = append(p.Operations, op)
				tr.Attempts = append(tr.Attempts, traceAttempt{Gateway: gwID, Operation: op.ID, Reason: attemptReason(tr.Kind, i)})
				p.RoutingTrace = tr.bytes()
				p.Status = payment.DeriveStatus(p)
				p.UpdatedAt = now
				ch.Operations = append(ch.Operations, op)
				return ch, nil
			})
			if err != nil {
				return nil, fmt.Errorf("reserve attempt %d of %s: %w", i+1, pay.ID, err)
			}
			pay, carry = reserved, nil
		}
		c.req.Reference, c.req.Amount, c.req.Currency = op.ID, in.Amount, in.Currency
		c.req.Description, c.req.PaymentReference, c.req.StoredCredential = in.Description, in.Reference, in.StoredCredential
		res := e.invoke(ctx, c.adapter, c.req, op.CreatedAt)
		if cvc := cvcSpent(c, res); cvc != "" {
			spent = cvc
		}
		last := &tr.Attempts[len(tr.Attempts)-1]
		last.Outcome, last.DeclineCode = res.Outcome, res.DeclineCode
		moveOn := tr.Kind == "cascade" && i < len(candidates)-1 && cfg.CascadeMovesOn(string(res.Outcome), res.DeclineCode)
		if moveOn {
			last.Reason += "; moving on: " + cascadeWhy(res)
			carry = &carried{op: op.ID, res: res}
			continue
		}
		settled, err := e.settleHeld(ctx, pay, op.ID, res, tr, spent)
		failpoint.Hit(failpoint.AfterSettle, string(kind))
		return settled, err
	}
	if carry != nil {
		// Every later candidate was skipped: the payment ends on the
		// attempt it moved on from, with the trace saying why nothing
		// else was tried.
		return e.settle(ctx, acct.ID, pay.ID, carry.op, carry.res, tr, spent)
	}
	reasons := make([]string, len(tr.Attempts))
	for i, a := range tr.Attempts {
		reasons[i] = a.Gateway + ": " + a.Reason
	}
	return nil, payment.Conflict("no_gateway_available", "Router %s found no gateway it could use (%s).", r.ID, strings.Join(reasons, "; "))
}

func attemptReason(kind string, i int) string {
	switch kind {
	case "cascade":
		return fmt.Sprintf("cascade position %d", i+1)
	case "pinned":
		return "pinned gateway"
	case "split":
		return "picked by weighted split"
	}
	return "the rule's gateway"
}

func cascadeWhy(res gateway.Result) string {
	if res.Outcome == payment.OutcomeNotSent {
		return "not sent, so safe to try the next gateway"
	}
	return "soft decline " + res.DeclineCode + " is listed in cascade_on"
}

// carried is an attempt's result held until the next attempt is reserved.
type carried struct {
	op  string
	res gateway.Result
}

// prepareRoutedCall prepares an attempt on one of a router's gateways. The
// payment's gateway-specific fields go to each gateway as far as its type
// knows them.
func (e *Engine) prepareRoutedCall(ctx context.Context, acct *payment.Account, pmID, gwID string, kind payment.OperationKind, in PaymentInput) (*call, error) {
	g, err := e.cachedGateway(ctx, acct.ID, gwID)
	if err != nil {
		return nil, err
	}
	var gsf map[string]any
	if ad, ok := e.gateways.Lookup(g.Type); ok && len(in.GatewaySpecificFields) > 0 {
		gsf = map[string]any{}
		for _, f := range ad.Spec().GatewaySpecificFields {
			if v, ok := in.GatewaySpecificFields[f.Name]; ok {
				gsf[f.Name] = v
			}
		}
	}
	return e.prepareCardCall(ctx, acct, pmID, g, kind, in.Currency, gsf)
}

// pinnedGateway finds, for a merchant-initiated payment under a router that
// pins recurring payments, the payment whose gateway it must use: the first
// successful cardholder-initiated payment on the same payment method.
func (e *Engine) pinnedGateway(ctx context.Context, cfg *routing.Config, pm *payment.PaymentMethod, initiator string) *payment.Payment {
	if !cfg.PinRecurring || initiator != "merchant" {
		return nil
	}
	// The store walks the card's payments from the oldest and stops at
	// the first that qualifies: one query, however many payments the card
	// has made since.
	pays, _, err := e.store.Payments(ctx, pm.AccountID, payment.PaymentFilter{PaymentMethodID: pm.ID, CardholderAuthorized: true,
		ListParams: payment.ListParams{Limit: 1, Ascending: true}})
	if err != nil {
		e.log.ErrorContext(ctx, "look up the pinned gateway", "payment_method", pm.ID, "error", err)
		return nil
	}
	if len(pays) == 0 {
		return nil
	}
	return pays[0]
}

func cleanMetadata(md map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range md {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// BreakerStatus is the circuit breaker of gateway id, as this process sees
// it (breakers are per process: ADR 0007).
func (e *Engine) BreakerStatus(id string) routing.BreakerStatus { return e.breakers.Status(id) }

// EachBreaker visits every breaker that is not plainly closed.
func (e *Engine) EachBreaker(fn func(gw string, s routing.BreakerStatus)) { e.breakers.Each(fn) }
