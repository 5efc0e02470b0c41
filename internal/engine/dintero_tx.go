package engine

import (
	"context"
	"maps"

	"github.com/kassapay/kassa/internal/payment"
)

// WithReservedReference is WithTransactionReference for a request that may
// also hold an Idempotency-Key claim: the next reservation claims ref and
// binds the key (if any) in one transaction. A claim that recovers an
// earlier request claims nothing: the first request did.
func (e *Engine) WithReservedReference(ctx context.Context, p *payment.Principal, ref *payment.TransactionReference) context.Context {
	c := claimFrom(ctx)
	if c == nil {
		return e.WithTransactionReference(ctx, p, ref)
	}
	ref.AccountID = p.Account.ID
	if ref.CreatedAt.IsZero() {
		ref.CreatedAt = e.clock()
	}
	if c.recover == nil {
		c.reference = ref
	}
	return ctx
}

type followUpMetadataKey struct{}

// WithFollowUpMetadata returns ctx under which the next follow-up (capture,
// void, refund) merges md into its payment's metadata in the reservation
// itself: refused with the follow-up when the merged metadata is invalid,
// and never written when the follow-up is refused.
func WithFollowUpMetadata(ctx context.Context, md map[string]string) context.Context {
	if len(md) == 0 {
		return ctx
	}
	return context.WithValue(ctx, followUpMetadataKey{}, md)
}

// mergeFollowUpMetadata merges the request's follow-up metadata into pay.
func mergeFollowUpMetadata(ctx context.Context, pay *payment.Payment) error {
	md, _ := ctx.Value(followUpMetadataKey{}).(map[string]string)
	if len(md) == 0 {
		return nil
	}
	merged, err := mergedMetadata(pay.Metadata, md)
	if err != nil {
		return err
	}
	pay.Metadata = merged
	return nil
}

// mergedMetadata is md over base, a key set to "" removed, checked as any
// metadata is.
func mergedMetadata(base, md map[string]string) (map[string]string, error) {
	merged := maps.Clone(base)
	if merged == nil {
		merged = map[string]string{}
	}
	for k, v := range md {
		if v == "" {
			delete(merged, k)
			continue
		}
		merged[k] = v
	}
	if err := checkMetadata(merged); err != nil {
		return nil, err
	}
	return merged, nil
}

// UpdatePaymentMetadata merges md into the account's payment id's metadata
// (a key set to "" is removed). ErrNotFound for another account's payment.
func (e *Engine) UpdatePaymentMetadata(ctx context.Context, accountID, id string, md map[string]string) (*payment.Payment, error) {
	now := e.clock()
	return e.store.UpdatePayment(ctx, accountID, id, func(pay *payment.Payment) (*payment.PaymentChange, error) {
		merged, err := mergedMetadata(pay.Metadata, md)
		if err != nil {
			return nil, err
		}
		if maps.Equal(merged, pay.Metadata) {
			return &payment.PaymentChange{}, nil
		}
		pay.Metadata = merged
		pay.UpdatedAt = now
		return &payment.PaymentChange{}, nil
	})
}
