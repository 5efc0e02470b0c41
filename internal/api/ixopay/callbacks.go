package ixopay

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/webhook"
)

// SignerName names the dialect's callback signer among the webhook
// engine's signers (engine.WebhookOptions.Signers).
const SignerName = "ixopay"

// maxCallbackURL is the longest callbackUrl kept.
const maxCallbackURL = 2000

// callbackBody is what IXOPAY posts to a transaction's callbackUrl: the
// transaction as the status API shows it, with result OK or ERROR.
type callbackBody struct {
	Result                string          `json:"result"`
	UUID                  string          `json:"uuid"`
	MerchantTransactionID string          `json:"merchantTransactionId"`
	PurchaseID            string          `json:"purchaseId,omitempty"`
	TransactionType       string          `json:"transactionType"`
	PaymentMethod         string          `json:"paymentMethod"`
	Amount                string          `json:"amount,omitempty"`
	Currency              string          `json:"currency,omitempty"`
	ExtraData             json.RawMessage `json:"extraData,omitempty"`
	MerchantMetaData      string          `json:"merchantMetaData,omitempty"`
	ReturnData            *returnData     `json:"returnData,omitempty"`
	ErrorMessage          string          `json:"errorMessage,omitempty"`
	ErrorCode             int             `json:"errorCode,omitempty"`
	AdapterMessage        string          `json:"adapterMessage,omitempty"`
	AdapterCode           string          `json:"adapterCode,omitempty"`
}

// checkCallbackURL refuses a callbackUrl that is not an absolute http(s)
// URL.
func checkCallbackURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(s) > maxCallbackURL {
		return invalid(CodeInvalidFormat, "callbackUrl: must be an absolute http or https URL of at most %d characters.", maxCallbackURL)
	}
	return engine.CheckNoCardNumber("callbackUrl", s)
}

// callback queues the callback of the transaction ref names, when it asked
// for one and its outcome is final; a pending transaction is called back
// once it settles (reconciled). Failing to queue it is logged: the
// transaction stands and its status can be read.
func (s *server) callback(ctx context.Context, p *payment.Principal, ref *payment.TransactionReference) {
	if ref.Callback == "" {
		return
	}
	st, err := s.statusOf(ctx, p, ref)
	if err != nil {
		s.log.ErrorContext(ctx, "ixopay callback: read transaction", "operation", ref.OperationID, "error", err)
		return
	}
	body := callbackBody{UUID: st.UUID, MerchantTransactionID: st.MerchantTransactionID, PurchaseID: st.PurchaseID,
		TransactionType: st.TransactionType, PaymentMethod: st.PaymentMethod, Amount: st.Amount, Currency: st.Currency,
		ExtraData: st.ExtraData, MerchantMetaData: st.MerchantMetaData, ReturnData: st.ReturnData}
	switch st.TransactionStatus {
	case StatusSuccess:
		body.Result = "OK"
	case StatusError:
		body.Result = "ERROR"
		if len(st.Errors) > 0 {
			e := st.Errors[0]
			body.ErrorMessage, body.ErrorCode, body.AdapterMessage, body.AdapterCode = e.ErrorMessage, e.ErrorCode, e.AdapterMessage, e.AdapterCode
		}
	default:
		return
	}
	b, err := json.Marshal(body)
	if err != nil {
		s.log.ErrorContext(ctx, "ixopay callback: render", "operation", ref.OperationID, "error", err)
		return
	}
	u, err := url.Parse(ref.Callback)
	if err != nil {
		return
	}
	now := s.eng.Now()
	d := &payment.WebhookDelivery{ID: payment.NewID(payment.PrefixWebhookDelivery), AccountID: p.Account.ID,
		// One message per transaction and result: a later change is
		// another message, a redelivery the same.
		MessageID: ref.OperationID + "." + body.Result, Signer: SignerName, SignerKey: ref.Scope, Method: http.MethodPost,
		URL: ref.Callback, Body: b, Queue: u.Hostname(), Live: p.Account.Live, State: payment.DeliveryPending,
		NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}
	if err := s.eng.QueueCallback(ctx, d); err != nil {
		s.log.ErrorContext(ctx, "ixopay callback: queue", "operation", ref.OperationID, "error", err)
	}
}

// callbackAfter queues the callback of the transaction a request just
// made, named by uuid on connector c.
func (s *server) callbackAfter(ctx context.Context, p *payment.Principal, c *payment.Connector, uuid string) {
	ref, err := s.eng.TransactionReferenceByOperation(ctx, p, c.GUID, uuid)
	if err != nil {
		return // refused before it was made, or a deregister's own answer
	}
	s.callback(context.WithoutCancel(ctx), p, ref)
}

// reconciled calls back a transaction whose operation the reconciler
// settled: the later change of a PENDING result.
func (s *server) reconciled(ctx context.Context, accountID, operationID string) {
	acct, err := s.eng.Account(ctx, accountID)
	if err != nil {
		return
	}
	p := &payment.Principal{Account: acct}
	ref, err := s.eng.TransactionReferenceByOperation(ctx, p, "", operationID)
	if errors.Is(err, payment.ErrNotFound) {
		// A router's later attempt: the transaction is named by its
		// payment's first operation.
		op, oerr := s.eng.Operation(ctx, accountID, operationID)
		if oerr != nil || op.PaymentID == "" {
			return
		}
		pay, perr := s.eng.Payment(ctx, accountID, op.PaymentID)
		if perr != nil || len(pay.Operations) == 0 {
			return
		}
		ref, err = s.eng.TransactionReferenceByOperation(ctx, p, "", pay.Operations[0].ID)
	}
	if err != nil {
		return
	}
	s.callback(ctx, p, ref)
}

// CallbackSigner signs the dialect's callbacks as IXOPAY does: like a
// request, over the callback URL's path and query, with the connector's
// shared secret, the body hashed with SHA-512, and the content type
// "application/json; charset=utf-8" that IXOPAY's clients verify with.
func CallbackSigner(eng *engine.Engine) engine.CallbackSigner {
	return func(ctx context.Context, d *payment.WebhookDelivery) (webhook.Signer, error) {
		c, err := eng.ConnectorByGUID(ctx, d.AccountID, d.SignerKey)
		if err != nil {
			return nil, err
		}
		secret, err := eng.ConnectorSecret(ctx, c)
		if err != nil {
			return nil, err
		}
		return callbackSigner{secret: secret}, nil
	}
}

type callbackSigner struct{ secret string }

func (s callbackSigner) Sign(r *http.Request, _ string, now time.Time, body []byte) error {
	date := now.UTC().Format(http.TimeFormat)
	r.Header.Set("Content-Type", ContentType)
	r.Header.Set("Date", date)
	r.Header.Set("X-Signature", Sign(s.secret, r.Method, ContentType, date, r.URL.RequestURI(), body))
	return nil
}
