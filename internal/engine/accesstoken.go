package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/kassapay/kassa/internal/payment"
)

// Access tokens are what the Dintero dialect's clients exchange their
// client id and secret for (ADR 0020): HS256 JWTs signed with a key derived
// from the master key ring (payment.LabelAccessToken), "kid" naming the
// master key version. Nothing about a token is stored. A token names the
// secret key it was minted with (by its prefix), and every verification
// checks through the hot-read cache that the key is still active, so a
// revoked key's tokens stop at once in this process and within hotTTL in
// the others.

// AccessTokenTTL is how long an access token is valid.
const AccessTokenTTL = time.Hour

// tokenIssuer is the "iss" of every access token.
const tokenIssuer = "kassa"

// maxTokenLen bounds the tokens VerifyAccessToken looks at; kassa's own
// are well under 1 KiB.
const maxTokenLen = 4096

// AccessTokenRequest is what a client asks a token for.
type AccessTokenRequest struct {
	// Audience is the "aud" claim, as the client sent it; the dialect
	// checks it names the account.
	Audience string
	// Scopes the token grants. Required.
	Scopes []string
}

// AccessToken is a minted token.
type AccessToken struct {
	Token     string
	ExpiresAt time.Time
	// ExpiresIn is the token's lifetime from now, in whole seconds.
	ExpiresIn time.Duration
}

// TokenGrant is what a verified token grants: its key's principal (as the
// key reads now), and the audience and scopes it was minted for.
type TokenGrant struct {
	Principal *payment.Principal
	Audience  string
	Scopes    []string
	ExpiresAt time.Time
}

// tokenClaims are an access token's claims.
type tokenClaims struct {
	jwt.RegisteredClaims
	// Account is the account id; the token is void if its key is not of
	// this account.
	Account string `json:"aid"`
	// Scope is the granted scopes, space-separated (RFC 8693 §4.2).
	Scope string `json:"scope"`
}

// errBadToken is every verification failure: a client learns nothing of
// which check failed, and no part of the token is repeated.
var errBadToken = &payment.Error{Kind: payment.KindUnauthenticated, Code: CodeInvalidAccessToken,
	Message: "The access token is invalid or expired."}

// CodeInvalidAccessToken is the code of every refused access token.
const CodeInvalidAccessToken = "invalid_access_token"

// IssueAccessToken mints a token for p, which must hold a secret key.
func (e *Engine) IssueAccessToken(ctx context.Context, p *payment.Principal, in AccessTokenRequest) (*AccessToken, error) {
	if p == nil || p.Account == nil || p.Key == nil || p.Key.Kind != payment.KeySecret {
		return nil, errBadKey
	}
	if len(in.Scopes) == 0 {
		return nil, errors.New("issue access token: no scopes")
	}
	kd, ok := e.vault.(payment.KeyDeriver)
	if !ok {
		return nil, fmt.Errorf("issue access token: vault %T derives no keys", e.vault)
	}
	key, version, err := kd.DerivedKey(ctx, payment.LabelAccessToken, 0)
	if err != nil {
		return nil, fmt.Errorf("issue access token: %w", err)
	}
	now := e.clock().Truncate(time.Second)
	exp := now.Add(AccessTokenTTL)
	claims := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    tokenIssuer,
			Subject:   p.Key.Prefix,
			Audience:  jwt.ClaimStrings{in.Audience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
			ID:        payment.RandomString(22),
		},
		Account: p.Account.ID,
		Scope:   strings.Join(in.Scopes, " "),
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["kid"] = strconv.Itoa(version)
	s, err := tok.SignedString(key)
	if err != nil {
		return nil, fmt.Errorf("issue access token: sign: %w", err)
	}
	return &AccessToken{Token: s, ExpiresAt: exp, ExpiresIn: AccessTokenTTL}, nil
}

// VerifyAccessToken checks raw — signature under the master key version
// its kid names (while the ring holds that version), HS256 only, issuer,
// expiry (iat and nbf are not checked: processes' clocks may differ by
// a little) — and that the secret key it names is still active and of
// the account it names. Every failure is the same KindUnauthenticated
// error (code invalid_access_token); a failure to reach the store is
// returned as it is.
func (e *Engine) VerifyAccessToken(ctx context.Context, raw string) (*TokenGrant, error) {
	if raw == "" || len(raw) > maxTokenLen {
		return nil, errBadToken
	}
	kd, ok := e.vault.(payment.KeyDeriver)
	if !ok {
		return nil, fmt.Errorf("verify access token: vault %T derives no keys", e.vault)
	}
	var keyErr error
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(tokenIssuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(e.now),
		jwt.WithStrictDecoding(),
	)
	var claims tokenClaims
	_, err := parser.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		version, ok := tokenKeyVersion(t.Header["kid"])
		if !ok {
			return nil, errBadToken
		}
		key, _, err := kd.DerivedKey(ctx, payment.LabelAccessToken, version)
		if err != nil && !errors.Is(err, payment.ErrUnknownKeyVersion) {
			keyErr = err
		}
		return key, err
	})
	if keyErr != nil {
		return nil, fmt.Errorf("verify access token: %w", keyErr)
	}
	if err != nil || !payment.ValidAccountID(claims.Account) || len(claims.Audience) != 1 ||
		len(claims.Subject) != payment.KeyPrefixLen || claims.Scope == "" {
		return nil, errBadToken
	}
	p, err := e.liveKey(ctx, claims.Subject)
	if err != nil {
		return nil, err
	}
	if p.Account.ID != claims.Account || p.Key.Kind != payment.KeySecret {
		return nil, errBadToken
	}
	// A token stands for its key: a request with it is a use of the key.
	e.noteKeyUse(p.Key, e.now())
	return &TokenGrant{Principal: p, Audience: claims.Audience[0], Scopes: strings.Fields(claims.Scope),
		ExpiresAt: claims.ExpiresAt.Time}, nil
}

// tokenKeyVersion reads a kid: a master key version in decimal, no sign,
// no leading zero.
func tokenKeyVersion(kid any) (int, bool) {
	s, ok := kid.(string)
	if !ok || s == "" || len(s) > 10 || s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.Atoi(s)
	return v, err == nil && v > 0
}

// liveKey returns the principal of the active key with prefix, through the
// hot-read cache (as Authenticate), or errBadToken.
func (e *Engine) liveKey(ctx context.Context, prefix string) (*payment.Principal, error) {
	now := e.now()
	ent, found, err := e.keyByPrefix(ctx, prefix, now)
	if err != nil {
		return nil, fmt.Errorf("verify access token: %w", err)
	}
	if !found || !ent.key.Active(now) {
		return nil, errBadToken
	}
	return &payment.Principal{Account: ent.account, Key: ent.key}, nil
}
