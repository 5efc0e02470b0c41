package dintero

import (
	"context"
	"net/http"
	"strings"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// captureRequest is the body of POST /v1/transactions/{id}/capture.
type captureRequest struct {
	Amount           *int64            `json:"amount"`
	CaptureReference *string           `json:"capture_reference"`
	Items            []orderItem       `json:"items"`
	Metadata         map[string]string `json:"metadata"`
}

// refundRequest is the body of POST /v1/transactions/{id}/refund.
type refundRequest struct {
	Amount          *int64            `json:"amount"`
	Reason          string            `json:"reason"`
	RefundReference *string           `json:"refund_reference"`
	Items           []orderItem       `json:"items"`
	Metadata        map[string]string `json:"metadata"`
}

// orderItem is an item of a capture or refund: Dintero's OrderItem. kassa
// checks what Dintero requires of it (line_id, amount) and keeps none of
// it: the amount is what moves.
type orderItem struct {
	ID                  string           `json:"id"`
	Version             *float64         `json:"version"`
	LineID              *string          `json:"line_id"`
	Description         string           `json:"description"`
	Quantity            *float64         `json:"quantity"`
	Amount              *int64           `json:"amount"`
	VATAmount           *int64           `json:"vat_amount"`
	VAT                 *float64         `json:"vat"`
	UnitVolume          *float64         `json:"unit_volume"`
	UnitWeight          *float64         `json:"unit_weight"`
	UnitDimensionalWt   *float64         `json:"unit_dimensional_weight"`
	Type                string           `json:"type"`
	Groups              []itemGroup      `json:"groups"`
	EligibleForDiscount *bool            `json:"eligible_for_discount"`
	IsChanged           *bool            `json:"is_changed"`
	GrossAmount         *int64           `json:"gross_amount"`
	DiscountLines       []discountLine   `json:"discount_lines"`
	Thumbnail           string           `json:"thumbnail_url"`
	Emd                 map[string]any   `json:"emd"`
	FeeSplit            map[string]any   `json:"fee_split"`
	Splits              []map[string]any `json:"splits"`
}

type itemGroup struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type discountLine struct {
	Amount       *int64   `json:"amount"`
	Percentage   *float64 `json:"percentage"`
	DiscountType string   `json:"discount_type"`
	DiscountID   string   `json:"discount_id"`
	Description  string   `json:"description"`
	LineID       *int64   `json:"line_id"`
}

// checkItems checks what Dintero requires of capture and refund items.
func checkItems(items []orderItem) error {
	for i, it := range items {
		path := "items[" + itoa(i) + "]"
		if it.LineID == nil || *it.LineID == "" {
			return required(path + ".line_id")
		}
		if err := checkReference(path+".line_id", *it.LineID); err != nil {
			return err
		}
		if it.Amount == nil {
			return required(path + ".amount")
		}
		if *it.Amount < 0 {
			return fieldError(path+".amount", payment.CodeParameterInvalid, "%s.amount must not be negative.", path)
		}
	}
	return nil
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// checkMetadata checks a capture's or refund's metadata: every key begins
// with ext_ (Dintero's StringMetadata). kassa's own limits on metadata
// apply when it is merged into the transaction's.
func checkMetadata(md map[string]string) error {
	for k := range md {
		if !strings.HasPrefix(k, "ext_") {
			return fieldError(safePath("metadata."+k), payment.CodeParameterInvalid, "metadata keys must begin with ext_.")
		}
	}
	return nil
}

// amountOf checks a required positive amount.
func amountOf(a *int64) (int64, error) {
	if a == nil {
		return 0, required("amount")
	}
	if *a <= 0 {
		return 0, fieldError("amount", payment.CodeParameterInvalid, "amount must be a positive integer in minor units.")
	}
	return *a, nil
}

// idempotent runs h behind kassa's Idempotency-Key protocol (ADR 0008): a
// request retried with the same key and body gets the first answer and
// moves no money again. The key is claimed by the follow-up's reservation.
func (s *server) idempotent(w http.ResponseWriter, r *http.Request, h func(http.ResponseWriter, *http.Request) error) error {
	api.IdempotencyAtReserve(s.eng, s.log, s.render)(api.Handle(h, s.render)).ServeHTTP(w, r)
	return nil
}

// eventReference is the reference a follow-up claims for its
// capture_reference or refund_reference, alone in its scope.
func eventReference(typ, ref string) *payment.TransactionReference {
	return &payment.TransactionReference{Scope: eventScopePrefix + payment.RandomString(16), Reference: ref, Type: typ}
}

// transactionCapture answers POST /v1/transactions/{id}/capture.
func (s *server) transactionCapture(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.idempotent(w, r, func(w http.ResponseWriter, r *http.Request) error {
		pay, err := s.payment(r, c)
		if err != nil {
			return err
		}
		var req captureRequest
		if err := decode(r, &req); err != nil {
			return err
		}
		amount, err := amountOf(req.Amount)
		if err != nil {
			return err
		}
		ctx, err := s.followUpContext(r.Context(), c, eventCapture, "capture_reference", req.CaptureReference, req.Items, req.Metadata)
		if err != nil {
			return err
		}
		pay, op, err := s.eng.Capture(ctx, c.Principal, pay.ID, &amount)
		return s.followUpResult(w, r, c, pay, op, err)
	})
}

// transactionRefund answers POST /v1/transactions/{id}/refund.
func (s *server) transactionRefund(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.idempotent(w, r, func(w http.ResponseWriter, r *http.Request) error {
		pay, err := s.payment(r, c)
		if err != nil {
			return err
		}
		var req refundRequest
		if err := decode(r, &req); err != nil {
			return err
		}
		amount, err := amountOf(req.Amount)
		if err != nil {
			return err
		}
		ctx, err := s.followUpContext(r.Context(), c, eventRefund, "refund_reference", req.RefundReference, req.Items, req.Metadata)
		if err != nil {
			return err
		}
		pay, op, err := s.eng.Refund(ctx, c.Principal, pay.ID, &amount, req.Reason)
		return s.followUpResult(w, r, c, pay, op, err)
	})
}

// voidRequest is the optional body of a void: nothing, or {}.
type voidRequest struct{}

// transactionVoid answers POST /v1/transactions/{id}/void: it releases
// what is not captured of the authorization.
func (s *server) transactionVoid(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.idempotent(w, r, func(w http.ResponseWriter, r *http.Request) error {
		pay, err := s.payment(r, c)
		if err != nil {
			return err
		}
		if err := api.DecodeOptionalJSON(r, &voidRequest{}); err != nil {
			return decodeError(err)
		}
		pay, op, err := s.eng.Void(r.Context(), c.Principal, pay.ID)
		return s.followUpResult(w, r, c, pay, op, err)
	})
}

// followUpContext checks a capture's or refund's reference, items and
// metadata and returns the context its follow-up runs under.
func (s *server) followUpContext(ctx context.Context, c *caller, typ, refPath string, ref *string, items []orderItem,
	md map[string]string) (context.Context, error) {
	if err := checkItems(items); err != nil {
		return nil, err
	}
	if err := checkMetadata(md); err != nil {
		return nil, err
	}
	ctx = engine.WithFollowUpMetadata(ctx, md)
	if ref != nil && *ref != "" {
		if err := checkReference(refPath, *ref); err != nil {
			return nil, err
		}
		ctx = s.eng.WithReservedReference(ctx, c.Principal, eventReference(typ, *ref))
	}
	return ctx, nil
}

// followUpResult answers a capture, refund or void: the transaction, 200
// once the operation settled (successful or not: its event says), 202
// with event-request-id while its outcome is unknown. A follow-up the
// transaction does not allow — its status, or more than is left — is a
// 409 and changes nothing.
func (s *server) followUpResult(w http.ResponseWriter, r *http.Request, c *caller, pay *payment.Payment, op *payment.Operation, err error) error {
	if err != nil {
		if pe, ok := payment.AsError(err); ok {
			switch {
			case pe.Kind == payment.KindNotFound:
				return errTransactionNotFound
			case pe.Code == "amount_exceeds_capturable" || pe.Code == "amount_exceeds_refundable":
				return &Error{Status: http.StatusConflict, Code: CodeConflict, Message: pe.Message,
					Errors: []FieldError{{Path: "amount", Code: pe.Code, Message: pe.Message}}}
			}
		}
		return err
	}
	t, err := s.view(c).transaction(r.Context(), pay)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if op != nil && !op.Outcome.Settled() || op != nil && op.Outcome == payment.OutcomePending {
		status = http.StatusAccepted
		w.Header().Set("event-request-id", op.ID)
	}
	return api.JSON(w, status, t)
}
