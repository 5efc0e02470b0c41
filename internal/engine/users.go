package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/kassapay/kassa/internal/password"
	"github.com/kassapay/kassa/internal/payment"
)

// CodeInvalidLogin is the one error of a failed sign-in, whatever failed:
// an unknown email and a wrong password read the same.
const CodeInvalidLogin = "invalid_login"

// errInvalidLogin is a failed sign-in. Its message names no field, so it
// tells an attacker nothing about which emails exist.
var errInvalidLogin = &payment.Error{Kind: payment.KindUnauthenticated, Code: CodeInvalidLogin,
	Message: "The email or the password is wrong."}

// NormalizeEmail returns email trimmed and lower-cased, or an invalid
// error naming param "email".
func NormalizeEmail(email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	if e == "" {
		return "", payment.Missing("email")
	}
	if err := checkText("email", e, maxEmailLen); err != nil {
		return "", err
	}
	if a, err := mail.ParseAddress(e); err != nil || a.Address != e || a.Name != "" {
		return "", payment.Invalid(payment.CodeParameterInvalid, "email", "email must be an address like name@example.com.")
	}
	return e, nil
}

// NewUser is the result of CreateUser: the user, its membership of the
// account, and whether the user itself is new (false: an existing user was
// added to another account and keeps its password).
type NewUser struct {
	User       *payment.User
	Membership *payment.Membership
	Created    bool
}

// CreateUser makes email a member of account accountID with role: a new
// user with password pw, or, when a user has that email already, a new
// membership of that user (pw is then not used). ErrConflict if the user
// is a member of the account already; ErrNotFound if the account does not
// exist.
func (e *Engine) CreateUser(ctx context.Context, accountID, email, pw string, role payment.Role) (*NewUser, error) {
	return e.createUser(ctx, nil, accountID, email, pw, role)
}

// AddMember is CreateUser in p's account, by p (a dashboard admin): its
// event ("member.added") names p as the actor.
func (e *Engine) AddMember(ctx context.Context, p *payment.Principal, email, pw string, role payment.Role) (*NewUser, error) {
	return e.createUser(ctx, p, p.Account.ID, email, pw, role)
}

// MemberObject is a member of an account as its events show it: the
// user's id, email and role (never a password or its hash).
type MemberObject struct {
	ID        string       `json:"id"`
	Object    string       `json:"object"`
	Email     string       `json:"email"`
	Role      payment.Role `json:"role"`
	CreatedAt time.Time    `json:"created_at"`
}

// memberEvent is the event of typ about m, acted by p (nil: kassa itself,
// as the CLI).
func memberEvent(p *payment.Principal, typ string, m *payment.Member, now time.Time) *payment.Event {
	return causedBy(p, newEvent(m.AccountID, typ, m.UserID,
		&MemberObject{ID: m.UserID, Object: "member", Email: m.Email, Role: m.Role, CreatedAt: m.CreatedAt}, now))
}

func (e *Engine) createUser(ctx context.Context, p *payment.Principal, accountID, email, pw string, role payment.Role) (*NewUser, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	if !role.Valid() {
		return nil, payment.Invalid(payment.CodeParameterInvalid, "role", "role must be admin or viewer.")
	}
	if _, err := e.store.Account(ctx, accountID); err != nil {
		return nil, err
	}
	now := e.clock()
	u, err := e.store.UserByEmail(ctx, email)
	if err == nil {
		m := &payment.Membership{UserID: u.ID, AccountID: accountID, Role: role, CreatedAt: now}
		ev := memberEvent(p, EventMemberAdded, &payment.Member{Membership: *m, Email: u.Email}, now)
		if err := e.store.AddMembership(ctx, m, ev); err != nil {
			return nil, err
		}
		return &NewUser{User: u, Membership: m}, nil
	}
	if !errors.Is(err, payment.ErrNotFound) {
		return nil, err
	}
	if err := checkPassword(pw); err != nil {
		return nil, err
	}
	u = &payment.User{ID: payment.NewID(payment.PrefixUser), Email: email,
		PasswordHash: password.Hash(pw, e.cfg.PasswordParams), CreatedAt: now}
	m := &payment.Membership{UserID: u.ID, AccountID: accountID, Role: role, CreatedAt: now}
	ev := memberEvent(p, EventMemberAdded, &payment.Member{Membership: *m, Email: u.Email}, now)
	if err := e.store.CreateUser(ctx, u, m, ev); err != nil {
		return nil, err
	}
	return &NewUser{User: u, Membership: m, Created: true}, nil
}

// Members lists the members of account accountID with their roles.
func (e *Engine) Members(ctx context.Context, accountID string) ([]*payment.Member, error) {
	return e.store.Members(ctx, accountID)
}

// RemoveMember ends userID's membership of p's account, by p. A user who
// is not a member of the account is not found; the account's only admin
// is never removed (payment.ErrLastAdmin), so an admin may remove
// themselves only while another admin remains.
func (e *Engine) RemoveMember(ctx context.Context, p *payment.Principal, userID string) (*payment.Member, error) {
	now := e.clock()
	return e.store.RemoveMembership(ctx, p.Account.ID, userID, func(m *payment.Member) *payment.Event {
		return memberEvent(p, EventMemberRemoved, m, now)
	})
}

// minPasswordLen follows NIST SP 800-63B's minimum for a chosen secret.
const minPasswordLen = 12

func checkPassword(pw string) error {
	if len(pw) < minPasswordLen || len(pw) > password.MaxLen {
		// The message never echoes the password.
		return payment.Invalid(payment.CodeParameterInvalid, "password",
			"password must be %d to %d characters long.", minPasswordLen, password.MaxLen)
	}
	return nil
}

// Login checks a user's email and password. Any failure is the same
// unauthenticated error (CodeInvalidLogin) after about the same time.
func (e *Engine) Login(ctx context.Context, email, pw string) (*payment.User, error) {
	norm, err := NormalizeEmail(email)
	if err != nil || len(pw) > password.MaxLen {
		password.Verify(pw, e.dummyHash())
		return nil, errInvalidLogin
	}
	u, err := e.store.UserByEmail(ctx, norm)
	if errors.Is(err, payment.ErrNotFound) {
		password.Verify(pw, e.dummyHash())
		return nil, errInvalidLogin
	}
	if err != nil {
		return nil, err
	}
	ok, err := password.Verify(pw, u.PasswordHash)
	if err != nil {
		return nil, fmt.Errorf("user %s: %w", u.ID, err)
	}
	if !ok {
		return nil, errInvalidLogin
	}
	return u, nil
}

// DashboardView is a signed-in session as a dashboard page sees it.
type DashboardView struct {
	Session     *payment.DashboardSession
	User        *payment.User
	Memberships []*payment.Membership
	// Account and Role are the session's current account and the user's
	// role in it.
	Account *payment.Account
	Role    payment.Role
}

// Principal is who acts when the session's user does something: the
// current account, through the user (no API key).
func (v *DashboardView) Principal() *payment.Principal {
	return &payment.Principal{Account: v.Account, User: v.User}
}

// TokenHash is the SHA-256 of a session token, the only form of it the
// store keeps.
func TokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// errNoSession is any session that is missing, expired or idle.
var errNoSession = &payment.Error{Kind: payment.KindUnauthenticated, Code: "session_expired",
	Message: "Sign in to continue."}

// StartDashboardSession opens a session for user u, looking at the first
// account it is a member of, and returns the session's token (for the
// cookie; shown nowhere else and stored only hashed).
func (e *Engine) StartDashboardSession(ctx context.Context, u *payment.User) (string, *payment.DashboardSession, error) {
	ms, err := e.store.Memberships(ctx, u.ID)
	if err != nil {
		return "", nil, err
	}
	if len(ms) == 0 {
		return "", nil, errInvalidLogin
	}
	var tok [32]byte
	rand.Read(tok[:])
	token := fmt.Sprintf("%x", tok)
	csrf := make([]byte, 32)
	rand.Read(csrf)
	now := e.clock()
	ds := &payment.DashboardSession{TokenHash: TokenHash(token), UserID: u.ID, AccountID: ms[0].AccountID, CSRFSecret: csrf,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(e.cfg.DashboardSessionTTL)}
	if err := e.store.CreateDashboardSession(ctx, ds); err != nil {
		return "", nil, err
	}
	return token, ds, nil
}

// touchEvery is how stale a session's LastSeenAt may get before a request
// writes it: one write a minute per active session, not one per request.
const touchEvery = 60

// DashboardSession returns the session of token with its user, the
// user's memberships and the current account. An unknown, expired or idle
// session is an unauthenticated error (and an idle or expired one is
// removed).
func (e *Engine) DashboardSession(ctx context.Context, token string) (*DashboardView, error) {
	if token == "" || len(token) > 128 {
		return nil, errNoSession
	}
	ds, err := e.store.DashboardSession(ctx, TokenHash(token))
	if errors.Is(err, payment.ErrNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	now := e.clock()
	if !now.Before(ds.ExpiresAt) || now.Sub(ds.LastSeenAt) >= e.cfg.DashboardIdleTimeout {
		if err := e.store.DeleteDashboardSession(ctx, ds.TokenHash); err != nil {
			return nil, err
		}
		return nil, errNoSession
	}
	v, err := e.dashboardView(ctx, ds)
	if err != nil {
		return nil, err
	}
	if now.Sub(ds.LastSeenAt).Seconds() >= touchEvery || v.Session.AccountID != ds.AccountID {
		if err := e.store.TouchDashboardSession(ctx, ds.TokenHash, v.Session.AccountID, now); err != nil {
			return nil, err
		}
		ds.LastSeenAt = now
	}
	return v, nil
}

// dashboardView loads what a session shows. A current account the user is
// no longer a member of falls back to its first membership; a user of no
// account has no session.
func (e *Engine) dashboardView(ctx context.Context, ds *payment.DashboardSession) (*DashboardView, error) {
	u, err := e.store.User(ctx, ds.UserID)
	if errors.Is(err, payment.ErrNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	ms, err := e.store.Memberships(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, errNoSession
	}
	cur := ms[0]
	for _, m := range ms {
		if m.AccountID == ds.AccountID {
			cur = m
		}
	}
	a, err := e.store.Account(ctx, cur.AccountID)
	if err != nil {
		return nil, err
	}
	s := *ds
	s.AccountID = cur.AccountID
	return &DashboardView{Session: &s, User: u, Memberships: ms, Account: a, Role: cur.Role}, nil
}

// SwitchDashboardAccount makes accountID the session's current account.
// An account the user is not a member of is not found.
func (e *Engine) SwitchDashboardAccount(ctx context.Context, v *DashboardView, accountID string) (*DashboardView, error) {
	for _, m := range v.Memberships {
		if m.AccountID == accountID {
			if err := e.store.TouchDashboardSession(ctx, v.Session.TokenHash, accountID, e.clock()); err != nil {
				return nil, err
			}
			s := *v.Session
			s.AccountID = accountID
			return e.dashboardView(ctx, &s)
		}
	}
	return nil, payment.NotFound("account", accountID)
}

// EndDashboardSession signs the session of token out.
func (e *Engine) EndDashboardSession(ctx context.Context, token string) error {
	return e.store.DeleteDashboardSession(ctx, TokenHash(token))
}
