-- Tamper-evident audit log: every security event, chained by SHA-256 (each event's hash covers
-- its fields and the previous event's hash), with signed checkpoints. `audit_head` holds the
-- last sequence number and hash; appends lock its one row, so sequence numbers have no gaps and
-- no two instances chain onto the same event.
CREATE TABLE audit_head (
    id   BIGINT PRIMARY KEY,
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_events (
    seq           BIGINT PRIMARY KEY,
    at            BIGINT NOT NULL,   -- Unix seconds
    actor         TEXT NOT NULL,     -- who did it: user:<handle>, admin:<name>, system, anonymous
    subject       TEXT,              -- whom it concerns: user:<handle>
    event         TEXT NOT NULL,     -- sign_in, sign_up, passkey_added, step_up, ...
    outcome       TEXT NOT NULL,     -- success, failure, refused
    credential_id TEXT,              -- base64url
    aaguid        TEXT,
    counter       BIGINT,
    origin        TEXT,
    client_addr   TEXT,
    details       TEXT NOT NULL,     -- JSON object (the precise reason of a failure, ...)
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);

CREATE TABLE audit_checkpoints (
    seq       BIGINT PRIMARY KEY,
    hash      TEXT NOT NULL,
    key_id    TEXT NOT NULL,         -- which audit key signed (SHA-256 of its public key, hex prefix)
    signature TEXT NOT NULL,         -- base64url Ed25519 signature
    at        BIGINT NOT NULL
);
