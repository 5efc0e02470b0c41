-- Idempotency records in a rowid table (issue 11).
--
-- As a WITHOUT ROWID table, every record, with the answer it stores (a
-- few kilobytes of JSON), sat in the cells of the primary key's b-tree.
-- SQLite compares a key with a cell that overflows its page only after
-- reading the cell's whole payload, overflow pages included, so each
-- lookup by key read the full records of the cells it passed on the way
-- down: a keyed purchase's two lookups and two updates cost about 0.2 ms
-- of CPU, half of it in the writer. In a rowid table the key lives in a
-- small unique index, and only the record found is read.
CREATE TABLE idempotency_keys_rowid (
    account_id      TEXT    NOT NULL REFERENCES accounts (id),
    key             TEXT    NOT NULL,
    method          TEXT    NOT NULL,
    path            TEXT    NOT NULL,
    request_hash    BLOB,
    completed       INTEGER NOT NULL CHECK (completed IN (0, 1)),
    locked_until    INTEGER NOT NULL,
    response_status INTEGER NOT NULL,
    response_body   BLOB,
    created_at      INTEGER NOT NULL,
    -- The claim holding the key in flight, how far its request got, and
    -- what it reserved (ADR 0008).
    token           TEXT    NOT NULL DEFAULT '',
    point           TEXT    NOT NULL DEFAULT 'started' CHECK (point IN ('started', 'reserved', 'settled')),
    payment_id      TEXT    NOT NULL DEFAULT '',
    operation_id    TEXT    NOT NULL DEFAULT '',
    UNIQUE (account_id, key)
) STRICT;

INSERT INTO idempotency_keys_rowid (account_id, key, method, path, request_hash, completed, locked_until,
    response_status, response_body, created_at, token, point, payment_id, operation_id)
SELECT account_id, key, method, path, request_hash, completed, locked_until,
    response_status, response_body, created_at, token, point, payment_id, operation_id
FROM idempotency_keys;

DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_rowid RENAME TO idempotency_keys;

-- PurgeIdempotencyKeys.
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
