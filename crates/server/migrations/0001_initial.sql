-- passkeyd schema, version 1. Portable SQL: the same file runs on SQLite and PostgreSQL.
-- Binary values (user handles, credential ids, COSE keys, hashes) are base64url TEXT so that
-- no BLOB/BYTEA difference arises; times are Unix seconds in BIGINT.

CREATE TABLE users (
    handle       TEXT PRIMARY KEY,  -- base64url of 32 random bytes; never personal data
    username     TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE credentials (
    id                       TEXT PRIMARY KEY,  -- base64url credential id, unique across users
    user_handle              TEXT NOT NULL REFERENCES users (handle) ON DELETE CASCADE,
    public_key               TEXT NOT NULL,     -- base64url COSE_Key as registered
    alg                      BIGINT NOT NULL,   -- COSE algorithm identifier
    sign_count               BIGINT NOT NULL,
    use_count                BIGINT NOT NULL DEFAULT 0, -- successful assertions; the counter CAS version
    transports               TEXT NOT NULL,     -- comma-separated
    aaguid                   TEXT NOT NULL,     -- hyphenated hex
    attestation_format       TEXT NOT NULL,
    attestation_type         TEXT NOT NULL,     -- none, self, basic, attca, anonca
    attestation_trust        TEXT NOT NULL,     -- trusted: <anchor>, no_trust_path, not_evaluated
    authenticator_attachment TEXT,
    backup_eligible          BOOLEAN NOT NULL,
    backup_state             BOOLEAN NOT NULL,
    uv_initialized           BOOLEAN NOT NULL,
    name                     TEXT NOT NULL,
    status                   TEXT NOT NULL DEFAULT 'active', -- active, suspended, revoked
    status_reason            TEXT,
    created_at               BIGINT NOT NULL,
    last_used_at             BIGINT
);

CREATE INDEX credentials_by_user ON credentials (user_handle);

CREATE TABLE sessions (
    id_hash          TEXT PRIMARY KEY,  -- base64url SHA-256 of the cookie's token; the token is never stored
    public_id        TEXT NOT NULL UNIQUE, -- shown in session lists and used to revoke
    user_handle      TEXT NOT NULL REFERENCES users (handle) ON DELETE CASCADE,
    credential_id    TEXT NOT NULL,
    user_verified    BOOLEAN NOT NULL,
    authenticated_at BIGINT NOT NULL,
    last_seen_at     BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,  -- absolute expiry
    revoked_at       BIGINT,
    user_agent       TEXT
);

CREATE INDEX sessions_by_user ON sessions (user_handle);
