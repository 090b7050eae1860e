-- Assurance: the tier an account requires (or its group's), each session's assurance level
-- with the reasons for it, and step-up elevations bound to a session and an action.
ALTER TABLE users ADD COLUMN required_tier TEXT;   -- NULL: the group's tier, else the policy default
ALTER TABLE users ADD COLUMN group_name TEXT;      -- NULL: no group

ALTER TABLE sessions ADD COLUMN aal BIGINT NOT NULL DEFAULT 1;          -- NIST SP 800-63B AAL 1-3
ALTER TABLE sessions ADD COLUMN tier TEXT;                              -- highest policy tier the sign-in met
ALTER TABLE sessions ADD COLUMN assurance_reasons TEXT NOT NULL DEFAULT '[]'; -- JSON array of reason codes

CREATE TABLE elevations (
    session_hash  TEXT NOT NULL REFERENCES sessions (id_hash) ON DELETE CASCADE,
    action        TEXT NOT NULL,
    aal           BIGINT NOT NULL,
    credential_id TEXT NOT NULL,
    granted_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    PRIMARY KEY (session_hash, action)
);
