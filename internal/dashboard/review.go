package dashboard

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/kassapay/kassa/internal/payment"
)

// reviewPageSize is how many payments a review queue page shows.
const reviewPageSize = 25

// resolveOutcomes are what a person may find at the provider.
var resolveOutcomes = []payment.Outcome{payment.OutcomeSucceeded, payment.OutcomeDeclined, payment.OutcomeFailed, payment.OutcomeNotSent}

// reviewPage is the review queue's data.
type reviewPage struct {
	Payments []*payment.Payment
	Outcomes []payment.Outcome
	Next     string
	Paged    bool
}

// review lists the account's payments the reconciler gave up on, newest
// first, each with its unsettled operations (what the reconciler tried)
// and, for admins, the form to resolve them.
func (s *Server) review(w http.ResponseWriter, r *http.Request, q *request) error {
	after := r.URL.Query().Get("starting_after")
	list, more, err := s.eng.ReviewQueue(r.Context(), q.AccountID(), payment.ListParams{Limit: reviewPageSize, StartingAfter: after})
	if err != nil {
		return err
	}
	rp := &reviewPage{Payments: list, Outcomes: resolveOutcomes, Paged: after != ""}
	if more && len(list) > 0 {
		rp.Next = Base + "/review?" + url.Values{"starting_after": {list[len(list)-1].ID}}.Encode()
	}
	return s.render(w, r, q, http.StatusOK, "review", "review", rp)
}

// resolve is the POST of the resolve form: without confirm=yes it shows
// what will be recorded; with it, the engine settles the operation by hand
// as the session's user and the payment leaves the queue. The operation
// must be the account's (another's is not found) and still unsettled.
func (s *Server) resolve(w http.ResponseWriter, r *http.Request, q *request) error {
	ctx := r.Context()
	op, err := s.eng.Operation(ctx, q.AccountID(), r.PathValue("id"))
	if err != nil {
		return err
	}
	ap := &actionPage{Action: "resolve", Operation: op, Outcomes: resolveOutcomes,
		Outcome: r.PostFormValue("outcome"), Reference: strings.TrimSpace(r.PostFormValue("gateway_reference")),
		Note: strings.TrimSpace(r.PostFormValue("note"))}
	if op.PaymentID != "" {
		if ap.Payment, err = s.eng.Payment(ctx, q.AccountID(), op.PaymentID); err != nil {
			return err
		}
	}
	if err := checkResolve(op, ap); err != nil {
		return s.refuse(w, r, q, ap, err)
	}
	if r.PostFormValue("confirm") != "yes" {
		return s.render(w, r, q, http.StatusOK, "action", "review", ap)
	}
	if _, err := s.eng.ResolveOperation(ctx, q.Principal(), op.ID, payment.Outcome(ap.Outcome), ap.Reference, ap.Note); err != nil {
		return s.refuse(w, r, q, ap, err)
	}
	http.Redirect(w, r, Base+"/review", http.StatusSeeOther)
	return nil
}

// checkResolve refuses before the confirmation step what the engine would
// refuse after it: a settled operation, an outcome not offered, no note.
func checkResolve(op *payment.Operation, ap *actionPage) error {
	if op.Outcome.Settled() {
		return payment.Conflict(payment.CodeInvalidState, "Operation %s is already settled (%s).", op.ID, op.Outcome)
	}
	known := false
	for _, o := range resolveOutcomes {
		known = known || string(o) == ap.Outcome
	}
	if !known {
		return payment.Invalid(payment.CodeParameterInvalid, "outcome", "outcome must be one of succeeded, declined, failed, not_sent.")
	}
	if ap.Note == "" {
		return payment.Invalid(payment.CodeParameterMissing, "note", "note is required: say what you found at the provider.")
	}
	return nil
}
