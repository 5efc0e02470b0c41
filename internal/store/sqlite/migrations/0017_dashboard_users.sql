-- Dashboard users, their memberships of accounts, their sessions, and the
-- actor of events (ADR 0029).
--
-- Conventions as in 0001. A user belongs to no account: memberships say
-- which accounts it may see and with which role. A session is found by
-- the SHA-256 of its cookie's token; the token itself is never stored.

CREATE TABLE dashboard_users (
    id            TEXT    NOT NULL PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE CHECK (email = lower(email) AND email <> ''),
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE dashboard_memberships (
    user_id    TEXT    NOT NULL REFERENCES dashboard_users (id),
    account_id TEXT    NOT NULL REFERENCES accounts (id),
    role       TEXT    NOT NULL CHECK (role IN ('admin', 'viewer')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, account_id)
) STRICT;

CREATE TABLE dashboard_sessions (
    token_hash   BLOB    NOT NULL PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id      TEXT    NOT NULL REFERENCES dashboard_users (id),
    account_id   TEXT    NOT NULL REFERENCES accounts (id),
    csrf_secret  BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX dashboard_sessions_expires ON dashboard_sessions (expires_at);
CREATE INDEX dashboard_sessions_last_seen ON dashboard_sessions (last_seen_at);

-- Who caused an event: "user:<id>" for a dashboard user, an API key's id,
-- or '' (kassa itself, and every event written before this column).
ALTER TABLE events ADD COLUMN actor TEXT NOT NULL DEFAULT '';
