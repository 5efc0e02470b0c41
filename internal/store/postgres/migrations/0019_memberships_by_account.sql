-- An account's members, for the users page, the actors of audit trails
-- and the last-admin check: the primary key leads with the user, so
-- these read every membership of the installation, of every account.
CREATE INDEX dashboard_memberships_account ON dashboard_memberships (account_id, created_at);
