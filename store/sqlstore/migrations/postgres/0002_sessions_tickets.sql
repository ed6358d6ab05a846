-- forgeauth schema, version 2 (PostgreSQL).

-- The absolute end of a refresh token's session, carried over by every
-- rotation. Tokens issued before this version get the first issue of their
-- family plus 30 days.
ALTER TABLE {p}refresh_tokens ADD COLUMN session_expires_at TIMESTAMPTZ;

UPDATE {p}refresh_tokens t
SET session_expires_at = f.first_created + INTERVAL '30 days'
FROM (
    SELECT user_id, family_id, MIN(created_at) AS first_created
    FROM {p}refresh_tokens
    GROUP BY user_id, family_id
) f
WHERE f.user_id = t.user_id AND f.family_id = t.family_id;

ALTER TABLE {p}refresh_tokens ALTER COLUMN session_expires_at SET NOT NULL;

-- One-time tickets, keyed by kind and digest; digest holds the digest of
-- the value handed out, never the value.
CREATE TABLE {p}tickets (
    kind       TEXT        NOT NULL,
    digest     TEXT        NOT NULL,
    user_id    TEXT        REFERENCES {p}users (id) ON DELETE CASCADE,
    data       BYTEA,
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, digest)
);

CREATE INDEX {p}tickets_user_idx ON {p}tickets (user_id);
CREATE INDEX {p}tickets_expires_at_idx ON {p}tickets (expires_at);

-- Finds the registrations that were never verified, for their clean-up.
CREATE INDEX {p}users_unverified_idx ON {p}users (created_at) WHERE NOT is_verified;
