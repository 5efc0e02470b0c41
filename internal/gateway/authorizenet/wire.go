package authorizenet

import "encoding/json"

// The wire types of Authorize.Net's JSON API. The JSON API is a translation
// of the XML schema (AnetApiSchema.xsd) and, like the XML, wants elements in
// schema order: the struct fields below are declared in that order, which
// encoding/json keeps.

type merchantAuthentication struct {
	Name           string `json:"name"`
	TransactionKey string `json:"transactionKey"`
}

type createTransactionRequest struct {
	Request createTransactionBody `json:"createTransactionRequest"`
}

type createTransactionBody struct {
	MerchantAuthentication merchantAuthentication `json:"merchantAuthentication"`
	RefID                  string                 `json:"refId,omitempty"`
	TransactionRequest     transactionRequest     `json:"transactionRequest"`
}

type transactionRequest struct {
	TransactionType     string               `json:"transactionType"`
	Amount              string               `json:"amount,omitempty"`
	CurrencyCode        string               `json:"currencyCode,omitempty"`
	Payment             *paymentType         `json:"payment,omitempty"`
	RefTransID          string               `json:"refTransId,omitempty"`
	Order               *orderType           `json:"order,omitempty"`
	Customer            *customerType        `json:"customer,omitempty"`
	BillTo              *customerAddressType `json:"billTo,omitempty"`
	CustomerIP          string               `json:"customerIP,omitempty"`
	TransactionSettings *settingsType        `json:"transactionSettings,omitempty"`
}

type paymentType struct {
	CreditCard creditCardType `json:"creditCard"`
}

type creditCardType struct {
	CardNumber     string `json:"cardNumber"`
	ExpirationDate string `json:"expirationDate"`
	CardCode       string `json:"cardCode,omitempty"`
}

type orderType struct {
	InvoiceNumber string `json:"invoiceNumber,omitempty"`
	Description   string `json:"description,omitempty"`
}

type customerType struct {
	Email string `json:"email,omitempty"`
}

type customerAddressType struct {
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
	Address   string `json:"address,omitempty"`
	City      string `json:"city,omitempty"`
	State     string `json:"state,omitempty"`
	Zip       string `json:"zip,omitempty"`
	Country   string `json:"country,omitempty"`
}

type settingsType struct {
	Setting []settingType `json:"setting"`
}

type settingType struct {
	SettingName  string `json:"settingName"`
	SettingValue string `json:"settingValue"`
}

// messagesType is the API-level result every response carries.
type messagesType struct {
	ResultCode string `json:"resultCode"` // "Ok" or "Error"
	Message    []struct {
		Code string `json:"code"`
		Text string `json:"text"`
	} `json:"message"`
}

type createTransactionResponse struct {
	TransactionResponse *transactionResponse `json:"transactionResponse"`
	RefID               string               `json:"refId"`
	Messages            messagesType         `json:"messages"`
}

type transactionResponse struct {
	// ResponseCode: 1 approved, 2 declined, 3 error, 4 held for review.
	ResponseCode   string `json:"responseCode"`
	AuthCode       string `json:"authCode"`
	AVSResultCode  string `json:"avsResultCode"`
	CVVResultCode  string `json:"cvvResultCode"`
	TransID        string `json:"transId"`
	RefTransID     string `json:"refTransID"`
	NetworkTransID string `json:"networkTransId"`
	Messages       []struct {
		Code        string `json:"code"`
		Description string `json:"description"`
	} `json:"messages"`
	Errors []struct {
		ErrorCode string `json:"errorCode"`
		ErrorText string `json:"errorText"`
	} `json:"errors"`
}

type authenticateTestRequest struct {
	Request struct {
		MerchantAuthentication merchantAuthentication `json:"merchantAuthentication"`
	} `json:"authenticateTestRequest"`
}

type getUnsettledTransactionListRequest struct {
	Request getUnsettledTransactionListBody `json:"getUnsettledTransactionListRequest"`
}

type getUnsettledTransactionListBody struct {
	MerchantAuthentication merchantAuthentication `json:"merchantAuthentication"`
	Sorting                sortingType            `json:"sorting"`
	Paging                 pagingType             `json:"paging"`
}

type sortingType struct {
	OrderBy         string `json:"orderBy"`
	OrderDescending bool   `json:"orderDescending"`
}

type pagingType struct {
	Limit  int `json:"limit"`
	Offset int `json:"offset"` // the page number, from 1
}

type getUnsettledTransactionListResponse struct {
	Transactions        []transactionSummary `json:"transactions"`
	TotalNumInResultSet int                  `json:"totalNumInResultSet"`
	Messages            messagesType         `json:"messages"`
}

type transactionSummary struct {
	TransID           string      `json:"transId"`
	TransactionStatus string      `json:"transactionStatus"`
	InvoiceNumber     string      `json:"invoiceNumber"`
	SettleAmount      json.Number `json:"settleAmount"`
}

type getTransactionDetailsRequest struct {
	Request struct {
		MerchantAuthentication merchantAuthentication `json:"merchantAuthentication"`
		TransID                string                 `json:"transId"`
	} `json:"getTransactionDetailsRequest"`
}

type getTransactionDetailsResponse struct {
	Transaction *struct {
		TransID           string `json:"transId"`
		TransactionType   string `json:"transactionType"`
		TransactionStatus string `json:"transactionStatus"`
		ResponseCode      int    `json:"responseCode"`
		AVSResponse       string `json:"AVSResponse"`
		CardCodeResponse  string `json:"cardCodeResponse"`
		NetworkTransID    string `json:"networkTransId"`
	} `json:"transaction"`
	Messages messagesType `json:"messages"`
}
