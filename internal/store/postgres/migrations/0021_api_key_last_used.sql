-- When a key last authenticated a request: written at most once a minute
-- per key by each kassa process, off the request's path, so it may lag
-- the real last use by up to a minute. NULL for a key never used since
-- this migration.
ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz;
