package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// ReadyTimeout bounds the readiness check.
const ReadyTimeout = 2 * time.Second

// Healthz answers 200 {"status":"ok"} while the process serves HTTP at all.
func Healthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		MarkQuiet(r.Context())
		WriteJSON(w, http.StatusOK, []byte(`{"status":"ok"}`+"\n"))
	})
}

// Pinger is what Readyz checks; *engine.Engine is one.
type Pinger interface {
	Ready(ctx context.Context) error
}

// Readyz answers 200 {"status":"ok"} when p is ready within ReadyTimeout,
// else 503 {"status":"unavailable"}; the cause is logged, not sent.
func Readyz(p Pinger, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		MarkQuiet(r.Context())
		ctx, cancel := context.WithTimeout(r.Context(), ReadyTimeout)
		defer cancel()
		if err := p.Ready(ctx); err != nil {
			log.LogAttrs(ctx, slog.LevelWarn, "not ready",
				slog.String("request_id", RequestIDFrom(ctx)), slog.String("error", err.Error()))
			WriteJSON(w, http.StatusServiceUnavailable, []byte(`{"status":"unavailable"}`+"\n"))
			return
		}
		WriteJSON(w, http.StatusOK, []byte(`{"status":"ok"}`+"\n"))
	})
}
