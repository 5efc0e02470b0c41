// Package api is the HTTP plumbing every API dialect of kassa shares: handlers
// that return errors and one place per dialect that renders them, request ids,
// access logs, panic recovery, body limits, Prometheus metrics, strict JSON
// decoding, pagination parameters, the Idempotency-Key protocol, bearer-key
// helpers, the operational endpoints (/healthz, /readyz, /metrics) and a
// hardened *http.Server.
//
// It knows no dialect's wire format: each dialect (internal/api/native,
// internal/api/spreedly, …) owns its request and response types and its error
// envelope, and passes its ErrorRenderer to the middleware here. Dialects call
// the engine, never a store or the vault.
//
// A dialect's handler is usually assembled, outermost first, as
//
//	RequestID → AccessLog → Metrics.Instrument → Recover → LimitBody → Mux
//
// (Stack does exactly that), and inside the mux, per route,
//
//	the dialect's authentication → Idempotency (POST only) → Handle(handler).
package api
