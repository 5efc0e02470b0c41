-- Dashboard users, their memberships of accounts, their sessions, and the
-- actor of events (ADR 0029).
--
-- Conventions as in 0001. A user belongs to no account: memberships say
-- which accounts it may see and with which role. A session is found by
-- the SHA-256 of its cookie's token; the token itself is never stored.

CREATE TABLE dashboard_users (
    id            text        NOT NULL PRIMARY KEY,
    email         text        NOT NULL UNIQUE CHECK (email = lower(email) AND email <> ''),
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL
);

CREATE TABLE dashboard_memberships (
    user_id    text        NOT NULL REFERENCES dashboard_users (id),
    account_id text        NOT NULL REFERENCES accounts (id),
    role       text        NOT NULL CHECK (role IN ('admin', 'viewer')),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, account_id)
);

CREATE TABLE dashboard_sessions (
    token_hash   bytea       NOT NULL PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id      text        NOT NULL REFERENCES dashboard_users (id),
    account_id   text        NOT NULL REFERENCES accounts (id),
    csrf_secret  bytea       NOT NULL,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);

CREATE INDEX dashboard_sessions_expires ON dashboard_sessions (expires_at);
CREATE INDEX dashboard_sessions_last_seen ON dashboard_sessions (last_seen_at);

-- Who caused an event: "user:<id>" for a dashboard user, an API key's id,
-- or '' (kassa itself, and every event written before this column).
ALTER TABLE events ADD COLUMN actor text NOT NULL DEFAULT '';
