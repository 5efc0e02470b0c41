package simhttp

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/gateway/simulator"
	"github.com/kassapay/kassa/internal/payment"
)

// ServerOptions configure a Server.
type ServerOptions struct {
	// Simulator decides every operation and status query.
	Simulator *simulator.Simulator
	// Ledger is the Simulator's ledger, read for the listing.
	Ledger simulator.Ledger
	// Logger receives one line per request (never a card or a body); nil
	// discards.
	Logger *slog.Logger
	// Rand returns a number in [0, 1) for the fault rates; nil means
	// math/rand/v2.
	Rand func() float64
	// Faults are the fault settings at start.
	Faults Faults
}

// Server is the simulator's JSON API. It is an http.Handler, safe for
// concurrent use; its faults can be changed while it serves.
type Server struct {
	sim    *simulator.Simulator
	ledger simulator.Ledger
	log    *slog.Logger
	rand   func() float64
	mux    *http.ServeMux

	mu     sync.Mutex
	faults Faults
}

// NewServer returns a Server over opts. It fails on fault settings out of
// range.
func NewServer(opts ServerOptions) (*Server, error) {
	if opts.Simulator == nil || opts.Ledger == nil {
		return nil, errors.New("simhttp: a server needs a simulator and its ledger")
	}
	if err := opts.Faults.check(); err != nil {
		return nil, err
	}
	s := &Server{sim: opts.Simulator, ledger: opts.Ledger, log: opts.Logger, rand: opts.Rand, faults: opts.Faults}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.rand == nil {
		s.rand = rand.Float64
	}
	s.mux = http.NewServeMux()
	for _, kind := range payment.OperationKinds {
		s.mux.HandleFunc("POST /v1/accounts/{account}/"+string(kind), func(w http.ResponseWriter, r *http.Request) {
			s.operation(w, r, kind)
		})
	}
	s.mux.HandleFunc("GET /v1/accounts/{account}/operations/{reference}", s.status)
	s.mux.HandleFunc("GET /v1/accounts/{account}/operations", s.list)
	s.mux.HandleFunc("GET /v1/faults", s.getFaults)
	s.mux.HandleFunc("PUT /v1/faults", s.putFaults)
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Faults returns the fault settings.
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// SetFaults replaces the fault settings; it fails on one out of range.
func (s *Server) SetFaults(f Faults) error {
	if err := f.check(); err != nil {
		return err
	}
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
	return nil
}

// settings hands the faults the simulator itself knows to it, as the
// in-process simulator's gateway settings.
func (f Faults) settings() map[string]any {
	return map[string]any{"latency_ms": f.LatencyMS, "outage": f.Outage}
}

func (s *Server) operation(w http.ResponseWriter, r *http.Request, kind payment.OperationKind) {
	account := r.PathValue("account")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBody))
	if err != nil {
		s.refuse(w, r, http.StatusBadRequest, CodeInvalidRequest, "The request body could not be read.")
		return
	}
	in, err := DecodeOperation(body)
	if err != nil {
		s.refuse(w, r, http.StatusBadRequest, CodeInvalidRequest, err.Error())
		return
	}
	log := s.log.With("kind", kind, "account", account, "reference", in.Reference)
	f := s.Faults()
	if f.Reset > 0 && s.rand() < f.Reset {
		log.InfoContext(r.Context(), "fault: connection reset before processing")
		hangUp(w, true)
		return
	}

	req := &gateway.Request{
		Config:    gateway.Config{GatewayID: account, Settings: f.settings()},
		Reference: in.Reference, Kind: kind, Amount: in.Amount, Currency: in.Currency,
		PriorReference: in.PriorReference, GatewaySpecificFields: in.GatewaySpecificFields,
	}
	if c := in.Card; c != nil {
		req.Card = &gateway.Card{Number: c.Number, CVC: c.CVC, ExpMonth: c.ExpMonth, ExpYear: c.ExpYear, HolderName: c.HolderName}
	}
	res, err := gateway.Call(r.Context(), s.sim, req)
	if err != nil {
		// A request the simulator cannot express (a card missing): the
		// simulator's messages name no card data.
		s.refuse(w, r, http.StatusBadRequest, CodeInvalidRequest, err.Error())
		return
	}
	switch {
	case res.Outcome == payment.OutcomeUnknown:
		// The simulator lost the answer (a card of its table that does,
		// or its ledger failed): the client gets none.
		log.InfoContext(r.Context(), "answer lost", "message", res.Message)
		hangUp(w, false)
		return
	case res.Outcome != payment.OutcomeNotSent && f.DropAfterProcessing > 0 && s.rand() < f.DropAfterProcessing:
		log.InfoContext(r.Context(), "fault: answer dropped after processing", "outcome", res.Outcome)
		hangUp(w, false)
		return
	case res.Outcome != payment.OutcomeNotSent && f.SlowMS > 0:
		log.InfoContext(r.Context(), "fault: slow answer", "outcome", res.Outcome, "slow_ms", f.SlowMS)
		t := time.NewTimer(time.Duration(f.SlowMS) * time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			log.InfoContext(r.Context(), "client gone before the slow answer")
			return
		}
	}
	log.InfoContext(r.Context(), "operation", "outcome", res.Outcome)
	writeJSON(w, statusOf(res.Outcome), answerOf(res, in.Reference))
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	account, ref := r.PathValue("account"), r.PathValue("reference")
	f := s.Faults()
	res, err := s.sim.QueryStatus(r.Context(), &gateway.Request{
		Config: gateway.Config{GatewayID: account, Settings: f.settings()}, Reference: ref})
	switch {
	case errors.Is(err, gateway.ErrReferenceNotFound):
		s.refuse(w, r, http.StatusNotFound, CodeReferenceNotFound, "The ledger holds no operation of this reference.")
		return
	case err != nil:
		res = gateway.Result{Outcome: payment.OutcomeUnknown, Message: "The status query failed."}
	}
	s.log.InfoContext(r.Context(), "status query", "account", account, "reference", ref, "outcome", res.Outcome)
	status := statusOf(res.Outcome)
	if res.Outcome == payment.OutcomeUnknown {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, answerOf(res, ref))
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	ops, err := s.ledger.SimulatorOperations(r.Context(), r.PathValue("account"))
	if err != nil {
		s.log.ErrorContext(r.Context(), "list the ledger", "error", err)
		writeJSON(w, http.StatusInternalServerError, errorBody("internal", "The ledger could not be read."))
		return
	}
	out := OperationList{Data: make([]Operation, 0, len(ops))}
	for _, op := range ops {
		res := gateway.Result{Outcome: op.Result.Outcome, GatewayReference: op.Result.GatewayReference,
			DeclineCode: op.Result.DeclineCode, ResponseCode: op.Result.ResponseCode, Message: op.Result.Message,
			AVSCode: op.Result.AVSCode, CVVCode: op.Result.CVVCode, NetworkTransactionID: op.Result.NetworkTransactionID}
		out.Data = append(out.Data, Operation{Reference: op.Reference, Kind: op.Kind, Amount: op.Amount,
			PriorReference: op.PriorReference, Result: answerOf(res, op.Reference), Calls: op.Calls,
			CreatedAt: op.CreatedAt, UpdatedAt: op.UpdatedAt})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getFaults(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Faults())
}

func (s *Server) putFaults(w http.ResponseWriter, r *http.Request) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	var f Faults
	if err := dec.Decode(&f); err != nil {
		s.refuse(w, r, http.StatusBadRequest, CodeInvalidRequest, "The body is not a fault settings object: "+err.Error())
		return
	}
	if err := s.SetFaults(f); err != nil {
		s.refuse(w, r, http.StatusBadRequest, CodeInvalidRequest, err.Error())
		return
	}
	s.log.InfoContext(r.Context(), "faults changed", "latency_ms", f.LatencyMS, "outage", f.Outage,
		"drop_after_processing", f.DropAfterProcessing, "reset", f.Reset, "slow_ms", f.SlowMS)
	writeJSON(w, http.StatusOK, f)
}

// refuse answers an error. Its message never quotes the request body.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	s.log.InfoContext(r.Context(), "refused", "path", r.URL.Path, "status", status, "code", code)
	writeJSON(w, status, errorBody(code, message))
}

func errorBody(code, message string) ErrorBody {
	var b ErrorBody
	b.Error.Code, b.Error.Message = code, message
	return b
}

// statusOf is the HTTP status of an answer with outcome o.
func statusOf(o payment.Outcome) int {
	switch o {
	case payment.OutcomeSucceeded:
		return http.StatusOK
	case payment.OutcomeDeclined:
		return http.StatusPaymentRequired
	case payment.OutcomeFailed:
		return http.StatusUnprocessableEntity
	}
	return http.StatusServiceUnavailable
}

func answerOf(res gateway.Result, reference string) Answer {
	return Answer{Status: res.Outcome, ID: res.GatewayReference, Reference: reference, ResponseCode: res.ResponseCode,
		Message: res.Message, DeclineCode: res.DeclineCode, AVSResult: res.AVSCode, CVCResult: res.CVVCode,
		NetworkTransactionID: res.NetworkTransactionID}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// hangUp ends the request without an answer: the connection is closed,
// with a TCP reset when reset is set. The client cannot tell what became
// of its request.
func hangUp(w http.ResponseWriter, reset bool) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not HTTP/1 (no hijacking): abort the stream instead.
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok && reset {
		tc.SetLinger(0) // close sends RST
	}
	conn.Close()
}

// ShutdownTimeout is how long Serve's caller should let in-flight requests
// finish; a slow answer longer than that is cut off, which a client sees as
// a lost answer.
const ShutdownTimeout = 5 * time.Second

// Serve serves s on ln until ctx ends, then shuts down gracefully.
func Serve(ctx context.Context, ln net.Listener, s http.Handler, log *slog.Logger) error {
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// Answers still waiting (a slow_ms longer than the timeout) are
		// cut off: their clients see lost answers, as from a provider
		// that went away.
		log.Warn("shutdown: cutting off requests still in flight", "error", err)
		srv.Close()
	}
	return nil
}
