-- Customers and their tokens; payment methods and payments name their
-- customer.
--
-- Conventions as in 0001. A customer is deleted softly (deleted_at): its
-- row stays for the payments and tokens that name it, and every list and
-- uniqueness rule below is of the customers not deleted, so a merchant may
-- create a customer again with the external id of a deleted one.

CREATE TABLE customers (
    seq                       INTEGER PRIMARY KEY,
    id                        TEXT    NOT NULL UNIQUE,
    account_id                TEXT    NOT NULL REFERENCES accounts (id),
    -- The merchant's own id, NULL when none: many customers may have none.
    external_id               TEXT    CHECK (external_id IS NULL OR external_id <> ''),
    email                     TEXT    NOT NULL,
    name                      TEXT    NOT NULL,
    phone                     TEXT    NOT NULL,
    metadata                  TEXT    NOT NULL CHECK (json_valid(metadata) AND json_type(metadata) IN ('object', 'null')),
    -- NULL when none.
    default_payment_method_id TEXT,
    created_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL,
    deleted_at                INTEGER,
    -- The parent key of customer_tokens.
    UNIQUE (account_id, id)
) STRICT;

-- Customers lists: unfiltered, by email and by external id (unique among
-- the customers not deleted), newest first.
CREATE INDEX customers_account_seq ON customers (account_id, seq) WHERE deleted_at IS NULL;
CREATE INDEX customers_account_email ON customers (account_id, email, seq) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX customers_account_external_id ON customers (account_id, external_id) WHERE deleted_at IS NULL;

CREATE TABLE customer_tokens (
    seq         INTEGER PRIMARY KEY,
    id          TEXT    NOT NULL UNIQUE,
    account_id  TEXT    NOT NULL,
    customer_id TEXT    NOT NULL,
    token_id    TEXT    NOT NULL CHECK (token_id <> ''),
    type        TEXT    NOT NULL CHECK (type <> ''),
    value       TEXT    NOT NULL CHECK (value <> ''),
    metadata    TEXT    NOT NULL CHECK (json_valid(metadata) AND json_type(metadata) IN ('object', 'null')),
    created_at  INTEGER NOT NULL,
    created_by  TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT    NOT NULL,
    -- Set together by a (soft) delete; the token stays listed.
    deleted_at  INTEGER,
    deleted_by  TEXT,
    CHECK ((deleted_at IS NULL) = (deleted_by IS NULL)),
    FOREIGN KEY (account_id, customer_id) REFERENCES customers (account_id, id)
) STRICT;

-- A customer's tokens, newest first; a token_id names one live token.
CREATE INDEX customer_tokens_customer_seq ON customer_tokens (account_id, customer_id, seq);
CREATE UNIQUE INDEX customer_tokens_live_token_id ON customer_tokens (account_id, customer_id, token_id) WHERE deleted_at IS NULL;

-- NULL when the payment method or payment has no customer.
ALTER TABLE payment_methods ADD COLUMN customer_id TEXT;
ALTER TABLE payments ADD COLUMN customer_id TEXT;

-- A customer's payment methods: listed, and redacted when it is deleted.
CREATE INDEX payment_methods_account_customer ON payment_methods (account_id, customer_id, seq) WHERE customer_id IS NOT NULL;
