-- forgeauth schema, version 2 (SQLite).

-- The absolute end of a refresh token's session, carried over by every
-- rotation. SQLite cannot make an added column NOT NULL without a default,
-- so the table is rebuilt (nothing references it). Tokens issued before this
-- version get the first issue of their family plus 30 days.
CREATE TABLE {p}refresh_tokens_v2 (
    id                 TEXT    NOT NULL PRIMARY KEY,
    user_id            TEXT    NOT NULL REFERENCES {p}users (id) ON DELETE CASCADE,
    token              TEXT    NOT NULL,
    family_id          TEXT    NOT NULL,
    expires_at         INTEGER NOT NULL,
    is_revoked         INTEGER NOT NULL DEFAULT 0 CHECK (is_revoked IN (0, 1)),
    replaced_by        TEXT,
    device_name        TEXT    NOT NULL DEFAULT '',
    device_type        TEXT    NOT NULL DEFAULT '',
    ip_address         TEXT    NOT NULL DEFAULT '',
    user_agent         TEXT    NOT NULL DEFAULT '',
    created_at         INTEGER NOT NULL,
    last_used_at       INTEGER NOT NULL,
    session_expires_at INTEGER NOT NULL
) STRICT;

INSERT INTO {p}refresh_tokens_v2 (id, user_id, token, family_id, expires_at, is_revoked, replaced_by,
    device_name, device_type, ip_address, user_agent, created_at, last_used_at, session_expires_at)
SELECT t.id, t.user_id, t.token, t.family_id, t.expires_at, t.is_revoked, t.replaced_by,
    t.device_name, t.device_type, t.ip_address, t.user_agent, t.created_at, t.last_used_at,
    (SELECT MIN(f.created_at) FROM {p}refresh_tokens f
     WHERE f.user_id = t.user_id AND f.family_id = t.family_id) + 30 * 86400 * 1000000
FROM {p}refresh_tokens t;

DROP TABLE {p}refresh_tokens;
ALTER TABLE {p}refresh_tokens_v2 RENAME TO {p}refresh_tokens;

CREATE UNIQUE INDEX {p}refresh_tokens_token_key ON {p}refresh_tokens (token);
CREATE INDEX {p}refresh_tokens_user_family_idx ON {p}refresh_tokens (user_id, family_id);
CREATE INDEX {p}refresh_tokens_user_active_idx ON {p}refresh_tokens (user_id) WHERE NOT is_revoked;
CREATE INDEX {p}refresh_tokens_expires_at_idx ON {p}refresh_tokens (expires_at);

-- One-time tickets, keyed by kind and digest; digest holds the digest of
-- the value handed out, never the value.
CREATE TABLE {p}tickets (
    kind       TEXT    NOT NULL,
    digest     TEXT    NOT NULL,
    user_id    TEXT    REFERENCES {p}users (id) ON DELETE CASCADE,
    data       BLOB,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (kind, digest)
) STRICT;

CREATE INDEX {p}tickets_user_idx ON {p}tickets (user_id);
CREATE INDEX {p}tickets_expires_at_idx ON {p}tickets (expires_at);

-- Finds the registrations that were never verified, for their clean-up.
CREATE INDEX {p}users_unverified_idx ON {p}users (created_at) WHERE NOT is_verified;
