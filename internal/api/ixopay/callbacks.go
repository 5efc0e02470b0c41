package ixopay

import (
	"context"
	"encoding/json"
	"log/slog"
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
	MerchantTransactionID string          `json:"merchantTransactionId,omitempty"`
	PurchaseID            string          `json:"purchaseId,omitempty"`
	TransactionType       string          `json:"transactionType"`
	PaymentMethod         string          `json:"paymentMethod"`
	Amount                string          `json:"amount,omitempty"`
	Currency              string          `json:"currency,omitempty"`
	ReferenceUUID         string          `json:"referenceUuid,omitempty"`
	ExtraData             json.RawMessage `json:"extraData,omitempty"`
	MerchantMetaData      string          `json:"merchantMetaData,omitempty"`
	ReturnData            *returnData     `json:"returnData,omitempty"`
	ErrorMessage          string          `json:"errorMessage,omitempty"`
	ErrorCode             int             `json:"errorCode,omitempty"`
	AdapterMessage        string          `json:"adapterMessage,omitempty"`
	AdapterCode           string          `json:"adapterCode,omitempty"`
	// NotificationSource is IXOPAY's "reconciliation" on the callback of
	// a transaction whose status changed after its outcome was final.
	NotificationSource string `json:"notificationSource,omitempty"`
}

// notifiedByReconciliation is NotificationSource of a later change.
const notifiedByReconciliation = "reconciliation"

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

// callbackBody renders the callback of transaction t as it is now, or
// engine.ErrCallbackNotReady while its outcome is not final (a PENDING
// transaction is called back once the reconciler settles it). A callback
// of a change after the outcome was final (a reversal) is rendered the
// same way and says where the change came from (notificationSource).
func (s *server) callbackBody(ctx context.Context, p *payment.Principal, t *txn) ([]byte, error) {
	st, err := s.statusOf(ctx, p, t)
	if err != nil {
		return nil, err
	}
	body := callbackBody{UUID: st.UUID, MerchantTransactionID: st.MerchantTransactionID, PurchaseID: st.PurchaseID,
		TransactionType: st.TransactionType, PaymentMethod: st.PaymentMethod, Amount: st.Amount, Currency: st.Currency,
		ReferenceUUID: st.ReferenceUUID, ExtraData: st.ExtraData, MerchantMetaData: st.MerchantMetaData, ReturnData: st.ReturnData}
	if st.changed {
		body.NotificationSource = notifiedByReconciliation
	}
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
		return nil, engine.ErrCallbackNotReady
	}
	return json.Marshal(body)
}

// CallbackSigner signs the dialect's callbacks as IXOPAY does: like a
// request, over the callback URL's path and query, with the connector's
// shared secret, the body hashed with SHA-512, and the content type
// "application/json; charset=utf-8" that IXOPAY's clients verify with.
//
// A callback promised when its transaction was reserved, or with a later
// change of it, has no body yet: it is rendered from the transaction's
// status once that is final. Its message id is the transaction's uuid,
// which may name a follow-up made outside the dialect (see txn).
func CallbackSigner(eng *engine.Engine) engine.CallbackSigner {
	s := &server{eng: eng, log: slog.New(slog.DiscardHandler)}
	return func(ctx context.Context, d *payment.WebhookDelivery) (webhook.Signer, error) {
		c, err := eng.ConnectorByGUID(ctx, d.AccountID, d.SignerKey)
		if err != nil {
			return nil, err
		}
		if d.Body == nil {
			acct, err := eng.Account(ctx, d.AccountID)
			if err != nil {
				return nil, err
			}
			p := &payment.Principal{Account: acct}
			t, err := s.transaction(ctx, p, d.SignerKey, d.MessageID)
			if err != nil {
				return nil, err
			}
			if d.Body, err = s.callbackBody(ctx, p, t); err != nil {
				return nil, err
			}
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
