-- Checkout sessions: orders a customer pays on the hosted page.
--
-- A session leaves 'open' once, by compare-and-set on (status, attempts);
-- a payment's reservation advances attempts and sets payment_id in its own
-- transaction, so attempts are serialized and a session never has two
-- payments in flight.

CREATE TABLE checkout_sessions (
    seq                bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    id                 text        NOT NULL PRIMARY KEY,
    account_id         text        NOT NULL REFERENCES accounts (id),
    status             text        NOT NULL CHECK (status IN ('open', 'paid', 'cancelled', 'expired')),
    amount             bigint      NOT NULL CHECK (amount > 0),
    currency           text        NOT NULL,
    -- The order lines, a JSON array (possibly empty).
    items              jsonb       NOT NULL CHECK (jsonb_typeof(items) = 'array'),
    merchant_reference text        NOT NULL,
    return_url         text        NOT NULL,
    cancel_url         text        NOT NULL,
    callback_url       text        NOT NULL,
    customer_id        text        NOT NULL,
    gateway_id         text        NOT NULL,
    capture            boolean     NOT NULL,
    locale             text        NOT NULL,
    save_card          boolean     NOT NULL,
    expires_at         timestamptz NOT NULL,
    attempts           integer     NOT NULL CHECK (attempts >= 0),
    -- The latest attempt's payment; NULL before the first.
    payment_id         text,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    closed_at          timestamptz,
    CHECK ((status = 'open') = (closed_at IS NULL)),
    CHECK (status <> 'paid' OR payment_id IS NOT NULL),
    CHECK ((attempts = 0) = (payment_id IS NULL))
);

-- Lists, newest first; the sweeper's open sessions by expiry.
CREATE INDEX checkout_sessions_account_seq ON checkout_sessions (account_id, seq);
CREATE INDEX checkout_sessions_open_expiry ON checkout_sessions (expires_at) WHERE status = 'open';
