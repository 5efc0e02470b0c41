package store

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/kassapay/kassa/internal/payment"
)

// SortLoginBudgets checks budgets for TakeLoginAttempt and returns them
// ordered by key hash: a store locks their rows in that order, so two
// attempts sharing two budgets cannot each hold one and wait for the
// other.
func SortLoginBudgets(budgets []payment.LoginBudget) ([]payment.LoginBudget, error) {
	if len(budgets) == 0 {
		return nil, fmt.Errorf("take login attempt: no budget")
	}
	bs := slices.Clone(budgets)
	slices.SortFunc(bs, func(a, b payment.LoginBudget) int { return bytes.Compare(a.KeyHash, b.KeyHash) })
	for i, b := range bs {
		if len(b.KeyHash) != 32 {
			return nil, fmt.Errorf("take login attempt: key hash of %d bytes, want 32", len(b.KeyHash))
		}
		if b.N <= 0 || b.Interval() <= 0 {
			return nil, fmt.Errorf("take login attempt: budget of %d per %v", b.N, b.Window)
		}
		if i > 0 && bytes.Equal(bs[i-1].KeyHash, b.KeyHash) {
			return nil, fmt.Errorf("take login attempt: one key twice")
		}
	}
	return bs, nil
}
