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

const checkoutColumns = `id, account_id, status, amount, currency, items, merchant_reference, return_url, cancel_url,
	callback_url, customer_id, gateway_id, capture, locale, save_card, expires_at, attempts, payment_id,
	created_at, updated_at, closed_at, dialect, kind, card_token_id`

func scanCheckoutSession(sc scanner) (*payment.CheckoutSession, error) {
	var cs payment.CheckoutSession
	var status, items string
	var paymentID, cardToken sql.Null[string]
	var expires, created, updated int64
	var closed sql.Null[int64]
	err := sc.Scan(&cs.ID, &cs.AccountID, &status, &cs.Amount, &cs.Currency, &items, &cs.MerchantReference,
		&cs.ReturnURL, &cs.CancelURL, &cs.CallbackURL, &cs.CustomerID, &cs.GatewayID, &cs.Capture, &cs.Locale,
		&cs.SaveCard, &expires, &cs.Attempts, &paymentID, &created, &updated, &closed, &cs.Dialect, &cs.Kind, &cardToken)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(items), &cs.Items); err != nil {
		return nil, fmt.Errorf("checkout session %s: items: %w", cs.ID, err)
	}
	cs.Status, cs.PaymentID, cs.CardTokenID = payment.CheckoutStatus(status), paymentID.V, cardToken.V
	cs.ExpiresAt, cs.CreatedAt, cs.UpdatedAt = fromMicros(expires), fromMicros(created), fromMicros(updated)
	cs.ClosedAt = fromMicrosPtr(closed)
	return &cs, nil
}

// CreateCheckoutSession inserts cs.
func (s *Store) CreateCheckoutSession(ctx context.Context, cs *payment.CheckoutSession) error {
	items, err := store.CheckoutItemsJSON(cs)
	if err != nil {
		return err
	}
	err = s.write(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO checkout_sessions (`+checkoutColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			cs.ID, cs.AccountID, string(cs.Status), cs.Amount, cs.Currency, items, cs.MerchantReference,
			cs.ReturnURL, cs.CancelURL, cs.CallbackURL, cs.CustomerID, cs.GatewayID, cs.Capture, cs.Locale,
			cs.SaveCard, micros(cs.ExpiresAt), cs.Attempts, nullString(cs.PaymentID), micros(cs.CreatedAt),
			micros(cs.UpdatedAt), microsPtr(cs.ClosedAt), cs.Dialect, store.CheckoutKind(cs), nullString(cs.CardTokenID))
		return translate(err, cs.AccountID)
	})
	return fail("create checkout session", err)
}

func checkoutSession(ctx context.Context, q querier, cond string, args ...any) (*payment.CheckoutSession, error) {
	cs, err := scanCheckoutSession(q.QueryRowContext(ctx, `SELECT `+checkoutColumns+` FROM checkout_sessions WHERE `+cond, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, payment.NotFound("checkout_session", args[len(args)-1].(string))
	}
	return cs, err
}

// CheckoutSession returns the account's session id.
func (s *Store) CheckoutSession(ctx context.Context, accountID, id string) (*payment.CheckoutSession, error) {
	cs, err := checkoutSession(ctx, s.reads, `account_id = ? AND id = ?`, accountID, id)
	return cs, fail("get checkout session", err)
}

// CheckoutSessionByID returns session id of whatever account.
func (s *Store) CheckoutSessionByID(ctx context.Context, id string) (*payment.CheckoutSession, error) {
	cs, err := checkoutSession(ctx, s.reads, `id = ?`, id)
	return cs, fail("get checkout session", err)
}

// CheckoutSessions lists the account's sessions, newest first.
func (s *Store) CheckoutSessions(ctx context.Context, accountID string, p payment.ListParams) ([]*payment.CheckoutSession, bool, error) {
	cs, more, err := listWhere(ctx, s.reader, "checkout_session", "checkout_sessions", checkoutColumns, accountID, "", nil, p,
		scanCheckoutSession)
	return cs, more, fail("list checkout sessions", err)
}

// CloseCheckoutSession moves a session in status from with attempts
// attempts to status, with ev, by compare-and-set.
func (s *Store) CloseCheckoutSession(ctx context.Context, accountID, id string, from payment.CheckoutStatus, attempts int,
	status payment.CheckoutStatus, at time.Time, ev *payment.Event) (*payment.CheckoutSession, error) {
	if err := store.CheckCheckoutClose(accountID, from, status, ev); err != nil {
		return nil, err
	}
	cs, err := s.closeSession(ctx, accountID, id, from, attempts, `status = ?, closed_at = ?, updated_at = ?`, ``,
		[]any{string(status), micros(at), micros(at)}, ev, nil)
	if errors.Is(err, payment.ErrStale) {
		return nil, payment.ErrStale
	}
	return cs, fail("close checkout session", err)
}

// closeSession sets set (with setArgs) on the session if it is in status
// from with attempts attempts and matches cond (an extra condition, or
// ""), in one statement, writes ev and the callback cb (either may be
// nil) with it, and returns the session as stored. A session that moved
// is payment.ErrStale; a missing one is not found.
func (s *Store) closeSession(ctx context.Context, accountID, id string, from payment.CheckoutStatus, attempts int, set, cond string,
	setArgs []any, ev *payment.Event, cb *payment.WebhookDelivery) (*payment.CheckoutSession, error) {
	var cs *payment.CheckoutSession
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE checkout_sessions SET `+set+`
			WHERE account_id = ? AND id = ? AND status = ? AND attempts = ?`+cond,
			append(setArgs, accountID, id, string(from), attempts)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			if _, err := checkoutSession(ctx, tx, `account_id = ? AND id = ?`, accountID, id); err != nil {
				return err
			}
			return payment.ErrStale
		}
		if ev != nil {
			if err := insertEvent(ctx, tx, ev); err != nil {
				return err
			}
		}
		if err := insertCallback(ctx, tx, cb); err != nil {
			return err
		}
		cs, err = checkoutSession(ctx, tx, `account_id = ? AND id = ?`, accountID, id)
		return err
	})
	return cs, err
}

// ExpiredCheckoutSessions returns open sessions past their expiry.
func (s *Store) ExpiredCheckoutSessions(ctx context.Context, now time.Time, limit int) ([]*payment.CheckoutSession, error) {
	rows, err := s.reads.QueryContext(ctx, `SELECT `+checkoutColumns+` FROM checkout_sessions
		WHERE status = 'open' AND expires_at <= ? ORDER BY expires_at LIMIT ?`, micros(now), limit)
	if err != nil {
		return nil, fail("list expired checkout sessions", err)
	}
	cs, err := collect(rows, scanCheckoutSession)
	return cs, fail("list expired checkout sessions", err)
}

// markCheckoutAttempt makes the reserved payment the session's next
// attempt inside tx (see payment.CheckoutAttempt).
func markCheckoutAttempt(ctx context.Context, tx *wtx, a *payment.CheckoutAttempt, paymentID string) error {
	res, err := tx.ExecContext(ctx, `UPDATE checkout_sessions SET attempts = ?, payment_id = ?, updated_at = ?
		WHERE account_id = ? AND id = ? AND status = 'open' AND attempts = ? AND expires_at > ?`,
		a.Attempt, paymentID, micros(a.Now), a.AccountID, a.SessionID, a.Attempt-1, micros(a.Now))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return payment.ErrAttemptTaken
	}
	return nil
}

// insertCheckoutCard stores the card of the attempt mark claimed, with its
// event, in the claim's transaction: the write that claims the attempt is
// the one that vaults the card (payment.CheckoutAttempt).
func insertCheckoutCard(ctx context.Context, tx *wtx, mark *payment.IdempotencyMark) error {
	if mark == nil || mark.Point != payment.RecoveryReserved || mark.Checkout == nil || mark.Checkout.Card == nil {
		return nil
	}
	a, pm := mark.Checkout, mark.Checkout.Card
	if pm.CustomerID != "" {
		if err := customerExists(ctx, tx, pm.AccountID, pm.CustomerID, "customer"); err != nil {
			return err
		}
	}
	if err := insertPaymentMethod(ctx, tx, pm); err != nil {
		return err
	}
	return insertEvent(ctx, tx, a.CardEvent)
}

// UpdateCheckoutSessionOrder writes cs's order onto the session by
// compare-and-set on (status, attempts, expiry).
func (s *Store) UpdateCheckoutSessionOrder(ctx context.Context, cs *payment.CheckoutSession, attempts int) (*payment.CheckoutSession, error) {
	items, err := store.CheckoutItemsJSON(cs)
	if err != nil {
		return nil, err
	}
	var out *payment.CheckoutSession
	err = s.write(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE checkout_sessions SET amount = ?, currency = ?, items = ?, merchant_reference = ?,
			updated_at = ? WHERE account_id = ? AND id = ? AND status = 'open' AND attempts = ? AND expires_at > ?`,
			cs.Amount, cs.Currency, items, cs.MerchantReference, micros(cs.UpdatedAt), cs.AccountID, cs.ID, attempts, micros(cs.UpdatedAt))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			if _, err := checkoutSession(ctx, tx, `account_id = ? AND id = ?`, cs.AccountID, cs.ID); err != nil {
				return err
			}
			return payment.ErrStale
		}
		out, err = checkoutSession(ctx, tx, `account_id = ? AND id = ?`, cs.AccountID, cs.ID)
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
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE checkout_sessions SET attempts = ?, updated_at = ?
			WHERE account_id = ? AND id = ? AND kind = 'payment_token' AND status = 'open' AND attempts = ? AND expires_at > ?`,
			attempt, micros(now), accountID, id, attempt-1, micros(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			if _, err := checkoutSession(ctx, tx, `account_id = ? AND id = ?`, accountID, id); err != nil {
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
		`status = 'paid', card_token_id = ?, closed_at = ?, updated_at = ?`, ` AND kind = 'payment_token'`,
		[]any{cardTokenID, micros(at), micros(at)}, ev, cb)
	if errors.Is(err, payment.ErrStale) {
		return nil, payment.ErrStale
	}
	return cs, fail("complete checkout token session", err)
}
