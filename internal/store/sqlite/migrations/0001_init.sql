-- kassa's first SQLite schema.
--
-- Times are INTEGER microseconds since the Unix epoch (UTC), so they sort and
-- round-trip exactly. Every table is STRICT. Tables listed newest first carry
-- seq, an INTEGER PRIMARY KEY (the rowid): it grows with every insert and
-- orders the lists; id is the public, unique identifier.

CREATE TABLE accounts (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    live       INTEGER NOT NULL CHECK (live IN (0, 1)),
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
    seq        INTEGER PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    account_id TEXT    NOT NULL REFERENCES accounts (id),
    kind       TEXT    NOT NULL CHECK (kind IN ('secret', 'publishable')),
    prefix     TEXT    NOT NULL UNIQUE,
    hash       BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
) STRICT;

CREATE INDEX api_keys_account_seq ON api_keys (account_id, seq);

CREATE TABLE data_keys (
    account_id  TEXT    NOT NULL REFERENCES accounts (id),
    purpose     TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    kek_version INTEGER NOT NULL,
    wrapped     BLOB    NOT NULL,
    uses        INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, purpose, version)
) STRICT, WITHOUT ROWID;

CREATE TABLE payment_methods (
    seq              INTEGER PRIMARY KEY,
    id               TEXT    NOT NULL UNIQUE,
    account_id       TEXT    NOT NULL REFERENCES accounts (id),
    type             TEXT    NOT NULL,
    card_brand       TEXT    NOT NULL,
    card_first6      TEXT    NOT NULL,
    card_last4       TEXT    NOT NULL,
    card_exp_month   INTEGER NOT NULL,
    card_exp_year    INTEGER NOT NULL,
    card_holder_name TEXT    NOT NULL,
    card_fingerprint TEXT    NOT NULL,
    billing_line1    TEXT    NOT NULL,
    billing_line2    TEXT    NOT NULL,
    billing_city     TEXT    NOT NULL,
    billing_postal_code TEXT NOT NULL,
    billing_state    TEXT    NOT NULL,
    billing_country  TEXT    NOT NULL,
    email            TEXT    NOT NULL,
    -- A JSON object, or JSON null for a nil map.
    metadata         TEXT    NOT NULL CHECK (json_valid(metadata) AND json_type(metadata) IN ('object', 'null')),
    storage_state    TEXT    NOT NULL CHECK (storage_state IN ('cached', 'retained', 'redacted')),
    test             INTEGER NOT NULL CHECK (test IN (0, 1)),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    redacted_at      INTEGER,
    pan_sealed       BLOB,
    cvc_sealed       BLOB,
    cvc_expires_at   INTEGER,
    -- A redacted payment method keeps no ciphertext, whatever wrote it.
    CHECK (storage_state <> 'redacted' OR (pan_sealed IS NULL AND cvc_sealed IS NULL))
) STRICT;

CREATE INDEX payment_methods_account_seq ON payment_methods (account_id, seq);
-- ExpirePaymentMethods: cached payment methods by age, live CVCs by expiry.
CREATE INDEX payment_methods_cached ON payment_methods (created_at) WHERE storage_state = 'cached';
CREATE INDEX payment_methods_cvc ON payment_methods (cvc_expires_at) WHERE cvc_sealed IS NOT NULL;

CREATE TABLE events (
    seq        INTEGER PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    account_id TEXT    NOT NULL REFERENCES accounts (id),
    type       TEXT    NOT NULL,
    object_id  TEXT    NOT NULL,
    -- The JSON exactly as given (NULL for none).
    data       TEXT    CHECK (data IS NULL OR json_valid(data)),
    created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX events_account_seq ON events (account_id, seq);

CREATE TABLE idempotency_keys (
    account_id      TEXT    NOT NULL REFERENCES accounts (id),
    key             TEXT    NOT NULL,
    method          TEXT    NOT NULL,
    path            TEXT    NOT NULL,
    request_hash    BLOB,
    completed       INTEGER NOT NULL CHECK (completed IN (0, 1)),
    locked_until    INTEGER NOT NULL,
    response_status INTEGER NOT NULL,
    response_body   BLOB,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (account_id, key)
) STRICT, WITHOUT ROWID;

-- PurgeIdempotencyKeys.
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
