-- kassa's first PostgreSQL schema. It is created in the first schema of the
-- connection's search_path.
--
-- Tables listed newest first carry seq, an identity column that grows with
-- every insert and orders the lists; id is the public identifier.

CREATE TABLE accounts (
    id         text        NOT NULL PRIMARY KEY,
    name       text        NOT NULL,
    live       boolean     NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE api_keys (
    seq        bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    id         text        NOT NULL PRIMARY KEY,
    account_id text        NOT NULL REFERENCES accounts (id),
    kind       text        NOT NULL CHECK (kind IN ('secret', 'publishable')),
    prefix     text        NOT NULL UNIQUE,
    hash       bytea       NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz,
    revoked_at timestamptz
);

CREATE INDEX api_keys_account_seq ON api_keys (account_id, seq);

CREATE TABLE data_keys (
    account_id  text        NOT NULL REFERENCES accounts (id),
    purpose     text        NOT NULL,
    version     integer     NOT NULL,
    kek_version integer     NOT NULL,
    wrapped     bytea       NOT NULL,
    uses        bigint      NOT NULL DEFAULT 0 CHECK (uses >= 0),
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (account_id, purpose, version)
);

CREATE TABLE payment_methods (
    seq                 bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    id                  text        NOT NULL PRIMARY KEY,
    account_id          text        NOT NULL REFERENCES accounts (id),
    type                text        NOT NULL,
    card_brand          text        NOT NULL,
    card_first6         text        NOT NULL,
    card_last4          text        NOT NULL,
    card_exp_month      integer     NOT NULL,
    card_exp_year       integer     NOT NULL,
    card_holder_name    text        NOT NULL,
    card_fingerprint    text        NOT NULL,
    billing_line1       text        NOT NULL,
    billing_line2       text        NOT NULL,
    billing_city        text        NOT NULL,
    billing_postal_code text        NOT NULL,
    billing_state       text        NOT NULL,
    billing_country     text        NOT NULL,
    email               text        NOT NULL,
    -- A JSON object, or JSON null for a nil map.
    metadata            jsonb       NOT NULL CHECK (jsonb_typeof(metadata) IN ('object', 'null')),
    storage_state       text        NOT NULL CHECK (storage_state IN ('cached', 'retained', 'redacted')),
    test                boolean     NOT NULL,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    redacted_at         timestamptz,
    pan_sealed          bytea,
    cvc_sealed          bytea,
    cvc_expires_at      timestamptz,
    -- A redacted payment method keeps no ciphertext, whatever wrote it.
    CHECK (storage_state <> 'redacted' OR (pan_sealed IS NULL AND cvc_sealed IS NULL))
);

CREATE INDEX payment_methods_account_seq ON payment_methods (account_id, seq);
-- ExpirePaymentMethods: cached payment methods by age, live CVCs by expiry.
CREATE INDEX payment_methods_cached ON payment_methods (created_at) WHERE storage_state = 'cached';
CREATE INDEX payment_methods_cvc ON payment_methods (cvc_expires_at) WHERE cvc_sealed IS NOT NULL;

CREATE TABLE events (
    seq        bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    id         text        NOT NULL PRIMARY KEY,
    account_id text        NOT NULL REFERENCES accounts (id),
    type       text        NOT NULL,
    object_id  text        NOT NULL,
    -- json, not jsonb: the document is kept byte for byte (NULL for none).
    data       json,
    created_at timestamptz NOT NULL
);

CREATE INDEX events_account_seq ON events (account_id, seq);

CREATE TABLE idempotency_keys (
    account_id      text        NOT NULL REFERENCES accounts (id),
    key             text        NOT NULL,
    method          text        NOT NULL,
    path            text        NOT NULL,
    request_hash    bytea,
    completed       boolean     NOT NULL,
    locked_until    timestamptz NOT NULL,
    response_status integer     NOT NULL,
    response_body   bytea,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (account_id, key)
);

-- PurgeIdempotencyKeys.
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
