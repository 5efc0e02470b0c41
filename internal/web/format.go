package web

import (
	"strconv"
	"strings"

	"github.com/kassapay/kassa/internal/payment"
)

// FormatAmount renders amount minor units of currency as locale writes
// money: "NOK 1,250.00" in English, "1 250,00 kr" in Norwegian. The
// currency's exponent decides the decimals (JPY none, KWD three).
func FormatAmount(amount int64, currency, locale string) string {
	exp, ok := payment.CurrencyExponent(currency)
	if !ok {
		exp = 2
	}
	neg := amount < 0
	if neg {
		amount = -amount
	}
	digits := strconv.FormatInt(amount, 10)
	for len(digits) <= exp {
		digits = "0" + digits
	}
	whole, frac := digits[:len(digits)-exp], digits[len(digits)-exp:]
	group, point := ",", "."
	if norwegian(locale) {
		group, point = "\u00a0", ","
	}
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(group)
		}
		b.WriteRune(c)
	}
	n := b.String()
	if exp > 0 {
		n += point + frac
	}
	if neg {
		n = "-" + n
	}
	if norwegian(locale) {
		if currency == "NOK" {
			return n + "\u00a0kr"
		}
		return n + "\u00a0" + currency
	}
	if sym, ok := map[string]string{"USD": "$", "EUR": "€", "GBP": "£"}[currency]; ok {
		return sym + n
	}
	return currency + "\u00a0" + n
}

func norwegian(locale string) bool { return locale == "nb" || locale == "no" }

// text is the page's wording in one language.
type text struct {
	Lang, Title, PayingTo, Order, Total, CardNumber, Expiry, ExpiryHint, CVC, CVCHint, Name, Pay, Cancel,
	Processing, ProcessingHint, Paid, Continue, Cancelled, CancelledHint, Expired, ExpiredHint, Failed, FailedHint,
	NotFound, NotFoundHint, Back, Declined, TryAgain, Quantity, TestMode, Required, SaveCard, Saved string
	// The embedded page's words (embedded.go): the merchant's check of
	// the order (client-side validation) and Dintero's pop-out window.
	Validating, ValidationFailed, ValidationTimeout, Loading,
	PopOutFocus, PopOutClose, PopOutOpened, PopOutFailed string
	// Declines words a decline or failure by its code; "" is the default.
	Declines map[string]string
	// Fields words the field errors by the engine's param.
	Fields map[string]string
}

var texts = map[string]*text{
	"en": {
		Lang: "en", Title: "Payment", PayingTo: "Paying to", Order: "Your order", Total: "Total",
		CardNumber: "Card number", Expiry: "Expiry date", ExpiryHint: "MM / YY", CVC: "Security code", CVCHint: "3 or 4 digits on the card",
		Name: "Name on card", Pay: "Pay %s", Cancel: "Cancel and return to %s",
		Processing: "Your payment is being processed", ProcessingHint: "This can take a moment. Please keep this page open; it updates by itself.",
		Paid: "Payment complete", Continue: "Continue to %s",
		Cancelled: "This payment was cancelled", CancelledHint: "No money was taken.",
		Expired: "This payment link has expired", ExpiredHint: "No money was taken. Return to the shop to start again.",
		Failed: "The payment could not be completed", FailedHint: "No money was taken.",
		NotFound: "Payment not found", NotFoundHint: "This payment link is not valid.",
		Back: "Return to %s", Declined: "The payment was declined", TryAgain: "Please try another card.",
		Quantity: "Quantity", TestMode: "Test mode: no real money is moved.", Required: "This field is required.",
		SaveCard: "Save card", Saved: "Card saved",
		Validating: "Checking your order with the shop…", ValidationFailed: "The shop could not accept the order.",
		ValidationTimeout: "The shop did not answer. No money was taken; please try again.", Loading: "Loading the payment…",
		PopOutFocus: "Show the payment window", PopOutClose: "Close the payment window",
		PopOutOpened: "The payment continues in a separate window.",
		PopOutFailed: "The payment window could not be opened. Allow pop-up windows for this site and try again.",
		Declines: map[string]string{
			"":                        "Your card was declined.",
			"insufficient_funds":      "Your card has insufficient funds.",
			"lost_card":               "Your card was declined.",
			"stolen_card":             "Your card was declined.",
			"expired_card":            "Your card has expired.",
			"incorrect_cvc":           "The security code is incorrect.",
			"authentication_required": "Your bank asks for authentication this page cannot do.",
			"processing_error":        "The payment could not be processed.",
		},
		Fields: map[string]string{
			"card.number":      "Enter a valid card number.",
			"card.exp_month":   "Enter the expiry date as MM / YY.",
			"card.exp_year":    "Enter the expiry date as MM / YY; the card must not have expired.",
			"card.cvc":         "Enter the 3 or 4 digit security code.",
			"card.holder_name": "Enter the name as it is on the card.",
		},
	},
	"nb": {
		Lang: "nb", Title: "Betaling", PayingTo: "Betaling til", Order: "Din bestilling", Total: "Totalt",
		CardNumber: "Kortnummer", Expiry: "Utløpsdato", ExpiryHint: "MM / ÅÅ", CVC: "Sikkerhetskode", CVCHint: "3 eller 4 siffer på kortet",
		Name: "Navn på kortet", Pay: "Betal %s", Cancel: "Avbryt og gå tilbake til %s",
		Processing: "Betalingen behandles", ProcessingHint: "Dette kan ta litt tid. La siden være åpen; den oppdateres av seg selv.",
		Paid: "Betalingen er fullført", Continue: "Fortsett til %s",
		Cancelled: "Betalingen ble avbrutt", CancelledHint: "Ingen penger er trukket.",
		Expired: "Betalingslenken er utløpt", ExpiredHint: "Ingen penger er trukket. Gå tilbake til butikken for å starte på nytt.",
		Failed: "Betalingen kunne ikke fullføres", FailedHint: "Ingen penger er trukket.",
		NotFound: "Fant ikke betalingen", NotFoundHint: "Denne betalingslenken er ikke gyldig.",
		Back: "Tilbake til %s", Declined: "Betalingen ble avvist", TryAgain: "Prøv et annet kort.",
		Quantity: "Antall", TestMode: "Testmodus: ingen ekte penger flyttes.", Required: "Feltet må fylles ut.",
		SaveCard: "Lagre kortet", Saved: "Kortet er lagret",
		Validating: "Butikken sjekker bestillingen…", ValidationFailed: "Butikken kunne ikke ta imot bestillingen.",
		ValidationTimeout: "Butikken svarte ikke. Ingen penger er trukket; prøv igjen.", Loading: "Laster betalingen…",
		PopOutFocus: "Vis betalingsvinduet", PopOutClose: "Lukk betalingsvinduet",
		PopOutOpened: "Betalingen fortsetter i et eget vindu.",
		PopOutFailed: "Betalingsvinduet kunne ikke åpnes. Tillat sprettoppvinduer for dette nettstedet og prøv igjen.",
		Declines: map[string]string{
			"":                        "Kortet ble avvist.",
			"insufficient_funds":      "Det er ikke dekning på kortet.",
			"lost_card":               "Kortet ble avvist.",
			"stolen_card":             "Kortet ble avvist.",
			"expired_card":            "Kortet er utløpt.",
			"incorrect_cvc":           "Sikkerhetskoden er feil.",
			"authentication_required": "Banken din krever autentisering som denne siden ikke kan utføre.",
			"processing_error":        "Betalingen kunne ikke behandles.",
		},
		Fields: map[string]string{
			"card.number":      "Skriv inn et gyldig kortnummer.",
			"card.exp_month":   "Skriv inn utløpsdatoen som MM / ÅÅ.",
			"card.exp_year":    "Skriv inn utløpsdatoen som MM / ÅÅ; kortet må ikke være utløpt.",
			"card.cvc":         "Skriv inn sikkerhetskoden på 3 eller 4 siffer.",
			"card.holder_name": "Skriv inn navnet slik det står på kortet.",
		},
	},
}

// textFor returns the wording of locale: Norwegian for "nb" and "no",
// English otherwise.
func textFor(locale string) *text {
	if norwegian(locale) {
		return texts["nb"]
	}
	return texts["en"]
}
