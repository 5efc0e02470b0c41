package spreedly

import (
	"errors"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/kassapay/kassa/internal/card"
	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/payment"
)

// cardType names a kassa card brand as Spreedly does.
func cardType(brand string) string {
	switch brand {
	case card.Mastercard:
		return "master"
	case card.Unknown, "":
		return ""
	}
	return brand
}

// splitName makes Spreedly's first and last name of a holder name: the last
// word is the last name.
func splitName(full string) (first, last string) {
	full = strings.TrimSpace(full)
	i := strings.LastIndexByte(full, ' ')
	if i < 0 {
		return full, ""
	}
	return strings.TrimSpace(full[:i]), full[i+1:]
}

// maskedNumber is Spreedly's display of a card number.
func maskedNumber(last4 string) string {
	if last4 == "" {
		return ""
	}
	return "XXXX-XXXX-XXXX-" + last4
}

func paymentMethodNode(pm *payment.PaymentMethod) *node {
	first, last := splitName(pm.Card.HolderName)
	cvc := ""
	if pm.CVCSealed != nil {
		cvc = "XXX"
	}
	md := object("metadata")
	keys := make([]string, 0, len(pm.Metadata))
	for k := range pm.Metadata {
		// Metadata set through the native API may have keys no XML element
		// can be named by; both formats leave them out, as anyNode does.
		if metadataKey.MatchString(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		md.add(str(k, pm.Metadata[k]))
	}
	b := pm.Billing
	return object("payment_method",
		str("token", pm.ID),
		datetime("created_at", pm.CreatedAt),
		datetime("updated_at", pm.UpdatedAt),
		strOrNil("email", pm.Email),
		null("data"),
		str("storage_state", string(pm.StorageState)),
		boolean("test", pm.Test),
		md,
		str("last_four_digits", pm.Card.Last4),
		str("first_six_digits", pm.Card.First6),
		strOrNil("card_type", cardType(pm.Card.Brand)),
		strOrNil("first_name", first),
		strOrNil("last_name", last),
		integer("month", int64(pm.Card.ExpMonth)),
		integer("year", int64(pm.Card.ExpYear)),
		strOrNil("address1", b.Line1),
		strOrNil("address2", b.Line2),
		strOrNil("city", b.City),
		strOrNil("state", b.State),
		strOrNil("zip", b.PostalCode),
		strOrNil("country", b.Country),
		null("phone_number"),
		null("company"),
		strOrNil("full_name", strings.TrimSpace(pm.Card.HolderName)),
		str("payment_method_type", "credit_card"),
		array("errors"),
		str("verification_value", cvc),
		str("fingerprint", pm.Card.Fingerprint),
		str("number", maskedNumber(pm.Card.Last4)),
	)
}

// metadataKey is what an XML element name (and so a metadata key) may be.
var metadataKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,39}$`)

// metadataOf reads metadata: strings, numbers and booleans, kept as text.
func metadataOf(pm *fields) map[string]string {
	if !pm.has("metadata") {
		return nil
	}
	md := pm.object("metadata")
	out := map[string]string{}
	for k := range md.m {
		if !metadataKey.MatchString(k) {
			pm.fail("metadata", keyInvalid)
			return nil
		}
		if _, nested := md.m[k].(map[string]any); nested {
			pm.fail("metadata", keyInvalid)
			return nil
		}
		out[k] = md.text(k)
	}
	return out
}

// holderName is full_name, else first_name and last_name joined.
func holderName(cc *fields) string {
	if full := strings.TrimSpace(cc.str("full_name")); full != "" {
		return full
	}
	return strings.TrimSpace(strings.TrimSpace(cc.str("first_name")) + " " + strings.TrimSpace(cc.str("last_name")))
}

// country makes a two-letter country code upper case; longer names go to
// the engine as they are (and are refused there).
func country(s string) string {
	s = strings.TrimSpace(s)
	if len(s) == 2 {
		return strings.ToUpper(s)
	}
	return s
}

// nameError names a card number the engine refused in the holder name by
// the attribute that carried it: the engine sees one name, which Spreedly
// takes as full_name or as first_name and last_name. A number split across
// first and last name stays full_name.
func nameError(err error, cc *fields) error {
	pe, ok := payment.AsError(err)
	if !ok || pe.Code != payment.CodeCardNumberInText || pe.Param != "card.holder_name" {
		return err
	}
	attr := "full_name"
	for _, a := range []string{"full_name", "first_name", "last_name"} {
		if engine.CheckNoCardNumber(a, cc.str(a)) != nil {
			attr = a
			break
		}
	}
	return &spError{status: http.StatusUnprocessableEntity,
		items: []errorItem{{attribute: attr, key: keyInvalid, message: cardNumberMessage(attr)}}}
}

func billingOf(cc *fields) *payment.Address {
	a := payment.Address{Line1: cc.str("address1"), Line2: cc.str("address2"), City: cc.str("city"),
		State: cc.str("state"), PostalCode: cc.text("zip"), Country: country(cc.str("country"))}
	if a == (payment.Address{}) {
		return nil
	}
	return &a
}

func (c *call) paymentMethodRequest() (*fields, error) {
	body, err := readBody(c.r, c.f)
	if err != nil {
		return nil, err
	}
	root := newFields(body)
	pm := root.object("payment_method")
	return pm, root.err()
}

func (c *call) createPaymentMethod() error {
	pm, err := c.paymentMethodRequest()
	if err != nil {
		return err
	}
	if !pm.has("credit_card") {
		if len(pm.m) > 0 && (pm.has("bank_account") || pm.has("apple_pay") || pm.has("google_pay") || pm.has("third_party_token")) {
			return unsupported("this payment method type")
		}
		return fieldErr("credit_card", keyBlank)
	}
	cc := pm.object("credit_card")
	in := engine.PaymentMethodInput{
		Type: payment.PaymentMethodTypeCard,
		Card: &engine.CardInput{Number: cc.text("number"), CVC: cc.text("verification_value"),
			ExpMonth: cc.cardInt("month"), ExpYear: cc.cardInt("year"), HolderName: holderName(cc)},
		Billing:  billingOf(cc),
		Email:    pm.str("email"),
		Metadata: metadataOf(pm),
		Retain:   pm.boolean("retained"),
	}
	if err := pm.err(); err != nil {
		return err
	}
	// Spreedly checks what a card needs before it looks at the number.
	for _, f := range []struct {
		attr  string
		blank bool
	}{
		{"first_name", in.Card.HolderName == ""},
		{"number", strings.TrimSpace(in.Card.Number) == ""},
		{"month", in.Card.ExpMonth == 0},
		{"year", in.Card.ExpYear == 0},
	} {
		if f.blank {
			pm.fail(f.attr, keyBlank)
		}
	}
	if err := pm.err(); err != nil {
		return err
	}
	if err := c.server.eng.ValidatePaymentMethod(in); err != nil {
		return nameError(err, cc)
	}
	if !c.p.Account.Live {
		digits, err := card.Normalize(in.Card.Number)
		if err == nil && !card.IsTestCard(digits) {
			return accountInactive(c.p.Account.ID)
		}
	}
	created, err := c.server.eng.CreatePaymentMethod(c.r.Context(), c.p, in)
	if err != nil {
		return err
	}
	txn := localTransaction("AddPaymentMethod", created.CreatedAt, paymentMethodNode(created))
	txn.children = append(txn.children[:6], append([]*node{boolean("retained", in.Retain)}, txn.children[6:]...)...)
	return c.reply(http.StatusCreated, txn)
}

// paymentMethodError makes a missing payment method Spreedly's 404.
func paymentMethodError(err error) error {
	if errors.Is(err, payment.ErrNotFound) {
		return notFound("payment_method")
	}
	return err
}

func (c *call) showPaymentMethod() error {
	pm, err := c.server.eng.PaymentMethod(c.r.Context(), c.p.Account.ID, c.token)
	if err != nil {
		return paymentMethodError(err)
	}
	return c.reply(http.StatusOK, paymentMethodNode(pm))
}

func (c *call) listPaymentMethods() error {
	lp, err := c.listParams()
	if err != nil {
		return err
	}
	pms, _, err := c.server.eng.PaymentMethods(c.r.Context(), c.p.Account.ID, lp)
	if err != nil {
		return cursorError(err)
	}
	list := array("payment_methods")
	for _, pm := range pms {
		list.add(paymentMethodNode(pm))
	}
	return c.reply(http.StatusOK, list)
}

// updatePaymentMethod changes what Spreedly lets a client change: names,
// expiry, address, email and metadata. The card number and security code
// cannot change.
func (c *call) updatePaymentMethod() error {
	pm, err := c.paymentMethodRequest()
	if err != nil {
		return err
	}
	// Spreedly takes the card's fields at the top of payment_method on
	// update; under credit_card too.
	src := pm
	if pm.has("credit_card") {
		src = pm.object("credit_card")
	}
	ctx := c.r.Context()
	cur, err := c.server.eng.PaymentMethod(ctx, c.p.Account.ID, c.token)
	if err != nil {
		return paymentMethodError(err)
	}
	var u engine.PaymentMethodUpdate
	if src.has("full_name") || src.has("first_name") || src.has("last_name") {
		first, last := splitName(cur.Card.HolderName)
		name := strings.TrimSpace(src.str("full_name"))
		if name == "" {
			if src.has("first_name") {
				first = strings.TrimSpace(src.str("first_name"))
			}
			if src.has("last_name") {
				last = strings.TrimSpace(src.str("last_name"))
			}
			name = strings.TrimSpace(first + " " + last)
		}
		u.HolderName = &name
	}
	if src.has("month") {
		m := src.cardInt("month")
		u.ExpMonth = &m
	}
	if src.has("year") {
		y := src.cardInt("year")
		u.ExpYear = &y
	}
	if src.has("address1") || src.has("address2") || src.has("city") || src.has("state") || src.has("zip") || src.has("country") {
		b := cur.Billing
		for _, f := range []struct {
			key string
			dst *string
		}{{"address1", &b.Line1}, {"address2", &b.Line2}, {"city", &b.City}, {"state", &b.State}, {"zip", &b.PostalCode}} {
			if src.has(f.key) {
				*f.dst = src.text(f.key)
			}
		}
		if src.has("country") {
			b.Country = country(src.str("country"))
		}
		u.Billing = &b
	}
	if pm.has("email") {
		e := pm.str("email")
		u.Email = &e
	}
	u.Metadata = metadataOf(pm)
	if err := pm.err(); err != nil {
		return err
	}
	updated, err := c.server.eng.UpdatePaymentMethod(ctx, c.p.Account.ID, c.token, u)
	if err != nil {
		return paymentMethodError(nameError(err, src))
	}
	return c.reply(http.StatusOK, paymentMethodNode(updated))
}

func (c *call) retainPaymentMethod() error {
	pm, err := c.server.eng.RetainPaymentMethod(c.r.Context(), c.p.Account.ID, c.token)
	if err != nil {
		return paymentMethodError(err)
	}
	return c.reply(http.StatusOK, localTransaction("RetainPaymentMethod", pm.UpdatedAt, paymentMethodNode(pm)))
}

func (c *call) redactPaymentMethod() error {
	pm, err := c.server.eng.RedactPaymentMethodAs(c.r.Context(), c.p, c.token)
	if err != nil {
		return paymentMethodError(err)
	}
	return c.reply(http.StatusOK, localTransaction("RedactPaymentMethod", pm.UpdatedAt, paymentMethodNode(pm)))
}

// recachePaymentMethod takes a fresh CVC for a payment method's next
// authorization: a RecacheSensitiveData transaction.
func (c *call) recachePaymentMethod() error {
	pm, err := c.paymentMethodRequest()
	if err != nil {
		return err
	}
	cvc := pm.object("credit_card").str("verification_value")
	if err := pm.err(); err != nil {
		return err
	}
	updated, err := c.server.eng.RecachePaymentMethod(c.r.Context(), c.p.Account.ID, c.token, cvc)
	if err != nil {
		return paymentMethodError(err)
	}
	return c.reply(http.StatusOK, localTransaction("RecacheSensitiveData", updated.UpdatedAt, paymentMethodNode(updated)))
}
