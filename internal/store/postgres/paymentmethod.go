package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store"
)

const paymentMethodColumns = `id, account_id, type,
	card_brand, card_first6, card_last4, card_exp_month, card_exp_year, card_holder_name, card_fingerprint,
	billing_line1, billing_line2, billing_city, billing_postal_code, billing_state, billing_country,
	email, metadata, storage_state, test, created_at, updated_at, redacted_at,
	pan_sealed, cvc_sealed, cvc_expires_at, customer_id`

func scanPaymentMethod(row pgx.Row) (*payment.PaymentMethod, error) {
	var pm payment.PaymentMethod
	var metadata []byte
	var state string
	var customer *string
	err := row.Scan(&pm.ID, &pm.AccountID, &pm.Type,
		&pm.Card.Brand, &pm.Card.First6, &pm.Card.Last4, &pm.Card.ExpMonth, &pm.Card.ExpYear, &pm.Card.HolderName, &pm.Card.Fingerprint,
		&pm.Billing.Line1, &pm.Billing.Line2, &pm.Billing.City, &pm.Billing.PostalCode, &pm.Billing.State, &pm.Billing.Country,
		&pm.Email, &metadata, &state, &pm.Test, &pm.CreatedAt, &pm.UpdatedAt, &pm.RedactedAt,
		&pm.PANSealed, &pm.CVCSealed, &pm.CVCExpiresAt, &customer)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(metadata, &pm.Metadata); err != nil {
		return nil, fmt.Errorf("payment method %s: metadata: %w", pm.ID, err)
	}
	pm.StorageState = payment.StorageState(state)
	if customer != nil {
		pm.CustomerID = *customer
	}
	pm.CreatedAt = utc(pm.CreatedAt)
	pm.UpdatedAt = utc(pm.UpdatedAt)
	pm.RedactedAt = utcPtr(pm.RedactedAt)
	pm.CVCExpiresAt = utcPtr(pm.CVCExpiresAt)
	return &pm, nil
}

func collectPaymentMethods(rows pgx.Rows, err error) ([]*payment.PaymentMethod, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*payment.PaymentMethod, error) { return scanPaymentMethod(r) })
}

func insertPaymentMethod(ctx context.Context, tx pgx.Tx, pm *payment.PaymentMethod) error {
	vals, err := paymentMethodValues(pm)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, insertPaymentMethodSQL, vals...)
	return translate(err, pm.AccountID)
}

const insertPaymentMethodSQL = `INSERT INTO payment_methods (` + paymentMethodColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27)`

// paymentMethodValues are insertPaymentMethodSQL's arguments for pm.
func paymentMethodValues(pm *payment.PaymentMethod) ([]any, error) {
	metadata, err := json.Marshal(pm.Metadata)
	if err != nil {
		return nil, err
	}
	return []any{pm.ID, pm.AccountID, pm.Type,
		pm.Card.Brand, pm.Card.First6, pm.Card.Last4, pm.Card.ExpMonth, pm.Card.ExpYear, pm.Card.HolderName, pm.Card.Fingerprint,
		pm.Billing.Line1, pm.Billing.Line2, pm.Billing.City, pm.Billing.PostalCode, pm.Billing.State, pm.Billing.Country,
		pm.Email, string(metadata), string(pm.StorageState), pm.Test, ts(pm.CreatedAt), ts(pm.UpdatedAt), tsPtr(pm.RedactedAt),
		pm.PANSealed, pm.CVCSealed, tsPtr(pm.CVCExpiresAt), textOrNull(pm.CustomerID)}, nil
}

// updatePaymentMethod writes back every mutable field of pm.
func updatePaymentMethod(ctx context.Context, tx pgx.Tx, pm *payment.PaymentMethod) error {
	metadata, err := json.Marshal(pm.Metadata)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE payment_methods SET type = $3,
		card_brand = $4, card_first6 = $5, card_last4 = $6, card_exp_month = $7, card_exp_year = $8, card_holder_name = $9, card_fingerprint = $10,
		billing_line1 = $11, billing_line2 = $12, billing_city = $13, billing_postal_code = $14, billing_state = $15, billing_country = $16,
		email = $17, metadata = $18, storage_state = $19, test = $20, updated_at = $21, redacted_at = $22,
		pan_sealed = $23, cvc_sealed = $24, cvc_expires_at = $25
		WHERE account_id = $1 AND id = $2`,
		pm.AccountID, pm.ID, pm.Type,
		pm.Card.Brand, pm.Card.First6, pm.Card.Last4, pm.Card.ExpMonth, pm.Card.ExpYear, pm.Card.HolderName, pm.Card.Fingerprint,
		pm.Billing.Line1, pm.Billing.Line2, pm.Billing.City, pm.Billing.PostalCode, pm.Billing.State, pm.Billing.Country,
		pm.Email, string(metadata), string(pm.StorageState), pm.Test, ts(pm.UpdatedAt), tsPtr(pm.RedactedAt),
		pm.PANSealed, pm.CVCSealed, tsPtr(pm.CVCExpiresAt))
	return err
}

// CreatePaymentMethod inserts pm and ev in one transaction.
func (s *Store) CreatePaymentMethod(ctx context.Context, pm *payment.PaymentMethod, ev *payment.Event) error {
	if err := store.CheckEvent(pm.AccountID, ev); err != nil {
		return err
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if pm.CustomerID != "" {
			if err := lockCustomer(ctx, tx, pm.AccountID, pm.CustomerID, "customer"); err != nil {
				return err
			}
		}
		if err := insertPaymentMethod(ctx, tx, pm); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
	return fail("create payment method", err)
}

// PaymentMethod returns the account's payment method id.
func (s *Store) PaymentMethod(ctx context.Context, accountID, id string) (*payment.PaymentMethod, error) {
	var pm *payment.PaymentMethod
	err := s.withConn(ctx, func(q querier) error {
		var err error
		pm, err = paymentMethod(ctx, q, accountID, id, "")
		return err
	})
	if err != nil {
		return nil, fail("get payment method", err)
	}
	return pm, nil
}

// paymentMethod reads one payment method; lock is "" or a locking clause.
func paymentMethod(ctx context.Context, q querier, accountID, id, lock string) (*payment.PaymentMethod, error) {
	pm, err := scanPaymentMethod(q.QueryRow(ctx, `SELECT `+paymentMethodColumns+` FROM payment_methods
		WHERE account_id = $1 AND id = $2 `+lock, accountID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, payment.NotFound("payment_method", id)
	}
	return pm, err
}

// PaymentMethods lists the account's payment methods, newest first (oldest
// first when p.Ascending).
func (s *Store) PaymentMethods(ctx context.Context, accountID string, p payment.ListParams) ([]*payment.PaymentMethod, bool, error) {
	pms, more, err := list(ctx, s, "payment_method", "payment_methods", paymentMethodColumns, accountID, p, scanPaymentMethod)
	return pms, more, fail("list payment methods", err)
}

// CustomerPaymentMethods lists the payment methods of the account's
// customer, newest first (oldest first when p.Ascending).
func (s *Store) CustomerPaymentMethods(ctx context.Context, accountID, customerID string, p payment.ListParams) ([]*payment.PaymentMethod, bool, error) {
	var pms []*payment.PaymentMethod
	var more bool
	err := s.withConn(ctx, func(q querier) error {
		var err error
		pms, more, err = listWhere(ctx, q, "payment_method", "payment_methods", paymentMethodColumns, accountID,
			func(arg func(any) string) string { return `customer_id = ` + arg(customerID) }, p, scanPaymentMethod)
		return err
	})
	return pms, more, fail("list payment methods of customer", err)
}

// UpdatePaymentMethod locks the payment method's row (FOR UPDATE), runs fn
// on it and writes back the result and fn's event in the same transaction.
func (s *Store) UpdatePaymentMethod(ctx context.Context, accountID, id string, fn func(*payment.PaymentMethod) (*payment.Event, error)) (*payment.PaymentMethod, error) {
	var pm *payment.PaymentMethod
	var fnErr error
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		pm, err = paymentMethod(ctx, tx, accountID, id, "FOR UPDATE")
		if err != nil {
			return err
		}
		before := *pm
		ev, err := fn(pm)
		if err != nil {
			fnErr = err
			return err
		}
		if err := store.CheckUpdated(&before, pm); err != nil {
			return err
		}
		if err := updatePaymentMethod(ctx, tx, pm); err != nil {
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
		// Read back what was stored: times as the store keeps them.
		pm, err = paymentMethod(ctx, tx, accountID, id, "")
		return err
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, fail("update payment method", err)
	}
	return pm, nil
}

// expireBatch is how many payment methods one ExpirePaymentMethods
// transaction changes.
const expireBatch = 100

// ExpirePaymentMethods destroys expired CVCs and redacts payment methods
// cached since cachedBefore or earlier, in batches of committed
// transactions. Rows another transaction holds are skipped (SKIP LOCKED):
// that transaction is changing them, and the next sweep sees the result.
func (s *Store) ExpirePaymentMethods(ctx context.Context, now, cachedBefore time.Time, newEvent func(*payment.PaymentMethod) *payment.Event) (int, error) {
	for {
		var n int64
		err := s.withConn(ctx, func(q querier) error {
			tag, err := q.Exec(ctx, `UPDATE payment_methods SET cvc_sealed = NULL
				WHERE seq IN (SELECT seq FROM payment_methods
					WHERE cvc_sealed IS NOT NULL AND cvc_expires_at <= $1
					LIMIT $2 FOR UPDATE SKIP LOCKED)`, ts(now), expireBatch)
			n = tag.RowsAffected()
			return err
		})
		if err != nil {
			return 0, fail("expire cvcs", err)
		}
		if n < expireBatch {
			break
		}
	}

	redacted := 0
	nowUTC := ts(now)
	for {
		var batch []*payment.PaymentMethod
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			var err error
			batch, err = collectPaymentMethods(tx.Query(ctx, `SELECT `+paymentMethodColumns+` FROM payment_methods
				WHERE storage_state = 'cached' AND created_at <= $1
				ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED`, ts(cachedBefore), expireBatch))
			if err != nil {
				return err
			}
			for _, pm := range batch {
				redact(pm, nowUTC)
				if err := updatePaymentMethod(ctx, tx, pm); err != nil {
					return err
				}
				if ev := newEvent(pm); ev != nil {
					if err := store.CheckEvent(pm.AccountID, ev); err != nil {
						return err
					}
					if err := insertEvent(ctx, tx, ev); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return redacted, fail("redact payment methods", err)
		}
		redacted += len(batch)
		if len(batch) < expireBatch {
			return redacted, nil
		}
	}
}

// redact makes pm redacted at now, as the engine's own redaction does.
func redact(pm *payment.PaymentMethod, now time.Time) {
	pm.StorageState = payment.StorageRedacted
	pm.RedactedAt = new(now)
	pm.UpdatedAt = now
	pm.PANSealed, pm.CVCSealed, pm.CVCExpiresAt = nil, nil, nil
}
