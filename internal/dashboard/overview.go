package dashboard

import (
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/kassapay/kassa/internal/chart"
	"github.com/kassapay/kassa/internal/engine"
)

// overviewPage is the overview's data: the engine's sums of the period,
// the chart drawn from its series, and the gateways' rows made readable.
type overviewPage struct {
	*engine.Overview
	Chart    template.HTML
	Gateways []overviewGateway
}

// overviewGateway is one gateway's authorize and purchase attempts of the
// period.
type overviewGateway struct {
	ID                                            string
	Attempts                                      int
	Succeeded, Declined, Failed, NotSent, Unknown int
	Pending                                       int
	Approval, LatencyP50, LatencyP95              string
}

// overview is the landing page: today's volume per currency, approval
// rate and latency per gateway, payments per hour as a bar chart, and the
// backlog of unknown outcomes and payments to review, linked to their
// lists. Only today: the data layer's 30-day overview takes about a
// second at 100,000 payments, ten times the pages' budget, so the page
// does not offer it (docs/benchmarks.md, "Dashboard pages").
func (s *Server) overview(w http.ResponseWriter, r *http.Request, q *request) error {
	o, err := s.eng.Overview(r.Context(), q.AccountID(), engine.OverviewToday)
	if err != nil {
		return err
	}
	op := &overviewPage{Overview: o}
	op.Chart = chart.Bars("payments-chart", "Payments per hour today (UTC)", chart.SeriesPoints(o.Series, o.Bucket))
	for _, g := range o.Gateways {
		row := overviewGateway{ID: g.GatewayID, Succeeded: g.Succeeded, Declined: g.Declined, Failed: g.Failed,
			NotSent: g.NotSent, Unknown: g.Unknown, Pending: g.Pending, Approval: "–", LatencyP50: latency(g.LatencyP50),
			LatencyP95: latency(g.LatencyP95)}
		row.Attempts = g.Succeeded + g.Declined + g.Failed + g.NotSent + g.Unknown + g.Pending
		if g.Succeeded+g.Declined+g.Failed > 0 {
			row.Approval = fmt.Sprintf("%.1f %%", 100*g.ApprovalRate())
		}
		op.Gateways = append(op.Gateways, row)
	}
	return s.render(w, r, q, http.StatusOK, "overview", "overview", op)
}

// latency renders a percentile of gateway answers: milliseconds, or "–"
// when the gateway answered nothing.
func latency(d time.Duration) string {
	if d <= 0 {
		return "–"
	}
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%d ms", d.Milliseconds())
}
