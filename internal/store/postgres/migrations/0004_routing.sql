-- Routing: a payment asked of a router gateway records the router and its
-- trace; payments are listed by payment method.
--
-- gateway_id stays the gateway that made the payment (the attempt that
-- answered), so follow-ups go to it; router_id is the router the payment
-- was asked of, '' without one.

ALTER TABLE payments ADD COLUMN router_id text NOT NULL DEFAULT '';
-- The router's decision and attempts, NULL without a router. json, not
-- jsonb (as events.data): the document is validated but kept byte for
-- byte, so both backends give back exactly the bytes the engine rendered.
-- Nothing queries inside it.
ALTER TABLE payments ADD COLUMN routing_trace json;

-- Payments lists by payment method (PaymentFilter.PaymentMethodID), in
-- either order of seq.
CREATE INDEX payments_account_payment_method ON payments (account_id, payment_method_id, seq);
