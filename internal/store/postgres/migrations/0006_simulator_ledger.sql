-- The simulator gateway's own ledger, kept as an outside provider keeps
-- its records: the operations it processed, by kassa's reference, and the
-- authorizations it holds, by its gateway reference, both per configured
-- gateway. The simulator writes it in transactions of its own at call time,
-- never inside kassa's payment transactions; nothing but the simulator (and
-- tests) reads it. No foreign keys: like a provider's records it does not
-- depend on kassa's (a deleted gateway, a test's made-up gateway id). It
-- holds no card data.

CREATE TABLE simulator_operations (
    gateway_id             text        NOT NULL,
    -- kassa's reference: the operation id it sent.
    reference              text        NOT NULL,
    -- What the first call asked.
    kind                   text        NOT NULL,
    amount                 bigint      NOT NULL,
    prior_reference        text        NOT NULL,
    -- What the simulator answered (for a lost response, the success it
    -- really was). 'pending' is never committed: it marks a row claimed
    -- by the transaction that is deciding it, so that a concurrent call
    -- with the same reference waits for that transaction and then counts
    -- as a repeat.
    outcome                text        NOT NULL CHECK (outcome IN ('pending', 'succeeded', 'declined', 'failed')),
    gateway_reference      text        NOT NULL,
    decline_code           text        NOT NULL,
    response_code          text        NOT NULL,
    message                text        NOT NULL,
    avs_code               text        NOT NULL,
    cvv_code               text        NOT NULL,
    network_transaction_id text        NOT NULL,
    -- The calls with this reference that reached the ledger, the first
    -- one included: more than 1 only when kassa repeated the reference.
    calls                  integer     NOT NULL CHECK (calls >= 1),
    -- The first call and the latest.
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    PRIMARY KEY (gateway_id, reference)
);

CREATE TABLE simulator_authorizations (
    gateway_id        text        NOT NULL,
    gateway_reference text        NOT NULL,
    kind              text        NOT NULL CHECK (kind IN ('authorize', 'purchase')),
    currency          text        NOT NULL,
    authorized        bigint      NOT NULL CHECK (authorized > 0),
    captured          bigint      NOT NULL CHECK (captured >= 0),
    refunded          bigint      NOT NULL CHECK (refunded >= 0),
    voided            boolean     NOT NULL,
    -- The follow-up kind whose response the simulator loses (from the
    -- card the authorization was made with), '' for none.
    loses_response    text        NOT NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    -- The simulator's own rules, whatever wrote the row.
    CONSTRAINT simulator_authorizations_captured_authorized CHECK (captured <= authorized),
    CONSTRAINT simulator_authorizations_refunded_captured CHECK (refunded <= captured),
    PRIMARY KEY (gateway_id, gateway_reference)
);
