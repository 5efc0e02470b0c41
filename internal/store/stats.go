package store

import (
	"fmt"
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
