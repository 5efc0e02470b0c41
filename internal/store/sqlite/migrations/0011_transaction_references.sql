-- Transaction references: a client's own name for a transaction, unique in
-- a scope and kept for good (IXOPAY's merchantTransactionId per connector).
-- Written in the transaction that reserves the operation it names.
CREATE TABLE transaction_references (
    account_id        TEXT    NOT NULL REFERENCES accounts (id),
    scope             TEXT    NOT NULL,
    reference         TEXT    NOT NULL,
    type              TEXT    NOT NULL,
    payment_id        TEXT    NOT NULL,
    operation_id      TEXT    NOT NULL,
    callback          TEXT    NOT NULL,
    payment_method_id TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    PRIMARY KEY (account_id, scope, reference),
    UNIQUE (account_id, operation_id)
) STRICT;
