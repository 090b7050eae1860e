//! The `tpm` attestation statement format (WebAuthn L3 §8.3), used by authenticators (chiefly
//! Windows Hello) whose credential key lives in a TPM 2.0.
//!
//! The statement is `{ver: "2.0", alg, x5c: [aikCert, ...], sig, certInfo, pubArea}`: the TPM
//! certified the credential key (`pubArea`, a `TPMT_PUBLIC`) with its attestation identity key
//! (AIK), producing `certInfo` (a `TPMS_ATTEST` whose `extraData` is the hash of
//! `authenticatorData || clientDataHash`) and the signature `sig` over it; an attestation CA
//! certified the AIK (`aikCert`). The result is attestation type AttCA with trust path `x5c`.
//! ECDAA (`ecdaaKeyId`) was removed from WebAuthn Level 3 and is refused.
//!
//! The binary TPM structures are decoded by [`structures`], which never panics on any input.

pub mod structures;

#[cfg(test)]
pub(super) mod test_vectors;

use super::util;
use super::{
    AttestationError, AttestationInput, AttestationOptions, AttestationOutcome, AttestationType,
};
use crate::cbor::Value;
use crate::cose::{CoseAlgorithm, CoseError, CosePublicKey, EcCurve, KeyMaterial, KeyPolicy};
use crate::trust::Certificate;
use aws_lc_rs::digest;
use structures::{
    CertInfo, PubArea, PublicKeyParams, Reader, TPM_ALG_SHA1, TPM_ALG_SHA256, TPM_ALG_SHA384,
    TPM_ALG_SHA512, TPM_ECC_NIST_P256, TPM_ECC_NIST_P384, TPM_ECC_NIST_P521, TPM_GENERATED_VALUE,
    TPM_ST_ATTEST_CERTIFY, TpmParseError,
};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::x509::X509Version;

/// `tcg-kp-AIKCertificate`: the extended key usage an AIK certificate must carry (§8.3.1).
pub const OID_TCG_KP_AIK_CERTIFICATE: &str = "2.23.133.8.3";
/// `tcg-at-tpmManufacturer`: the TPM manufacturer attribute of the AIK certificate's SAN.
pub const OID_TCG_AT_TPM_MANUFACTURER: &str = "2.23.133.2.1";
/// `tcg-at-tpmModel`: the TPM model attribute of the AIK certificate's SAN.
pub const OID_TCG_AT_TPM_MODEL: &str = "2.23.133.2.2";
/// `tcg-at-tpmVersion`: the TPM firmware version attribute of the AIK certificate's SAN.
pub const OID_TCG_AT_TPM_VERSION: &str = "2.23.133.2.3";
/// `id-fido-gen-ce-aaguid`: the certificate extension holding the authenticator's AAGUID.
pub const OID_FIDO_GEN_CE_AAGUID: &str = "1.3.6.1.4.1.45724.1.1.4";

/// The members of a `tpm` attestation statement (§8.3 "Syntax").
struct Statement<'a> {
    alg: CoseAlgorithm,
    x5c: Vec<Certificate>,
    sig: &'a [u8],
    cert_info: &'a [u8],
    pub_area: &'a [u8],
}

/// The TPM that an AIK certificate's Subject Alternative Name names (TCG EK Credential Profile
/// §3.2.9: a directoryName with the TPM manufacturer, model and version attributes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TpmDevice {
    /// The TCG vendor id from `tcg-at-tpmManufacturer` (`id:4E544300` is `0x4E544300`).
    pub manufacturer: u32,
    /// `tcg-at-tpmModel`, e.g. `NPCT75x`.
    pub model: String,
    /// `tcg-at-tpmVersion`, e.g. `id:13`.
    pub version: String,
}

impl TpmDevice {
    /// The vendor's name in the TCG TPM Vendor ID Registry, when known. The FIDO conformance
    /// tool's `FFFFF1D0` is reported as such; it and unknown ids (such as the W3C test vectors'
    /// `00000000`) are not refused: deciding which TPM vendors to trust belongs to the
    /// attestation trust anchors and metadata, not to this check.
    pub fn manufacturer_name(&self) -> Option<&'static str> {
        TPM_VENDORS
            .iter()
            .find(|(id, _)| *id == self.manufacturer)
            .map(|(_, name)| *name)
    }
}

/// Vendor ids of the TCG TPM Vendor ID Registry (four ASCII bytes, zero padded).
const TPM_VENDORS: [(u32, &str); 25] = [
    (0x414D_4400, "AMD"),
    (0x4154_4D4C, "Atmel"),
    (0x4252_434D, "Broadcom"),
    (0x4353_434F, "Cisco"),
    (0x464C_5953, "Flyslice Technologies"),
    (0x524F_4343, "Fuzhou Rockchip"),
    (0x474F_4F47, "Google"),
    (0x4850_4500, "HPE"),
    (0x4849_5349, "Huawei"),
    (0x4942_4D00, "IBM"),
    (0x4946_5800, "Infineon"),
    (0x494E_5443, "Intel"),
    (0x4C45_4E00, "Lenovo"),
    (0x4D53_4654, "Microsoft"),
    (0x4E53_4D20, "National Semiconductor"),
    (0x4E54_5A00, "Nationz"),
    (0x4E54_4300, "Nuvoton Technology"),
    (0x5143_4F4D, "Qualcomm"),
    (0x534D_5343, "SMSC"),
    (0x5354_4D20, "STMicroelectronics"),
    (0x534D_534E, "Samsung"),
    (0x534E_5300, "Sinosun"),
    (0x5458_4E00, "Texas Instruments"),
    (0x5745_4300, "Winbond"),
    (0xFFFF_F1D0, "FIDO Alliance conformance testing"),
];

/// §8.3 verification procedure for the `tpm` format.
///
/// Runs, in the order of the specification: the syntax check (step 1), the pubArea/credential
/// key comparison (step 2), the certInfo checks (steps 3-4: magic, type, extraData, attested
/// Name), and with the AIK certificate (step 5): the signature over certInfo, the §8.3.1
/// certificate requirements and the AAGUID extension. Returns attestation type AttCA with trust
/// path `x5c`; whether that path reaches an acceptable root is decided afterwards (§7.1 step 24).
pub fn verify(
    input: &AttestationInput<'_, '_>,
    options: &AttestationOptions,
) -> Result<AttestationOutcome, AttestationError> {
    let stmt = parse_statement(input.att_stmt, &options.key_policy)?;
    let pub_area = PubArea::parse(stmt.pub_area).map_err(malformed)?;
    check_pub_area_matches_credential(&pub_area, input.credential_public_key)?;
    let att_to_be_signed = util::signed_message(input.auth_data.raw, input.client_data_hash);
    check_cert_info_header(stmt.cert_info)?;
    let cert_info = CertInfo::parse(stmt.cert_info).map_err(malformed)?;
    check_extra_data(&cert_info, stmt.alg, &att_to_be_signed)?;
    check_attested_name(&cert_info, &pub_area)?;

    let aik = stmt.x5c.first().ok_or(AttestationError::Member {
        name: "x5c",
        expected: "a non-empty array of certificates",
    })?;
    verify_cert_info_signature(aik, stmt.alg, stmt.cert_info, stmt.sig, &options.key_policy)?;
    check_aik_certificate(aik)?;
    let aaguid = input
        .auth_data
        .attested_credential_data
        .as_ref()
        .map(|a| a.aaguid)
        .ok_or_else(|| {
            AttestationError::Binding("authenticator data has no attested credential data".into())
        })?;
    check_aik_aaguid(aik, &aaguid)?;
    Ok(AttestationOutcome {
        attestation_type: AttestationType::AttCa,
        trust_path: stmt.x5c,
        components: Vec::new(),
    })
}

fn malformed(e: TpmParseError) -> AttestationError {
    AttestationError::Malformed(e.to_string())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// §8.3 step 1: "Verify that attStmt is valid CBOR conforming to the syntax defined above and
/// perform CBOR decoding on it to extract the contained fields": `ver` is "2.0", `alg` a COSE
/// algorithm (RS1 only when the key policy allows it), `x5c` present (`ecdaaKeyId` is not
/// supported: ECDAA was removed in Level 3), `sig`, `certInfo` and `pubArea` byte strings.
fn parse_statement<'a>(
    att_stmt: &Value<'a>,
    key_policy: &KeyPolicy,
) -> Result<Statement<'a>, AttestationError> {
    if att_stmt.as_map().is_none() {
        return Err(AttestationError::Malformed("attStmt is not a map".into()));
    }
    let ver =
        att_stmt
            .get_text("ver")
            .and_then(Value::as_text)
            .ok_or(AttestationError::Member {
                name: "ver",
                expected: "the text \"2.0\"",
            })?;
    if ver != "2.0" {
        return Err(AttestationError::Malformed(format!(
            "ver is \"{ver}\", expected \"2.0\" (TPM 2.0)"
        )));
    }
    let alg_id = util::int(att_stmt, "alg")?;
    let alg = CoseAlgorithm::from_id(alg_id).ok_or_else(|| {
        AttestationError::AlgorithmMismatch(format!(
            "alg {alg_id} is not a supported COSE algorithm"
        ))
    })?;
    if alg == CoseAlgorithm::Rs1 && !key_policy.allow_rs1 {
        return Err(AttestationError::Key(CoseError::AlgorithmDisabled(alg)));
    }
    if att_stmt.get_text("ecdaaKeyId").is_some() {
        return Err(AttestationError::Malformed(
            "ecdaaKeyId is present: ECDAA attestation was removed from WebAuthn Level 3 and is not supported"
                .into(),
        ));
    }
    let x5c = util::x5c(att_stmt)?.ok_or(AttestationError::Member {
        name: "x5c",
        expected: "present (the AIK certificate chain; ECDAA is not supported)",
    })?;
    Ok(Statement {
        alg,
        x5c,
        sig: util::bytes(att_stmt, "sig")?,
        cert_info: util::bytes(att_stmt, "certInfo")?,
        pub_area: util::bytes(att_stmt, "pubArea")?,
    })
}

fn strip_leading_zeros(mut b: &[u8]) -> &[u8] {
    while let [0, rest @ ..] = b {
        b = rest;
    }
    b
}

/// Left-pads an EC coordinate to the curve's length; `None` when it is longer.
fn padded_coordinate(c: &[u8], len: usize) -> Option<Vec<u8>> {
    let c = strip_leading_zeros(c);
    let pad = len.checked_sub(c.len())?;
    let mut out = vec![0u8; pad];
    out.extend_from_slice(c);
    Some(out)
}

fn key_kind(material: &KeyMaterial) -> &'static str {
    match material {
        KeyMaterial::Ec2 { .. } => "an EC2",
        KeyMaterial::Ed25519(_) => "an Ed25519",
        KeyMaterial::Ed448(_) => "an Ed448",
        KeyMaterial::Rsa { .. } => "an RSA",
        KeyMaterial::MlDsa(_) => "an ML-DSA",
    }
}

fn curve_name(curve: EcCurve) -> &'static str {
    match curve {
        EcCurve::P256 => "P-256",
        EcCurve::P384 => "P-384",
        EcCurve::P521 => "P-521",
    }
}

/// §8.3 step 2: "Verify that the public key specified by the parameters and unique fields of
/// pubArea is identical to the credentialPublicKey in the attestedCredentialData in
/// authenticatorData": for RSA the modulus (`unique`, `keyBits` long) and the exponent (0 meaning
/// 65537); for ECC the curve (`curveID` NIST P-256/384/521) and the point (`unique.x`, `.y`).
fn check_pub_area_matches_credential(
    pub_area: &PubArea<'_>,
    credential: &CosePublicKey,
) -> Result<(), AttestationError> {
    match (&pub_area.params, credential.material()) {
        (
            PublicKeyParams::Rsa {
                key_bits,
                exponent,
                modulus,
                ..
            },
            KeyMaterial::Rsa { n, e },
        ) => {
            if modulus.len().saturating_mul(8) != usize::from(*key_bits) {
                return Err(AttestationError::Malformed(format!(
                    "pubArea keyBits is {key_bits} but unique holds a {}-byte modulus",
                    modulus.len()
                )));
            }
            if strip_leading_zeros(modulus) != strip_leading_zeros(n) {
                return Err(AttestationError::Binding(format!(
                    "pubArea RSA modulus ({} bytes) differs from the credential public key's ({} bytes)",
                    modulus.len(),
                    n.len()
                )));
            }
            let tpm_e = if *exponent == 0 { 65_537 } else { *exponent };
            let tpm_e_bytes = tpm_e.to_be_bytes();
            if strip_leading_zeros(&tpm_e_bytes) != strip_leading_zeros(e) {
                return Err(AttestationError::Binding(format!(
                    "pubArea RSA exponent {tpm_e} differs from the credential public key's (0x{})",
                    hex(e)
                )));
            }
            Ok(())
        }
        (PublicKeyParams::Ecc { curve_id, x, y, .. }, KeyMaterial::Ec2 { curve, point }) => {
            let tpm_curve = match *curve_id {
                TPM_ECC_NIST_P256 => EcCurve::P256,
                TPM_ECC_NIST_P384 => EcCurve::P384,
                TPM_ECC_NIST_P521 => EcCurve::P521,
                other => {
                    return Err(AttestationError::Malformed(format!(
                        "pubArea curveID {other:#06x} is not NIST P-256 (0x0003), P-384 (0x0004) or P-521 (0x0005)"
                    )));
                }
            };
            if tpm_curve != *curve {
                return Err(AttestationError::Binding(format!(
                    "pubArea curve is {} but the credential public key is on {}",
                    curve_name(tpm_curve),
                    curve_name(*curve)
                )));
            }
            let len = curve.coordinate_len();
            let (Some(px), Some(py)) = (padded_coordinate(x, len), padded_coordinate(y, len))
            else {
                return Err(AttestationError::Malformed(format!(
                    "pubArea unique point coordinates ({} and {} bytes) are longer than {} coordinates ({len} bytes)",
                    x.len(),
                    y.len(),
                    curve_name(tpm_curve)
                )));
            };
            let mut expected = Vec::with_capacity(1 + 2 * len);
            expected.push(0x04);
            expected.extend_from_slice(&px);
            expected.extend_from_slice(&py);
            if expected != *point {
                return Err(AttestationError::Binding(
                    "pubArea ECC point (unique.x, unique.y) differs from the credential public key"
                        .into(),
                ));
            }
            Ok(())
        }
        (params, material) => Err(AttestationError::Binding(format!(
            "pubArea holds {} key but the credential public key is {} key",
            match params {
                PublicKeyParams::Rsa { .. } => "an RSA",
                PublicKeyParams::Ecc { .. } => "an ECC",
            },
            key_kind(material)
        ))),
    }
}

/// §8.3 step 4, first two checks on certInfo: "Verify that magic is set to
/// TPM_GENERATED_VALUE" (0xff544347) and "Verify that type is set to TPM_ST_ATTEST_CERTIFY"
/// (0x8017). Done before the full decode so that a wrong value is reported as such.
fn check_cert_info_header(cert_info: &[u8]) -> Result<(), AttestationError> {
    let mut r = Reader::new("certInfo (TPMS_ATTEST)", cert_info);
    let magic = r.u32("magic").map_err(malformed)?;
    if magic != TPM_GENERATED_VALUE {
        return Err(AttestationError::Malformed(format!(
            "certInfo magic is {magic:#010x}, expected TPM_GENERATED_VALUE ({TPM_GENERATED_VALUE:#010x})"
        )));
    }
    let attest_type = r.u16("type").map_err(malformed)?;
    if attest_type != TPM_ST_ATTEST_CERTIFY {
        return Err(AttestationError::Malformed(format!(
            "certInfo type is {attest_type:#06x}, expected TPM_ST_ATTEST_CERTIFY ({TPM_ST_ATTEST_CERTIFY:#06x})"
        )));
    }
    Ok(())
}

/// The hash function of a COSE signature algorithm a TPM can produce, for `extraData`.
fn hash_of_alg(alg: CoseAlgorithm) -> Result<&'static digest::Algorithm, AttestationError> {
    use CoseAlgorithm::*;
    Ok(match alg {
        Rs1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
        Rs256 | Ps256 | Es256 | Esp256 => &digest::SHA256,
        Rs384 | Ps384 | Es384 | Esp384 => &digest::SHA384,
        Rs512 | Ps512 | Es512 | Esp512 => &digest::SHA512,
        other => {
            return Err(AttestationError::AlgorithmMismatch(format!(
                "alg {other} is not an RSA or ECDSA algorithm a TPM signs with"
            )));
        }
    })
}

fn hash_name(h: &'static digest::Algorithm) -> &'static str {
    match h.output_len() {
        20 => "SHA-1",
        32 => "SHA-256",
        48 => "SHA-384",
        _ => "SHA-512",
    }
}

/// §8.3 step 4: "Verify that extraData is set to the hash of attToBeSigned using the hash
/// algorithm employed in "alg"", where attToBeSigned is authenticatorData || clientDataHash
/// (step 3).
fn check_extra_data(
    cert_info: &CertInfo<'_>,
    alg: CoseAlgorithm,
    att_to_be_signed: &[u8],
) -> Result<(), AttestationError> {
    let h = hash_of_alg(alg)?;
    let expected = digest::digest(h, att_to_be_signed);
    if cert_info.extra_data != expected.as_ref() {
        return Err(AttestationError::Binding(format!(
            "certInfo extraData is {} ({} bytes), expected the {} hash of authenticatorData || clientDataHash, {}",
            hex(cert_info.extra_data),
            cert_info.extra_data.len(),
            hash_name(h),
            hex(expected.as_ref())
        )));
    }
    Ok(())
}

/// The hash function a TPM `nameAlg` selects.
fn name_hash(name_alg: u16) -> Option<&'static digest::Algorithm> {
    match name_alg {
        TPM_ALG_SHA1 => Some(&digest::SHA1_FOR_LEGACY_USE_ONLY),
        TPM_ALG_SHA256 => Some(&digest::SHA256),
        TPM_ALG_SHA384 => Some(&digest::SHA384),
        TPM_ALG_SHA512 => Some(&digest::SHA512),
        _ => None,
    }
}

/// §8.3 step 4: "Verify that attested contains a TPMS_CERTIFY_INFO structure ... whose name
/// field contains a valid Name for pubArea, as computed using the algorithm in the nameAlg field
/// of pubArea" (TPM 2.0 Part 1 §16: Name = nameAlg (2 bytes) || H_nameAlg(pubArea)).
/// qualifiedSigner, clockInfo and firmwareVersion are ignored, as the step allows.
fn check_attested_name(
    cert_info: &CertInfo<'_>,
    pub_area: &PubArea<'_>,
) -> Result<(), AttestationError> {
    let h = name_hash(pub_area.name_alg).ok_or_else(|| {
        AttestationError::Malformed(format!(
            "pubArea nameAlg {:#06x} is not SHA-1, SHA-256, SHA-384 or SHA-512",
            pub_area.name_alg
        ))
    })?;
    let mut expected = pub_area.name_alg.to_be_bytes().to_vec();
    expected.extend_from_slice(digest::digest(h, pub_area.raw).as_ref());
    if cert_info.attested_name != expected.as_slice() {
        return Err(AttestationError::Binding(format!(
            "certInfo attested.name is {}, but the Name of pubArea (nameAlg || {}(pubArea)) is {}",
            hex(cert_info.attested_name),
            hash_name(h),
            hex(&expected)
        )));
    }
    Ok(())
}

/// §8.3 step 5: "Verify the sig is a valid signature over certInfo using the attestation public
/// key in aikCert with the algorithm specified in alg."
fn verify_cert_info_signature(
    aik: &Certificate,
    alg: CoseAlgorithm,
    cert_info: &[u8],
    sig: &[u8],
    key_policy: &KeyPolicy,
) -> Result<(), AttestationError> {
    aik.verify_signature(alg, cert_info, sig, key_policy)
        .map_err(|e| match e {
            CoseError::BadSignature => AttestationError::BadSignature,
            other => AttestationError::Key(other),
        })
}

/// The TPM an AIK certificate names in its Subject Alternative Name (for display, audit and
/// relying-party policy on TPM vendors).
pub fn aik_tpm_device(aik: &Certificate) -> Result<TpmDevice, AttestationError> {
    check_aik_subject_alternative_name(&aik.parsed()?)
}

/// §8.3 step 5: "Verify that aikCert meets the requirements in §8.3.1 TPM Attestation Statement
/// Certificate Requirements": version 3, empty subject, the TCG Subject Alternative Name,
/// the tcg-kp-AIKCertificate extended key usage, and basic constraints with CA false.
fn check_aik_certificate(aik: &Certificate) -> Result<TpmDevice, AttestationError> {
    let cert = aik.parsed()?;
    check_aik_version(&cert)?;
    check_aik_subject_empty(&cert)?;
    let device = check_aik_subject_alternative_name(&cert)?;
    check_aik_extended_key_usage(&cert)?;
    check_aik_basic_constraints(&cert)?;
    Ok(device)
}

/// §8.3.1: "Version MUST be set to 3."
fn check_aik_version(cert: &X509Certificate<'_>) -> Result<(), AttestationError> {
    let v = cert.version();
    if v != X509Version::V3 {
        return Err(AttestationError::Certificate(format!(
            "AIK certificate is X.509 version {}, expected 3",
            u64::from(v.0) + 1
        )));
    }
    Ok(())
}

/// §8.3.1: "Subject field MUST be set to empty."
fn check_aik_subject_empty(cert: &X509Certificate<'_>) -> Result<(), AttestationError> {
    if cert.subject().iter_attributes().next().is_some() {
        return Err(AttestationError::Certificate(format!(
            "AIK certificate subject must be empty, found '{}'",
            cert.subject()
        )));
    }
    Ok(())
}

/// Parses the `tcg-at-tpmManufacturer` value `id:XXXXXXXX` (eight hex digits).
fn parse_manufacturer(value: &str) -> Option<u32> {
    let digits = value.strip_prefix("id:")?;
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

/// §8.3.1: "The Subject Alternative Name extension MUST be set as defined in [TPMv2-EK-Profile]
/// section 3.2.9": present, critical (the subject is empty), with a directoryName holding the
/// TPM manufacturer (`id:` and eight hex digits), model and version attributes. The attributes
/// are accepted whether they share one RDN or sit in one RDN each: both encodings are seen in
/// deployed Windows Hello certificates.
fn check_aik_subject_alternative_name(
    cert: &X509Certificate<'_>,
) -> Result<TpmDevice, AttestationError> {
    let san = cert
        .subject_alternative_name()
        .map_err(|e| {
            AttestationError::Certificate(format!(
                "AIK certificate Subject Alternative Name is malformed: {e}"
            ))
        })?
        .ok_or_else(|| {
            AttestationError::Certificate(
                "AIK certificate has no Subject Alternative Name; the TCG profile requires one naming the TPM manufacturer, model and version"
                    .into(),
            )
        })?;
    if !san.critical {
        return Err(AttestationError::Certificate(
            "AIK certificate Subject Alternative Name must be critical (its subject is empty)"
                .into(),
        ));
    }
    let (mut manufacturer, mut model, mut version) = (None, None, None);
    for name in &san.value.general_names {
        let GeneralName::DirectoryName(dn) = name else {
            continue;
        };
        for attr in dn.iter_attributes() {
            let slot = match attr.attr_type().to_id_string().as_str() {
                OID_TCG_AT_TPM_MANUFACTURER => &mut manufacturer,
                OID_TCG_AT_TPM_MODEL => &mut model,
                OID_TCG_AT_TPM_VERSION => &mut version,
                _ => continue,
            };
            let value = attr.as_str().map_err(|_| {
                AttestationError::Certificate(
                    "AIK certificate SAN TPM attribute is not a string".into(),
                )
            })?;
            *slot = Some(value.to_string());
        }
    }
    let missing = |what: &str, oid: &str| {
        AttestationError::Certificate(format!(
            "AIK certificate Subject Alternative Name has no {what} ({oid}) directoryName attribute"
        ))
    };
    let manufacturer_text =
        manufacturer.ok_or_else(|| missing("TPM manufacturer", OID_TCG_AT_TPM_MANUFACTURER))?;
    let manufacturer = parse_manufacturer(&manufacturer_text).ok_or_else(|| {
        AttestationError::Certificate(format!(
            "AIK certificate TPM manufacturer is '{manufacturer_text}', expected 'id:' and eight hex digits"
        ))
    })?;
    let model = model.ok_or_else(|| missing("TPM model", OID_TCG_AT_TPM_MODEL))?;
    let version = version.ok_or_else(|| missing("TPM version", OID_TCG_AT_TPM_VERSION))?;
    Ok(TpmDevice {
        manufacturer,
        model,
        version,
    })
}

/// §8.3.1: "The Extended Key Usage extension MUST contain the OID 2.23.133.8.3".
fn check_aik_extended_key_usage(cert: &X509Certificate<'_>) -> Result<(), AttestationError> {
    let eku = cert
        .extended_key_usage()
        .map_err(|e| {
            AttestationError::Certificate(format!(
                "AIK certificate Extended Key Usage is malformed: {e}"
            ))
        })?
        .ok_or_else(|| {
            AttestationError::Certificate(format!(
                "AIK certificate has no Extended Key Usage extension; it must contain tcg-kp-AIKCertificate ({OID_TCG_KP_AIK_CERTIFICATE})"
            ))
        })?;
    let others: Vec<String> = eku.value.other.iter().map(|o| o.to_id_string()).collect();
    if !others.iter().any(|o| o == OID_TCG_KP_AIK_CERTIFICATE) {
        return Err(AttestationError::Certificate(format!(
            "AIK certificate Extended Key Usage does not contain tcg-kp-AIKCertificate ({OID_TCG_KP_AIK_CERTIFICATE}); found [{}]",
            others.join(", ")
        )));
    }
    Ok(())
}

/// §8.3.1: "The Basic Constraints extension MUST have the CA component set to false."
fn check_aik_basic_constraints(cert: &X509Certificate<'_>) -> Result<(), AttestationError> {
    match cert.basic_constraints() {
        Ok(Some(bc)) if !bc.value.ca => Ok(()),
        Ok(Some(_)) => Err(AttestationError::Certificate(
            "AIK certificate Basic Constraints has CA true, expected false".into(),
        )),
        Ok(None) => Err(AttestationError::Certificate(
            "AIK certificate has no (well-formed) Basic Constraints extension; it must be present with CA false"
                .into(),
        )),
        Err(e) => Err(AttestationError::Certificate(format!(
            "AIK certificate Basic Constraints is malformed: {e}"
        ))),
    }
}

/// §8.3 step 5: "If aikCert contains an extension with OID 1.3.6.1.4.1.45724.1.1.4
/// (id-fido-gen-ce-aaguid) verify that the value of this extension matches the aaguid in
/// authenticatorData." The extension value is an OCTET STRING of 16 bytes.
fn check_aik_aaguid(aik: &Certificate, aaguid: &[u8; 16]) -> Result<(), AttestationError> {
    let cert = aik.parsed()?;
    let mut found = cert
        .extensions()
        .iter()
        .filter(|e| e.oid.to_id_string() == OID_FIDO_GEN_CE_AAGUID);
    let Some(ext) = found.next() else {
        return Ok(());
    };
    if found.next().is_some() {
        return Err(AttestationError::Certificate(
            "AIK certificate has the AAGUID extension twice".into(),
        ));
    }
    let value = match ext.value {
        [0x04, 0x10, rest @ ..] if rest.len() == 16 => rest,
        other => {
            return Err(AttestationError::Certificate(format!(
                "AIK certificate AAGUID extension must be an OCTET STRING of 16 bytes, found {}",
                hex(other)
            )));
        }
    };
    if value != aaguid {
        return Err(AttestationError::Binding(format!(
            "AIK certificate AAGUID extension is {}, but authenticator data has AAGUID {}",
            hex(value),
            hex(aaguid)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
