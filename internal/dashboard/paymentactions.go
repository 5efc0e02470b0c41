package dashboard

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// actionPage is the confirmation step of an action on a payment (capture,
// void, refund) or of resolving an operation: what will happen, the
// amount field with its error, and the form that does it.
type actionPage struct {
	// Action is capture, void, refund or resolve.
	Action  string
	Payment *payment.Payment
	// Amount is the amount field as typed (major units of the payment's
	// currency); Remaining is what may still be captured or refunded.
	Amount    string
	Remaining int64
	// Operation, Outcome, Reference and Note are a resolve's.
	Operation *payment.Operation
	Outcome   string
	Reference string
	Note      string
	Outcomes  []payment.Outcome
	// Key is the idempotency key the form carries: a double submit acts
	// once.
	Key string
	// Error is why the last try was refused; Field the field it names.
	Error string
	Field string
}

// keyPrefix keeps the dashboard's idempotency keys apart from those API
// clients choose.
const keyPrefix = "dashboard:"

// newActionKey is a fresh idempotency key for a confirmation form.
func newActionKey() string { return payment.RandomString(24) }

// capture, void and refund are the payment page's actions.
func (s *Server) capture(w http.ResponseWriter, r *http.Request, q *request) error {
	return s.paymentAction(engine.ActionCapture)(w, r, q)
}

func (s *Server) void(w http.ResponseWriter, r *http.Request, q *request) error {
	return s.paymentAction(engine.ActionVoid)(w, r, q)
}

func (s *Server) refund(w http.ResponseWriter, r *http.Request, q *request) error {
	return s.paymentAction(engine.ActionRefund)(w, r, q)
}

// paymentAction is the POST of capture, void or refund. Without
// confirm=yes it only shows the confirmation step (nothing changes); with
// it, it runs the action through the engine as the session's user, under
// the form's idempotency key, and goes back to the payment page, which
// shows the new status. A refused amount shows the step again with the
// error on the field.
func (s *Server) paymentAction(a engine.Action) handler {
	return func(w http.ResponseWriter, r *http.Request, q *request) error {
		ctx := r.Context()
		p, err := s.eng.Payment(ctx, q.AccountID(), r.PathValue("id"))
		if err != nil {
			return err
		}
		ap := &actionPage{Action: string(a), Payment: p, Amount: strings.TrimSpace(r.PostFormValue("amount"))}
		confirmed := r.PostFormValue("confirm") == "yes"
		var amount *int64
		if a != engine.ActionVoid {
			ap.Remaining = p.Refundable()
			if a == engine.ActionCapture {
				ap.Remaining = p.Capturable()
			}
			if ap.Amount == "" && !confirmed {
				ap.Amount = formatMajor(ap.Remaining, p.Currency)
			}
			n, err := parseAmount(ap.Amount, p.Currency)
			if err == nil && n > ap.Remaining {
				err = payment.Invalid(payment.CodeParameterInvalid, "amount", "amount must be at most %s, what is left to %s.",
					formatMajor(ap.Remaining, p.Currency), a)
			}
			if err != nil {
				return s.refuse(w, r, q, ap, err)
			}
			amount = &n
		}
		if !confirmed {
			ap.Key = newActionKey()
			return s.render(w, r, q, http.StatusOK, "action", "payments", ap)
		}
		back := Base + "/payments/" + p.ID
		key := r.PostFormValue("idempotency_key")
		if key == "" || len(key) > 64 {
			return s.refuse(w, r, q, ap, payment.Invalid(payment.CodeParameterInvalid, "idempotency_key",
				"The form has no valid idempotency key. Confirm again."))
		}
		body := url.Values{"action": {string(a)}}
		if amount != nil {
			body.Set("amount", strconv.FormatInt(*amount, 10))
		}
		claim, err := s.eng.ClaimIdempotencyKeyAtReserve(ctx, q.AccountID(), keyPrefix+key, http.MethodPost, r.URL.Path, []byte(body.Encode()))
		if pe, ok := payment.AsError(err); ok && pe.Code == payment.CodeIdempotencyInUse {
			// The same form, submitted twice at once: the first acts,
			// this one shows where it stands.
			http.Redirect(w, r, back, http.StatusSeeOther)
			return nil
		}
		if err != nil {
			return s.refuse(w, r, q, ap, err)
		}
		if claim.Replay != nil {
			// The form was submitted before: it acted once, then. Go
			// where that answer went (it names the operation), if it is
			// this payment's page.
			if _, loc := engine.ParseStoredAnswer(claim.Replay.ResponseBody); claim.Replay.ResponseStatus == http.StatusSeeOther &&
				strings.HasPrefix(string(loc), back+"?") {
				back = string(loc)
			}
			http.Redirect(w, r, back, http.StatusSeeOther)
			return nil
		}
		actx := engine.WithIdempotencyClaim(ctx, claim)
		var op *payment.Operation
		switch a {
		case engine.ActionCapture:
			_, op, err = s.eng.Capture(actx, q.Principal(), p.ID, amount)
		case engine.ActionVoid:
			_, op, err = s.eng.Void(actx, q.Principal(), p.ID)
		default:
			_, op, err = s.eng.Refund(actx, q.Principal(), p.ID, amount, "")
		}
		if err == nil && op != nil {
			// The payment page says how the operation went.
			back += "?op=" + url.QueryEscape(op.ID)
		}
		if errors.Is(err, payment.ErrIdempotencyClaimLost) {
			http.Redirect(w, r, back, http.StatusSeeOther)
			return nil
		}
		s.completeKey(ctx, r, claim, err, back)
		if err != nil {
			return s.refuse(w, r, q, ap, err)
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
		return nil
	}
}

// completeKey stores the answer under the claimed key, whatever it was:
// a replay then goes back to the payment, never acts again.
func (s *Server) completeKey(ctx context.Context, r *http.Request, claim *engine.IdempotencyClaim, err error, location string) {
	if claim.Answered() != nil {
		return
	}
	status := http.StatusSeeOther
	if err != nil {
		status, _ = api.Resolve(slog.New(slog.DiscardHandler), r, err)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	cerr := s.eng.CompleteIdempotencyKey(sctx, claim, status, engine.StoredAnswer("text/plain", []byte(location)))
	if cerr != nil && !errors.Is(cerr, payment.ErrIdempotencyClaimLost) {
		s.log.ErrorContext(ctx, "dashboard idempotency key not completed", "error", cerr)
	}
}

// refuse shows the confirmation step again with why the action was
// refused, and a fresh key: a refused request is not retried under the
// same key (it would answer the refusal again). Not-found and server
// errors are the error page.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, q *request, ap *actionPage, err error) error {
	pe, ok := payment.AsError(err)
	if !ok || pe.Kind == payment.KindNotFound || pe.Kind == payment.KindForbidden {
		return err
	}
	status, e := api.Resolve(s.log, r, err)
	if status >= 500 {
		return err
	}
	ap.Error, ap.Field, ap.Key = e.Message, e.Param, newActionKey()
	nav := "payments"
	if ap.Action == "resolve" {
		nav = "review"
	}
	return s.render(w, r, q, status, "action", nav, ap)
}

// parseAmount reads an amount typed in major units of currency ("12.50",
// "12", "12.5") into minor units, exactly: digits and at most one point,
// no sign, no more decimals than the currency has. An error names the
// field amount.
func parseAmount(s, currency string) (int64, error) {
	exp, ok := payment.CurrencyExponent(currency)
	bad := payment.Invalid(payment.CodeParameterInvalid, "amount",
		"amount must be a positive amount in %s with at most %d decimals, like %s.", currency, exp, formatMajor(1250, currency))
	if !ok || s == "" || len(s) > 20 {
		return 0, bad
	}
	whole, frac, point := strings.Cut(s, ".")
	if whole == "" || (point && frac == "") || !allDigits(whole) || !allDigits(frac) {
		return 0, bad
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > exp {
		return 0, bad
	}
	v, err := strconv.ParseInt(whole+frac+strings.Repeat("0", exp-len(frac)), 10, 64)
	if err != nil || v <= 0 || v > payment.MaxAmount {
		return 0, bad
	}
	return v, nil
}

func allDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// formatMajor writes minor units of currency as the amount field takes
// them: "12.50", "1500" for JPY.
func formatMajor(v int64, currency string) string {
	exp, _ := payment.CurrencyExponent(currency)
	neg := v < 0
	if neg {
		v = -v
	}
	s := strconv.FormatInt(v, 10)
	if exp > 0 {
		if len(s) <= exp {
			s = strings.Repeat("0", exp-len(s)+1) + s
		}
		s = s[:len(s)-exp] + "." + s[len(s)-exp:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// actionTitle is how a confirmation step names its action.
func actionTitle(a string) string {
	switch a {
	case "capture":
		return "Capture"
	case "void":
		return "Void"
	case "refund":
		return "Refund"
	}
	return "Resolve"
}

// Title names the confirmation step.
func (ap *actionPage) Title() string { return actionTitle(ap.Action) }
