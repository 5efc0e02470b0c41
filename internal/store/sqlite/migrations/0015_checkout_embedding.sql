-- Embedding of the hosted page and the Dintero dialect's sessions.
--
-- checkout_embed_origins: the origins allowed to frame the account's hosted
-- page (the CSP's frame-ancestors), a JSON array; none by default.
-- callback_signature_secret: the account's Dintero callback signature
-- secret, sealed by the vault; NULL until one is set.
-- checkout_sessions.dialect: the API that made the session ('' native,
-- 'dintero'): it names the session's payment in return URLs and callbacks.

ALTER TABLE accounts ADD COLUMN checkout_embed_origins TEXT NOT NULL DEFAULT '[]'
    CHECK (json_valid(checkout_embed_origins) AND json_type(checkout_embed_origins) = 'array');
ALTER TABLE accounts ADD COLUMN callback_signature_secret BLOB;
ALTER TABLE checkout_sessions ADD COLUMN dialect TEXT NOT NULL DEFAULT '' CHECK (dialect IN ('', 'dintero'));
