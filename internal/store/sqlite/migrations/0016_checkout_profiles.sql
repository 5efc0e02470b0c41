-- Checkout session profiles: the URLs and configuration a session made
-- from a profile starts with (the Dintero dialect's session profiles).
--
-- Conventions as in 0001. url and configuration are JSON objects the
-- dialect reads; a session copies what it uses, so deleting a profile
-- changes no session.

CREATE TABLE checkout_profiles (
    seq           INTEGER PRIMARY KEY,
    id            TEXT    NOT NULL UNIQUE,
    account_id    TEXT    NOT NULL REFERENCES accounts (id),
    name          TEXT    NOT NULL,
    description   TEXT    NOT NULL,
    url           TEXT    NOT NULL CHECK (json_valid(url) AND json_type(url) = 'object'),
    configuration TEXT    NOT NULL CHECK (json_valid(configuration) AND json_type(configuration) = 'object'),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE INDEX checkout_profiles_account_seq ON checkout_profiles (account_id, seq);
