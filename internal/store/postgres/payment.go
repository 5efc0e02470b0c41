package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store"
)

const paymentColumns = `id, account_id, amount, currency, gateway_id, credential_version, router_id, routing_trace, payment_method_id,
	capture, reference, description, metadata, stored_credential, gateway_specific_fields,
	status, amount_authorized, amount_captured, amount_refunded, voided, requires_review, test,
	created_at, updated_at, customer_id`

func scanPayment(row pgx.Row) (*payment.Payment, error) {
	var p payment.Payment
	var metadata, storedCred, gsf []byte
	var trace, customer *string
	var status string
	err := row.Scan(&p.ID, &p.AccountID, &p.Amount, &p.Currency, &p.GatewayID, &p.CredentialVersion, &p.RouterID, &trace, &p.PaymentMethodID,
		&p.Capture, &p.Reference, &p.Description, &metadata, &storedCred, &gsf,
		&status, &p.AmountAuthorized, &p.AmountCaptured, &p.AmountRefunded, &p.Voided, &p.RequiresReview, &p.Test,
		&p.CreatedAt, &p.UpdatedAt, &customer)
	if err != nil {
		return nil, err
	}
	if customer != nil {
		p.CustomerID = *customer
	}
	if err := json.Unmarshal(metadata, &p.Metadata); err != nil {
		return nil, fmt.Errorf("payment %s: metadata: %w", p.ID, err)
	}
	if p.StoredCredential, err = store.UnmarshalStoredCredential(storedCred); err != nil {
		return nil, fmt.Errorf("payment %s: stored credential: %w", p.ID, err)
	}
	if p.GatewaySpecificFields, err = store.UnmarshalObject(gsf); err != nil {
		return nil, fmt.Errorf("payment %s: gateway specific fields: %w", p.ID, err)
	}
	if trace != nil {
		p.RoutingTrace = []byte(*trace)
	}
	p.Status = payment.Status(status)
	p.CreatedAt = utc(p.CreatedAt)
	p.UpdatedAt = utc(p.UpdatedAt)
	return &p, nil
}

// paymentJSON encodes the JSON columns of p; storedCred is nil (NULL)
// when p has no stored credential. The routing trace is already JSON: see
// routingTrace.
func paymentJSON(p *payment.Payment) (metadata string, storedCred *string, gsf string, err error) {
	m, err := json.Marshal(p.Metadata)
	if err != nil {
		return "", nil, "", fmt.Errorf("payment %s: metadata: %w", p.ID, err)
	}
	sc, err := store.MarshalStoredCredential(p.StoredCredential)
	if err != nil {
		return "", nil, "", fmt.Errorf("payment %s: stored credential: %w", p.ID, err)
	}
	if sc != nil {
		storedCred = new(string(sc))
	}
	g, err := json.Marshal(p.GatewaySpecificFields)
	if err != nil {
		return "", nil, "", fmt.Errorf("payment %s: gateway specific fields: %w", p.ID, err)
	}
	return string(m), storedCred, string(g), nil
}

// routingTrace is p's routing trace as stored: its bytes as given (a json
// column keeps them), NULL when it has none, empty included.
func routingTrace(p *payment.Payment) *string {
	if len(p.RoutingTrace) == 0 {
		return nil
	}
	return new(string(p.RoutingTrace))
}

// queueInsertPayment queues the insert of p's row (not its operations)
// into b; the caller translates b's error.
func queueInsertPayment(b *pgx.Batch, p *payment.Payment) error {
	metadata, storedCred, gsf, err := paymentJSON(p)
	if err != nil {
		return err
	}
	b.Queue(`INSERT INTO payments (`+paymentColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)`,
		p.ID, p.AccountID, p.Amount, p.Currency, p.GatewayID, p.CredentialVersion, p.RouterID, routingTrace(p), p.PaymentMethodID,
		p.Capture, p.Reference, p.Description, metadata, storedCred, gsf,
		string(p.Status), p.AmountAuthorized, p.AmountCaptured, p.AmountRefunded, p.Voided, p.RequiresReview, p.Test,
		ts(p.CreatedAt), ts(p.UpdatedAt), textOrNull(p.CustomerID))
	return nil
}

// queueUpdatePayment queues into b the write of every field of p but its
// id, account and creation time: a router's payment changes gateway,
// credential version and trace as it moves from one attempt to the next.
// The table's CHECKs refuse amounts that break the money invariants.
func queueUpdatePayment(b *pgx.Batch, before *store.PaymentBefore, p *payment.Payment) error {
	args := []any{p.AccountID, p.ID}
	set, args, err := paymentSet(before, p, args)
	if err != nil {
		return err
	}
	b.Queue(`UPDATE payments SET `+set+` WHERE account_id = $1 AND id = $2`, args...)
	return nil
}

// paymentSet is the SET list of an update of p, the columns that changed
// since before, numbered after the arguments already in args, which it
// returns with theirs appended.
func paymentSet(before *store.PaymentBefore, p *payment.Payment, args []any) (string, []any, error) {
	cols, err := before.ChangedColumns(p)
	if err != nil {
		return "", nil, fmt.Errorf("payment %s: %w", p.ID, err)
	}
	set := make([]string, len(cols))
	for i, c := range cols {
		switch {
		case c.Rendered:
			args = append(args, c.Value)
		case c.Name == "routing_trace":
			args = append(args, routingTrace(p))
		default: // updated_at
			args = append(args, ts(p.UpdatedAt))
		}
		set[i] = c.Name + " = $" + strconv.Itoa(len(args))
	}
	return strings.Join(set, ", "), args, nil
}

const operationColumns = `id, account_id, payment_id, payment_method_id, gateway_id, credential_version,
	kind, amount, currency, outcome, decline_code, gateway_reference, response_code, message,
	avs_code, cvv_code, network_transaction_id, transcript, reconcile_attempts, next_reconcile_at,
	created_at, updated_at`

func scanOperation(row pgx.Row) (*payment.Operation, error) {
	var op payment.Operation
	var paymentID *string
	var kind, outcome string
	err := row.Scan(&op.ID, &op.AccountID, &paymentID, &op.PaymentMethodID, &op.GatewayID, &op.CredentialVersion,
		&kind, &op.Amount, &op.Currency, &outcome, &op.DeclineCode, &op.GatewayReference, &op.ResponseCode, &op.Message,
		&op.AVSCode, &op.CVVCode, &op.NetworkTransactionID, &op.Transcript, &op.ReconcileAttempts, &op.NextReconcileAt,
		&op.CreatedAt, &op.UpdatedAt)
	if err != nil {
		return nil, err
	}
	if paymentID != nil {
		op.PaymentID = *paymentID
	}
	if len(op.Transcript) == 0 {
		op.Transcript = nil
	}
	op.Kind = payment.OperationKind(kind)
	op.Outcome = payment.Outcome(outcome)
	op.NextReconcileAt = utcPtr(op.NextReconcileAt)
	op.CreatedAt = utc(op.CreatedAt)
	op.UpdatedAt = utc(op.UpdatedAt)
	return &op, nil
}

func collectOperations(rows pgx.Rows, err error) ([]*payment.Operation, error) {
	if err != nil {
		return nil, err
	}
	ops, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*payment.Operation, error) { return scanOperation(r) })
	if ops == nil && err == nil {
		ops = []*payment.Operation{}
	}
	return ops, err
}

// operationValues are op's columns in the order of operationColumns.
// An empty payment id and an empty transcript are stored as NULL.
func operationValues(op *payment.Operation) []any {
	var paymentID *string
	if op.PaymentID != "" {
		paymentID = &op.PaymentID
	}
	var transcript []byte
	if len(op.Transcript) > 0 {
		transcript = op.Transcript
	}
	return []any{op.ID, op.AccountID, paymentID, op.PaymentMethodID, op.GatewayID, op.CredentialVersion,
		string(op.Kind), op.Amount, op.Currency, string(op.Outcome), op.DeclineCode, op.GatewayReference, op.ResponseCode, op.Message,
		op.AVSCode, op.CVVCode, op.NetworkTransactionID, transcript, op.ReconcileAttempts, tsPtr(op.NextReconcileAt),
		ts(op.CreatedAt), ts(op.UpdatedAt)}
}

const insertOperationSQL = `INSERT INTO operations (` + operationColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`

// insertOperation inserts a new operation. ErrConflict if its id is taken.
func insertOperation(ctx context.Context, tx pgx.Tx, op *payment.Operation) error {
	_, err := tx.Exec(ctx, insertOperationSQL, operationValues(op)...)
	return translate(err, op.AccountID)
}

// upsertOperationSQL inserts an operation, or updates the mutable columns
// of the operation with its id: its outcome, the gateway's answer and the
// reconciliation bookkeeping. An operation with that id that belongs to
// another account or payment is left alone: no row is affected.
const upsertOperationSQL = `INSERT INTO operations AS o (` + operationColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)
	ON CONFLICT (id) DO UPDATE SET outcome = EXCLUDED.outcome, decline_code = EXCLUDED.decline_code,
		gateway_reference = EXCLUDED.gateway_reference, response_code = EXCLUDED.response_code,
		message = EXCLUDED.message, avs_code = EXCLUDED.avs_code, cvv_code = EXCLUDED.cvv_code,
		network_transaction_id = EXCLUDED.network_transaction_id, transcript = EXCLUDED.transcript,
		reconcile_attempts = EXCLUDED.reconcile_attempts, next_reconcile_at = EXCLUDED.next_reconcile_at,
		updated_at = EXCLUDED.updated_at
	WHERE o.account_id = EXCLUDED.account_id AND o.payment_id IS NOT DISTINCT FROM EXCLUDED.payment_id`

// upsertOperation writes op with upsertOperationSQL. An operation with
// op's id that belongs to another account or payment is a conflict.
func upsertOperation(ctx context.Context, tx pgx.Tx, op *payment.Operation) error {
	tag, err := tx.Exec(ctx, upsertOperationSQL, operationValues(op)...)
	if err != nil {
		return translate(err, op.AccountID)
	}
	return checkUpserted(op, tag)
}

// queueUpsertOperation queues upsertOperation into b; the caller
// translates b's error.
func queueUpsertOperation(b *pgx.Batch, op *payment.Operation) {
	b.Queue(upsertOperationSQL, operationValues(op)...).Exec(func(tag pgconn.CommandTag) error {
		return checkUpserted(op, tag)
	})
}

// checkUpserted reports an upsert of op that changed no row: the id is
// another account's or payment's.
func checkUpserted(op *payment.Operation, tag pgconn.CommandTag) error {
	if tag.RowsAffected() != 1 {
		return store.Conflict(fmt.Errorf("operation %s exists outside payment %q of account %s", op.ID, op.PaymentID, op.AccountID))
	}
	return nil
}

// queuePayment queues into b the reads of the account's payment id and of
// its operations, oldest first, which fill in *p when b's results are
// read; a missing payment makes them fail with ErrNotFound. lock is "" or
// a locking clause for the payment's row. The queries run one after the
// other, so a lock is held before the operations are read.
func queuePayment(b *pgx.Batch, accountID, id, lock string, p *payment.Payment) {
	b.Queue(`SELECT `+paymentColumns+` FROM payments
		WHERE account_id = $1 AND id = $2 `+lock, accountID, id).QueryRow(func(row pgx.Row) error {
		got, err := scanPayment(row)
		if errors.Is(err, pgx.ErrNoRows) {
			return payment.NotFound("payment", id)
		}
		if err != nil {
			return err
		}
		*p = *got
		return nil
	})
	b.Queue(`SELECT `+operationColumns+` FROM operations
		WHERE account_id = $1 AND payment_id = $2 ORDER BY seq`, accountID, id).Query(func(rows pgx.Rows) error {
		// Appended to nil, so none leaves nil, as loadOperations does.
		ops, err := pgx.AppendRows([]*payment.Operation(nil), rows, func(r pgx.CollectableRow) (*payment.Operation, error) { return scanOperation(r) })
		p.Operations = ops
		return err
	})
}

// loadOperations sets the Operations of ps, all of accountID, oldest
// first, with one query.
func loadOperations(ctx context.Context, q querier, accountID string, ps []*payment.Payment) error {
	if len(ps) == 0 {
		return nil
	}
	byID := make(map[string]*payment.Payment, len(ps))
	ids := make([]string, len(ps))
	for i, p := range ps {
		byID[p.ID] = p
		p.Operations = nil
		ids[i] = p.ID
	}
	ops, err := collectOperations(q.Query(ctx, `SELECT `+operationColumns+` FROM operations
		WHERE account_id = $1 AND payment_id = ANY($2) ORDER BY seq`, accountID, ids))
	if err != nil {
		return err
	}
	for _, op := range ops {
		p := byID[op.PaymentID]
		p.Operations = append(p.Operations, op)
	}
	return nil
}

// readTx runs fn in a read-only REPEATABLE READ transaction, so that its
// queries (a payment and its operations) see one snapshot.
func (s *Store) readTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return s.with(ctx, func(c *pgx.Conn) error {
		return pgx.BeginTxFunc(ctx, c, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
	})
}

// ImportPayments stores ps, each with its operations, in one batch (one
// implicit transaction) and without events: bulk loading of test data
// (the dashboard's benchmark), which the engine never uses. It is
// SQLite's ImportPayments on PostgreSQL.
func (s *Store) ImportPayments(ctx context.Context, ps []*payment.Payment) error {
	b := &pgx.Batch{}
	for _, p := range ps {
		for _, op := range p.Operations {
			if err := store.CheckOperationOwner(p.AccountID, p.ID, op); err != nil {
				return err
			}
		}
		if err := queueInsertPayment(b, p); err != nil {
			return fail("import payments", err)
		}
		for _, op := range p.Operations {
			b.Queue(insertOperationSQL, operationValues(op)...)
		}
	}
	if b.Len() == 0 {
		return nil
	}
	return fail("import payments", translate(s.sendBatch(ctx, b), ""))
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
	// One round trip, and one (implicit) transaction — also with a new
	// key's claim, whose conflict fails the statement. Other marks carry
	// checks of the client's, which must be able to roll the batch back:
	// two round trips.
	oneTrip := mark == nil || claimsNewKey(mark)
	b := &pgx.Batch{}
	if !oneTrip {
		b.BeginTx(pgx.TxOptions{})
	}
	if err := queueInsertPayment(b, p); err != nil {
		return fail("create payment", err)
	}
	for _, op := range p.Operations {
		b.Queue(insertOperationSQL, operationValues(op)...)
	}
	for _, ev := range evs {
		queueEvent(b, ev)
	}
	if oneTrip {
		queueNewKeyClaim(b, mark)
		return fail("create payment", translateClaim(s.sendOne(ctx, b, nil), p.AccountID))
	}
	queueMark(b, mark)
	if err := queueCheckoutCard(b, mark); err != nil {
		return fail("create payment", err)
	}
	return fail("create payment", translate(s.inBatchTx(ctx, b, func(pgx.Tx) error { return nil }), p.AccountID))
}

// Payment returns the account's payment id with its operations, read in
// one round trip from one snapshot.
func (s *Store) Payment(ctx context.Context, accountID, id string) (*payment.Payment, error) {
	var p payment.Payment
	err := s.inSnapshot(ctx, func(b *pgx.Batch) { queuePayment(b, accountID, id, "", &p) })
	if err != nil {
		return nil, fail("get payment", err)
	}
	return &p, nil
}

// Payments lists the account's payments matching f, newest first (oldest
// first when f.Ascending), each with its operations (loaded for the whole
// page with one more query).
func (s *Store) Payments(ctx context.Context, accountID string, f payment.PaymentFilter) ([]*payment.Payment, bool, error) {
	limit := store.PageLimit(f.Limit)
	var ps []*payment.Payment
	more := false
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		var where strings.Builder
		args := []any{accountID}
		where.WriteString(`account_id = $1`)
		and := func(cond string, v any) {
			args = append(args, v)
			where.WriteString(` AND ` + cond + ` $` + strconv.Itoa(len(args)))
		}
		if f.StartingAfter != "" {
			seq, err := cursorSeq(ctx, tx, "payment", "payments", accountID, f.StartingAfter)
			if err != nil {
				return err
			}
			args = append(args, seq)
			where.WriteString(` AND ` + afterSeq(f.Ascending, `$`+strconv.Itoa(len(args))))
		}
		if f.Status != "" {
			and(`status =`, string(f.Status))
		}
		if f.Reference != "" {
			and(`reference =`, f.Reference)
		}
		if f.GatewayID != "" {
			and(`gateway_id =`, f.GatewayID)
		}
		if f.PaymentMethodID != "" {
			and(`payment_method_id =`, f.PaymentMethodID)
		}
		if f.CardholderAuthorized {
			where.WriteString(` AND amount_authorized > 0 AND stored_credential->>'initiator' = 'cardholder'`)
		}
		where.WriteString(searchConditions(f, func(v any) string {
			args = append(args, v)
			return `$` + strconv.Itoa(len(args))
		}))
		args = append(args, limit+1)
		rows, err := tx.Query(ctx, `SELECT `+paymentColumns+` FROM payments
			WHERE `+where.String()+` ORDER BY `+seqOrder(f.Ascending)+` LIMIT $`+strconv.Itoa(len(args)), args...)
		if err != nil {
			return err
		}
		ps, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*payment.Payment, error) { return scanPayment(r) })
		if err != nil {
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
	if ps == nil {
		ps = []*payment.Payment{}
	}
	return ps, more, nil
}

// UpdatePayment locks the payment's row (SELECT … FOR UPDATE), reads its
// operations, runs fn and writes back the payment row and the operations
// and events fn returns, in one transaction. Every update of a payment
// takes that lock first, so concurrent updates of one payment run one
// after the other, each seeing what the previous one committed.
//
// It takes three round trips: BEGIN with the lock and the reads, then the
// writes, then COMMIT, which stays apart so that the checks of the writes'
// results can still roll them back. Nothing is read back: the payment
// returned is the one fn computed, as the store keeps it
// (store.UpdatedPayment).
func (s *Store) UpdatePayment(ctx context.Context, accountID, id string, fn func(*payment.Payment) (*payment.PaymentChange, error)) (*payment.Payment, error) {
	var p payment.Payment
	var stored *payment.Payment
	var fnErr error
	read := &pgx.Batch{}
	read.BeginTx(pgx.TxOptions{})
	queuePayment(read, accountID, id, "FOR UPDATE", &p)
	err := s.inBatchTx(ctx, read, func(tx pgx.Tx) error {
		before, ops := store.SnapshotPayment(&p)
		order := store.OperationIDs(&p)
		columns, err := store.SnapshotColumns(&p)
		if err != nil {
			return err
		}
		change, err := fn(&p)
		if err != nil {
			fnErr = err
			return err
		}
		if err := store.CheckPaymentUpdated(&before, &p); err != nil {
			return err
		}
		if change == nil {
			change = &payment.PaymentChange{}
		}
		if err := store.CheckPaymentChange(accountID, id, ops, change); err != nil {
			return err
		}
		write := &pgx.Batch{}
		if err := queueUpdatePayment(write, columns, &p); err != nil {
			return err
		}
		for _, op := range change.Operations {
			queueUpsertOperation(write, op)
		}
		queueChangeTail(write, accountID, change)
		if err := translate(tx.SendBatch(ctx, write).Close(), accountID); err != nil {
			return err
		}
		// What was stored, without reading it back.
		stored = store.UpdatedPayment(&p, order, ops, change)
		return nil
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, fail("update payment", err)
	}
	return stored, nil
}

// queueChangeTail queues what follows a payment's row and operations in an
// update: change's events and notices, its idempotency mark and the
// destruction of a spent CVC.
func queueChangeTail(b *pgx.Batch, accountID string, change *payment.PaymentChange) {
	for _, ev := range change.Events {
		queueEvent(b, ev)
	}
	queueNotices(b, change.Notices)
	queueMark(b, change.Idempotency)
	if change.DestroyCVC != "" {
		b.Queue(`UPDATE payment_methods SET cvc_sealed = NULL, cvc_expires_at = NULL
			WHERE account_id = $1 AND id = $2 AND cvc_sealed IS NOT NULL`, accountID, change.DestroyCVC)
	}
}

// SettlePayment writes a settle by compare-and-set, without reading the
// payment (see payment.PaymentStore). Usually as one statement, in one
// round trip and one implicit transaction: the conditional updates fail
// it on the server when they find their row moved (oneStatement.addCAS),
// which rolls back all of it. A change with notices, whose checks are the client's, takes two:
// BEGIN, the updates and the inserts, then COMMIT once every update is
// known to have found its row as held.
func (s *Store) SettlePayment(ctx context.Context, held, after *payment.Payment, change *payment.PaymentChange) (*payment.Payment, error) {
	before, ops, columns, err := store.CheckSettle(held, after, change)
	if err != nil {
		return nil, err
	}
	oneTrip := len(change.Notices) == 0 && (change.Idempotency == nil || change.Idempotency.Point != payment.RecoveryReserved)
	one := &oneStatement{}
	b := &pgx.Batch{}
	cas := func(update string, args ...any) {
		if oneTrip {
			one.addCAS(update, args...)
		} else {
			b.Queue(update, args...).Exec(oneRow)
		}
	}
	if !oneTrip {
		b.BeginTx(pgx.TxOptions{})
	}
	for _, op := range change.Operations {
		was := ops[op.ID]
		var transcript []byte
		if len(op.Transcript) > 0 {
			transcript = op.Transcript
		}
		cas(`UPDATE operations SET outcome = $6, decline_code = $7, gateway_reference = $8,
			response_code = $9, message = $10, avs_code = $11, cvv_code = $12, network_transaction_id = $13, transcript = $14,
			reconcile_attempts = $15, next_reconcile_at = $16, updated_at = $17
			WHERE account_id = $1 AND payment_id = $2 AND id = $3 AND outcome = $4 AND reconcile_attempts = $5
				AND next_reconcile_at IS NOT DISTINCT FROM $18`,
			held.AccountID, held.ID, op.ID, string(was.Outcome), was.ReconcileAttempts,
			string(op.Outcome), op.DeclineCode, op.GatewayReference, op.ResponseCode, op.Message, op.AVSCode, op.CVVCode,
			op.NetworkTransactionID, transcript, op.ReconcileAttempts, tsPtr(op.NextReconcileAt), ts(op.UpdatedAt),
			tsPtr(was.NextReconcileAt))
	}
	set, args, err := paymentSet(columns, after, []any{held.AccountID, held.ID, string(held.Status), held.AmountAuthorized,
		held.AmountCaptured, held.AmountRefunded, held.Voided, held.RequiresReview})
	if err != nil {
		return nil, err
	}
	cas(`UPDATE payments SET `+set+`
		WHERE account_id = $1 AND id = $2 AND status = $3 AND amount_authorized = $4 AND amount_captured = $5
			AND amount_refunded = $6 AND voided = $7 AND requires_review = $8`, args...)
	queueChangeTail(b, held.AccountID, change)
	if oneTrip {
		err = s.sendOne(ctx, b, one)
		if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == staleRow {
			err = payment.ErrStale
		}
	} else {
		err = s.inBatchTx(ctx, b, func(pgx.Tx) error { return nil })
	}
	if errors.Is(err, payment.ErrStale) {
		return nil, err
	}
	if err != nil {
		return nil, fail("settle payment", translate(err, held.AccountID))
	}
	return store.UpdatedPayment(after, store.OperationIDs(before), ops, change), nil
}

// staleRow is the error (division_by_zero) of a oneStatement whose
// compare-and-set update found no row to change.
const staleRow = "22012"

// oneRow is the check of a compare-and-set update: ErrStale unless it
// changed exactly one row.
func oneRow(tag pgconn.CommandTag) error {
	if tag.RowsAffected() != 1 {
		return payment.ErrStale
	}
	return nil
}

// sendOne sends b's queries, after those already in one (nil for none),
// joined into as few statements as keep their order (oneStatement), in
// one round trip outside a transaction block: one implicit transaction.
// If a query of b has a check of the client's, b is sent as a batch, also
// one implicit transaction, and one must be empty.
func (s *Store) sendOne(ctx context.Context, b *pgx.Batch, one *oneStatement) error {
	if one == nil {
		one = &oneStatement{}
	}
	joined := &pgx.Batch{}
	for {
		rest, ok := one.addBatch(b)
		if !ok {
			if len(one.queries) > 0 || len(joined.QueuedQueries) > 0 {
				return errors.New("postgres: a check of the client's cannot join one statement")
			}
			return s.sendBatch(ctx, b)
		}
		joined.Queue(one.sql(), one.args...)
		if len(rest) == 0 {
			return s.sendBatch(ctx, joined)
		}
		b, one = &pgx.Batch{QueuedQueries: rest}, &oneStatement{}
	}
}

// CreateOperation inserts an operation outside any payment, and ev.
func (s *Store) CreateOperation(ctx context.Context, op *payment.Operation, ev *payment.Event, mark *payment.IdempotencyMark) error {
	if op == nil {
		return errors.New("postgres: create operation: nil operation")
	}
	if err := store.CheckOperationOwner(op.AccountID, "", op); err != nil {
		return err
	}
	if ev != nil {
		if err := store.CheckEvent(op.AccountID, ev); err != nil {
			return err
		}
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
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

// operation reads one operation; lock is "" or a locking clause.
func operation(ctx context.Context, q querier, accountID, id, lock string) (*payment.Operation, error) {
	op, err := scanOperation(q.QueryRow(ctx, `SELECT `+operationColumns+` FROM operations
		WHERE account_id = $1 AND id = $2 `+lock, accountID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, payment.NotFound("operation", id)
	}
	return op, err
}

// Operation returns the account's operation id, of a payment or not.
func (s *Store) Operation(ctx context.Context, accountID, id string) (*payment.Operation, error) {
	var op *payment.Operation
	err := s.withConn(ctx, func(q querier) error {
		var err error
		op, err = operation(ctx, q, accountID, id, "")
		return err
	})
	if err != nil {
		return nil, fail("get operation", err)
	}
	return op, nil
}

// operationListColumns are operationColumns with NULL for the transcript:
// lists leave it out (it is the biggest column by far).
const operationListColumns = `id, account_id, payment_id, payment_method_id, gateway_id, credential_version,
	kind, amount, currency, outcome, decline_code, gateway_reference, response_code, message,
	avs_code, cvv_code, network_transaction_id, NULL::bytea, reconcile_attempts, next_reconcile_at,
	created_at, updated_at`

// Operations lists the account's operations matching f, of payments and
// outside them, newest first (oldest first when f.Ascending), without
// their transcripts. The cursor and the page are read in one snapshot.
func (s *Store) Operations(ctx context.Context, accountID string, f payment.OperationFilter) ([]*payment.Operation, bool, error) {
	limit := store.PageLimit(f.Limit)
	var ops []*payment.Operation
	more := false
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		var where strings.Builder
		args := []any{accountID}
		where.WriteString(`account_id = $1`)
		if f.StartingAfter != "" {
			seq, err := cursorSeq(ctx, tx, "operation", "operations", accountID, f.StartingAfter)
			if err != nil {
				return err
			}
			args = append(args, seq)
			where.WriteString(` AND ` + afterSeq(f.Ascending, `$`+strconv.Itoa(len(args))))
		}
		if f.PaymentMethodID != "" {
			args = append(args, f.PaymentMethodID)
			where.WriteString(` AND payment_method_id = $` + strconv.Itoa(len(args)))
		}
		args = append(args, limit+1)
		var err error
		ops, err = collectOperations(tx.Query(ctx, `SELECT `+operationListColumns+` FROM operations
			WHERE `+where.String()+` ORDER BY `+seqOrder(f.Ascending)+` LIMIT $`+strconv.Itoa(len(args)), args...))
		if err != nil {
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

// UpdateOperation locks an operation outside any payment (FOR UPDATE),
// runs fn on it and writes back its mutable fields and fn's event. An
// operation of a payment is changed through UpdatePayment only, under the
// payment's lock.
func (s *Store) UpdateOperation(ctx context.Context, accountID, id string, mark *payment.IdempotencyMark,
	fn func(*payment.Operation) (*payment.Event, error)) (*payment.Operation, error) {
	var op *payment.Operation
	var fnErr error
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if op, err = operation(ctx, tx, accountID, id, "FOR UPDATE"); err != nil {
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
		if ev != nil {
			if err := store.CheckEvent(accountID, ev); err != nil {
				return err
			}
		}
		if err := upsertOperation(ctx, tx, op); err != nil {
			return err
		}
		if ev != nil {
			if err := insertEvent(ctx, tx, ev); err != nil {
				return err
			}
		}
		if err := markIdempotencyKey(ctx, tx, mark); err != nil {
			return err
		}
		op, err = operation(ctx, tx, accountID, id, "")
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
	var oldest *time.Time
	err := s.withConn(ctx, func(q querier) error {
		return q.QueryRow(ctx, `SELECT count(*), min(created_at) FILTER (WHERE outcome = 'unknown')
			FROM operations WHERE outcome IN ('pending', 'unknown')`).Scan(&n, &oldest)
	})
	if err != nil {
		return 0, time.Time{}, fail("count unsettled operations", err)
	}
	if oldest == nil {
		return n, time.Time{}, nil
	}
	return n, utc(*oldest), nil
}

// ClaimUnsettledOperations leases up to limit operations that need
// reconciling, of any account, oldest first. The candidates are locked
// with FOR UPDATE SKIP LOCKED, so concurrent claimers (other kassa
// processes) take disjoint sets without waiting for each other; a row
// another claimer leased meanwhile fails the re-check of the WHERE clause
// that PostgreSQL makes on the newest version of a row it locks.
func (s *Store) ClaimUnsettledOperations(ctx context.Context, now, staleBefore, leaseUntil time.Time, maxAttempts, limit int) ([]*payment.Operation, error) {
	if limit <= 0 {
		return []*payment.Operation{}, nil
	}
	var ops []*payment.Operation
	err := s.withConn(ctx, func(q querier) error {
		var err error
		// MATERIALIZED: the locking subquery runs exactly once.
		ops, err = collectOperations(q.Query(ctx, `WITH picked AS MATERIALIZED (
				SELECT id AS picked_id FROM operations
				WHERE outcome IN ('pending', 'unknown')
				AND (outcome = 'unknown' OR (outcome = 'pending' AND created_at <= $2))
				AND (next_reconcile_at IS NULL OR next_reconcile_at <= $3)
				AND reconcile_attempts < $4
				ORDER BY created_at, seq LIMIT $5
				FOR UPDATE SKIP LOCKED),
			claimed AS (
				UPDATE operations SET next_reconcile_at = $1
				FROM picked WHERE id = picked_id
				RETURNING `+operationColumns+`, seq)
			SELECT `+operationColumns+` FROM claimed ORDER BY created_at, seq`,
			ts(leaseUntil), ts(staleBefore), ts(now), maxAttempts, limit))
		return err
	})
	if err != nil {
		return nil, fail("claim unsettled operations", err)
	}
	return ops, nil
}

// searchConditions are the conditions (each with a leading AND) of the
// dashboard's search filters of f; arg adds a value and returns its
// placeholder (the account is $1). A card's last four digits or
// fingerprint find its payment methods first (by their own indexes), then
// their payments by payments_account_payment_method.
func searchConditions(f payment.PaymentFilter, arg func(any) string) string {
	var b strings.Builder
	add := func(cond string) { b.WriteString(` AND ` + cond) }
	if f.ID != "" {
		add(`id = ` + arg(f.ID))
	}
	if f.CustomerID != "" {
		add(`customer_id = ` + arg(f.CustomerID))
	}
	if f.CardLast4 != "" {
		add(`payment_method_id IN (SELECT id FROM payment_methods WHERE account_id = $1 AND card_last4 = ` + arg(f.CardLast4) + `)`)
	}
	if f.CardFingerprint != "" {
		add(`payment_method_id IN (SELECT id FROM payment_methods WHERE account_id = $1 AND card_fingerprint = ` + arg(f.CardFingerprint) + `)`)
	}
	if f.AmountMin > 0 {
		add(`amount >= ` + arg(f.AmountMin))
	}
	if f.AmountMax > 0 {
		add(`amount <= ` + arg(f.AmountMax))
	}
	if !f.CreatedFrom.IsZero() {
		add(`created_at >= ` + arg(f.CreatedFrom))
	}
	if !f.CreatedBefore.IsZero() {
		add(`created_at < ` + arg(f.CreatedBefore))
	}
	if f.RequiresReview {
		add(`requires_review`)
	}
	return b.String()
}

// PaymentStats sums up the account's payments and attempts of a range:
// two grouped reads, each of one covering index on (account_id,
// created_at, …) and nothing else; the backlog counts by
// payments_account_status and payments_account_review.
func (s *Store) PaymentStats(ctx context.Context, accountID string, q payment.StatsQuery) (*payment.PaymentStats, error) {
	if err := store.CheckStatsQuery(q); err != nil {
		return nil, err
	}
	from, to, bucket := q.From.UTC(), q.To.UTC(), q.Bucket.Microseconds()
	var st *payment.PaymentStats
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT (floor(extract(epoch FROM created_at - $2::timestamptz) * 1000000) / $4::bigint)::bigint AS bucket,
				currency, count(*), count(*) FILTER (WHERE amount_authorized > 0),
				coalesce(sum(amount) FILTER (WHERE amount_authorized > 0), 0)::bigint
			FROM payments WHERE account_id = $1 AND created_at >= $2 AND created_at < $3
			GROUP BY 1, 2`, accountID, from, to, bucket)
		if err != nil {
			return err
		}
		pays, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.PaymentRow, error) {
			var p store.PaymentRow
			err := r.Scan(&p.Bucket, &p.Currency, &p.Payments, &p.Authorized, &p.Amount)
			return p, err
		})
		if err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT gateway_id, outcome,
				CASE WHEN outcome IN ('succeeded', 'declined', 'failed')
					THEN floor(extract(epoch FROM updated_at - created_at) * 1000)::bigint ELSE -1 END,
				count(*)
			FROM operations
			WHERE account_id = $1 AND created_at >= $2 AND created_at < $3 AND kind IN ('authorize', 'purchase')
			GROUP BY 1, 2, 3`, accountID, from, to)
		if err != nil {
			return err
		}
		attempts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.AttemptRow, error) {
			var a store.AttemptRow
			var outcome string
			err := r.Scan(&a.GatewayID, &outcome, &a.Millis, &a.Count)
			a.Outcome = payment.Outcome(outcome)
			return a, err
		})
		if err != nil {
			return err
		}
		st = store.BuildStats(q, pays, attempts)
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM payments WHERE account_id = $1 AND status = 'UNKNOWN'`,
			accountID).Scan(&st.Unknown); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT count(*) FROM payments WHERE account_id = $1 AND requires_review`,
			accountID).Scan(&st.Review)
	})
	if err != nil {
		return nil, fail("payment stats", err)
	}
	return st, nil
}
