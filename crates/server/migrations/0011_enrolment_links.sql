-- Enrolment links: the same single-use links as recovery, for the first passkey of an account
-- whose tier requires a proven identity (the administrator creates the account and proofs it).
ALTER TABLE recovery_links ADD COLUMN purpose TEXT NOT NULL DEFAULT 'recovery';  -- recovery, enrolment
