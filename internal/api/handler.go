package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// Handler is an http.Handler that returns its failure instead of writing it.
// It must return an error only before it has written anything; Handle hands
// the error to the dialect's renderer.
type Handler func(w http.ResponseWriter, r *http.Request) error

// ErrorRenderer writes err as one dialect's error response: its status (see
// Status and Resolve), its envelope and any headers the dialect adds.
type ErrorRenderer func(w http.ResponseWriter, r *http.Request, err error)

// SetRetryAfter sets the Retry-After header (whole seconds, rounded up)
// when err says when a retry may succeed. Every dialect's renderer calls it.
func SetRetryAfter(w http.ResponseWriter, err error) {
	e, ok := payment.AsError(err)
	if !ok || e.RetryAfter <= 0 {
		return
	}
	w.Header().Set("Retry-After", strconv.FormatInt(int64((e.RetryAfter+time.Second-1)/time.Second), 10))
}

// Handle adapts h into an http.Handler whose errors render writes.
func Handle(h Handler, render ErrorRenderer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			render(w, r, err)
		}
	})
}

// Error codes of the HTTP layer itself; the domain's codes are in payment.
const (
	// CodeMethodNotAllowed: the path exists but not for this method (405).
	CodeMethodNotAllowed = "method_not_allowed"
	// CodeRouteNotFound: no route has this path (404).
	CodeRouteNotFound = "route_not_found"
)

// Status returns the HTTP status of err: a payment.Error's kind decides it
// (malformed 400 — or 413, 415, 405 for the codes body_too_large,
// unsupported_media_type and method_not_allowed —, invalid 422,
// unauthenticated 401, forbidden 403, not_found 404, conflict 409); every
// other error, and the internal kind, is 500.
func Status(err error) int {
	e, ok := payment.AsError(err)
	if !ok {
		return http.StatusInternalServerError
	}
	switch e.Kind {
	case payment.KindMalformed:
		switch e.Code {
		case payment.CodeBodyTooLarge:
			return http.StatusRequestEntityTooLarge
		case payment.CodeUnsupportedMediaType:
			return http.StatusUnsupportedMediaType
		case CodeMethodNotAllowed:
			return http.StatusMethodNotAllowed
		}
		return http.StatusBadRequest
	case payment.KindInvalid:
		return http.StatusUnprocessableEntity
	case payment.KindUnauthenticated:
		return http.StatusUnauthorized
	case payment.KindForbidden:
		return http.StatusForbidden
	case payment.KindNotFound:
		return http.StatusNotFound
	case payment.KindConflict:
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// ErrPanic is the error Recover hands to the renderer after a handler
// panicked. Resolve does not log it again: Recover already logged the panic
// with its stack.
var ErrPanic = errors.New("api: handler panicked")

// Resolve decides what a client sees of err: the status and the
// payment.Error whose Code, Message and Param a renderer may show. A server
// fault — any error that is not a payment.Error, or one whose status is 5xx —
// becomes a generic internal error naming the request id; its cause is logged
// with the request id and never reaches the client. A param segment that is
// not an identifier (see SafeParam) is shown as "*", in the message too.
func Resolve(log *slog.Logger, r *http.Request, err error) (int, *payment.Error) {
	status := Status(err)
	if status < 500 {
		e, _ := payment.AsError(err)
		if safe := SafeParam(e.Param); safe != e.Param {
			// The param holds a key the client chose (a metadata key, say),
			// which may be anything, a card number too: show neither it
			// nor the message that repeats it.
			c := *e
			c.Param = safe
			c.Message = strings.ReplaceAll(e.Message, e.Param, safe)
			e = &c
		}
		return status, e
	}
	ctx := r.Context()
	id := RequestIDFrom(ctx)
	switch {
	case errors.Is(err, ErrPanic):
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		// The client went away; not a fault of ours worth an alert.
		log.LogAttrs(ctx, slog.LevelWarn, "request canceled by the client",
			slog.String("request_id", id), slog.String("error", err.Error()))
	default:
		log.LogAttrs(ctx, slog.LevelError, "internal error",
			slog.String("request_id", id), slog.String("route", RouteFrom(ctx)), slog.String("error", err.Error()))
	}
	return http.StatusInternalServerError, &payment.Error{
		Kind:    payment.KindInternal,
		Code:    payment.CodeInternal,
		Message: "An internal error occurred. If it persists, contact support and quote the request id " + id + ".",
	}
}

// JSON writes v as a JSON response with status. It fails only when v cannot
// be encoded, before anything is written; a client that went away while the
// body was written is not an error the caller could render.
func JSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	WriteJSON(w, status, append(b, '\n'))
	return nil
}

// WriteJSON writes body, which must be JSON, with status.
func WriteJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	// API responses may carry a key's secret or customer data: no cache
	// along the way may keep them.
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(body)
}
