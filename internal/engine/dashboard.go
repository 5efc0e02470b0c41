package engine

import (
	"context"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// checkPaymentFilter refuses a search the store would answer wrongly or
// expensively: an unknown status, a last four that is not four digits, a
// negative or reversed amount range, a reversed time range.
func checkPaymentFilter(f payment.PaymentFilter) error {
	if f.Status != "" && !knownStatus(f.Status) {
		return payment.Invalid(payment.CodeParameterInvalid, "status", "Unknown status '%s'.", printableName(string(f.Status)))
	}
	if f.CardLast4 != "" && !fourDigits(f.CardLast4) {
		return payment.Invalid(payment.CodeParameterInvalid, "card_last4", "card_last4 must be the last four digits of a card.")
	}
	if len(f.CardFingerprint) > maxNameLen {
		return payment.Invalid(payment.CodeParameterInvalid, "card_fingerprint", "card_fingerprint must be at most %d characters.", maxNameLen)
	}
	if f.AmountMin < 0 {
		return payment.Invalid(payment.CodeParameterInvalid, "amount_min", "amount_min must not be negative.")
	}
	if f.AmountMax < 0 {
		return payment.Invalid(payment.CodeParameterInvalid, "amount_max", "amount_max must not be negative.")
	}
	if f.AmountMax > 0 && f.AmountMin > f.AmountMax {
		return payment.Invalid(payment.CodeParameterInvalid, "amount_max", "amount_max must not be below amount_min.")
	}
	if !f.CreatedFrom.IsZero() && !f.CreatedBefore.IsZero() && !f.CreatedBefore.After(f.CreatedFrom) {
		return payment.Invalid(payment.CodeParameterInvalid, "created_before", "created_before must be after created_from.")
	}
	return nil
}

func fourDigits(s string) bool {
	if len(s) != 4 {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// ReviewQueue lists the account's payments flagged for review (the
// reconciler gave up on one of their operations), newest first, each with
// its operations: an unsettled one's ReconcileAttempts, NextReconcileAt
// and Message are what the reconciler tried. The payment's events
// (ObjectEvents) hold the rest of its story.
func (e *Engine) ReviewQueue(ctx context.Context, accountID string, p payment.ListParams) ([]*payment.Payment, bool, error) {
	return e.store.Payments(ctx, accountID, payment.PaymentFilter{RequiresReview: true, ListParams: p})
}

// ObjectEvents is the audit trail of one of the account's objects (a
// payment, gateway, webhook endpoint, API key…): its events, newest first
// (oldest first when p.Ascending). An object of another account has none.
func (e *Engine) ObjectEvents(ctx context.Context, accountID, objectID string, p payment.ListParams) ([]*payment.Event, bool, error) {
	return e.store.ObjectEvents(ctx, accountID, objectID, p)
}

// OverviewRange is the period an overview covers.
type OverviewRange string

const (
	// OverviewToday is the current UTC day, in hours.
	OverviewToday OverviewRange = "today"
	// OverviewMonth is the last 30 UTC days, today included, in days.
	OverviewMonth OverviewRange = "30d"
)

// Overview is what the dashboard's overview shows of a period: the stats
// of the payments created in [From, To), with a series of Bucket each.
type Overview struct {
	Range  OverviewRange
	From   time.Time
	To     time.Time
	Bucket time.Duration
	*payment.PaymentStats
}

// Overview sums up the account's payments of r: volume per currency,
// approval rate and latency per gateway, the series for a chart, and the
// backlog of unknown outcomes and payments to review.
func (e *Engine) Overview(ctx context.Context, accountID string, r OverviewRange) (*Overview, error) {
	today := e.clock().Truncate(24 * time.Hour)
	o := &Overview{Range: r, To: today.Add(24 * time.Hour)}
	switch r {
	case OverviewToday:
		o.From, o.Bucket = today, time.Hour
	case OverviewMonth:
		o.From, o.Bucket = today.Add(-29*24*time.Hour), 24*time.Hour
	default:
		return nil, payment.Invalid(payment.CodeParameterInvalid, "range", "range must be today or 30d.")
	}
	st, err := e.store.PaymentStats(ctx, accountID, payment.StatsQuery{From: o.From, To: o.To, Bucket: o.Bucket})
	if err != nil {
		return nil, err
	}
	o.PaymentStats = st
	return o, nil
}

// GatewayHealth is a gateway with its circuit breaker (in Detail.Health,
// as this process sees it) and its authorize and purchase attempts of
// the recent window.
type GatewayHealth struct {
	Detail *GatewayDetail
	// Recent counts the window's attempts by outcome, with latency
	// percentiles; zero when the gateway had none.
	Recent payment.GatewayStats
}

// HealthWindow is how far back GatewaysHealth looks for recent attempts.
const HealthWindow = time.Hour

// GatewaysHealth lists every gateway of the account, newest first, with
// its breaker and its attempts of the last HealthWindow.
func (e *Engine) GatewaysHealth(ctx context.Context, accountID string) ([]*GatewayHealth, error) {
	var out []*GatewayHealth
	p := payment.ListParams{Limit: 100}
	for {
		gs, more, err := e.Gateways(ctx, accountID, p)
		if err != nil {
			return nil, err
		}
		for _, g := range gs {
			out = append(out, &GatewayHealth{Detail: g, Recent: payment.GatewayStats{GatewayID: g.ID}})
		}
		if !more {
			break
		}
		p.StartingAfter = gs[len(gs)-1].ID
	}
	now := e.clock()
	st, err := e.store.PaymentStats(ctx, accountID, payment.StatsQuery{From: now.Add(-HealthWindow), To: now.Add(time.Microsecond), Bucket: HealthWindow})
	if err != nil {
		return nil, err
	}
	byID := make(map[string]payment.GatewayStats, len(st.Gateways))
	for _, g := range st.Gateways {
		byID[g.GatewayID] = g
	}
	for _, h := range out {
		if g, ok := byID[h.Detail.ID]; ok {
			h.Recent = g
		}
	}
	return out, nil
}
