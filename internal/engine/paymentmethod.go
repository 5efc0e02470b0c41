package engine

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kassapay/kassa/internal/card"
	"github.com/kassapay/kassa/internal/payment"
)

// CardInput is a card as a caller hands it in.
type CardInput struct {
	Number     string
	ExpMonth   int
	ExpYear    int
	CVC        string
	HolderName string
}

// PaymentMethodInput asks to vault a payment method.
type PaymentMethodInput struct {
	Type     string
	Card     *CardInput
	Billing  *payment.Address
	Email    string
	Metadata map[string]string
	Retain   bool
	// Customer is the id of the customer the payment method belongs to,
	// or empty. Only a secret key may name one.
	Customer string
}

// PaymentMethodUpdate changes a payment method's non-secret fields; nil
// fields are left alone. Metadata is merged: a key set to "" is removed.
type PaymentMethodUpdate struct {
	ExpMonth   *int
	ExpYear    *int
	HolderName *string
	Billing    *payment.Address
	Email      *string
	Metadata   map[string]string
}

// Limits on free-form fields, as Stripe sets them for metadata.
const (
	maxMetadataKeys   = 50
	maxMetadataKeyLen = 40
	maxMetadataValLen = 500
	maxNameLen        = 200
	maxAddressLen     = 200
	maxEmailLen       = 254
)

// sealRecord names what a ciphertext of a payment method holds; it is bound
// into the ciphertext so a CVC cannot be opened as a PAN or moved to another
// payment method.
func sealRecord(pmID, field string) string { return pmID + "#" + field }

// CreatePaymentMethod validates and vaults a payment method for p's account.
func (e *Engine) CreatePaymentMethod(ctx context.Context, p *payment.Principal, in PaymentMethodInput) (*payment.PaymentMethod, error) {
	pm, ev, err := e.sealPaymentMethod(ctx, p, in)
	if err != nil {
		return nil, err
	}
	if err := e.store.CreatePaymentMethod(ctx, pm, ev); err != nil {
		if pe, ok := payment.AsError(err); ok && pe.Kind == payment.KindNotFound && pe.Param == "customer" {
			return nil, customerNotFound(in.Customer) // deleted meanwhile
		}
		return nil, fmt.Errorf("create payment method: %w", err)
	}
	return pm, nil
}

// sealPaymentMethod validates in and returns the payment method
// CreatePaymentMethod stores, its card sealed, with its
// payment_method.created event; it stores nothing, so that a caller may
// store it in a write of its own (the hosted page's attempt claim).
func (e *Engine) sealPaymentMethod(ctx context.Context, p *payment.Principal, in PaymentMethodInput) (*payment.PaymentMethod, *payment.Event, error) {
	digits, brand, err := e.validatePaymentMethod(in)
	if err != nil {
		return nil, nil, err
	}
	if in.Customer != "" {
		// A publishable key is public (it is in the merchant's web
		// pages): it must not learn which customers exist nor attach
		// cards to them.
		if p.Key == nil || p.Key.Kind != payment.KeySecret {
			return nil, nil, &payment.Error{Kind: payment.KindForbidden, Code: payment.CodeScopeInsufficient, Param: "customer",
				Message: "Only a secret key may create a payment method for a customer."}
		}
		if err := e.checkCustomerRef(ctx, p.Account.ID, in.Customer); err != nil {
			return nil, nil, err
		}
	}
	now := e.clock()
	c := in.Card
	var billing payment.Address
	if in.Billing != nil {
		billing = *in.Billing
	}
	md := map[string]string{}
	for k, v := range in.Metadata {
		if v != "" {
			md[k] = v
		}
	}

	acct := p.Account.ID
	pm := &payment.PaymentMethod{
		ID:        payment.NewID(payment.PrefixPaymentMethod),
		AccountID: acct,
		Type:      payment.PaymentMethodTypeCard,
		Card: payment.Card{
			Brand:      brand,
			First6:     card.First6(digits),
			Last4:      card.Last4(digits),
			ExpMonth:   c.ExpMonth,
			ExpYear:    c.ExpYear,
			HolderName: strings.TrimSpace(c.HolderName),
		},
		Billing:      billing,
		Email:        in.Email,
		Metadata:     md,
		StorageState: payment.StorageCached,
		CustomerID:   in.Customer,
		Test:         !p.Account.Live,
		CreatedAt:    now,
		UpdatedAt:    now,
	}
	if in.Retain {
		pm.StorageState = payment.StorageRetained
	}
	if pm.Card.Fingerprint, err = e.vault.Fingerprint(ctx, acct, digits); err != nil {
		return nil, nil, fmt.Errorf("fingerprint card: %w", err)
	}
	if pm.PANSealed, err = e.vault.Seal(ctx, acct, payment.PurposeCard, sealRecord(pm.ID, "pan"), []byte(digits)); err != nil {
		return nil, nil, fmt.Errorf("seal card number: %w", err)
	}
	if c.CVC != "" {
		if pm.CVCSealed, err = e.vault.Seal(ctx, acct, payment.PurposeCard, sealRecord(pm.ID, "cvc"), []byte(c.CVC)); err != nil {
			return nil, nil, fmt.Errorf("seal cvc: %w", err)
		}
		exp := now.Add(e.cfg.CVCTTL)
		pm.CVCExpiresAt = &exp
	}
	return pm, newEvent(acct, "payment_method.created", pm.ID, PaymentMethodObjectOf(pm), now), nil
}

// ValidatePaymentMethod checks in exactly as CreatePaymentMethod does, and
// returns the error CreatePaymentMethod would, without sealing or storing
// anything: it needs neither the store nor the vault.
func (e *Engine) ValidatePaymentMethod(in PaymentMethodInput) error {
	_, _, err := e.validatePaymentMethod(in)
	return err
}

// validatePaymentMethod checks a payment method to create and returns its
// card number's digits and brand.
func (e *Engine) validatePaymentMethod(in PaymentMethodInput) (digits, brand string, err error) {
	switch in.Type {
	case "":
		return "", "", payment.Missing("type")
	case payment.PaymentMethodTypeCard:
	default:
		return "", "", payment.Invalid(payment.CodeParameterInvalid, "type",
			"Invalid type: must be one of card.")
	}
	if in.Card == nil {
		return "", "", payment.Missing("card")
	}
	c := in.Card
	if strings.TrimSpace(c.Number) == "" {
		return "", "", payment.Missing("card.number")
	}
	digits, brand, err = card.Validate(c.Number)
	if err != nil {
		return "", "", payment.Invalid(payment.CodeInvalidNumber, "card.number", "The card number is not a valid card number: %s.", numberProblem(err))
	}
	if err := checkExpiry(c.ExpMonth, c.ExpYear, e.now()); err != nil {
		return "", "", err
	}
	if c.CVC != "" && !card.ValidCVC(c.CVC, brand) {
		return "", "", payment.Invalid(payment.CodeInvalidCVC, "card.cvc", "The card's security code is invalid.")
	}
	if err := checkText("card.holder_name", c.HolderName, maxNameLen); err != nil {
		return "", "", err
	}
	if in.Billing != nil {
		if err := checkAddress(*in.Billing); err != nil {
			return "", "", err
		}
	}
	if err := checkEmail(in.Email); err != nil {
		return "", "", err
	}
	if err := checkMetadata(in.Metadata); err != nil {
		return "", "", err
	}
	return digits, brand, nil
}

// numberProblem says in words, without the number, why it was refused.
func numberProblem(err error) string {
	switch {
	case errors.Is(err, card.ErrNotDigits):
		return "it must contain only digits"
	case errors.Is(err, card.ErrLength):
		return "its length is wrong for its brand"
	case errors.Is(err, card.ErrChecksum):
		return "its check digit is wrong"
	}
	return "it was refused"
}

// checkExpiry checks a card's expiry month and year as the API sees them.
func checkExpiry(month, year int, now time.Time) error {
	if month == 0 {
		return payment.Missing("card.exp_month")
	}
	if year == 0 {
		return payment.Missing("card.exp_year")
	}
	err := card.CheckExpiry(month, year, now)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, card.ErrExpiryMonth):
		return payment.Invalid(payment.CodeInvalidExpiryMonth, "card.exp_month", "The card's expiration month must be between 1 and 12.")
	case errors.Is(err, card.ErrExpiryYear):
		return payment.Invalid(payment.CodeInvalidExpiryYear, "card.exp_year", "The card's expiration year is invalid: use four digits.")
	case errors.Is(err, card.ErrExpired):
		return payment.Invalid(payment.CodeExpiredCard, "card.exp_year", "The card has expired.")
	}
	return payment.Invalid(payment.CodeParameterInvalid, "card.exp_year", "The card's expiry is invalid.")
}

// checkText checks a free-form field: valid UTF-8, no control characters, at
// most max bytes.
func checkText(param, s string, max int) error {
	if len(s) > max {
		return payment.Invalid(payment.CodeParameterInvalid, param, "%s must be at most %d characters.", param, max)
	}
	if !utf8.ValidString(s) {
		return payment.Invalid(payment.CodeParameterInvalid, param, "%s must be valid UTF-8.", param)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return payment.Invalid(payment.CodeParameterInvalid, param, "%s must not contain control characters.", param)
		}
	}
	return CheckNoCardNumber(param, s)
}

// CheckNoCardNumber refuses s, the value of param, if it holds what looks
// like a card number (card.ContainsPAN). Free text is stored, logged in
// events and shown in the clear: a card number pasted into it would escape
// the vault. The engine checks every free-text field it stores; a dialect
// calls this for a field of its own that it echoes without storing. The
// error names param and never repeats s.
func CheckNoCardNumber(param, s string) error {
	if card.ContainsPAN(s) {
		return payment.Invalid(payment.CodeCardNumberInText, param, "%s must not contain a card number: vault cards as payment methods.", param)
	}
	return nil
}

func checkAddress(a payment.Address) error {
	for _, f := range []struct{ param, v string }{
		{"billing_address.line1", a.Line1},
		{"billing_address.line2", a.Line2},
		{"billing_address.city", a.City},
		{"billing_address.postal_code", a.PostalCode},
		{"billing_address.state", a.State},
	} {
		if err := checkText(f.param, f.v, maxAddressLen); err != nil {
			return err
		}
	}
	if a.Country != "" && !isCountryCode(a.Country) {
		return payment.Invalid(payment.CodeParameterInvalid, "billing_address.country",
			"billing_address.country must be a two-letter ISO 3166-1 code in upper case, like 'NO'.")
	}
	return nil
}

func isCountryCode(s string) bool {
	return len(s) == 2 && 'A' <= s[0] && s[0] <= 'Z' && 'A' <= s[1] && s[1] <= 'Z'
}

func checkEmail(email string) error {
	if email == "" {
		return nil
	}
	// An address is stored and shown like any free text, and a card
	// number is a valid local part ("4000056655665556@example.com").
	if err := checkText("email", email, maxEmailLen); err != nil {
		return err
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return payment.Invalid(payment.CodeParameterInvalid, "email", "email must be a plain address like 'jane@example.com'.")
	}
	return nil
}

// checkMetadata applies Stripe's limits to metadata. Values of "" are
// allowed: on update they remove the key.
func checkMetadata(md map[string]string) error {
	if len(md) > maxMetadataKeys {
		return payment.Invalid(payment.CodeParameterInvalid, "metadata", "metadata may have at most %d keys.", maxMetadataKeys)
	}
	for k, v := range md {
		if k == "" || len(k) > maxMetadataKeyLen {
			return payment.Invalid(payment.CodeParameterInvalid, "metadata", "metadata keys must be 1 to %d characters.", maxMetadataKeyLen)
		}
		if err := checkText("metadata."+k, k, maxMetadataKeyLen); err != nil {
			// Named "metadata": the param must not repeat the key.
			if pe, ok := payment.AsError(err); ok && pe.Code == payment.CodeCardNumberInText {
				return payment.Invalid(payment.CodeCardNumberInText, "metadata", "metadata keys must not contain a card number.")
			}
			return payment.Invalid(payment.CodeParameterInvalid, "metadata", "metadata keys must be printable text.")
		}
		if err := checkText("metadata."+k, v, maxMetadataValLen); err != nil {
			return err
		}
	}
	return nil
}

// PaymentMethod returns the account's payment method id.
func (e *Engine) PaymentMethod(ctx context.Context, accountID, id string) (*payment.PaymentMethod, error) {
	return e.store.PaymentMethod(ctx, accountID, id)
}

// PaymentMethods lists the account's payment methods, newest first (oldest
// first when p.Ascending).
func (e *Engine) PaymentMethods(ctx context.Context, accountID string, p payment.ListParams) ([]*payment.PaymentMethod, bool, error) {
	return e.store.PaymentMethods(ctx, accountID, p)
}

// UpdatePaymentMethod changes the non-secret fields of a payment method that
// is not redacted.
func (e *Engine) UpdatePaymentMethod(ctx context.Context, accountID, id string, u PaymentMethodUpdate) (*payment.PaymentMethod, error) {
	if u.HolderName != nil {
		if err := checkText("card.holder_name", *u.HolderName, maxNameLen); err != nil {
			return nil, err
		}
	}
	if u.Billing != nil {
		if err := checkAddress(*u.Billing); err != nil {
			return nil, err
		}
	}
	if u.Email != nil {
		if err := checkEmail(*u.Email); err != nil {
			return nil, err
		}
	}
	if err := checkMetadata(u.Metadata); err != nil {
		return nil, err
	}
	now := e.clock()
	return e.store.UpdatePaymentMethod(ctx, accountID, id, func(pm *payment.PaymentMethod) (*payment.Event, error) {
		if pm.StorageState == payment.StorageRedacted {
			return nil, payment.Conflict(payment.CodeInvalidState, "Payment method %s is redacted and can no longer be changed.", pm.ID)
		}
		month, year := pm.Card.ExpMonth, pm.Card.ExpYear
		if u.ExpMonth != nil {
			month = *u.ExpMonth
		}
		if u.ExpYear != nil {
			year = *u.ExpYear
		}
		if u.ExpMonth != nil || u.ExpYear != nil {
			if err := checkExpiry(month, year, e.now()); err != nil {
				return nil, err
			}
		}
		pm.Card.ExpMonth, pm.Card.ExpYear = month, year
		if u.HolderName != nil {
			pm.Card.HolderName = strings.TrimSpace(*u.HolderName)
		}
		if u.Billing != nil {
			pm.Billing = *u.Billing
		}
		if u.Email != nil {
			pm.Email = *u.Email
		}
		md, err := mergeMetadata(pm.Metadata, u.Metadata)
		if err != nil {
			return nil, err
		}
		pm.Metadata = md
		pm.UpdatedAt = now
		return newEvent(accountID, "payment_method.updated", pm.ID, PaymentMethodObjectOf(pm), now), nil
	})
}

// RetainPaymentMethod keeps a cached payment method until it is redacted.
// Retaining a retained one changes nothing.
func (e *Engine) RetainPaymentMethod(ctx context.Context, accountID, id string) (*payment.PaymentMethod, error) {
	now := e.clock()
	return e.store.UpdatePaymentMethod(ctx, accountID, id, func(pm *payment.PaymentMethod) (*payment.Event, error) {
		switch pm.StorageState {
		case payment.StorageRetained:
			return nil, nil
		case payment.StorageRedacted:
			return nil, payment.Conflict(payment.CodeInvalidState, "Payment method %s is redacted and cannot be retained.", pm.ID)
		}
		pm.StorageState = payment.StorageRetained
		pm.UpdatedAt = now
		return newEvent(accountID, "payment_method.retained", pm.ID, PaymentMethodObjectOf(pm), now), nil
	})
}

// RedactPaymentMethodAs is RedactPaymentMethod by p, within p's account:
// its event names p (an API key, a dashboard user) as the actor.
func (e *Engine) RedactPaymentMethodAs(ctx context.Context, p *payment.Principal, id string) (*payment.PaymentMethod, error) {
	return e.RedactPaymentMethod(actingAs(ctx, p), p.Account.ID, id)
}

// RedactPaymentMethod destroys a payment method's card number and CVC; the
// record stays. Redacting a redacted one changes nothing. Its event's
// actor is the one ctx carries (RedactPaymentMethodAs), else none.
func (e *Engine) RedactPaymentMethod(ctx context.Context, accountID, id string) (*payment.PaymentMethod, error) {
	now := e.clock()
	return e.store.UpdatePaymentMethod(ctx, accountID, id, func(pm *payment.PaymentMethod) (*payment.Event, error) {
		if pm.StorageState == payment.StorageRedacted {
			return nil, nil
		}
		redact(pm, now)
		return stampActor(ctx, []*payment.Event{newEvent(accountID, "payment_method.redacted", pm.ID, PaymentMethodObjectOf(pm), now)})[0], nil
	})
}

func redact(pm *payment.PaymentMethod, now time.Time) {
	pm.StorageState = payment.StorageRedacted
	pm.PANSealed, pm.CVCSealed, pm.CVCExpiresAt = nil, nil, nil
	pm.RedactedAt = &now
	pm.UpdatedAt = now
}

// Sweep destroys expired CVCs, redacts cached payment methods past the cache
// TTL, forgets idempotency keys past theirs, closes checkout sessions past
// their expiry, deletes dashboard sessions that ended and sign-in budgets
// full again, and has the store refresh its
// planner statistics where they lag. Running it from several
// processes at once is harmless.
func (e *Engine) Sweep(ctx context.Context) error {
	now := e.clock()
	n, err := e.store.ExpirePaymentMethods(ctx, now, now.Add(-e.cfg.CacheTTL), func(pm *payment.PaymentMethod) *payment.Event {
		return newEvent(pm.AccountID, "payment_method.redacted", pm.ID, PaymentMethodObjectOf(pm), now)
	})
	if err != nil {
		return fmt.Errorf("sweep payment methods: %w", err)
	}
	if n > 0 {
		e.log.InfoContext(ctx, "redacted cached payment methods past their TTL", "count", n)
	}
	if _, err := e.store.PurgeIdempotencyKeys(ctx, now.Add(-e.cfg.IdempotencyTTL)); err != nil {
		return fmt.Errorf("sweep idempotency keys: %w", err)
	}
	if err := e.sweepCheckoutSessions(ctx, now); err != nil {
		return err
	}
	if _, err := e.store.DeleteExpiredDashboardSessions(ctx, now, now.Add(-e.cfg.DashboardIdleTimeout)); err != nil {
		return fmt.Errorf("sweep dashboard sessions: %w", err)
	}
	if _, err := e.store.PurgeLoginBudgets(ctx, now); err != nil {
		return fmt.Errorf("sweep sign-in budgets: %w", err)
	}
	return e.refreshStatistics(ctx)
}

// refreshStatistics has the store bring its planner statistics up to date
// where they lag, if it can.
func (e *Engine) refreshStatistics(ctx context.Context) error {
	sk, ok := e.store.(statisticsKeeper)
	if !ok {
		return nil
	}
	tables, err := sk.RefreshStatistics(ctx)
	if err != nil {
		return fmt.Errorf("refresh statistics: %w", err)
	}
	if len(tables) > 0 {
		e.log.DebugContext(ctx, "analysed tables whose statistics lagged", "tables", tables)
	}
	return nil
}

// statisticsEvery is how often RunSweeper looks for lagging statistics
// between sweeps: a young database grows many times over in its first
// minute, and plans made on the statistics of an empty table stay until
// the next analysis — on PostgreSQL a prepared statement's generic plan
// chosen on a one-page table scans it whole on every use. At 10 s, the
// first seconds of a fresh database read payments and the simulator's
// ledger by sequential scans. Looking costs one query; analysing happens
// only when a table's statistics lag (see RefreshStatistics), which for
// a table growing steadily is ever more rarely.
const statisticsEvery = time.Second

// statisticsKeeper is a store that can bring its query planner's
// statistics up to date; the sweeper asks it to, so that plans stay right
// as the data grows even where the database does not analyse by itself.
type statisticsKeeper interface {
	RefreshStatistics(ctx context.Context) ([]string, error)
}

// sweepOnce runs Sweep, logging a failure or a panic instead of ending
// the process.
func (e *Engine) sweepOnce(ctx context.Context) {
	defer func() {
		if v := recover(); v != nil {
			e.log.ErrorContext(ctx, "sweep panicked", "panic", fmt.Sprint(v))
		}
	}()
	if err := e.Sweep(ctx); err != nil && ctx.Err() == nil {
		e.log.ErrorContext(ctx, "sweep failed", "error", err)
	}
}

// RunSweeper calls Sweep every interval until ctx ends, and in between
// refreshes the store's statistics every statisticsEvery.
func (e *Engine) RunSweeper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	stats := time.NewTicker(min(interval, statisticsEvery))
	defer stats.Stop()
	e.sweepOnce(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			e.sweepOnce(ctx)
		case <-stats.C:
			if err := e.refreshStatistics(ctx); err != nil && ctx.Err() == nil {
				e.log.ErrorContext(ctx, "refresh statistics failed", "error", err)
			}
		}
	}
}

// RecachePaymentMethod gives a payment method a fresh CVC for its next
// authorization (Spreedly's recache): sealed like the first, destroyed the
// same way.
func (e *Engine) RecachePaymentMethod(ctx context.Context, accountID, id, cvc string) (*payment.PaymentMethod, error) {
	if cvc == "" {
		return nil, payment.Missing("card.cvc")
	}
	pm, err := e.store.PaymentMethod(ctx, accountID, id)
	if err != nil {
		return nil, err
	}
	if !card.ValidCVC(cvc, pm.Card.Brand) {
		return nil, payment.Invalid(payment.CodeInvalidCVC, "card.cvc", "The card's security code is invalid.")
	}
	// Sealed before the update: the vault may read the store, which the
	// update's function must not.
	sealed, err := e.vault.Seal(ctx, accountID, payment.PurposeCard, sealRecord(id, "cvc"), []byte(cvc))
	if err != nil {
		return nil, fmt.Errorf("seal cvc: %w", err)
	}
	now := e.clock()
	return e.store.UpdatePaymentMethod(ctx, accountID, id, func(pm *payment.PaymentMethod) (*payment.Event, error) {
		if pm.StorageState == payment.StorageRedacted {
			return nil, payment.Conflict(payment.CodeInvalidState, "Payment method %s is redacted and cannot be recached.", pm.ID)
		}
		exp := now.Add(e.cfg.CVCTTL)
		pm.CVCSealed, pm.CVCExpiresAt = sealed, &exp
		pm.UpdatedAt = now
		return newEvent(accountID, "payment_method.recached", pm.ID, PaymentMethodObjectOf(pm), now), nil
	})
}
