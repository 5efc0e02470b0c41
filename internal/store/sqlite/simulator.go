package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store"
)

// The simulator gateway's ledger (simulator.Ledger, which this package
// cannot name): tables simulator_operations and simulator_authorizations.

const simulatorOperationColumns = `gateway_id, reference, kind, amount, prior_reference,
	outcome, gateway_reference, decline_code, response_code, message, avs_code, cvv_code, network_transaction_id,
	calls, created_at, updated_at`

func scanSimulatorOperation(sc scanner) (*payment.SimulatorOperation, error) {
	var op payment.SimulatorOperation
	var kind, outcome string
	var created, updated int64
	r := &op.Result
	if err := sc.Scan(&op.GatewayID, &op.Reference, &kind, &op.Amount, &op.PriorReference,
		&outcome, &r.GatewayReference, &r.DeclineCode, &r.ResponseCode, &r.Message, &r.AVSCode, &r.CVVCode, &r.NetworkTransactionID,
		&op.Calls, &created, &updated); err != nil {
		return nil, err
	}
	op.Kind = payment.OperationKind(kind)
	r.Outcome = payment.Outcome(outcome)
	op.CreatedAt = fromMicros(created)
	op.UpdatedAt = fromMicros(updated)
	return &op, nil
}

const simulatorAuthorizationColumns = `gateway_id, gateway_reference, kind, currency,
	authorized, captured, refunded, voided, loses_response`

func scanSimulatorAuthorization(sc scanner) (*payment.SimulatorAuthorization, error) {
	var a payment.SimulatorAuthorization
	var kind, loses string
	if err := sc.Scan(&a.GatewayID, &a.GatewayReference, &kind, &a.Currency,
		&a.Authorized, &a.Captured, &a.Refunded, &a.Voided, &loses); err != nil {
		return nil, err
	}
	a.Kind = payment.OperationKind(kind)
	a.LosesResponse = payment.OperationKind(loses)
	return &a, nil
}

// RecordSimulatorCall records one call of the simulator gateway (see
// simulator.Ledger): a repeat of a known reference counts one more call;
// a new reference is decided against its authorization and stored. The
// writer's IMMEDIATE transaction makes it one step, also against other
// processes on the file.
func (s *Store) RecordSimulatorCall(ctx context.Context, call *payment.SimulatorOperation,
	decide func(auth *payment.SimulatorAuthorization) (payment.SimulatorResult, *payment.SimulatorAuthorization, error),
) (*payment.SimulatorOperation, error) {
	var op *payment.SimulatorOperation
	err := s.writeRerunnable(ctx, func(ctx context.Context, tx *wtx) error {
		// A repeat of a known reference is counted. Otherwise nothing can
		// claim the reference before this unit commits (the writer's
		// IMMEDIATE transaction holds the file), so the operation is
		// inserted once, decided: one write of its row, not a pending
		// claim and then its result.
		var err error
		op, err = scanSimulatorOperation(tx.QueryRowContext(ctx, `UPDATE simulator_operations AS o
			SET calls = o.calls + 1, updated_at = ? WHERE gateway_id = ? AND reference = ?
			RETURNING `+simulatorOperationColumns, micros(call.CreatedAt), call.GatewayID, call.Reference))
		if !errors.Is(err, sql.ErrNoRows) {
			return err // a repeat, or a failure
		}

		var auth *payment.SimulatorAuthorization
		if call.PriorReference != "" {
			auth, err = scanSimulatorAuthorization(tx.QueryRowContext(ctx, `SELECT `+simulatorAuthorizationColumns+`
				FROM simulator_authorizations WHERE gateway_id = ? AND gateway_reference = ?`, call.GatewayID, call.PriorReference))
			if errors.Is(err, sql.ErrNoRows) {
				auth, err = nil, nil
			}
			if err != nil {
				return err
			}
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

		op = &payment.SimulatorOperation{GatewayID: call.GatewayID, Reference: call.Reference, Kind: call.Kind,
			Amount: call.Amount, PriorReference: call.PriorReference, Result: res, Calls: 1,
			CreatedAt: fromMicros(micros(call.CreatedAt)), UpdatedAt: fromMicros(micros(call.CreatedAt))}
		if _, err := tx.ExecContext(ctx, `INSERT INTO simulator_operations (`+simulatorOperationColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
			call.GatewayID, call.Reference, string(call.Kind), call.Amount, call.PriorReference,
			string(res.Outcome), res.GatewayReference, res.DeclineCode, res.ResponseCode, res.Message,
			res.AVSCode, res.CVVCode, res.NetworkTransactionID, micros(call.CreatedAt), micros(call.CreatedAt)); err != nil {
			return err
		}
		if auth != nil && (auth.Captured != before.Captured || auth.Refunded != before.Refunded || auth.Voided != before.Voided) {
			if _, err := tx.ExecContext(ctx, `UPDATE simulator_authorizations SET captured = ?, refunded = ?, voided = ?, updated_at = ?
				WHERE gateway_id = ? AND gateway_reference = ?`,
				auth.Captured, auth.Refunded, auth.Voided, micros(call.CreatedAt), before.GatewayID, before.GatewayReference); err != nil {
				return err
			}
		}
		if opened != nil {
			_, err := tx.ExecContext(ctx, `INSERT INTO simulator_authorizations (`+simulatorAuthorizationColumns+`, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				opened.GatewayID, opened.GatewayReference, string(opened.Kind), opened.Currency,
				opened.Authorized, opened.Captured, opened.Refunded, opened.Voided, string(opened.LosesResponse),
				micros(call.CreatedAt), micros(call.CreatedAt))
			if err != nil {
				return translate(err, "")
			}
		}
		return nil
	})
	if err != nil {
		return nil, fail("record simulator call", err)
	}
	return op, nil
}

// SimulatorOperation returns the simulator's operation reference of
// gatewayID, or ErrNotFound.
func (s *Store) SimulatorOperation(ctx context.Context, gatewayID, reference string) (*payment.SimulatorOperation, error) {
	op, err := scanSimulatorOperation(s.reads.QueryRowContext(ctx, `SELECT `+simulatorOperationColumns+`
		FROM simulator_operations WHERE gateway_id = ? AND reference = ?`, gatewayID, reference))
	if errors.Is(err, sql.ErrNoRows) {
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
	rows, err := s.reads.QueryContext(ctx, `SELECT `+simulatorOperationColumns+`
		FROM simulator_operations WHERE gateway_id = ? ORDER BY created_at, reference`, gatewayID)
	if err != nil {
		return nil, fail("list simulator operations", err)
	}
	defer rows.Close()
	ops := []*payment.SimulatorOperation{}
	for rows.Next() {
		op, err := scanSimulatorOperation(rows)
		if err != nil {
			return nil, fail("list simulator operations", err)
		}
		ops = append(ops, op)
	}
	if err := rows.Err(); err != nil {
		return nil, fail("list simulator operations", err)
	}
	return ops, nil
}
