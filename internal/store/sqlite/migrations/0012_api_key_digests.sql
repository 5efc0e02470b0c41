-- The SHA-256 of a key's IXOPAY client digest (hex SHA-1 applied ten
-- times): the official IXOPAY PHP client sends that digest as its Basic
-- password instead of the key. NULL for keys made before this migration.
ALTER TABLE api_keys ADD COLUMN digest_hash BLOB;
