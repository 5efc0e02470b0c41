package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store"
)

const checkoutColumns = `id, account_id, status, amount, currency, items, merchant_reference, return_url, cancel_url,
	callback_url, customer_id, gateway_id, capture, locale, save_card, expires_at, attempts, payment_id,
	created_at, updated_at, closed_at, dialect, kind, card_token_id`

func scanCheckoutSession(row pgx.Row) (*payment.CheckoutSession, error) {
	var cs payment.CheckoutSession
	var status string
	var items []byte
	var paymentID, cardToken *string
	err := row.Scan(&cs.ID, &cs.AccountID, &status, &cs.Amount, &cs.Currency, &items, &cs.MerchantReference,
		&cs.ReturnURL, &cs.CancelURL, &cs.CallbackURL, &cs.CustomerID, &cs.GatewayID, &cs.Capture, &cs.Locale,
		&cs.SaveCard, &cs.ExpiresAt, &cs.Attempts, &paymentID, &cs.CreatedAt, &cs.UpdatedAt, &cs.ClosedAt, &cs.Dialect, &cs.Kind, &cardToken)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(items, &cs.Items); err != nil {
		return nil, fmt.Errorf("checkout session %s: items: %w", cs.ID, err)
	}
	cs.Status = payment.CheckoutStatus(status)
	if paymentID != nil {
		cs.PaymentID = *paymentID
	}
	if cardToken != nil {
		cs.CardTokenID = *cardToken
	}
	cs.ExpiresAt, cs.CreatedAt, cs.UpdatedAt, cs.ClosedAt = utc(cs.ExpiresAt), utc(cs.CreatedAt), utc(cs.UpdatedAt), utcPtr(cs.ClosedAt)
	return &cs, nil
}

// CreateCheckoutSession inserts cs.
func (s *Store) CreateCheckoutSession(ctx context.Context, cs *payment.CheckoutSession) error {
	items, err := store.CheckoutItemsJSON(cs)
	if err != nil {
		return err
	}
	err = s.withConn(ctx, func(q querier) error {
		_, err := q.Exec(ctx, `INSERT INTO checkout_sessions (`+checkoutColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)`,
			cs.ID, cs.AccountID, string(cs.Status), cs.Amount, cs.Currency, items, cs.MerchantReference,
			cs.ReturnURL, cs.CancelURL, cs.CallbackURL, cs.CustomerID, cs.GatewayID, cs.Capture, cs.Locale,
			cs.SaveCard, ts(cs.ExpiresAt), cs.Attempts, textOrNull(cs.PaymentID), ts(cs.CreatedAt),
			ts(cs.UpdatedAt), tsPtr(cs.ClosedAt), cs.Dialect, store.CheckoutKind(cs), textOrNull(cs.CardTokenID))
		return translate(err, cs.AccountID)
	})
	return fail("create checkout session", err)
}

func checkoutSession(ctx context.Context, q querier, cond string, args ...any) (*payment.CheckoutSession, error) {
	cs, err := scanCheckoutSession(q.QueryRow(ctx, `SELECT `+checkoutColumns+` FROM checkout_sessions WHERE `+cond, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, payment.NotFound("checkout_session", args[len(args)-1].(string))
	}
	return cs, err
}

// CheckoutSession returns the account's session id.
func (s *Store) CheckoutSession(ctx context.Context, accountID, id string) (*payment.CheckoutSession, error) {
	var cs *payment.CheckoutSession
	err := s.withConn(ctx, func(q querier) error {
		var err error
		cs, err = checkoutSession(ctx, q, `account_id = $1 AND id = $2`, accountID, id)
		return err
	})
	return cs, fail("get checkout session", err)
}

// CheckoutSessionByID returns session id of whatever account.
func (s *Store) CheckoutSessionByID(ctx context.Context, id string) (*payment.CheckoutSession, error) {
	var cs *payment.CheckoutSession
	err := s.withConn(ctx, func(q querier) error {
		var err error
		cs, err = checkoutSession(ctx, q, `id = $1`, id)
		return err
	})
	return cs, fail("get checkout session", err)
}

// CheckoutSessions lists the account's sessions, newest first.
func (s *Store) CheckoutSessions(ctx context.Context, accountID string, p payment.ListParams) ([]*payment.CheckoutSession, bool, error) {
	cs, more, err := list(ctx, s, "checkout_session", "checkout_sessions", checkoutColumns, accountID, p, scanCheckoutSession)
	return cs, more, fail("list checkout sessions", err)
}

// CloseCheckoutSession moves a session in status from with attempts
// attempts to status, with ev, by compare-and-set.
func (s *Store) CloseCheckoutSession(ctx context.Context, accountID, id string, from payment.CheckoutStatus, attempts int,
	status payment.CheckoutStatus, at time.Time, ev *payment.Event) (*payment.CheckoutSession, error) {
	if err := store.CheckCheckoutClose(accountID, from, status, ev); err != nil {
		return nil, err
	}
	cs, err := s.closeSession(ctx, accountID, id, from, attempts, `status = $1, closed_at = $2, updated_at = $2`, ``,
		string(status), at, ev, nil)
	if errors.Is(err, payment.ErrStale) {
		return nil, payment.ErrStale
	}
	return cs, fail("close checkout session", err)
}

// closeSession sets set ($1 is first, $2 is at) on the session if it is
// in status from with attempts attempts and matches cond (an extra
// condition, or ""), in one statement, writes ev and the callback cb
// (either may be nil) with it, and returns the session as stored. A
// session that moved is payment.ErrStale; a missing one is not found.
func (s *Store) closeSession(ctx context.Context, accountID, id string, from payment.CheckoutStatus, attempts int, set, cond string,
	first any, at time.Time, ev *payment.Event, cb *payment.WebhookDelivery) (*payment.CheckoutSession, error) {
	var cs *payment.CheckoutSession
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE checkout_sessions SET `+set+`
			WHERE account_id = $3 AND id = $4 AND status = $6 AND attempts = $5`+cond,
			first, ts(at), accountID, id, attempts, string(from))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			if _, err := checkoutSession(ctx, tx, `account_id = $1 AND id = $2`, accountID, id); err != nil {
				return err
			}
			return payment.ErrStale
		}
		if ev != nil {
			if err := insertEvent(ctx, tx, ev); err != nil {
				return err
			}
		}
		if cb != nil {
			b := &pgx.Batch{}
			queueCallback(b, cb)
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return err
			}
		}
		cs, err = checkoutSession(ctx, tx, `account_id = $1 AND id = $2`, accountID, id)
		return err
	})
	return cs, err
}

// ExpiredCheckoutSessions returns open sessions past their expiry.
func (s *Store) ExpiredCheckoutSessions(ctx context.Context, now time.Time, limit int) ([]*payment.CheckoutSession, error) {
	var cs []*payment.CheckoutSession
	err := s.withConn(ctx, func(q querier) error {
		rows, err := q.Query(ctx, `SELECT `+checkoutColumns+` FROM checkout_sessions
			WHERE status = 'open' AND expires_at <= $1 ORDER BY expires_at LIMIT $2`, ts(now), limit)
		if err != nil {
			return err
		}
		cs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*payment.CheckoutSession, error) { return scanCheckoutSession(r) })
		return err
	})
	return cs, fail("list expired checkout sessions", err)
}

// queueCheckoutAttempt queues the write that makes the reserved payment the
// session's next attempt (see payment.CheckoutAttempt); it fails b with
// ErrAttemptTaken when the session does not allow it.
func queueCheckoutAttempt(b *pgx.Batch, a *payment.CheckoutAttempt, paymentID string) {
	b.Queue(`UPDATE checkout_sessions SET attempts = $1, payment_id = $2, updated_at = $3
		WHERE account_id = $4 AND id = $5 AND status = 'open' AND attempts = $6 AND expires_at > $3`,
		a.Attempt, paymentID, ts(a.Now), a.AccountID, a.SessionID, a.Attempt-1).Exec(func(tag pgconn.CommandTag) error {
		if tag.RowsAffected() == 0 {
			return payment.ErrAttemptTaken
		}
		return nil
	})
}

// queueCheckoutCard queues, after the attempt claim of mark (queueMark),
// the card that attempt pays with and its event: the write that claims
// the attempt is the one that vaults the card (payment.CheckoutAttempt),
// and a refused claim rolls the card back with the rest. A card of a
// customer deleted meanwhile fails b with the customer not found; the
// customer's row is held (FOR SHARE) as CreatePaymentMethod holds it.
func queueCheckoutCard(b *pgx.Batch, mark *payment.IdempotencyMark) error {
	if mark == nil || mark.Point != payment.RecoveryReserved || mark.Checkout == nil || mark.Checkout.Card == nil {
		return nil
	}
	a, pm := mark.Checkout, mark.Checkout.Card
	vals, err := paymentMethodValues(pm)
	if err != nil {
		return fmt.Errorf("payment method %s: %w", pm.ID, err)
	}
	if pm.CustomerID != "" {
		b.Queue(`SELECT 1 FROM customers WHERE account_id = $1 AND id = $2 AND deleted_at IS NULL FOR SHARE`,
			pm.AccountID, pm.CustomerID).QueryRow(func(row pgx.Row) error {
			var one int
			err := row.Scan(&one)
			if errors.Is(err, pgx.ErrNoRows) {
				nf := payment.NotFound("customer", pm.CustomerID)
				nf.Param = "customer"
				return nf
			}
			return err
		})
	}
	b.Queue(insertPaymentMethodSQL, vals...)
	queueEvent(b, a.CardEvent)
	return nil
}

// UpdateCheckoutSessionOrder writes cs's order onto the session by
// compare-and-set on (status, attempts, expiry).
func (s *Store) UpdateCheckoutSessionOrder(ctx context.Context, cs *payment.CheckoutSession, attempts int) (*payment.CheckoutSession, error) {
	items, err := store.CheckoutItemsJSON(cs)
	if err != nil {
		return nil, err
	}
	var out *payment.CheckoutSession
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE checkout_sessions SET amount = $1, currency = $2, items = $3, merchant_reference = $4,
			updated_at = $5 WHERE account_id = $6 AND id = $7 AND status = 'open' AND attempts = $8 AND expires_at > $5`,
			cs.Amount, cs.Currency, items, cs.MerchantReference, ts(cs.UpdatedAt), cs.AccountID, cs.ID, attempts)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			if _, err := checkoutSession(ctx, tx, `account_id = $1 AND id = $2`, cs.AccountID, cs.ID); err != nil {
				return err
			}
			return payment.ErrStale
		}
		out, err = checkoutSession(ctx, tx, `account_id = $1 AND id = $2`, cs.AccountID, cs.ID)
		return err
	})
	if errors.Is(err, payment.ErrStale) {
		return nil, payment.ErrStale
	}
	return out, fail("update checkout session", err)
}

// ClaimCheckoutTokenAttempt makes attempt the latest of an open token
// session by compare-and-set.
func (s *Store) ClaimCheckoutTokenAttempt(ctx context.Context, accountID, id string, attempt int, now time.Time) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE checkout_sessions SET attempts = $1, updated_at = $2
			WHERE account_id = $3 AND id = $4 AND kind = 'payment_token' AND status = 'open' AND attempts = $5 AND expires_at > $2`,
			attempt, ts(now), accountID, id, attempt-1)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			if _, err := checkoutSession(ctx, tx, `account_id = $1 AND id = $2`, accountID, id); err != nil {
				return err
			}
			return payment.ErrAttemptTaken
		}
		return nil
	})
	if errors.Is(err, payment.ErrAttemptTaken) {
		return payment.ErrAttemptTaken
	}
	return fail("claim checkout token attempt", err)
}

// CompleteCheckoutTokenSession closes an open token session as paid with
// its card token, its event and its callback, by compare-and-set.
func (s *Store) CompleteCheckoutTokenSession(ctx context.Context, accountID, id string, attempts int, cardTokenID string,
	at time.Time, ev *payment.Event, cb *payment.WebhookDelivery) (*payment.CheckoutSession, error) {
	if err := store.CheckCheckoutClose(accountID, payment.CheckoutOpen, payment.CheckoutPaid, ev); err != nil {
		return nil, err
	}
	if err := store.CheckSessionCallback(accountID, cb); err != nil {
		return nil, err
	}
	cs, err := s.closeSession(ctx, accountID, id, payment.CheckoutOpen, attempts,
		`status = 'paid', card_token_id = $1, closed_at = $2, updated_at = $2`, ` AND kind = 'payment_token'`, cardTokenID, at, ev, cb)
	if errors.Is(err, payment.ErrStale) {
		return nil, payment.ErrStale
	}
	return cs, fail("complete checkout token session", err)
}
