package postgres

import (
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestRenumber(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		base int
		want string
	}{
		{"VALUES ($1, $2, $10, $2)", 0, "VALUES ($1, $2, $10, $2)"},
		{"VALUES ($1, $2, $10, $2)", 5, "VALUES ($6, $7, $15, $7)"},
		{"SET a = $9 WHERE b = $10", 91, "SET a = $100 WHERE b = $101"},
		{"unnest($8::text[])", 47, "unnest($55::text[])"},
		{"a $ b", 3, "a $ b"},
	} {
		for range 2 { // computed, then memoized
			if got := renumber(tc.sql, tc.base); got != tc.want {
				t.Errorf("renumber(%q, %d) = %q, want %q", tc.sql, tc.base, got, tc.want)
			}
		}
	}
}

// TestOneStatementInsertsIntoATableOnce: a statement's writes run in no
// set order, so a second insert into the same table is left for the next
// statement, and the seq of the rows keeps their order.
func TestOneStatementInsertsIntoATableOnce(t *testing.T) {
	m := &oneStatement{}
	m.addCAS(`UPDATE payments SET status = $2 WHERE id = $1`, "pay_1", "CAPTURED")
	m.add(insertEventSQL, make([]any, 9)...)
	if inserts(insertEventSQL) != "events" || inserts(insertOperationSQL) != "operations" || inserts(`UPDATE operations SET a = $1`) != "" {
		t.Fatal("inserts names the wrong tables")
	}
	if !m.inserted["events"] || len(m.queries) != 3 || len(m.args) != 11 {
		t.Fatalf("after an update and an event: %d queries, %d args, inserted %v", len(m.queries), len(m.args), m.inserted)
	}
	if got, want := m.sql()[len(m.sql())-len("SELECT 1 / (SELECT count(*) FROM w1)"):], "SELECT 1 / (SELECT count(*) FROM w1)"; got != want {
		t.Errorf("the statement ends %q, want %q", got, want)
	}
}

func TestOneStatementLeavesASecondEventForTheNext(t *testing.T) {
	m := &oneStatement{}
	b := &pgx.Batch{}
	b.Queue(insertEventSQL, make([]any, 9)...)
	b.Queue(`UPDATE payment_methods SET cvc_sealed = NULL WHERE id = $1`, "pm_1")
	b.Queue(insertEventSQL, make([]any, 9)...)
	rest, ok := m.addBatch(b)
	if !ok || len(rest) != 1 || rest[0].SQL != insertEventSQL || len(m.queries) != 3 {
		t.Fatalf("addBatch: ok %v, %d left, %d queries joined", ok, len(rest), len(m.queries))
	}
	checked := &pgx.Batch{}
	checked.Queue(`UPDATE payments SET a = $1`).Exec(oneRow)
	if _, ok := (&oneStatement{}).addBatch(checked); ok {
		t.Error("a query with a check of the client's was joined")
	}
}
