package postgres

import (
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
)

// oneStatement joins writes into one statement, each a WITH query of it:
// the server parses, plans, starts and ends one statement instead of one
// per write, and runs it as one transaction when it is sent outside a
// transaction block. Every write runs to completion whether or not the
// statement reads it. Compare-and-set updates (addCAS) make the statement
// fail with staleRow unless each changed exactly one row, which rolls all
// of it back.
//
// The writes of one statement run in no set order, so it inserts into a
// table at most once: rows inserted into one table take their seq in the
// order they are written, and the order of a payment's operations or of
// its events is part of what is stored.
type oneStatement struct {
	queries  []string
	args     []any
	checks   []string        // the names of the queries that must change one row
	inserted map[string]bool // the tables inserted into
}

// insertInto finds the table an INSERT of this package writes.
var insertInto = regexp.MustCompile(`^\s*INSERT INTO (\w+)`)

// inserts returns the table sql inserts into, or "" if it inserts into
// none.
func inserts(sql string) string {
	if sql == insertEventSQL {
		return "events"
	}
	if m := insertInto.FindStringSubmatch(sql); m != nil {
		return m[1]
	}
	return ""
}

// renumbered memoizes renumber: the statements joined are a handful of
// shapes, and renumbering them anew would cost more than the server saves.
var renumbered struct {
	sync.RWMutex
	m map[renumberKey]string
}

type renumberKey struct {
	sql  string
	base int
}

// renumber adds base to the number of every parameter ($1, $2, …) of sql,
// a statement of this package: none of them holds a dollar sign anywhere
// else.
func renumber(sql string, base int) string {
	if base == 0 {
		return sql
	}
	k := renumberKey{sql, base}
	renumbered.RLock()
	r, ok := renumbered.m[k]
	renumbered.RUnlock()
	if ok {
		return r
	}
	var b strings.Builder
	b.Grow(len(sql) + len(sql)/8)
	for i := 0; i < len(sql); i++ {
		if sql[i] != '$' {
			b.WriteByte(sql[i])
			continue
		}
		j := i + 1
		for j < len(sql) && sql[j] >= '0' && sql[j] <= '9' {
			j++
		}
		n, err := strconv.Atoi(sql[i+1 : j])
		if err != nil {
			b.WriteByte('$')
			continue
		}
		b.WriteString("$" + strconv.Itoa(n+base))
		i = j - 1
	}
	r = b.String()
	renumbered.Lock()
	if len(renumbered.m) >= 1000 || renumbered.m == nil {
		renumbered.m = map[renumberKey]string{} // bounded: start over
	}
	renumbered.m[k] = r
	renumbered.Unlock()
	return r
}

// add joins sql, numbered from $1 for args, to the statement.
func (m *oneStatement) add(sql string, args ...any) {
	if t := inserts(sql); t != "" {
		if m.inserted == nil {
			m.inserted = map[string]bool{}
		}
		m.inserted[t] = true
	}
	base := len(m.args)
	m.args = append(m.args, args...)
	if sql == insertEventSQL {
		// A WITH query may not hold a WITH of writes: the event and its
		// fan-out become two queries of the statement.
		m.queries = append(m.queries, renumber(eventInsertSQL, base), renumber(eventFanOutSQL, base))
		return
	}
	m.queries = append(m.queries, renumber(sql, base))
}

// addCAS joins a compare-and-set UPDATE of one row by its key, which must
// find that row as held.
func (m *oneStatement) addCAS(update string, args ...any) {
	m.add(update+` RETURNING 1`, args...)
	m.checks = append(m.checks, "w"+strconv.Itoa(len(m.queries)))
}

// addBatch joins b's queries up to the first that inserts into a table
// the statement inserts into already, and returns the rest, to be sent
// after the statement in the same transaction. It reports false, joining
// nothing, if a query of b has a check of the client's, which one
// statement cannot run.
func (m *oneStatement) addBatch(b *pgx.Batch) ([]*pgx.QueuedQuery, bool) {
	for _, q := range b.QueuedQueries {
		if q.Fn != nil {
			return nil, false
		}
	}
	for i, q := range b.QueuedQueries {
		if t := inserts(q.SQL); t != "" && m.inserted[t] {
			return b.QueuedQueries[i:], true
		}
		m.add(q.SQL, q.Arguments...)
	}
	return nil, true
}

// sql is the joined statement. It selects 1 divided by the count of the
// rows each compare-and-set update changed: a count known only once the
// update ran, so no plan can fold the division by zero into an error of
// its own.
func (m *oneStatement) sql() string {
	var b strings.Builder
	n := 32 + 32*len(m.checks)
	for _, q := range m.queries {
		n += len(q) + 16
	}
	b.Grow(n)
	b.WriteString("WITH ")
	for i, q := range m.queries {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString("w")
		b.WriteString(strconv.Itoa(i + 1))
		b.WriteString(" AS (")
		b.WriteString(q)
		b.WriteString(")")
	}
	b.WriteString("\nSELECT 1")
	for _, c := range m.checks {
		b.WriteString(" / (SELECT count(*) FROM ")
		b.WriteString(c)
		b.WriteString(")")
	}
	return b.String()
}
