package payment

import (
	"context"
	"encoding/json"
	"time"
)

// PrefixCheckoutProfile begins the id of a checkout session profile.
const PrefixCheckoutProfile = "sp"

// CheckoutProfile is a named set of session defaults a merchant keeps so
// that a session names it instead of repeating them (Dintero's session
// profile): the URLs and configuration a session made from it starts with.
// URL and Configuration are JSON objects the dialect that made the profile
// reads; the store keeps them as given.
type CheckoutProfile struct {
	ID            string
	AccountID     string
	Name          string
	Description   string
	URL           json.RawMessage
	Configuration json.RawMessage
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// CheckoutProfileStore keeps checkout session profiles.
type CheckoutProfileStore interface {
	// CreateCheckoutProfile inserts p. ErrNotFound if its account does not
	// exist, ErrConflict if the id is taken.
	CreateCheckoutProfile(ctx context.Context, p *CheckoutProfile) error
	// CheckoutProfile returns the account's profile id, or ErrNotFound.
	CheckoutProfile(ctx context.Context, accountID, id string) (*CheckoutProfile, error)
	// CheckoutProfiles lists the account's profiles, newest first
	// (oldest first when p.Ascending), paginated as PaymentMethods.
	CheckoutProfiles(ctx context.Context, accountID string, p ListParams) ([]*CheckoutProfile, bool, error)
	// UpdateCheckoutProfile replaces the name, description, URL,
	// configuration and UpdatedAt of the account's profile p.ID and returns
	// it as stored. ErrNotFound if there is none.
	UpdateCheckoutProfile(ctx context.Context, p *CheckoutProfile) (*CheckoutProfile, error)
	// DeleteCheckoutProfile removes the account's profile id; sessions made
	// from it keep what they copied. ErrNotFound if there is none.
	DeleteCheckoutProfile(ctx context.Context, accountID, id string) error
}
