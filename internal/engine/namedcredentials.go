package engine

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"

	"github.com/kassapay/kassa/internal/payment"
)

// Named credentials are how the Dintero dialect's admin credentials
// (PUT /v1/admin/gateways/{gateway}/credentials) map onto kassa (ADR 0022):
// the credential named N of gateway type T in an account is the kassa
// gateway of type T whose id is NamedCredentialGatewayID(account, T, N)
// and whose description is N. Its credential versions are the credential's
// versions; payments through it keep the version they were made with.

// NamedCredentialInput asks for a named credential, or a new version of
// one.
type NamedCredentialInput struct {
	Type string
	Name string
	// Description is the new version's description.
	Description string
	Credentials map[string]any
	// Overwrite allows a new version of an existing credential; without
	// it an existing name is a conflict and nothing changes.
	Overwrite bool
	// Validate has the adapter check the credentials first, when it can;
	// a failed check saves nothing.
	Validate bool
	// Promote names other gateways of the account, of the same type, that
	// take the credentials as a new version of their own too: their new
	// payments use them, their old ones keep their versions.
	Promote []string
}

// NamedCredential is a named credential as the dialect shows it: never
// its values.
type NamedCredential struct {
	Name    string
	Gateway *payment.Gateway
	// First is version 1 (who created the credential, and when); Current
	// the newest version.
	First, Current *payment.CredentialVersion
	// Created: this call created the credential.
	Created bool
}

// ErrNamedCredentialExists is PutNamedCredential's conflict: the name is
// taken and Overwrite was not set.
var ErrNamedCredentialExists = payment.Conflict("credential_exists",
	"A credential with this name exists; set overwrite=true to make a new version of it.")

// NamedCredentialGatewayID is the id of the gateway that holds the
// credential name of gateway type typ in account accountID: "gw_" and 24
// base62 characters of a SHA-256 of the three, so that the name finds its
// gateway without a table of names, and two requests creating the same
// name at once collide on the store's primary key instead of making two
// gateways. It is an id, not a secret: like every id it is useless without
// a key of the account.
func NamedCredentialGatewayID(accountID, typ, name string) string {
	sum := sha256.Sum256([]byte("kassa named credential\x00" + accountID + "\x00" + typ + "\x00" + name))
	const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := []byte(payment.PrefixGateway + "_")
	for _, c := range sum[:24] {
		b = append(b, base62[int(c)%62])
	}
	return string(b)
}

// PutNamedCredential creates the named credential (its gateway, version
// 1) or, with Overwrite, adds a version to it, then adds the same
// credentials as a new version to every gateway in Promote. Everything is
// checked before anything is saved: the name, the credentials against the
// type's fields, the promoted gateways, and (with Validate) the
// credentials with the provider, once.
func (e *Engine) PutNamedCredential(ctx context.Context, p *payment.Principal, in NamedCredentialInput) (*NamedCredential, error) {
	acct := p.Account
	if in.Name == "" {
		return nil, payment.Missing("name")
	}
	if err := checkText("name", in.Name, maxNameLen); err != nil {
		return nil, err
	}
	if in.Type == RouterType {
		return nil, payment.Invalid(payment.CodeParameterInvalid, "type", "Routers hold no credentials.")
	}
	ad, ok := e.gateways.Lookup(in.Type)
	if !ok {
		return nil, payment.Invalid(payment.CodeParameterInvalid, "type", "Unknown gateway type '%s'.", printableName(in.Type))
	}
	spec := ad.Spec()
	if _, err := checkCredentials(spec, in.Credentials); err != nil {
		return nil, err
	}
	if err := checkText("description", in.Description, maxNameLen); err != nil {
		return nil, err
	}
	id := NamedCredentialGatewayID(acct.ID, spec.Type, in.Name)
	var promote []*payment.Gateway
	for i, gid := range in.Promote {
		param := fmt.Sprintf("promote[%d].gateway_id", i)
		g, err := e.store.Gateway(ctx, acct.ID, gid)
		switch {
		case errors.Is(err, payment.ErrNotFound):
			// Another account's gateway is as unknown as one that does
			// not exist.
			return nil, &payment.Error{Kind: payment.KindNotFound, Code: payment.CodeResourceMissing, Param: param,
				Message: fmt.Sprintf("%s names no gateway of this account.", param)}
		case err != nil:
			return nil, err
		case g.Type != spec.Type:
			return nil, payment.Invalid(payment.CodeParameterInvalid, param, "%s is a gateway of another type (%s).", param, g.Type)
		}
		if g.ID != id && !slices.ContainsFunc(promote, func(o *payment.Gateway) bool { return o.ID == g.ID }) {
			promote = append(promote, g)
		}
	}

	existing, err := e.store.Gateway(ctx, acct.ID, id)
	switch {
	case errors.Is(err, payment.ErrNotFound):
		existing = nil
	case err != nil:
		return nil, err
	case !in.Overwrite:
		return nil, ErrNamedCredentialExists
	}
	var d *GatewayDetail
	created := existing == nil
	if created {
		d, err = e.createGateway(ctx, p, GatewayInput{Type: spec.Type, Description: in.Name, Credentials: in.Credentials},
			id, in.Description, in.Validate)
		if err != nil {
			// Another request may have created it meanwhile: the store
			// refused the second insert of the id.
			if _, gerr := e.store.Gateway(ctx, acct.ID, id); gerr != nil {
				return nil, err
			}
			if !in.Overwrite {
				return nil, ErrNamedCredentialExists
			}
			created = false
		}
	}
	if !created {
		if d, err = e.SetGatewayCredentials(ctx, p, id, in.Credentials, in.Description, in.Validate); err != nil {
			return nil, err
		}
	}
	for _, g := range promote {
		// Validated once above; a promoted gateway takes what was saved.
		if _, err := e.SetGatewayCredentials(ctx, p, g.ID, in.Credentials, in.Description, false); err != nil {
			return nil, fmt.Errorf("promote to %s: %w", g.ID, err)
		}
	}
	return e.namedCredential(ctx, d.Gateway, in.Name, created)
}

// namedCredential reads what NamedCredential shows of gateway g.
func (e *Engine) namedCredential(ctx context.Context, g *payment.Gateway, name string, created bool) (*NamedCredential, error) {
	nc := &NamedCredential{Name: name, Gateway: g, Created: created}
	var err error
	if nc.First, err = e.store.CredentialVersion(ctx, g.AccountID, g.ID, 1); err != nil {
		return nil, fmt.Errorf("credential %s v1: %w", g.ID, err)
	}
	if nc.Current, err = e.store.CredentialVersion(ctx, g.AccountID, g.ID, g.CredentialVersion); err != nil {
		return nil, fmt.Errorf("credential %s v%d: %w", g.ID, g.CredentialVersion, err)
	}
	return nc, nil
}

// NamedCredentials lists the account's named credentials of gateway type
// typ, oldest first. A gateway whose description was changed (through
// the native API) after its credential was named is no longer listed.
func (e *Engine) NamedCredentials(ctx context.Context, accountID, typ string) ([]*NamedCredential, error) {
	var out []*NamedCredential
	lp := payment.ListParams{Limit: 100, Ascending: true}
	for {
		gs, more, err := e.store.Gateways(ctx, accountID, lp)
		if err != nil {
			return nil, err
		}
		for _, g := range gs {
			if g.Type != typ || g.CredentialVersion == 0 || g.ID != NamedCredentialGatewayID(accountID, typ, g.Description) {
				continue
			}
			nc, err := e.namedCredential(ctx, g, g.Description, false)
			if err != nil {
				return nil, err
			}
			out = append(out, nc)
		}
		if !more || len(gs) == 0 {
			return out, nil
		}
		lp.StartingAfter = gs[len(gs)-1].ID
	}
}
