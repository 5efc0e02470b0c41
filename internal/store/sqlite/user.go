package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store"
)

const (
	userColumns       = `id, email, password_hash, created_at`
	membershipColumns = `user_id, account_id, role, created_at`
	sessionColumns    = `token_hash, user_id, account_id, csrf_secret, created_at, last_seen_at, expires_at`
)

func scanUser(sc scanner) (*payment.User, error) {
	var u payment.User
	var created int64
	if err := sc.Scan(&u.ID, &u.Email, &u.PasswordHash, &created); err != nil {
		return nil, err
	}
	u.CreatedAt = fromMicros(created)
	return &u, nil
}

func insertMembership(ctx context.Context, tx *wtx, m *payment.Membership) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO dashboard_memberships (`+membershipColumns+`) VALUES (?, ?, ?, ?)`,
		m.UserID, m.AccountID, string(m.Role), micros(m.CreatedAt))
	return translate(err, m.AccountID)
}

// CreateUser inserts u with its first membership m.
func (s *Store) CreateUser(ctx context.Context, u *payment.User, m *payment.Membership, ev *payment.Event) error {
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO dashboard_users (`+userColumns+`) VALUES (?, ?, ?, ?)`,
			u.ID, u.Email, u.PasswordHash, micros(u.CreatedAt)); err != nil {
			return translate(err, m.AccountID)
		}
		if err := insertMembership(ctx, tx, m); err != nil {
			return err
		}
		return insertEvents(ctx, tx, m.AccountID, ev)
	})
	return fail("create user", err)
}

// UserByEmail returns the user with email.
func (s *Store) UserByEmail(ctx context.Context, email string) (*payment.User, error) {
	u, err := scanUser(s.reads.QueryRowContext(ctx, `SELECT `+userColumns+` FROM dashboard_users WHERE email = ?`, email))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, payment.NotFound("user", "")
	}
	return u, fail("get user by email", err)
}

// User returns the user id.
func (s *Store) User(ctx context.Context, id string) (*payment.User, error) {
	u, err := scanUser(s.reads.QueryRowContext(ctx, `SELECT `+userColumns+` FROM dashboard_users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, payment.NotFound("user", id)
	}
	return u, fail("get user", err)
}

// AddMembership inserts m and ev.
func (s *Store) AddMembership(ctx context.Context, m *payment.Membership, ev *payment.Event) error {
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		if err := insertMembership(ctx, tx, m); err != nil {
			return err
		}
		return insertEvents(ctx, tx, m.AccountID, ev)
	})
	return fail("add membership", err)
}

// insertEvents writes evs (skipping nil ones) after checking each
// belongs to accountID.
func insertEvents(ctx context.Context, tx *wtx, accountID string, evs ...*payment.Event) error {
	for _, ev := range evs {
		if ev == nil {
			continue
		}
		if err := store.CheckEvent(accountID, ev); err != nil {
			return err
		}
		if err := insertEvent(ctx, tx, ev); err != nil {
			return err
		}
	}
	return nil
}

const memberColumns = `m.user_id, m.account_id, m.role, m.created_at, u.email`

func scanMember(sc scanner) (*payment.Member, error) {
	var m payment.Member
	var role string
	var created int64
	if err := sc.Scan(&m.UserID, &m.AccountID, &role, &created, &m.Email); err != nil {
		return nil, err
	}
	m.Role, m.CreatedAt = payment.Role(role), fromMicros(created)
	return &m, nil
}

// membersQuery lists an account's members (by the index
// dashboard_memberships_account, migration 0020).
const membersQuery = `SELECT ` + memberColumns + ` FROM dashboard_memberships m
	JOIN dashboard_users u ON u.id = m.user_id WHERE m.account_id = ? ORDER BY m.created_at, u.email`

// Members lists the account's members, oldest first.
func (s *Store) Members(ctx context.Context, accountID string) ([]*payment.Member, error) {
	rows, err := s.reads.QueryContext(ctx, membersQuery, accountID)
	if err != nil {
		return nil, fail("list members", err)
	}
	defer rows.Close()
	var ms []*payment.Member
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, fail("list members", err)
		}
		ms = append(ms, m)
	}
	return ms, fail("list members", rows.Err())
}

// RemoveMembership ends the membership, unless it is the account's only
// admin (SQLite's one writer makes the count and the delete atomic).
func (s *Store) RemoveMembership(ctx context.Context, accountID, userID string, newEvent func(*payment.Member) *payment.Event) (*payment.Member, error) {
	var m *payment.Member
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		var err error
		m, err = scanMember(tx.QueryRowContext(ctx, `SELECT `+memberColumns+` FROM dashboard_memberships m
			JOIN dashboard_users u ON u.id = m.user_id WHERE m.account_id = ? AND m.user_id = ?`, accountID, userID))
		if errors.Is(err, sql.ErrNoRows) {
			return payment.NotFound("user", userID)
		}
		if err != nil {
			return err
		}
		if m.Role == payment.RoleAdmin {
			var admins int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM dashboard_memberships WHERE account_id = ? AND role = 'admin'`,
				accountID).Scan(&admins); err != nil {
				return err
			}
			if admins <= 1 {
				return payment.ErrLastAdmin
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM dashboard_memberships WHERE account_id = ? AND user_id = ?`, accountID, userID); err != nil {
			return err
		}
		return insertEventOf(ctx, tx, accountID, newEvent, m)
	})
	if err != nil {
		return nil, fail("remove membership", err)
	}
	return m, nil
}

// Memberships lists the user's memberships, oldest first.
func (s *Store) Memberships(ctx context.Context, userID string) ([]*payment.Membership, error) {
	rows, err := s.reads.QueryContext(ctx, `SELECT `+membershipColumns+` FROM dashboard_memberships
		WHERE user_id = ? ORDER BY created_at, account_id`, userID)
	if err != nil {
		return nil, fail("list memberships", err)
	}
	defer rows.Close()
	var ms []*payment.Membership
	for rows.Next() {
		var m payment.Membership
		var role string
		var created int64
		if err := rows.Scan(&m.UserID, &m.AccountID, &role, &created); err != nil {
			return nil, fail("list memberships", err)
		}
		m.Role, m.CreatedAt = payment.Role(role), fromMicros(created)
		ms = append(ms, &m)
	}
	return ms, fail("list memberships", rows.Err())
}

// CreateDashboardSession inserts ds.
func (s *Store) CreateDashboardSession(ctx context.Context, ds *payment.DashboardSession) error {
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO dashboard_sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			ds.TokenHash, ds.UserID, ds.AccountID, ds.CSRFSecret, micros(ds.CreatedAt), micros(ds.LastSeenAt), micros(ds.ExpiresAt))
		return translate(err, ds.AccountID)
	})
	return fail("create dashboard session", err)
}

// DashboardSession returns the session of tokenHash.
func (s *Store) DashboardSession(ctx context.Context, tokenHash []byte) (*payment.DashboardSession, error) {
	var ds payment.DashboardSession
	var created, seen, expires int64
	err := s.reads.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM dashboard_sessions WHERE token_hash = ?`, tokenHash).
		Scan(&ds.TokenHash, &ds.UserID, &ds.AccountID, &ds.CSRFSecret, &created, &seen, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, payment.NotFound("session", "")
	}
	if err != nil {
		return nil, fail("get dashboard session", err)
	}
	ds.CreatedAt, ds.LastSeenAt, ds.ExpiresAt = fromMicros(created), fromMicros(seen), fromMicros(expires)
	return &ds, nil
}

// TouchDashboardSession sets the session's last request time and account.
func (s *Store) TouchDashboardSession(ctx context.Context, tokenHash []byte, accountID string, lastSeen time.Time) error {
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE dashboard_sessions SET account_id = ?, last_seen_at = ? WHERE token_hash = ?`,
			accountID, micros(lastSeen), tokenHash)
		if err != nil {
			return translate(err, accountID)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return payment.NotFound("session", "")
		}
		return nil
	})
	return fail("touch dashboard session", err)
}

// DeleteDashboardSession removes the session of tokenHash.
func (s *Store) DeleteDashboardSession(ctx context.Context, tokenHash []byte) error {
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM dashboard_sessions WHERE token_hash = ?`, tokenHash)
		return err
	})
	return fail("delete dashboard session", err)
}

// DeleteExpiredDashboardSessions removes expired and idle sessions.
func (s *Store) DeleteExpiredDashboardSessions(ctx context.Context, now, idleBefore time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM dashboard_sessions WHERE expires_at <= ? OR last_seen_at < ?`,
			micros(now), micros(idleBefore))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), fail("delete expired dashboard sessions", err)
}

// TakeLoginAttempt takes one attempt from every budget or from none: the
// reads and the writes are one write transaction, and SQLite's one writer
// (across processes too: the database file's lock) serialises the
// attempts.
func (s *Store) TakeLoginAttempt(ctx context.Context, now time.Time, budgets []payment.LoginBudget) (bool, error) {
	bs, err := store.SortLoginBudgets(budgets)
	if err != nil {
		return false, err
	}
	var ok bool
	err = s.write(ctx, func(ctx context.Context, tx *wtx) error {
		ok = false
		next := make([]int64, len(bs))
		for i, b := range bs {
			var tat int64
			err := tx.QueryRowContext(ctx, `SELECT tat FROM dashboard_login_budgets WHERE key_hash = ?`, b.KeyHash).Scan(&tat)
			var t time.Time
			switch {
			case err == nil:
				t = fromMicros(tat)
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
			n, fits := b.Take(t, now)
			if !fits {
				return nil // refused: nothing is written
			}
			next[i] = micros(n)
		}
		for i, b := range bs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO dashboard_login_budgets (key_hash, tat) VALUES (?, ?)
				ON CONFLICT (key_hash) DO UPDATE SET tat = excluded.tat`, b.KeyHash, next[i]); err != nil {
				return err
			}
		}
		ok = true
		return nil
	})
	return ok, fail("take login attempt", err)
}

// PurgeLoginBudgets removes the budgets full again at now.
func (s *Store) PurgeLoginBudgets(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM dashboard_login_budgets WHERE tat <= ?`, micros(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), fail("purge login budgets", err)
}
