package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store"
)

// The simulator gateway's ledger (simulator.Ledger, which this package
// cannot name): tables simulator_operations and simulator_authorizations.

const simulatorOperationColumns = `gateway_id, reference, kind, amount, prior_reference,
	outcome, gateway_reference, decline_code, response_code, message, avs_code, cvv_code, network_transaction_id,
	calls, created_at, updated_at`

func scanSimulatorOperation(row pgx.Row) (*payment.SimulatorOperation, error) {
	var op payment.SimulatorOperation
	var kind, outcome string
	r := &op.Result
	if err := row.Scan(&op.GatewayID, &op.Reference, &kind, &op.Amount, &op.PriorReference,
		&outcome, &r.GatewayReference, &r.DeclineCode, &r.ResponseCode, &r.Message, &r.AVSCode, &r.CVVCode, &r.NetworkTransactionID,
		&op.Calls, &op.CreatedAt, &op.UpdatedAt); err != nil {
		return nil, err
	}
	op.Kind = payment.OperationKind(kind)
	r.Outcome = payment.Outcome(outcome)
	op.CreatedAt = utc(op.CreatedAt)
	op.UpdatedAt = utc(op.UpdatedAt)
	return &op, nil
}

const simulatorAuthorizationColumns = `gateway_id, gateway_reference, kind, currency,
	authorized, captured, refunded, voided, loses_response`

func scanSimulatorAuthorization(row pgx.Row) (*payment.SimulatorAuthorization, error) {
	var a payment.SimulatorAuthorization
	var kind, loses string
	if err := row.Scan(&a.GatewayID, &a.GatewayReference, &kind, &a.Currency,
		&a.Authorized, &a.Captured, &a.Refunded, &a.Voided, &loses); err != nil {
		return nil, err
	}
	a.Kind = payment.OperationKind(kind)
	a.LosesResponse = payment.OperationKind(loses)
	return &a, nil
}

// RecordSimulatorCall records one call of the simulator gateway (see
// simulator.Ledger): a repeat of a known reference counts one more call;
// a new reference is decided against its authorization and stored, in one
// transaction. INSERT … ON CONFLICT claims the reference: a concurrent
// call with the same reference waits on the claimed row until this
// transaction ends, then counts as a repeat and reads the decided result.
// SELECT … FOR UPDATE locks the authorization, so concurrent follow-ups
// of one authorization (from any process) are decided one after another.
// The claim is always taken before the authorization's lock, so two calls
// never wait on each other in a cycle.
//
// A call with no prior reference (an authorization, a purchase, a
// verification) depends on nothing stored, so it is decided first and
// written in one statement, one round trip: the operation's insert, which
// counts a repeat instead (ON CONFLICT), and the authorization it opens,
// inserted only if the operation was (Calls 1). For a repeat decide's
// result is discarded.
func (s *Store) RecordSimulatorCall(ctx context.Context, call *payment.SimulatorOperation,
	decide func(auth *payment.SimulatorAuthorization) (payment.SimulatorResult, *payment.SimulatorAuthorization, error),
) (*payment.SimulatorOperation, error) {
	if call.PriorReference == "" {
		res, opened, err := decide(nil)
		if err != nil {
			return nil, err
		}
		if err := store.CheckSimulatorDecision(call, res, opened); err != nil {
			return nil, err
		}
		op, err := s.recordNewSimulatorCall(ctx, call, res, opened)
		if err != nil {
			return nil, fail("record simulator call", translate(err, ""))
		}
		return op, nil
	}
	// Two round trips: BEGIN, the claim and the authorization's lock go
	// together; the decided writes go with the COMMIT.
	var op *payment.SimulatorOperation
	var auth *payment.SimulatorAuthorization
	first := &pgx.Batch{}
	first.BeginTx(pgx.TxOptions{})
	first.Queue(`INSERT INTO simulator_operations AS o (`+simulatorOperationColumns+`)
		VALUES ($1, $2, $3, $4, $5, 'pending', '', '', '', '', '', '', '', 1, $6, $6)
		ON CONFLICT (gateway_id, reference) DO UPDATE SET calls = o.calls + 1, updated_at = EXCLUDED.updated_at
		RETURNING `+simulatorOperationColumns,
		call.GatewayID, call.Reference, string(call.Kind), call.Amount, call.PriorReference, ts(call.CreatedAt),
	).QueryRow(func(row pgx.Row) (err error) {
		op, err = scanSimulatorOperation(row)
		return err
	})
	if call.PriorReference != "" {
		// Locked also for a repeat, which then commits at once: the claim
		// is what orders concurrent calls of one reference.
		first.Queue(`SELECT `+simulatorAuthorizationColumns+`
			FROM simulator_authorizations WHERE gateway_id = $1 AND gateway_reference = $2 FOR UPDATE`,
			call.GatewayID, call.PriorReference,
		).QueryRow(func(row pgx.Row) (err error) {
			auth, err = scanSimulatorAuthorization(row)
			if errors.Is(err, pgx.ErrNoRows) {
				auth, err = nil, nil
			}
			return err
		})
	}
	err := s.inTwoTrips(ctx, first, func(b *pgx.Batch) error {
		if op.Calls > 1 {
			return nil
		}
		var before payment.SimulatorAuthorization
		if auth != nil {
			before = *auth
		}
		res, opened, err := decide(auth)
		if err != nil {
			return err
		}
		if err := store.CheckSimulatorDecision(call, res, opened); err != nil {
			return err
		}
		op.Result = res
		if auth != nil && (auth.Captured != before.Captured || auth.Refunded != before.Refunded || auth.Voided != before.Voided) {
			b.Queue(`UPDATE simulator_authorizations SET captured = $3, refunded = $4, voided = $5, updated_at = $6
				WHERE gateway_id = $1 AND gateway_reference = $2`,
				before.GatewayID, before.GatewayReference, auth.Captured, auth.Refunded, auth.Voided, ts(call.CreatedAt))
		}
		// The operation's result, and the authorization it opens in the
		// same statement.
		update := `UPDATE simulator_operations SET outcome = $3, gateway_reference = $4,
			decline_code = $5, response_code = $6, message = $7, avs_code = $8, cvv_code = $9, network_transaction_id = $10
			WHERE gateway_id = $1 AND reference = $2`
		args := []any{call.GatewayID, call.Reference, string(res.Outcome), res.GatewayReference, res.DeclineCode, res.ResponseCode,
			res.Message, res.AVSCode, res.CVVCode, res.NetworkTransactionID}
		if opened != nil {
			update = `WITH opened AS (INSERT INTO simulator_authorizations (` + simulatorAuthorizationColumns + `, created_at, updated_at)
				VALUES ($11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20))
			` + update
			args = append(args, opened.GatewayID, opened.GatewayReference, string(opened.Kind), opened.Currency,
				opened.Authorized, opened.Captured, opened.Refunded, opened.Voided, string(opened.LosesResponse),
				ts(call.CreatedAt))
		}
		b.Queue(update, args...)
		return nil
	})
	if err != nil {
		return nil, fail("record simulator call", translate(err, ""))
	}
	return op, nil
}

// recordNewSimulatorCall writes call, decided as res and opening opened
// (nil for none), in one statement, or counts a repeat of its reference.
func (s *Store) recordNewSimulatorCall(ctx context.Context, call *payment.SimulatorOperation,
	res payment.SimulatorResult, opened *payment.SimulatorAuthorization,
) (*payment.SimulatorOperation, error) {
	args := []any{call.GatewayID, call.Reference, string(call.Kind), call.Amount, call.PriorReference,
		string(res.Outcome), res.GatewayReference, res.DeclineCode, res.ResponseCode, res.Message,
		res.AVSCode, res.CVVCode, res.NetworkTransactionID, ts(call.CreatedAt)}
	q := `WITH op AS (INSERT INTO simulator_operations AS o (` + simulatorOperationColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14, $14)
		ON CONFLICT (gateway_id, reference) DO UPDATE SET calls = o.calls + 1, updated_at = EXCLUDED.updated_at
		RETURNING ` + simulatorOperationColumns + `)`
	if opened != nil {
		q += `, opened AS (INSERT INTO simulator_authorizations (` + simulatorAuthorizationColumns + `, created_at, updated_at)
			SELECT $15, $16, $17, $18, $19, $20, $21, $22, $23, $14, $14 FROM op WHERE op.calls = 1)`
		args = append(args, opened.GatewayID, opened.GatewayReference, string(opened.Kind), opened.Currency,
			opened.Authorized, opened.Captured, opened.Refunded, opened.Voided, string(opened.LosesResponse))
	}
	q += ` SELECT ` + simulatorOperationColumns + ` FROM op`
	var op *payment.SimulatorOperation
	err := s.withConn(ctx, func(c querier) error {
		var err error
		op, err = scanSimulatorOperation(c.QueryRow(ctx, q, args...))
		return err
	})
	return op, err
}

// SimulatorOperation returns the simulator's operation reference of
// gatewayID, or ErrNotFound.
func (s *Store) SimulatorOperation(ctx context.Context, gatewayID, reference string) (*payment.SimulatorOperation, error) {
	var op *payment.SimulatorOperation
	err := s.withConn(ctx, func(q querier) error {
		var err error
		op, err = scanSimulatorOperation(q.QueryRow(ctx, `SELECT `+simulatorOperationColumns+`
			FROM simulator_operations WHERE gateway_id = $1 AND reference = $2`, gatewayID, reference))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, payment.NotFound("simulator operation", reference)
	}
	if err != nil {
		return nil, fail("read simulator operation", err)
	}
	return op, nil
}

// SimulatorOperations returns every simulator operation of gatewayID, by
// creation time then reference.
func (s *Store) SimulatorOperations(ctx context.Context, gatewayID string) ([]*payment.SimulatorOperation, error) {
	var ops []*payment.SimulatorOperation
	err := s.withConn(ctx, func(q querier) error {
		rows, err := q.Query(ctx, `SELECT `+simulatorOperationColumns+`
			FROM simulator_operations WHERE gateway_id = $1 ORDER BY created_at, reference COLLATE "C"`, gatewayID)
		if err != nil {
			return err
		}
		ops, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*payment.SimulatorOperation, error) { return scanSimulatorOperation(r) })
		return err
	})
	if err != nil {
		return nil, fail("list simulator operations", err)
	}
	if ops == nil {
		ops = []*payment.SimulatorOperation{}
	}
	return ops, nil
}
