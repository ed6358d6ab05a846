-- forgeauth schema, version 6 (PostgreSQL): passkeys.

-- The WebAuthn user handle of a user: random bytes made once and kept for
-- the life of the account, unique across users. Authenticators return it
-- with a discoverable credential at sign-in.
CREATE TABLE {p}webauthn_users (
    user_id    TEXT        PRIMARY KEY REFERENCES {p}users (id) ON DELETE CASCADE,
    handle     BYTEA       NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX {p}webauthn_users_handle_key ON {p}webauthn_users (handle);

-- A WebAuthn credential of a user. credential_id is the authenticator's
-- own id, unique across users; public_key is COSE-encoded; sign_count is
-- the highest signature counter seen (0 for authenticators that do not
-- count); transports is a JSON array of strings, in the order given.
-- last_used_at is NULL before the first sign-in.
CREATE TABLE {p}passkeys (
    id                 TEXT        PRIMARY KEY,
    user_id            TEXT        NOT NULL REFERENCES {p}users (id) ON DELETE CASCADE,
    credential_id      BYTEA       NOT NULL,
    public_key         BYTEA       NOT NULL,
    aaguid             BYTEA       NOT NULL,
    sign_count         BIGINT      NOT NULL DEFAULT 0 CHECK (sign_count BETWEEN 0 AND 4294967295),
    transports         TEXT        NOT NULL DEFAULT '[]',
    user_verified      BOOLEAN     NOT NULL DEFAULT FALSE,
    backup_eligible    BOOLEAN     NOT NULL DEFAULT FALSE,
    backup_state       BOOLEAN     NOT NULL DEFAULT FALSE,
    attestation_type   TEXT        NOT NULL DEFAULT '',
    attestation_format TEXT        NOT NULL DEFAULT '',
    name               TEXT        NOT NULL DEFAULT '',
    created_at         TIMESTAMPTZ NOT NULL,
    last_used_at       TIMESTAMPTZ
);

CREATE UNIQUE INDEX {p}passkeys_credential_id_key ON {p}passkeys (credential_id);
CREATE INDEX {p}passkeys_user_idx ON {p}passkeys (user_id);
