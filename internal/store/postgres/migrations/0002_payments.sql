-- Gateways with their credential history, payments and operations.
--
-- Conventions as in 0001: seq orders lists, id is the public identifier.
-- JSON columns hold what encoding/json writes; a nil map or slice is JSON
-- null.

CREATE TABLE gateways (
    seq                  bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    id                   text        NOT NULL PRIMARY KEY,
    account_id           text        NOT NULL REFERENCES accounts (id),
    type                 text        NOT NULL,
    description          text        NOT NULL,
    state                text        NOT NULL CHECK (state IN ('retained', 'redacted')),
    sandbox              boolean     NOT NULL,
    settings             jsonb       NOT NULL CHECK (jsonb_typeof(settings) IN ('object', 'null')),
    merchant_profile_key text        NOT NULL,
    sub_merchant_key     text        NOT NULL,
    -- A JSON array of operation kinds, or JSON null for a nil slice.
    disabled_operations  jsonb       NOT NULL CHECK (jsonb_typeof(disabled_operations) IN ('array', 'null')),
    -- The newest credential version, 0 before any.
    credential_version   integer     NOT NULL CHECK (credential_version >= 0),
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    redacted_at          timestamptz,
    -- The parent key of gateway_credentials: a version always belongs to a
    -- gateway of its own account.
    UNIQUE (account_id, id)
);

CREATE INDEX gateways_account_seq ON gateways (account_id, seq);

CREATE TABLE gateway_credentials (
    account_id  text        NOT NULL,
    gateway_id  text        NOT NULL,
    version     integer     NOT NULL CHECK (version >= 1),
    -- The vault ciphertext; NULL once the gateway is redacted.
    sealed      bytea,
    public      jsonb       NOT NULL CHECK (jsonb_typeof(public) IN ('object', 'null')),
    description text        NOT NULL,
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (account_id, gateway_id, version),
    FOREIGN KEY (account_id, gateway_id) REFERENCES gateways (account_id, id)
);

CREATE TABLE payments (
    seq                     bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    id                      text        NOT NULL PRIMARY KEY,
    account_id              text        NOT NULL REFERENCES accounts (id),
    amount                  bigint      NOT NULL CHECK (amount >= 0),
    currency                text        NOT NULL,
    gateway_id              text        NOT NULL,
    credential_version      integer     NOT NULL CHECK (credential_version >= 0),
    payment_method_id       text        NOT NULL,
    capture                 boolean     NOT NULL,
    reference               text        NOT NULL,
    description             text        NOT NULL,
    metadata                jsonb       NOT NULL CHECK (jsonb_typeof(metadata) IN ('object', 'null')),
    -- NULL when the payment is not on a stored credential.
    stored_credential       jsonb       CHECK (jsonb_typeof(stored_credential) = 'object'),
    gateway_specific_fields jsonb       NOT NULL CHECK (jsonb_typeof(gateway_specific_fields) IN ('object', 'null')),
    status                  text        NOT NULL CHECK (status IN ('INITIATED', 'AUTHORIZED', 'PARTIALLY_CAPTURED', 'CAPTURED',
                                'PARTIALLY_CAPTURED_REFUNDED', 'PARTIALLY_REFUNDED', 'REFUNDED', 'AUTHORIZATION_VOIDED',
                                'DECLINED', 'FAILED', 'UNKNOWN', 'ON_HOLD')),
    amount_authorized       bigint      NOT NULL CHECK (amount_authorized >= 0),
    amount_captured         bigint      NOT NULL CHECK (amount_captured >= 0),
    amount_refunded         bigint      NOT NULL CHECK (amount_refunded >= 0),
    voided                  boolean     NOT NULL,
    requires_review         boolean     NOT NULL,
    test                    boolean     NOT NULL,
    created_at              timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL,
    -- The money invariants, whatever wrote the row: nothing is captured
    -- that was not authorized, nothing refunded that was not captured.
    CONSTRAINT payments_captured_authorized CHECK (amount_captured <= amount_authorized),
    CONSTRAINT payments_refunded_captured CHECK (amount_refunded <= amount_captured),
    -- The parent key of operations: an operation always belongs to a
    -- payment of its own account.
    UNIQUE (account_id, id)
);

-- Payments lists: unfiltered and by each filter, newest first.
CREATE INDEX payments_account_seq ON payments (account_id, seq);
CREATE INDEX payments_account_reference ON payments (account_id, reference, seq);
CREATE INDEX payments_account_status ON payments (account_id, status, seq);
CREATE INDEX payments_account_gateway ON payments (account_id, gateway_id, seq);

CREATE TABLE operations (
    seq                    bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    id                     text        NOT NULL PRIMARY KEY,
    account_id             text        NOT NULL REFERENCES accounts (id),
    -- NULL for operations outside any payment (verifications).
    payment_id             text,
    payment_method_id      text        NOT NULL,
    gateway_id             text        NOT NULL,
    credential_version     integer     NOT NULL CHECK (credential_version >= 0),
    kind                   text        NOT NULL CHECK (kind IN ('authorize', 'purchase', 'capture', 'void', 'refund', 'verify', 'credit', 'store')),
    amount                 bigint      NOT NULL CHECK (amount >= 0),
    currency               text        NOT NULL,
    outcome                text        NOT NULL CHECK (outcome IN ('pending', 'succeeded', 'declined', 'failed', 'not_sent', 'unknown')),
    decline_code           text        NOT NULL,
    gateway_reference      text        NOT NULL,
    response_code          text        NOT NULL,
    message                text        NOT NULL,
    avs_code               text        NOT NULL,
    cvv_code               text        NOT NULL,
    network_transaction_id text        NOT NULL,
    -- The scrubbed HTTP exchange; NULL when empty.
    transcript             bytea,
    reconcile_attempts     integer     NOT NULL CHECK (reconcile_attempts >= 0),
    next_reconcile_at      timestamptz,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    FOREIGN KEY (account_id, payment_id) REFERENCES payments (account_id, id)
);

-- A payment's operations, oldest first.
CREATE INDEX operations_payment_seq ON operations (payment_id, seq);
-- ClaimUnsettledOperations: the few operations still in flight, by age.
CREATE INDEX operations_unsettled ON operations (created_at, seq) WHERE outcome IN ('pending', 'unknown');
