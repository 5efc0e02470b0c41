package native

import (
	"net/http"
	"time"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// webhookEndpointRequest is the body of POST /v1/webhook_endpoints and of
// its update. A field left out (or null) is left as it is.
type webhookEndpointRequest struct {
	URL           *string           `json:"url"`
	EnabledEvents []string          `json:"enabled_events"`
	Description   *string           `json:"description"`
	Metadata      map[string]string `json:"metadata"`
	Disabled      *bool             `json:"disabled"`
}

func (req *webhookEndpointRequest) input() engine.WebhookEndpointInput {
	return engine.WebhookEndpointInput{URL: req.URL, EnabledEvents: req.EnabledEvents, Description: req.Description,
		Metadata: req.Metadata, Disabled: req.Disabled}
}

func (s *server) createWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	var req webhookEndpointRequest
	if err := api.DecodeJSON(r, &req); err != nil {
		return err
	}
	o, err := s.eng.CreateWebhookEndpoint(r.Context(), p, req.input())
	if err != nil {
		return err
	}
	return api.JSON(w, http.StatusCreated, o)
}

func (s *server) listWebhookEndpoints(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	return listPage(w, r, func(lp payment.ListParams) ([]*payment.WebhookEndpoint, bool, error) {
		return s.eng.WebhookEndpoints(r.Context(), p, lp)
	}, engine.WebhookEndpointObjectOf, "/v1/webhook_endpoints")
}

func (s *server) getWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	we, err := s.eng.WebhookEndpoint(r.Context(), p, id)
	if err != nil {
		return notFoundAs(err, "webhook_endpoint", id)
	}
	return api.JSON(w, http.StatusOK, engine.WebhookEndpointObjectOf(we))
}

func (s *server) updateWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	var req webhookEndpointRequest
	if err := api.DecodeJSON(r, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	we, err := s.eng.UpdateWebhookEndpoint(r.Context(), p, id, req.input())
	if err != nil {
		return notFoundAs(err, "webhook_endpoint", id)
	}
	return api.JSON(w, http.StatusOK, engine.WebhookEndpointObjectOf(we))
}

func (s *server) deleteWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := s.eng.DeleteWebhookEndpoint(r.Context(), p, id); err != nil {
		return notFoundAs(err, "webhook_endpoint", id)
	}
	return api.JSON(w, http.StatusOK, deletedObject{ID: id, Object: "webhook_endpoint", Deleted: true})
}

// deletedObject answers a DELETE.
type deletedObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}

// rotateSecretRequest is the optional body of
// POST /v1/webhook_endpoints/{id}/rotate_secret.
type rotateSecretRequest struct {
	ExpireOldNow bool `json:"expire_old_now"`
}

func (s *server) rotateWebhookSecret(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	var req rotateSecretRequest
	if err := api.DecodeOptionalJSON(r, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	o, err := s.eng.RotateWebhookSecret(r.Context(), p, id, req.ExpireOldNow)
	if err != nil {
		return notFoundAs(err, "webhook_endpoint", id)
	}
	return api.JSON(w, http.StatusOK, o)
}

// webhookDeliveryObject is a queued delivery, as a ping answers it.
type webhookDeliveryObject struct {
	ID        string    `json:"id"`
	Object    string    `json:"object"`
	Endpoint  string    `json:"webhook_endpoint"`
	MessageID string    `json:"message_id"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
}

func (s *server) pingWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	if err := api.DecodeOptionalJSON(r, &struct{}{}); err != nil {
		return err
	}
	id := r.PathValue("id")
	d, err := s.eng.PingWebhookEndpoint(r.Context(), p, id)
	if err != nil {
		return notFoundAs(err, "webhook_endpoint", id)
	}
	return api.JSON(w, http.StatusAccepted, webhookDeliveryObject{ID: d.ID, Object: "webhook_delivery", Endpoint: d.EndpointID,
		MessageID: d.MessageID, Status: string(d.State), CreatedAt: d.CreatedAt})
}

func (s *server) listWebhookAttempts(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if !idShaped(id) {
		return notFoundAs(payment.ErrNotFound, "webhook_endpoint", id)
	}
	return listPage(w, r, func(lp payment.ListParams) ([]*payment.WebhookAttempt, bool, error) {
		as, more, err := s.eng.WebhookAttempts(r.Context(), p, id, lp)
		if pe, ok := payment.AsError(err); ok && pe.Kind == payment.KindNotFound && pe.Param == "" {
			return nil, false, notFoundAs(err, "webhook_endpoint", id)
		}
		return as, more, err
	}, engine.WebhookAttemptObjectOf, "/v1/webhook_endpoints/"+id+"/deliveries")
}

// redeliverRequest is the optional body of POST /v1/events/{id}/redeliver.
type redeliverRequest struct {
	// WebhookEndpoint limits the redelivery to one endpoint; without it
	// every endpoint that had the event gets it again.
	WebhookEndpoint string `json:"webhook_endpoint"`
}

// queuedObject says how many deliveries a redelivery queued.
type queuedObject struct {
	Object string `json:"object"`
	Queued int    `json:"queued"`
}

func (s *server) redeliverEvent(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	var req redeliverRequest
	if err := api.DecodeOptionalJSON(r, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	n, err := s.eng.RedeliverEvent(r.Context(), p, id, req.WebhookEndpoint)
	if err != nil {
		if pe, ok := payment.AsError(err); ok && pe.Kind == payment.KindNotFound && pe.Param == "webhook_endpoint" {
			return err
		}
		return notFoundAs(err, "event", id)
	}
	return api.JSON(w, http.StatusAccepted, queuedObject{Object: "webhook_redelivery", Queued: n})
}

// recoverRequest is the optional body of
// POST /v1/webhook_endpoints/{id}/recover: a window of the deliveries'
// creation times, in RFC 3339.
type recoverRequest struct {
	Since *time.Time `json:"since"`
	Until *time.Time `json:"until"`
}

func (s *server) recoverWebhooks(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	var req recoverRequest
	if err := api.DecodeOptionalJSON(r, &req); err != nil {
		return err
	}
	var since, until time.Time
	if req.Since != nil {
		since = *req.Since
	}
	if req.Until != nil {
		until = *req.Until
	}
	id := r.PathValue("id")
	n, err := s.eng.RecoverWebhooks(r.Context(), p, id, since, until)
	if err != nil {
		return notFoundAs(err, "webhook_endpoint", id)
	}
	return api.JSON(w, http.StatusAccepted, queuedObject{Object: "webhook_recovery", Queued: n})
}

func (s *server) getEvent(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	ev, err := s.eng.Event(r.Context(), p, id)
	if err != nil {
		return notFoundAs(err, "event", id)
	}
	return api.JSON(w, http.StatusOK, engine.EventObjectOf(ev))
}

func (s *server) listEventTypes(w http.ResponseWriter, r *http.Request) error {
	if _, err := principal(r); err != nil {
		return err
	}
	return listResponse(w, engine.EventTypes(), false, func(t engine.EventType) engine.EventType { return t }, "/v1/event_types")
}
