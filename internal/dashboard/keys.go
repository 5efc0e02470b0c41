package dashboard

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// The API keys and users page (admins only, every route of it): the
// account's keys by prefix, never a secret except on the one answer page
// of a create or a roll; the account's members with their roles. Each
// action writes its event through the engine with the signed-in user as
// the actor, and each object's page shows its events.

// keysPage is the keys and users list.
type keysPage struct {
	Keys    []*keyRow
	Members []*payment.Member
	// Me is the signed-in user's id, marked in the list.
	Me string
	// Roles are what the add form offers.
	Roles []payment.Role
}

// keyRow is a key as listed: its state at the time of the request.
type keyRow struct {
	*payment.APIKey
	State string // "active", "expiring" (rolled, in its grace period), "revoked", "expired"
}

func keyRowOf(k *payment.APIKey, now time.Time) *keyRow {
	row := &keyRow{APIKey: k, State: "active"}
	switch {
	case k.RevokedAt != nil:
		row.State = "revoked"
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		row.State = "expired"
	case k.ExpiresAt != nil:
		row.State = "expiring"
	}
	return row
}

// keyGraces are the grace periods a roll offers: how long the old key
// keeps working.
var keyGraces = []keyGrace{{0, "none: revoke it at once"}, {time.Hour, "1 hour"}, {24 * time.Hour, "24 hours"},
	{7 * 24 * time.Hour, "7 days"}}

type keyGrace struct {
	D     time.Duration
	Label string
}

// Seconds is the form value of the grace period.
func (g keyGrace) Seconds() int64 { return int64(g.D / time.Second) }

func (s *Server) keys(w http.ResponseWriter, r *http.Request, q *request) error {
	ctx := r.Context()
	keys, err := s.eng.APIKeys(ctx, q.AccountID())
	if err != nil {
		return err
	}
	members, err := s.eng.Members(ctx, q.AccountID())
	if err != nil {
		return err
	}
	kp := &keysPage{Members: members, Me: q.View.User.ID, Roles: []payment.Role{payment.RoleViewer, payment.RoleAdmin}}
	now := s.eng.Now()
	for _, k := range keys {
		kp.Keys = append(kp.Keys, keyRowOf(k, now))
	}
	return s.render(w, r, q, http.StatusOK, "keys", "keys", kp)
}

// keyPage is one key with its audit trail; Confirm ("roll", "revoke")
// makes it the confirmation step of that action.
type keyPage struct {
	Key     *keyRow
	Audit   auditTrail
	Confirm string
	Graces  []keyGrace
}

// accountKey returns the account's key id, or not found.
func (s *Server) accountKey(r *http.Request, q *request, id string) (*payment.APIKey, error) {
	keys, err := s.eng.APIKeys(r.Context(), q.AccountID())
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if k.ID == id {
			return k, nil
		}
	}
	return nil, payment.NotFound("api_key", id)
}

// keyView renders the key page, or the confirmation step of action.
func (s *Server) keyView(action string) handler {
	return func(w http.ResponseWriter, r *http.Request, q *request) error {
		k, err := s.accountKey(r, q, r.PathValue("id"))
		if err != nil {
			return err
		}
		kp := &keyPage{Key: keyRowOf(k, s.eng.Now()), Confirm: action, Graces: keyGraces}
		if action != "" && kp.Key.State != "active" && kp.Key.State != "expiring" {
			// Nothing to roll or revoke: the key page says why.
			kp.Confirm = ""
		}
		if kp.Audit, err = s.audit(r, q, k.ID); err != nil {
			return err
		}
		return s.render(w, r, q, http.StatusOK, "key", "keys", kp)
	}
}

// keySecretPage is the answer of a create or a roll: the only page that
// ever shows the key's secret.
type keySecretPage struct {
	Key    *payment.APIKey
	Secret string
	// Rolled is the key the new one replaced, on a roll.
	Rolled string
}

// createKey makes a key of the posted type ("secret" or "publishable").
func (s *Server) createKey(w http.ResponseWriter, r *http.Request, q *request) error {
	kind := r.PostFormValue("type")
	if kind == "" {
		return payment.Missing("type")
	}
	k, secret, err := s.eng.CreateAPIKey(r.Context(), q.Principal(), payment.KeyKind(kind))
	if err != nil {
		return err
	}
	return s.render(w, r, q, http.StatusCreated, "key_secret", "keys", &keySecretPage{Key: k, Secret: secret})
}

// rollKey replaces the key by a new one; the old one keeps working for
// the posted grace period (expires_in, seconds: one of keyGraces).
func (s *Server) rollKey(w http.ResponseWriter, r *http.Request, q *request) error {
	grace, err := parseGrace(r.PostFormValue("expires_in"))
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	k, secret, err := s.eng.RollAPIKey(r.Context(), q.Principal(), id, grace)
	if err != nil {
		return err
	}
	return s.render(w, r, q, http.StatusOK, "key_secret", "keys", &keySecretPage{Key: k, Secret: secret, Rolled: id})
}

// parseGrace reads a roll's expires_in: seconds, one of the offered
// grace periods.
func parseGrace(v string) (time.Duration, error) {
	if v == "" {
		return 0, payment.Missing("expires_in")
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err == nil {
		for _, g := range keyGraces {
			if g.Seconds() == n {
				return g.D, nil
			}
		}
	}
	return 0, payment.Invalid(payment.CodeParameterInvalid, "expires_in", "expires_in must be one of the grace periods offered.")
}

// revokeKey revokes the key at once.
func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request, q *request) error {
	k, err := s.eng.RevokeAPIKey(r.Context(), q.Principal(), r.PathValue("id"))
	if err != nil {
		return err
	}
	http.Redirect(w, r, Base+"/keys/"+k.ID, http.StatusSeeOther)
	return nil
}

// memberPage is one member with the events of its membership; Confirm
// makes it the confirmation step of removing it.
type memberPage struct {
	Member  *payment.Member
	Me      bool
	Audit   auditTrail
	Confirm bool
}

// accountMember returns the account's member userID, or not found.
func (s *Server) accountMember(r *http.Request, q *request, userID string) (*payment.Member, error) {
	ms, err := s.eng.Members(r.Context(), q.AccountID())
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m.UserID == userID {
			return m, nil
		}
	}
	return nil, payment.NotFound("user", userID)
}

func (s *Server) memberView(confirm bool) handler {
	return func(w http.ResponseWriter, r *http.Request, q *request) error {
		m, err := s.accountMember(r, q, r.PathValue("id"))
		if err != nil {
			return err
		}
		mp := &memberPage{Member: m, Me: m.UserID == q.View.User.ID, Confirm: confirm}
		if mp.Audit, err = s.audit(r, q, m.UserID); err != nil {
			return err
		}
		return s.render(w, r, q, http.StatusOK, "member", "keys", mp)
	}
}

// addMember makes the posted email a member of the account with the
// posted role: an existing user keeps its password; a new one gets the
// posted password.
func (s *Server) addMember(w http.ResponseWriter, r *http.Request, q *request) error {
	role := r.PostFormValue("role")
	if role == "" {
		return payment.Missing("role")
	}
	nu, err := s.eng.AddMember(r.Context(), q.Principal(), r.PostFormValue("email"), r.PostFormValue("password"), payment.Role(role))
	if errors.Is(err, payment.ErrConflict) {
		return payment.Conflict("already_member", "That user is a member of this account already.")
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, Base+"/users/"+nu.User.ID, http.StatusSeeOther)
	return nil
}

// removeMember ends a membership of the account, never its last admin's.
func (s *Server) removeMember(w http.ResponseWriter, r *http.Request, q *request) error {
	m, err := s.eng.RemoveMember(r.Context(), q.Principal(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if m.UserID == q.View.User.ID {
		// Out of this account: the session falls back to another
		// membership, or signs in again.
		http.Redirect(w, r, Base+"/", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, Base+"/keys#users", http.StatusSeeOther)
	return nil
}
