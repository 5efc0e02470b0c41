package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestOperationsOfAPaymentUseItsIndex: reading a payment's operations
// must not walk every operation of its account, or every settle gets
// slower as the account grows. The plan is checked, not a timing.
// queryPlan returns SQLite's plan of q with args, its steps joined by
// "; ".
func queryPlan(t *testing.T, s *Store, q string, args ...any) string {
	t.Helper()
	rows, err := s.reads.QueryContext(context.Background(), `EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notUsed int
		var detail string
		if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "; ")
}

func TestOperationsOfAPaymentUseItsIndex(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "kassa.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, n := range []int{1, 3} {
		args := []any{"T00000001"}
		for range n {
			args = append(args, "pay_x")
		}
		joined := queryPlan(t, s, operationsOfPaymentsSQL(n), args...)
		if !strings.Contains(joined, "USING INDEX operations_account_payment") || strings.Contains(joined, "operations_account_seq") ||
			strings.Contains(joined, "SCAN operations") {
			t.Errorf("plan for %d payments: %s; want a search by operations_account_payment", n, joined)
		}
	}
}
