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

const customerColumns = `id, account_id, external_id, email, name, phone, metadata, default_payment_method_id,
	created_at, updated_at, deleted_at`

func scanCustomer(row pgx.Row) (*payment.Customer, error) {
	var c payment.Customer
	var externalID, defaultPM *string
	var metadata []byte
	err := row.Scan(&c.ID, &c.AccountID, &externalID, &c.Email, &c.Name, &c.Phone, &metadata, &defaultPM,
		&c.CreatedAt, &c.UpdatedAt, &c.DeletedAt)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(metadata, &c.Metadata); err != nil {
		return nil, fmt.Errorf("customer %s: metadata: %w", c.ID, err)
	}
	if externalID != nil {
		c.ExternalID = *externalID
	}
	if defaultPM != nil {
		c.DefaultPaymentMethodID = *defaultPM
	}
	c.CreatedAt, c.UpdatedAt, c.DeletedAt = utc(c.CreatedAt), utc(c.UpdatedAt), utcPtr(c.DeletedAt)
	return &c, nil
}

// textOrNull is s, or NULL when s is empty.
func textOrNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// customer reads the account's customer id that is not deleted; lock is ""
// or a locking clause.
func customer(ctx context.Context, q querier, accountID, id, lock string) (*payment.Customer, error) {
	c, err := scanCustomer(q.QueryRow(ctx, `SELECT `+customerColumns+` FROM customers
		WHERE account_id = $1 AND id = $2 AND deleted_at IS NULL `+lock, accountID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, payment.NotFound("customer", id)
	}
	return c, err
}

// lockCustomer reports ErrNotFound unless the account has the customer id
// and it is not deleted (naming param), and holds its row (FOR SHARE) until the
// transaction ends: a DeleteCustomer (FOR UPDATE) waits for it, and one
// that went first makes this find the customer deleted.
func lockCustomer(ctx context.Context, tx pgx.Tx, accountID, id, param string) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM customers WHERE account_id = $1 AND id = $2 AND deleted_at IS NULL FOR SHARE`,
		accountID, id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		nf := payment.NotFound("customer", id)
		nf.Param = param
		return nf
	}
	return err
}

// customerValues are the mutable columns of c, in the order
// external_id, email, name, phone, metadata, default_payment_method_id,
// updated_at.
func customerValues(c *payment.Customer) ([]any, error) {
	metadata, err := json.Marshal(c.Metadata)
	if err != nil {
		return nil, fmt.Errorf("customer %s: metadata: %w", c.ID, err)
	}
	return []any{textOrNull(c.ExternalID), c.Email, c.Name, c.Phone, string(metadata), textOrNull(c.DefaultPaymentMethodID),
		ts(c.UpdatedAt)}, nil
}

// CreateCustomer inserts c and ev in one transaction.
func (s *Store) CreateCustomer(ctx context.Context, c *payment.Customer, ev *payment.Event) error {
	if err := store.CheckEvent(c.AccountID, ev); err != nil {
		return err
	}
	vals, err := customerValues(c)
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO customers (id, account_id, created_at, deleted_at,
			external_id, email, name, phone, metadata, default_payment_method_id, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			append([]any{c.ID, c.AccountID, ts(c.CreatedAt), tsPtr(c.DeletedAt)}, vals...)...)
		if err := translate(err, c.AccountID); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
	return fail("create customer", err)
}

// Customer returns the account's customer id.
func (s *Store) Customer(ctx context.Context, accountID, id string) (*payment.Customer, error) {
	var c *payment.Customer
	err := s.withConn(ctx, func(q querier) error {
		var err error
		c, err = customer(ctx, q, accountID, id, "")
		return err
	})
	if err != nil {
		return nil, fail("get customer", err)
	}
	return c, nil
}

// Customers lists the account's customers that are not deleted and match
// f, newest first (oldest first when f.Ascending).
func (s *Store) Customers(ctx context.Context, accountID string, f payment.CustomerFilter) ([]*payment.Customer, bool, error) {
	var cs []*payment.Customer
	var more bool
	err := s.withConn(ctx, func(q querier) error {
		var err error
		cs, more, err = listWhere(ctx, q, "customer", "customers", customerColumns, accountID, func(arg func(any) string) string {
			cond := `deleted_at IS NULL`
			if f.Email != "" {
				cond += ` AND email = ` + arg(f.Email)
			}
			if f.ExternalID != "" {
				cond += ` AND external_id = ` + arg(f.ExternalID)
			}
			return cond
		}, f.ListParams, scanCustomer)
		return err
	})
	return cs, more, fail("list customers", err)
}

// UpdateCustomer locks the customer's row (FOR UPDATE), runs fn on it and
// writes back the result and fn's event in the same transaction.
func (s *Store) UpdateCustomer(ctx context.Context, accountID, id string, fn func(*payment.Customer) (*payment.Event, error)) (*payment.Customer, error) {
	var c *payment.Customer
	var fnErr error
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if c, err = customer(ctx, tx, accountID, id, "FOR UPDATE"); err != nil {
			return err
		}
		before := *c
		ev, err := fn(c)
		if err != nil {
			fnErr = err
			return err
		}
		if err := store.CheckCustomerUpdated(&before, c); err != nil {
			return err
		}
		if ev != nil {
			if err := store.CheckEvent(accountID, ev); err != nil {
				return err
			}
		}
		vals, err := customerValues(c)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE customers SET external_id = $3, email = $4, name = $5, phone = $6, metadata = $7,
			default_payment_method_id = $8, updated_at = $9 WHERE account_id = $1 AND id = $2`, append([]any{accountID, id}, vals...)...)
		if err := translate(err, accountID); err != nil {
			return err
		}
		if ev != nil {
			if err := insertEvent(ctx, tx, ev); err != nil {
				return err
			}
		}
		c, err = customer(ctx, tx, accountID, id, "")
		return err
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, fail("update customer", err)
	}
	return c, nil
}

// DeleteCustomer locks the customer's row (FOR UPDATE: payment methods and
// tokens being added to it hold it FOR SHARE), redacts its payment
// methods, deletes its tokens and marks it deleted, in one transaction.
func (s *Store) DeleteCustomer(ctx context.Context, accountID, id string, d payment.CustomerDeletion) (*payment.Customer, error) {
	now := ts(d.Now)
	var c *payment.Customer
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if c, err = customer(ctx, tx, accountID, id, "FOR UPDATE"); err != nil {
			return err
		}
		pms, err := collectPaymentMethods(tx.Query(ctx, `SELECT `+paymentMethodColumns+` FROM payment_methods
			WHERE account_id = $1 AND customer_id = $2 AND storage_state <> 'redacted' ORDER BY seq FOR UPDATE`, accountID, id))
		if err != nil {
			return err
		}
		for _, pm := range pms {
			redact(pm, now)
			if err := updatePaymentMethod(ctx, tx, pm); err != nil {
				return err
			}
			if err := insertEventOf(ctx, tx, accountID, d.PaymentMethodEvent, pm); err != nil {
				return err
			}
		}
		toks, err := collectCustomerTokens(tx.Query(ctx, `SELECT `+customerTokenColumns+` FROM customer_tokens
			WHERE account_id = $1 AND customer_id = $2 AND deleted_at IS NULL ORDER BY seq FOR UPDATE`, accountID, id))
		if err != nil {
			return err
		}
		for _, tok := range toks {
			deleteToken(tok, now, d.By)
			if err := updateCustomerToken(ctx, tx, tok); err != nil {
				return err
			}
			if err := insertEventOf(ctx, tx, accountID, d.TokenEvent, tok); err != nil {
				return err
			}
		}
		c.DeletedAt, c.UpdatedAt = &now, now
		if _, err := tx.Exec(ctx, `UPDATE customers SET deleted_at = $3, updated_at = $3 WHERE account_id = $1 AND id = $2`,
			accountID, id, now); err != nil {
			return err
		}
		return insertEventOf(ctx, tx, accountID, d.Event, c)
	})
	if err != nil {
		return nil, fail("delete customer", err)
	}
	return c, nil
}

// insertEventOf writes the event newEvent renders of v, if any.
func insertEventOf[T any](ctx context.Context, tx pgx.Tx, accountID string, newEvent func(T) *payment.Event, v T) error {
	if newEvent == nil {
		return nil
	}
	ev := newEvent(v)
	if ev == nil {
		return nil
	}
	if err := store.CheckEvent(accountID, ev); err != nil {
		return err
	}
	return insertEvent(ctx, tx, ev)
}

const customerTokenColumns = `id, account_id, customer_id, token_id, type, value, metadata,
	created_at, created_by, updated_at, updated_by, deleted_at, deleted_by`

func scanCustomerToken(row pgx.Row) (*payment.CustomerToken, error) {
	var t payment.CustomerToken
	var metadata []byte
	var deletedBy *string
	err := row.Scan(&t.ID, &t.AccountID, &t.CustomerID, &t.TokenID, &t.Type, &t.Value, &metadata,
		&t.CreatedAt, &t.CreatedBy, &t.UpdatedAt, &t.UpdatedBy, &t.DeletedAt, &deletedBy)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(metadata, &t.Metadata); err != nil {
		return nil, fmt.Errorf("customer token %s: metadata: %w", t.ID, err)
	}
	if deletedBy != nil {
		t.DeletedBy = *deletedBy
	}
	t.CreatedAt, t.UpdatedAt, t.DeletedAt = utc(t.CreatedAt), utc(t.UpdatedAt), utcPtr(t.DeletedAt)
	return &t, nil
}

func collectCustomerTokens(rows pgx.Rows, err error) ([]*payment.CustomerToken, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*payment.CustomerToken, error) { return scanCustomerToken(r) })
}

// deleteToken marks tok deleted at now by by.
func deleteToken(tok *payment.CustomerToken, now time.Time, by string) {
	tok.DeletedAt, tok.DeletedBy = &now, by
	tok.UpdatedAt, tok.UpdatedBy = now, by
}

// updateCustomerToken writes the fields of tok a deletion changes.
func updateCustomerToken(ctx context.Context, tx pgx.Tx, tok *payment.CustomerToken) error {
	_, err := tx.Exec(ctx, `UPDATE customer_tokens SET updated_at = $3, updated_by = $4, deleted_at = $5, deleted_by = $6
		WHERE account_id = $1 AND id = $2`,
		tok.AccountID, tok.ID, ts(tok.UpdatedAt), tok.UpdatedBy, tsPtr(tok.DeletedAt), textOrNull(tok.DeletedBy))
	return err
}

// CreateCustomerToken inserts tok and ev in one transaction, holding the
// customer's row so that it is not deleted meanwhile.
func (s *Store) CreateCustomerToken(ctx context.Context, tok *payment.CustomerToken, ev *payment.Event) error {
	if err := store.CheckEvent(tok.AccountID, ev); err != nil {
		return err
	}
	metadata, err := json.Marshal(tok.Metadata)
	if err != nil {
		return fmt.Errorf("customer token %s: metadata: %w", tok.ID, err)
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockCustomer(ctx, tx, tok.AccountID, tok.CustomerID, "id"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO customer_tokens (`+customerTokenColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			tok.ID, tok.AccountID, tok.CustomerID, tok.TokenID, tok.Type, tok.Value, string(metadata),
			ts(tok.CreatedAt), tok.CreatedBy, ts(tok.UpdatedAt), tok.UpdatedBy, tsPtr(tok.DeletedAt), textOrNull(tok.DeletedBy))
		if err := translate(err, tok.AccountID); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
	return fail("create customer token", err)
}

// CustomerTokens lists the customer's tokens, deleted ones too.
func (s *Store) CustomerTokens(ctx context.Context, accountID, customerID string, p payment.ListParams) ([]*payment.CustomerToken, bool, error) {
	var toks []*payment.CustomerToken
	var more bool
	err := s.withConn(ctx, func(q querier) error {
		if _, err := customer(ctx, q, accountID, customerID, ""); err != nil {
			return err
		}
		var err error
		toks, more, err = listWhere(ctx, q, "customer_token", "customer_tokens", customerTokenColumns, accountID,
			func(arg func(any) string) string { return `customer_id = ` + arg(customerID) }, p, scanCustomerToken)
		return err
	})
	return toks, more, fail("list customer tokens", err)
}

// DeleteCustomerToken deletes the customer's live token tokenID softly.
func (s *Store) DeleteCustomerToken(ctx context.Context, accountID, customerID, tokenID string, now time.Time, by string,
	newEvent func(*payment.CustomerToken) *payment.Event) (*payment.CustomerToken, error) {
	now = ts(now)
	var tok *payment.CustomerToken
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockCustomer(ctx, tx, accountID, customerID, "id"); err != nil {
			return err
		}
		var err error
		tok, err = scanCustomerToken(tx.QueryRow(ctx, `SELECT `+customerTokenColumns+` FROM customer_tokens
			WHERE account_id = $1 AND customer_id = $2 AND token_id = $3 AND deleted_at IS NULL FOR UPDATE`, accountID, customerID, tokenID))
		if errors.Is(err, pgx.ErrNoRows) {
			return &payment.Error{Kind: payment.KindNotFound, Code: payment.CodeResourceMissing, Param: "token_id",
				Message: "The customer has no such token."}
		}
		if err != nil {
			return err
		}
		deleteToken(tok, now, by)
		if err := updateCustomerToken(ctx, tx, tok); err != nil {
			return err
		}
		return insertEventOf(ctx, tx, accountID, newEvent, tok)
	})
	if err != nil {
		return nil, fail("delete customer token", err)
	}
	return tok, nil
}
