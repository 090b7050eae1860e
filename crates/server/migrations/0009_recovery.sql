-- Account recovery: single-use, short-lived enrolment links an administrator issues after an
-- identity proofing. Only the SHA-256 of a link's token is stored.
CREATE TABLE recovery_links (
    token_hash    TEXT PRIMARY KEY,
    user_handle   TEXT NOT NULL REFERENCES users (handle) ON DELETE CASCADE,
    proofing_id   TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    used_at       BIGINT,           -- set once, by the enrolment
    credential_id TEXT,             -- the passkey enrolled through it
    cancelled_at  BIGINT            -- the owner cancelled it from another session
);
CREATE INDEX recovery_by_user ON recovery_links (user_handle);
