package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store"
)

// fanOut writes a delivery of ev to each of its account's enabled
// endpoints that subscribe to ev's type, in ev's transaction: an event
// that commits has its deliveries, and none is found later by scanning
// for new events.
func fanOut(ctx context.Context, tx *wtx, ev *payment.Event) error {
	if tx.endpoints.none(ctx, tx, ev.AccountID) {
		return nil
	}
	pats := store.EventPatterns(ev.Type)
	match := strings.TrimSuffix(strings.Repeat(`instr(event_match, ?) > 0 OR `, len(pats)), ` OR `)
	args := []any{store.DeliveryIDPrefix(ev), ev.ID, ev.ID, micros(ev.CreatedAt), micros(ev.CreatedAt), micros(ev.CreatedAt), ev.AccountID}
	for _, p := range pats {
		args = append(args, p)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, account_id, endpoint_id, event_id, message_id,
			signer, queue, live, state, next_attempt_at, created_at, updated_at)
		SELECT ? || lower(hex(randomblob(8))), account_id, id, ?, ?, 'standard', id, live, 'pending', ?, ?, ?
		FROM webhook_endpoints WHERE account_id = ? AND disabled_at IS NULL AND (`+match+`)`, args...)
	return err
}

const webhookEndpointColumns = `id, account_id, url, description, metadata, enabled_events, live,
	secret_sealed, secret_version, old_secret_sealed, old_secret_version, old_secret_expires_at,
	disabled_at, disabled_reason, failing_since, created_at, updated_at`

func scanWebhookEndpoint(sc scanner) (*payment.WebhookEndpoint, error) {
	var we payment.WebhookEndpoint
	var metadata, events string
	var created, updated int64
	var oldExpires, disabled, failing sql.Null[int64]
	err := sc.Scan(&we.ID, &we.AccountID, &we.URL, &we.Description, &metadata, &events, &we.Live,
		&we.SecretSealed, &we.SecretVersion, &we.OldSecretSealed, &we.OldSecretVersion, &oldExpires,
		&disabled, &we.DisabledReason, &failing, &created, &updated)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(metadata), &we.Metadata); err != nil {
		return nil, fmt.Errorf("webhook endpoint %s: metadata: %w", we.ID, err)
	}
	if err := json.Unmarshal([]byte(events), &we.EnabledEvents); err != nil {
		return nil, fmt.Errorf("webhook endpoint %s: enabled events: %w", we.ID, err)
	}
	we.OldSecretExpiresAt = fromMicrosPtr(oldExpires)
	we.DisabledAt = fromMicrosPtr(disabled)
	we.FailingSince = fromMicrosPtr(failing)
	we.CreatedAt = fromMicros(created)
	we.UpdatedAt = fromMicros(updated)
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
		we.SecretSealed, we.SecretVersion, we.OldSecretSealed, we.OldSecretVersion, microsPtr(we.OldSecretExpiresAt),
		microsPtr(we.DisabledAt), we.DisabledReason, microsPtr(we.FailingSince), micros(we.CreatedAt), micros(we.UpdatedAt),
		store.EventMatch(we.EnabledEvents)}, nil
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
	err = s.write(ctx, func(ctx context.Context, tx *wtx) error {
		tx.endpoints.forget(we.AccountID)
		_, err := tx.ExecContext(ctx, `INSERT INTO webhook_endpoints (`+webhookEndpointColumns+`, event_match)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, vals...)
		if err != nil {
			return translate(err, we.AccountID)
		}
		return insertEvent(ctx, tx, ev)
	})
	return fail("create webhook endpoint", err)
}

// WebhookEndpoint returns the account's endpoint id.
func (s *Store) WebhookEndpoint(ctx context.Context, accountID, id string) (*payment.WebhookEndpoint, error) {
	we, err := webhookEndpoint(ctx, s.reads, accountID, id)
	return we, fail("get webhook endpoint", err)
}

func webhookEndpoint(ctx context.Context, q querier, accountID, id string) (*payment.WebhookEndpoint, error) {
	we, err := scanWebhookEndpoint(q.QueryRowContext(ctx, `SELECT `+webhookEndpointColumns+` FROM webhook_endpoints
		WHERE account_id = ? AND id = ?`, accountID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, payment.NotFound("webhook_endpoint", id)
	}
	return we, err
}

// WebhookEndpoints lists the account's endpoints, newest first.
func (s *Store) WebhookEndpoints(ctx context.Context, accountID string, p payment.ListParams) ([]*payment.WebhookEndpoint, bool, error) {
	wes, more, err := list(ctx, s.reader, "webhook_endpoint", "webhook_endpoints", webhookEndpointColumns, accountID, p, scanWebhookEndpoint)
	return wes, more, fail("list webhook endpoints", err)
}

// UpdateWebhookEndpoint runs fn on the endpoint in a writer transaction and
// writes back the result with fn's event.
func (s *Store) UpdateWebhookEndpoint(ctx context.Context, accountID, id string, fn func(*payment.WebhookEndpoint) (*payment.Event, error)) (*payment.WebhookEndpoint, error) {
	var we *payment.WebhookEndpoint
	var fnErr error
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		var err error
		if we, err = webhookEndpoint(ctx, tx, accountID, id); err != nil {
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
		// Every column after id and account_id, then event_match, then
		// the key.
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET url = ?, description = ?, metadata = ?,
			enabled_events = ?, live = ?, secret_sealed = ?, secret_version = ?, old_secret_sealed = ?,
			old_secret_version = ?, old_secret_expires_at = ?, disabled_at = ?, disabled_reason = ?,
			failing_since = ?, created_at = ?, updated_at = ?, event_match = ?
			WHERE account_id = ? AND id = ?`, append(vals[2:], accountID, id)...); err != nil {
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
	return we, nil
}

// DeleteWebhookEndpoint deletes the endpoint with its deliveries and their
// attempts, and writes ev.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, accountID, id string, ev *payment.Event) error {
	if err := store.CheckEvent(accountID, ev); err != nil {
		return err
	}
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		tx.endpoints.forget(accountID)
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE account_id = ? AND id = ?`, accountID, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return payment.NotFound("webhook_endpoint", id)
		}
		return insertEvent(ctx, tx, ev)
	})
	return fail("delete webhook endpoint", err)
}

const webhookDeliveryColumns = `id, account_id, endpoint_id, event_id, message_id, signer, signer_key, method, url,
	headers, body, queue, live, state, attempts, next_attempt_at, lease_token, last_attempt_at, last_status,
	last_error, completed_at, created_at, updated_at`

func scanWebhookDelivery(sc scanner) (*payment.WebhookDelivery, error) {
	var d payment.WebhookDelivery
	var endpoint, event, headers sql.Null[string]
	var state string
	var next, created, updated int64
	var last, completed sql.Null[int64]
	err := sc.Scan(&d.ID, &d.AccountID, &endpoint, &event, &d.MessageID, &d.Signer, &d.SignerKey, &d.Method, &d.URL,
		&headers, &d.Body, &d.Queue, &d.Live, &state, &d.Attempts, &next, &d.LeaseToken, &last, &d.LastStatus,
		&d.LastError, &completed, &created, &updated)
	if err != nil {
		return nil, err
	}
	d.EndpointID, d.EventID = endpoint.V, event.V
	if headers.Valid {
		if err := json.Unmarshal([]byte(headers.V), &d.Headers); err != nil {
			return nil, fmt.Errorf("webhook delivery %s: headers: %w", d.ID, err)
		}
	}
	d.State = payment.WebhookDeliveryState(state)
	d.NextAttemptAt = fromMicros(next)
	d.LastAttemptAt = fromMicrosPtr(last)
	d.CompletedAt = fromMicrosPtr(completed)
	d.CreatedAt = fromMicros(created)
	d.UpdatedAt = fromMicros(updated)
	return &d, nil
}

func nullText(s string) sql.Null[string] { return sql.Null[string]{V: s, Valid: s != ""} }

// CreateWebhookDeliveries inserts ds.
func (s *Store) CreateWebhookDeliveries(ctx context.Context, ds []*payment.WebhookDelivery) error {
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		for _, d := range ds {
			var headers sql.Null[string]
			if d.Headers != nil {
				b, err := json.Marshal(d.Headers)
				if err != nil {
					return err
				}
				headers = sql.Null[string]{V: string(b), Valid: true}
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (`+webhookDeliveryColumns+`)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				d.ID, d.AccountID, nullText(d.EndpointID), nullText(d.EventID), d.MessageID, d.Signer, d.SignerKey,
				cmpOr(d.Method, "POST"), d.URL, headers, d.Body, d.Queue, d.Live, string(d.State), d.Attempts,
				micros(d.NextAttemptAt), d.LeaseToken, microsPtr(d.LastAttemptAt), d.LastStatus, d.LastError,
				microsPtr(d.CompletedAt), micros(d.CreatedAt), micros(d.UpdatedAt))
			if err != nil {
				return translate(err, d.AccountID)
			}
		}
		return nil
	})
	return fail("create webhook deliveries", err)
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// claimWindow bounds the due deliveries one claim looks at, so that a
// backlog of many thousands costs a claim no more than a thousand.
const claimWindow = 1000

// ClaimWebhookDeliveries leases due deliveries (see payment.WebhookStore).
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, now, leaseUntil time.Time, busy []string, perQueue, limit int) ([]*payment.WebhookDelivery, error) {
	if limit <= 0 || perQueue <= 0 {
		return []*payment.WebhookDelivery{}, nil
	}
	// Most polls find nothing due: ask a reader first and leave the
	// writer to the payments.
	var due int
	err := s.reads.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM webhook_deliveries
		WHERE state = 'pending' AND next_attempt_at <= ? LIMIT 1)`, micros(now)).Scan(&due)
	if err != nil || due == 0 {
		return []*payment.WebhookDelivery{}, fail("claim webhook deliveries", err)
	}
	token := payment.RandomString(16)
	var ds []*payment.WebhookDelivery
	err = s.write(ctx, func(ctx context.Context, tx *wtx) error {
		skip := ``
		args := []any{micros(now)}
		if len(busy) > 0 {
			skip = ` AND queue NOT IN (?` + strings.Repeat(`, ?`, len(busy)-1) + `)`
			for _, q := range busy {
				args = append(args, q)
			}
		}
		args = append(args, claimWindow, perQueue, limit)
		rows, err := tx.QueryContext(ctx, `SELECT seq FROM (
				SELECT seq, next_attempt_at, row_number() OVER (PARTITION BY queue ORDER BY next_attempt_at, seq) AS n
				FROM (SELECT seq, queue, next_attempt_at FROM webhook_deliveries
					WHERE state = 'pending' AND next_attempt_at <= ?`+skip+`
					ORDER BY next_attempt_at LIMIT ?))
			WHERE n <= ? ORDER BY next_attempt_at, seq LIMIT ?`, args...)
		if err != nil {
			return err
		}
		seqs, err := collect(rows, func(sc scanner) (any, error) {
			var seq int64
			err := sc.Scan(&seq)
			return seq, err
		})
		if err != nil || len(seqs) == 0 {
			return err
		}
		rows, err = tx.QueryContext(ctx, `UPDATE webhook_deliveries
			SET attempts = attempts + 1, lease_token = ?, next_attempt_at = ?, updated_at = ?
			WHERE seq IN (?`+strings.Repeat(`, ?`, len(seqs)-1)+`)
			RETURNING `+webhookDeliveryColumns,
			append([]any{token, micros(leaseUntil), micros(now)}, seqs...)...)
		if err != nil {
			return err
		}
		if ds, err = collect(rows, scanWebhookDelivery); err != nil {
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
	var endpointIDs, eventIDs []any
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
		rows, err := q.QueryContext(ctx, `SELECT `+webhookEndpointColumns+` FROM webhook_endpoints
			WHERE id IN (?`+strings.Repeat(`, ?`, len(endpointIDs)-1)+`)`, endpointIDs...)
		if err != nil {
			return err
		}
		wes, err := collect(rows, scanWebhookEndpoint)
		if err != nil {
			return err
		}
		for _, we := range wes {
			endpoints[we.ID] = we
		}
	}
	events := map[string]*payment.Event{}
	if len(eventIDs) > 0 {
		rows, err := q.QueryContext(ctx, `SELECT `+eventColumns+` FROM events
			WHERE id IN (?`+strings.Repeat(`, ?`, len(eventIDs)-1)+`)`, eventIDs...)
		if err != nil {
			return err
		}
		evs, err := collect(rows, scanEvent)
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
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries
			SET attempts = attempts - 1, lease_token = '', next_attempt_at = ?
			WHERE id = ? AND lease_token = ? AND state = 'pending'`, micros(when), d.ID, d.LeaseToken)
		return err
	})
	return fail("release webhook delivery", err)
}

// CompleteWebhookDelivery records a claimed delivery's attempt and its
// consequences.
func (s *Store) CompleteWebhookDelivery(ctx context.Context, d *payment.WebhookDelivery, r *payment.WebhookResult) error {
	a := r.Attempt
	lost := false
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_attempts (id, account_id, delivery_id, endpoint_id, event_id,
				event_type, attempt, url, started_at, latency_us, status_code, error, response_body, succeeded)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.AccountID, a.DeliveryID, nullText(a.EndpointID), nullText(a.EventID), a.EventType, a.Attempt, a.URL,
			micros(a.StartedAt), a.Latency.Microseconds(), a.StatusCode, a.Error, a.ResponseBody, a.Succeeded); err != nil {
			return translate(err, a.AccountID)
		}
		var completed sql.Null[int64]
		if r.State != payment.DeliveryPending {
			completed = sql.Null[int64]{V: micros(a.StartedAt.Add(a.Latency)), Valid: true}
		}
		res, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = ?, next_attempt_at = ?, lease_token = '',
				last_attempt_at = ?, last_status = ?, last_error = ?, completed_at = ?, updated_at = ?
			WHERE id = ? AND lease_token = ? AND state = 'pending'`,
			string(r.State), micros(r.NextAttemptAt), micros(a.StartedAt), a.StatusCode, a.Error, completed,
			micros(a.StartedAt.Add(a.Latency)), d.ID, d.LeaseToken)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			lost = true
			return nil
		}
		if d.EndpointID == "" || r.Health == payment.HealthUnknown {
			return nil
		}
		if r.Health == payment.HealthOK {
			_, err = tx.ExecContext(ctx, `UPDATE webhook_endpoints SET failing_since = NULL
				WHERE account_id = ? AND id = ? AND failing_since IS NOT NULL`, d.AccountID, d.EndpointID)
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET failing_since = ?
			WHERE account_id = ? AND id = ? AND failing_since IS NULL`, micros(a.StartedAt), d.AccountID, d.EndpointID); err != nil {
			return err
		}
		if r.Disable == "" {
			return nil
		}
		res, err = tx.ExecContext(ctx, `UPDATE webhook_endpoints SET disabled_at = ?, disabled_reason = ?, updated_at = ?
			WHERE account_id = ? AND id = ? AND disabled_at IS NULL`,
			micros(a.StartedAt), r.Disable, micros(a.StartedAt), d.AccountID, d.EndpointID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
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

func scanWebhookAttempt(sc scanner) (*payment.WebhookAttempt, error) {
	var a payment.WebhookAttempt
	var endpoint, event sql.Null[string]
	var started, latency int64
	err := sc.Scan(&a.ID, &a.AccountID, &a.DeliveryID, &endpoint, &event, &a.EventType, &a.Attempt, &a.URL,
		&started, &latency, &a.StatusCode, &a.Error, &a.ResponseBody, &a.Succeeded)
	if err != nil {
		return nil, err
	}
	a.EndpointID, a.EventID = endpoint.V, event.V
	a.StartedAt = fromMicros(started)
	a.Latency = time.Duration(latency) * time.Microsecond
	return &a, nil
}

// WebhookAttempts lists an endpoint's attempts, newest first.
func (s *Store) WebhookAttempts(ctx context.Context, accountID, endpointID string, p payment.ListParams) ([]*payment.WebhookAttempt, bool, error) {
	as, more, err := listWhere(ctx, s.reader, "webhook_attempt", "webhook_attempts", webhookAttemptColumns, accountID,
		`endpoint_id = ?`, []any{endpointID}, p, scanWebhookAttempt)
	return as, more, fail("list webhook attempts", err)
}

// WebhookDeliveriesOfEvent lists the deliveries of the account's event.
func (s *Store) WebhookDeliveriesOfEvent(ctx context.Context, accountID, eventID string) ([]*payment.WebhookDelivery, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT `+webhookDeliveryColumns+` FROM webhook_deliveries
		WHERE account_id = ? AND event_id = ? ORDER BY seq`, accountID, eventID)
	if err != nil {
		return nil, fail("list webhook deliveries", err)
	}
	ds, err := collect(rows, scanWebhookDelivery)
	return ds, fail("list webhook deliveries", err)
}

// RedeliverWebhooks makes the chosen deliveries pending again, with the
// event newEvent renders of them.
func (s *Store) RedeliverWebhooks(ctx context.Context, accountID string, f payment.RedeliveryFilter, now time.Time,
	newEvent func(int) *payment.Event) (int, error) {
	if newEvent != nil && f.EndpointID == "" {
		return 0, errors.New("sqlite: redeliver webhooks: an event of a redelivery needs its endpoint")
	}
	n := 0
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		if newEvent != nil {
			// The event is the endpoint's: one deleted meanwhile gets none,
			// and nothing is redelivered.
			if _, err := webhookEndpoint(ctx, tx, accountID, f.EndpointID); err != nil {
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
func redeliverWebhooks(ctx context.Context, tx *wtx, accountID string, f payment.RedeliveryFilter, now time.Time) (int, error) {
	where := `account_id = ? AND state <> 'pending'`
	args := []any{accountID}
	if f.EventID != "" {
		where += ` AND event_id = ?`
		args = append(args, f.EventID)
	}
	if f.EndpointID != "" {
		where += ` AND endpoint_id = ?`
		args = append(args, f.EndpointID)
	}
	if f.OnlyFailed {
		where += ` AND state = 'failed'`
	}
	if !f.Since.IsZero() {
		where += ` AND created_at >= ?`
		args = append(args, micros(f.Since))
	}
	if !f.Until.IsZero() {
		where += ` AND created_at < ?`
		args = append(args, micros(f.Until))
	}
	res, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = 'pending', attempts = 0, lease_token = '',
		next_attempt_at = ?, completed_at = NULL, updated_at = ? WHERE `+where,
		append([]any{micros(now), micros(now)}, args...)...)
	if err != nil {
		return 0, err
	}
	m, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	n := int(m)
	if f.EventID == "" || f.EndpointID == "" {
		return n, nil
	}
	// An endpoint that never had a delivery of the event gets one.
	ev, err := event(ctx, tx, accountID, f.EventID)
	if err != nil {
		return 0, err
	}
	res, err = tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, account_id, endpoint_id, event_id, message_id,
			signer, queue, live, state, next_attempt_at, created_at, updated_at)
		SELECT ? || lower(hex(randomblob(8))), account_id, id, ?, ?, 'standard', id, live, 'pending', ?, ?, ?
		FROM webhook_endpoints e WHERE account_id = ? AND id = ? AND disabled_at IS NULL
		AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.account_id = e.account_id
			AND d.event_id = ? AND d.endpoint_id = e.id)`,
		store.DeliveryIDPrefix(ev), ev.ID, ev.ID, micros(now), micros(now), micros(now),
		accountID, f.EndpointID, ev.ID)
	if err != nil {
		return 0, err
	}
	if m, err = res.RowsAffected(); err != nil {
		return 0, err
	}
	return n + int(m), nil
}

// Event returns the account's event id.
func (s *Store) Event(ctx context.Context, accountID, id string) (*payment.Event, error) {
	ev, err := event(ctx, s.reads, accountID, id)
	return ev, fail("get event", err)
}

func event(ctx context.Context, q querier, accountID, id string) (*payment.Event, error) {
	ev, err := scanEvent(q.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM events WHERE account_id = ? AND id = ?`, accountID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, payment.NotFound("event", id)
	}
	return ev, err
}

// WebhookBacklog counts pending deliveries and finds the oldest.
func (s *Store) WebhookBacklog(ctx context.Context) (int, time.Time, error) {
	var n int
	var oldest sql.Null[int64]
	err := s.reader.QueryRowContext(ctx, `SELECT count(*), min(created_at) FROM webhook_deliveries
		WHERE state = 'pending'`).Scan(&n, &oldest)
	if err != nil {
		return 0, time.Time{}, fail("webhook backlog", err)
	}
	if !oldest.Valid {
		return n, time.Time{}, nil
	}
	return n, fromMicros(oldest.V), nil
}
