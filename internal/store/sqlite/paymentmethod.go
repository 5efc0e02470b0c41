package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store"
)

const paymentMethodColumns = `id, account_id, type,
	card_brand, card_first6, card_last4, card_exp_month, card_exp_year, card_holder_name, card_fingerprint,
	billing_line1, billing_line2, billing_city, billing_postal_code, billing_state, billing_country,
	email, metadata, storage_state, test, created_at, updated_at, redacted_at,
	pan_sealed, cvc_sealed, cvc_expires_at, customer_id`

func scanPaymentMethod(sc scanner) (*payment.PaymentMethod, error) {
	var pm payment.PaymentMethod
	var metadata, state string
	var created, updated int64
	var redacted, cvcExpires sql.Null[int64]
	var customer sql.Null[string]
	err := sc.Scan(&pm.ID, &pm.AccountID, &pm.Type,
		&pm.Card.Brand, &pm.Card.First6, &pm.Card.Last4, &pm.Card.ExpMonth, &pm.Card.ExpYear, &pm.Card.HolderName, &pm.Card.Fingerprint,
		&pm.Billing.Line1, &pm.Billing.Line2, &pm.Billing.City, &pm.Billing.PostalCode, &pm.Billing.State, &pm.Billing.Country,
		&pm.Email, &metadata, &state, &pm.Test, &created, &updated, &redacted,
		&pm.PANSealed, &pm.CVCSealed, &cvcExpires, &customer)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(metadata), &pm.Metadata); err != nil {
		return nil, fmt.Errorf("payment method %s: metadata: %w", pm.ID, err)
	}
	pm.StorageState = payment.StorageState(state)
	pm.CustomerID = customer.V
	pm.CreatedAt = fromMicros(created)
	pm.UpdatedAt = fromMicros(updated)
	pm.RedactedAt = fromMicrosPtr(redacted)
	pm.CVCExpiresAt = fromMicrosPtr(cvcExpires)
	return &pm, nil
}

func insertPaymentMethod(ctx context.Context, tx *wtx, pm *payment.PaymentMethod) error {
	metadata, err := json.Marshal(pm.Metadata)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO payment_methods (`+paymentMethodColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		pm.ID, pm.AccountID, pm.Type,
		pm.Card.Brand, pm.Card.First6, pm.Card.Last4, pm.Card.ExpMonth, pm.Card.ExpYear, pm.Card.HolderName, pm.Card.Fingerprint,
		pm.Billing.Line1, pm.Billing.Line2, pm.Billing.City, pm.Billing.PostalCode, pm.Billing.State, pm.Billing.Country,
		pm.Email, string(metadata), string(pm.StorageState), pm.Test, micros(pm.CreatedAt), micros(pm.UpdatedAt), microsPtr(pm.RedactedAt),
		pm.PANSealed, pm.CVCSealed, microsPtr(pm.CVCExpiresAt), nullString(pm.CustomerID))
	return translate(err, pm.AccountID)
}

// updatePaymentMethod writes back every mutable field of pm.
func updatePaymentMethod(ctx context.Context, tx *wtx, pm *payment.PaymentMethod) error {
	metadata, err := json.Marshal(pm.Metadata)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE payment_methods SET type = ?,
		card_brand = ?, card_first6 = ?, card_last4 = ?, card_exp_month = ?, card_exp_year = ?, card_holder_name = ?, card_fingerprint = ?,
		billing_line1 = ?, billing_line2 = ?, billing_city = ?, billing_postal_code = ?, billing_state = ?, billing_country = ?,
		email = ?, metadata = ?, storage_state = ?, test = ?, updated_at = ?, redacted_at = ?,
		pan_sealed = ?, cvc_sealed = ?, cvc_expires_at = ?
		WHERE account_id = ? AND id = ?`,
		pm.Type,
		pm.Card.Brand, pm.Card.First6, pm.Card.Last4, pm.Card.ExpMonth, pm.Card.ExpYear, pm.Card.HolderName, pm.Card.Fingerprint,
		pm.Billing.Line1, pm.Billing.Line2, pm.Billing.City, pm.Billing.PostalCode, pm.Billing.State, pm.Billing.Country,
		pm.Email, string(metadata), string(pm.StorageState), pm.Test, micros(pm.UpdatedAt), microsPtr(pm.RedactedAt),
		pm.PANSealed, pm.CVCSealed, microsPtr(pm.CVCExpiresAt),
		pm.AccountID, pm.ID)
	return err
}

// CreatePaymentMethod inserts pm and ev in one transaction.
func (s *Store) CreatePaymentMethod(ctx context.Context, pm *payment.PaymentMethod, ev *payment.Event) error {
	if err := store.CheckEvent(pm.AccountID, ev); err != nil {
		return err
	}
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		if pm.CustomerID != "" {
			if err := customerExists(ctx, tx, pm.AccountID, pm.CustomerID, "customer"); err != nil {
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
	pm, err := paymentMethod(ctx, s.reads, accountID, id)
	return pm, fail("get payment method", err)
}

func paymentMethod(ctx context.Context, q querier, accountID, id string) (*payment.PaymentMethod, error) {
	pm, err := scanPaymentMethod(q.QueryRowContext(ctx, `SELECT `+paymentMethodColumns+` FROM payment_methods
		WHERE account_id = ? AND id = ?`, accountID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, payment.NotFound("payment_method", id)
	}
	return pm, err
}

// PaymentMethods lists the account's payment methods, newest first (oldest
// first when p.Ascending).
func (s *Store) PaymentMethods(ctx context.Context, accountID string, p payment.ListParams) ([]*payment.PaymentMethod, bool, error) {
	pms, more, err := list(ctx, s.reader, "payment_method", "payment_methods", paymentMethodColumns, accountID, p, scanPaymentMethod)
	return pms, more, fail("list payment methods", err)
}

// CustomerPaymentMethods lists the payment methods of the account's
// customer, newest first (oldest first when p.Ascending).
func (s *Store) CustomerPaymentMethods(ctx context.Context, accountID, customerID string, p payment.ListParams) ([]*payment.PaymentMethod, bool, error) {
	pms, more, err := listWhere(ctx, s.reader, "payment_method", "payment_methods", paymentMethodColumns, accountID,
		`customer_id = ?`, []any{customerID}, p, scanPaymentMethod)
	return pms, more, fail("list payment methods of customer", err)
}

// UpdatePaymentMethod runs fn on the payment method inside a writer
// transaction and writes back the result and fn's event. fn must not call
// the store: the transaction holds the only writer connection.
func (s *Store) UpdatePaymentMethod(ctx context.Context, accountID, id string, fn func(*payment.PaymentMethod) (*payment.Event, error)) (*payment.PaymentMethod, error) {
	var pm *payment.PaymentMethod
	var fnErr error
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		var err error
		if pm, err = paymentMethod(ctx, tx, accountID, id); err != nil {
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
		pm, err = paymentMethod(ctx, tx, accountID, id)
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
// transactions, then checkpoints the WAL so that the destroyed ciphertexts
// leave it too.
func (s *Store) ExpirePaymentMethods(ctx context.Context, now, cachedBefore time.Time, newEvent func(*payment.PaymentMethod) *payment.Event) (int, error) {
	changed := false
	defer func() {
		if changed {
			s.checkpoint(ctx)
		}
	}()
	for {
		res, err := s.writer.ExecContext(ctx, `UPDATE payment_methods SET cvc_sealed = NULL
			WHERE seq IN (SELECT seq FROM payment_methods
				WHERE cvc_sealed IS NOT NULL AND cvc_expires_at <= ? LIMIT ?)`, micros(now), expireBatch)
		if err != nil {
			return 0, fail("expire cvcs", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fail("expire cvcs", err)
		}
		changed = changed || n > 0
		if n < expireBatch {
			break
		}
	}

	redacted := 0
	nowUTC := fromMicros(micros(now))
	for {
		var batch []*payment.PaymentMethod
		err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
			rows, err := tx.QueryContext(ctx, `SELECT `+paymentMethodColumns+` FROM payment_methods
				WHERE storage_state = 'cached' AND created_at <= ? ORDER BY seq LIMIT ?`, micros(cachedBefore), expireBatch)
			if err != nil {
				return err
			}
			defer rows.Close()
			batch = batch[:0]
			for rows.Next() {
				pm, err := scanPaymentMethod(rows)
				if err != nil {
					return err
				}
				batch = append(batch, pm)
			}
			if err := rows.Err(); err != nil {
				return err
			}
			rows.Close()
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
		changed = changed || len(batch) > 0
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
