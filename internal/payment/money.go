package payment

// Currency exponents (ISO 4217 minor units) of the currencies kassa accepts.
// Amounts are always int64 minor units: 1000 EUR is 10.00 EUR, 1000 JPY is
// 1000 JPY, 1000 KWD is 1.000 KWD.
var currencyExponent = map[string]int{
	"AED": 2, "AUD": 2, "BGN": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CLP": 0, "CNY": 2,
	"CZK": 2, "DKK": 2, "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2,
	"ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3, "MXN": 2, "MYR": 2, "NOK": 2, "NZD": 2,
	"OMR": 3, "PHP": 2, "PLN": 2, "RON": 2, "SAR": 2, "SEK": 2, "SGD": 2, "THB": 2, "TND": 3,
	"TRY": 2, "TWD": 2, "UAH": 2, "USD": 2, "VND": 0, "ZAR": 2,
}

// CurrencyExponent returns the number of minor-unit digits of an ISO 4217
// currency code and whether kassa knows the currency.
func CurrencyExponent(code string) (int, bool) {
	e, ok := currencyExponent[code]
	return e, ok
}

// MaxAmount bounds every amount kassa accepts (in minor units), far above
// any real payment and far below int64 overflow when amounts are summed.
const MaxAmount int64 = 1e15
