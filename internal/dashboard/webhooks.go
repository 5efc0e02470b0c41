package dashboard

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// attemptsPageSize is how many attempts a delivery log page shows.
const attemptsPageSize = 50

// webhooksPage is the endpoints list's data.
type webhooksPage struct {
	Endpoints []*payment.WebhookEndpoint
	Next      string
	Paged     bool
}

// webhooks lists the account's webhook endpoints, newest first.
func (s *Server) webhooks(w http.ResponseWriter, r *http.Request, q *request) error {
	after := r.URL.Query().Get("starting_after")
	list, more, err := s.eng.WebhookEndpoints(r.Context(), q.Principal(), payment.ListParams{Limit: 50, StartingAfter: after})
	if err != nil {
		return err
	}
	wp := &webhooksPage{Endpoints: list, Paged: after != ""}
	if more && len(list) > 0 {
		wp.Next = Base + "/webhooks?" + url.Values{"starting_after": {list[len(list)-1].ID}}.Encode()
	}
	return s.render(w, r, q, http.StatusOK, "webhooks", "webhooks", wp)
}

// webhookPage is an endpoint page's data.
type webhookPage struct {
	Endpoint *payment.WebhookEndpoint
	Attempts []*payment.WebhookAttempt
	Next     string
	Paged    bool
	Audit    auditTrail
	// Queued is how many deliveries an action just queued (from the
	// redirect), -1 without one.
	Queued int
	// Since and Until fill the recover form: the last 24 hours.
	Since, Until string
}

// windowLayout is the recover form's time format (datetime-local, UTC).
const windowLayout = "2006-01-02T15:04"

// webhook shows one endpoint of the account: its delivery log (status
// codes, latency, errors), its audit trail and, to admins, redeliver and
// recover.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request, q *request) error {
	ctx := r.Context()
	id := r.PathValue("id")
	we, err := s.eng.WebhookEndpoint(ctx, q.Principal(), id)
	if err != nil {
		return err
	}
	in := r.URL.Query()
	after := in.Get("starting_after")
	as, more, err := s.eng.WebhookAttempts(ctx, q.Principal(), id, payment.ListParams{Limit: attemptsPageSize, StartingAfter: after})
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	wp := &webhookPage{Endpoint: we, Attempts: as, Paged: after != "", Queued: -1,
		Since: now.Add(-24 * time.Hour).Format(windowLayout), Until: now.Add(time.Minute).Format(windowLayout)}
	if more && len(as) > 0 {
		wp.Next = Base + "/webhooks/" + url.PathEscape(id) + "?" + url.Values{"starting_after": {as[len(as)-1].ID}}.Encode()
	}
	if n, err := strconv.Atoi(in.Get("queued")); err == nil && n >= 0 {
		wp.Queued = n
	}
	if wp.Audit, err = s.audit(r, q, id); err != nil {
		return err
	}
	return s.render(w, r, q, http.StatusOK, "webhook", "webhooks", wp)
}

// webhookConfirm is the confirm step of a redelivery or a recovery.
type webhookConfirm struct {
	Endpoint *payment.WebhookEndpoint
	// Event is the event to send again (redeliver); nil for a recovery.
	Event *payment.Event
	// Since and Until bound a recovery, as the form gave them.
	Since, Until string
}

// maxEventID bounds an event id in a form.
const maxEventID = 100

// parseEventID reads a redelivery's event id.
func parseEventID(form url.Values) (string, error) {
	id := form.Get("event")
	if id == "" {
		return "", payment.Missing("event")
	}
	if len(id) > maxEventID || !strings.HasPrefix(id, payment.PrefixEvent+"_") {
		return "", payment.Invalid(payment.CodeParameterInvalid, "event", "event must be an event id (evt_…).")
	}
	return id, nil
}

// parseWindow reads a recovery's window: since and until as
// datetime-local (UTC) or RFC 3339, each optional; until after since.
func parseWindow(form url.Values) (since, until time.Time, err error) {
	parse := func(name string) (time.Time, error) {
		v := strings.TrimSpace(form.Get(name))
		if v == "" {
			return time.Time{}, nil
		}
		if len(v) <= 40 {
			for _, layout := range []string{windowLayout, windowLayout + ":05", time.RFC3339} {
				if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil && t.Year() >= 2000 && t.Year() < 10000 {
					return t.UTC(), nil
				}
			}
		}
		return time.Time{}, payment.Invalid(payment.CodeParameterInvalid, name, "%s must be a time such as 2026-01-31T14:00 (UTC).", name)
	}
	if since, err = parse("since"); err != nil {
		return
	}
	if until, err = parse("until"); err != nil {
		return
	}
	if !since.IsZero() && !until.IsZero() && !since.Before(until) {
		return time.Time{}, time.Time{}, payment.Invalid(payment.CodeParameterInvalid, "until", "until must be after since.")
	}
	return since, until, nil
}

// redeliverConfirm asks whether to send an event to the endpoint again.
func (s *Server) redeliverConfirm(w http.ResponseWriter, r *http.Request, q *request) error {
	ctx := r.Context()
	we, err := s.eng.WebhookEndpoint(ctx, q.Principal(), r.PathValue("id"))
	if err != nil {
		return err
	}
	id, err := parseEventID(r.URL.Query())
	if err != nil {
		return err
	}
	ev, err := s.eng.Event(ctx, q.Principal(), id)
	if err != nil {
		return err
	}
	return s.render(w, r, q, http.StatusOK, "webhook_confirm", "webhooks", &webhookConfirm{Endpoint: we, Event: ev})
}

// redeliver sends an event to the endpoint again, as the signed-in user.
func (s *Server) redeliver(w http.ResponseWriter, r *http.Request, q *request) error {
	id := r.PathValue("id")
	if err := confirmed(r); err != nil {
		return err
	}
	evID, err := parseEventID(r.PostForm)
	if err != nil {
		return err
	}
	n, err := s.eng.RedeliverToEndpointAs(r.Context(), q.Principal(), evID, id)
	if err != nil {
		return err
	}
	http.Redirect(w, r, Base+"/webhooks/"+url.PathEscape(id)+"?queued="+strconv.Itoa(n), http.StatusSeeOther)
	return nil
}

// recoverConfirm asks whether to send the endpoint's failed deliveries of
// a window again.
func (s *Server) recoverConfirm(w http.ResponseWriter, r *http.Request, q *request) error {
	we, err := s.eng.WebhookEndpoint(r.Context(), q.Principal(), r.PathValue("id"))
	if err != nil {
		return err
	}
	since, until, err := parseWindow(r.URL.Query())
	if err != nil {
		return err
	}
	c := &webhookConfirm{Endpoint: we}
	if !since.IsZero() {
		c.Since = since.Format(windowLayout)
	}
	if !until.IsZero() {
		c.Until = until.Format(windowLayout)
	}
	return s.render(w, r, q, http.StatusOK, "webhook_confirm", "webhooks", c)
}

// recoverDeliveries sends the endpoint's failed deliveries of the window
// again, as the signed-in user.
func (s *Server) recoverDeliveries(w http.ResponseWriter, r *http.Request, q *request) error {
	id := r.PathValue("id")
	if err := confirmed(r); err != nil {
		return err
	}
	since, until, err := parseWindow(r.PostForm)
	if err != nil {
		return err
	}
	n, err := s.eng.RecoverWebhooksAs(r.Context(), q.Principal(), id, since, until)
	if err != nil {
		return err
	}
	http.Redirect(w, r, Base+"/webhooks/"+url.PathEscape(id)+"?queued="+strconv.Itoa(n), http.StatusSeeOther)
	return nil
}
