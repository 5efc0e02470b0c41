package ixopay

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// transactionRoutes are the transaction API v3's endpoints.
var transactionRoutes = []route{
	{"POST", "/api/v3/transaction/{apiKey}/debit", txHandler(TypeDebit)},
	{"POST", "/api/v3/transaction/{apiKey}/preauthorize", txHandler(TypePreauthorize)},
	{"POST", "/api/v3/transaction/{apiKey}/capture", txHandler(TypeCapture)},
	{"POST", "/api/v3/transaction/{apiKey}/void", txHandler(TypeVoid)},
	{"POST", "/api/v3/transaction/{apiKey}/refund", txHandler(TypeRefund)},
	{"POST", "/api/v3/transaction/{apiKey}/register", txHandler(TypeRegister)},
	{"POST", "/api/v3/transaction/{apiKey}/deregister", txHandler(TypeDeregister)},
	{"POST", "/api/v3/transaction/{apiKey}/payout", txHandler(TypePayout)},
	{"POST", "/api/v3/transaction/{apiKey}/incrementalAuthorization", txHandler(TypeIncremental)},
	{"GET", "/api/v3/status/{apiKey}/getByUuid/{uuid}", (*server).statusByUUID},
	{"GET", "/api/v3/status/{apiKey}/getByMerchantTransactionId/{merchantTransactionId}", (*server).statusByMerchantTransactionID},
}

// Error codes of transaction results (IXOPAY's payment and network
// families).
const (
	CodeDeclined          = 2003 // transaction declined
	CodeInsufficientFunds = 2006
	CodeIncorrectPayment  = 2007 // incorrect payment information (CVC)
	CodeInvalidCard       = 2008
	CodeExpiredCard       = 2009
	CodeFraudulentCard    = 2010
	CodeUnsupportedCard   = 2011
	CodeRiskBlock         = 2013
	CodePickupCard        = 2014
	CodeLostCard          = 2015
	CodeStolenCard        = 2016
	CodeCVVRequired       = 2020
	Code3DSecureFailed    = 2021
	CodeTimeout           = 3001
	CodeNotAllowed        = 3002 // the transaction is not allowed
	CodeUnavailable       = 3003 // the gateway is temporarily unavailable
	CodeDuplicateID       = 3004 // duplicate merchantTransactionId
	CodeCommunication     = 3005
)

// declineCodes maps kassa's normalised decline codes onto IXOPAY's; any
// other decline is 2003.
var declineCodes = map[string]int{
	"card_declined":           CodeDeclined,
	"do_not_honor":            CodeDeclined,
	"generic_decline":         CodeDeclined,
	"insufficient_funds":      CodeInsufficientFunds,
	"incorrect_cvc":           CodeIncorrectPayment,
	"invalid_cvc":             CodeIncorrectPayment,
	"incorrect_number":        CodeInvalidCard,
	"invalid_number":          CodeInvalidCard,
	"invalid_account":         CodeInvalidCard,
	"expired_card":            CodeExpiredCard,
	"fraudulent":              CodeFraudulentCard,
	"card_not_supported":      CodeUnsupportedCard,
	"risk_block":              CodeRiskBlock,
	"pickup_card":             CodePickupCard,
	"lost_card":               CodeLostCard,
	"stolen_card":             CodeStolenCard,
	"cvc_required":            CodeCVVRequired,
	"authentication_required": Code3DSecureFailed,
}

// IXOPAY's default messages of the codes kassa answers with.
var codeMessages = map[int]string{
	CodeDeclined: "Transaction declined", CodeInsufficientFunds: "Insufficient funds",
	CodeIncorrectPayment: "Incorrect payment info", CodeInvalidCard: "Invalid card", CodeExpiredCard: "Expired card",
	CodeFraudulentCard: "Fraudulent card", CodeUnsupportedCard: "Unsupported card", CodeRiskBlock: "Risk check block",
	CodePickupCard: "Pickup card", CodeLostCard: "Lost card", CodeStolenCard: "Stolen card", CodeCVVRequired: "CVV required",
	Code3DSecureFailed: "3-D Secure verification failed", CodeTimeout: "Timeout", CodeNotAllowed: "Transaction not allowed",
	CodeUnavailable: "System temporarily unavailable", CodeDuplicateID: "Duplicate transaction ID",
	CodeCommunication: "Communication error",
}

// Values of a connector's disabledTransactionTypes.
const (
	disabledInitialDebit          = "initial_debit"
	disabledInitialPreauthorize   = "initial_preauthorize"
	disabledCapture               = "capture"
	disabledPartialCapture        = "partial_capture"
	disabledRefund                = "refund"
	disabledPartialRefund         = "partial_refund"
	disabledRegister              = "register"
	disabledDeregister            = "deregister"
	disabledPayout                = "payout"
	disabledRecurringDebit        = "recurring_debit"
	disabledRecurringPreauthorize = "recurring_preauthorize"
)

// paymentMethodCreditcard is the only payment method kassa's connectors
// take.
const paymentMethodCreditcard = "Creditcard"

// Metadata keys under which a payment keeps IXOPAY's fields kassa does not
// act on.
const (
	mdAdditionalID1    = "ixopay.additionalId1"
	mdAdditionalID2    = "ixopay.additionalId2"
	mdExtraData        = "ixopay.extraData"
	mdMerchantMetaData = "ixopay.merchantMetaData"
	mdCustomer         = "ixopay.customer"
	mdIndicator        = "ixopay.transactionIndicator"
)

// storedCredentials maps transactionIndicator onto kassa's stored
// credential: who starts the payment, and why. SINGLE and MOTO are not
// stored-credential transactions.
var storedCredentials = map[string]*payment.StoredCredential{
	"SINGLE":                        nil,
	"MOTO":                          nil,
	"INITIAL":                       {Initiator: "cardholder", Reason: "recurring"},
	"RECURRING":                     {Initiator: "merchant", Reason: "recurring"},
	"CARDONFILE":                    {Initiator: "cardholder", Reason: "unscheduled"},
	"CARDONFILE-MERCHANT-INITIATED": {Initiator: "merchant", Reason: "unscheduled"},
}

// tx is one transaction request being handled.
type tx struct {
	s    *server
	p    *payment.Principal
	c    *payment.Connector
	typ  string
	req  *txRequest
	body []byte
}

func txHandler(typ string) func(s *server, w http.ResponseWriter, r *http.Request, p *payment.Principal) error {
	return func(s *server, w http.ResponseWriter, r *http.Request, p *payment.Principal) error {
		c, body, err := s.openConnector(r, p, true)
		if err != nil {
			return err
		}
		if typ == TypeIncremental {
			// kassa's engine has no incremental authorization, whatever
			// the connector's adapter.
			return writeJSON(w, http.StatusOK, txResult{Success: false, ReturnType: ReturnError, Errors: []txError{{
				ErrorCode: CodeNotAllowed, ErrorMessage: "incrementalAuthorization is not supported by this connector's adapter.",
			}}})
		}
		req, err := decodeTx(body)
		if err != nil {
			return err
		}
		t := &tx{s: s, p: p, c: c, typ: typ, req: req, body: body}
		res, err := t.run(r.Context())
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, res)
	}
}

// openConnector finds the caller's connector named by the path's apiKey,
// refuses an archived or disabled one a transaction (its status lookups
// still answer), reads the body and, when the
// connector requires it, verifies the request's signature over it before
// anything else happens.
func (s *server) openConnector(r *http.Request, p *payment.Principal, transaction bool) (*payment.Connector, []byte, error) {
	ctx := r.Context()
	c, err := s.eng.ConnectorByAPIKey(ctx, p, r.PathValue("apiKey"))
	if errors.Is(err, payment.ErrNotFound) {
		return nil, nil, errUnknownConnector
	}
	if err != nil {
		return nil, nil, err
	}
	switch {
	case !transaction:
	case c.Archived:
		return nil, nil, invalid(CodeValueNotAllowed, "This connector is archived: it accepts no transactions.")
	case c.Disabled:
		return nil, nil, invalid(CodeValueNotAllowed, "This connector is disabled: it accepts no transactions.")
	}
	body, err := api.ReadBody(r)
	if err != nil {
		return nil, nil, err
	}
	if c.SignatureRequired {
		secret, err := s.eng.ConnectorSecret(ctx, c)
		if err != nil {
			return nil, nil, err
		}
		if err := VerifySignature(secret, r, body, s.eng.Now()); err != nil {
			s.log.InfoContext(ctx, "ixopay request signature refused", "connector", c.GUID, "reason", err.Error())
			return nil, nil, errSignature
		}
	}
	return c, body, nil
}

// refused is a result without a transaction: nothing happened.
func refused(code int, message string) *txResult {
	return &txResult{Success: false, ReturnType: ReturnError, Errors: []txError{{ErrorCode: code, ErrorMessage: message}}}
}

func (t *tx) disabled(kind string) bool { return slices.Contains(t.c.DisabledTransactionTypes, kind) }

func refusedType(kind string) *txResult {
	return refused(CodeNotAllowed, "Transaction type "+kind+" is disabled on this connector.")
}

// run validates the request and performs it.
func (t *tx) run(ctx context.Context) (*txResult, error) {
	req := t.req
	if req.MerchantTransactionID == "" {
		return nil, invalid(CodeMissing, "merchantTransactionId: is required.")
	}
	if len(req.MerchantTransactionID) > MaxMerchantTransactionID {
		return nil, invalid(CodeInvalidFormat, "merchantTransactionId: must be at most %d characters.", MaxMerchantTransactionID)
	}
	if err := engine.CheckNoCardNumber("merchantTransactionId", req.MerchantTransactionID); err != nil {
		return nil, err
	}
	if err := checkCallbackURL(req.CallbackURL); err != nil {
		return nil, err
	}
	if _, ok := storedCredentials[req.TransactionIndicator]; req.TransactionIndicator != "" && !ok {
		return nil, invalid(CodeValueNotAllowed, "transactionIndicator: must be one of SINGLE, INITIAL, RECURRING, CARDONFILE, CARDONFILE-MERCHANT-INITIATED, MOTO.")
	}
	if err := checkKept(t.typ, req); err != nil {
		return nil, err
	}
	// A name already taken answers at once; the reservation's claim is
	// what makes it certain under concurrency.
	if _, err := t.s.eng.TransactionReference(ctx, t.p, t.c.GUID, req.MerchantTransactionID); err == nil {
		return nil, errDuplicate
	} else if !errors.Is(err, payment.ErrNotFound) {
		return nil, err
	}
	var res *txResult
	var err error
	switch t.typ {
	case TypeDebit, TypePreauthorize:
		res, err = t.pay(ctx)
	case TypeCapture, TypeVoid, TypeRefund:
		res, err = t.followUp(ctx)
	case TypeRegister:
		res, err = t.register(ctx)
	case TypeDeregister:
		res, err = t.deregister(ctx)
	case TypePayout:
		res, err = t.payout(ctx)
	}
	if errors.Is(err, payment.ErrReferenceTaken) {
		return nil, errDuplicate
	}
	return res, err
}

// money reads amount and currency; required says they must be there.
func (t *tx) money() (int64, string, error) {
	req := t.req
	if req.Currency == "" {
		return 0, "", invalid(CodeMissing, "currency: is required.")
	}
	exp, ok := currencyExponent(req.Currency)
	if !ok {
		return 0, "", invalid(CodeValueNotAllowed, "currency: must be an ISO 4217 currency code.")
	}
	if !req.Amount.set {
		return 0, "", invalid(CodeMissing, "amount: is required.")
	}
	v, err := ParseAmount(req.Amount.text, exp)
	if err != nil {
		return 0, "", invalid(CodeInvalidFormat, "amount: must be a decimal string with at most %d decimals for %s.", exp, req.Currency)
	}
	if v <= 0 {
		return 0, "", invalid(CodeValueNotAllowed, "amount: must be greater than zero.")
	}
	return v, req.Currency, nil
}

// reference is the name the reservation claims, with the request's fields
// kassa keeps for the transaction.
func (t *tx) reference(pmID string) *payment.TransactionReference {
	return &payment.TransactionReference{Scope: t.c.GUID, Reference: t.req.MerchantTransactionID, Type: t.typ,
		PaymentMethodID: pmID, Callback: t.req.CallbackURL, CallbackSigner: SignerName, Attributes: keptOf(t.typ, t.req)}
}

// referenced is the transaction referenceUuid names on this connector.
func (t *tx) referenced(ctx context.Context) (*payment.TransactionReference, error) {
	id := t.req.ReferenceUUID
	if err := engine.CheckNoCardNumber("referenceUuid", id); err != nil {
		return nil, err
	}
	ref, err := t.s.eng.TransactionReferenceByOperation(ctx, t.p, t.c.GUID, id)
	if errors.Is(err, payment.ErrNotFound) {
		return nil, notFound("Transaction referenceUuid", id)
	}
	return ref, err
}

// paymentMethod is the card of a debit, preauthorize, register or payout:
// cardData (vaulted now; kept when retain), a transactionToken (a
// payment method tokenized with the connector's publicIntegrationKey) or
// the card of the transaction referenceUuid names.
func (t *tx) paymentMethod(ctx context.Context, retain bool) (string, error) {
	req := t.req
	switch {
	case req.CardData != nil:
		return t.vault(ctx, retain)
	case req.TransactionToken != "":
		if err := engine.CheckNoCardNumber("transactionToken", req.TransactionToken); err != nil {
			return "", err
		}
		pm, err := t.s.eng.PaymentMethod(ctx, t.p.Account.ID, req.TransactionToken)
		if errors.Is(err, payment.ErrNotFound) {
			return "", notFound("transactionToken", req.TransactionToken)
		}
		if err != nil {
			return "", err
		}
		if retain && pm.StorageState == payment.StorageCached {
			if _, err := t.s.eng.RetainPaymentMethod(ctx, t.p.Account.ID, pm.ID); err != nil {
				return "", err
			}
		}
		return pm.ID, nil
	case req.ReferenceUUID != "":
		ref, err := t.referenced(ctx)
		if err != nil {
			return "", err
		}
		if ref.PaymentMethodID == "" || ref.Type == TypeDeregister {
			return "", invalid(CodeValueNotAllowed, "referenceUuid: the referenced transaction holds no card.")
		}
		return ref.PaymentMethodID, nil
	}
	return "", invalid(CodeMissing, "cardData, transactionToken or referenceUuid: one is required.")
}

// cardParams renames the engine's card fields as IXOPAY's.
var cardParams = map[string]string{
	"card.number": "cardData.pan", "card.cvc": "cardData.cvv", "card.exp_month": "cardData.expirationMonth",
	"card.exp_year": "cardData.expirationYear", "card.holder_name": "cardData.cardHolder", "card": "cardData",
	"email": "customer.email", "billing.country": "customer.billingCountry", "billing.line1": "customer.billingAddress1",
	"billing.city": "customer.billingCity", "billing.postal_code": "customer.billingPostcode",
}

// renamed returns err with its param in IXOPAY's terms.
func renamed(err error, names map[string]string) error {
	pe, ok := payment.AsError(err)
	if !ok {
		return err
	}
	if n, ok := names[pe.Param]; ok {
		c := *pe
		c.Param = n
		return &c
	}
	return err
}

func (t *tx) vault(ctx context.Context, retain bool) (string, error) {
	cd := t.req.CardData
	in := engine.PaymentMethodInput{Type: payment.PaymentMethodTypeCard, Retain: retain, Card: &engine.CardInput{
		Number: cd.PAN, CVC: cd.CVV, ExpMonth: cd.ExpirationMonth.v, ExpYear: cd.ExpirationYear.v, HolderName: cd.CardHolder,
	}}
	if c := t.customer(); c != nil {
		in.Email = c.Email
		if c.BillingCountry != "" || c.BillingAddress1 != "" || c.BillingCity != "" || c.BillingPostcode != "" {
			in.Billing = &payment.Address{Line1: c.BillingAddress1, Line2: c.BillingAddress2, City: c.BillingCity,
				PostalCode: c.BillingPostcode, State: c.BillingState, Country: c.BillingCountry}
		}
		if in.Card.HolderName == "" && (c.FirstName != "" || c.LastName != "") {
			in.Card.HolderName = joinName(c.FirstName, c.LastName)
		}
	}
	pm, err := t.s.eng.CreatePaymentMethod(ctx, t.p, in)
	if err != nil {
		return "", renamed(err, cardParams)
	}
	return pm.ID, nil
}

func joinName(first, last string) string {
	switch {
	case first == "":
		return last
	case last == "":
		return first
	}
	return first + " " + last
}

func (t *tx) customer() *customer {
	if len(t.req.Customer) == 0 {
		return nil
	}
	var c customer
	if err := json.Unmarshal(t.req.Customer, &c); err != nil {
		return nil
	}
	return &c
}

// metadata keeps the request's fields kassa does not act on with the
// payment.
func (t *tx) metadata() map[string]string {
	req := t.req
	md := map[string]string{}
	set := func(k, v string) {
		if v != "" && v != "null" {
			md[k] = v
		}
	}
	set(mdAdditionalID1, req.AdditionalID1)
	set(mdAdditionalID2, req.AdditionalID2)
	set(mdExtraData, string(compactJSON(req.ExtraData)))
	set(mdMerchantMetaData, req.MerchantMetaData)
	set(mdCustomer, string(compactJSON(req.Customer)))
	set(mdIndicator, req.TransactionIndicator)
	return md
}

// metadataParams renames the engine's metadata params as IXOPAY's fields.
var metadataParams = map[string]string{
	"metadata." + mdAdditionalID1: "additionalId1", "metadata." + mdAdditionalID2: "additionalId2",
	"metadata." + mdExtraData: "extraData", "metadata." + mdMerchantMetaData: "merchantMetaData",
	"metadata." + mdCustomer: "customer",
	"reference":              "merchantTransactionId", "stored_credential": "transactionIndicator",
}

// pay is a debit (purchase) or a preauthorize (authorize).
func (t *tx) pay(ctx context.Context) (*txResult, error) {
	req := t.req
	initial, recurring := disabledInitialDebit, disabledRecurringDebit
	if t.typ == TypePreauthorize {
		initial, recurring = disabledInitialPreauthorize, disabledRecurringPreauthorize
	}
	if req.ReferenceUUID == "" && t.disabled(initial) {
		return refusedType(initial), nil
	}
	if req.ReferenceUUID != "" && t.disabled(recurring) {
		return refusedType(recurring), nil
	}
	amount, currency, err := t.money()
	if err != nil {
		return nil, err
	}
	pmID, err := t.paymentMethod(ctx, req.WithRegister)
	if err != nil {
		return nil, err
	}
	capture := t.typ == TypeDebit
	in := engine.PaymentInput{Amount: amount, Currency: currency, PaymentMethodID: pmID, GatewayID: t.c.GatewayID,
		Capture: &capture, Reference: req.MerchantTransactionID, Description: req.Description, Metadata: t.metadata(),
		StoredCredential: storedCredentials[req.TransactionIndicator]}
	pay, err := t.s.eng.CreatePayment(t.s.eng.WithTransactionReference(ctx, t.p, t.reference(pmID)), t.p, in)
	if err != nil {
		return nil, renamed(err, metadataParams)
	}
	// The transaction is named by its first attempt (a router may have
	// made more); its outcome is the latest attempt's.
	return t.s.result(ctx, pay.Operations[0].ID, pay, authorization(pay)), nil
}

// authorization is the latest authorize or purchase attempt of pay.
func authorization(pay *payment.Payment) *payment.Operation {
	var auth *payment.Operation
	for _, op := range pay.Operations {
		if op.Kind == payment.OpAuthorize || op.Kind == payment.OpPurchase {
			auth = op
		}
	}
	return auth
}

// followUp is a capture, void or refund of the transaction referenceUuid
// names.
func (t *tx) followUp(ctx context.Context) (*txResult, error) {
	req := t.req
	if req.ReferenceUUID == "" {
		return nil, invalid(CodeMissing, "referenceUuid: is required.")
	}
	ref, err := t.referenced(ctx)
	if err != nil {
		return nil, err
	}
	wantTypes := []string{TypePreauthorize}
	if t.typ == TypeRefund {
		wantTypes = []string{TypeDebit, TypeCapture}
	}
	if !slices.Contains(wantTypes, ref.Type) || ref.PaymentID == "" {
		return nil, invalid(CodeValueNotAllowed, "referenceUuid: a %s must reference a %s transaction, not a %s.",
			t.typ, joinOr(wantTypes), ref.Type)
	}
	pay, err := t.s.eng.Payment(ctx, t.p.Account.ID, ref.PaymentID)
	if err != nil {
		return nil, err
	}
	var amount *int64
	if t.typ != TypeVoid {
		v, currency, err := t.money()
		if err != nil {
			return nil, err
		}
		if currency != pay.Currency {
			return nil, invalid(CodeValueNotAllowed, "currency: must be the referenced transaction's, %s.", pay.Currency)
		}
		amount = &v
		// The disabled types are disjoint: capture and refund are of the
		// whole of what is left, the partial ones of less.
		switch {
		case t.typ == TypeCapture && v < pay.Capturable() && t.disabled(disabledPartialCapture):
			return refusedType(disabledPartialCapture), nil
		case t.typ == TypeCapture && v >= pay.Capturable() && t.disabled(disabledCapture):
			return refusedType(disabledCapture), nil
		case t.typ == TypeRefund && v < pay.Refundable() && t.disabled(disabledPartialRefund):
			return refusedType(disabledPartialRefund), nil
		case t.typ == TypeRefund && v >= pay.Refundable() && t.disabled(disabledRefund):
			return refusedType(disabledRefund), nil
		}
	}
	ctx = t.s.eng.WithTransactionReference(ctx, t.p, t.reference(pay.PaymentMethodID))
	var op *payment.Operation
	switch t.typ {
	case TypeCapture:
		pay, op, err = t.s.eng.Capture(ctx, t.p, pay.ID, amount)
	case TypeVoid:
		pay, op, err = t.s.eng.Void(ctx, t.p, pay.ID)
	case TypeRefund:
		pay, op, err = t.s.eng.Refund(ctx, t.p, pay.ID, amount, req.Description)
	}
	if err != nil {
		return nil, err
	}
	return t.s.result(ctx, op.ID, pay, op), nil
}

func joinOr(types []string) string {
	if len(types) == 1 {
		return types[0]
	}
	return types[0] + " or " + types[1]
}

// register stores a card: it is vaulted and kept, and checked with the
// gateway (a verification); a later debit names it by this uuid.
func (t *tx) register(ctx context.Context) (*txResult, error) {
	if t.disabled(disabledRegister) {
		return refusedType(disabledRegister), nil
	}
	pmID, err := t.paymentMethod(ctx, true)
	if err != nil {
		return nil, err
	}
	op, err := t.s.eng.StandaloneOperation(t.s.eng.WithTransactionReference(ctx, t.p, t.reference(pmID)), t.p,
		engine.StandaloneInput{Kind: payment.OpVerify, PaymentMethodID: pmID, GatewayID: t.c.GatewayID, Description: t.req.Description})
	if err != nil {
		return nil, err
	}
	return t.s.result(ctx, op.ID, nil, op), nil
}

// deregister deletes a registered card: it is redacted from the vault. It
// calls no gateway, so its uuid names no operation.
func (t *tx) deregister(ctx context.Context) (*txResult, error) {
	if t.disabled(disabledDeregister) {
		return refusedType(disabledDeregister), nil
	}
	if t.req.ReferenceUUID == "" {
		return nil, invalid(CodeMissing, "referenceUuid: is required.")
	}
	ref, err := t.referenced(ctx)
	if err != nil {
		return nil, err
	}
	if !slices.Contains([]string{TypeRegister, TypeDebit, TypePreauthorize}, ref.Type) {
		return nil, invalid(CodeValueNotAllowed, "referenceUuid: a DEREGISTER must reference a REGISTER (or a DEBIT or PREAUTHORIZE withRegister), not a %s.", ref.Type)
	}
	mine := t.reference(ref.PaymentMethodID)
	mine.OperationID = payment.NewID(payment.PrefixOperation)
	if err := t.s.eng.CreateTransactionReference(ctx, t.p, mine); err != nil {
		return nil, err
	}
	pm, err := t.s.eng.RedactPaymentMethodAs(ctx, t.p, ref.PaymentMethodID)
	if err != nil {
		return nil, err
	}
	return &txResult{Success: true, UUID: mine.OperationID, ReturnType: ReturnFinished, PaymentMethod: paymentMethodCreditcard,
		ReturnData: cardReturnData(pm)}, nil
}

// payout sends money to a card (a credit without a prior payment).
func (t *tx) payout(ctx context.Context) (*txResult, error) {
	if t.disabled(disabledPayout) {
		return refusedType(disabledPayout), nil
	}
	amount, currency, err := t.money()
	if err != nil {
		return nil, err
	}
	pmID, err := t.paymentMethod(ctx, t.req.WithRegister)
	if err != nil {
		return nil, err
	}
	op, err := t.s.eng.StandaloneOperation(t.s.eng.WithTransactionReference(ctx, t.p, t.reference(pmID)), t.p,
		engine.StandaloneInput{Kind: payment.OpCredit, PaymentMethodID: pmID, GatewayID: t.c.GatewayID, Amount: amount,
			Currency: currency, Description: t.req.Description})
	if err != nil {
		return nil, err
	}
	return t.s.result(ctx, op.ID, nil, op), nil
}

// result renders a transaction's outcome: succeeded is FINISHED, unknown
// and pending are PENDING (kassa settles them later), anything else an
// ERROR with IXOPAY's code and the adapter's own.
func (s *server) result(ctx context.Context, uuid string, pay *payment.Payment, op *payment.Operation) *txResult {
	res := &txResult{UUID: uuid, PaymentMethod: paymentMethodCreditcard}
	if pay != nil {
		res.PurchaseID = pay.ID
	}
	if pm, err := s.eng.PaymentMethod(ctx, op.AccountID, op.PaymentMethodID); err == nil {
		res.ReturnData = cardReturnData(pm)
	}
	switch op.Outcome {
	case payment.OutcomeSucceeded:
		res.Success, res.ReturnType = true, ReturnFinished
	case payment.OutcomePending, payment.OutcomeUnknown:
		res.Success, res.ReturnType = true, ReturnPending
	default:
		res.ReturnType = ReturnError
		res.Errors = []txError{operationError(op)}
	}
	return res
}

// operationError is IXOPAY's error of an operation that did not succeed.
func operationError(op *payment.Operation) txError {
	code := CodeDeclined
	switch op.Outcome {
	case payment.OutcomeDeclined:
		if c, ok := declineCodes[op.DeclineCode]; ok {
			code = c
		}
	case payment.OutcomeFailed:
		code = CodeNotAllowed
	case payment.OutcomeNotSent:
		code = CodeUnavailable
	}
	adapterCode := op.ResponseCode
	if adapterCode == "" {
		adapterCode = op.DeclineCode
	}
	return txError{ErrorMessage: codeMessages[code], ErrorCode: code, AdapterMessage: op.Message, AdapterCode: adapterCode}
}
