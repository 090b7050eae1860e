//! FIDO Metadata Service (MDS3) BLOB payloads for tests.
//!
//! [`blob_payload`] builds a `MetadataBLOBPayload` JSON object (`legalHeader`, `no`,
//! `nextUpdate`, `entries`) from [`MdsEntry`] values; sign it with
//! [`crate::AttestationCert::sign_jwt`] (for example using [`crate::TestPki::mds_signer`]) to get
//! the compact-JWS BLOB a relying party downloads.

use base64::Engine as _;
use serde_json::{Value, json};

/// Formats a 16-byte AAGUID as the lower-case, hyphenated UUID string MDS uses.
pub fn aaguid_string(a: &[u8; 16]) -> String {
    let hex: String = a.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// One `MetadataBLOBPayloadEntry` for a FIDO2 authenticator model.
#[derive(Clone, Debug)]
pub struct MdsEntry {
    /// The model's AAGUID.
    pub aaguid: [u8; 16],
    /// `metadataStatement.description`.
    pub description: String,
    /// `metadataStatement.attestationRootCertificates` (DER; emitted as standard base64).
    pub attestation_root_certificates: Vec<Vec<u8>>,
    /// `metadataStatement.attestationTypes`, e.g. `["basic_full"]`.
    pub attestation_types: Vec<String>,
    /// `statusReports[].status` values, oldest first (e.g. `"FIDO_CERTIFIED_L1"`,
    /// `"REVOKED"`, `"ATTESTATION_KEY_COMPROMISE"`).
    pub statuses: Vec<String>,
    /// `effectiveDate` of every status report and `timeOfLastStatusChange` (`YYYY-MM-DD`).
    pub effective_date: String,
}

impl MdsEntry {
    /// A `FIDO_CERTIFIED_L1` fido2 model trusting `roots`, with `basic_full` attestation.
    pub fn new(aaguid: [u8; 16], roots: Vec<Vec<u8>>) -> Self {
        MdsEntry {
            aaguid,
            description: "passkeyd Test Authenticator".to_owned(),
            attestation_root_certificates: roots,
            attestation_types: vec!["basic_full".to_owned()],
            statuses: vec!["FIDO_CERTIFIED_L1".to_owned()],
            effective_date: "2024-01-01".to_owned(),
        }
    }

    /// Appends a status report (e.g. `"REVOKED"`).
    pub fn with_status(mut self, status: &str) -> Self {
        self.statuses.push(status.to_owned());
        self
    }

    /// The entry as JSON.
    pub fn to_json(&self) -> Value {
        let aaguid = aaguid_string(&self.aaguid);
        let roots: Vec<String> = self
            .attestation_root_certificates
            .iter()
            .map(|c| base64::engine::general_purpose::STANDARD.encode(c))
            .collect();
        let reports: Vec<Value> = self
            .statuses
            .iter()
            .map(|s| json!({ "status": s, "effectiveDate": self.effective_date }))
            .collect();
        json!({
            "aaguid": aaguid,
            "metadataStatement": {
                "legalHeader": "Test metadata, not for production use.",
                "aaguid": aaguid,
                "description": self.description,
                "authenticatorVersion": 1,
                "protocolFamily": "fido2",
                "schema": 3,
                "upv": [{ "major": 1, "minor": 1 }],
                "authenticationAlgorithms": ["secp256r1_ecdsa_sha256_raw"],
                "publicKeyAlgAndEncodings": ["cose"],
                "attestationTypes": self.attestation_types,
                "userVerificationDetails": [[{ "userVerificationMethod": "presence_internal" }]],
                "keyProtection": ["hardware", "secure_element"],
                "matcherProtection": ["on_chip"],
                "attachmentHint": ["external", "wired"],
                "tcDisplay": [],
                "attestationRootCertificates": roots,
            },
            "statusReports": reports,
            "timeOfLastStatusChange": self.effective_date,
        })
    }
}

/// A `MetadataBLOBPayload` with serial number `no`, `nextUpdate` (`YYYY-MM-DD`) and entries.
pub fn blob_payload(no: u64, next_update: &str, entries: &[MdsEntry]) -> Value {
    json!({
        "legalHeader": "Test metadata BLOB, not for production use.",
        "no": no,
        "nextUpdate": next_update,
        "entries": entries.iter().map(MdsEntry::to_json).collect::<Vec<_>>(),
    })
}
