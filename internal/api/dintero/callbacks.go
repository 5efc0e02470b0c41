package dintero

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/webhook"
)

// Callbacks of Dintero sessions (ADR 0026). Each payment of a Dintero
// session claims a reference in SessionScope whose callback is the
// session's callback_url, promised in the reservation's own transaction;
// the webhook engine delivers it (retries, log) once the transaction is
// final, signed by CallbackSigner as Dintero does:
//
//   - GET callback_url with transaction_id, session_id, merchant_reference
//     and time added (error=failed for a declined or failed payment; and
//     event=CAPTURE|REFUND|VOID for a later event the URL asked for with
//     report_event);
//   - POST with the transaction as the body when the URL says method=POST;
//   - delay_callback=<seconds> holds the callback back that long after the
//     transaction's last change;
//   - Dintero-Signature: t=<unix>,v0-hmac-sha256=<hex> once the account has
//     a signature secret (POST /v1/admin/signature), else no signature.

// SignatureHeader is the header Dintero signs callbacks with.
const SignatureHeader = "Dintero-Signature"

// Sign is the v0-hmac-sha256 of a callback: HMAC-SHA256 under secret of
// "<t>\n<account id>\n<METHOD>\n<hostname>\n<pathname>\n<query>", the
// query's parameters sorted by name (a stable sort) and spaces as "+".
// The body is not signed.
func Sign(secret, accountID, method string, u *url.URL, t int64) string {
	payload := strconv.FormatInt(t, 10) + "\n" + accountID + "\n" + method + "\n" + u.Hostname() + "\n" +
		u.EscapedPath() + "\n" + u.Query().Encode()
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(payload))
	return hex.EncodeToString(m.Sum(nil))
}

// SignatureValue is the Dintero-Signature header of a callback.
func SignatureValue(secret, accountID, method string, u *url.URL, t int64) string {
	return "t=" + strconv.FormatInt(t, 10) + ",v0-hmac-sha256=" + Sign(secret, accountID, method, u, t)
}

// maxSkew is how far a verified signature's time may be from now.
const maxSkew = 5 * time.Minute

// VerifySignature checks a Dintero-Signature header as a receiver does:
// a t and a matching v0-hmac-sha256, t within five minutes of now.
func VerifySignature(header, secret, accountID, method string, u *url.URL, now time.Time) error {
	var t int64
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		switch {
		case !ok:
		case k == "t":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return errors.New("dintero signature: bad t")
			}
			t = n
		case k == "v0-hmac-sha256":
			sigs = append(sigs, v)
		}
	}
	if t == 0 || len(sigs) == 0 {
		return errors.New("dintero signature: no t or no v0-hmac-sha256")
	}
	if d := now.Sub(time.Unix(t, 0)); d > maxSkew || d < -maxSkew {
		return errors.New("dintero signature: t is too far from now")
	}
	want := Sign(secret, accountID, method, u, t)
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return errors.New("dintero signature: no signature matches")
}

// signatureSecret is the answer to POST /v1/admin/signature: Dintero's
// "signature secret" resource (docs.dintero.com, checkout-api/secrets; ADR
// 0028), the secret under signature.secret. kassa keeps no record of the
// secret but its sealed value, so the resource has no id.
type signatureSecret struct {
	CreatedAt time.Time     `json:"created_at"`
	CreatedBy string        `json:"created_by,omitempty"`
	Signature signatureBody `json:"signature"`
}

type signatureBody struct {
	Type   string `json:"type"`
	Secret string `json:"secret"`
}

// setSignature answers POST /v1/admin/signature: a new secret, which signs
// every callback from now on and is shown this once.
func (s *server) setSignature(w http.ResponseWriter, r *http.Request, c *caller) error {
	secret := "dsec_" + payment.RandomString(40)
	if err := s.eng.SetCallbackSignatureSecret(r.Context(), c.Principal, "secret", secret); err != nil {
		return err
	}
	out := signatureSecret{CreatedAt: s.eng.Now().UTC(), Signature: signatureBody{Type: "v0-hmac-sha256", Secret: secret}}
	if c.Key != nil {
		out.CreatedBy = c.Key.Prefix // the caller's client_id
	}
	return api.JSON(w, http.StatusOK, out)
}

// CallbackSigner renders and signs the dialect's callbacks (see above). A
// delivery's MessageID is the operation it tells of: the session payment's
// first, or a later one (a capture, refund or void) when the callback URL
// asked for it with report_event.
func CallbackSigner(eng *engine.Engine) engine.CallbackSigner {
	s := &server{eng: eng, log: slog.New(slog.DiscardHandler)}
	return func(ctx context.Context, d *payment.WebhookDelivery) (webhook.Signer, error) {
		acct, err := eng.Account(ctx, d.AccountID)
		if err != nil {
			return nil, err
		}
		c := &caller{Principal: &payment.Principal{Account: acct}}
		if d.SignerKey == payment.DinteroTokenSessionKey {
			if err := s.tokenSessionCallback(ctx, d); err != nil {
				return nil, err
			}
			return s.callbackSigner(ctx, acct.ID)
		}
		op, err := eng.Operation(ctx, acct.ID, d.MessageID)
		if err != nil {
			return nil, fmt.Errorf("dintero callback: operation: %w", err)
		}
		pay, err := eng.Payment(ctx, acct.ID, op.PaymentID)
		if err != nil {
			return nil, fmt.Errorf("dintero callback: payment: %w", err)
		}
		if len(pay.Operations) == 0 {
			return nil, fmt.Errorf("dintero callback: payment %s has no operation", pay.ID)
		}
		ref, err := eng.TransactionReferenceByOperation(ctx, c.Principal, SessionScope, pay.Operations[0].ID)
		if err != nil {
			return nil, fmt.Errorf("dintero callback: session reference: %w", err)
		}
		if !callbackFinal(pay.Status, op) {
			return nil, engine.ErrCallbackNotReady
		}
		cb, err := url.Parse(ref.Callback)
		if err != nil {
			return nil, fmt.Errorf("dintero callback: url: %w", err)
		}
		if delay, err := strconv.Atoi(cb.Query().Get("delay_callback")); err == nil && delay > 0 &&
			eng.Now().Before(pay.UpdatedAt.Add(time.Duration(min(delay, 3600))*time.Second)) {
			return nil, engine.ErrCallbackNotReady
		}
		q := cb.Query()
		q.Set("transaction_id", transactionID(acct.ID, pay.ID))
		q.Set("session_id", payment.DinteroSessionOfReference(ref.Reference))
		q.Set("merchant_reference", pay.Reference)
		q.Set("time", eng.Now().UTC().Format(time.RFC3339))
		if pay.Status == payment.StatusDeclined || pay.Status == payment.StatusFailed {
			q.Set("error", "failed")
		}
		if op.ID != pay.Operations[0].ID {
			q.Set("event", eventOfKind(op.Kind))
		}
		cb.RawQuery = q.Encode()
		d.URL, d.Method, d.Body = cb.String(), http.MethodGet, []byte{}
		if strings.EqualFold(cb.Query().Get("method"), http.MethodPost) {
			t, err := s.view(c).transaction(ctx, pay)
			if err != nil {
				return nil, err
			}
			if d.Body, err = json.Marshal(t); err != nil {
				return nil, err
			}
			d.Method = http.MethodPost
		}
		return s.callbackSigner(ctx, acct.ID)
	}
}

// callbackSigner is the signer of the account's callbacks: with its
// signature secret, or none.
func (s *server) callbackSigner(ctx context.Context, accountID string) (webhook.Signer, error) {
	secret, err := s.eng.CallbackSignatureSecret(ctx, accountID)
	if errors.Is(err, payment.ErrNotFound) {
		return callbackSigner{}, nil
	}
	if err != nil {
		return nil, err
	}
	return callbackSigner{secret: secret, accountID: payment.DinteroAccountID(accountID)}, nil
}

// tokenSessionCallback renders the callback of a completed payment-token
// session (payment.DinteroTokenSessionCallback; ADR 0027). It has no
// transaction, so it names the session: GET callback_url with session_id,
// merchant_reference and time added and no transaction_id; with
// method=POST the session (as GET /v1/sessions/{id} shows it, card_token_id
// included) is the body; delay_callback counts from the session's close.
func (s *server) tokenSessionCallback(ctx context.Context, d *payment.WebhookDelivery) error {
	cs, err := s.eng.CheckoutSession(ctx, d.AccountID, d.MessageID)
	if err != nil {
		return fmt.Errorf("dintero callback: token session: %w", err)
	}
	if cs.Status != payment.CheckoutPaid || !cs.TokenOnly() || cs.ClosedAt == nil {
		return fmt.Errorf("dintero callback: token session %s is %s, not a completed token session", cs.ID, cs.Status)
	}
	cb, err := url.Parse(cs.CallbackURL)
	if err != nil {
		return fmt.Errorf("dintero callback: url: %w", err)
	}
	q := cb.Query()
	if delay, err := strconv.Atoi(q.Get("delay_callback")); err == nil && delay > 0 &&
		s.eng.Now().Before(cs.ClosedAt.Add(time.Duration(min(delay, 3600))*time.Second)) {
		return engine.ErrCallbackNotReady
	}
	q.Set("session_id", payment.DinteroID(cs.AccountID, cs.ID))
	q.Set("merchant_reference", cs.MerchantReference)
	q.Set("time", s.eng.Now().UTC().Format(time.RFC3339))
	cb.RawQuery = q.Encode()
	d.URL, d.Method, d.Body = cb.String(), http.MethodGet, []byte{}
	if strings.EqualFold(q.Get("method"), http.MethodPost) {
		view, err := s.sessionView(ctx, cs)
		if err != nil {
			return err
		}
		if d.Body, err = json.Marshal(view); err != nil {
			return err
		}
		d.Method = http.MethodPost
	}
	return nil
}

// callbackFinal reports whether the callback of op, of a payment now in
// status st, can be sent: the payment's outcome is known, and a later
// operation is done.
func callbackFinal(st payment.Status, op *payment.Operation) bool {
	switch st {
	case payment.StatusInitiated, payment.StatusUnknown, payment.StatusOnHold:
		return false
	}
	return op.Outcome.Settled()
}

func eventOfKind(k payment.OperationKind) string {
	switch k {
	case payment.OpCapture:
		return eventCapture
	case payment.OpRefund:
		return eventRefund
	case payment.OpVoid:
		return eventVoid
	}
	return strings.ToUpper(string(k))
}

// callbackSigner signs a callback with Dintero-Signature, or leaves it
// unsigned when the account has no secret.
type callbackSigner struct{ secret, accountID string }

func (s callbackSigner) Sign(r *http.Request, _ string, now time.Time, _ []byte) error {
	if r.Method == http.MethodGet {
		r.Header.Del("Content-Type")
	}
	if s.secret == "" {
		return nil
	}
	r.Header.Set(SignatureHeader, SignatureValue(s.secret, s.accountID, r.Method, r.URL, now.Unix()))
	return nil
}
