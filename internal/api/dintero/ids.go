package dintero

import (
	"strings"

	"github.com/kassapay/kassa/internal/payment"
)

// Dintero's transaction and card token ids are "<aid>.<random>"
// (T12345678.4XXaMH6yDa4pLLzjoGdX6U). kassa's are a type prefix, "_" and
// base62 characters (ADR 0011). The dialect's id of a kassa object is the
// account id, a dot, and the kassa id without its prefix: stable, and
// reversible without a table (ADR 0024).
const (
	paymentPrefix       = "pay_"
	paymentMethodPrefix = "pm_"
	// maxIDPart bounds the part after the dot: kassa's ids have 24
	// characters after the prefix; older or longer ones stay well below.
	maxIDPart = 64
)

// transactionID is the Dintero id of payment id of account accountID.
func transactionID(accountID, id string) string {
	return dialectID(accountID, id, paymentPrefix)
}

// cardTokenID is the Dintero id of payment method id of account accountID.
func cardTokenID(accountID, id string) string {
	return dialectID(accountID, id, paymentMethodPrefix)
}

func dialectID(accountID, id, prefix string) string {
	return payment.DinteroID(accountID, strings.TrimPrefix(id, prefix))
}

// paymentIDOf is the kassa payment a transaction id names for the account
// accountID, or false when it names none of that account's: another
// account's id, or no id at all.
func paymentIDOf(accountID, id string) (string, bool) {
	return kassaID(accountID, id, paymentPrefix)
}

// paymentMethodIDOf is paymentIDOf for card token ids.
func paymentMethodIDOf(accountID, id string) (string, bool) {
	return kassaID(accountID, id, paymentMethodPrefix)
}

func kassaID(accountID, id, prefix string) (string, bool) {
	aid, part, ok := strings.Cut(id, ".")
	if !ok || aid != payment.DinteroAccountID(accountID) || !base62(part) {
		return "", false
	}
	return prefix + part, true
}

// base62 reports whether s is 1 to maxIDPart ASCII letters and digits.
func base62(s string) bool {
	if s == "" || len(s) > maxIDPart {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
