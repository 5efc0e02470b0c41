-- Checkout session profiles: the URLs and configuration a session made
-- from a profile starts with (the Dintero dialect's session profiles).
--
-- Conventions as in 0001. url and configuration are JSON objects the
-- dialect reads, kept as given (json, not jsonb, so they read back byte for
-- byte); a session copies what it uses, so deleting a profile
-- changes no session.

CREATE TABLE checkout_profiles (
    seq           bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    id            text        NOT NULL PRIMARY KEY,
    account_id    text        NOT NULL REFERENCES accounts (id),
    name          text        NOT NULL,
    description   text        NOT NULL,
    url           json        NOT NULL CHECK (json_typeof(url) = 'object'),
    configuration json        NOT NULL CHECK (json_typeof(configuration) = 'object'),
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE INDEX checkout_profiles_account_seq ON checkout_profiles (account_id, seq);
