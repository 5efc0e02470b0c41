-- Idempotency keys bound to what their request reserved (ADR 0008).
--
-- key now holds a keyed MAC of the client's Idempotency-Key, never the key
-- itself (a client may send a card number there). Records kept in clear by
-- earlier versions cannot be converted without the vault, so they go; they
-- live a day at most.
DELETE FROM idempotency_keys;

-- token: the claim holding the key in flight; point: how far its request
-- got; payment_id/operation_id: what it reserved, written in the reserving
-- transaction.
ALTER TABLE idempotency_keys ADD COLUMN token text NOT NULL DEFAULT '';
ALTER TABLE idempotency_keys ADD COLUMN point text NOT NULL DEFAULT 'started'
    CHECK (point IN ('started', 'reserved', 'settled'));
ALTER TABLE idempotency_keys ADD COLUMN payment_id text NOT NULL DEFAULT '';
ALTER TABLE idempotency_keys ADD COLUMN operation_id text NOT NULL DEFAULT '';
