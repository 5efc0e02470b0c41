package store

import (
	"fmt"

	"github.com/kassapay/kassa/internal/payment"
)

// Page sizes of list methods (payment.ListParams.Limit).
const (
	DefaultLimit = 10
	MaxLimit     = 100
)

// PageLimit returns the number of items a list returns for the requested
// limit: DefaultLimit when limit is not positive, at most MaxLimit.
func PageLimit(limit int) int {
	switch {
	case limit <= 0:
		return DefaultLimit
	case limit > MaxLimit:
		return MaxLimit
	}
	return limit
}

// CodeConflict is the error code of a uniqueness clash found by a store.
const CodeConflict = "conflict"

// Conflict reports a uniqueness clash; cause is the driver's error, kept for
// the log only.
func Conflict(cause error) *payment.Error {
	return &payment.Error{
		Kind:    payment.KindConflict,
		Code:    CodeConflict,
		Message: "The object conflicts with an existing one.",
		Err:     cause,
	}
}

// CursorNotFound reports a starting_after cursor that is not an object of
// the caller's account.
func CursorNotFound(noun, id string) *payment.Error {
	e := payment.NotFound(noun, id)
	e.Param = "starting_after"
	return e
}

// CheckEvent reports an event that cannot be written for accountID: events
// belong to the account of the change they record.
func CheckEvent(accountID string, ev *payment.Event) error {
	if ev.AccountID != accountID {
		return fmt.Errorf("store: event %s belongs to account %q, not %q", ev.ID, ev.AccountID, accountID)
	}
	return nil
}

// CheckRewrapped reports a data key returned by a rewrap function that is
// not the key it was given.
func CheckRewrapped(old, next *payment.DataKey) error {
	if next == nil || next.AccountID != old.AccountID || next.Purpose != old.Purpose || next.Version != old.Version {
		return fmt.Errorf("store: rewrap of data key %s/%s/v%d returned another key", old.AccountID, old.Purpose, old.Version)
	}
	return nil
}

// CheckUpdated reports a payment method whose identity an update function
// changed: UpdatePaymentMethod writes back the mutable fields only.
func CheckUpdated(before, after *payment.PaymentMethod) error {
	if after.ID != before.ID || after.AccountID != before.AccountID || !after.CreatedAt.Equal(before.CreatedAt) {
		return fmt.Errorf("store: update of payment method %s changed its id, account or creation time", before.ID)
	}
	return nil
}
