package dashboard

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/kassapay/kassa/internal/payment"
)

// The audit trail every object page shows (key, user, gateway, webhook
// endpoint, payment): the object's events, newest first, each with who
// caused it named for a person. One function names the actors and one
// template ("audit-trail", templates/audit.html) draws the table, so the
// five pages name the same actor the same way.

// auditPageSize is how many events an object's audit trail shows.
const auditPageSize = 50

// auditTrail is the data of the "audit-trail" template.
type auditTrail struct {
	Entries []auditEntry
	// More is set when the object has older events than the trail shows.
	More bool
}

// auditEntry is one event of an object's audit trail.
type auditEntry struct {
	Event *payment.Event
	// Actor is who caused it, readably (actorNames.name).
	Actor string
}

// audit reads the audit trail of the account's objectID.
func (s *Server) audit(r *http.Request, q *request, objectID string) (auditTrail, error) {
	evs, more, err := s.eng.ObjectEvents(r.Context(), q.AccountID(), objectID, payment.ListParams{Limit: auditPageSize})
	if err != nil {
		return auditTrail{}, err
	}
	return s.trail(r.Context(), q, evs, more)
}

// trail turns an object's events into its audit trail, naming each actor.
func (s *Server) trail(ctx context.Context, q *request, evs []*payment.Event, more bool) (auditTrail, error) {
	actors := make([]string, len(evs))
	for i, ev := range evs {
		actors[i] = ev.Actor
	}
	names, err := s.namesFor(ctx, q, actors)
	if err != nil {
		return auditTrail{}, err
	}
	t := auditTrail{Entries: make([]auditEntry, len(evs)), More: more}
	for i, ev := range evs {
		t.Entries[i] = auditEntry{Event: ev, Actor: names.name(ev.Actor)}
	}
	return t, nil
}

// actorNames names the actors of events (payment.Event.Actor) for the
// signed-in user of a page.
type actorNames struct {
	// me is the signed-in user's actor ("user:<id>") and myEmail their
	// email: they read themselves as "<email> (you)".
	me, myEmail string
	// members maps the actor of each member of the account to its
	// email; nil when no event needs it.
	members map[string]string
}

// namesFor reads what naming actors takes. The account's
// members are read only when an event was caused by a user other than
// the signed-in one: most trails are the signed-in user's, API keys' and
// kassa's, and a page need not pay for a lookup it does not use.
func (s *Server) namesFor(ctx context.Context, q *request, actors []string) (*actorNames, error) {
	n := &actorNames{}
	if q.View != nil {
		n.me, n.myEmail = "user:"+q.View.User.ID, q.View.User.Email
	}
	another := func(a string) bool { return a != n.me && strings.HasPrefix(a, "user:") }
	if !slices.ContainsFunc(actors, another) {
		return n, nil
	}
	ms, err := s.eng.Members(ctx, q.AccountID())
	if err != nil {
		return nil, err
	}
	n.members = make(map[string]string, len(ms))
	for _, m := range ms {
		n.members["user:"+m.UserID] = m.Email
	}
	return n, nil
}

// name says who an actor is: the signed-in user as "<email> (you)", a
// member of the account by email, a user no longer a member (whose email
// the account's members no longer give) as "former member <id>", an API
// key as "API key <id>", kassa itself as "kassa", and an administrator at
// kassa's command line (a credential version's author, see
// engine.principalName) as "command line".
func (n *actorNames) name(actor string) string {
	switch {
	case actor == "":
		return "kassa"
	case actor == "cli":
		return "command line"
	case actor == n.me:
		return n.myEmail + " (you)"
	case n.members[actor] != "":
		return n.members[actor]
	case strings.HasPrefix(actor, "user:"):
		return "former member " + strings.TrimPrefix(actor, "user:")
	}
	return "API key " + actor
}
