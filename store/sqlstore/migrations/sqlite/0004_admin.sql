-- forgeauth schema, version 4: account lifecycle and administration.

-- The address an email-change code is bound to (NULL for the other types).
ALTER TABLE {p}verification_codes ADD COLUMN new_email TEXT;

-- Finds the active superusers, whom the last-superuser rule counts.
CREATE INDEX {p}users_superuser_idx ON {p}users (id) WHERE is_superuser AND is_active;
