package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/store"
)

const (
	userColumns       = `id, email, password_hash, created_at`
	membershipColumns = `user_id, account_id, role, created_at`
	sessionColumns    = `token_hash, user_id, account_id, csrf_secret, created_at, last_seen_at, expires_at`
)

func scanUser(row pgx.Row) (*payment.User, error) {
	var u payment.User
	if err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &u.CreatedAt); err != nil {
		return nil, err
	}
	u.CreatedAt = utc(u.CreatedAt)
	return &u, nil
}

func insertMembership(ctx context.Context, q querier, m *payment.Membership) error {
	_, err := q.Exec(ctx, `INSERT INTO dashboard_memberships (`+membershipColumns+`) VALUES ($1, $2, $3, $4)`,
		m.UserID, m.AccountID, string(m.Role), ts(m.CreatedAt))
	return translate(err, m.AccountID)
}

// CreateUser inserts u with its first membership m.
func (s *Store) CreateUser(ctx context.Context, u *payment.User, m *payment.Membership, ev *payment.Event) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO dashboard_users (`+userColumns+`) VALUES ($1, $2, $3, $4)`,
			u.ID, u.Email, u.PasswordHash, ts(u.CreatedAt)); err != nil {
			return translate(err, m.AccountID)
		}
		if err := insertMembership(ctx, tx, m); err != nil {
			return err
		}
		return insertEvents(ctx, tx, m.AccountID, ev)
	})
	return fail("create user", err)
}

func (s *Store) userWhere(ctx context.Context, cond, arg, id string) (*payment.User, error) {
	var u *payment.User
	err := s.withConn(ctx, func(q querier) error {
		var err error
		u, err = scanUser(q.QueryRow(ctx, `SELECT `+userColumns+` FROM dashboard_users WHERE `+cond+` = $1`, arg))
		if errors.Is(err, pgx.ErrNoRows) {
			return payment.NotFound("user", id)
		}
		return err
	})
	return u, fail("get user", err)
}

// UserByEmail returns the user with email.
func (s *Store) UserByEmail(ctx context.Context, email string) (*payment.User, error) {
	return s.userWhere(ctx, "email", email, "")
}

// User returns the user id.
func (s *Store) User(ctx context.Context, id string) (*payment.User, error) {
	return s.userWhere(ctx, "id", id, id)
}

// AddMembership inserts m and ev.
func (s *Store) AddMembership(ctx context.Context, m *payment.Membership, ev *payment.Event) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := insertMembership(ctx, tx, m); err != nil {
			return err
		}
		return insertEvents(ctx, tx, m.AccountID, ev)
	})
	return fail("add membership", err)
}

// insertEvents writes evs (skipping nil ones) after checking each
// belongs to accountID.
func insertEvents(ctx context.Context, tx pgx.Tx, accountID string, evs ...*payment.Event) error {
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

func scanMember(row pgx.Row) (*payment.Member, error) {
	var m payment.Member
	var role string
	if err := row.Scan(&m.UserID, &m.AccountID, &role, &m.CreatedAt, &m.Email); err != nil {
		return nil, err
	}
	m.Role, m.CreatedAt = payment.Role(role), utc(m.CreatedAt)
	return &m, nil
}

// membersQuery lists an account's members (by the index
// dashboard_memberships_account, migration 0019).
const membersQuery = `SELECT ` + memberColumns + ` FROM dashboard_memberships m
	JOIN dashboard_users u ON u.id = m.user_id WHERE m.account_id = $1 ORDER BY m.created_at, u.email`

// Members lists the account's members, oldest first.
func (s *Store) Members(ctx context.Context, accountID string) ([]*payment.Member, error) {
	var ms []*payment.Member
	err := s.withConn(ctx, func(q querier) error {
		rows, err := q.Query(ctx, membersQuery, accountID)
		if err != nil {
			return err
		}
		ms, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*payment.Member, error) { return scanMember(r) })
		return err
	})
	return ms, fail("list members", err)
}

// RemoveMembership ends the membership, unless it is the account's only
// admin. The account's row is locked first, so that removals in one
// account run one after the other and two cannot each leave the other as
// the last admin.
func (s *Store) RemoveMembership(ctx context.Context, accountID, userID string, newEvent func(*payment.Member) *payment.Event) (*payment.Member, error) {
	var m *payment.Member
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE`, accountID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return payment.NotFound("user", userID)
		}
		if err != nil {
			return err
		}
		m, err = scanMember(tx.QueryRow(ctx, `SELECT `+memberColumns+` FROM dashboard_memberships m
			JOIN dashboard_users u ON u.id = m.user_id WHERE m.account_id = $1 AND m.user_id = $2`, accountID, userID))
		if errors.Is(err, pgx.ErrNoRows) {
			return payment.NotFound("user", userID)
		}
		if err != nil {
			return err
		}
		if m.Role == payment.RoleAdmin {
			var admins int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM dashboard_memberships WHERE account_id = $1 AND role = 'admin'`,
				accountID).Scan(&admins); err != nil {
				return err
			}
			if admins <= 1 {
				return payment.ErrLastAdmin
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM dashboard_memberships WHERE account_id = $1 AND user_id = $2`, accountID, userID); err != nil {
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
	var ms []*payment.Membership
	err := s.withConn(ctx, func(q querier) error {
		rows, err := q.Query(ctx, `SELECT `+membershipColumns+` FROM dashboard_memberships
			WHERE user_id = $1 ORDER BY created_at, account_id`, userID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m payment.Membership
			var role string
			if err := rows.Scan(&m.UserID, &m.AccountID, &role, &m.CreatedAt); err != nil {
				return err
			}
			m.Role, m.CreatedAt = payment.Role(role), utc(m.CreatedAt)
			ms = append(ms, &m)
		}
		return rows.Err()
	})
	return ms, fail("list memberships", err)
}

// CreateDashboardSession inserts ds.
func (s *Store) CreateDashboardSession(ctx context.Context, ds *payment.DashboardSession) error {
	err := s.withConn(ctx, func(q querier) error {
		_, err := q.Exec(ctx, `INSERT INTO dashboard_sessions (`+sessionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			ds.TokenHash, ds.UserID, ds.AccountID, ds.CSRFSecret, ts(ds.CreatedAt), ts(ds.LastSeenAt), ts(ds.ExpiresAt))
		return translate(err, ds.AccountID)
	})
	return fail("create dashboard session", err)
}

// DashboardSession returns the session of tokenHash.
func (s *Store) DashboardSession(ctx context.Context, tokenHash []byte) (*payment.DashboardSession, error) {
	var ds payment.DashboardSession
	err := s.withConn(ctx, func(q querier) error {
		err := q.QueryRow(ctx, `SELECT `+sessionColumns+` FROM dashboard_sessions WHERE token_hash = $1`, tokenHash).
			Scan(&ds.TokenHash, &ds.UserID, &ds.AccountID, &ds.CSRFSecret, &ds.CreatedAt, &ds.LastSeenAt, &ds.ExpiresAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return payment.NotFound("session", "")
		}
		return err
	})
	if err != nil {
		return nil, fail("get dashboard session", err)
	}
	ds.CreatedAt, ds.LastSeenAt, ds.ExpiresAt = utc(ds.CreatedAt), utc(ds.LastSeenAt), utc(ds.ExpiresAt)
	return &ds, nil
}

// TouchDashboardSession sets the session's last request time and account.
func (s *Store) TouchDashboardSession(ctx context.Context, tokenHash []byte, accountID string, lastSeen time.Time) error {
	err := s.withConn(ctx, func(q querier) error {
		tag, err := q.Exec(ctx, `UPDATE dashboard_sessions SET account_id = $1, last_seen_at = $2 WHERE token_hash = $3`,
			accountID, ts(lastSeen), tokenHash)
		if err != nil {
			return translate(err, accountID)
		}
		if tag.RowsAffected() == 0 {
			return payment.NotFound("session", "")
		}
		return nil
	})
	return fail("touch dashboard session", err)
}

// DeleteDashboardSession removes the session of tokenHash.
func (s *Store) DeleteDashboardSession(ctx context.Context, tokenHash []byte) error {
	err := s.withConn(ctx, func(q querier) error {
		_, err := q.Exec(ctx, `DELETE FROM dashboard_sessions WHERE token_hash = $1`, tokenHash)
		return err
	})
	return fail("delete dashboard session", err)
}

// DeleteExpiredDashboardSessions removes expired and idle sessions.
func (s *Store) DeleteExpiredDashboardSessions(ctx context.Context, now, idleBefore time.Time) (int, error) {
	var n int64
	err := s.withConn(ctx, func(q querier) error {
		tag, err := q.Exec(ctx, `DELETE FROM dashboard_sessions WHERE expires_at <= $1 OR last_seen_at < $2`, ts(now), ts(idleBefore))
		n = tag.RowsAffected()
		return err
	})
	return int(n), fail("delete expired dashboard sessions", err)
}

// takeLoginAttemptSQL draws one attempt from each budget ($2 its key
// hashes, $3 its intervals in microseconds) at $1, creating the budgets
// never drawn on, and returns their new tats. The upsert locks each row
// until the transaction ends, in key order (the rows are inserted in the
// order selected), so racing attempts, from any process, take their turns
// on a budget and each sees the tat the one before it left.
const takeLoginAttemptSQL = `INSERT INTO dashboard_login_budgets AS b (key_hash, tat)
	SELECT k, $1::timestamptz + i * interval '1 microsecond' FROM unnest($2::bytea[], $3::bigint[]) AS u (k, i) ORDER BY k
	ON CONFLICT (key_hash) DO UPDATE SET tat = greatest(b.tat, $1::timestamptz) + (excluded.tat - $1::timestamptz)
	RETURNING key_hash, tat`

// errLoginRefused rolls back an attempt that one of its budgets refuses.
var errLoginRefused = errors.New("postgres: login attempt refused")

// TakeLoginAttempt takes one attempt from every budget or from none: one
// upsert in a transaction, rolled back when a budget's new tat lies more
// than its window ahead.
func (s *Store) TakeLoginAttempt(ctx context.Context, now time.Time, budgets []payment.LoginBudget) (bool, error) {
	bs, err := store.SortLoginBudgets(budgets)
	if err != nil {
		return false, err
	}
	now = ts(now)
	keys, intervals := make([][]byte, len(bs)), make([]int64, len(bs))
	window := make(map[string]time.Duration, len(bs))
	for i, b := range bs {
		keys[i], intervals[i] = b.KeyHash, b.Interval().Microseconds()
		window[string(b.KeyHash)] = b.Window
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, takeLoginAttemptSQL, now, keys, intervals)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var key []byte
			var tat time.Time
			if err := rows.Scan(&key, &tat); err != nil {
				return err
			}
			if tat.After(now.Add(window[string(key)])) {
				return errLoginRefused
			}
		}
		return rows.Err()
	})
	if errors.Is(err, errLoginRefused) {
		return false, nil
	}
	return err == nil, fail("take login attempt", err)
}

// PurgeLoginBudgets removes the budgets full again at now.
func (s *Store) PurgeLoginBudgets(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.withConn(ctx, func(q querier) error {
		tag, err := q.Exec(ctx, `DELETE FROM dashboard_login_budgets WHERE tat <= $1`, ts(now))
		n = tag.RowsAffected()
		return err
	})
	return int(n), fail("purge login budgets", err)
}
