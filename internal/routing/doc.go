// Package routing decides which of an account's gateways a payment goes to
// (docs/architecture.md §6). It is pure: it knows nothing of stores or
// adapters, and imports only the standard library and internal/payment.
//
// # Rules
//
// A router's settings ([Config], read strictly by [Parse]) are rules checked
// top to bottom, and an optional default. A rule matches when every condition
// it sets holds; the first match wins. Its action is one gateway, a weighted
// split (weights in whole percent, adding up to 100) or an ordered cascade.
// [Config.Decide] returns the gateways to try, in order.
//
// Conditions match as follows:
//
//   - amount_min and amount_max bound the amount in minor units, both
//     inclusive.
//   - currency, card_brand and payment_method_type list values; one of them
//     must equal the payment's.
//   - bin_prefix lists 1 to 8 leading digits; the card's BIN (its first 6 to
//     8 digits, as kassa stores them) must start with one of them. A prefix
//     longer than the BIN never matches: an 8-digit prefix says nothing about
//     a card of which only 6 digits are known.
//   - stored_credential_initiator is cardholder or merchant. A payment that
//     carries no stored credential counts as cardholder-initiated, as the
//     networks define it.
//   - metadata lists key = value pairs; the payment's metadata must hold
//     every one of them.
//
// # Cascades
//
// A cascade tries its gateways in order and moves on only when that cannot
// charge the customer twice or hide a hard answer ([Config.CascadeMovesOn]):
//
//   - after not_sent, always: the request never reached the gateway, so
//     nothing happened there. Listing not_sent in cascade_on is allowed and
//     changes nothing.
//   - after a decline whose code is listed in cascade_on. Only soft declines
//     may be listed: do_not_honor, insufficient_funds, try_again_later,
//     processing_error, issuer_unavailable and card_declined, the answers
//     another acquirer or a later attempt may turn into an approval. Hard
//     declines (lost_card, stolen_card, expired_card, invalid_number, …) are
//     refused: the issuer will say the same to every gateway, and retrying a
//     lost or stolen card elsewhere is what fraud monitoring looks for.
//   - never after unknown (the gateway may have charged), failed (the
//     request itself is wrong) or succeeded.
//
// # Circuit breakers
//
// [Breakers] keeps, per gateway and in memory, the count of consecutive
// failures (not-sent outcomes and timeouts). Reaching the threshold opens
// the gateway's breaker: it is skipped for a while, then one trial call
// decides whether it closes or opens again.
package routing
