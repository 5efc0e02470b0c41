package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store"
)

const eventColumns = `id, account_id, type, object_id, data, created_at, actor`

func insertEvent(ctx context.Context, tx *wtx, ev *payment.Event) error {
	var data sql.Null[string]
	if ev.Data != nil {
		data = sql.Null[string]{V: string(ev.Data), Valid: true}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO events (`+eventColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		ev.ID, ev.AccountID, ev.Type, ev.ObjectID, data, micros(ev.CreatedAt), ev.Actor)
	if err != nil {
		return translate(err, ev.AccountID)
	}
	return fanOut(ctx, tx, ev)
}

func scanEvent(sc scanner) (*payment.Event, error) {
	var ev payment.Event
	var data sql.Null[string]
	var created int64
	if err := sc.Scan(&ev.ID, &ev.AccountID, &ev.Type, &ev.ObjectID, &data, &created, &ev.Actor); err != nil {
		return nil, err
	}
	if data.Valid {
		ev.Data = []byte(data.V)
	}
	ev.CreatedAt = fromMicros(created)
	return &ev, nil
}

// Events lists the account's events, newest first (oldest first when
// p.Ascending).
func (s *Store) Events(ctx context.Context, accountID string, p payment.ListParams) ([]*payment.Event, bool, error) {
	evs, more, err := list(ctx, s.reader, "event", "events", eventColumns, accountID, p, scanEvent)
	return evs, more, fail("list events", err)
}

// ObjectEvents lists the account's events about objectID, by the index
// on (account_id, object_id, seq).
func (s *Store) ObjectEvents(ctx context.Context, accountID, objectID string, p payment.ListParams) ([]*payment.Event, bool, error) {
	evs, more, err := listWhere(ctx, s.reader, "event", "events", eventColumns, accountID, `object_id = ?`, []any{objectID}, p, scanEvent)
	return evs, more, fail("list object events", err)
}

// list returns a page of table's rows of the account, newest first (by
// seq) or oldest first when p.Ascending, and whether more rows follow in
// that order. noun names the objects in a starting_after error. table and
// columns are constants of this package, never input.
func list[T any](ctx context.Context, db *sql.DB, noun, table, columns, accountID string, p payment.ListParams, scan func(scanner) (T, error)) ([]T, bool, error) {
	return listWhere(ctx, db, noun, table, columns, accountID, "", nil, p, scan)
}

// listWhere is list of the rows that also match cond (with its arguments
// args; no condition when cond is empty). The cursor is any row of the
// account, matching cond or not.
func listWhere[T any](ctx context.Context, db *sql.DB, noun, table, columns, accountID, cond string, condArgs []any,
	p payment.ListParams, scan func(scanner) (T, error)) ([]T, bool, error) {
	// One read transaction: the cursor and the page come from the same
	// snapshot.
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, false, err
	}
	defer tx.Rollback()
	return listWhereIn(ctx, tx, noun, table, columns, accountID, cond, condArgs, p, scan)
}

// listWhereIn is listWhere inside the read transaction tx.
func listWhereIn[T any](ctx context.Context, tx *sql.Tx, noun, table, columns, accountID, cond string, condArgs []any,
	p payment.ListParams, scan func(scanner) (T, error)) ([]T, bool, error) {
	limit := store.PageLimit(p.Limit)
	where := `account_id = ?`
	args := []any{accountID}
	if p.StartingAfter != "" {
		seq, err := cursorSeq(ctx, tx, noun, table, accountID, p.StartingAfter)
		if err != nil {
			return nil, false, err
		}
		where += ` AND ` + afterSeq(p.Ascending)
		args = append(args, seq)
	}
	if cond != "" {
		where += ` AND ` + cond
		args = append(args, condArgs...)
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+columns+` FROM `+table+`
		WHERE `+where+` ORDER BY `+seqOrder(p.Ascending)+` LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	items := make([]T, 0, limit)
	for rows.Next() {
		item, err := scan(rows)
		if err != nil {
			return nil, false, err
		}
		items = append(items, item)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	if len(items) > limit {
		return items[:limit], true, nil
	}
	return items, false, nil
}

// cursorSeq returns the seq of the account's row id of table, the cursor of
// a list; ErrNotFound (param "starting_after") if there is none.
func cursorSeq(ctx context.Context, q querier, noun, table, accountID, id string) (int64, error) {
	var seq int64
	err := q.QueryRowContext(ctx, `SELECT seq FROM `+table+` WHERE account_id = ? AND id = ?`, accountID, id).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, store.CursorNotFound(noun, id)
	}
	return seq, err
}

// afterSeq is the condition on seq of the rows that follow a cursor (its
// seq the next argument) in a list's order.
func afterSeq(ascending bool) string {
	if ascending {
		return `seq > ?`
	}
	return `seq < ?`
}

// seqOrder is the ORDER BY of a list: newest first unless ascending.
func seqOrder(ascending bool) string {
	if ascending {
		return `seq`
	}
	return `seq DESC`
}
