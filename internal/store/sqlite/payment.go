package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store"
)

const paymentColumns = `id, account_id, amount, currency, gateway_id, credential_version, router_id, routing_trace, payment_method_id,
	capture, reference, description, metadata, stored_credential, gateway_specific_fields,
	status, amount_authorized, amount_captured, amount_refunded, voided, requires_review, test,
	created_at, updated_at, customer_id`

func scanPayment(sc scanner) (*payment.Payment, error) {
	var p payment.Payment
	var metadata, gsf, status string
	var storedCred, trace, customer sql.Null[string]
	var created, updated int64
	err := sc.Scan(&p.ID, &p.AccountID, &p.Amount, &p.Currency, &p.GatewayID, &p.CredentialVersion, &p.RouterID, &trace, &p.PaymentMethodID,
		&p.Capture, &p.Reference, &p.Description, &metadata, &storedCred, &gsf,
		&status, &p.AmountAuthorized, &p.AmountCaptured, &p.AmountRefunded, &p.Voided, &p.RequiresReview, &p.Test,
		&created, &updated, &customer)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(metadata), &p.Metadata); err != nil {
		return nil, fmt.Errorf("payment %s: metadata: %w", p.ID, err)
	}
	if storedCred.Valid {
		if p.StoredCredential, err = store.UnmarshalStoredCredential([]byte(storedCred.V)); err != nil {
			return nil, fmt.Errorf("payment %s: stored credential: %w", p.ID, err)
		}
	}
	if p.GatewaySpecificFields, err = store.UnmarshalObject([]byte(gsf)); err != nil {
		return nil, fmt.Errorf("payment %s: gateway specific fields: %w", p.ID, err)
	}
	if trace.Valid {
		p.RoutingTrace = []byte(trace.V)
	}
	p.Status = payment.Status(status)
	p.CustomerID = customer.V
	p.CreatedAt = fromMicros(created)
	p.UpdatedAt = fromMicros(updated)
	return &p, nil
}

// paymentJSON encodes the JSON columns of p.
func paymentJSON(p *payment.Payment) (metadata string, storedCred sql.Null[string], gsf string, err error) {
	m, err := json.Marshal(p.Metadata)
	if err != nil {
		return "", storedCred, "", fmt.Errorf("payment %s: metadata: %w", p.ID, err)
	}
	sc, err := store.MarshalStoredCredential(p.StoredCredential)
	if err != nil {
		return "", storedCred, "", fmt.Errorf("payment %s: stored credential: %w", p.ID, err)
	}
	if sc != nil {
		storedCred = sql.Null[string]{V: string(sc), Valid: true}
	}
	g, err := json.Marshal(p.GatewaySpecificFields)
	if err != nil {
		return "", storedCred, "", fmt.Errorf("payment %s: gateway specific fields: %w", p.ID, err)
	}
	return string(m), storedCred, string(g), nil
}

func insertPayment(ctx context.Context, tx *wtx, p *payment.Payment) error {
	metadata, storedCred, gsf, err := paymentJSON(p)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO payments (`+paymentColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.AccountID, p.Amount, p.Currency, p.GatewayID, p.CredentialVersion, p.RouterID, nullString(string(p.RoutingTrace)), p.PaymentMethodID,
		p.Capture, p.Reference, p.Description, metadata, storedCred, gsf,
		string(p.Status), p.AmountAuthorized, p.AmountCaptured, p.AmountRefunded, p.Voided, p.RequiresReview, p.Test,
		micros(p.CreatedAt), micros(p.UpdatedAt), nullString(p.CustomerID))
	return translate(err, p.AccountID)
}

// updatePayment writes back every field of p but its id, account and
// creation time: a router's payment changes gateway, credential version
// and trace as it moves from one attempt to the next. The table's CHECKs
// refuse amounts that break the money invariants.
// updatePayment writes the columns of p that changed since before.
func updatePayment(ctx context.Context, tx *wtx, before *store.PaymentBefore, p *payment.Payment) error {
	set, args, err := paymentSet(before, p)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE payments SET `+set+` WHERE account_id = ? AND id = ?`, append(args, p.AccountID, p.ID)...)
	return err
}

// paymentSet is the SET list of an update of p, the columns that changed
// since before, and its arguments.
func paymentSet(before *store.PaymentBefore, p *payment.Payment) (string, []any, error) {
	cols, err := before.ChangedColumns(p)
	if err != nil {
		return "", nil, fmt.Errorf("payment %s: %w", p.ID, err)
	}
	set := make([]string, len(cols))
	args := make([]any, len(cols))
	for i, c := range cols {
		set[i] = c.Name + " = ?"
		switch {
		case c.Rendered:
			args[i] = c.Value
		case c.Name == "routing_trace":
			args[i] = nullString(string(p.RoutingTrace))
		default: // updated_at
			args[i] = micros(p.UpdatedAt)
		}
	}
	return strings.Join(set, ", "), args, nil
}

const operationColumns = `id, account_id, payment_id, payment_method_id, gateway_id, credential_version,
	kind, amount, currency, outcome, decline_code, gateway_reference, response_code, message,
	avs_code, cvv_code, network_transaction_id, transcript, reconcile_attempts, next_reconcile_at,
	created_at, updated_at`

func scanOperation(sc scanner) (*payment.Operation, error) {
	var op payment.Operation
	var paymentID, transcript sql.Null[string]
	var kind, outcome string
	var created, updated int64
	var next sql.Null[int64]
	err := sc.Scan(&op.ID, &op.AccountID, &paymentID, &op.PaymentMethodID, &op.GatewayID, &op.CredentialVersion,
		&kind, &op.Amount, &op.Currency, &outcome, &op.DeclineCode, &op.GatewayReference, &op.ResponseCode, &op.Message,
		&op.AVSCode, &op.CVVCode, &op.NetworkTransactionID, &transcript, &op.ReconcileAttempts, &next,
		&created, &updated)
	if err != nil {
		return nil, err
	}
	op.PaymentID = paymentID.V
	if transcript.Valid && transcript.V != "" {
		op.Transcript = []byte(transcript.V)
	}
	op.Kind = payment.OperationKind(kind)
	op.Outcome = payment.Outcome(outcome)
	op.NextReconcileAt = fromMicrosPtr(next)
	op.CreatedAt = fromMicros(created)
	op.UpdatedAt = fromMicros(updated)
	return &op, nil
}

func nullString(s string) sql.Null[string] {
	return sql.Null[string]{V: s, Valid: s != ""}
}

// operationValues are op's columns in the order of operationColumns.
func operationValues(op *payment.Operation) []any {
	return []any{op.ID, op.AccountID, nullString(op.PaymentID), op.PaymentMethodID, op.GatewayID, op.CredentialVersion,
		string(op.Kind), op.Amount, op.Currency, string(op.Outcome), op.DeclineCode, op.GatewayReference, op.ResponseCode, op.Message,
		op.AVSCode, op.CVVCode, op.NetworkTransactionID, nullString(string(op.Transcript)), op.ReconcileAttempts, microsPtr(op.NextReconcileAt),
		micros(op.CreatedAt), micros(op.UpdatedAt)}
}

const operationPlaceholders = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// insertOperation inserts a new operation. ErrConflict if its id is taken.
func insertOperation(ctx context.Context, tx *wtx, op *payment.Operation) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO operations (`+operationColumns+`) VALUES `+operationPlaceholders, operationValues(op)...)
	return translate(err, op.AccountID)
}

// upsertOperation inserts op, or updates the mutable columns of the
// operation with its id: its outcome, the gateway's answer and the
// reconciliation bookkeeping. An operation with op's id that belongs to
// another account or payment is left alone and reported as a conflict.
func upsertOperation(ctx context.Context, tx *wtx, op *payment.Operation) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO operations (`+operationColumns+`) VALUES `+operationPlaceholders+`
		ON CONFLICT (id) DO UPDATE SET outcome = excluded.outcome, decline_code = excluded.decline_code,
			gateway_reference = excluded.gateway_reference, response_code = excluded.response_code,
			message = excluded.message, avs_code = excluded.avs_code, cvv_code = excluded.cvv_code,
			network_transaction_id = excluded.network_transaction_id, transcript = excluded.transcript,
			reconcile_attempts = excluded.reconcile_attempts, next_reconcile_at = excluded.next_reconcile_at,
			updated_at = excluded.updated_at
		WHERE operations.account_id = excluded.account_id AND operations.payment_id IS excluded.payment_id`,
		operationValues(op)...)
	if err != nil {
		return translate(err, op.AccountID)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return store.Conflict(fmt.Errorf("operation %s exists outside payment %q of account %s", op.ID, op.PaymentID, op.AccountID))
	}
	return nil
}

// paymentByID reads the payment with its operations, oldest first.
func paymentByID(ctx context.Context, q querier, accountID, id string) (*payment.Payment, error) {
	p, err := scanPayment(q.QueryRowContext(ctx, `SELECT `+paymentColumns+` FROM payments
		WHERE account_id = ? AND id = ?`, accountID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, payment.NotFound("payment", id)
	}
	if err != nil {
		return nil, err
	}
	if err := loadOperations(ctx, q, accountID, []*payment.Payment{p}); err != nil {
		return nil, err
	}
	return p, nil
}

// operationsOfPaymentsSQL reads the operations of n payments of one
// account (arguments: the account, then the payment ids) by the index on
// (account_id, payment_id, seq), whatever the account's size: the ORDER BY
// follows that index (the order only matters within a payment), so the
// planner has no reason to take the account-wide (account_id, seq).
func operationsOfPaymentsSQL(n int) string {
	return `SELECT ` + operationColumns + ` FROM operations
		WHERE account_id = ? AND payment_id IN (?` + strings.Repeat(", ?", n-1) + `) ORDER BY payment_id, seq`
}

// loadOperations sets the Operations of ps, all of accountID, oldest
// first, with one query.
func loadOperations(ctx context.Context, q querier, accountID string, ps []*payment.Payment) error {
	if len(ps) == 0 {
		return nil
	}
	byID := make(map[string]*payment.Payment, len(ps))
	args := make([]any, 0, len(ps)+1)
	args = append(args, accountID)
	for _, p := range ps {
		byID[p.ID] = p
		p.Operations = nil
		args = append(args, p.ID)
	}
	rows, err := q.QueryContext(ctx, operationsOfPaymentsSQL(len(ps)), args...)
	if err != nil {
		return err
	}
	ops, err := collect(rows, scanOperation)
	if err != nil {
		return err
	}
	for _, op := range ops {
		p := byID[op.PaymentID]
		p.Operations = append(p.Operations, op)
	}
	return nil
}

// CreatePayment inserts p, its operations and evs in one transaction.
func (s *Store) CreatePayment(ctx context.Context, p *payment.Payment, evs []*payment.Event, mark *payment.IdempotencyMark) error {
	for _, op := range p.Operations {
		if err := store.CheckOperationOwner(p.AccountID, p.ID, op); err != nil {
			return err
		}
	}
	for _, ev := range evs {
		if err := store.CheckEvent(p.AccountID, ev); err != nil {
			return err
		}
	}
	if err := store.CheckCheckoutCard(mark); err != nil {
		return err
	}
	err := s.writeRerunnable(ctx, func(ctx context.Context, tx *wtx) error {
		if err := insertPayment(ctx, tx, p); err != nil {
			return err
		}
		for _, op := range p.Operations {
			if err := insertOperation(ctx, tx, op); err != nil {
				return err
			}
		}
		for _, ev := range evs {
			if err := insertEvent(ctx, tx, ev); err != nil {
				return err
			}
		}
		if err := markIdempotencyKey(ctx, tx, mark); err != nil {
			return err
		}
		return insertCheckoutCard(ctx, tx, mark)
	})
	return fail("create payment", err)
}

// ImportPayments stores ps, each with its operations, in one write
// transaction and without events: bulk loading of test data (`kassa bench
// --preload`), which the engine never uses. A million payments through
// CreatePayment, one unit each, took minutes.
func (s *Store) ImportPayments(ctx context.Context, ps []*payment.Payment) error {
	for _, p := range ps {
		for _, op := range p.Operations {
			if err := store.CheckOperationOwner(p.AccountID, p.ID, op); err != nil {
				return err
			}
		}
	}
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		for _, p := range ps {
			if err := insertPayment(ctx, tx, p); err != nil {
				return err
			}
			for _, op := range p.Operations {
				if err := insertOperation(ctx, tx, op); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return fail("import payments", err)
}

// Payment returns the account's payment id with its operations.
func (s *Store) Payment(ctx context.Context, accountID, id string) (*payment.Payment, error) {
	var p *payment.Payment
	err := readTx(ctx, s.reader, func(tx *sql.Tx) error {
		var err error
		p, err = paymentByID(ctx, tx, accountID, id)
		return err
	})
	if err != nil {
		return nil, fail("get payment", err)
	}
	return p, nil
}

// Payments lists the account's payments matching f, newest first (oldest
// first when f.Ascending), each with its operations (loaded for the whole
// page with one more query).
func (s *Store) Payments(ctx context.Context, accountID string, f payment.PaymentFilter) ([]*payment.Payment, bool, error) {
	limit := store.PageLimit(f.Limit)
	var ps []*payment.Payment
	more := false
	err := readTx(ctx, s.reader, func(tx *sql.Tx) error {
		where := `account_id = ?`
		args := []any{accountID}
		if f.StartingAfter != "" {
			seq, err := cursorSeq(ctx, tx, "payment", "payments", accountID, f.StartingAfter)
			if err != nil {
				return err
			}
			where += ` AND ` + afterSeq(f.Ascending)
			args = append(args, seq)
		}
		if f.Status != "" {
			where += ` AND status = ?`
			args = append(args, string(f.Status))
		}
		if f.Reference != "" {
			where += ` AND reference = ?`
			args = append(args, f.Reference)
		}
		if f.GatewayID != "" {
			where += ` AND gateway_id = ?`
			args = append(args, f.GatewayID)
		}
		if f.PaymentMethodID != "" {
			where += ` AND payment_method_id = ?`
			args = append(args, f.PaymentMethodID)
		}
		if f.CardholderAuthorized {
			where += ` AND amount_authorized > 0 AND json_extract(stored_credential, '$.initiator') = 'cardholder'`
		}
		cond, condArgs := searchConditions(accountID, f)
		where += cond
		args = append(args, condArgs...)
		from := `payments`
		if f.CardLast4 != "" || f.CardFingerprint != "" {
			// The card's payment methods, then their payments: left to
			// itself, SQLite walks every payment of the account newest
			// first, testing each against the payment methods found.
			from += ` INDEXED BY payments_account_payment_method`
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+paymentColumns+` FROM `+from+`
			WHERE `+where+` ORDER BY `+seqOrder(f.Ascending)+` LIMIT ?`, append(args, limit+1)...)
		if err != nil {
			return err
		}
		if ps, err = collect(rows, scanPayment); err != nil {
			return err
		}
		if len(ps) > limit {
			ps, more = ps[:limit], true
		}
		return loadOperations(ctx, tx, accountID, ps)
	})
	if err != nil {
		return nil, false, fail("list payments", err)
	}
	return ps, more, nil
}

// UpdatePayment runs fn on the payment and its operations inside a writer
// transaction (BEGIN IMMEDIATE: no other write of the database runs
// meanwhile, in this process or another), then writes back the payment row
// and the operations and events fn returns.
func (s *Store) UpdatePayment(ctx context.Context, accountID, id string, fn func(*payment.Payment) (*payment.PaymentChange, error)) (*payment.Payment, error) {
	var p *payment.Payment
	var fnErr error
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		var err error
		if p, err = paymentByID(ctx, tx, accountID, id); err != nil {
			return err
		}
		before, ops := store.SnapshotPayment(p)
		order := store.OperationIDs(p)
		columns, err := store.SnapshotColumns(p)
		if err != nil {
			return err
		}
		change, err := fn(p)
		if err != nil {
			fnErr = err
			return err
		}
		if err := store.CheckPaymentUpdated(&before, p); err != nil {
			return err
		}
		if change == nil {
			change = &payment.PaymentChange{}
		}
		if err := store.CheckPaymentChange(accountID, id, ops, change); err != nil {
			return err
		}
		if err := updatePayment(ctx, tx, columns, p); err != nil {
			return err
		}
		for _, op := range change.Operations {
			if err := upsertOperation(ctx, tx, op); err != nil {
				return err
			}
		}
		if err := writeChangeTail(ctx, tx, accountID, change); err != nil {
			return err
		}
		// What was stored, without reading it back.
		p = store.UpdatedPayment(p, order, ops, change)
		return nil
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, fail("update payment", err)
	}
	return p, nil
}

// writeChangeTail writes what follows a payment's row and operations in
// an update: change's events and notices, its idempotency mark and the
// destruction of a spent CVC.
func writeChangeTail(ctx context.Context, tx *wtx, accountID string, change *payment.PaymentChange) error {
	for _, ev := range change.Events {
		if err := insertEvent(ctx, tx, ev); err != nil {
			return err
		}
	}
	if err := writeNotices(ctx, tx, change.Notices); err != nil {
		return err
	}
	if err := markIdempotencyKey(ctx, tx, change.Idempotency); err != nil {
		return err
	}
	if change.DestroyCVC != "" {
		if _, err := tx.ExecContext(ctx, `UPDATE payment_methods SET cvc_sealed = NULL, cvc_expires_at = NULL
			WHERE account_id = ? AND id = ? AND cvc_sealed IS NOT NULL`, accountID, change.DestroyCVC); err != nil {
			return err
		}
	}
	return nil
}

// SettlePayment writes a settle by compare-and-set, without reading the
// payment (see payment.PaymentStore): the writer runs three conditional
// updates and the inserts, no SELECT and none of the caller's code.
func (s *Store) SettlePayment(ctx context.Context, held, after *payment.Payment, change *payment.PaymentChange) (*payment.Payment, error) {
	before, ops, columns, err := store.CheckSettle(held, after, change)
	if err != nil {
		return nil, err
	}
	err = s.writeRerunnable(ctx, func(ctx context.Context, tx *wtx) error {
		for _, op := range change.Operations {
			was := ops[op.ID]
			res, err := tx.ExecContext(ctx, `UPDATE operations SET outcome = ?, decline_code = ?, gateway_reference = ?,
				response_code = ?, message = ?, avs_code = ?, cvv_code = ?, network_transaction_id = ?, transcript = ?,
				reconcile_attempts = ?, next_reconcile_at = ?, updated_at = ?
				WHERE account_id = ? AND payment_id = ? AND id = ? AND outcome = ? AND reconcile_attempts = ? AND next_reconcile_at IS ?`,
				string(op.Outcome), op.DeclineCode, op.GatewayReference, op.ResponseCode, op.Message, op.AVSCode, op.CVVCode,
				op.NetworkTransactionID, nullString(string(op.Transcript)), op.ReconcileAttempts, microsPtr(op.NextReconcileAt),
				micros(op.UpdatedAt),
				held.AccountID, held.ID, op.ID, string(was.Outcome), was.ReconcileAttempts, microsPtr(was.NextReconcileAt))
			if err := oneRow(res, err); err != nil {
				return err
			}
		}
		set, args, err := paymentSet(columns, after)
		if err != nil {
			return err
		}
		args = append(args, held.AccountID, held.ID, string(held.Status), held.AmountAuthorized, held.AmountCaptured,
			held.AmountRefunded, held.Voided, held.RequiresReview)
		res, err := tx.ExecContext(ctx, `UPDATE payments SET `+set+`
			WHERE account_id = ? AND id = ? AND status = ? AND amount_authorized = ? AND amount_captured = ?
				AND amount_refunded = ? AND voided = ? AND requires_review = ?`, args...)
		if err := oneRow(res, err); err != nil {
			return err
		}
		return writeChangeTail(ctx, tx, held.AccountID, change)
	})
	if errors.Is(err, payment.ErrStale) {
		return nil, err
	}
	if err != nil {
		return nil, fail("settle payment", err)
	}
	return store.UpdatedPayment(after, store.OperationIDs(before), ops, change), nil
}

// oneRow is the result of a compare-and-set update: nil when it changed
// exactly one row, ErrStale when none.
func oneRow(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return payment.ErrStale
	}
	return nil
}

// CreateOperation inserts an operation outside any payment, and ev.
func (s *Store) CreateOperation(ctx context.Context, op *payment.Operation, ev *payment.Event, mark *payment.IdempotencyMark) error {
	if op == nil {
		return errors.New("sqlite: create operation: nil operation")
	}
	if err := store.CheckOperationOwner(op.AccountID, "", op); err != nil {
		return err
	}
	if ev != nil {
		if err := store.CheckEvent(op.AccountID, ev); err != nil {
			return err
		}
	}
	err := s.writeRerunnable(ctx, func(ctx context.Context, tx *wtx) error {
		if err := insertOperation(ctx, tx, op); err != nil {
			return err
		}
		if ev != nil {
			if err := insertEvent(ctx, tx, ev); err != nil {
				return err
			}
		}
		return markIdempotencyKey(ctx, tx, mark)
	})
	return fail("create operation", err)
}

func operation(ctx context.Context, q querier, accountID, id string) (*payment.Operation, error) {
	op, err := scanOperation(q.QueryRowContext(ctx, `SELECT `+operationColumns+` FROM operations
		WHERE account_id = ? AND id = ?`, accountID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, payment.NotFound("operation", id)
	}
	return op, err
}

// Operation returns the account's operation id, of a payment or not.
func (s *Store) Operation(ctx context.Context, accountID, id string) (*payment.Operation, error) {
	op, err := operation(ctx, s.reads, accountID, id)
	if err != nil {
		return nil, fail("get operation", err)
	}
	return op, nil
}

// operationListColumns are operationColumns with NULL for the transcript:
// lists leave it out (it is the biggest column by far).
const operationListColumns = `id, account_id, payment_id, payment_method_id, gateway_id, credential_version,
	kind, amount, currency, outcome, decline_code, gateway_reference, response_code, message,
	avs_code, cvv_code, network_transaction_id, NULL, reconcile_attempts, next_reconcile_at,
	created_at, updated_at`

// Operations lists the account's operations matching f, of payments and
// outside them, newest first (oldest first when f.Ascending), without
// their transcripts.
func (s *Store) Operations(ctx context.Context, accountID string, f payment.OperationFilter) ([]*payment.Operation, bool, error) {
	limit := store.PageLimit(f.Limit)
	var ops []*payment.Operation
	more := false
	err := readTx(ctx, s.reader, func(tx *sql.Tx) error {
		where := `account_id = ?`
		args := []any{accountID}
		if f.StartingAfter != "" {
			seq, err := cursorSeq(ctx, tx, "operation", "operations", accountID, f.StartingAfter)
			if err != nil {
				return err
			}
			where += ` AND ` + afterSeq(f.Ascending)
			args = append(args, seq)
		}
		if f.PaymentMethodID != "" {
			where += ` AND payment_method_id = ?`
			args = append(args, f.PaymentMethodID)
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+operationListColumns+` FROM operations
			WHERE `+where+` ORDER BY `+seqOrder(f.Ascending)+` LIMIT ?`, append(args, limit+1)...)
		if err != nil {
			return err
		}
		if ops, err = collect(rows, scanOperation); err != nil {
			return err
		}
		if len(ops) > limit {
			ops, more = ops[:limit], true
		}
		return nil
	})
	if err != nil {
		return nil, false, fail("list operations", err)
	}
	return ops, more, nil
}

// UpdateOperation runs fn on an operation outside any payment inside a
// writer transaction and writes back its mutable fields and fn's event.
// An operation of a payment is changed through UpdatePayment only, under
// the payment's lock.
func (s *Store) UpdateOperation(ctx context.Context, accountID, id string, mark *payment.IdempotencyMark,
	fn func(*payment.Operation) (*payment.Event, error)) (*payment.Operation, error) {
	var op *payment.Operation
	var fnErr error
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		var err error
		if op, err = operation(ctx, tx, accountID, id); err != nil {
			return err
		}
		if op.PaymentID != "" {
			return fmt.Errorf("operation %s belongs to payment %s: update it through UpdatePayment", id, op.PaymentID)
		}
		before := *op
		ev, err := fn(op)
		if err != nil {
			fnErr = err
			return err
		}
		if err := store.CheckOperationUpdated(&before, op); err != nil {
			return err
		}
		if err := upsertOperation(ctx, tx, op); err != nil {
			return err
		}
		if ev != nil {
			if err := store.CheckEvent(accountID, ev); err != nil {
				return err
			}
			if err := insertEvent(ctx, tx, ev); err != nil {
				return err
			}
		}
		if err := markIdempotencyKey(ctx, tx, mark); err != nil {
			return err
		}
		op, err = operation(ctx, tx, accountID, id)
		return err
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, fail("update operation", err)
	}
	return op, nil
}

// UnsettledOperations counts pending and unknown operations, by the
// partial index on them.
func (s *Store) UnsettledOperations(ctx context.Context) (int, time.Time, error) {
	var n int
	var oldest sql.Null[int64]
	err := s.reads.QueryRowContext(ctx, `SELECT count(*), min(CASE WHEN outcome = 'unknown' THEN created_at END)
		FROM operations WHERE outcome IN ('pending', 'unknown')`).Scan(&n, &oldest)
	if err != nil {
		return 0, time.Time{}, fail("count unsettled operations", err)
	}
	if !oldest.Valid {
		return n, time.Time{}, nil
	}
	return n, fromMicros(oldest.V), nil
}

// ClaimUnsettledOperations leases up to limit operations that need
// reconciling, of any account, oldest first. The writer's IMMEDIATE
// transaction makes the choice and the lease one step, across processes
// too.
func (s *Store) ClaimUnsettledOperations(ctx context.Context, now, staleBefore, leaseUntil time.Time, maxAttempts, limit int) ([]*payment.Operation, error) {
	if limit <= 0 {
		return []*payment.Operation{}, nil
	}
	type claimed struct {
		op  *payment.Operation
		seq int64
	}
	var cs []claimed
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		// The choice by the partial index of unsettled operations, then the
		// lease by rowid. As one UPDATE … WHERE seq IN (SELECT …), the
		// planner, with statistics from when the table was small, scanned
		// the whole table for the members of the list: every second, in the
		// writer, through every operation ever made.
		rows, err := tx.QueryContext(ctx, `SELECT seq FROM operations
			WHERE outcome IN ('pending', 'unknown')
			AND (outcome = 'unknown' OR (outcome = 'pending' AND created_at <= ?))
			AND (next_reconcile_at IS NULL OR next_reconcile_at <= ?)
			AND reconcile_attempts < ?
			ORDER BY created_at, seq LIMIT ?`,
			micros(staleBefore), micros(now), maxAttempts, limit)
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
		rows, err = tx.QueryContext(ctx, `UPDATE operations SET next_reconcile_at = ?
			WHERE seq IN (?`+strings.Repeat(", ?", len(seqs)-1)+`)
			RETURNING `+operationColumns+`, seq`,
			append([]any{micros(leaseUntil)}, seqs...)...)
		if err != nil {
			return err
		}
		cs, err = collect(rows, func(sc scanner) (claimed, error) {
			var c claimed
			var err error
			c.op, err = scanOperation(withSeq{sc, &c.seq})
			return c, err
		})
		return err
	})
	if err != nil {
		return nil, fail("claim unsettled operations", err)
	}
	// RETURNING gives no order: oldest first, as chosen.
	slices.SortFunc(cs, func(a, b claimed) int {
		if c := a.op.CreatedAt.Compare(b.op.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	ops := make([]*payment.Operation, len(cs))
	for i, c := range cs {
		ops[i] = c.op
	}
	return ops, nil
}

// withSeq scans a row of some columns followed by seq.
type withSeq struct {
	sc  scanner
	seq *int64
}

func (w withSeq) Scan(dest ...any) error { return w.sc.Scan(append(dest, w.seq)...) }

// searchConditions are the conditions (each with a leading AND) and
// arguments of the dashboard's search filters of f. A card's last four
// digits or fingerprint find its payment methods first (by their own
// indexes), then their payments by payments_account_payment_method.
func searchConditions(accountID string, f payment.PaymentFilter) (string, []any) {
	var b strings.Builder
	var args []any
	add := func(cond string, vs ...any) {
		b.WriteString(` AND ` + cond)
		args = append(args, vs...)
	}
	if f.ID != "" {
		add(`id = ?`, f.ID)
	}
	if f.CustomerID != "" {
		add(`customer_id = ?`, f.CustomerID)
	}
	if f.CardLast4 != "" {
		add(`payment_method_id IN (SELECT id FROM payment_methods WHERE account_id = ? AND card_last4 = ?)`, accountID, f.CardLast4)
	}
	if f.CardFingerprint != "" {
		add(`payment_method_id IN (SELECT id FROM payment_methods WHERE account_id = ? AND card_fingerprint = ?)`, accountID, f.CardFingerprint)
	}
	if f.AmountMin > 0 {
		add(`amount >= ?`, f.AmountMin)
	}
	if f.AmountMax > 0 {
		add(`amount <= ?`, f.AmountMax)
	}
	if !f.CreatedFrom.IsZero() {
		add(`created_at >= ?`, micros(f.CreatedFrom))
	}
	if !f.CreatedBefore.IsZero() {
		add(`created_at < ?`, micros(f.CreatedBefore))
	}
	if f.RequiresReview {
		add(`requires_review = 1`)
	}
	return b.String(), args
}

// PaymentStats sums up the account's payments and attempts of a range:
// two grouped reads, each of one covering index on (account_id,
// created_at, …) and nothing else; the backlog counts by
// payments_account_status and payments_account_review.
func (s *Store) PaymentStats(ctx context.Context, accountID string, q payment.StatsQuery) (*payment.PaymentStats, error) {
	if err := store.CheckStatsQuery(q); err != nil {
		return nil, err
	}
	from, to, bucket := micros(q.From), micros(q.To), q.Bucket.Microseconds()
	var st *payment.PaymentStats
	err := readTx(ctx, s.reader, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT (created_at - ?) / ?, currency, count(*),
				count(*) FILTER (WHERE amount_authorized > 0), coalesce(sum(amount) FILTER (WHERE amount_authorized > 0), 0)
			FROM payments WHERE account_id = ? AND created_at >= ? AND created_at < ?
			GROUP BY 1, 2`, from, bucket, accountID, from, to)
		if err != nil {
			return err
		}
		pays, err := collect(rows, func(sc scanner) (store.PaymentRow, error) {
			var r store.PaymentRow
			err := sc.Scan(&r.Bucket, &r.Currency, &r.Payments, &r.Authorized, &r.Amount)
			return r, err
		})
		if err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT gateway_id, outcome,
				CASE WHEN outcome IN ('succeeded', 'declined', 'failed') THEN (updated_at - created_at) / 1000 ELSE -1 END, count(*)
			FROM operations
			WHERE account_id = ? AND created_at >= ? AND created_at < ? AND kind IN ('authorize', 'purchase')
			GROUP BY 1, 2, 3`, accountID, from, to)
		if err != nil {
			return err
		}
		attempts, err := collect(rows, func(sc scanner) (store.AttemptRow, error) {
			var r store.AttemptRow
			var outcome string
			err := sc.Scan(&r.GatewayID, &outcome, &r.Millis, &r.Count)
			r.Outcome = payment.Outcome(outcome)
			return r, err
		})
		if err != nil {
			return err
		}
		st = store.BuildStats(q, pays, attempts)
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM payments WHERE account_id = ? AND status = 'UNKNOWN'`,
			accountID).Scan(&st.Unknown); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM payments WHERE account_id = ? AND requires_review = 1`,
			accountID).Scan(&st.Review)
	})
	if err != nil {
		return nil, fail("payment stats", err)
	}
	return st, nil
}
