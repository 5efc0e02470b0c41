package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store"
)

const webhookEndpointColumns = `id, account_id, url, description, metadata, enabled_events, live,
	secret_sealed, secret_version, old_secret_sealed, old_secret_version, old_secret_expires_at,
	disabled_at, disabled_reason, failing_since, created_at, updated_at`

func scanWebhookEndpoint(row pgx.Row) (*payment.WebhookEndpoint, error) {
	var we payment.WebhookEndpoint
	var metadata, events []byte
	err := row.Scan(&we.ID, &we.AccountID, &we.URL, &we.Description, &metadata, &events, &we.Live,
		&we.SecretSealed, &we.SecretVersion, &we.OldSecretSealed, &we.OldSecretVersion, &we.OldSecretExpiresAt,
		&we.DisabledAt, &we.DisabledReason, &we.FailingSince, &we.CreatedAt, &we.UpdatedAt)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(metadata, &we.Metadata); err != nil {
		return nil, fmt.Errorf("webhook endpoint %s: metadata: %w", we.ID, err)
	}
	if err := json.Unmarshal(events, &we.EnabledEvents); err != nil {
		return nil, fmt.Errorf("webhook endpoint %s: enabled events: %w", we.ID, err)
	}
	we.OldSecretExpiresAt = utcPtr(we.OldSecretExpiresAt)
	we.DisabledAt = utcPtr(we.DisabledAt)
	we.FailingSince = utcPtr(we.FailingSince)
	we.CreatedAt = utc(we.CreatedAt)
	we.UpdatedAt = utc(we.UpdatedAt)
	return &we, nil
}

// webhookEndpointValues are we's columns in the order of
// webhookEndpointColumns, then its event_match.
func webhookEndpointValues(we *payment.WebhookEndpoint) ([]any, error) {
	metadata, err := json.Marshal(we.Metadata)
	if err != nil {
		return nil, err
	}
	events, err := json.Marshal(we.EnabledEvents)
	if err != nil {
		return nil, err
	}
	return []any{we.ID, we.AccountID, we.URL, we.Description, string(metadata), string(events), we.Live,
		we.SecretSealed, we.SecretVersion, we.OldSecretSealed, we.OldSecretVersion, tsPtr(we.OldSecretExpiresAt),
		tsPtr(we.DisabledAt), we.DisabledReason, tsPtr(we.FailingSince), ts(we.CreatedAt), ts(we.UpdatedAt),
		store.EventMatch(we.EnabledEvents)}, nil
}

// placeholders returns "$from, …, $to".
func placeholders(from, to int) string {
	s := ""
	for i := from; i <= to; i++ {
		if i > from {
			s += ", "
		}
		s += "$" + strconv.Itoa(i)
	}
	return s
}

// CreateWebhookEndpoint inserts we with ev.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, we *payment.WebhookEndpoint, ev *payment.Event) error {
	if err := store.CheckEvent(we.AccountID, ev); err != nil {
		return err
	}
	vals, err := webhookEndpointValues(we)
	if err != nil {
		return fail("create webhook endpoint", err)
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO webhook_endpoints (`+webhookEndpointColumns+`, event_match)
			VALUES (`+placeholders(1, 18)+`)`, vals...); err != nil {
			return translate(err, we.AccountID)
		}
		return insertEvent(ctx, tx, ev)
	})
	return fail("create webhook endpoint", err)
}

// WebhookEndpoint returns the account's endpoint id.
func (s *Store) WebhookEndpoint(ctx context.Context, accountID, id string) (*payment.WebhookEndpoint, error) {
	var we *payment.WebhookEndpoint
	err := s.withConn(ctx, func(q querier) error {
		var err error
		we, err = webhookEndpoint(ctx, q, accountID, id, "")
		return err
	})
	return we, fail("get webhook endpoint", err)
}

func webhookEndpoint(ctx context.Context, q querier, accountID, id, lock string) (*payment.WebhookEndpoint, error) {
	we, err := scanWebhookEndpoint(q.QueryRow(ctx, `SELECT `+webhookEndpointColumns+` FROM webhook_endpoints
		WHERE account_id = $1 AND id = $2 `+lock, accountID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, payment.NotFound("webhook_endpoint", id)
	}
	return we, err
}

// WebhookEndpoints lists the account's endpoints, newest first.
func (s *Store) WebhookEndpoints(ctx context.Context, accountID string, p payment.ListParams) ([]*payment.WebhookEndpoint, bool, error) {
	wes, more, err := list(ctx, s, "webhook_endpoint", "webhook_endpoints", webhookEndpointColumns, accountID, p, scanWebhookEndpoint)
	return wes, more, fail("list webhook endpoints", err)
}

// UpdateWebhookEndpoint runs fn on the locked endpoint and writes back the
// result with fn's event.
func (s *Store) UpdateWebhookEndpoint(ctx context.Context, accountID, id string, fn func(*payment.WebhookEndpoint) (*payment.Event, error)) (*payment.WebhookEndpoint, error) {
	var we *payment.WebhookEndpoint
	var fnErr error
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if we, err = webhookEndpoint(ctx, tx, accountID, id, "FOR UPDATE"); err != nil {
			return err
		}
		ev, err := fn(we)
		if err != nil {
			fnErr = err
			return err
		}
		if we.ID != id || we.AccountID != accountID {
			return fmt.Errorf("update of webhook endpoint %s changed its id or account", id)
		}
		vals, err := webhookEndpointValues(we)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET url = $1, description = $2, metadata = $3,
			enabled_events = $4, live = $5, secret_sealed = $6, secret_version = $7, old_secret_sealed = $8,
			old_secret_version = $9, old_secret_expires_at = $10, disabled_at = $11, disabled_reason = $12,
			failing_since = $13, created_at = $14, updated_at = $15, event_match = $16
			WHERE account_id = $17 AND id = $18`, append(vals[2:], accountID, id)...); err != nil {
			return err
		}
		if ev != nil {
			if err := store.CheckEvent(accountID, ev); err != nil {
				return err
			}
			return insertEvent(ctx, tx, ev)
		}
		return nil
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, fail("update webhook endpoint", err)
	}
	return normalEndpoint(we), nil
}

// normalEndpoint gives we's times as the store keeps them.
func normalEndpoint(we *payment.WebhookEndpoint) *payment.WebhookEndpoint {
	we.OldSecretExpiresAt = tsPtr(we.OldSecretExpiresAt)
	we.DisabledAt = tsPtr(we.DisabledAt)
	we.FailingSince = tsPtr(we.FailingSince)
	we.CreatedAt = ts(we.CreatedAt)
	we.UpdatedAt = ts(we.UpdatedAt)
	return we
}

// DeleteWebhookEndpoint deletes the endpoint with its deliveries and their
// attempts, and writes ev.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, accountID, id string, ev *payment.Event) error {
	if err := store.CheckEvent(accountID, ev); err != nil {
		return err
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM webhook_endpoints WHERE account_id = $1 AND id = $2`, accountID, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return payment.NotFound("webhook_endpoint", id)
		}
		return insertEvent(ctx, tx, ev)
	})
	return fail("delete webhook endpoint", err)
}

const webhookDeliveryColumns = `id, account_id, endpoint_id, event_id, message_id, signer, signer_key, method, url,
	headers, body, queue, live, state, attempts, next_attempt_at, lease_token, last_attempt_at, last_status,
	last_error, completed_at, created_at, updated_at`

func scanWebhookDelivery(row pgx.Row) (*payment.WebhookDelivery, error) {
	var d payment.WebhookDelivery
	var endpoint, event *string
	var headers []byte
	var state string
	err := row.Scan(&d.ID, &d.AccountID, &endpoint, &event, &d.MessageID, &d.Signer, &d.SignerKey, &d.Method, &d.URL,
		&headers, &d.Body, &d.Queue, &d.Live, &state, &d.Attempts, &d.NextAttemptAt, &d.LeaseToken, &d.LastAttemptAt,
		&d.LastStatus, &d.LastError, &d.CompletedAt, &d.CreatedAt, &d.UpdatedAt)
	if err != nil {
		return nil, err
	}
	if endpoint != nil {
		d.EndpointID = *endpoint
	}
	if event != nil {
		d.EventID = *event
	}
	if headers != nil {
		if err := json.Unmarshal(headers, &d.Headers); err != nil {
			return nil, fmt.Errorf("webhook delivery %s: headers: %w", d.ID, err)
		}
	}
	d.State = payment.WebhookDeliveryState(state)
	d.NextAttemptAt = utc(d.NextAttemptAt)
	d.LastAttemptAt = utcPtr(d.LastAttemptAt)
	d.CompletedAt = utcPtr(d.CompletedAt)
	d.CreatedAt = utc(d.CreatedAt)
	d.UpdatedAt = utc(d.UpdatedAt)
	return &d, nil
}

func collectDeliveries(rows pgx.Rows, err error) ([]*payment.WebhookDelivery, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*payment.WebhookDelivery, error) { return scanWebhookDelivery(r) })
}

// nullText is s, or NULL when empty.
func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// CreateWebhookDeliveries inserts ds.
func (s *Store) CreateWebhookDeliveries(ctx context.Context, ds []*payment.WebhookDelivery) error {
	b := &pgx.Batch{}
	for _, d := range ds {
		var headers *string
		if d.Headers != nil {
			h, err := json.Marshal(d.Headers)
			if err != nil {
				return fail("create webhook deliveries", err)
			}
			headers = new(string(h))
		}
		method := d.Method
		if method == "" {
			method = "POST"
		}
		b.Queue(`INSERT INTO webhook_deliveries (`+webhookDeliveryColumns+`) VALUES (`+placeholders(1, 23)+`)`,
			d.ID, d.AccountID, nullText(d.EndpointID), nullText(d.EventID), d.MessageID, d.Signer, d.SignerKey,
			method, d.URL, headers, d.Body, d.Queue, d.Live, string(d.State), d.Attempts,
			ts(d.NextAttemptAt), d.LeaseToken, tsPtr(d.LastAttemptAt), d.LastStatus, d.LastError,
			tsPtr(d.CompletedAt), ts(d.CreatedAt), ts(d.UpdatedAt))
	}
	err := s.sendBatch(ctx, b)
	if len(ds) > 0 {
		err = translate(err, ds[0].AccountID)
	}
	return fail("create webhook deliveries", err)
}

// claimWindow bounds the due deliveries one claim looks at, so that a
// backlog of many thousands costs a claim no more than a thousand.
const claimWindow = 1000

// ClaimWebhookDeliveries leases due deliveries (see payment.WebhookStore).
// Rows another process is claiming are skipped, not waited for; the
// UPDATE checks each row again, so none is leased twice.
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, now, leaseUntil time.Time, busy []string, perQueue, limit int) ([]*payment.WebhookDelivery, error) {
	if limit <= 0 || perQueue <= 0 {
		return []*payment.WebhookDelivery{}, nil
	}
	if busy == nil {
		busy = []string{}
	}
	token := payment.RandomString(16)
	var ds []*payment.WebhookDelivery
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		ds, err = collectDeliveries(tx.Query(ctx, `WITH due AS (
				SELECT seq, queue, next_attempt_at FROM webhook_deliveries
				WHERE state = 'pending' AND next_attempt_at <= $1 AND NOT (queue = ANY($2))
				ORDER BY next_attempt_at LIMIT $3
			), chosen AS (
				SELECT seq FROM (
					SELECT seq, next_attempt_at,
						row_number() OVER (PARTITION BY queue ORDER BY next_attempt_at, seq) AS n
					FROM due) AS ranked
				WHERE n <= $4 ORDER BY next_attempt_at, seq LIMIT $5
			), locked AS (
				SELECT seq FROM webhook_deliveries
				WHERE seq IN (SELECT seq FROM chosen) AND state = 'pending' AND next_attempt_at <= $1
				FOR UPDATE SKIP LOCKED
			)
			UPDATE webhook_deliveries d
			SET attempts = attempts + 1, lease_token = $6, next_attempt_at = $7, updated_at = $1
			FROM locked WHERE d.seq = locked.seq
			RETURNING `+webhookDeliveryColumns,
			ts(now), busy, claimWindow, perQueue, limit, token, ts(leaseUntil)))
		if err != nil {
			return err
		}
		return attachWebhookObjects(ctx, tx, ds)
	})
	if err != nil {
		return nil, fail("claim webhook deliveries", err)
	}
	return ds, nil
}

// attachWebhookObjects fills in each delivery's endpoint and event, with
// one query for the endpoints and one for the events of the lot. An
// object is attached only to a delivery of its own account.
func attachWebhookObjects(ctx context.Context, q querier, ds []*payment.WebhookDelivery) error {
	var endpointIDs, eventIDs []string
	for _, d := range ds {
		if d.EndpointID != "" {
			endpointIDs = append(endpointIDs, d.EndpointID)
		}
		if d.EventID != "" {
			eventIDs = append(eventIDs, d.EventID)
		}
	}
	endpoints := map[string]*payment.WebhookEndpoint{}
	if len(endpointIDs) > 0 {
		rows, err := q.Query(ctx, `SELECT `+webhookEndpointColumns+` FROM webhook_endpoints WHERE id = ANY($1)`, endpointIDs)
		if err != nil {
			return err
		}
		wes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*payment.WebhookEndpoint, error) { return scanWebhookEndpoint(r) })
		if err != nil {
			return err
		}
		for _, we := range wes {
			endpoints[we.ID] = we
		}
	}
	events := map[string]*payment.Event{}
	if len(eventIDs) > 0 {
		rows, err := q.Query(ctx, `SELECT `+eventColumns+` FROM events WHERE id = ANY($1)`, eventIDs)
		if err != nil {
			return err
		}
		evs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*payment.Event, error) { return scanEvent(r) })
		if err != nil {
			return err
		}
		for _, ev := range evs {
			events[ev.ID] = ev
		}
	}
	for _, d := range ds {
		if we := endpoints[d.EndpointID]; we != nil && we.AccountID == d.AccountID {
			d.Endpoint = we
		}
		if ev := events[d.EventID]; ev != nil && ev.AccountID == d.AccountID {
			d.Event = ev
		}
	}
	return nil
}

// ReleaseWebhookDelivery gives a claimed delivery back unattempted.
func (s *Store) ReleaseWebhookDelivery(ctx context.Context, d *payment.WebhookDelivery, when time.Time) error {
	err := s.withConn(ctx, func(q querier) error {
		_, err := q.Exec(ctx, `UPDATE webhook_deliveries
			SET attempts = attempts - 1, lease_token = '', next_attempt_at = $1
			WHERE id = $2 AND lease_token = $3 AND state = 'pending'`, ts(when), d.ID, d.LeaseToken)
		return err
	})
	return fail("release webhook delivery", err)
}

// CompleteWebhookDelivery records a claimed delivery's attempt and its
// consequences.
func (s *Store) CompleteWebhookDelivery(ctx context.Context, d *payment.WebhookDelivery, r *payment.WebhookResult) error {
	a := r.Attempt
	lost := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO webhook_attempts (id, account_id, delivery_id, endpoint_id, event_id,
				event_type, attempt, url, started_at, latency_us, status_code, error, response_body, succeeded)
			VALUES (`+placeholders(1, 14)+`)`,
			a.ID, a.AccountID, a.DeliveryID, nullText(a.EndpointID), nullText(a.EventID), a.EventType, a.Attempt, a.URL,
			ts(a.StartedAt), a.Latency.Microseconds(), a.StatusCode, a.Error, a.ResponseBody, a.Succeeded); err != nil {
			return translate(err, a.AccountID)
		}
		var completed *time.Time
		end := ts(a.StartedAt.Add(a.Latency))
		if r.State != payment.DeliveryPending {
			completed = &end
		}
		tag, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET state = $1, next_attempt_at = $2, lease_token = '',
				last_attempt_at = $3, last_status = $4, last_error = $5, completed_at = $6, updated_at = $7
			WHERE id = $8 AND lease_token = $9 AND state = 'pending'`,
			string(r.State), ts(r.NextAttemptAt), ts(a.StartedAt), a.StatusCode, a.Error, completed, end, d.ID, d.LeaseToken)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			lost = true
			return nil
		}
		if d.EndpointID == "" || r.Health == payment.HealthUnknown {
			return nil
		}
		if r.Health == payment.HealthOK {
			_, err = tx.Exec(ctx, `UPDATE webhook_endpoints SET failing_since = NULL
				WHERE account_id = $1 AND id = $2 AND failing_since IS NOT NULL`, d.AccountID, d.EndpointID)
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET failing_since = $1
			WHERE account_id = $2 AND id = $3 AND failing_since IS NULL`, ts(a.StartedAt), d.AccountID, d.EndpointID); err != nil {
			return err
		}
		if r.Disable == "" {
			return nil
		}
		tag, err = tx.Exec(ctx, `UPDATE webhook_endpoints SET disabled_at = $1, disabled_reason = $2, updated_at = $1
			WHERE account_id = $3 AND id = $4 AND disabled_at IS NULL`, ts(a.StartedAt), r.Disable, d.AccountID, d.EndpointID)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		for _, ev := range r.Events {
			if err := store.CheckEvent(d.AccountID, ev); err != nil {
				return err
			}
			if err := insertEvent(ctx, tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fail("complete webhook delivery", err)
	}
	if lost {
		return store.Conflict(fmt.Errorf("webhook delivery %s: lease lost", d.ID))
	}
	return nil
}

const webhookAttemptColumns = `id, account_id, delivery_id, endpoint_id, event_id, event_type, attempt, url,
	started_at, latency_us, status_code, error, response_body, succeeded`

func scanWebhookAttempt(row pgx.Row) (*payment.WebhookAttempt, error) {
	var a payment.WebhookAttempt
	var endpoint, event *string
	var latency int64
	err := row.Scan(&a.ID, &a.AccountID, &a.DeliveryID, &endpoint, &event, &a.EventType, &a.Attempt, &a.URL,
		&a.StartedAt, &latency, &a.StatusCode, &a.Error, &a.ResponseBody, &a.Succeeded)
	if err != nil {
		return nil, err
	}
	if endpoint != nil {
		a.EndpointID = *endpoint
	}
	if event != nil {
		a.EventID = *event
	}
	a.StartedAt = utc(a.StartedAt)
	a.Latency = time.Duration(latency) * time.Microsecond
	return &a, nil
}

// WebhookAttempts lists an endpoint's attempts, newest first.
func (s *Store) WebhookAttempts(ctx context.Context, accountID, endpointID string, p payment.ListParams) ([]*payment.WebhookAttempt, bool, error) {
	var as []*payment.WebhookAttempt
	var more bool
	err := s.withConn(ctx, func(q querier) error {
		var err error
		as, more, err = listWhere(ctx, q, "webhook_attempt", "webhook_attempts", webhookAttemptColumns, accountID,
			func(arg func(any) string) string { return `endpoint_id = ` + arg(endpointID) }, p, scanWebhookAttempt)
		return err
	})
	return as, more, fail("list webhook attempts", err)
}

// WebhookDeliveriesOfEvent lists the deliveries of the account's event.
func (s *Store) WebhookDeliveriesOfEvent(ctx context.Context, accountID, eventID string) ([]*payment.WebhookDelivery, error) {
	var ds []*payment.WebhookDelivery
	err := s.withConn(ctx, func(q querier) error {
		var err error
		ds, err = collectDeliveries(q.Query(ctx, `SELECT `+webhookDeliveryColumns+` FROM webhook_deliveries
			WHERE account_id = $1 AND event_id = $2 ORDER BY seq`, accountID, eventID))
		return err
	})
	if ds == nil && err == nil {
		ds = []*payment.WebhookDelivery{}
	}
	return ds, fail("list webhook deliveries", err)
}

// RedeliverWebhooks makes the chosen deliveries pending again, with the
// event newEvent renders of them.
func (s *Store) RedeliverWebhooks(ctx context.Context, accountID string, f payment.RedeliveryFilter, now time.Time,
	newEvent func(int) *payment.Event) (int, error) {
	if newEvent != nil && f.EndpointID == "" {
		return 0, errors.New("postgres: redeliver webhooks: an event of a redelivery needs its endpoint")
	}
	n := 0
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if newEvent != nil {
			// The event is the endpoint's: locked as an update of it
			// would, so that one deleted meanwhile gets none, and
			// nothing is redelivered.
			if _, err := webhookEndpoint(ctx, tx, accountID, f.EndpointID, "FOR UPDATE"); err != nil {
				return err
			}
		}
		var err error
		if n, err = redeliverWebhooks(ctx, tx, accountID, f, now); err != nil {
			return err
		}
		return insertEventOf(ctx, tx, accountID, newEvent, n)
	})
	if err != nil {
		return 0, fail("redeliver webhooks", err)
	}
	return n, nil
}

// redeliverWebhooks is RedeliverWebhooks's work in tx: it returns how
// many deliveries it queued.
func redeliverWebhooks(ctx context.Context, tx pgx.Tx, accountID string, f payment.RedeliveryFilter, now time.Time) (int, error) {
	args := []any{ts(now), accountID}
	where := `account_id = $2 AND state <> 'pending'`
	add := func(cond string, v any) {
		args = append(args, v)
		where += ` AND ` + cond + ` $` + strconv.Itoa(len(args))
	}
	if f.EventID != "" {
		add(`event_id =`, f.EventID)
	}
	if f.EndpointID != "" {
		add(`endpoint_id =`, f.EndpointID)
	}
	if f.OnlyFailed {
		where += ` AND state = 'failed'`
	}
	if !f.Since.IsZero() {
		add(`created_at >=`, ts(f.Since))
	}
	if !f.Until.IsZero() {
		add(`created_at <`, ts(f.Until))
	}
	tag, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET state = 'pending', attempts = 0, lease_token = '',
		next_attempt_at = $1, completed_at = NULL, updated_at = $1 WHERE `+where, args...)
	if err != nil {
		return 0, err
	}
	n := int(tag.RowsAffected())
	if f.EventID == "" || f.EndpointID == "" {
		return n, nil
	}
	// An endpoint that never had a delivery of the event gets one.
	ev, err := event(ctx, tx, accountID, f.EventID)
	if err != nil {
		return 0, err
	}
	tag, err = tx.Exec(ctx, `INSERT INTO webhook_deliveries (id, account_id, endpoint_id, event_id, message_id,
			signer, queue, live, state, next_attempt_at, created_at, updated_at)
		SELECT $1 || substr(replace(gen_random_uuid()::text, '-', ''), 1, 16), account_id, id, $2, $2,
			'standard', id, live, 'pending', $3, $3, $3
		FROM webhook_endpoints e WHERE account_id = $4 AND id = $5 AND disabled_at IS NULL
		AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.account_id = e.account_id
			AND d.event_id = $2 AND d.endpoint_id = e.id)`,
		store.DeliveryIDPrefix(ev), ev.ID, ts(now), accountID, f.EndpointID)
	if err != nil {
		return 0, err
	}
	return n + int(tag.RowsAffected()), nil
}

// Event returns the account's event id.
func (s *Store) Event(ctx context.Context, accountID, id string) (*payment.Event, error) {
	var ev *payment.Event
	err := s.withConn(ctx, func(q querier) error {
		var err error
		ev, err = event(ctx, q, accountID, id)
		return err
	})
	return ev, fail("get event", err)
}

func event(ctx context.Context, q querier, accountID, id string) (*payment.Event, error) {
	ev, err := scanEvent(q.QueryRow(ctx, `SELECT `+eventColumns+` FROM events WHERE account_id = $1 AND id = $2`, accountID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, payment.NotFound("event", id)
	}
	return ev, err
}

// WebhookBacklog counts pending deliveries and finds the oldest.
func (s *Store) WebhookBacklog(ctx context.Context) (int, time.Time, error) {
	var n int
	var oldest *time.Time
	err := s.withConn(ctx, func(q querier) error {
		return q.QueryRow(ctx, `SELECT count(*), min(created_at) FROM webhook_deliveries WHERE state = 'pending'`).Scan(&n, &oldest)
	})
	if err != nil {
		return 0, time.Time{}, fail("webhook backlog", err)
	}
	if oldest == nil {
		return n, time.Time{}, nil
	}
	return n, utc(*oldest), nil
}
