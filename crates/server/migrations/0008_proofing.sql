-- Identity proofing recorded by an administrator: the assurance of who the account belongs to
-- (NIST SP 800-63A IAL), how it was established and by whom. The evidence itself is not kept,
-- only a reference to where the organisation keeps it.
CREATE TABLE proofing_records (
    id           TEXT PRIMARY KEY,  -- random, base64url
    user_handle  TEXT NOT NULL REFERENCES users (handle) ON DELETE CASCADE,
    ial          BIGINT NOT NULL,   -- 1, 2 or 3
    method       TEXT NOT NULL,     -- e.g. in_person_document_check, remote_supervised
    evidence_ref TEXT NOT NULL,     -- a reference, never the document
    verified_by  TEXT NOT NULL,
    verified_at  BIGINT NOT NULL
);
CREATE INDEX proofing_by_user ON proofing_records (user_handle);
