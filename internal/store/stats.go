package store

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// MaxStatsBuckets bounds the series of a PaymentStats query: a chart has
// room for a few hundred points, and a query may not make a store build
// millions of empty ones.
const MaxStatsBuckets = 1000

// CheckStatsQuery refuses a query the stores cannot answer: an empty or
// reversed range, a bucket that is not positive, or too many buckets.
func CheckStatsQuery(q payment.StatsQuery) error {
	if !q.To.After(q.From) {
		return fmt.Errorf("store: stats range [%s, %s) is empty", q.From, q.To)
	}
	if q.Bucket <= 0 {
		return fmt.Errorf("store: stats bucket %s is not positive", q.Bucket)
	}
	if n := buckets(q); n > MaxStatsBuckets {
		return fmt.Errorf("store: stats range of %d buckets (at most %d)", n, MaxStatsBuckets)
	}
	return nil
}

func buckets(q payment.StatsQuery) int64 {
	span := q.To.Sub(q.From)
	return int64((span + q.Bucket - 1) / q.Bucket)
}

// BucketCount is one row of a store's series query: the bucket's index
// from the range's start, and its counts.
type BucketCount struct {
	Index      int64
	Payments   int
	Authorized int
}

// FillSeries is the series of q with the counts of the buckets a store
// found (in any order) and every other bucket empty.
func FillSeries(q payment.StatsQuery, counts []BucketCount) []payment.StatsBucket {
	series := make([]payment.StatsBucket, buckets(q))
	for i := range series {
		series[i].Start = q.From.Add(time.Duration(i) * q.Bucket).UTC()
	}
	for _, c := range counts {
		if c.Index >= 0 && c.Index < int64(len(series)) {
			series[c.Index].Payments += c.Payments
			series[c.Index].Authorized += c.Authorized
		}
	}
	return series
}

// PaymentRow is one row of a store's payment stats query: the payments of
// one bucket (index from the range's start) in one currency, those that
// authorized money, and the sum of the latter's amounts.
type PaymentRow struct {
	Bucket     int64
	Currency   string
	Payments   int
	Authorized int
	Amount     int64
}

// AttemptRow is one row of a store's attempts query: how many authorize
// and purchase operations of a gateway had an outcome and, for answered
// ones (succeeded, declined, failed), took Millis milliseconds from
// created to settled (-1 for the others).
type AttemptRow struct {
	GatewayID string
	Outcome   payment.Outcome
	Millis    int64
	Count     int
}

// BuildStats is the PaymentStats of q from a store's rows (in any
// order): volume per currency, the series with its empty buckets, and
// per gateway the attempts by outcome with nearest-rank latency
// percentiles at millisecond resolution. Stores group in SQL and leave
// the arithmetic here, so that both compute it alike and neither sorts
// every attempt of a month to rank it.
func BuildStats(q payment.StatsQuery, pays []PaymentRow, attempts []AttemptRow) *payment.PaymentStats {
	st := &payment.PaymentStats{Volume: []payment.CurrencyVolume{}, Gateways: []payment.GatewayStats{}}
	counts := make([]BucketCount, 0, len(pays))
	volume := map[string]*payment.CurrencyVolume{}
	for _, r := range pays {
		counts = append(counts, BucketCount{Index: r.Bucket, Payments: r.Payments, Authorized: r.Authorized})
		if r.Authorized == 0 {
			continue
		}
		v := volume[r.Currency]
		if v == nil {
			v = &payment.CurrencyVolume{Currency: r.Currency}
			volume[r.Currency] = v
		}
		v.Count += r.Authorized
		v.Amount += r.Amount
	}
	for _, v := range volume {
		st.Volume = append(st.Volume, *v)
	}
	slices.SortFunc(st.Volume, func(a, b payment.CurrencyVolume) int { return strings.Compare(a.Currency, b.Currency) })
	st.Series = FillSeries(q, counts)

	gws := map[string]*payment.GatewayStats{}
	latencies := map[string][]AttemptRow{}
	for _, r := range attempts {
		g := gws[r.GatewayID]
		if g == nil {
			g = &payment.GatewayStats{GatewayID: r.GatewayID}
			gws[r.GatewayID] = g
		}
		switch r.Outcome {
		case payment.OutcomeSucceeded:
			g.Succeeded += r.Count
		case payment.OutcomeDeclined:
			g.Declined += r.Count
		case payment.OutcomeFailed:
			g.Failed += r.Count
		case payment.OutcomeNotSent:
			g.NotSent += r.Count
		case payment.OutcomeUnknown:
			g.Unknown += r.Count
		case payment.OutcomePending:
			g.Pending += r.Count
		}
		if r.Millis >= 0 {
			latencies[r.GatewayID] = append(latencies[r.GatewayID], r)
		}
	}
	for id, g := range gws {
		g.LatencyP50, g.LatencyP95 = percentile(latencies[id], 50), percentile(latencies[id], 95)
		st.Gateways = append(st.Gateways, *g)
	}
	slices.SortFunc(st.Gateways, func(a, b payment.GatewayStats) int { return strings.Compare(a.GatewayID, b.GatewayID) })
	return st
}

// percentile is the nearest-rank p-th percentile of the latencies rows
// count (0 when there are none).
func percentile(rows []AttemptRow, p int) time.Duration {
	slices.SortFunc(rows, func(a, b AttemptRow) int { return cmp.Compare(a.Millis, b.Millis) })
	n := 0
	for _, r := range rows {
		n += r.Count
	}
	if n == 0 {
		return 0
	}
	rank := (n*p + 99) / 100
	seen := 0
	for _, r := range rows {
		seen += r.Count
		if seen >= rank {
			return time.Duration(r.Millis) * time.Millisecond
		}
	}
	return 0
}
