-- What a transaction reference keeps beside its name: the fields of the
-- transaction its dialect shows but kassa does not act on (a JSON object;
-- NULL for none), the signer of its callback, so that a change after the
-- transaction's outcome can promise another, and the event of the latest
-- such change ('' for none).
ALTER TABLE transaction_references ADD COLUMN attributes TEXT CHECK (attributes IS NULL OR json_valid(attributes));
ALTER TABLE transaction_references ADD COLUMN callback_signer TEXT NOT NULL DEFAULT '';
ALTER TABLE transaction_references ADD COLUMN change_event_id TEXT NOT NULL DEFAULT '';
-- Until now only the IXOPAY dialect named transactions, and every callback
-- it promised was signed by its signer.
UPDATE transaction_references SET callback_signer = 'ixopay' WHERE callback <> '';
