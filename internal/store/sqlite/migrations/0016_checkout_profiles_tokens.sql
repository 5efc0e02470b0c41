-- Checkout session profiles and token sessions.
--
-- Profiles: the URLs and configuration a session made
-- from a profile starts with (the Dintero dialect's session profiles).
--
-- Conventions as in 0001. url and configuration are JSON objects the
-- dialect reads; a session copies what it uses, so deleting a profile
-- changes no session.

CREATE TABLE checkout_profiles (
    seq           INTEGER PRIMARY KEY,
    id            TEXT    NOT NULL UNIQUE,
    account_id    TEXT    NOT NULL REFERENCES accounts (id),
    name          TEXT    NOT NULL,
    description   TEXT    NOT NULL,
    url           TEXT    NOT NULL CHECK (json_valid(url) AND json_type(url) = 'object'),
    configuration TEXT    NOT NULL CHECK (json_valid(configuration) AND json_type(configuration) = 'object'),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE INDEX checkout_profiles_account_seq ON checkout_profiles (account_id, seq);

-- Token sessions (Dintero's POST /v1/sessions/payment-token): a session
-- that saves the customer's card and charges nothing. kind says which a
-- session is; a token session has amount 0, no payment, and once paid the
-- card token (a retained payment method) it made. Its attempts count the
-- cards tried, as a payment session's do. SQLite cannot change a table's
-- CHECKs: the table is rebuilt (nothing references it).

CREATE TABLE checkout_sessions_new (
    seq                INTEGER PRIMARY KEY,
    id                 TEXT    NOT NULL UNIQUE,
    account_id         TEXT    NOT NULL REFERENCES accounts (id),
    status             TEXT    NOT NULL CHECK (status IN ('open', 'paid', 'cancelled', 'expired')),
    amount             INTEGER NOT NULL,
    currency           TEXT    NOT NULL,
    items              TEXT    NOT NULL CHECK (json_valid(items) AND json_type(items) = 'array'),
    merchant_reference TEXT    NOT NULL,
    return_url         TEXT    NOT NULL,
    cancel_url         TEXT    NOT NULL,
    callback_url       TEXT    NOT NULL,
    customer_id        TEXT    NOT NULL,
    gateway_id         TEXT    NOT NULL,
    capture            INTEGER NOT NULL CHECK (capture IN (0, 1)),
    locale             TEXT    NOT NULL,
    save_card          INTEGER NOT NULL CHECK (save_card IN (0, 1)),
    expires_at         INTEGER NOT NULL,
    attempts           INTEGER NOT NULL CHECK (attempts >= 0),
    payment_id         TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    closed_at          INTEGER,
    dialect            TEXT    NOT NULL DEFAULT '' CHECK (dialect IN ('', 'dintero')),
    kind               TEXT    NOT NULL DEFAULT 'payment' CHECK (kind IN ('payment', 'payment_token')),
    card_token_id      TEXT,
    CHECK ((status = 'open') = (closed_at IS NULL)),
    CHECK (CASE kind WHEN 'payment' THEN amount > 0 ELSE amount = 0 END),
    CHECK (status <> 'paid' OR CASE kind WHEN 'payment' THEN payment_id IS NOT NULL ELSE card_token_id IS NOT NULL END),
    CHECK (CASE kind WHEN 'payment' THEN (attempts = 0) = (payment_id IS NULL) ELSE payment_id IS NULL END),
    CHECK (card_token_id IS NULL OR (kind = 'payment_token' AND status = 'paid'))
) STRICT;

INSERT INTO checkout_sessions_new (seq, id, account_id, status, amount, currency, items, merchant_reference, return_url,
    cancel_url, callback_url, customer_id, gateway_id, capture, locale, save_card, expires_at, attempts, payment_id,
    created_at, updated_at, closed_at, dialect)
SELECT seq, id, account_id, status, amount, currency, items, merchant_reference, return_url,
    cancel_url, callback_url, customer_id, gateway_id, capture, locale, save_card, expires_at, attempts, payment_id,
    created_at, updated_at, closed_at, dialect
FROM checkout_sessions;

DROP TABLE checkout_sessions;
ALTER TABLE checkout_sessions_new RENAME TO checkout_sessions;
CREATE INDEX checkout_sessions_account_seq ON checkout_sessions (account_id, seq);
CREATE INDEX checkout_sessions_open_expiry ON checkout_sessions (expires_at) WHERE status = 'open';
