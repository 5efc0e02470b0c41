package native

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/payment"
)

// createPaymentRequest is the body of POST /v1/payments.
type createPaymentRequest struct {
	// Amount is in minor units and must be a JSON integer: "1000" or 10.5
	// is refused by the decoder, never converted.
	Amount        *int64 `json:"amount"`
	Currency      string `json:"currency"`
	PaymentMethod string `json:"payment_method"`
	Gateway       string `json:"gateway"`
	// Capture: true (the default) purchases, false only authorizes.
	Capture          *bool                    `json:"capture"`
	Reference        string                   `json:"reference"`
	Description      string                   `json:"description"`
	Metadata         map[string]string        `json:"metadata"`
	StoredCredential *storedCredentialRequest `json:"stored_credential"`
	// GatewaySpecificFields are free-form: the gateway type's Spec says
	// which it takes.
	GatewaySpecificFields map[string]any `json:"gateway_specific_fields"`
	// Customer is the customer the payment is for; the payment method's
	// customer when left out.
	Customer string `json:"customer"`
}

type storedCredentialRequest struct {
	Initiator string `json:"initiator"`
	Reason    string `json:"reason"`
}

func (req *createPaymentRequest) input() (engine.PaymentInput, error) {
	if req.Amount == nil {
		return engine.PaymentInput{}, payment.Missing("amount")
	}
	in := engine.PaymentInput{
		Amount: *req.Amount, Currency: req.Currency, PaymentMethodID: req.PaymentMethod, GatewayID: req.Gateway,
		Capture: req.Capture, Reference: req.Reference, Description: req.Description, Metadata: req.Metadata,
		GatewaySpecificFields: req.GatewaySpecificFields, CustomerID: req.Customer,
	}
	if sc := req.StoredCredential; sc != nil {
		in.StoredCredential = &payment.StoredCredential{Initiator: sc.Initiator, Reason: sc.Reason}
	}
	return in, nil
}

// createPayment answers 201 with the payment whatever the gateway said: a
// declined, failed or unknown payment is a payment, not an API error.
func (s *server) createPayment(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	var req createPaymentRequest
	if err := api.DecodeJSON(r, &req); err != nil {
		return err
	}
	in, err := req.input()
	if err != nil {
		return err
	}
	pay, err := s.eng.CreatePayment(engine.WithAnswer(r.Context(), answerPayment(http.StatusCreated, false)), p, in)
	if err != nil {
		return err
	}
	return api.JSON(w, http.StatusCreated, engine.PaymentObjectOf(pay))
}

// answerPayment renders the answer of a request on a payment, the way the
// handlers below write it (with the request's operation for a follow-up),
// for the settle to store under the request's Idempotency-Key.
func answerPayment(status int, withOperation bool) engine.AnswerFunc {
	return func(pay *payment.Payment, op *payment.Operation) (engine.Answer, error) {
		o := engine.PaymentObjectOf(pay)
		if withOperation {
			o.Operation = engine.OperationObjectOf(op)
		}
		return jsonAnswer(status, o)
	}
}

func jsonAnswer(status int, v any) (engine.Answer, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return engine.Answer{}, err
	}
	return engine.Answer{Status: status, ContentType: "application/json", Body: append(b, '\n')}, nil
}

func (s *server) listPayments(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	var filter [3]string
	for i, name := range []string{"status", "reference", "gateway"} {
		if filter[i], err = queryValue(r, name); err != nil {
			return err
		}
	}
	f := payment.PaymentFilter{Status: payment.Status(filter[0]), Reference: filter[1], GatewayID: filter[2]}
	return listPage(w, r, func(lp payment.ListParams) ([]*payment.Payment, bool, error) {
		f.ListParams = lp
		return s.eng.Payments(r.Context(), p.Account.ID, f)
	}, engine.PaymentObjectOf, "/v1/payments")
}

func (s *server) getPayment(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	pay, err := s.eng.Payment(r.Context(), p.Account.ID, id)
	return paymentResult(w, pay, err, id)
}

// captureRequest is the optional body of POST /v1/payments/{id}/capture.
type captureRequest struct {
	// Amount to capture; all that is left when left out.
	Amount *int64 `json:"amount"`
}

func (s *server) capturePayment(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	var req captureRequest
	if err := api.DecodeOptionalJSON(r, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	pay, op, err := s.eng.Capture(engine.WithAnswer(r.Context(), answerPayment(http.StatusOK, true)), p, id, req.Amount)
	return followUpResult(w, pay, op, err, id)
}

// voidRequest is the optional body of POST /v1/payments/{id}/void: an
// empty object, so that any field sent is refused as unknown.
type voidRequest struct{}

func (s *server) voidPayment(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	if err := api.DecodeOptionalJSON(r, &voidRequest{}); err != nil {
		return err
	}
	id := r.PathValue("id")
	pay, op, err := s.eng.Void(engine.WithAnswer(r.Context(), answerPayment(http.StatusOK, true)), p, id)
	return followUpResult(w, pay, op, err, id)
}

// refundRequest is the optional body of POST /v1/payments/{id}/refunds.
type refundRequest struct {
	// Amount to refund; all that is left when left out.
	Amount *int64 `json:"amount"`
	Reason string `json:"reason"`
}

func (s *server) refundPayment(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	var req refundRequest
	if err := api.DecodeOptionalJSON(r, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	pay, op, err := s.eng.Refund(engine.WithAnswer(r.Context(), answerPayment(http.StatusOK, true)), p, id, req.Amount, req.Reason)
	return followUpResult(w, pay, op, err, id)
}

// followUpResult answers a capture, void or refund of the payment id: the
// payment, with the operation this request made beside its list.
func followUpResult(w http.ResponseWriter, pay *payment.Payment, op *payment.Operation, err error, id string) error {
	if err != nil {
		return notFoundAs(err, "payment", id)
	}
	o := engine.PaymentObjectOf(pay)
	o.Operation = engine.OperationObjectOf(op)
	return api.JSON(w, http.StatusOK, o)
}

// paymentResult answers an operation on the payment id.
func paymentResult(w http.ResponseWriter, pay *payment.Payment, err error, id string) error {
	if err != nil {
		return notFoundAs(err, "payment", id)
	}
	return api.JSON(w, http.StatusOK, engine.PaymentObjectOf(pay))
}

// verificationRequest is the body of POST /v1/verifications.
type verificationRequest struct {
	PaymentMethod string `json:"payment_method"`
	Gateway       string `json:"gateway"`
}

// createVerification answers 201 with the operation whatever its outcome, as
// createPayment does.
func (s *server) createVerification(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	var req verificationRequest
	if err := api.DecodeJSON(r, &req); err != nil {
		return err
	}
	answer := func(_ *payment.Payment, op *payment.Operation) (engine.Answer, error) {
		return jsonAnswer(http.StatusCreated, engine.OperationObjectOf(op))
	}
	op, err := s.eng.Verify(engine.WithAnswer(r.Context(), answer), p, req.PaymentMethod, req.Gateway)
	if err != nil {
		return err
	}
	return api.JSON(w, http.StatusCreated, engine.OperationObjectOf(op))
}

// resolveOperationRequest is what a person found at the provider.
type resolveOperationRequest struct {
	Outcome          string `json:"outcome"`
	GatewayReference string `json:"gateway_reference"`
	Note             string `json:"note"`
}

func (s *server) resolveOperation(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	var req resolveOperationRequest
	if err := api.DecodeJSON(r, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	op, err := s.eng.ResolveOperation(r.Context(), p, id, payment.Outcome(req.Outcome), req.GatewayReference, req.Note)
	if err != nil {
		return notFoundAs(err, "operation", id)
	}
	return api.JSON(w, http.StatusOK, engine.OperationObjectOf(op))
}

func (s *server) getOperation(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	op, err := s.eng.Operation(r.Context(), p.Account.ID, id)
	if err != nil {
		return notFoundAs(err, "operation", id)
	}
	return api.JSON(w, http.StatusOK, engine.OperationObjectOf(op))
}

// transcriptObject is the scrubbed record of what an operation exchanged
// with its gateway.
type transcriptObject struct {
	Object    string             `json:"object"`
	Operation string             `json:"operation"`
	Exchanges []gateway.Exchange `json:"exchanges"`
}

func (s *server) getTranscript(w http.ResponseWriter, r *http.Request) error {
	p, err := principal(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	op, err := s.eng.Operation(r.Context(), p.Account.ID, id)
	if err != nil {
		return notFoundAs(err, "operation", id)
	}
	var tr gateway.Transcript
	if len(op.Transcript) > 0 {
		if err := json.Unmarshal(op.Transcript, &tr); err != nil {
			return fmt.Errorf("transcript of %s: %w", op.ID, err)
		}
	}
	return api.JSON(w, http.StatusOK, transcriptObject{Object: "transcript", Operation: op.ID, Exchanges: nonNil(tr.Exchanges)})
}
