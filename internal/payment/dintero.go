package payment

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// What the engine and the hosted page must know of the Dintero dialect's
// names: its ids of kassa objects, and how a Dintero session's payments
// are found and called back (ADR 0024, ADR 0026).
const (
	// DinteroSessionScope is the scope of the transaction reference each
	// payment of a Dintero checkout session claims when it is reserved.
	DinteroSessionScope = "dintero_session"
	// SignerDintero names the Dintero dialect's callback signer
	// (WebhookDelivery.Signer): Dintero-Signature.
	SignerDintero = "dintero"
	// DinteroTokenSessionKey is the SignerKey of the callback a Dintero
	// payment-token session promises when it completes: no transaction
	// exists, so its MessageID is the session's (kassa) id.
	DinteroTokenSessionKey = "dintero_token_session"
)

// DinteroTokenSessionCallback is the delivery of the callback of Dintero
// token session cs, completed at at: to its callback_url, signed by the
// dialect's signer, which renders its query and method when it is sent.
func DinteroTokenSessionCallback(cs *CheckoutSession, at time.Time) *WebhookDelivery {
	queue := cs.CallbackURL
	if u, err := url.Parse(cs.CallbackURL); err == nil && u.Host != "" {
		queue = u.Hostname()
	}
	return &WebhookDelivery{ID: NewIDAt(PrefixWebhookDelivery, at), AccountID: cs.AccountID, MessageID: cs.ID,
		Signer: SignerDintero, SignerKey: DinteroTokenSessionKey, Method: "GET", URL: cs.CallbackURL, Queue: queue,
		State: DeliveryPending, NextAttemptAt: at, CreatedAt: at, UpdatedAt: at}
}

// DinteroID is the Dintero id of kassa object id of account accountID: the
// account id, a dot, and the id without its type prefix ("pay_", "cs_"):
// stable, and reversible without a table.
func DinteroID(accountID, id string) string {
	if _, rest, ok := strings.Cut(id, "_"); ok {
		id = rest
	}
	return DinteroAccountID(accountID) + "." + id
}

// DinteroSessionReference is the reference in DinteroSessionScope of
// attempt n of session cs: the Dintero session id for the first attempt,
// and "<session id>/<n>" for later ones (a declined card may be tried
// again on the page), so that every attempt's payment names its session.
func DinteroSessionReference(cs *CheckoutSession, n int) string {
	id := DinteroID(cs.AccountID, cs.ID)
	if n <= 1 {
		return id
	}
	return id + "/" + strconv.Itoa(n)
}

// DinteroSessionOfReference is the session id a DinteroSessionReference
// names.
func DinteroSessionOfReference(ref string) string {
	id, _, _ := strings.Cut(ref, "/")
	return id
}

// ParseDinteroID splits a Dintero id made by DinteroID into its account id
// and the kassa id with prefix put back, or false when it names none: no
// dot, a malformed account id, or a part that is not 1 to 64 ASCII letters
// and digits.
func ParseDinteroID(id, prefix string) (accountID, kassaID string, ok bool) {
	aid, part, ok := strings.Cut(id, ".")
	if !ok || !ValidAccountID(aid) || part == "" || len(part) > 64 {
		return "", "", false
	}
	for i := 0; i < len(part); i++ {
		c := part[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return "", "", false
		}
	}
	return aid, prefix + "_" + part, true
}

// CallsBackFollowUp reports whether ref's callback is told of a later
// operation of kind (a capture, refund or void): always for IXOPAY's; for
// a Dintero session's only when its callback_url asks for the event with
// report_event (CAPTURE, REFUND, VOID; several comma-separated or
// repeated).
func CallsBackFollowUp(ref *TransactionReference, kind OperationKind) bool {
	if ref.CallbackSigner != SignerDintero {
		return true
	}
	u, err := url.Parse(ref.Callback)
	if err != nil {
		return false
	}
	want := strings.ToUpper(string(kind))
	for _, v := range u.Query()["report_event"] {
		for _, e := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(e), want) {
				return true
			}
		}
	}
	return false
}
