-- Secrets every instance must share (the fake-credential secret, later the token signing
-- keys): written once by whichever instance starts first, read by all. base64url values.
CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
