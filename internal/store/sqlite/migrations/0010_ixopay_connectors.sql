-- IXOPAY connectors: the IXOPAY dialect's view of a gateway (or router),
-- with the keys its transaction API is called with.
CREATE TABLE ixopay_connectors (
    seq                        INTEGER PRIMARY KEY,
    account_id                 TEXT    NOT NULL REFERENCES accounts (id),
    guid                       TEXT    NOT NULL,
    gateway_id                 TEXT    NOT NULL,
    api_key                    TEXT    NOT NULL,
    public_integration_key     TEXT    NOT NULL,
    shared_secret_sealed       BLOB    NOT NULL,
    signature_required         INTEGER NOT NULL,
    disabled_transaction_types TEXT    NOT NULL CHECK (json_valid(disabled_transaction_types)),
    archived                   INTEGER NOT NULL,
    disabled                   INTEGER NOT NULL,
    attributes                 TEXT    NOT NULL CHECK (json_valid(attributes)),
    created_at                 INTEGER NOT NULL,
    updated_at                 INTEGER NOT NULL,
    UNIQUE (account_id, guid),
    UNIQUE (account_id, api_key)
) STRICT;
