-- Sign-in budgets in the database (ADR 0035): every kassa process sharing
-- it draws on one budget per email and per client address, and a restart
-- does not refill them.
--
-- One row per budget, GCRA: tat (the "theoretical arrival time", micros
-- since the epoch) is when the budget is full again; an attempt moves it
-- window/N later, and is refused if that would put it more than a window
-- ahead. A row whose tat has passed holds nothing a missing row would not,
-- so the sweeper deletes it (by the index on tat).
--
-- key_hash is HMAC-SHA256 under a key derived from the master key, never
-- the email or address itself (the engine computes it; see ADR 0035).
CREATE TABLE dashboard_login_budgets (
    key_hash BLOB    NOT NULL PRIMARY KEY CHECK (length(key_hash) = 32),
    tat      INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX dashboard_login_budgets_tat ON dashboard_login_budgets (tat);
