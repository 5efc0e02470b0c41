-- Transaction references: a client's own name for a transaction, unique in
-- a scope and kept for good (IXOPAY's merchantTransactionId per connector).
-- Written in the transaction that reserves the operation it names.
CREATE TABLE transaction_references (
    account_id        text        NOT NULL REFERENCES accounts (id),
    scope             text        NOT NULL,
    reference         text        NOT NULL,
    type              text        NOT NULL,
    payment_id        text        NOT NULL,
    operation_id      text        NOT NULL,
    callback          text        NOT NULL,
    payment_method_id text        NOT NULL,
    created_at        timestamptz NOT NULL,
    PRIMARY KEY (account_id, scope, reference),
    UNIQUE (account_id, operation_id)
);
