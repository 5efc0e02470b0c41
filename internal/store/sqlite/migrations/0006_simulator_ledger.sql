-- The simulator gateway's own ledger, kept as an outside provider keeps
-- its records: the operations it processed, by kassa's reference, and the
-- authorizations it holds, by its gateway reference, both per configured
-- gateway. The simulator writes it in transactions of its own at call time,
-- never inside kassa's payment transactions; nothing but the simulator (and
-- tests) reads it. No foreign keys: like a provider's records it does not
-- depend on kassa's (a deleted gateway, a test's made-up gateway id). It
-- holds no card data.
--
-- Conventions as in 0001: STRICT tables, INTEGER microsecond times.

CREATE TABLE simulator_operations (
    gateway_id             TEXT    NOT NULL,
    -- kassa's reference: the operation id it sent.
    reference              TEXT    NOT NULL,
    -- What the first call asked.
    kind                   TEXT    NOT NULL,
    amount                 INTEGER NOT NULL,
    prior_reference        TEXT    NOT NULL,
    -- What the simulator answered (for a lost response, the success it
    -- really was). 'pending' is never committed: it marks a row claimed
    -- by the transaction that is deciding it.
    outcome                TEXT    NOT NULL CHECK (outcome IN ('pending', 'succeeded', 'declined', 'failed')),
    gateway_reference      TEXT    NOT NULL,
    decline_code           TEXT    NOT NULL,
    response_code          TEXT    NOT NULL,
    message                TEXT    NOT NULL,
    avs_code               TEXT    NOT NULL,
    cvv_code               TEXT    NOT NULL,
    network_transaction_id TEXT    NOT NULL,
    -- The calls with this reference that reached the ledger, the first
    -- one included: more than 1 only when kassa repeated the reference.
    calls                  INTEGER NOT NULL CHECK (calls >= 1),
    -- The first call and the latest.
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL,
    PRIMARY KEY (gateway_id, reference)
) STRICT, WITHOUT ROWID;

CREATE TABLE simulator_authorizations (
    gateway_id        TEXT    NOT NULL,
    gateway_reference TEXT    NOT NULL,
    kind              TEXT    NOT NULL CHECK (kind IN ('authorize', 'purchase')),
    currency          TEXT    NOT NULL,
    authorized        INTEGER NOT NULL CHECK (authorized > 0),
    captured          INTEGER NOT NULL CHECK (captured >= 0),
    refunded          INTEGER NOT NULL CHECK (refunded >= 0),
    voided            INTEGER NOT NULL CHECK (voided IN (0, 1)),
    -- The follow-up kind whose response the simulator loses (from the
    -- card the authorization was made with), '' for none.
    loses_response    TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    -- The simulator's own rules, whatever wrote the row.
    CHECK (captured <= authorized),
    CHECK (refunded <= captured),
    PRIMARY KEY (gateway_id, gateway_reference)
) STRICT, WITHOUT ROWID;
