package dashboard

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/kassapay/kassa/internal/card"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// trailPageSize is how many of a payment's events its page shows.
const trailPageSize = 100

// paymentPage is the payment page's data: the payment, its operations
// with their transcripts, the routing trace, the status timeline and the
// audit trail read from its events, and the actions its status allows.
type paymentPage struct {
	*payment.Payment
	Ops      []opView
	Trace    *routeTrace
	Timeline []timelineEntry
	// Audit is the payment's audit trail, newest first.
	Audit auditTrail
	// Actions the payment's status allows, with their default amounts.
	CanCapture, CanVoid, CanRefund bool
	Capturable, Refundable         int64
	// Done is the operation an action just made (the op parameter the
	// action's answer sends back), to say how it went.
	Done *payment.Operation
}

// opView is one operation as the page shows it.
type opView struct {
	*payment.Operation
	// Transcript is the scrubbed exchange with the gateway, indented; ""
	// when there is none.
	Transcript string
	// Withheld is set when a transcript holds what looks like a card
	// number after all: it is not shown.
	Withheld bool
}

// routeTrace is a routed payment's trace (engine routing.go's trace), as
// the page draws it: the router's choice, then each attempt.
type routeTrace struct {
	Router   string         `json:"router"`
	Rule     *int           `json:"rule"`
	Kind     string         `json:"kind"`
	Reason   string         `json:"reason"`
	Attempts []routeAttempt `json:"attempts"`
}

type routeAttempt struct {
	Gateway     string          `json:"gateway"`
	Skipped     bool            `json:"skipped"`
	Reason      string          `json:"reason"`
	Operation   string          `json:"operation"`
	Outcome     payment.Outcome `json:"outcome"`
	DeclineCode string          `json:"decline_code"`
}

// timelineEntry is a status the payment entered, when and through whom.
type timelineEntry struct {
	Status payment.Status
	Event  string
	Actor  string
	At     time.Time
}

// payment shows one payment of the account: amounts, status timeline,
// every operation with its outcome, codes and transcript, the routing
// trace, the audit trail, and (for admins) the actions its status allows.
func (s *Server) payment(w http.ResponseWriter, r *http.Request, q *request) error {
	pp, err := s.paymentPage(r, q, r.PathValue("id"))
	if err != nil {
		return err
	}
	if id := r.URL.Query().Get("op"); id != "" {
		// Only an operation of this payment: the id is looked up in it.
		for _, op := range pp.Operations {
			if op.ID == id {
				pp.Done = op
			}
		}
	}
	return s.render(w, r, q, http.StatusOK, "payment", "payments", pp)
}

func (s *Server) paymentPage(r *http.Request, q *request, id string) (*paymentPage, error) {
	ctx := r.Context()
	p, err := s.eng.Payment(ctx, q.AccountID(), id)
	if err != nil {
		return nil, err
	}
	trail, more, err := s.eng.ObjectEvents(ctx, q.AccountID(), p.ID, payment.ListParams{Limit: trailPageSize})
	if err != nil {
		return nil, err
	}
	audit, err := s.trail(ctx, q, trail, more)
	if err != nil {
		return nil, err
	}
	pp := &paymentPage{Payment: p, Audit: audit, Timeline: timeline(p, audit),
		CanCapture: engine.CheckAction(engine.ActionCapture, p.Status) == nil && p.Capturable() > 0,
		CanVoid:    engine.CheckAction(engine.ActionVoid, p.Status) == nil && !p.Unsettled(),
		CanRefund:  engine.CheckAction(engine.ActionRefund, p.Status) == nil && p.Refundable() > 0,
		Capturable: max(p.Capturable(), 0), Refundable: max(p.Refundable(), 0)}
	for _, op := range p.Operations {
		pp.Ops = append(pp.Ops, viewOperation(op))
	}
	if len(p.RoutingTrace) > 0 {
		var tr routeTrace
		if json.Unmarshal(p.RoutingTrace, &tr) == nil {
			pp.Trace = &tr
		}
	}
	return pp, nil
}

func viewOperation(op *payment.Operation) opView {
	v := opView{Operation: op}
	if len(op.Transcript) == 0 {
		return v
	}
	var b bytes.Buffer
	if json.Indent(&b, op.Transcript, "", "  ") != nil {
		b.Reset()
		b.Write(op.Transcript)
	}
	// Transcripts are scrubbed when recorded; a card number that slipped
	// through anyway is not put on a page.
	if card.ContainsPAN(b.String()) {
		v.Withheld = true
		return v
	}
	v.Transcript = b.String()
	return v
}

// timeline is the statuses p went through, oldest first: each event of
// its audit trail whose payment object shows a status other than the one
// before it, by the trail's actor. The payment's creation is the first
// entry even when its events are past the trail.
func timeline(p *payment.Payment, audit auditTrail) []timelineEntry {
	var out []timelineEntry
	var last payment.Status
	for _, e := range slices.Backward(audit.Entries) {
		ev := e.Event
		var obj struct {
			Object string         `json:"object"`
			Status payment.Status `json:"status"`
		}
		if json.Unmarshal(ev.Data, &obj) != nil || obj.Object != "payment" || obj.Status == "" || obj.Status == last {
			continue
		}
		last = obj.Status
		out = append(out, timelineEntry{Status: obj.Status, Event: ev.Type, Actor: e.Actor, At: ev.CreatedAt})
	}
	if len(out) == 0 || out[len(out)-1].Status != p.Status {
		out = append(out, timelineEntry{Status: p.Status, At: p.UpdatedAt})
	}
	return out
}

// CapturableMajor and RefundableMajor are the amount fields' defaults:
// what is left, in major units.
func (pp *paymentPage) CapturableMajor() string { return formatMajor(pp.Capturable, pp.Currency) }
func (pp *paymentPage) RefundableMajor() string { return formatMajor(pp.Refundable, pp.Currency) }
