package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store"
)

const checkoutProfileColumns = `id, account_id, name, description, url, configuration, created_at, updated_at`

func scanCheckoutProfile(sc scanner) (*payment.CheckoutProfile, error) {
	var p payment.CheckoutProfile
	var u, conf string
	var created, updated int64
	if err := sc.Scan(&p.ID, &p.AccountID, &p.Name, &p.Description, &u, &conf, &created, &updated); err != nil {
		return nil, err
	}
	p.URL, p.Configuration = []byte(u), []byte(conf)
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &p, nil
}

// CreateCheckoutProfile inserts p.
func (s *Store) CreateCheckoutProfile(ctx context.Context, p *payment.CheckoutProfile) error {
	u, conf := store.JSONObject(p.URL), store.JSONObject(p.Configuration)
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO checkout_profiles (`+checkoutProfileColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.AccountID, p.Name, p.Description, u, conf, micros(p.CreatedAt), micros(p.UpdatedAt))
		return translate(err, p.AccountID)
	})
	return fail("create checkout profile", err)
}

func checkoutProfile(ctx context.Context, q querier, accountID, id string) (*payment.CheckoutProfile, error) {
	p, err := scanCheckoutProfile(q.QueryRowContext(ctx, `SELECT `+checkoutProfileColumns+` FROM checkout_profiles
		WHERE account_id = ? AND id = ?`, accountID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, payment.NotFound("checkout_profile", id)
	}
	return p, err
}

// CheckoutProfile returns the account's profile id.
func (s *Store) CheckoutProfile(ctx context.Context, accountID, id string) (*payment.CheckoutProfile, error) {
	p, err := checkoutProfile(ctx, s.reads, accountID, id)
	return p, fail("get checkout profile", err)
}

// CheckoutProfiles lists the account's profiles, newest first.
func (s *Store) CheckoutProfiles(ctx context.Context, accountID string, lp payment.ListParams) ([]*payment.CheckoutProfile, bool, error) {
	ps, more, err := listWhere(ctx, s.reader, "checkout_profile", "checkout_profiles", checkoutProfileColumns, accountID, "", nil, lp,
		scanCheckoutProfile)
	return ps, more, fail("list checkout profiles", err)
}

// UpdateCheckoutProfile replaces the profile's fields.
func (s *Store) UpdateCheckoutProfile(ctx context.Context, p *payment.CheckoutProfile) (*payment.CheckoutProfile, error) {
	u, conf := store.JSONObject(p.URL), store.JSONObject(p.Configuration)
	var out *payment.CheckoutProfile
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE checkout_profiles SET name = ?, description = ?, url = ?, configuration = ?,
			updated_at = ? WHERE account_id = ? AND id = ?`, p.Name, p.Description, u, conf, micros(p.UpdatedAt), p.AccountID, p.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return payment.NotFound("checkout_profile", p.ID)
		}
		out, err = checkoutProfile(ctx, tx, p.AccountID, p.ID)
		return err
	})
	return out, fail("update checkout profile", err)
}

// DeleteCheckoutProfile removes the account's profile id.
func (s *Store) DeleteCheckoutProfile(ctx context.Context, accountID, id string) error {
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM checkout_profiles WHERE account_id = ? AND id = ?`, accountID, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return payment.NotFound("checkout_profile", id)
		}
		return nil
	})
	return fail("delete checkout profile", err)
}
