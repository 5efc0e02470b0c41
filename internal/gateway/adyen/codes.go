package adyen

import "strings"

// refusal is one row of Adyen's refusal reasons
// (docs.adyen.com/development-resources/refusal-reasons): the
// refusalReasonCode, the refusalReason text, and kassa's decline code for
// it (Stripe's names where Stripe has one).
type refusal struct {
	code, reason, decline string
}

// refusals is Adyen's table. Notes on the less obvious rows:
//   - 2 "Refused" is Adyen's generic refusal (it carries the scheme's "05 Do
//     not honor" among others): card_declined.
//   - 5 "Blocked Card" covers the scheme's lost, stolen and pick-up codes
//     without saying which: pickup_card, not lost_card.
//   - 27 "Declined Non Generic" collects the raw codes Adyen cannot map
//     reliably, so it is a generic card_declined rather than do_not_honor.
var refusals = []refusal{
	{"2", "Refused", "card_declined"},
	{"3", "Referral", "call_issuer"},
	{"4", "Acquirer Error", "processing_error"},
	{"5", "Blocked Card", "pickup_card"},
	{"6", "Expired Card", "expired_card"},
	{"7", "Invalid Amount", "invalid_amount"},
	{"8", "Invalid Card Number", "invalid_number"},
	{"9", "Issuer Unavailable", "issuer_not_available"},
	{"10", "Not supported", "card_not_supported"},
	{"11", "3D Not Authenticated", "authentication_required"},
	{"12", "Not enough balance", "insufficient_funds"},
	{"14", "Acquirer Fraud", "fraudulent"},
	{"15", "Cancelled", "card_declined"},
	{"16", "Shopper Cancelled", "card_declined"},
	{"17", "Invalid Pin", "incorrect_pin"},
	{"18", "Pin tries exceeded", "pin_try_exceeded"},
	{"19", "Pin validation not possible", "card_declined"},
	{"20", "FRAUD", "fraudulent"},
	{"21", "Not Submitted", "processing_error"},
	{"22", "FRAUD-CANCELLED", "fraudulent"},
	{"23", "Transaction Not Permitted", "transaction_not_allowed"},
	{"24", "CVC Declined", "invalid_cvc"},
	{"25", "Restricted Card", "restricted_card"},
	{"26", "Revocation Of Auth", "revocation_of_authorization"},
	{"27", "Declined Non Generic", "card_declined"},
	{"28", "Withdrawal amount exceeded", "card_velocity_exceeded"},
	{"29", "Withdrawal count exceeded", "withdrawal_count_limit_exceeded"},
	{"31", "Issuer Suspected Fraud", "fraudulent"},
	{"32", "AVS Declined", "incorrect_address"},
	{"33", "Card requires online pin", "online_or_offline_pin_required"},
	{"34", "No checking account available on Card", "invalid_account"},
	{"35", "No savings account available on Card", "invalid_account"},
	{"36", "Mobile pin required", "online_or_offline_pin_required"},
	{"37", "Contactless fallback", "card_declined"},
	{"38", "Authentication required", "authentication_required"},
	{"39", "RReq not received from DS", "authentication_required"},
	{"40", "Current AID is in Penalty Box", "card_declined"},
	{"41", "CVM Required Restart Payment", "card_declined"},
	{"42", "3DS Authentication Error", "authentication_required"},
	{"43", "Online PIN required", "online_or_offline_pin_required"},
	{"44", "Try another interface", "card_declined"},
	{"45", "Transaction blocked by Adyen to prevent excessive retry fees", "do_not_try_again"},
}

var refusalByCode, refusalByReason = indexRefusals()

func indexRefusals() (byCode, byReason map[string]string) {
	byCode, byReason = map[string]string{}, map[string]string{}
	for _, r := range refusals {
		byCode[r.code] = r.decline
		byReason[strings.ToLower(r.reason)] = r.decline
	}
	// The refusalReason of 11 as Adyen's page lists it for 3D Secure.
	byReason["3d-secure: authentication failed"] = "authentication_required"
	return byCode, byReason
}

// refusalCode maps a refusal to kassa's decline code: by refusalReasonCode,
// else by refusalReason text (notifications carry only the text, in
// reason), else card_declined.
func refusalCode(code, reason string) string {
	if d, ok := refusalByCode[strings.TrimSpace(code)]; ok {
		return d
	}
	if d, ok := refusalByReason[strings.ToLower(strings.TrimSpace(reason))]; ok {
		return d
	}
	return "card_declined"
}

// validationCode maps the errorCode of a 4xx answer (Adyen's error codes,
// docs.adyen.com/development-resources/error-codes) to kassa's code.
func validationCode(errorCode string) string {
	switch errorCode {
	case "101":
		return "invalid_number" // Invalid card number
	case "103":
		return "invalid_cvc" // CVC is not the right length
	}
	return CodeInvalidRequest
}
