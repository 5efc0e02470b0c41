package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/kassapay/kassa/internal/payment"
)

// BearerToken returns the token of the request's "Authorization: Bearer
// <token>" header. It reports false when there is no such header, when there
// are several, when the scheme is another, or when the token is empty or
// holds spaces. The scheme is matched without regard to case (RFC 9110
// §11.1).
func BearerToken(r *http.Request) (string, bool) {
	vals := r.Header.Values("Authorization")
	if len(vals) != 1 {
		return "", false
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(vals[0]), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	if token == "" || strings.ContainsAny(token, " \t") {
		return "", false
	}
	return token, true
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p, the authenticated caller. The access
// log of the request names p's account from then on.
func WithPrincipal(ctx context.Context, p *payment.Principal) context.Context {
	if st := stateOf(ctx); st != nil && p != nil && p.Account != nil {
		st.account = p.Account.ID
	}
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller WithPrincipal put in ctx.
func PrincipalFrom(ctx context.Context) (*payment.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*payment.Principal)
	return p, ok && p != nil
}
