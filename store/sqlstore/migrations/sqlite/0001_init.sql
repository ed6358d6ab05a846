-- forgeauth schema, version 1 (SQLite).
-- Times are INTEGER microseconds since the Unix epoch (UTC); booleans are
-- INTEGER 0 or 1. Usernames and emails are unique through their folded form
-- (store.Fold), computed by the application.

CREATE TABLE {p}users (
    id                 TEXT    NOT NULL PRIMARY KEY,
    username           TEXT    NOT NULL,
    username_folded    TEXT    NOT NULL,
    email              TEXT    NOT NULL,
    email_folded       TEXT    NOT NULL,
    hashed_password    TEXT    NOT NULL,
    is_active          INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    is_verified        INTEGER NOT NULL DEFAULT 0 CHECK (is_verified IN (0, 1)),
    is_superuser       INTEGER NOT NULL DEFAULT 0 CHECK (is_superuser IN (0, 1)),
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    last_login_at      INTEGER,
    tokens_valid_after INTEGER
) STRICT;

CREATE UNIQUE INDEX {p}users_username_folded_key ON {p}users (username_folded);
CREATE UNIQUE INDEX {p}users_email_folded_key ON {p}users (email_folded);

-- token holds the SHA-256 digest of a refresh token, never the token.
CREATE TABLE {p}refresh_tokens (
    id           TEXT    NOT NULL PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES {p}users (id) ON DELETE CASCADE,
    token        TEXT    NOT NULL,
    family_id    TEXT    NOT NULL,
    expires_at   INTEGER NOT NULL,
    is_revoked   INTEGER NOT NULL DEFAULT 0 CHECK (is_revoked IN (0, 1)),
    replaced_by  TEXT,
    device_name  TEXT    NOT NULL DEFAULT '',
    device_type  TEXT    NOT NULL DEFAULT '',
    ip_address   TEXT    NOT NULL DEFAULT '',
    user_agent   TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX {p}refresh_tokens_token_key ON {p}refresh_tokens (token);
CREATE INDEX {p}refresh_tokens_user_family_idx ON {p}refresh_tokens (user_id, family_id);
CREATE INDEX {p}refresh_tokens_user_active_idx ON {p}refresh_tokens (user_id) WHERE NOT is_revoked;
CREATE INDEX {p}refresh_tokens_expires_at_idx ON {p}refresh_tokens (expires_at);

-- code holds a keyed digest (HMAC) of a verification code, never the code.
CREATE TABLE {p}verification_codes (
    id         TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES {p}users (id) ON DELETE CASCADE,
    code       TEXT    NOT NULL,
    code_type  TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    is_used    INTEGER NOT NULL DEFAULT 0 CHECK (is_used IN (0, 1)),
    attempts   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX {p}verification_codes_user_type_idx ON {p}verification_codes (user_id, code_type, created_at);
CREATE INDEX {p}verification_codes_expires_at_idx ON {p}verification_codes (expires_at);
