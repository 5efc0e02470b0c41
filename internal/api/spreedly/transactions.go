package spreedly

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/kassapay/kassa/internal/engine"
	"github.com/kassapay/kassa/internal/gateway"
	"github.com/kassapay/kassa/internal/payment"
)

// transactionType names an operation's kind as Spreedly does.
func transactionType(k payment.OperationKind) string {
	switch k {
	case payment.OpAuthorize:
		return "Authorization"
	case payment.OpPurchase:
		return "Purchase"
	case payment.OpCapture:
		return "Capture"
	case payment.OpVoid:
		return "Void"
	case payment.OpRefund:
		return "Credit"
	case payment.OpVerify:
		return "Verification"
	case payment.OpCredit:
		return "GeneralCredit"
	case payment.OpStore:
		return "Store"
	}
	return string(k)
}

// stateOf is a transaction's Spreedly state and the HTTP status of the
// response that made it: a failure is 422 with the transaction.
func stateOf(o payment.Outcome) (string, int) {
	switch o {
	case payment.OutcomeSucceeded:
		return "succeeded", http.StatusOK
	case payment.OutcomeUnknown:
		return "gateway_processing_result_unknown", http.StatusOK
	case payment.OutcomePending:
		return "processing", http.StatusOK
	}
	return "gateway_processing_failed", http.StatusUnprocessableEntity
}

// txnContext is what a transaction shows besides its operation.
type txnContext struct {
	op        *payment.Operation
	pay       *payment.Payment       // nil outside a payment
	pm        *payment.PaymentMethod // nil when unknown
	gw        *engine.GatewayDetail  // nil when unknown
	reference string                 // the transaction a follow-up acted on
	retain    bool
	gsf       map[string]any // as the request sent them
	email, ip string
}

func transactionNode(t *txnContext) *node {
	op := t.op
	state, _ := stateOf(op.Outcome)
	succeeded := op.Outcome == payment.OutcomeSucceeded
	var msg *node
	switch {
	case succeeded:
		msg = str("message", "Succeeded!").withAttr("key", "messages.transaction_succeeded")
	case op.Outcome == payment.OutcomeNotSent:
		msg = str("message", "The transaction was not sent to the gateway.").withAttr("key", "messages.transaction_not_sent")
	case op.Outcome == payment.OutcomeUnknown || op.Outcome == payment.OutcomePending:
		msg = str("message", "The gateway's answer is unknown; it is being asked again.").withAttr("key", "messages.transaction_result_unknown")
	default:
		m := op.Message
		if m == "" {
			m = "Unable to process the " + strings.ToLower(transactionType(op.Kind)) + " transaction."
		}
		msg = str("message", m).withAttr("key", "")
	}
	gwToken, gwType := op.GatewayID, ""
	onTest := false
	if t.gw != nil {
		gwType = spreedlyType(t.gw.Gateway.Type)
		onTest = t.gw.Gateway.Type == simulatorType
	}
	orderID, desc := "", ""
	if t.pay != nil {
		orderID, desc = t.pay.Reference, t.pay.Description
	}
	ref := t.reference
	if ref == "" && t.pay != nil && (op.Kind == payment.OpCapture || op.Kind == payment.OpVoid || op.Kind == payment.OpRefund) {
		if len(t.pay.Operations) > 0 {
			ref = t.pay.Operations[0].ID
		}
	}
	n := object("transaction",
		boolean("on_test_gateway", onTest),
		datetime("created_at", op.CreatedAt),
		datetime("updated_at", op.UpdatedAt),
		boolean("succeeded", succeeded),
		str("state", state),
		str("token", op.ID),
		str("transaction_type", transactionType(op.Kind)),
		strOrNil("order_id", orderID),
		strOrNil("ip", t.ip),
		strOrNil("description", desc),
		strOrNil("email", t.email),
		gsfNode(t.gsf),
		object("gateway_specific_response_fields"),
		strOrNil("gateway_transaction_id", op.GatewayReference),
	)
	if op.Kind != payment.OpVerify && op.Kind != payment.OpStore {
		n.add(integer("amount", op.Amount), strOrNil("currency_code", op.Currency))
	}
	n.add(
		boolean("retain_on_success", t.retain),
		msg,
		str("gateway_token", gwToken),
		strOrNil("gateway_type", gwType),
	)
	if ref != "" {
		n.add(str("reference_token", ref))
	}
	n.add(object("response",
		boolean("success", succeeded),
		strOrNil("message", responseMessage(op)),
		strOrNil("avs_code", op.AVSCode),
		null("avs_message"),
		strOrNil("cvv_code", op.CVVCode),
		null("cvv_message"),
		boolean("pending", op.Outcome == payment.OutcomePending),
		boolean("result_unknown", op.Outcome == payment.OutcomeUnknown),
		strOrNil("error_code", op.DeclineCode),
		null("error_detail"),
		boolean("cancelled", false),
		null("fraud_review"),
		datetime("created_at", op.CreatedAt),
		datetime("updated_at", op.UpdatedAt),
	))
	if t.pm != nil && op.Kind != payment.OpCapture && op.Kind != payment.OpVoid && op.Kind != payment.OpRefund {
		n.add(paymentMethodNode(t.pm))
	}
	return n
}

func responseMessage(op *payment.Operation) string {
	if op.Message != "" {
		return op.Message
	}
	if op.Outcome == payment.OutcomeSucceeded {
		return "Successful " + strings.ToLower(transactionType(op.Kind))
	}
	return ""
}

// gsfNode shows the gateway-specific fields a request sent, or null.
func gsfNode(gsf map[string]any) *node {
	if len(gsf) == 0 {
		return null("gateway_specific_fields")
	}
	return anyNode("gateway_specific_fields", gsf)
}

// anyNode renders a free-form value.
func anyNode(name string, v any) *node {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			if metadataKey.MatchString(k) {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		n := object(name)
		for _, k := range keys {
			n.add(anyNode(k, v[k]))
		}
		return n
	case bool:
		return boolean(name, v)
	case int64:
		return integer(name, v)
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return integer(name, i)
		}
		return str(name, v.String())
	case string:
		return str(name, v)
	case nil:
		return null(name)
	}
	return str(name, fmt.Sprint(v))
}

// loadContext fills in the payment, payment method and gateway of op.
func (c *call) loadContext(op *payment.Operation) (*txnContext, error) {
	ctx := c.r.Context()
	acct := c.p.Account.ID
	t := &txnContext{op: op}
	if op.PaymentID != "" {
		pay, err := c.server.eng.Payment(ctx, acct, op.PaymentID)
		if err != nil {
			return nil, fmt.Errorf("payment of %s: %w", op.ID, err)
		}
		t.pay = pay
	}
	if op.PaymentMethodID != "" {
		pm, err := c.server.eng.PaymentMethod(ctx, acct, op.PaymentMethodID)
		if err != nil && !errors.Is(err, payment.ErrNotFound) {
			return nil, err
		}
		t.pm = pm
	}
	if op.GatewayID != "" {
		d, err := c.server.eng.Gateway(ctx, acct, op.GatewayID)
		if err != nil && !errors.Is(err, payment.ErrNotFound) {
			return nil, err
		}
		t.gw = d
	}
	if t.pay != nil && t.gw != nil && len(t.pay.Operations) > 0 && t.pay.Operations[0].ID == op.ID {
		// The fields went with the payment's first operation.
		t.gsf = wrapGSF(t.gw.Gateway.Type, t.pay.GatewaySpecificFields)
	}
	return t, nil
}

// replyTransaction answers with a transaction, 422 when it failed.
func (c *call) replyTransaction(t *txnContext) error {
	_, status := stateOf(t.op.Outcome)
	return c.reply(status, transactionNode(t))
}

// transactionRequest reads the "transaction" object of a body, which may
// be empty.
func (c *call) transactionRequest() (*fields, error) {
	body, err := readBody(c.r, c.f)
	if err != nil {
		return nil, err
	}
	root := newFields(body)
	tx := root.object("transaction")
	return tx, root.err()
}

// gatewayAction is what purchase, authorize, verify, store and
// general_credit read.
type gatewayAction struct {
	pmToken     string
	amount      int64
	hasAmount   bool
	currency    string
	retain      bool
	orderID     string
	description string
	email, ip   string
	gsf         map[string]any // the gateway's own, unwrapped
	gsfAll      map[string]any
	stored      *payment.StoredCredential
	gw          *engine.GatewayDetail
}

func (c *call) readGatewayAction(needsAmount bool) (*gatewayAction, error) {
	tx, err := c.transactionRequest()
	if err != nil {
		return nil, err
	}
	a := &gatewayAction{}
	a.pmToken = tx.str("payment_method_token")
	a.amount, a.hasAmount = tx.integer("amount")
	a.currency = strings.ToUpper(tx.str("currency_code"))
	a.retain = tx.boolean("retain_on_success")
	a.orderID = tx.str("order_id")
	a.description = tx.str("description")
	a.email = tx.str("email")
	a.ip = tx.str("ip")
	if tx.has("gateway_specific_fields") {
		all := tx.object("gateway_specific_fields")
		a.gsfAll = plain(all.m).(map[string]any)
	}
	initiator := tx.str("stored_credential_initiator")
	reason := tx.str("stored_credential_reason_type")
	if err := tx.err(); err != nil {
		return nil, err
	}
	// The engine checks what it stores; email and ip are only echoed in
	// the transaction, which must not show a card number either.
	for _, f := range []struct{ attr, v string }{{"email", a.email}, {"ip", a.ip}} {
		if err := engine.CheckNoCardNumber(f.attr, f.v); err != nil {
			return nil, err
		}
	}
	if initiator != "" {
		sc := &payment.StoredCredential{Initiator: initiator}
		switch reason {
		case "recurring", "installment":
			sc.Reason = "recurring"
		case "unscheduled":
			sc.Reason = "unscheduled"
		case "":
			sc.Reason = "one_time"
			if initiator == "merchant" {
				sc.Reason = "unscheduled"
			}
		default:
			return nil, fieldErr("stored_credential_reason_type", keyInvalid)
		}
		if initiator != "cardholder" && initiator != "merchant" {
			return nil, fieldErr("stored_credential_initiator", keyInvalid)
		}
		a.stored = sc
	}
	if a.pmToken == "" {
		tx.fail("payment_method_token", keyBlank)
	}
	if needsAmount {
		switch {
		case !a.hasAmount:
			tx.fail("amount", keyBlank)
		case a.amount <= 0:
			tx.fail("amount", keyInvalid)
		}
		if a.currency == "" {
			tx.fail("currency_code", keyBlank)
		}
	}
	if err := tx.err(); err != nil {
		return nil, err
	}
	d, err := c.server.eng.Gateway(c.r.Context(), c.p.Account.ID, c.token)
	if err != nil {
		return nil, gatewayError(err)
	}
	a.gw = d
	if own, ok := a.gsfAll[spreedlyType(d.Gateway.Type)].(map[string]any); ok {
		a.gsf = gsfTyped(own, d.Spec)
	}
	return a, nil
}

// gsfTyped keeps the gateway-specific fields the gateway type's Spec
// declares, XML text made the declared type. Others are left out, as
// Spreedly ignores fields a gateway does not use (its test gateway's
// idempotency_key, say).
func gsfTyped(in map[string]any, spec gateway.Spec) map[string]any {
	out := map[string]any{}
	for _, f := range spec.GatewaySpecificFields {
		v, ok := in[f.Name]
		if !ok {
			continue
		}
		if s, ok := v.(string); ok {
			switch {
			case f.Kind == gateway.KindBoolean && (s == "true" || s == "false"):
				v = s == "true"
			case f.Kind == gateway.KindInteger:
				if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
					v = n
				}
			}
		}
		out[f.Name] = v
	}
	return out
}

func (c *call) purchase() error  { return c.payment(true) }
func (c *call) authorize() error { return c.payment(false) }

// payment runs a purchase or an authorization.
func (c *call) payment(capture bool) error {
	a, err := c.readGatewayAction(true)
	if err != nil {
		return err
	}
	ctx := c.r.Context()
	pay, err := c.server.eng.CreatePayment(ctx, c.p, engine.PaymentInput{
		Amount: a.amount, Currency: a.currency, PaymentMethodID: a.pmToken, GatewayID: c.token,
		Capture: &capture, Reference: a.orderID, Description: a.description,
		StoredCredential: a.stored, GatewaySpecificFields: a.gsf,
	})
	if err != nil {
		return actionError(err)
	}
	op := pay.Operations[len(pay.Operations)-1]
	c.retainOnSuccess(a, op)
	t, err := c.loadContext(op)
	if err != nil {
		return err
	}
	t.retain, t.email, t.ip = a.retain, a.email, a.ip
	return c.replyTransaction(t)
}

// actionError makes the engine's not-found errors of a gateway action
// Spreedly's.
func actionError(err error) error {
	if e, ok := payment.AsError(err); ok && e.Kind == payment.KindNotFound {
		switch e.Param {
		case "payment_method":
			return notFound("payment_method")
		case "gateway":
			return notFound("gateway")
		}
	}
	return err
}

func (c *call) verify() error        { return c.standalone(payment.OpVerify, false) }
func (c *call) store() error         { return c.standalone(payment.OpStore, false) }
func (c *call) generalCredit() error { return c.standalone(payment.OpCredit, true) }

// standalone runs a verify, store or general credit: an operation outside
// any payment.
func (c *call) standalone(kind payment.OperationKind, needsAmount bool) error {
	a, err := c.readGatewayAction(needsAmount)
	if err != nil {
		return err
	}
	ctx := c.r.Context()
	op, err := c.server.eng.StandaloneOperation(ctx, c.p, engine.StandaloneInput{
		Kind: kind, PaymentMethodID: a.pmToken, GatewayID: c.token, Amount: a.amount, Currency: a.currency,
		Description: a.description, GatewaySpecificFields: a.gsf,
	})
	if err != nil {
		return actionError(err)
	}
	c.retainOnSuccess(a, op)
	t, err := c.loadContext(op)
	if err != nil {
		return err
	}
	t.retain, t.email, t.ip = a.retain, a.email, a.ip
	t.gsf = wrapGSF(a.gw.Gateway.Type, a.gsf)
	return c.replyTransaction(t)
}

// retainOnSuccess retains the payment method of a successful operation
// when the request asked for it (retain_on_success).
func (c *call) retainOnSuccess(a *gatewayAction, op *payment.Operation) {
	if !a.retain || op.Outcome != payment.OutcomeSucceeded {
		return
	}
	ctx := c.r.Context()
	if _, err := c.server.eng.RetainPaymentMethod(ctx, c.p.Account.ID, a.pmToken); err != nil {
		c.server.log.WarnContext(ctx, "retain on success failed", "payment_method", a.pmToken, "error", err)
	}
}

// wrapGSF shows gateway-specific fields as they are sent: under the
// gateway's Spreedly type.
func wrapGSF(kassaType string, gsf map[string]any) map[string]any {
	if len(gsf) == 0 {
		return nil
	}
	return map[string]any{spreedlyType(kassaType): gsf}
}

// followUp acts on the payment of the transaction token.
func (c *call) followUp(action engine.Action) error {
	tx, err := c.transactionRequest()
	if err != nil {
		return err
	}
	amount, hasAmount := tx.integer("amount")
	currency := strings.ToUpper(tx.str("currency_code"))
	if err := tx.err(); err != nil {
		return err
	}
	if hasAmount && amount <= 0 {
		return fieldErr("amount", keyInvalid)
	}
	ctx := c.r.Context()
	op, err := c.server.eng.Operation(ctx, c.p.Account.ID, c.token)
	if errors.Is(err, payment.ErrNotFound) {
		return notFound("transaction")
	}
	if err != nil {
		return err
	}
	if op.PaymentID == "" {
		return newError(http.StatusUnprocessableEntity, keyInvalidState,
			"A "+transactionType(op.Kind)+" transaction cannot be "+string(action)+"d.")
	}
	if currency != "" && currency != op.Currency {
		return fieldErr("currency_code", keyInvalid)
	}
	var amt *int64
	if hasAmount {
		amt = &amount
	}
	// The answer is the operation this request made: others may have been
	// added to the payment meanwhile.
	var made *payment.Operation
	switch action {
	case engine.ActionCapture:
		_, made, err = c.server.eng.Capture(ctx, c.p, op.PaymentID, amt)
	case engine.ActionVoid:
		_, made, err = c.server.eng.Void(ctx, c.p, op.PaymentID)
	default:
		_, made, err = c.server.eng.Refund(ctx, c.p, op.PaymentID, amt, "")
	}
	if err != nil {
		return err
	}
	t, err := c.loadContext(made)
	if err != nil {
		return err
	}
	t.reference = op.ID
	return c.replyTransaction(t)
}

func (c *call) capture() error { return c.followUp(engine.ActionCapture) }
func (c *call) void() error    { return c.followUp(engine.ActionVoid) }
func (c *call) credit() error  { return c.followUp(engine.ActionRefund) }

func (c *call) showTransaction() error {
	op, err := c.server.eng.Operation(c.r.Context(), c.p.Account.ID, c.token)
	if errors.Is(err, payment.ErrNotFound) {
		return notFound("transaction")
	}
	if err != nil {
		return err
	}
	t, err := c.loadContext(op)
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, transactionNode(t))
}

func (c *call) listTransactions() error {
	return c.transactionList(payment.OperationFilter{})
}

func (c *call) listPaymentMethodTransactions() error {
	if _, err := c.server.eng.PaymentMethod(c.r.Context(), c.p.Account.ID, c.token); err != nil {
		return paymentMethodError(err)
	}
	return c.transactionList(payment.OperationFilter{PaymentMethodID: c.token})
}

func (c *call) transactionList(f payment.OperationFilter) error {
	lp, err := c.listParams()
	if err != nil {
		return err
	}
	f.ListParams = lp
	ops, _, err := c.server.eng.Operations(c.r.Context(), c.p.Account.ID, f)
	if err != nil {
		return cursorError(err)
	}
	list := array("transactions")
	for _, op := range ops {
		t, err := c.loadContext(op)
		if err != nil {
			return err
		}
		list.add(transactionNode(t))
	}
	return c.reply(http.StatusOK, list)
}

// transcript answers the scrubbed exchange of a transaction as plain text.
func (c *call) transcript() error {
	op, err := c.server.eng.Operation(c.r.Context(), c.p.Account.ID, c.token)
	if errors.Is(err, payment.ErrNotFound) {
		return notFound("transaction")
	}
	if err != nil {
		return err
	}
	var tr gateway.Transcript
	if len(op.Transcript) > 0 {
		if err := json.Unmarshal(op.Transcript, &tr); err != nil {
			return fmt.Errorf("transcript of %s: %w", op.ID, err)
		}
	}
	var b strings.Builder
	for _, ex := range tr.Exchanges {
		fmt.Fprintf(&b, "-> %s %s\n", ex.Method, ex.URL)
		writeHeaders(&b, "-> ", ex.RequestHeaders)
		if ex.RequestBody != "" {
			fmt.Fprintf(&b, "-> %s\n", ex.RequestBody)
		}
		if ex.Status != 0 {
			fmt.Fprintf(&b, "<- %d\n", ex.Status)
		}
		writeHeaders(&b, "<- ", ex.ResponseHeaders)
		if ex.ResponseBody != "" {
			fmt.Fprintf(&b, "<- %s\n", ex.ResponseBody)
		}
		if ex.Error != "" {
			fmt.Fprintf(&b, "!! %s\n", ex.Error)
		}
	}
	h := c.w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	c.w.WriteHeader(http.StatusOK)
	c.w.Write([]byte(b.String()))
	return nil
}

func writeHeaders(b *strings.Builder, prefix string, h map[string]string) {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(b, "%s%s: %s\n", prefix, k, h[k])
	}
}
