-- FIDO metadata: the attestation root certificates each listed model's metadata statement
-- names (base64url DER), anchors of that model's attestation. Replaced whole by each
-- `passkeyd mds import`.
CREATE TABLE mds_roots (
    aaguid   TEXT NOT NULL,
    position BIGINT NOT NULL,
    cert     TEXT NOT NULL,
    PRIMARY KEY (aaguid, position)
);
