package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/kassapay/kassa/internal/card"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/webhook"
)

// CallbackSigner finds the signer of a dialect's callback delivery (one
// whose Signer names the dialect). It looks up the key d.SignerKey names.
// A delivery written without a body (a callback promised when its
// operation was reserved, or by a payment.TransactionNotice of a later
// change) gets its body from the signer, which sets d.Body, or
// ErrCallbackNotReady while there is nothing final to say: the delivery
// is then put back, unattempted, and asked again later.
type CallbackSigner func(ctx context.Context, d *payment.WebhookDelivery) (webhook.Signer, error)

// ErrCallbackNotReady: a callback's transaction has no final outcome yet.
var ErrCallbackNotReady = errors.New("engine: callback not ready")

// notReadyWait is how long a callback that is not ready waits before it is
// asked again: briefly while its call may still be in flight, then at
// the pace of the reconciler's later queries.
func notReadyWait(age time.Duration) time.Duration {
	if age < time.Minute {
		return time.Second
	}
	return 30 * time.Second
}

// WebhookOptions configures RunWebhooks.
type WebhookOptions struct {
	// Client makes the attempts; webhook.NewClient(false) when nil.
	Client *webhook.Client
	// Schedule is the wait before each attempt; webhook.DefaultSchedule
	// when nil. Tests compress it.
	Schedule webhook.Schedule
	// Concurrency bounds the attempts in flight in this process (default
	// 64), PerEndpoint those of one endpoint or callback host (default 8),
	// so that a slow receiver never holds up another's deliveries.
	Concurrency, PerEndpoint int
	// Poll is how often due deliveries are looked for (default 50 ms).
	Poll time.Duration
	// DisableAfter disables an endpoint that has failed continuously for
	// this long (default 5 days).
	DisableAfter time.Duration
	// Lease is how long a claimed delivery is held before another process
	// may take it (default 1 min; it must exceed webhook.Timeout).
	Lease time.Duration
	// Signers are the dialects' callback signers by Signer name.
	Signers map[string]CallbackSigner
	// Observer, when set, is told of every attempt.
	Observer WebhookObserver
}

// WebhookObserver watches deliveries. Its methods must be quick and safe
// for concurrent use.
type WebhookObserver interface {
	// WebhookAttempt reports an attempt: its outcome ("delivered",
	// "retry", "refused", "gone" or "failed") and how long it took;
	// firstAttemptDelay, on a first attempt of an event's delivery, is
	// the time from the event to the attempt.
	WebhookAttempt(outcome string, took time.Duration, firstAttemptDelay time.Duration)
}

func (o *WebhookOptions) defaults() {
	if o.Client == nil {
		o.Client = webhook.NewClient(false)
	}
	if o.Schedule == nil {
		o.Schedule = webhook.DefaultSchedule
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 64
	}
	if o.PerEndpoint <= 0 {
		o.PerEndpoint = 8
	}
	if o.Poll <= 0 {
		o.Poll = 50 * time.Millisecond
	}
	if o.DisableAfter <= 0 {
		o.DisableAfter = defaultDisableWait
	}
	if o.Lease <= webhook.Timeout {
		o.Lease = time.Minute
	}
}

// RunWebhooks delivers due webhook deliveries until ctx ends, then waits
// for the attempts in flight. Processes sharing a database each run it:
// every attempt is leased to one of them.
func (e *Engine) RunWebhooks(ctx context.Context, opts WebhookOptions) {
	opts.defaults()
	d := &deliverer{e: e, opts: opts, inflight: map[string]int{}, done: make(chan struct{}, 1)}
	d.run(ctx)
}

type deliverer struct {
	e    *Engine
	opts WebhookOptions

	mu       sync.Mutex
	inflight map[string]int // by queue
	total    int
	wg       sync.WaitGroup
	done     chan struct{} // an attempt ended: there may be room
}

func (d *deliverer) run(ctx context.Context) {
	defer d.wg.Wait()
	t := time.NewTicker(d.opts.Poll)
	defer t.Stop()
	for {
		full := d.dispatch(ctx)
		if full {
			// As many as were asked for came back: more may be due.
			if ctx.Err() != nil {
				return
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.done:
		}
	}
}

// dispatch claims what it has room for and starts the attempts; it
// reports whether the claim was full (more may be due at once).
func (d *deliverer) dispatch(ctx context.Context) bool {
	d.mu.Lock()
	room := d.opts.Concurrency - d.total
	var busy []string
	for q, n := range d.inflight {
		if n >= d.opts.PerEndpoint {
			busy = append(busy, q)
		}
	}
	d.mu.Unlock()
	if room <= 0 || ctx.Err() != nil {
		return false
	}
	now := d.e.clock()
	ds, err := d.e.store.ClaimWebhookDeliveries(ctx, now, now.Add(d.opts.Lease), busy, d.opts.PerEndpoint, room)
	if err != nil {
		if ctx.Err() == nil {
			d.e.log.LogAttrs(ctx, slog.LevelError, "claim webhook deliveries", slog.Any("error", err))
		}
		return false
	}
	started := 0
	for _, dl := range ds {
		d.mu.Lock()
		ok := d.inflight[dl.Queue] < d.opts.PerEndpoint
		if ok {
			d.inflight[dl.Queue]++
			d.total++
		}
		d.mu.Unlock()
		if !ok {
			// Its queue filled up since the claim chose: give it back.
			if err := d.e.store.ReleaseWebhookDelivery(context.WithoutCancel(ctx), dl, now); err != nil {
				d.e.log.LogAttrs(ctx, slog.LevelError, "release webhook delivery", slog.String("delivery", dl.ID), slog.Any("error", err))
			}
			continue
		}
		started++
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			defer func() {
				d.mu.Lock()
				if d.inflight[dl.Queue]--; d.inflight[dl.Queue] <= 0 {
					delete(d.inflight, dl.Queue)
				}
				d.total--
				d.mu.Unlock()
				select {
				case d.done <- struct{}{}:
				default:
				}
			}()
			d.attempt(ctx, dl)
		}()
	}
	return len(ds) == room && started > 0
}

// attempt makes one attempt of a claimed delivery and records it. An
// attempt cut short by shutdown is not recorded: its lease runs out and
// it is made again (at least once, never lost).
func (d *deliverer) attempt(ctx context.Context, dl *payment.WebhookDelivery) {
	e := d.e
	now := e.clock()
	res := &payment.WebhookResult{}
	a := &payment.WebhookAttempt{ID: payment.NewID(payment.PrefixWebhookAttempt), AccountID: dl.AccountID,
		DeliveryID: dl.ID, EndpointID: dl.EndpointID, EventID: dl.EventID, Attempt: dl.Attempts, StartedAt: now}
	res.Attempt = a
	req, err := d.request(ctx, dl, now)
	if errors.Is(err, ErrCallbackNotReady) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := e.store.ReleaseWebhookDelivery(cctx, dl, now.Add(notReadyWait(now.Sub(dl.CreatedAt)))); err != nil {
			e.log.LogAttrs(ctx, slog.LevelError, "put back webhook delivery", slog.String("delivery", dl.ID), slog.Any("error", err))
		}
		return
	}
	var verdict string
	if err != nil {
		// Nothing can be sent (its endpoint is disabled, its event or key
		// is gone): the delivery fails without an attempt on the wire.
		a.Error, verdict = err.Error(), "failed"
		res.State = payment.DeliveryFailed
	} else {
		a.URL, a.EventType = req.URL, eventTypeOf(dl)
		resp := d.opts.Client.Do(ctx, req, now)
		if ctx.Err() != nil {
			return
		}
		a.Latency = resp.Latency.Truncate(time.Microsecond)
		a.StatusCode = resp.Status
		a.ResponseBody = keptResponse(resp.Body)
		if resp.Err != nil {
			a.Error = resp.Err.Error()
		}
		verdict = d.judge(dl, resp, res, now)
	}
	if a.EventType == "" {
		a.EventType = eventTypeOf(dl)
	}
	if a.URL == "" {
		a.URL = urlOf(dl)
	}
	a.Succeeded = res.State == payment.DeliverySucceeded
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := e.store.CompleteWebhookDelivery(cctx, dl, res); err != nil && !errors.Is(err, payment.ErrConflict) {
		e.log.LogAttrs(ctx, slog.LevelError, "record webhook attempt", slog.String("delivery", dl.ID), slog.Any("error", err))
	}
	if d.opts.Observer != nil {
		var first time.Duration
		if dl.Attempts == 1 && dl.Event != nil {
			first = now.Sub(dl.Event.CreatedAt)
		}
		d.opts.Observer.WebhookAttempt(verdict, a.Latency, first)
	}
}

// judge turns a response into the delivery's next state and the
// endpoint's health, and names the outcome.
func (d *deliverer) judge(dl *payment.WebhookDelivery, resp *webhook.Response, res *payment.WebhookResult, now time.Time) string {
	res.Health = payment.HealthFailing
	switch resp.Verdict() {
	case webhook.Delivered:
		res.State, res.Health = payment.DeliverySucceeded, payment.HealthOK
		return "delivered"
	case webhook.Gone:
		res.State = payment.DeliveryFailed
		d.disable(dl, res, "The endpoint answered 410 Gone.", now)
		return "gone"
	case webhook.Refused:
		res.State = payment.DeliveryFailed
		d.checkStreak(dl, res, now)
		return "refused"
	}
	if wait, ok := d.opts.Schedule.Next(dl.Attempts, resp.RetryAfter); ok {
		res.State, res.NextAttemptAt = payment.DeliveryPending, now.Add(wait)
	} else {
		res.State = payment.DeliveryFailed
	}
	d.checkStreak(dl, res, now)
	return "retry"
}

// checkStreak disables the endpoint of a failed attempt when it has
// failed continuously for DisableAfter.
func (d *deliverer) checkStreak(dl *payment.WebhookDelivery, res *payment.WebhookResult, now time.Time) {
	we := dl.Endpoint
	if we == nil || we.FailingSince == nil || now.Sub(*we.FailingSince) < d.opts.DisableAfter {
		return
	}
	d.disable(dl, res, fmt.Sprintf("Every attempt failed since %s.", we.FailingSince.Format(time.RFC3339)), now)
}

// disable has res disable dl's endpoint with reason, with its event.
func (d *deliverer) disable(dl *payment.WebhookDelivery, res *payment.WebhookResult, reason string, now time.Time) {
	we := dl.Endpoint
	if we == nil {
		return
	}
	res.Disable = reason
	after := *we
	after.DisabledAt, after.DisabledReason, after.UpdatedAt = &now, reason, now
	res.Events = []*payment.Event{newEvent(we.AccountID, EventWebhookEndpointDisabled, we.ID, WebhookEndpointObjectOf(&after), now)}
}

// request builds a delivery's attempt: an endpoint's delivery goes to the
// endpoint's URL as it is now, signed with its secrets, its body the event
// (or the message it carries); a callback carries everything itself.
func (d *deliverer) request(ctx context.Context, dl *payment.WebhookDelivery, now time.Time) (webhook.Request, error) {
	req := webhook.Request{Method: dl.Method, URL: dl.URL, Headers: dl.Headers, Body: dl.Body, MsgID: dl.MessageID, Live: dl.Live}
	if dl.Signer == payment.SignerStandard && dl.EndpointID != "" {
		we := dl.Endpoint
		if we == nil {
			return req, errors.New("the endpoint was deleted")
		}
		if we.DisabledAt != nil {
			return req, errors.New("the endpoint is disabled")
		}
		req.URL, req.Live = we.URL, we.Live
		if req.Body == nil {
			body, err := standardBody(dl.Event)
			if err != nil {
				return req, err
			}
			req.Body = body
		}
		keys, err := d.e.signingKeys(ctx, we, now)
		if err != nil {
			return req, err
		}
		req.Signer = webhook.Standard{Keys: keys}
		return req, nil
	}
	sign, ok := d.opts.Signers[dl.Signer]
	if !ok {
		return req, fmt.Errorf("no signer %q", dl.Signer)
	}
	s, err := sign(ctx, dl)
	if err != nil {
		return req, err
	}
	// The signer may have rendered the callback's URL and method too (a
	// Dintero callback's query names its transaction).
	req.Signer, req.Body, req.URL, req.Method = s, dl.Body, dl.URL, dl.Method
	return req, nil
}

// standardBody is a Standard Webhooks payload of ev: its type, its time and
// its object, compact.
func standardBody(ev *payment.Event) ([]byte, error) {
	if ev == nil {
		return nil, errors.New("the event is gone")
	}
	data := json.RawMessage("null")
	if ev.Data != nil {
		var b bytes.Buffer
		if err := json.Compact(&b, ev.Data); err != nil {
			return nil, fmt.Errorf("event %s: %w", ev.ID, err)
		}
		data = b.Bytes()
	}
	return json.Marshal(struct {
		Type      string          `json:"type"`
		Timestamp time.Time       `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}{ev.Type, ev.CreatedAt, data})
}

func eventTypeOf(dl *payment.WebhookDelivery) string {
	if dl.Event != nil {
		return dl.Event.Type
	}
	if dl.Body != nil {
		var m struct{ Type string }
		if json.Unmarshal(dl.Body, &m) == nil && m.Type != "" {
			return m.Type
		}
	}
	return "callback"
}

func urlOf(dl *payment.WebhookDelivery) string {
	if dl.Endpoint != nil {
		return dl.Endpoint.URL
	}
	return dl.URL
}

// keptResponse is what the delivery log keeps of a receiver's answer: its
// first KiB as text, unless it looks like it holds a card number, which
// the log must never keep.
func keptResponse(body []byte) string {
	s := string(bytes.ToValidUTF8(body, []byte("\uFFFD")))
	if card.ContainsPAN(s) {
		return "[withheld: the response held what looks like a card number]"
	}
	return s
}
