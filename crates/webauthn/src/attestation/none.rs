//! The `none` attestation statement format (§8.7): `attStmt` is an empty map.

use super::{
    AttestationError, AttestationInput, AttestationOptions, AttestationOutcome, AttestationType,
};

/// §8.7 verification procedure: return implementation-specific values representing attestation
/// type None and an empty trust path. A non-empty statement is refused: it is not `none`.
pub fn verify(
    input: &AttestationInput<'_, '_>,
    _options: &AttestationOptions,
) -> Result<AttestationOutcome, AttestationError> {
    match input.att_stmt.as_map() {
        Some([]) => Ok(AttestationOutcome::without_path(AttestationType::None)),
        Some(_) => Err(AttestationError::Malformed(
            "attStmt of format none must be an empty map".into(),
        )),
        None => Err(AttestationError::Malformed("attStmt is not a map".into())),
    }
}
