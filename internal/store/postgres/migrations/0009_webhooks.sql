-- Webhook endpoints, the deliveries of events (and of dialect callbacks)
-- to them, and the log of every attempt.
CREATE TABLE webhook_endpoints (
    seq                   bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    id                    text        NOT NULL PRIMARY KEY,
    account_id            text        NOT NULL REFERENCES accounts (id),
    url                   text        NOT NULL,
    description           text        NOT NULL,
    metadata              jsonb       NOT NULL,
    enabled_events        jsonb       NOT NULL,
    -- The enabled events as " a b c ", matched with strpos by the fan-out
    -- that writes an event's deliveries (see insertEvent).
    event_match           text        NOT NULL,
    live                  boolean     NOT NULL,
    secret_sealed         bytea       NOT NULL,
    secret_version        integer     NOT NULL,
    old_secret_sealed     bytea,
    old_secret_version    integer     NOT NULL DEFAULT 0,
    old_secret_expires_at timestamptz,
    disabled_at           timestamptz,
    disabled_reason       text        NOT NULL DEFAULT '',
    failing_since         timestamptz,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL
);

CREATE INDEX webhook_endpoints_account_seq ON webhook_endpoints (account_id, seq);

CREATE TABLE webhook_deliveries (
    seq             bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    id              text        NOT NULL PRIMARY KEY,
    account_id      text        NOT NULL REFERENCES accounts (id),
    endpoint_id     text        REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id        text,
    message_id      text        NOT NULL,
    signer          text        NOT NULL,
    signer_key      text        NOT NULL DEFAULT '',
    method          text        NOT NULL DEFAULT 'POST',
    url             text        NOT NULL DEFAULT '',
    headers         jsonb,
    body            bytea,
    queue           text        NOT NULL,
    live            boolean     NOT NULL,
    state           text        NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    lease_token     text        NOT NULL DEFAULT '',
    last_attempt_at timestamptz,
    last_status     integer     NOT NULL DEFAULT 0,
    last_error      text        NOT NULL DEFAULT '',
    completed_at    timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);

-- The claim: pending deliveries by due time.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (account_id, event_id) WHERE event_id IS NOT NULL;
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at);

CREATE TABLE webhook_attempts (
    seq           bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    id            text        NOT NULL PRIMARY KEY,
    account_id    text        NOT NULL REFERENCES accounts (id),
    delivery_id   text        NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    endpoint_id   text,
    event_id      text,
    event_type    text        NOT NULL,
    attempt       integer     NOT NULL,
    url           text        NOT NULL,
    started_at    timestamptz NOT NULL,
    latency_us    bigint      NOT NULL,
    status_code   integer     NOT NULL,
    error         text        NOT NULL,
    response_body text        NOT NULL,
    succeeded     boolean     NOT NULL
);

CREATE INDEX webhook_attempts_endpoint_seq ON webhook_attempts (account_id, endpoint_id, seq);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id);
