-- Keep the registration's attestation object and client data (WebAuthn L3 credential record:
-- `attestationObject` and `attestationClientDataJSON`) so attestation can be re-verified later,
-- e.g. against newer FIDO metadata. base64url; NULL for rows from before this migration.
ALTER TABLE credentials ADD COLUMN attestation_object TEXT;
ALTER TABLE credentials ADD COLUMN attestation_client_data_json TEXT;
