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

const customerColumns = `id, account_id, external_id, email, name, phone, metadata, default_payment_method_id,
	created_at, updated_at, deleted_at`

func scanCustomer(sc scanner) (*payment.Customer, error) {
	var c payment.Customer
	var externalID, defaultPM sql.Null[string]
	var metadata string
	var created, updated int64
	var deleted sql.Null[int64]
	err := sc.Scan(&c.ID, &c.AccountID, &externalID, &c.Email, &c.Name, &c.Phone, &metadata, &defaultPM,
		&created, &updated, &deleted)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(metadata), &c.Metadata); err != nil {
		return nil, fmt.Errorf("customer %s: metadata: %w", c.ID, err)
	}
	c.ExternalID, c.DefaultPaymentMethodID = externalID.V, defaultPM.V
	c.CreatedAt, c.UpdatedAt, c.DeletedAt = fromMicros(created), fromMicros(updated), fromMicrosPtr(deleted)
	return &c, nil
}

// customer reads the account's customer id that is not deleted.
func customer(ctx context.Context, q querier, accountID, id string) (*payment.Customer, error) {
	c, err := scanCustomer(q.QueryRowContext(ctx, `SELECT `+customerColumns+` FROM customers
		WHERE account_id = ? AND id = ? AND deleted_at IS NULL`, accountID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, payment.NotFound("customer", id)
	}
	return c, err
}

// customerExists reports ErrNotFound unless the account has the customer id
// and it is not deleted (naming param). Inside a write it holds: SQLite's one writer
// keeps the customer from being deleted until the write commits.
func customerExists(ctx context.Context, q querier, accountID, id, param string) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM customers WHERE account_id = ? AND id = ? AND deleted_at IS NULL`,
		accountID, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		nf := payment.NotFound("customer", id)
		nf.Param = param
		return nf
	}
	return err
}

func customerValues(c *payment.Customer) ([]any, error) {
	metadata, err := json.Marshal(c.Metadata)
	if err != nil {
		return nil, fmt.Errorf("customer %s: metadata: %w", c.ID, err)
	}
	return []any{nullString(c.ExternalID), c.Email, c.Name, c.Phone, string(metadata), nullString(c.DefaultPaymentMethodID),
		micros(c.UpdatedAt)}, nil
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
	err = s.write(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO customers (id, account_id, created_at, deleted_at,
			external_id, email, name, phone, metadata, default_payment_method_id, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			append([]any{c.ID, c.AccountID, micros(c.CreatedAt), microsPtr(c.DeletedAt)}, vals...)...)
		if err := translate(err, c.AccountID); err != nil {
			return err
		}
		return insertEvent(ctx, tx, ev)
	})
	return fail("create customer", err)
}

// Customer returns the account's customer id.
func (s *Store) Customer(ctx context.Context, accountID, id string) (*payment.Customer, error) {
	c, err := customer(ctx, s.reads, accountID, id)
	return c, fail("get customer", err)
}

// Customers lists the account's customers that are not deleted and match
// f, newest first (oldest first when f.Ascending).
func (s *Store) Customers(ctx context.Context, accountID string, f payment.CustomerFilter) ([]*payment.Customer, bool, error) {
	cond := `deleted_at IS NULL`
	var args []any
	if f.Email != "" {
		cond += ` AND email = ?`
		args = append(args, f.Email)
	}
	if f.ExternalID != "" {
		cond += ` AND external_id = ?`
		args = append(args, f.ExternalID)
	}
	cs, more, err := listWhere(ctx, s.reader, "customer", "customers", customerColumns, accountID, cond, args, f.ListParams, scanCustomer)
	return cs, more, fail("list customers", err)
}

// UpdateCustomer runs fn on the customer inside a writer transaction and
// writes back the result and fn's event.
func (s *Store) UpdateCustomer(ctx context.Context, accountID, id string, fn func(*payment.Customer) (*payment.Event, error)) (*payment.Customer, error) {
	var c *payment.Customer
	var fnErr error
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		var err error
		if c, err = customer(ctx, tx, accountID, id); err != nil {
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
		_, err = tx.ExecContext(ctx, `UPDATE customers SET external_id = ?, email = ?, name = ?, phone = ?, metadata = ?,
			default_payment_method_id = ?, updated_at = ? WHERE account_id = ? AND id = ?`, append(vals, accountID, id)...)
		if err := translate(err, accountID); err != nil {
			return err
		}
		if ev != nil {
			if err := insertEvent(ctx, tx, ev); err != nil {
				return err
			}
		}
		c, err = customer(ctx, tx, accountID, id)
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

// DeleteCustomer redacts the customer's payment methods, deletes its
// tokens and marks it deleted, in one transaction; then it checkpoints the
// WAL so that the destroyed ciphertexts leave it too.
func (s *Store) DeleteCustomer(ctx context.Context, accountID, id string, d payment.CustomerDeletion) (*payment.Customer, error) {
	now := fromMicros(micros(d.Now))
	var c *payment.Customer
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		var err error
		if c, err = customer(ctx, tx, accountID, id); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+paymentMethodColumns+` FROM payment_methods
			WHERE account_id = ? AND customer_id = ? AND storage_state <> 'redacted' ORDER BY seq`, accountID, id)
		if err != nil {
			return err
		}
		pms, err := collect(rows, scanPaymentMethod)
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
		rows, err = tx.QueryContext(ctx, `SELECT `+customerTokenColumns+` FROM customer_tokens
			WHERE account_id = ? AND customer_id = ? AND deleted_at IS NULL ORDER BY seq`, accountID, id)
		if err != nil {
			return err
		}
		toks, err := collect(rows, scanCustomerToken)
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
		if _, err := tx.ExecContext(ctx, `UPDATE customers SET deleted_at = ?, updated_at = ? WHERE account_id = ? AND id = ?`,
			micros(now), micros(now), accountID, id); err != nil {
			return err
		}
		return insertEventOf(ctx, tx, accountID, d.Event, c)
	})
	if err != nil {
		return nil, fail("delete customer", err)
	}
	s.checkpoint(ctx)
	return c, nil
}

// insertEventOf writes the event newEvent renders of v, if any.
func insertEventOf[T any](ctx context.Context, tx *wtx, accountID string, newEvent func(T) *payment.Event, v T) error {
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

func scanCustomerToken(sc scanner) (*payment.CustomerToken, error) {
	var t payment.CustomerToken
	var metadata string
	var created, updated int64
	var deleted sql.Null[int64]
	var deletedBy sql.Null[string]
	err := sc.Scan(&t.ID, &t.AccountID, &t.CustomerID, &t.TokenID, &t.Type, &t.Value, &metadata,
		&created, &t.CreatedBy, &updated, &t.UpdatedBy, &deleted, &deletedBy)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(metadata), &t.Metadata); err != nil {
		return nil, fmt.Errorf("customer token %s: metadata: %w", t.ID, err)
	}
	t.CreatedAt, t.UpdatedAt, t.DeletedAt = fromMicros(created), fromMicros(updated), fromMicrosPtr(deleted)
	t.DeletedBy = deletedBy.V
	return &t, nil
}

// deleteToken marks tok deleted at now by by.
func deleteToken(tok *payment.CustomerToken, now time.Time, by string) {
	tok.DeletedAt, tok.DeletedBy = &now, by
	tok.UpdatedAt, tok.UpdatedBy = now, by
}

// updateCustomerToken writes the fields of tok a deletion changes.
func updateCustomerToken(ctx context.Context, tx *wtx, tok *payment.CustomerToken) error {
	_, err := tx.ExecContext(ctx, `UPDATE customer_tokens SET updated_at = ?, updated_by = ?, deleted_at = ?, deleted_by = ?
		WHERE account_id = ? AND id = ?`,
		micros(tok.UpdatedAt), tok.UpdatedBy, microsPtr(tok.DeletedAt), nullString(tok.DeletedBy), tok.AccountID, tok.ID)
	return err
}

// CreateCustomerToken inserts tok and ev in one transaction, if the
// customer exists.
func (s *Store) CreateCustomerToken(ctx context.Context, tok *payment.CustomerToken, ev *payment.Event) error {
	if err := store.CheckEvent(tok.AccountID, ev); err != nil {
		return err
	}
	metadata, err := json.Marshal(tok.Metadata)
	if err != nil {
		return fmt.Errorf("customer token %s: metadata: %w", tok.ID, err)
	}
	err = s.write(ctx, func(ctx context.Context, tx *wtx) error {
		if err := customerExists(ctx, tx, tok.AccountID, tok.CustomerID, "id"); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO customer_tokens (`+customerTokenColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			tok.ID, tok.AccountID, tok.CustomerID, tok.TokenID, tok.Type, tok.Value, string(metadata),
			micros(tok.CreatedAt), tok.CreatedBy, micros(tok.UpdatedAt), tok.UpdatedBy, microsPtr(tok.DeletedAt), nullString(tok.DeletedBy))
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
	// One read transaction: the customer and its tokens from one snapshot.
	err := readTx(ctx, s.reader, func(tx *sql.Tx) error {
		if err := customerExists(ctx, tx, accountID, customerID, "id"); err != nil {
			return err
		}
		var err error
		toks, more, err = listWhereIn(ctx, tx, "customer_token", "customer_tokens", customerTokenColumns, accountID,
			`customer_id = ?`, []any{customerID}, p, scanCustomerToken)
		return err
	})
	return toks, more, fail("list customer tokens", err)
}

// DeleteCustomerToken deletes the customer's live token tokenID softly.
func (s *Store) DeleteCustomerToken(ctx context.Context, accountID, customerID, tokenID string, now time.Time, by string,
	newEvent func(*payment.CustomerToken) *payment.Event) (*payment.CustomerToken, error) {
	now = fromMicros(micros(now))
	var tok *payment.CustomerToken
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		if err := customerExists(ctx, tx, accountID, customerID, "id"); err != nil {
			return err
		}
		var err error
		tok, err = scanCustomerToken(tx.QueryRowContext(ctx, `SELECT `+customerTokenColumns+` FROM customer_tokens
			WHERE account_id = ? AND customer_id = ? AND token_id = ? AND deleted_at IS NULL`, accountID, customerID, tokenID))
		if errors.Is(err, sql.ErrNoRows) {
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
