-- FIDO metadata: the latest status of every authenticator model (AAGUID) the last imported MDS3
-- BLOB lists, not only the blocked ones, so that each policy tier can name the statuses it
-- refuses. Replaced whole by each `passkeyd mds import`.
ALTER TABLE mds_blocked RENAME TO mds_status;
