package postgres

import (
	"context"
	"errors"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store"
)

const eventColumns = `id, account_id, type, object_id, data, created_at, actor`

// insertEventSQL inserts an event and, in the same statement, a delivery
// of it to each of its account's enabled endpoints that subscribe to its
// type ($8: store.EventPatterns): an event that commits has its
// deliveries, and none is found later by scanning for new events (whose
// identity values may commit out of order). $7 is the start of the
// deliveries' ids (store.DeliveryIDPrefix).
const insertEventSQL = `WITH event AS (` + eventInsertSQL + `) ` + eventFanOutSQL

// eventInsertSQL and eventFanOutSQL are insertEventSQL's two statements,
// which share its arguments; oneStatement joins them to others.
const (
	eventInsertSQL = `INSERT INTO events (` + eventColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $9)`
	eventFanOutSQL = `INSERT INTO webhook_deliveries (id, account_id, endpoint_id, event_id, message_id,
		signer, queue, live, state, next_attempt_at, created_at, updated_at)
	SELECT $7 || substr(replace(gen_random_uuid()::text, '-', ''), 1, 16), account_id, id, $1, $1,
		'standard', id, live, 'pending', $6, $6, $6
	FROM webhook_endpoints
	WHERE account_id = $2 AND disabled_at IS NULL
	AND EXISTS (SELECT 1 FROM unnest($8::text[]) AS p WHERE strpos(event_match, p) > 0)`
)

func insertEvent(ctx context.Context, tx pgx.Tx, ev *payment.Event) error {
	_, err := tx.Exec(ctx, insertEventSQL, eventValues(ev)...)
	return translate(err, ev.AccountID)
}

// queueEvent queues the insert of ev into b; the caller translates b's
// error.
func queueEvent(b *pgx.Batch, ev *payment.Event) {
	b.Queue(insertEventSQL, eventValues(ev)...)
}

// eventValues are insertEventSQL's arguments for ev.
func eventValues(ev *payment.Event) []any {
	var data *string
	if ev.Data != nil {
		data = new(string(ev.Data))
	}
	return []any{ev.ID, ev.AccountID, ev.Type, ev.ObjectID, data, ts(ev.CreatedAt),
		store.DeliveryIDPrefix(ev), store.EventPatterns(ev.Type), ev.Actor}
}

func scanEvent(row pgx.Row) (*payment.Event, error) {
	var ev payment.Event
	var data *string
	if err := row.Scan(&ev.ID, &ev.AccountID, &ev.Type, &ev.ObjectID, &data, &ev.CreatedAt, &ev.Actor); err != nil {
		return nil, err
	}
	if data != nil {
		ev.Data = []byte(*data)
	}
	ev.CreatedAt = utc(ev.CreatedAt)
	return &ev, nil
}

// Events lists the account's events, newest first (oldest first when
// p.Ascending).
func (s *Store) Events(ctx context.Context, accountID string, p payment.ListParams) ([]*payment.Event, bool, error) {
	evs, more, err := list(ctx, s, "event", "events", eventColumns, accountID, p, scanEvent)
	return evs, more, fail("list events", err)
}

// ObjectEvents lists the account's events about objectID, by the index
// on (account_id, object_id, seq).
func (s *Store) ObjectEvents(ctx context.Context, accountID, objectID string, p payment.ListParams) ([]*payment.Event, bool, error) {
	var evs []*payment.Event
	var more bool
	err := s.withConn(ctx, func(q querier) error {
		var err error
		evs, more, err = listWhere(ctx, q, "event", "events", eventColumns, accountID,
			func(arg func(any) string) string { return `object_id = ` + arg(objectID) }, p, scanEvent)
		return err
	})
	return evs, more, fail("list object events", err)
}

// list returns a page of table's rows of the account, newest first (by
// seq) or oldest first when p.Ascending, and whether more rows follow in
// that order. noun names the objects in a
// starting_after error. table and columns are constants of this package,
// never input.
func list[T any](ctx context.Context, s *Store, noun, table, columns, accountID string, p payment.ListParams, scan func(pgx.Row) (T, error)) ([]T, bool, error) {
	var items []T
	var more bool
	err := s.withConn(ctx, func(q querier) error {
		var err error
		items, more, err = listWhere(ctx, q, noun, table, columns, accountID, nil, p, scan)
		return err
	})
	return items, more, err
}

// cursorSeq returns the seq of the account's row id of table, the cursor of
// a list; ErrNotFound (param "starting_after") if there is none.
func cursorSeq(ctx context.Context, q querier, noun, table, accountID, id string) (int64, error) {
	var seq int64
	err := q.QueryRow(ctx, `SELECT seq FROM `+table+` WHERE account_id = $1 AND id = $2`, accountID, id).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, store.CursorNotFound(noun, id)
	}
	return seq, err
}

// afterSeq is the condition on seq of the rows that follow a cursor whose
// seq is the parameter param ("$2") in a list's order.
func afterSeq(ascending bool, param string) string {
	if ascending {
		return `seq > ` + param
	}
	return `seq < ` + param
}

// seqOrder is the ORDER BY of a list: newest first unless ascending.
func seqOrder(ascending bool) string {
	if ascending {
		return `seq`
	}
	return `seq DESC`
}

// listWhere is list of the rows that also match the condition filter
// writes (none when filter is nil or writes ""); filter calls arg with
// each value it compares with, for the placeholder to write in its place.
// The cursor is any row of the account, matching the condition or not.
func listWhere[T any](ctx context.Context, q querier, noun, table, columns, accountID string, filter func(arg func(any) string) string,
	p payment.ListParams, scan func(pgx.Row) (T, error)) ([]T, bool, error) {
	limit := store.PageLimit(p.Limit)
	args := []any{accountID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	where := `account_id = $1`
	if p.StartingAfter != "" {
		seq, err := cursorSeq(ctx, q, noun, table, accountID, p.StartingAfter)
		if err != nil {
			return nil, false, err
		}
		where += ` AND ` + afterSeq(p.Ascending, arg(seq))
	}
	if filter != nil {
		if cond := filter(arg); cond != "" {
			where += ` AND ` + cond
		}
	}
	rows, err := q.Query(ctx, `SELECT `+columns+` FROM `+table+`
		WHERE `+where+` ORDER BY `+seqOrder(p.Ascending)+` LIMIT `+arg(limit+1), args...)
	if err != nil {
		return nil, false, err
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
	if err != nil {
		return nil, false, err
	}
	if items == nil {
		items = []T{}
	}
	if len(items) > limit {
		return items[:limit], true, nil
	}
	return items, false, nil
}
