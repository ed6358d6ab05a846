-- forgeauth schema, version 5 (SQLite): provider identities.

-- An account of another sign-in provider linked to a user; (provider,
-- subject) is unique, and email is only what the provider said at link
-- time (never used to find a user).
CREATE TABLE {p}identities (
    id         TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES {p}users (id) ON DELETE CASCADE,
    provider   TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    email      TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX {p}identities_provider_subject_key ON {p}identities (provider, subject);
CREATE INDEX {p}identities_user_idx ON {p}identities (user_id);
