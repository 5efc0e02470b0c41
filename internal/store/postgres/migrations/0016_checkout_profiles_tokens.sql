-- Checkout session profiles and token sessions.
--
-- Profiles: the URLs and configuration a session made
-- from a profile starts with (the Dintero dialect's session profiles).
--
-- Conventions as in 0001. url and configuration are JSON objects the
-- dialect reads, kept as given (json, not jsonb, so they read back byte for
-- byte); a session copies what it uses, so deleting a profile
-- changes no session.

CREATE TABLE checkout_profiles (
    seq           bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    id            text        NOT NULL PRIMARY KEY,
    account_id    text        NOT NULL REFERENCES accounts (id),
    name          text        NOT NULL,
    description   text        NOT NULL,
    url           json        NOT NULL CHECK (json_typeof(url) = 'object'),
    configuration json        NOT NULL CHECK (json_typeof(configuration) = 'object'),
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE INDEX checkout_profiles_account_seq ON checkout_profiles (account_id, seq);

-- Token sessions (Dintero's POST /v1/sessions/payment-token): a session
-- that saves the customer's card and charges nothing. kind says which a
-- session is; a token session has amount 0, no payment, and once paid the
-- card token (a retained payment method) it made. Its attempts count the
-- cards tried, as a payment session's do.
ALTER TABLE checkout_sessions
    ADD COLUMN kind text NOT NULL DEFAULT 'payment' CHECK (kind IN ('payment', 'payment_token')),
    ADD COLUMN card_token_id text,
    DROP CONSTRAINT checkout_sessions_amount_check,
    DROP CONSTRAINT checkout_sessions_check1,
    DROP CONSTRAINT checkout_sessions_check2,
    ADD CONSTRAINT checkout_sessions_amount_kind CHECK (CASE kind WHEN 'payment' THEN amount > 0 ELSE amount = 0 END),
    ADD CONSTRAINT checkout_sessions_paid_by CHECK (status <> 'paid' OR
        CASE kind WHEN 'payment' THEN payment_id IS NOT NULL ELSE card_token_id IS NOT NULL END),
    ADD CONSTRAINT checkout_sessions_attempt_payment CHECK (
        CASE kind WHEN 'payment' THEN (attempts = 0) = (payment_id IS NULL) ELSE payment_id IS NULL END),
    ADD CONSTRAINT checkout_sessions_card_token CHECK (card_token_id IS NULL OR (kind = 'payment_token' AND status = 'paid'));
