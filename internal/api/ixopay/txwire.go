package ixopay

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/kassapay/kassa/internal/payment"
)

// Transaction types as IXOPAY names them in status results and callbacks.
const (
	TypeDebit        = "DEBIT"
	TypePreauthorize = "PREAUTHORIZE"
	TypeCapture      = "CAPTURE"
	TypeVoid         = "VOID"
	TypeRefund       = "REFUND"
	TypeRegister     = "REGISTER"
	TypeDeregister   = "DEREGISTER"
	TypePayout       = "PAYOUT"
	TypeIncremental  = "INCREMENTAL-AUTHORIZATION"
)

// Return types of a transaction result.
const (
	ReturnFinished = "FINISHED"
	ReturnPending  = "PENDING"
	ReturnError    = "ERROR"
)

// MaxMerchantTransactionID is the longest merchantTransactionId IXOPAY
// takes.
const MaxMerchantTransactionID = 50

// txRequest is the body of a transaction request. Members kassa does not
// act on (items, threeDSecureData, schedule, …) are ignored, as IXOPAY
// ignores what an adapter does not use; what it keeps is listed here.
type txRequest struct {
	MerchantTransactionID string          `json:"merchantTransactionId"`
	AdditionalID1         string          `json:"additionalId1"`
	AdditionalID2         string          `json:"additionalId2"`
	ExtraData             json.RawMessage `json:"extraData"`
	MerchantMetaData      string          `json:"merchantMetaData"`
	ReferenceUUID         string          `json:"referenceUuid"`
	Amount                jsonAmount      `json:"amount"`
	Currency              string          `json:"currency"`
	Description           string          `json:"description"`
	CallbackURL           string          `json:"callbackUrl"`
	SuccessURL            string          `json:"successUrl"`
	CancelURL             string          `json:"cancelUrl"`
	ErrorURL              string          `json:"errorUrl"`
	WithRegister          bool            `json:"withRegister"`
	TransactionIndicator  string          `json:"transactionIndicator"`
	TransactionToken      string          `json:"transactionToken"`
	Customer              json.RawMessage `json:"customer"`
	CardData              *cardData       `json:"cardData"`
}

// cardData is the PCI variant's card: the number and CVC go to the vault
// and nowhere else.
type cardData struct {
	CardHolder      string  `json:"cardHolder"`
	PAN             string  `json:"pan"`
	CVV             string  `json:"cvv"`
	ExpirationMonth flexInt `json:"expirationMonth"`
	ExpirationYear  flexInt `json:"expirationYear"`
}

// customer is the part of IXOPAY's customer kassa maps onto the vaulted
// card's billing address and e-mail; the whole object is kept too.
type customer struct {
	FirstName       string `json:"firstName"`
	LastName        string `json:"lastName"`
	Email           string `json:"email"`
	BillingAddress1 string `json:"billingAddress1"`
	BillingAddress2 string `json:"billingAddress2"`
	BillingCity     string `json:"billingCity"`
	BillingPostcode string `json:"billingPostcode"`
	BillingState    string `json:"billingState"`
	BillingCountry  string `json:"billingCountry"`
}

// jsonAmount is an amount as sent: IXOPAY's clients send a decimal string
// ("9.99"); a bare JSON number is taken by its literal text, never through
// a float.
type jsonAmount struct {
	text string
	set  bool
}

func (a *jsonAmount) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	a.set = true
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &a.text)
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	a.text = string(n)
	return nil
}

// flexInt is a number sent as a JSON number or a string of digits ("01").
type flexInt struct {
	v   int
	set bool
}

func (f *flexInt) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || v < 0 {
		return errNotAnInteger
	}
	f.v, f.set = v, true
	return nil
}

var errNotAnInteger = newError(http.StatusUnprocessableEntity, CodeInvalidFormat, "not an integer")

// decodeTx reads a transaction request. Errors never repeat the body: it
// may hold a card number.
func decodeTx(body []byte) (*txRequest, error) {
	var req txRequest
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, newError(http.StatusBadRequest, CodeInvalidRequest, "The request body is empty: send a JSON object.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te) && te.Field != "":
			if te.Field == "amount" {
				return nil, invalid(CodeInvalidFormat, "amount: must be a decimal string.")
			}
			return nil, invalid(CodeInvalidFormat, "%s: must be %s.", te.Field, describeKind(te.Type.String()))
		case errors.Is(err, errNotAnInteger):
			return nil, invalid(CodeInvalidFormat, "cardData: expirationMonth and expirationYear must be numbers.")
		}
		return nil, newError(http.StatusBadRequest, CodeInvalidRequest, "The request body is not a valid JSON object.")
	}
	if dec.More() {
		return nil, newError(http.StatusBadRequest, CodeInvalidRequest, "The request body must hold one JSON object and nothing after it.")
	}
	if len(req.ExtraData) > 0 && !bytes.Equal(req.ExtraData, []byte("null")) {
		var m map[string]any
		if err := json.Unmarshal(req.ExtraData, &m); err != nil {
			return nil, invalid(CodeInvalidFormat, "extraData: must be an object.")
		}
	}
	if len(req.Customer) > 0 && !bytes.Equal(req.Customer, []byte("null")) {
		var c customer
		if err := json.Unmarshal(req.Customer, &c); err != nil {
			return nil, invalid(CodeInvalidFormat, "customer: must be an object of strings.")
		}
	}
	return &req, nil
}

func describeKind(goType string) string {
	switch {
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "ixopay."), strings.HasPrefix(goType, "*ixopay."), strings.HasPrefix(goType, "map"):
		return "an object"
	}
	return "of another type"
}

// txResult is the answer of a transaction request.
type txResult struct {
	Success       bool        `json:"success"`
	UUID          string      `json:"uuid,omitempty"`
	PurchaseID    string      `json:"purchaseId,omitempty"`
	ReturnType    string      `json:"returnType"`
	PaymentMethod string      `json:"paymentMethod,omitempty"`
	ReturnData    *returnData `json:"returnData,omitempty"`
	Errors        []txError   `json:"errors,omitempty"`
}

// txError is one entry of a result's errors: IXOPAY's consolidated code
// and message, and the adapter's own.
type txError struct {
	ErrorMessage   string `json:"errorMessage"`
	ErrorCode      int    `json:"errorCode"`
	AdapterMessage string `json:"adapterMessage,omitempty"`
	AdapterCode    string `json:"adapterCode,omitempty"`
}

// returnData describes the card a transaction used, masked.
type returnData struct {
	Type           string `json:"_TYPE"`
	CardType       string `json:"type"`
	CardHolder     string `json:"cardHolder,omitempty"`
	ExpiryMonth    string `json:"expiryMonth"`
	ExpiryYear     string `json:"expiryYear"`
	BinDigits      string `json:"binDigits"`
	FirstSixDigits string `json:"firstSixDigits"`
	LastFourDigits string `json:"lastFourDigits"`
	Fingerprint    string `json:"fingerprint,omitempty"`
}

// statusResult is the answer of the status API.
type statusResult struct {
	Success           bool   `json:"success"`
	TransactionStatus string `json:"transactionStatus"`
	UUID              string `json:"uuid"`
	// MerchantTransactionID is empty for a follow-up made outside the
	// dialect: it was never given one.
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
	Errors                []txError       `json:"errors,omitempty"`

	// changed: the transaction changed after its outcome was final (a
	// reversal the provider reported); its callbacks say so.
	changed bool
}

// cardTypes are IXOPAY's names of kassa's brands.
var cardTypes = map[string]string{
	"visa": "visa", "mastercard": "mastercard", "american_express": "amex", "discover": "discover",
	"diners_club": "diners", "jcb": "jcb", "maestro": "maestro", "unionpay": "unionpay",
}

// cardReturnData is returnData for a vaulted card, or nil.
func cardReturnData(pm *payment.PaymentMethod) *returnData {
	if pm == nil {
		return nil
	}
	c := pm.Card
	t := cardTypes[c.Brand]
	if t == "" {
		t = c.Brand
	}
	rd := &returnData{Type: "cardData", CardType: t, CardHolder: c.HolderName, BinDigits: c.First6,
		FirstSixDigits: c.First6, LastFourDigits: c.Last4, Fingerprint: c.Fingerprint}
	if c.ExpMonth > 0 {
		rd.ExpiryMonth = strconv.Itoa(c.ExpMonth)
		if c.ExpMonth < 10 {
			rd.ExpiryMonth = "0" + rd.ExpiryMonth
		}
	}
	if c.ExpYear > 0 {
		rd.ExpiryYear = strconv.Itoa(c.ExpYear)
	}
	return rd
}
