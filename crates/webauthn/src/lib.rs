//! WebAuthn verification core.
