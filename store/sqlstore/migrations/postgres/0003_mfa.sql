-- forgeauth schema, version 3 (PostgreSQL): second factors.

-- One TOTP secret per user, sealed by the application (AES-GCM, the user id
-- as additional data): the store never holds it in clear. last_step is the
-- last time step spent; a code is accepted only for a greater step.
CREATE TABLE {p}second_factors (
    user_id      TEXT        PRIMARY KEY REFERENCES {p}users (id) ON DELETE CASCADE,
    totp_secret  BYTEA       NOT NULL,
    confirmed    BOOLEAN     NOT NULL DEFAULT FALSE,
    last_step    BIGINT      NOT NULL DEFAULT 0,
    created_at   TIMESTAMPTZ NOT NULL,
    confirmed_at TIMESTAMPTZ
);

-- digest holds a keyed digest (HMAC) of a recovery code, never the code.
CREATE TABLE {p}recovery_codes (
    user_id    TEXT        NOT NULL REFERENCES {p}users (id) ON DELETE CASCADE,
    digest     TEXT        NOT NULL,
    used_at    TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, digest)
);
