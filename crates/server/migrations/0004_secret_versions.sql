-- A version on each shared secret, for compare-and-set replacement (the token signing keys
-- are rotated by whichever instance finds them due; the others adopt the new version).
ALTER TABLE secrets ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
