//! The `android_key` attestation statement format. (Being written: refuses every statement until then.)

use super::{AttestationError, AttestationInput, AttestationOptions, AttestationOutcome};

/// Verification procedure (not yet implemented: refuses).
pub fn verify(
    _input: &AttestationInput<'_, '_>,
    _options: &AttestationOptions,
) -> Result<AttestationOutcome, AttestationError> {
    Err(AttestationError::Malformed(
        "format not implemented yet".into(),
    ))
}
