package payment

import (
	"context"
	"time"
)

// PrefixUser is the id prefix of dashboard users.
const PrefixUser = "usr"

// User is a person who signs in to the dashboard. A user is not an
// account's object: one user may be a member of several accounts
// (Membership), and sees only those.
type User struct {
	ID string // usr_…
	// Email is the sign-in name, stored lower-cased and unique.
	Email string
	// PasswordHash is the password's argon2id hash in PHC form
	// ("$argon2id$v=19$m=…,t=…,p=…$salt$hash"); the password itself is
	// never stored.
	PasswordHash string
	CreatedAt    time.Time
}

// Role is what a member may do in an account's dashboard.
type Role string

const (
	// RoleAdmin sees every page and may act (capture, refund, rotate…).
	RoleAdmin Role = "admin"
	// RoleViewer sees the pages and may not act: every action is refused.
	RoleViewer Role = "viewer"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleViewer }

// Membership makes a user a member of an account with a role.
type Membership struct {
	UserID    string
	AccountID string
	Role      Role
	CreatedAt time.Time
}

// Member is a membership with its user's email: a row of an account's
// list of users.
type Member struct {
	Membership
	Email string
}

// CodeLastAdmin is the conflict of removing an account's only admin.
const CodeLastAdmin = "last_admin"

// ErrLastAdmin refuses to remove the only admin of an account: nobody
// could manage its keys and users any more.
var ErrLastAdmin = Conflict(CodeLastAdmin, "This is the account's only admin; make another member an admin first.")

// DashboardSession is a signed-in browser. The cookie holds a random token;
// the store keeps only its SHA-256 (TokenHash), so a copy of the database
// opens no session.
type DashboardSession struct {
	TokenHash []byte
	UserID    string
	// AccountID is the account the session is looking at, one of the
	// user's memberships (the account switcher changes it).
	AccountID string
	// CSRFSecret is the session's anti-forgery secret: every form the
	// session is shown carries it, every POST must send it back.
	CSRFSecret []byte
	CreatedAt  time.Time
	// LastSeenAt is the last request's time (kept to a minute's
	// precision): a session idle longer than the idle timeout is over.
	LastSeenAt time.Time
	// ExpiresAt ends the session however active it is.
	ExpiresAt time.Time
}

// UserStore keeps dashboard users, their memberships and their sessions.
type UserStore interface {
	// CreateUser inserts u with its first membership m and the event ev
	// (may be nil), atomically. ErrConflict if the email (or id) is
	// taken; ErrNotFound if m's account does not exist.
	CreateUser(ctx context.Context, u *User, m *Membership, ev *Event) error
	// UserByEmail returns the user with the (lower-cased) email, or
	// ErrNotFound.
	UserByEmail(ctx context.Context, email string) (*User, error)
	// User returns the user id, or ErrNotFound.
	User(ctx context.Context, id string) (*User, error)
	// AddMembership inserts m and the event ev (may be nil). ErrConflict
	// if the user is a member of the account already; ErrNotFound if the
	// user or the account does not exist.
	AddMembership(ctx context.Context, m *Membership, ev *Event) error
	// Memberships lists the user's memberships, oldest first.
	Memberships(ctx context.Context, userID string) ([]*Membership, error)
	// Members lists the account's members with their emails, oldest
	// membership first.
	Members(ctx context.Context, accountID string) ([]*Member, error)
	// RemoveMembership ends userID's membership of accountID and writes
	// the event newEvent (may be nil) renders of it, atomically.
	// ErrNotFound if the user is not a member of the account;
	// ErrLastAdmin if it is the account's only admin (an account always
	// keeps one, however many removals race).
	RemoveMembership(ctx context.Context, accountID, userID string, newEvent func(*Member) *Event) (*Member, error)

	// CreateDashboardSession inserts s. ErrNotFound if its user or
	// account does not exist.
	CreateDashboardSession(ctx context.Context, s *DashboardSession) error
	// DashboardSession returns the session whose token hashes to
	// tokenHash, expired or not (the caller checks), or ErrNotFound.
	DashboardSession(ctx context.Context, tokenHash []byte) (*DashboardSession, error)
	// TouchDashboardSession sets the session's LastSeenAt and AccountID.
	// ErrNotFound if there is no such session.
	TouchDashboardSession(ctx context.Context, tokenHash []byte, accountID string, lastSeen time.Time) error
	// DeleteDashboardSession removes the session; removing a missing one
	// is not an error.
	DeleteDashboardSession(ctx context.Context, tokenHash []byte) error
	// DeleteExpiredDashboardSessions removes sessions that expired or
	// were last seen before idleBefore, and returns how many.
	DeleteExpiredDashboardSessions(ctx context.Context, now, idleBefore time.Time) (int, error)

	// TakeLoginAttempt takes one sign-in attempt at now from every budget,
	// or from none of them: ok is false when one is spent, and then no
	// budget changes. Concurrent calls, from any process sharing the
	// database, are serialised: of two racing for a budget's last attempt
	// one gets it. The budgets' keys must differ.
	TakeLoginAttempt(ctx context.Context, now time.Time, budgets []LoginBudget) (ok bool, err error)
	// PurgeLoginBudgets removes the budgets that are full again at now
	// (they hold nothing a fresh budget would not) and returns how many.
	PurgeLoginBudgets(ctx context.Context, now time.Time) (int, error)
}

// LoginBudget is one budget of sign-in attempts kept in the store: N
// attempts per Window for the key whose hash is KeyHash, refilled evenly
// (one every Window/N, GCRA). KeyHash is 32 bytes: a keyed hash of what
// is limited (an email, a client address), never the value itself.
type LoginBudget struct {
	KeyHash []byte
	N       int
	Window  time.Duration
}

// Interval is how much of the budget one attempt takes: Window/N.
func (b LoginBudget) Interval() time.Duration { return b.Window / time.Duration(b.N) }

// Take is the GCRA step: the budget's new tat after one attempt at now
// from a budget whose tat is tat (zero for a budget never drawn on), and
// whether the attempt fits (the new tat at most a Window after now).
func (b LoginBudget) Take(tat, now time.Time) (next time.Time, ok bool) {
	if tat.Before(now) {
		tat = now
	}
	next = tat.Add(b.Interval())
	return next, !next.After(now.Add(b.Window))
}
