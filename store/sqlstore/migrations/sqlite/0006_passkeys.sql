-- forgeauth schema, version 6 (SQLite): passkeys.

-- The WebAuthn user handle of a user: random bytes made once and kept for
-- the life of the account, unique across users. Authenticators return it
-- with a discoverable credential at sign-in.
CREATE TABLE {p}webauthn_users (
    user_id    TEXT    NOT NULL PRIMARY KEY REFERENCES {p}users (id) ON DELETE CASCADE,
    handle     BLOB    NOT NULL,
    created_at INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER))
) STRICT;

CREATE UNIQUE INDEX {p}webauthn_users_handle_key ON {p}webauthn_users (handle);

-- A WebAuthn credential of a user. credential_id is the authenticator's
-- own id, unique across users; public_key is COSE-encoded; sign_count is
-- the highest signature counter seen (0 for authenticators that do not
-- count); transports is a JSON array of strings, in the order given.
-- last_used_at is NULL before the first sign-in.
CREATE TABLE {p}passkeys (
    id                 TEXT    NOT NULL PRIMARY KEY,
    user_id            TEXT    NOT NULL REFERENCES {p}users (id) ON DELETE CASCADE,
    credential_id      BLOB    NOT NULL,
    public_key         BLOB    NOT NULL,
    aaguid             BLOB    NOT NULL,
    sign_count         INTEGER NOT NULL DEFAULT 0 CHECK (sign_count BETWEEN 0 AND 4294967295),
    transports         TEXT    NOT NULL DEFAULT '[]',
    user_verified      INTEGER NOT NULL DEFAULT 0 CHECK (user_verified IN (0, 1)),
    backup_eligible    INTEGER NOT NULL DEFAULT 0 CHECK (backup_eligible IN (0, 1)),
    backup_state       INTEGER NOT NULL DEFAULT 0 CHECK (backup_state IN (0, 1)),
    attestation_type   TEXT    NOT NULL DEFAULT '',
    attestation_format TEXT    NOT NULL DEFAULT '',
    name               TEXT    NOT NULL DEFAULT '',
    created_at         INTEGER NOT NULL,
    last_used_at       INTEGER
) STRICT;

CREATE UNIQUE INDEX {p}passkeys_credential_id_key ON {p}passkeys (credential_id);
CREATE INDEX {p}passkeys_user_idx ON {p}passkeys (user_id);
