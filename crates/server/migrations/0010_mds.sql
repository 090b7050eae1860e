-- FIDO metadata: the authenticator models (AAGUIDs) whose latest status in the last imported
-- MDS3 BLOB blocks them. Replaced whole by each `passkeyd mds import`.
CREATE TABLE mds_blocked (
    aaguid     TEXT PRIMARY KEY,
    status     TEXT NOT NULL,
    blob_no    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
