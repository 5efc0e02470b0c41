-- Embedding of the hosted page and the Dintero dialect's sessions.
--
-- checkout_embed_origins: the origins allowed to frame the account's hosted
-- page (the CSP's frame-ancestors), a JSON array; none by default.
-- callback_signature_secret: the account's Dintero callback signature
-- secret, sealed by the vault; NULL until one is set.
-- checkout_sessions.dialect: the API that made the session ('' native,
-- 'dintero'): it names the session's payment in return URLs and callbacks.

ALTER TABLE accounts
    ADD COLUMN checkout_embed_origins jsonb NOT NULL DEFAULT '[]'
        CHECK (jsonb_typeof(checkout_embed_origins) = 'array'),
    ADD COLUMN callback_signature_secret bytea;
ALTER TABLE checkout_sessions ADD COLUMN dialect text NOT NULL DEFAULT '' CHECK (dialect IN ('', 'dintero'));
