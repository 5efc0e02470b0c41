package engine

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/kassapay/kassa/internal/payment"
)

// maxEmbedOrigins bounds an account's embedding origins: they all go into
// every page's Content-Security-Policy header.
const maxEmbedOrigins = 20

// CheckEmbedOrigin checks an origin allowed to frame the hosted page and
// returns it as a CSP source: scheme "https" (or "http" for a loopback or
// test host), a host, an optional port, nothing else. param names it in
// the error.
func CheckEmbedOrigin(param, s string) (string, error) {
	bad := payment.Invalid(payment.CodeParameterInvalid, param,
		"%s must be an origin: http(s)://host[:port], without path, query or wildcard.", param)
	if len(s) > 255 || strings.ContainsAny(s, " \t\r\n\\*;,'\"") {
		return "", bad
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || strings.HasSuffix(s, "?") {
		return "", bad
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// SetCheckoutEmbedOrigins replaces the origins whose pages may frame the
// account's hosted checkout page (the CSP's frame-ancestors); an empty
// list forbids framing again. Each is checked by CheckEmbedOrigin, named
// param[i].
func (e *Engine) SetCheckoutEmbedOrigins(ctx context.Context, p *payment.Principal, param string, origins []string) (*payment.Account, error) {
	if len(origins) > maxEmbedOrigins {
		return nil, payment.Invalid(payment.CodeParameterInvalid, param, "%s may hold at most %d origins.", param, maxEmbedOrigins)
	}
	var out []string
	for i, o := range origins {
		n, err := CheckEmbedOrigin(fmt.Sprintf("%s[%d]", param, i), o)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	if err := e.store.SetCheckoutEmbedOrigins(ctx, p.Account.ID, out); err != nil {
		return nil, fmt.Errorf("set checkout embed origins: %w", err)
	}
	return e.store.Account(ctx, p.Account.ID)
}

// callbackSecretRecord is the additional data the callback signature
// secret is sealed under: its place, so a sealed secret copied elsewhere
// does not open.
func callbackSecretRecord(accountID string) string {
	return "callback_signature_secret\x00" + accountID
}

// SetCallbackSignatureSecret sets the secret the account's Dintero
// callbacks are signed with (Dintero-Signature), sealed by the vault. It
// is at least 16 and at most 256 printable characters.
func (e *Engine) SetCallbackSignatureSecret(ctx context.Context, p *payment.Principal, param, secret string) error {
	if len(secret) < 16 || len(secret) > 256 || strings.IndexFunc(secret, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		return payment.Invalid(payment.CodeParameterInvalid, param, "%s must be 16 to 256 printable ASCII characters without spaces.", param)
	}
	if err := CheckNoCardNumber(param, secret); err != nil {
		return err
	}
	sealed, err := e.vault.Seal(ctx, p.Account.ID, payment.PurposeConnectorSecret, callbackSecretRecord(p.Account.ID), []byte(secret))
	if err != nil {
		return fmt.Errorf("seal callback signature secret: %w", err)
	}
	return e.store.SetCallbackSignatureSecret(ctx, p.Account.ID, sealed)
}

// CallbackSignatureSecret returns the account's callback signature secret,
// or ErrNotFound when none is set (callbacks then go unsigned).
func (e *Engine) CallbackSignatureSecret(ctx context.Context, accountID string) (string, error) {
	sealed, err := e.store.CallbackSignatureSecret(ctx, accountID)
	if err != nil {
		return "", err
	}
	b, err := e.vault.Open(ctx, accountID, payment.PurposeConnectorSecret, callbackSecretRecord(accountID), sealed)
	if err != nil {
		return "", fmt.Errorf("open callback signature secret: %w", err)
	}
	return string(b), nil
}
