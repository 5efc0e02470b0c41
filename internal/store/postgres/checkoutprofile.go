package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store"
)

const checkoutProfileColumns = `id, account_id, name, description, url, configuration, created_at, updated_at`

func scanCheckoutProfile(row pgx.Row) (*payment.CheckoutProfile, error) {
	var p payment.CheckoutProfile
	var u, conf []byte
	if err := row.Scan(&p.ID, &p.AccountID, &p.Name, &p.Description, &u, &conf, &p.CreatedAt, &p.UpdatedAt); err != nil {
		return nil, err
	}
	p.URL, p.Configuration = u, conf
	p.CreatedAt, p.UpdatedAt = utc(p.CreatedAt), utc(p.UpdatedAt)
	return &p, nil
}

// CreateCheckoutProfile inserts p.
func (s *Store) CreateCheckoutProfile(ctx context.Context, p *payment.CheckoutProfile) error {
	u, conf := store.JSONObject(p.URL), store.JSONObject(p.Configuration)
	err := s.withConn(ctx, func(q querier) error {
		_, err := q.Exec(ctx, `INSERT INTO checkout_profiles (`+checkoutProfileColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			p.ID, p.AccountID, p.Name, p.Description, u, conf, ts(p.CreatedAt), ts(p.UpdatedAt))
		return translate(err, p.AccountID)
	})
	return fail("create checkout profile", err)
}

func checkoutProfile(ctx context.Context, q querier, accountID, id string) (*payment.CheckoutProfile, error) {
	p, err := scanCheckoutProfile(q.QueryRow(ctx, `SELECT `+checkoutProfileColumns+` FROM checkout_profiles
		WHERE account_id = $1 AND id = $2`, accountID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, payment.NotFound("checkout_profile", id)
	}
	return p, err
}

// CheckoutProfile returns the account's profile id.
func (s *Store) CheckoutProfile(ctx context.Context, accountID, id string) (*payment.CheckoutProfile, error) {
	var p *payment.CheckoutProfile
	err := s.withConn(ctx, func(q querier) error {
		var err error
		p, err = checkoutProfile(ctx, q, accountID, id)
		return err
	})
	return p, fail("get checkout profile", err)
}

// CheckoutProfiles lists the account's profiles, newest first.
func (s *Store) CheckoutProfiles(ctx context.Context, accountID string, lp payment.ListParams) ([]*payment.CheckoutProfile, bool, error) {
	ps, more, err := list(ctx, s, "checkout_profile", "checkout_profiles", checkoutProfileColumns, accountID, lp, scanCheckoutProfile)
	return ps, more, fail("list checkout profiles", err)
}

// UpdateCheckoutProfile replaces the profile's fields.
func (s *Store) UpdateCheckoutProfile(ctx context.Context, p *payment.CheckoutProfile) (*payment.CheckoutProfile, error) {
	u, conf := store.JSONObject(p.URL), store.JSONObject(p.Configuration)
	var out *payment.CheckoutProfile
	err := s.withConn(ctx, func(q querier) error {
		var err error
		out, err = scanCheckoutProfile(q.QueryRow(ctx, `UPDATE checkout_profiles SET name = $1, description = $2, url = $3,
			configuration = $4, updated_at = $5 WHERE account_id = $6 AND id = $7 RETURNING `+checkoutProfileColumns,
			p.Name, p.Description, u, conf, ts(p.UpdatedAt), p.AccountID, p.ID))
		if errors.Is(err, pgx.ErrNoRows) {
			return payment.NotFound("checkout_profile", p.ID)
		}
		return err
	})
	return out, fail("update checkout profile", err)
}

// DeleteCheckoutProfile removes the account's profile id.
func (s *Store) DeleteCheckoutProfile(ctx context.Context, accountID, id string) error {
	err := s.withConn(ctx, func(q querier) error {
		tag, err := q.Exec(ctx, `DELETE FROM checkout_profiles WHERE account_id = $1 AND id = $2`, accountID, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return payment.NotFound("checkout_profile", id)
		}
		return nil
	})
	return fail("delete checkout profile", err)
}
