-- forgeauth schema, version 1 (PostgreSQL).
-- Times are timestamptz; usernames and emails are unique through their folded
-- form (store.Fold), computed by the application.

CREATE TABLE {p}users (
    id                 TEXT        PRIMARY KEY,
    username           TEXT        NOT NULL,
    username_folded    TEXT        NOT NULL,
    email              TEXT        NOT NULL,
    email_folded       TEXT        NOT NULL,
    hashed_password    TEXT        NOT NULL,
    is_active          BOOLEAN     NOT NULL DEFAULT TRUE,
    is_verified        BOOLEAN     NOT NULL DEFAULT FALSE,
    is_superuser       BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    last_login_at      TIMESTAMPTZ,
    tokens_valid_after TIMESTAMPTZ
);

CREATE UNIQUE INDEX {p}users_username_folded_key ON {p}users (username_folded);
CREATE UNIQUE INDEX {p}users_email_folded_key ON {p}users (email_folded);

-- token holds the SHA-256 digest of a refresh token, never the token.
CREATE TABLE {p}refresh_tokens (
    id           TEXT        PRIMARY KEY,
    user_id      TEXT        NOT NULL REFERENCES {p}users (id) ON DELETE CASCADE,
    token        TEXT        NOT NULL,
    family_id    TEXT        NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    is_revoked   BOOLEAN     NOT NULL DEFAULT FALSE,
    replaced_by  TEXT,
    device_name  TEXT        NOT NULL DEFAULT '',
    device_type  TEXT        NOT NULL DEFAULT '',
    ip_address   TEXT        NOT NULL DEFAULT '',
    user_agent   TEXT        NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ NOT NULL
);

CREATE UNIQUE INDEX {p}refresh_tokens_token_key ON {p}refresh_tokens (token);
CREATE INDEX {p}refresh_tokens_user_family_idx ON {p}refresh_tokens (user_id, family_id);
CREATE INDEX {p}refresh_tokens_user_active_idx ON {p}refresh_tokens (user_id) WHERE NOT is_revoked;
CREATE INDEX {p}refresh_tokens_expires_at_idx ON {p}refresh_tokens (expires_at);

-- code holds a keyed digest (HMAC) of a verification code, never the code.
CREATE TABLE {p}verification_codes (
    id         TEXT        PRIMARY KEY,
    user_id    TEXT        NOT NULL REFERENCES {p}users (id) ON DELETE CASCADE,
    code       TEXT        NOT NULL,
    code_type  TEXT        NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    is_used    BOOLEAN     NOT NULL DEFAULT FALSE,
    attempts   INTEGER     NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX {p}verification_codes_user_type_idx ON {p}verification_codes (user_id, code_type, created_at);
CREATE INDEX {p}verification_codes_expires_at_idx ON {p}verification_codes (expires_at);
