// Package authorizenet is kassa's adapter for Authorize.Net, gateway type
// "authorize_net", speaking the JSON API (createTransactionRequest and
// friends, one endpoint for every call).
//
// Mapping decisions a reader cannot see in the code:
//
//   - Reference: refId and order.invoiceNumber both hold at most 20
//     characters, and kassa's operation ids ("op_" + 24 characters) are 27.
//     The adapter sends the last 20 characters of the reference (the random
//     tail) as both; see wireReference. QueryStatus finds the operation by
//     that invoice number.
//   - Amounts are decimal strings converted exactly from minor units with the
//     currency's exponent, and currencyCode is sent so that a currency the
//     merchant account does not settle in is refused instead of charged in
//     the account's currency.
//   - responseCode 1 is succeeded, 2 declined, 3 failed; 4 ("held for
//     review" by the Fraud Detection Suite) is unknown with the transaction
//     id as gateway reference: the merchant may still decline it, and
//     QueryStatus reports the review's end.
//   - An API-level error (messages.resultCode "Error") without a transaction
//     response is failed (E00007/E00008 invalid_credentials), except E00001
//     ("an error occurred during processing"), which is unknown. A 5xx or a
//     body that does not parse is unknown.
//   - Refunds need the card's last four digits (and "XXXX" as expiry). A
//     follow-up Request carries no card, so the adapter takes them from
//     Request.CardLast4, which the engine sets on follow-ups (or
//     gateway_specific_fields.card_last4, or Request.Card when set).
//   - Capture and void act on the original transaction, so their status is
//     read from the prior transaction's details; authorize, purchase and
//     refund are searched by invoice number among unsettled transactions
//     only (Authorize.Net has no search across settled batches by invoice
//     number): query soon after the call.
package authorizenet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/payment"
)

// Type is the gateway type.
const Type = "authorize_net"

// Endpoints.
const (
	SandboxURL = "https://apitest.authorize.net/xml/v1/request.api"
	LiveURL    = "https://api.authorize.net/xml/v1/request.api"
)

// Codes beyond the card decline codes.
const (
	CodeCardDeclined            = "card_declined"
	CodeLostCard                = "lost_card"
	CodeExpiredCard             = "expired_card"
	CodeInvalidExpiry           = "invalid_expiry_date"
	CodeInvalidNumber           = "invalid_number"
	CodeInvalidCVC              = "invalid_cvc"
	CodeInvalidAmount           = "invalid_amount"
	CodeProcessingError         = "processing_error"
	CodeInvalidCredentials      = "invalid_credentials"
	CodeInvalidReference        = "invalid_reference"
	CodeDuplicateTransaction    = "duplicate_transaction"
	CodeAmountExceedsAuthorized = "amount_exceeds_authorized"
	CodeAmountExceedsCaptured   = "amount_exceeds_captured"
	CodeAlreadyVoided           = "already_voided"
	CodeAlreadyCaptured         = "already_captured"
	CodeInvalidCurrency         = "invalid_currency"
)

// maxRef is the length of refId and order.invoiceNumber.
const maxRef = 20

// Options configure an Adapter.
type Options struct {
	// HTTP is the client; nil means one with default options.
	HTTP *gateway.HTTPClient
}

// Adapter is the Authorize.Net gateway type. It is safe for concurrent use.
type Adapter struct {
	http *gateway.HTTPClient
}

var (
	_ gateway.Adapter           = (*Adapter)(nil)
	_ gateway.Authorizer        = (*Adapter)(nil)
	_ gateway.Purchaser         = (*Adapter)(nil)
	_ gateway.Capturer          = (*Adapter)(nil)
	_ gateway.Voider            = (*Adapter)(nil)
	_ gateway.Refunder          = (*Adapter)(nil)
	_ gateway.StatusQuerier     = (*Adapter)(nil)
	_ gateway.CredentialChecker = (*Adapter)(nil)
)

// New returns an Adapter.
func New(opts Options) *Adapter {
	c := opts.HTTP
	if c == nil {
		c = gateway.NewHTTPClient(gateway.HTTPOptions{})
	}
	return &Adapter{http: c}
}

// Spec describes the type.
func (a *Adapter) Spec() gateway.Spec {
	return gateway.Spec{
		SingleCapture: true,
		Type:          Type,
		DisplayName:   "Authorize.Net",
		CredentialFields: []gateway.Field{
			// The login id identifies the account; alone it moves nothing.
			{Name: "api_login_id", Label: "API login ID", Kind: gateway.KindString, Required: true},
			{Name: "transaction_key", Label: "Transaction key", Kind: gateway.KindString, Required: true, Sensitive: true},
		},
		SettingsFields: []gateway.Field{
			{Name: "base_url", Label: "API endpoint (default: sandbox or live by the sandbox flag)", Kind: gateway.KindString, URL: true},
		},
		Operations: []payment.OperationKind{
			payment.OpAuthorize, payment.OpPurchase, payment.OpCapture, payment.OpVoid, payment.OpRefund,
		},
		PaymentMethodTypes: []string{"card"},
		GatewaySpecificFields: []gateway.Field{
			{Name: "card_last4", Label: "Last four digits of the card (refunds)", Kind: gateway.KindString},
			{Name: "customer_ip", Label: "Customer IP address", Kind: gateway.KindString},
			{Name: "duplicate_window", Label: "Duplicate transaction window (seconds)", Kind: gateway.KindInteger},
		},
		// The currencies Authorize.Net merchant accounts settle in; one
		// account settles in one of them.
		Currencies: []string{"AUD", "CAD", "CHF", "DKK", "EUR", "GBP", "NOK", "NZD", "PLN", "SEK", "USD"},
	}
}

// Authorize reserves r.Amount on r.Card (authOnlyTransaction).
func (a *Adapter) Authorize(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	return a.cardTransaction(ctx, "authOnlyTransaction", r)
}

// Purchase authorizes and captures at once (authCaptureTransaction).
func (a *Adapter) Purchase(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	return a.cardTransaction(ctx, "authCaptureTransaction", r)
}

// Capture captures r.Amount of r.PriorReference (priorAuthCaptureTransaction).
func (a *Adapter) Capture(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	if err := needPrior(r); err != nil {
		return gateway.Result{}, err
	}
	amount, currency, err := wireAmount(r)
	if err != nil {
		return gateway.Result{}, err
	}
	return a.transact(ctx, r, transactionRequest{
		TransactionType: "priorAuthCaptureTransaction",
		Amount:          amount,
		CurrencyCode:    currency,
		RefTransID:      r.PriorReference,
	})
}

// Void cancels r.PriorReference before settlement (voidTransaction).
func (a *Adapter) Void(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	if err := needPrior(r); err != nil {
		return gateway.Result{}, err
	}
	return a.transact(ctx, r, transactionRequest{
		TransactionType: "voidTransaction",
		RefTransID:      r.PriorReference,
	})
}

// Refund returns r.Amount of the settled r.PriorReference
// (refundTransaction). Authorize.Net wants the card's last four digits; it
// returns an error when neither r.Card nor gateway_specific_fields.card_last4
// gives them.
func (a *Adapter) Refund(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	if err := needPrior(r); err != nil {
		return gateway.Result{}, err
	}
	last4 := lastFour(r)
	if last4 == "" {
		return gateway.Result{}, errors.New("authorizenet: refund needs the card's last four digits (gateway_specific_fields.card_last4)")
	}
	amount, currency, err := wireAmount(r)
	if err != nil {
		return gateway.Result{}, err
	}
	tr := transactionRequest{
		TransactionType: "refundTransaction",
		Amount:          amount,
		CurrencyCode:    currency,
		Payment:         &paymentType{CreditCard: creditCardType{CardNumber: last4, ExpirationDate: "XXXX"}},
		RefTransID:      r.PriorReference,
		Order:           &orderType{InvoiceNumber: wireReference(r.Reference), Description: truncate(r.Description, 255)},
	}
	return a.transact(ctx, r, tr)
}

func (a *Adapter) cardTransaction(ctx context.Context, typ string, r *gateway.Request) (gateway.Result, error) {
	if r == nil || r.Card == nil {
		return gateway.Result{}, fmt.Errorf("authorizenet: %s needs a card", typ)
	}
	amount, currency, err := wireAmount(r)
	if err != nil {
		return gateway.Result{}, err
	}
	c := r.Card
	tr := transactionRequest{
		TransactionType: typ,
		Amount:          amount,
		CurrencyCode:    currency,
		Payment: &paymentType{CreditCard: creditCardType{
			CardNumber:     c.Number,
			ExpirationDate: fmt.Sprintf("%04d-%02d", c.ExpYear, c.ExpMonth),
			CardCode:       c.CVC,
		}},
		Order:  &orderType{InvoiceNumber: wireReference(r.Reference), Description: truncate(r.Description, 255)},
		BillTo: billTo(c),
	}
	if c.Email != "" {
		tr.Customer = &customerType{Email: truncate(c.Email, 255)}
	}
	// customerIP holds 15 characters: an IPv4 address. A longer value
	// (IPv6) is left out rather than cut into another address.
	if ip, ok := r.GatewaySpecificFields["customer_ip"].(string); ok && len(ip) <= 15 {
		tr.CustomerIP = ip
	}
	if w, ok := intField(r.GatewaySpecificFields["duplicate_window"]); ok {
		tr.TransactionSettings = &settingsType{Setting: []settingType{{SettingName: "duplicateWindow", SettingValue: strconv.Itoa(w)}}}
	}
	return a.transact(ctx, r, tr)
}

// transact sends one createTransactionRequest and maps its answer.
func (a *Adapter) transact(ctx context.Context, r *gateway.Request, tr transactionRequest) (gateway.Result, error) {
	body, err := json.Marshal(createTransactionRequest{Request: createTransactionBody{
		MerchantAuthentication: auth(r.Config),
		RefID:                  wireReference(r.Reference),
		TransactionRequest:     tr,
	}})
	if err != nil {
		return gateway.Result{}, fmt.Errorf("authorizenet: encoding request: %w", err)
	}
	resp, tx, err := a.post(ctx, r.Config, r.Card, body)
	if err != nil {
		return gateway.Result{
			Outcome:    gateway.ClassifyNetError(err),
			Message:    "Authorize.Net did not answer: " + netMessage(tx, err),
			Transcript: tx,
		}, nil
	}
	res := classify(resp)
	res.Transcript = tx
	return res, nil
}

// post sends body to the configured endpoint through a scrubber of the
// call's secrets.
func (a *Adapter) post(ctx context.Context, c gateway.Config, card *gateway.Card, body []byte) (*gateway.HTTPResponse, *gateway.Transcript, error) {
	tx := &gateway.Transcript{}
	req, err := http.NewRequest(http.MethodPost, endpoint(c), nil)
	if err != nil {
		// Nothing left; the URL may hold anything, so it is not quoted.
		return nil, tx, &gateway.NetError{Sent: false, Err: errors.New("authorizenet: base_url is not a valid URL")}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	scrub := gateway.NewScrubber(card, map[string]string{"transaction_key": c.Credentials["transaction_key"]})
	resp, ex, err := a.http.Do(ctx, c.Live, req, body, scrub)
	tx.Add(ex)
	return resp, tx, err
}

// classify maps a createTransactionResponse to a Result.
func classify(resp *gateway.HTTPResponse) gateway.Result {
	if resp.Status >= 500 {
		return gateway.Result{Outcome: payment.OutcomeUnknown, ResponseCode: strconv.Itoa(resp.Status),
			Message: fmt.Sprintf("Authorize.Net answered HTTP %d", resp.Status)}
	}
	var ctr createTransactionResponse
	if err := decode(resp.Body, &ctr); err != nil {
		return gateway.Result{Outcome: payment.OutcomeUnknown, ResponseCode: strconv.Itoa(resp.Status),
			Message: "Authorize.Net's answer could not be read: " + err.Error()}
	}
	if resp.Status != http.StatusOK && ctr.Messages.ResultCode == "" {
		return gateway.Result{Outcome: payment.OutcomeFailed, DeclineCode: CodeProcessingError,
			ResponseCode: strconv.Itoa(resp.Status), Message: fmt.Sprintf("Authorize.Net answered HTTP %d", resp.Status)}
	}
	if t := ctr.TransactionResponse; t != nil && t.ResponseCode != "" {
		res := gateway.Result{
			GatewayReference:     zeroless(t.TransID),
			AVSCode:              t.AVSResultCode,
			CVVCode:              t.CVVResultCode,
			NetworkTransactionID: t.NetworkTransID,
			ResponseCode:         t.ResponseCode,
		}
		reason := ""
		if len(t.Errors) > 0 {
			reason = t.Errors[0].ErrorCode
			res.Message = t.Errors[0].ErrorText
		} else if len(t.Messages) > 0 {
			reason = t.Messages[0].Code
			res.Message = t.Messages[0].Description
		}
		if reason != "" {
			res.ResponseCode = t.ResponseCode + "/" + reason
		}
		switch t.ResponseCode {
		case "1":
			res.Outcome = payment.OutcomeSucceeded
		case "2":
			res.Outcome = payment.OutcomeDeclined
			res.DeclineCode = reasonCode(reason, CodeCardDeclined)
		case "3":
			res.Outcome = payment.OutcomeFailed
			res.DeclineCode = reasonCode(reason, CodeProcessingError)
			if mayHaveAuthorized[reason] {
				// "Failed" means nothing happened; these say an
				// authorization may be on the card after all.
				res.Outcome, res.DeclineCode = payment.OutcomeUnknown, ""
			}
		case "4":
			res.Outcome = payment.OutcomeUnknown
			res.Message = "Held for review by Authorize.Net's fraud filters: " + res.Message
		default:
			res.Outcome = payment.OutcomeUnknown
		}
		return res
	}
	if ctr.Messages.ResultCode == "Error" && len(ctr.Messages.Message) > 0 {
		m := ctr.Messages.Message[0]
		res := gateway.Result{Outcome: payment.OutcomeFailed, ResponseCode: m.Code, Message: m.Text,
			DeclineCode: apiErrorCode(m.Code)}
		if m.Code == "E00001" {
			res.Outcome, res.DeclineCode = payment.OutcomeUnknown, ""
		}
		return res
	}
	return gateway.Result{Outcome: payment.OutcomeUnknown, Message: "Authorize.Net's answer has no transaction response"}
}

// reasonCodes maps Authorize.Net response reason codes (the errorCode of
// transactionResponse.errors) to kassa's codes. Authorize.Net does not
// report insufficient funds or do-not-honor apart from the general decline
// (2).
var reasonCodes = map[string]string{
	"2": CodeCardDeclined, "3": CodeCardDeclined, // general decline; referral
	"4": CodeLostCard, // lost or stolen, pick up card
	"5": CodeInvalidAmount,
	"6": CodeInvalidNumber, "37": CodeInvalidNumber, "315": CodeInvalidNumber,
	"7": CodeInvalidExpiry, "316": CodeInvalidExpiry,
	"8": CodeExpiredCard, "317": CodeExpiredCard,
	"11": CodeDuplicateTransaction,
	"13": CodeInvalidCredentials,
	"16": CodeInvalidReference, "54": CodeInvalidReference,
	"17": CodeCardDeclined, "28": CodeCardDeclined, // card type not accepted
	"19": CodeProcessingError, "20": CodeProcessingError, "21": CodeProcessingError,
	"22": CodeProcessingError, "23": CodeProcessingError, "25": CodeProcessingError,
	"26": CodeProcessingError, "35": CodeProcessingError, "57": CodeProcessingError,
	"58": CodeProcessingError, "59": CodeProcessingError, "60": CodeProcessingError,
	"61": CodeProcessingError, "62": CodeProcessingError, "63": CodeProcessingError,
	"36": CodeProcessingError, // approved but settlement failed
	// The authorizer timed out or failed and the automatic void failed too.
	"120": CodeProcessingError, "121": CodeProcessingError, "122": CodeProcessingError,
	"27": CodeCardDeclined, "127": CodeCardDeclined, // AVS mismatch (the AVS code says which)
	"41": CodeCardDeclined, "250": CodeCardDeclined, "251": CodeCardDeclined, "254": CodeCardDeclined, // fraud filters
	"44": CodeInvalidCVC, "45": CodeInvalidCVC, "65": CodeInvalidCVC, "78": CodeInvalidCVC,
	"47":  CodeAmountExceedsAuthorized,
	"55":  CodeAmountExceedsCaptured,
	"39":  CodeInvalidCurrency,
	"310": CodeAlreadyVoided,
	"311": CodeAlreadyCaptured,
}

func reasonCode(reason, fallback string) string {
	if c, ok := reasonCodes[reason]; ok {
		return c
	}
	return fallback
}

// apiErrorCode maps an API-level message code (E000nn).
func apiErrorCode(code string) string {
	switch code {
	case "E00007", "E00008", "E00124":
		return CodeInvalidCredentials
	case "E00040":
		return CodeInvalidReference
	}
	return CodeProcessingError
}

// utf8BOM starts every JSON answer of Authorize.Net.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

func decode(body []byte, v any) error {
	return json.Unmarshal(bytes.TrimPrefix(body, utf8BOM), v)
}

// QueryStatus finds what became of r.Reference. Capture and void are read
// from the prior transaction's status (getTransactionDetailsRequest);
// authorize, purchase and refund are searched by invoice number among the
// unsettled transactions (getUnsettledTransactionListRequest); not finding
// it there is unknown, never ErrReferenceNotFound, because it may have
// settled.
func (a *Adapter) QueryStatus(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	if r == nil {
		return gateway.Result{}, errors.New("authorizenet: nil request")
	}
	switch r.Kind {
	case payment.OpCapture, payment.OpVoid:
		return a.queryFollowUp(ctx, r)
	case payment.OpAuthorize, payment.OpPurchase, payment.OpRefund:
		return a.queryByInvoice(ctx, r)
	}
	return gateway.Result{}, fmt.Errorf("authorizenet: status of %s: %w", r.Kind, gateway.ErrUnsupported)
}

// maxPages bounds the unsettled-transaction search; past it the answer is
// unknown rather than "not found".
const (
	pageSize = 1000
	maxPages = 10
)

func (a *Adapter) queryByInvoice(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	invoice := wireReference(r.Reference)
	tx := &gateway.Transcript{}
	for page := 1; page <= maxPages; page++ {
		body, err := json.Marshal(getUnsettledTransactionListRequest{Request: getUnsettledTransactionListBody{
			MerchantAuthentication: auth(r.Config),
			Sorting:                sortingType{OrderBy: "submitTimeUTC", OrderDescending: true},
			Paging:                 pagingType{Limit: pageSize, Offset: page},
		}})
		if err != nil {
			return gateway.Result{}, fmt.Errorf("authorizenet: encoding request: %w", err)
		}
		resp, t, err := a.post(ctx, r.Config, nil, body)
		tx.Exchanges = append(tx.Exchanges, t.Exchanges...)
		if err != nil {
			return gateway.Result{Outcome: payment.OutcomeUnknown, Message: "Status query failed: " + netMessage(t, err), Transcript: tx}, nil
		}
		var list getUnsettledTransactionListResponse
		if resp.Status != http.StatusOK {
			return gateway.Result{Outcome: payment.OutcomeUnknown, Message: fmt.Sprintf("Status query answered HTTP %d", resp.Status), Transcript: tx}, nil
		}
		if err := decode(resp.Body, &list); err != nil || list.Messages.ResultCode != "Ok" {
			return gateway.Result{Outcome: payment.OutcomeUnknown, Message: "Status query failed: " + describe(list.Messages, err), Transcript: tx}, nil
		}
		for _, s := range list.Transactions {
			if s.InvoiceNumber == invoice {
				res := statusResult(s.TransactionStatus)
				res.GatewayReference = s.TransID
				res.Transcript = tx
				return res, nil
			}
		}
		if len(list.Transactions) < pageSize || page*pageSize >= list.TotalNumInResultSet {
			// Not among the unsettled transactions does not mean it never
			// happened: it may have settled since (Authorize.Net settles
			// daily and cannot search settled batches by invoice). Saying
			// "not found" would let kassa mark a real charge not sent.
			return gateway.Result{Outcome: payment.OutcomeUnknown, Transcript: tx,
				Message: "No unsettled transaction carries this reference; it may have settled, or never arrived."}, nil
		}
	}
	return gateway.Result{Outcome: payment.OutcomeUnknown, Message: "Too many unsettled transactions to search", Transcript: tx}, nil
}

// statusResult maps the transactionStatus of the transaction an authorize,
// purchase or refund created.
// mayHaveAuthorized are error reasons after which an authorization may
// exist: 36 (approved, but settlement failed) and 120–122 (the authorizer
// timed out or failed and the automatic void failed too).
var mayHaveAuthorized = map[string]bool{"36": true, "120": true, "121": true, "122": true}

func statusResult(status string) gateway.Result {
	res := gateway.Result{ResponseCode: status, Message: "Transaction status " + status}
	switch status {
	case "authorizedPendingCapture", "capturedPendingSettlement", "refundPendingSettlement",
		"settledSuccessfully", "refundSettledSuccessfully", "pendingFinalSettlement", "pendingSettlement",
		"approvedReview", "authorizedPendingRelease", "couldNotVoid":
		res.Outcome = payment.OutcomeSucceeded
	case "voided", "expired":
		// kassa sends no void while an authorization's outcome is unknown:
		// a fraud filter or the merchant voided it, or it lapsed. No money
		// is held or collected, so for kassa it did not go through.
		res.Outcome, res.DeclineCode = payment.OutcomeDeclined, CodeCardDeclined
	case "declined", "failedReview":
		res.Outcome, res.DeclineCode = payment.OutcomeDeclined, CodeCardDeclined
	case "generalError", "communicationError", "settlementError":
		res.Outcome, res.DeclineCode = payment.OutcomeFailed, CodeProcessingError
	default: // FDSPendingReview, FDSAuthorizedPendingReview, underReview, …
		res.Outcome = payment.OutcomeUnknown
	}
	return res
}

func (a *Adapter) queryFollowUp(ctx context.Context, r *gateway.Request) (gateway.Result, error) {
	if err := needPrior(r); err != nil {
		return gateway.Result{}, err
	}
	var q getTransactionDetailsRequest
	q.Request.MerchantAuthentication = auth(r.Config)
	q.Request.TransID = r.PriorReference
	body, err := json.Marshal(q)
	if err != nil {
		return gateway.Result{}, fmt.Errorf("authorizenet: encoding request: %w", err)
	}
	resp, tx, err := a.post(ctx, r.Config, nil, body)
	if err != nil {
		return gateway.Result{Outcome: payment.OutcomeUnknown, Message: "Status query failed: " + netMessage(tx, err), Transcript: tx}, nil
	}
	var d getTransactionDetailsResponse
	if resp.Status != http.StatusOK {
		return gateway.Result{Outcome: payment.OutcomeUnknown, Message: fmt.Sprintf("Status query answered HTTP %d", resp.Status), Transcript: tx}, nil
	}
	if err := decode(resp.Body, &d); err != nil || d.Messages.ResultCode != "Ok" || d.Transaction == nil {
		return gateway.Result{Outcome: payment.OutcomeUnknown, Message: "Status query failed: " + describe(d.Messages, err), Transcript: tx}, nil
	}
	t := d.Transaction
	res := gateway.Result{Outcome: payment.OutcomeUnknown, GatewayReference: t.TransID, ResponseCode: t.TransactionStatus,
		Message: "Transaction status " + t.TransactionStatus, AVSCode: t.AVSResponse, CVVCode: t.CardCodeResponse,
		NetworkTransactionID: t.NetworkTransID, Transcript: tx}
	captured := map[string]bool{"capturedPendingSettlement": true, "settledSuccessfully": true,
		"pendingFinalSettlement": true, "pendingSettlement": true}
	switch {
	case r.Kind == payment.OpCapture && captured[t.TransactionStatus],
		r.Kind == payment.OpVoid && t.TransactionStatus == "voided":
		res.Outcome = payment.OutcomeSucceeded
	case r.Kind == payment.OpCapture && (t.TransactionStatus == "authorizedPendingCapture" || t.TransactionStatus == "voided"),
		r.Kind == payment.OpVoid && (t.TransactionStatus == "authorizedPendingCapture" || captured[t.TransactionStatus]):
		// The prior transaction is in the state the follow-up would have
		// changed: it did not happen.
		return gateway.Result{}, fmt.Errorf("authorizenet: %s of %s: %w", r.Kind, r.PriorReference, gateway.ErrReferenceNotFound)
	}
	return res, nil
}

// CheckCredentials asks authenticateTestRequest whether c's credentials
// work.
func (a *Adapter) CheckCredentials(ctx context.Context, c gateway.Config) error {
	var q authenticateTestRequest
	q.Request.MerchantAuthentication = auth(c)
	body, err := json.Marshal(q)
	if err != nil {
		return fmt.Errorf("authorizenet: encoding request: %w", err)
	}
	resp, _, err := a.post(ctx, c, nil, body)
	if err != nil {
		return fmt.Errorf("authorizenet: checking credentials: %w", err)
	}
	if resp.Status != http.StatusOK {
		return fmt.Errorf("authorizenet: checking credentials: HTTP %d", resp.Status)
	}
	var m struct {
		Messages messagesType `json:"messages"`
	}
	if err := decode(resp.Body, &m); err != nil {
		return fmt.Errorf("authorizenet: checking credentials: reading answer: %w", err)
	}
	if m.Messages.ResultCode == "Ok" {
		return nil
	}
	if len(m.Messages.Message) > 0 && apiErrorCode(m.Messages.Message[0].Code) == CodeInvalidCredentials {
		return &payment.Error{Kind: payment.KindInvalid, Code: CodeInvalidCredentials,
			Message: "Authorize.Net refused the credentials: " + m.Messages.Message[0].Text}
	}
	return fmt.Errorf("authorizenet: checking credentials: %s", describe(m.Messages, nil))
}

// netMessage says why a call failed, from the scrubbed exchange when there
// is one.
func netMessage(tx *gateway.Transcript, err error) string {
	if n := len(tx.Exchanges); n > 0 && tx.Exchanges[n-1].Error != "" {
		return tx.Exchanges[n-1].Error
	}
	return err.Error()
}

func describe(m messagesType, err error) string {
	if err != nil {
		return "unreadable answer: " + err.Error()
	}
	if len(m.Message) > 0 {
		return m.Message[0].Code + " " + m.Message[0].Text
	}
	return "no result"
}

func auth(c gateway.Config) merchantAuthentication {
	return merchantAuthentication{Name: c.Credentials["api_login_id"], TransactionKey: c.Credentials["transaction_key"]}
}

func endpoint(c gateway.Config) string {
	if u, ok := c.Settings["base_url"].(string); ok && u != "" {
		return u
	}
	if c.Sandbox {
		return SandboxURL
	}
	return LiveURL
}

// wireReference is what of kassa's reference fits refId and invoiceNumber:
// the last 20 characters. kassa's operation ids end in random characters,
// so the tail keeps them apart.
func wireReference(ref string) string {
	if len(ref) <= maxRef {
		return ref
	}
	return ref[len(ref)-maxRef:]
}

func wireAmount(r *gateway.Request) (amount, currency string, err error) {
	exp, ok := payment.CurrencyExponent(r.Currency)
	if !ok {
		return "", "", fmt.Errorf("authorizenet: unknown currency %q", r.Currency)
	}
	amount, err = formatAmount(r.Amount, exp)
	return amount, r.Currency, err
}

func needPrior(r *gateway.Request) error {
	if r == nil || r.PriorReference == "" {
		return errors.New("authorizenet: follow-up without a prior reference")
	}
	return nil
}

func lastFour(r *gateway.Request) string {
	if len(r.CardLast4) == 4 && allDigits(r.CardLast4) {
		return r.CardLast4 // set by the engine on follow-ups
	}
	if v, ok := r.GatewaySpecificFields["card_last4"].(string); ok && len(v) == 4 && allDigits(v) {
		return v
	}
	if r.Card != nil && len(r.Card.Number) >= 4 && allDigits(r.Card.Number[len(r.Card.Number)-4:]) {
		return r.Card.Number[len(r.Card.Number)-4:]
	}
	return ""
}

func billTo(c *gateway.Card) *customerAddressType {
	first, last := c.HolderName, ""
	if i := strings.LastIndexByte(strings.TrimSpace(c.HolderName), ' '); i > 0 {
		first, last = strings.TrimSpace(c.HolderName[:i]), strings.TrimSpace(c.HolderName[i+1:])
	}
	b := c.Billing
	line := strings.TrimSpace(b.Line1 + " " + b.Line2)
	out := &customerAddressType{
		FirstName: truncate(first, 50), LastName: truncate(last, 50), Address: truncate(line, 60),
		City: truncate(b.City, 40), State: truncate(b.State, 40), Zip: truncate(b.PostalCode, 20),
		Country: truncate(b.Country, 60),
	}
	if *out == (customerAddressType{}) {
		return nil
	}
	return out
}

// truncate cuts s to n characters (Authorize.Net counts characters).
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// zeroless drops the transId "0" that Authorize.Net returns for a
// transaction it never created (errors, test mode).
func zeroless(id string) string {
	if id == "0" {
		return ""
	}
	return id
}

func intField(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	case float64:
		if x == float64(int(x)) {
			return int(x), true
		}
	case string:
		n, err := strconv.Atoi(x)
		return n, err == nil
	case json.Number:
		n, err := x.Int64()
		return int(n), err == nil
	}
	return 0, false
}
