-- Routing: a payment asked of a router gateway records the router and its
-- trace; payments are listed by payment method.
--
-- gateway_id stays the gateway that made the payment (the attempt that
-- answered), so follow-ups go to it; router_id is the router the payment
-- was asked of, '' without one.

ALTER TABLE payments ADD COLUMN router_id TEXT NOT NULL DEFAULT '';
-- The router's decision and attempts: JSON exactly as the engine rendered
-- it, NULL without a router.
ALTER TABLE payments ADD COLUMN routing_trace TEXT CHECK (routing_trace IS NULL OR json_valid(routing_trace));

-- Payments lists by payment method (PaymentFilter.PaymentMethodID), in
-- either order of seq.
CREATE INDEX payments_account_payment_method ON payments (account_id, payment_method_id, seq);
