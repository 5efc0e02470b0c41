-- IXOPAY connectors: the IXOPAY dialect's view of a gateway (or router),
-- with the keys its transaction API is called with.
CREATE TABLE ixopay_connectors (
    seq                        bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    account_id                 text        NOT NULL REFERENCES accounts (id),
    guid                       text        NOT NULL,
    gateway_id                 text        NOT NULL,
    api_key                    text        NOT NULL,
    public_integration_key     text        NOT NULL,
    shared_secret_sealed       bytea       NOT NULL,
    signature_required         boolean     NOT NULL,
    disabled_transaction_types jsonb       NOT NULL,
    archived                   boolean     NOT NULL,
    disabled                   boolean     NOT NULL,
    -- json, not jsonb: kept byte for byte, in the order the API renders.
    attributes                 json        NOT NULL,
    created_at                 timestamptz NOT NULL,
    updated_at                 timestamptz NOT NULL,
    PRIMARY KEY (account_id, guid),
    UNIQUE (account_id, api_key)
);
