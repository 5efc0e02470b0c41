package api

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/failpoint"
	"github.com/kassapay/kassa/internal/payment"
)

// Headers of the Idempotency-Key protocol.
const (
	IdempotencyKeyHeader     = "Idempotency-Key"
	IdempotentReplayedHeader = "Idempotent-Replayed"
)

// settleTimeout bounds storing a key's response after the request; it runs
// even when the client has gone.
const settleTimeout = 10 * time.Second

// Idempotency returns middleware that makes a POST carrying an
// Idempotency-Key header safe to retry (docs/architecture.md §5, ADR 0008).
// It must run after authentication: the key belongs to the principal's
// account.
//
// The first request with a key claims it and runs with the claim in its
// context, so that the engine binds the key to the payment or operation the
// request reserves, in the reserving transaction. Its response is stored
// whatever its status (a panic is stored as the 500 it answers), because a
// request that failed late may already have moved money. A later request
// with the same key and the same method, path and body gets the stored
// response again (status, body and Content-Type) with
// "Idempotent-Replayed: true". The same key with another body is
// idempotency_key_reused (422); while the first request runs,
// idempotency_key_in_use (409, with Retry-After). A first request that
// reserved and never answered (the process died) is recovered: once its
// operation has settled the retry runs the handler, which the engine
// answers from what the key is bound to without acting again, and that
// answer is stored. Requests without the header, and other methods than
// POST, pass straight through. The response is stored as it is, for the
// records' lifetime: a route whose response holds a secret (a new API key)
// must not run behind this middleware.
func Idempotency(eng *engine.Engine, log *slog.Logger, render ErrorRenderer) func(http.Handler) http.Handler {
	return idempotency(eng, log, render, eng.ClaimIdempotencyKey)
}

// IdempotencyAtReserve is Idempotency for routes that move money: the
// handler's reservation claims a key that has no record yet, in the same
// transaction, instead of a write of its own before the handler runs
// (engine.ClaimIdempotencyKeyAtReserve). Concurrent duplicates still never
// reach the gateway twice: the one whose reservation comes second gets
// idempotency_key_in_use.
func IdempotencyAtReserve(eng *engine.Engine, log *slog.Logger, render ErrorRenderer) func(http.Handler) http.Handler {
	return idempotency(eng, log, render, eng.ClaimIdempotencyKeyAtReserve)
}

type claimFunc func(ctx context.Context, accountID, key, method, path string, body []byte) (*engine.IdempotencyClaim, error)

func idempotency(eng *engine.Engine, log *slog.Logger, render ErrorRenderer, claimKey claimFunc) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			vals, ok := r.Header[IdempotencyKeyHeader]
			if !ok || r.Method != http.MethodPost {
				next.ServeHTTP(w, r)
				return
			}
			p, ok := PrincipalFrom(r.Context())
			if !ok {
				render(w, r, errNoPrincipal)
				return
			}
			key := strings.TrimSpace(vals[0])
			if key == "" || len(vals) > 1 {
				render(w, r, payment.Invalid(payment.CodeParameterInvalid, IdempotencyKeyHeader,
					"Send one non-empty Idempotency-Key header, or none."))
				return
			}
			body, err := ReadBody(r)
			if err != nil {
				render(w, r, err)
				return
			}
			ctx := r.Context()
			claim, err := claimKey(ctx, p.Account.ID, key, r.Method, r.URL.Path, body)
			if err != nil {
				render(w, r, err)
				return
			}
			if claim.Replay != nil {
				ct, stored := engine.ParseStoredAnswer(claim.Replay.ResponseBody)
				if ct != "" {
					w.Header().Set("Content-Type", ct)
				}
				w.Header().Set("Cache-Control", "no-store")
				w.Header().Set(IdempotentReplayedHeader, "true")
				w.WriteHeader(claim.Replay.ResponseStatus)
				w.Write(stored)
				return
			}
			if claim.Recovering() {
				// The answer is rebuilt from what the first request
				// reserved: it is a replay of that request.
				w.Header().Set(IdempotentReplayedHeader, "true")
			}

			// The key is ours: whatever happens next, store the answer
			// under it, even if the client has gone or the handler panics.
			// If storing fails the answer is still sent; the key then
			// stays in flight, bound to what the request reserved, and a
			// retry recovers the answer from it.
			complete := func(status int, contentType string, body []byte) {
				sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
				defer cancel()
				err := eng.CompleteIdempotencyKey(sctx, claim, status, engine.StoredAnswer(contentType, body))
				switch {
				case errors.Is(err, payment.ErrIdempotencyClaimLost):
					log.LogAttrs(ctx, slog.LevelInfo, "idempotency key answered by another request",
						slog.String("request_id", RequestIDFrom(ctx)))
				case err != nil:
					log.LogAttrs(ctx, slog.LevelError, "idempotency key not completed",
						slog.String("request_id", RequestIDFrom(ctx)), slog.String("error", err.Error()))
				}
			}
			finished := false
			defer func() {
				if !finished {
					// The handler panicked, perhaps after it changed
					// something: store the 500 that Recover, further out,
					// answers, so a retry replays it instead of running again.
					pw := &captureWriter{header: http.Header{}}
					render(pw, r, errHandlerPanicked)
					complete(pw.statusCode(), pw.header.Get("Content-Type"), pw.buf.Bytes())
				}
			}()
			r = r.WithContext(engine.WithIdempotencyClaim(ctx, claim))
			r.Body = readCloser{bytes.NewReader(body)}
			cw := &captureWriter{header: w.Header()}
			next.ServeHTTP(cw, r)
			finished = true

			failpoint.Hit(failpoint.BeforeComplete, "")
			if a := claim.Answered(); a != nil {
				// The settle stored the answer with the money, in one
				// transaction: send exactly that, as every replay will.
				w.Header().Set("Content-Type", a.ContentType)
				w.WriteHeader(a.Status)
				w.Write(a.Body)
				return
			}
			status := cw.statusCode()
			complete(status, w.Header().Get("Content-Type"), cw.buf.Bytes())
			w.WriteHeader(status)
			w.Write(cw.buf.Bytes())
		})
	}
}

var errNoPrincipal = &payment.Error{Kind: payment.KindInternal, Code: payment.CodeInternal,
	Message: "idempotency middleware runs before authentication"}

var errHandlerPanicked = errors.New("handler panicked")

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// captureWriter holds a response back so that it can be stored before it
// is sent. Headers go straight to the real writer's header map.
type captureWriter struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

func (c *captureWriter) Header() http.Header { return c.header }

func (c *captureWriter) WriteHeader(code int) {
	if c.status == 0 && code >= 200 {
		c.status = code
	}
}

func (c *captureWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.buf.Write(b)
}

func (c *captureWriter) statusCode() int {
	if c.status == 0 {
		return http.StatusOK
	}
	return c.status
}
