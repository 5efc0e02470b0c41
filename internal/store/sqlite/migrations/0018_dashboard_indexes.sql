-- Indexes for the dashboard's searches and overview (issue 17). Each
-- serves a filter that would otherwise walk every payment (or event) of
-- the account; see docs/benchmarks.md, "Dashboard queries".

-- Payments of a customer.
CREATE INDEX payments_account_customer ON payments (account_id, customer_id, seq) WHERE customer_id IS NOT NULL;
-- Payments by amount (exact or a range).
CREATE INDEX payments_account_amount ON payments (account_id, amount, seq);
-- Payments by creation time: date ranges, and the overview's aggregates,
-- which read nothing but this index (it holds every column they read).
CREATE INDEX payments_account_created ON payments (account_id, created_at, currency, amount, amount_authorized);
-- The review queue: the few payments flagged for review.
CREATE INDEX payments_account_review ON payments (account_id, seq) WHERE requires_review = 1;
-- Payment methods by last four digits and by fingerprint: a payment
-- search by card goes through them to payments_account_payment_method.
CREATE INDEX payment_methods_account_last4 ON payment_methods (account_id, card_last4);
CREATE INDEX payment_methods_account_fingerprint ON payment_methods (account_id, card_fingerprint);
-- Authorize and purchase operations by creation time: per-gateway
-- approval rates and latency, read from this index alone. Partial, so
-- that no other query of operations can pick it: SQLite, with statistics
-- from when the table was small, chose to scan every operation for a
-- payment's operations once an index starting with account_id this wide
-- existed.
CREATE INDEX operations_account_created ON operations (account_id, created_at, gateway_id, outcome, updated_at)
    WHERE kind IN ('authorize', 'purchase');
-- An object's audit trail.
CREATE INDEX events_account_object ON events (account_id, object_id, seq);
