-- Gateways with their credential history, payments and operations.
--
-- Conventions as in 0001: STRICT tables, INTEGER microsecond times, seq
-- (the rowid) orders lists and id is the public identifier. JSON columns
-- hold what encoding/json writes; a nil map or slice is JSON null.

CREATE TABLE gateways (
    seq                  INTEGER PRIMARY KEY,
    id                   TEXT    NOT NULL UNIQUE,
    account_id           TEXT    NOT NULL REFERENCES accounts (id),
    type                 TEXT    NOT NULL,
    description          TEXT    NOT NULL,
    state                TEXT    NOT NULL CHECK (state IN ('retained', 'redacted')),
    sandbox              INTEGER NOT NULL CHECK (sandbox IN (0, 1)),
    settings             TEXT    NOT NULL CHECK (json_valid(settings) AND json_type(settings) IN ('object', 'null')),
    merchant_profile_key TEXT    NOT NULL,
    sub_merchant_key     TEXT    NOT NULL,
    -- A JSON array of operation kinds, or JSON null for a nil slice.
    disabled_operations  TEXT    NOT NULL CHECK (json_valid(disabled_operations) AND json_type(disabled_operations) IN ('array', 'null')),
    -- The newest credential version, 0 before any.
    credential_version   INTEGER NOT NULL CHECK (credential_version >= 0),
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    redacted_at          INTEGER,
    -- The parent key of gateway_credentials: a version always belongs to a
    -- gateway of its own account.
    UNIQUE (account_id, id)
) STRICT;

CREATE INDEX gateways_account_seq ON gateways (account_id, seq);

CREATE TABLE gateway_credentials (
    account_id  TEXT    NOT NULL,
    gateway_id  TEXT    NOT NULL,
    version     INTEGER NOT NULL CHECK (version >= 1),
    -- The vault ciphertext; NULL once the gateway is redacted (secure_delete
    -- overwrites the bytes).
    sealed      BLOB,
    public      TEXT    NOT NULL CHECK (json_valid(public) AND json_type(public) IN ('object', 'null')),
    description TEXT    NOT NULL,
    created_by  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, gateway_id, version),
    FOREIGN KEY (account_id, gateway_id) REFERENCES gateways (account_id, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE payments (
    seq                     INTEGER PRIMARY KEY,
    id                      TEXT    NOT NULL UNIQUE,
    account_id              TEXT    NOT NULL REFERENCES accounts (id),
    amount                  INTEGER NOT NULL CHECK (amount >= 0),
    currency                TEXT    NOT NULL,
    gateway_id              TEXT    NOT NULL,
    credential_version      INTEGER NOT NULL CHECK (credential_version >= 0),
    payment_method_id       TEXT    NOT NULL,
    capture                 INTEGER NOT NULL CHECK (capture IN (0, 1)),
    reference               TEXT    NOT NULL,
    description             TEXT    NOT NULL,
    metadata                TEXT    NOT NULL CHECK (json_valid(metadata) AND json_type(metadata) IN ('object', 'null')),
    -- NULL when the payment is not on a stored credential.
    stored_credential       TEXT    CHECK (stored_credential IS NULL OR (json_valid(stored_credential) AND json_type(stored_credential) = 'object')),
    gateway_specific_fields TEXT    NOT NULL CHECK (json_valid(gateway_specific_fields) AND json_type(gateway_specific_fields) IN ('object', 'null')),
    status                  TEXT    NOT NULL CHECK (status IN ('INITIATED', 'AUTHORIZED', 'PARTIALLY_CAPTURED', 'CAPTURED',
                                'PARTIALLY_CAPTURED_REFUNDED', 'PARTIALLY_REFUNDED', 'REFUNDED', 'AUTHORIZATION_VOIDED',
                                'DECLINED', 'FAILED', 'UNKNOWN', 'ON_HOLD')),
    amount_authorized       INTEGER NOT NULL CHECK (amount_authorized >= 0),
    amount_captured         INTEGER NOT NULL CHECK (amount_captured >= 0),
    amount_refunded         INTEGER NOT NULL CHECK (amount_refunded >= 0),
    voided                  INTEGER NOT NULL CHECK (voided IN (0, 1)),
    requires_review         INTEGER NOT NULL CHECK (requires_review IN (0, 1)),
    test                    INTEGER NOT NULL CHECK (test IN (0, 1)),
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL,
    -- The money invariants, whatever wrote the row: nothing is captured
    -- that was not authorized, nothing refunded that was not captured.
    CHECK (amount_captured <= amount_authorized),
    CHECK (amount_refunded <= amount_captured),
    -- The parent key of operations: an operation always belongs to a
    -- payment of its own account.
    UNIQUE (account_id, id)
) STRICT;

-- Payments lists: unfiltered and by each filter, newest first.
CREATE INDEX payments_account_seq ON payments (account_id, seq);
CREATE INDEX payments_account_reference ON payments (account_id, reference, seq);
CREATE INDEX payments_account_status ON payments (account_id, status, seq);
CREATE INDEX payments_account_gateway ON payments (account_id, gateway_id, seq);

CREATE TABLE operations (
    seq                    INTEGER PRIMARY KEY,
    id                     TEXT    NOT NULL UNIQUE,
    account_id             TEXT    NOT NULL REFERENCES accounts (id),
    -- NULL for operations outside any payment (verifications).
    payment_id             TEXT,
    payment_method_id      TEXT    NOT NULL,
    gateway_id             TEXT    NOT NULL,
    credential_version     INTEGER NOT NULL CHECK (credential_version >= 0),
    kind                   TEXT    NOT NULL CHECK (kind IN ('authorize', 'purchase', 'capture', 'void', 'refund', 'verify', 'credit', 'store')),
    amount                 INTEGER NOT NULL CHECK (amount >= 0),
    currency               TEXT    NOT NULL,
    outcome                TEXT    NOT NULL CHECK (outcome IN ('pending', 'succeeded', 'declined', 'failed', 'not_sent', 'unknown')),
    decline_code           TEXT    NOT NULL,
    gateway_reference      TEXT    NOT NULL,
    response_code          TEXT    NOT NULL,
    message                TEXT    NOT NULL,
    avs_code               TEXT    NOT NULL,
    cvv_code               TEXT    NOT NULL,
    network_transaction_id TEXT    NOT NULL,
    -- The scrubbed HTTP exchange; NULL when empty.
    transcript             TEXT,
    reconcile_attempts     INTEGER NOT NULL CHECK (reconcile_attempts >= 0),
    next_reconcile_at      INTEGER,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL,
    FOREIGN KEY (account_id, payment_id) REFERENCES payments (account_id, id)
) STRICT;

-- A payment's operations, oldest first.
CREATE INDEX operations_payment_seq ON operations (payment_id, seq);
-- ClaimUnsettledOperations: the few operations still in flight, by age.
CREATE INDEX operations_unsettled ON operations (created_at, seq) WHERE outcome IN ('pending', 'unknown');
