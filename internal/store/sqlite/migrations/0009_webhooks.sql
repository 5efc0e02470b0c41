-- Webhook endpoints, the deliveries of events (and of dialect callbacks)
-- to them, and the log of every attempt.
CREATE TABLE webhook_endpoints (
    seq                   INTEGER PRIMARY KEY,
    id                    TEXT    NOT NULL UNIQUE,
    account_id            TEXT    NOT NULL REFERENCES accounts (id),
    url                   TEXT    NOT NULL,
    description           TEXT    NOT NULL,
    metadata              TEXT    NOT NULL CHECK (json_valid(metadata)),
    enabled_events        TEXT    NOT NULL CHECK (json_valid(enabled_events)),
    -- The enabled events as " a b c ", matched with instr by the fan-out
    -- that writes an event's deliveries (see insertEvent).
    event_match           TEXT    NOT NULL,
    live                  INTEGER NOT NULL,
    secret_sealed         BLOB    NOT NULL,
    secret_version        INTEGER NOT NULL,
    old_secret_sealed     BLOB,
    old_secret_version    INTEGER NOT NULL DEFAULT 0,
    old_secret_expires_at INTEGER,
    disabled_at           INTEGER,
    disabled_reason       TEXT    NOT NULL DEFAULT '',
    failing_since         INTEGER,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
) STRICT;

CREATE INDEX webhook_endpoints_account_seq ON webhook_endpoints (account_id, seq);

CREATE TABLE webhook_deliveries (
    seq             INTEGER PRIMARY KEY,
    id              TEXT    NOT NULL UNIQUE,
    account_id      TEXT    NOT NULL REFERENCES accounts (id),
    endpoint_id     TEXT    REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id        TEXT,
    message_id      TEXT    NOT NULL,
    signer          TEXT    NOT NULL,
    signer_key      TEXT    NOT NULL DEFAULT '',
    method          TEXT    NOT NULL DEFAULT 'POST',
    url             TEXT    NOT NULL DEFAULT '',
    headers         TEXT    CHECK (headers IS NULL OR json_valid(headers)),
    body            BLOB,
    queue           TEXT    NOT NULL,
    live            INTEGER NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_token     TEXT    NOT NULL DEFAULT '',
    last_attempt_at INTEGER,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    completed_at    INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;

-- The claim: pending deliveries by due time.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (account_id, event_id) WHERE event_id IS NOT NULL;
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at);

CREATE TABLE webhook_attempts (
    seq           INTEGER PRIMARY KEY,
    id            TEXT    NOT NULL UNIQUE,
    account_id    TEXT    NOT NULL REFERENCES accounts (id),
    delivery_id   TEXT    NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    endpoint_id   TEXT,
    event_id      TEXT,
    event_type    TEXT    NOT NULL,
    attempt       INTEGER NOT NULL,
    url           TEXT    NOT NULL,
    started_at    INTEGER NOT NULL,
    latency_us    INTEGER NOT NULL,
    status_code   INTEGER NOT NULL,
    error         TEXT    NOT NULL,
    response_body TEXT    NOT NULL,
    succeeded     INTEGER NOT NULL
) STRICT;

CREATE INDEX webhook_attempts_endpoint_seq ON webhook_attempts (account_id, endpoint_id, seq);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id);
