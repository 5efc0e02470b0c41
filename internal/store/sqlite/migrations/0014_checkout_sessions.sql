-- Checkout sessions: orders a customer pays on the hosted page.
--
-- Conventions as in 0001. A session leaves 'open' once, by compare-and-set
-- on (status, attempts); a payment's reservation advances attempts and sets
-- payment_id in its own transaction, so attempts are serialized and a
-- session never has two payments in flight.

CREATE TABLE checkout_sessions (
    seq                INTEGER PRIMARY KEY,
    id                 TEXT    NOT NULL UNIQUE,
    account_id         TEXT    NOT NULL REFERENCES accounts (id),
    status             TEXT    NOT NULL CHECK (status IN ('open', 'paid', 'cancelled', 'expired')),
    amount             INTEGER NOT NULL CHECK (amount > 0),
    currency           TEXT    NOT NULL,
    -- The order lines, a JSON array (possibly empty).
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
    -- The latest attempt's payment; NULL before the first.
    payment_id         TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    closed_at          INTEGER,
    CHECK ((status = 'open') = (closed_at IS NULL)),
    CHECK (status <> 'paid' OR payment_id IS NOT NULL),
    CHECK ((attempts = 0) = (payment_id IS NULL))
) STRICT;

-- Lists, newest first; the sweeper's open sessions by expiry.
CREATE INDEX checkout_sessions_account_seq ON checkout_sessions (account_id, seq);
CREATE INDEX checkout_sessions_open_expiry ON checkout_sessions (expires_at) WHERE status = 'open';
