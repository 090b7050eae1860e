-- Continuous authentication: per-user behavioural templates (feature statistics only, never raw
-- events or typed characters) and each session's trust state.
CREATE TABLE behavior_templates (
    user_handle TEXT PRIMARY KEY REFERENCES users (handle) ON DELETE CASCADE,
    template    TEXT NOT NULL,    -- JSON: per-digraph timing statistics under a keyed hash, calibration
    updated_at  BIGINT NOT NULL
);

ALTER TABLE sessions ADD COLUMN risk_state TEXT;  -- JSON: trust, last explanation, recent values
