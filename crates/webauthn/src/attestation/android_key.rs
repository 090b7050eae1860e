//! The `android-key` attestation statement format (WebAuthn L3 §8.4): `{alg, sig, x5c}`, where
//! `x5c[0]` is the Android Keystore attestation certificate of the credential key itself. Its
//! key description extension (1.3.6.1.4.1.11129.2.1.17) says where the key lives and how it may
//! be used; the relying party checks that the key was generated (not imported) inside the
//! keystore, is a signing key, and is scoped to this application.

use super::packed::{hex, signature_error, statement_algorithm};
use super::util;
use super::{
    AttestationError, AttestationInput, AttestationOptions, AttestationOutcome, AttestationType,
};
use crate::trust::Certificate;
use x509_parser::der_parser::asn1_rs::{Class, Tag};

/// OID of the Android key attestation extension (KeyDescription).
pub const OID_KEY_DESCRIPTION: &str = "1.3.6.1.4.1.11129.2.1.17";

/// `Tag::purpose` in an AuthorizationList: `[1] EXPLICIT SET OF INTEGER`.
const TAG_PURPOSE: u32 = 1;
/// `Tag::allApplications`: `[600] EXPLICIT NULL`.
const TAG_ALL_APPLICATIONS: u32 = 600;
/// `Tag::origin`: `[702] EXPLICIT INTEGER`.
const TAG_ORIGIN: u32 = 702;
/// KM_ORIGIN_GENERATED: the key was generated inside the keystore.
pub const KM_ORIGIN_GENERATED: i64 = 0;
/// KM_PURPOSE_SIGN: the key may sign.
pub const KM_PURPOSE_SIGN: i64 = 2;

/// §8.4 verification procedure.
///
/// Step 1: `attStmt` is a map with `alg`, `sig` and `x5c`. Step 2: `sig` verifies over
/// `authenticatorData || clientDataHash` with the public key of `x5c[0]` and `alg`. Step 3: that
/// public key equals the credential public key (`check_public_key`). Steps 4-5: the key
/// description's attestationChallenge equals clientDataHash, and its authorization lists meet
/// the requirements ([`check_key_description`]). Step 6: return attestation type Basic and
/// trust path `x5c`.
pub fn verify(
    input: &AttestationInput<'_, '_>,
    options: &AttestationOptions,
) -> Result<AttestationOutcome, AttestationError> {
    let stmt = input.att_stmt;
    if stmt.as_map().is_none() {
        return Err(AttestationError::Malformed(format!(
            "android-key attStmt must be a map, found a {}",
            stmt.type_name()
        )));
    }
    let alg = statement_algorithm(util::int(stmt, "alg")?)?;
    let sig = util::bytes(stmt, "sig")?;
    let x5c = util::x5c(stmt)?.ok_or(AttestationError::Member {
        name: "x5c",
        expected: "an array of certificates (the attestation certificate first)",
    })?;
    let leaf = x5c.first().ok_or(AttestationError::Member {
        name: "x5c",
        expected: "a non-empty array of certificates",
    })?;
    let message = util::signed_message(input.auth_data.raw, input.client_data_hash);
    leaf.verify_signature(alg, &message, sig, &options.key_policy)
        .map_err(signature_error)?;
    check_public_key(leaf, input)?;
    let extension = key_description_extension(leaf)?;
    let description = KeyDescription::parse(&extension)?;
    check_key_description(&description, input.client_data_hash, options)?;
    Ok(AttestationOutcome {
        attestation_type: AttestationType::Basic,
        trust_path: x5c,
        components: Vec::new(),
    })
}

/// §8.4 step 3: the public key of the first certificate in `x5c` must be the credential public
/// key of the attested credential data.
fn check_public_key(
    leaf: &Certificate,
    input: &AttestationInput<'_, '_>,
) -> Result<(), AttestationError> {
    let cert_key = leaf.key_material().map_err(AttestationError::Key)?;
    if &cert_key != input.credential_public_key.material() {
        return Err(AttestationError::Binding(
            "the attestation certificate's public key differs from the credential public key"
                .into(),
        ));
    }
    Ok(())
}

/// The value of the key description extension of the attestation certificate (§8.4 steps 4
/// and 5 need it); it must appear exactly once.
fn key_description_extension(leaf: &Certificate) -> Result<Vec<u8>, AttestationError> {
    let cert = leaf.parsed()?;
    let mut found = cert
        .extensions()
        .iter()
        .filter(|e| e.oid.to_id_string() == OID_KEY_DESCRIPTION);
    let ext = found.next().ok_or_else(|| {
        AttestationError::Certificate(format!(
            "the attestation certificate has no key description extension ({OID_KEY_DESCRIPTION})"
        ))
    })?;
    if found.next().is_some() {
        return Err(AttestationError::Certificate(
            "the key description extension appears more than once".into(),
        ));
    }
    Ok(ext.value.to_vec())
}

/// The parts of the Android KeyDescription (key attestation schema, versions 1 to 400) this
/// verifier reads:
///
/// ```text
/// KeyDescription ::= SEQUENCE {
///     attestationVersion, attestationSecurityLevel, keymasterVersion, keymasterSecurityLevel,
///     attestationChallenge OCTET STRING, uniqueId OCTET STRING,
///     softwareEnforced AuthorizationList, teeEnforced AuthorizationList, ... }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyDescription {
    /// attestationVersion.
    pub attestation_version: i64,
    /// attestationSecurityLevel (0 Software, 1 TrustedEnvironment, 2 StrongBox).
    pub attestation_security_level: i64,
    /// keymasterVersion / keyMintVersion.
    pub keymaster_version: i64,
    /// keymasterSecurityLevel.
    pub keymaster_security_level: i64,
    /// attestationChallenge.
    pub attestation_challenge: Vec<u8>,
    /// softwareEnforced.
    pub software_enforced: AuthorizationList,
    /// teeEnforced (hardwareEnforced in newer schemas).
    pub tee_enforced: AuthorizationList,
}

/// The members of an AuthorizationList the §8.4 checks use; the others are skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizationList {
    /// `purpose [1] SET OF INTEGER`, when present.
    pub purpose: Option<Vec<i64>>,
    /// Whether `allApplications [600]` is present.
    pub all_applications: bool,
    /// `origin [702] INTEGER`, when present.
    pub origin: Option<i64>,
}

fn malformed(what: impl std::fmt::Display) -> AttestationError {
    AttestationError::Certificate(format!("key description extension is malformed: {what}"))
}

impl KeyDescription {
    /// Parses the DER KeyDescription (the extension value). Every length, tag and integer is
    /// checked; nothing here can panic on hostile input.
    pub fn parse(der_bytes: &[u8]) -> Result<Self, AttestationError> {
        let seq = der::parse_exactly_one(der_bytes).map_err(malformed)?;
        if !der::is_universal(&seq, Tag::Sequence) {
            return Err(malformed("expected a SEQUENCE"));
        }
        let mut fields = der::elements(seq.data);
        let mut next = |name: &str| {
            fields
                .next()
                .unwrap_or_else(|| Err(format!("missing {name}")))
                .map_err(malformed)
        };
        let attestation_version = der::integer(&next("attestationVersion")?).map_err(malformed)?;
        let attestation_security_level =
            der::enumerated(&next("attestationSecurityLevel")?).map_err(malformed)?;
        let keymaster_version = der::integer(&next("keymasterVersion")?).map_err(malformed)?;
        let keymaster_security_level =
            der::enumerated(&next("keymasterSecurityLevel")?).map_err(malformed)?;
        let challenge = next("attestationChallenge")?;
        if !der::is_universal(&challenge, Tag::OctetString) {
            return Err(malformed("attestationChallenge is not an OCTET STRING"));
        }
        let unique_id = next("uniqueId")?;
        if !der::is_universal(&unique_id, Tag::OctetString) {
            return Err(malformed("uniqueId is not an OCTET STRING"));
        }
        let software_enforced = AuthorizationList::parse(&next("softwareEnforced")?)?;
        let tee_enforced = AuthorizationList::parse(&next("teeEnforced")?)?;
        // Later schema versions may append members; ASN.1 extensibility lets us skip them, but
        // they must still be well-formed DER.
        for extra in fields {
            extra.map_err(malformed)?;
        }
        Ok(Self {
            attestation_version,
            attestation_security_level,
            keymaster_version,
            keymaster_security_level,
            attestation_challenge: challenge.data.to_vec(),
            software_enforced,
            tee_enforced,
        })
    }
}

impl AuthorizationList {
    /// Parses an AuthorizationList SEQUENCE of EXPLICIT context-specific members (tags above 30,
    /// such as allApplications [600] and origin [702], use the long tag form). A member the
    /// checks read may not appear twice.
    fn parse(any: &der::Any<'_>) -> Result<Self, AttestationError> {
        if !der::is_universal(any, Tag::Sequence) {
            return Err(malformed("an AuthorizationList is not a SEQUENCE"));
        }
        let mut list = Self::default();
        let mut seen_all_applications = false;
        for member in der::elements(any.data) {
            let member = member.map_err(malformed)?;
            if member.class() != Class::ContextSpecific || !member.header.is_constructed() {
                return Err(malformed(
                    "an AuthorizationList member is not an EXPLICIT context-specific tag",
                ));
            }
            match member.tag().0 {
                TAG_PURPOSE => {
                    if list.purpose.is_some() {
                        return Err(malformed("purpose [1] appears twice"));
                    }
                    list.purpose = Some(parse_purpose(&member)?);
                }
                TAG_ALL_APPLICATIONS => {
                    if seen_all_applications {
                        return Err(malformed("allApplications [600] appears twice"));
                    }
                    seen_all_applications = true;
                    list.all_applications = true;
                }
                TAG_ORIGIN => {
                    if list.origin.is_some() {
                        return Err(malformed("origin [702] appears twice"));
                    }
                    let inner = der::parse_exactly_one(member.data).map_err(malformed)?;
                    list.origin = Some(der::integer(&inner).map_err(malformed)?);
                }
                _ => {}
            }
        }
        Ok(list)
    }
}

/// `purpose [1] EXPLICIT SET OF INTEGER`.
fn parse_purpose(member: &der::Any<'_>) -> Result<Vec<i64>, AttestationError> {
    let set = der::parse_exactly_one(member.data).map_err(malformed)?;
    if !der::is_universal(&set, Tag::Set) {
        return Err(malformed("purpose [1] does not hold a SET"));
    }
    der::elements(set.data)
        .map(|e| {
            let e = e.map_err(malformed)?;
            der::integer(&e).map_err(malformed)
        })
        .collect()
}

/// §8.4 steps 4 and 5, the key description checks:
///
/// - step 4: attestationChallenge is identical to clientDataHash (`check_challenge`);
/// - step 5: allApplications is present in neither authorization list, because the credential
///   must be scoped to the RP ID (`check_all_applications_absent`);
/// - step 5: origin is KM_ORIGIN_GENERATED and purpose contains KM_PURPOSE_SIGN, read from
///   teeEnforced alone when the relying party accepts only keys held in a trusted execution
///   environment ([`AttestationOptions::android_key_require_hardware`]), otherwise from the
///   union of teeEnforced and softwareEnforced (`check_origin`, `check_purpose`).
pub fn check_key_description(
    description: &KeyDescription,
    client_data_hash: &[u8; 32],
    options: &AttestationOptions,
) -> Result<(), AttestationError> {
    check_challenge(description, client_data_hash)?;
    check_all_applications_absent(description)?;
    check_origin(description, options.android_key_require_hardware)?;
    check_purpose(description, options.android_key_require_hardware)
}

/// §8.4 step 4: attestationChallenge is identical to clientDataHash.
fn check_challenge(
    description: &KeyDescription,
    client_data_hash: &[u8; 32],
) -> Result<(), AttestationError> {
    if description.attestation_challenge != client_data_hash {
        return Err(AttestationError::Binding(format!(
            "key description attestationChallenge {} is not clientDataHash {}",
            hex(&description.attestation_challenge),
            hex(client_data_hash)
        )));
    }
    Ok(())
}

/// §8.4 step 5: allApplications [600] is absent from both authorization lists.
fn check_all_applications_absent(description: &KeyDescription) -> Result<(), AttestationError> {
    for (name, list) in [
        ("softwareEnforced", &description.software_enforced),
        ("teeEnforced", &description.tee_enforced),
    ] {
        if list.all_applications {
            return Err(AttestationError::Binding(format!(
                "key description {name} has allApplications: the key is not scoped to the RP ID"
            )));
        }
    }
    Ok(())
}

/// §8.4 step 5: origin is KM_ORIGIN_GENERATED.
///
/// With `require_hardware`, teeEnforced must carry origin GENERATED. Otherwise every origin in
/// the union of both lists must be GENERATED; when neither list carries an origin the check
/// passes, as the W3C WebAuthn test vector (whose authorization lists are empty) requires.
/// Real Keystore certificates always carry origin, and a certificate is only as good as the
/// trust anchor it chains to.
fn check_origin(
    description: &KeyDescription,
    require_hardware: bool,
) -> Result<(), AttestationError> {
    let tee = description.tee_enforced.origin;
    let sw = description.software_enforced.origin;
    if require_hardware {
        return match tee {
            Some(KM_ORIGIN_GENERATED) => Ok(()),
            Some(other) => Err(origin_error(other)),
            None if sw.is_some() => Err(AttestationError::Policy(
                "key origin is only software-enforced, and a hardware-backed key is required"
                    .into(),
            )),
            None => Err(AttestationError::Policy(format!(
                "teeEnforced has no origin; a hardware-generated key (KM_ORIGIN_GENERATED, \
                 {KM_ORIGIN_GENERATED}) is required"
            ))),
        };
    }
    match tee
        .into_iter()
        .chain(sw)
        .find(|&o| o != KM_ORIGIN_GENERATED)
    {
        Some(other) => Err(origin_error(other)),
        None => Ok(()),
    }
}

fn origin_error(found: i64) -> AttestationError {
    AttestationError::Certificate(format!(
        "key description origin is {found}, expected KM_ORIGIN_GENERATED ({KM_ORIGIN_GENERATED})"
    ))
}

/// §8.4 step 5: purpose contains KM_PURPOSE_SIGN.
///
/// With `require_hardware`, teeEnforced must carry it. Otherwise the union of both lists must
/// contain it whenever either list carries a purpose; when neither does, the check passes (the
/// W3C test vector case, as for `check_origin`).
fn check_purpose(
    description: &KeyDescription,
    require_hardware: bool,
) -> Result<(), AttestationError> {
    let tee = description.tee_enforced.purpose.as_deref();
    let sw = description.software_enforced.purpose.as_deref();
    if tee.is_some_and(|p| p.contains(&KM_PURPOSE_SIGN)) {
        return Ok(());
    }
    if require_hardware {
        return Err(if sw.is_some_and(|p| p.contains(&KM_PURPOSE_SIGN)) {
            AttestationError::Policy(
                "key purpose SIGN is only software-enforced, and a hardware-backed key is required"
                    .into(),
            )
        } else {
            AttestationError::Policy(format!(
                "teeEnforced purpose is {:?}, which lacks KM_PURPOSE_SIGN ({KM_PURPOSE_SIGN}); a \
                 hardware-backed signing key is required",
                tee.unwrap_or(&[])
            ))
        });
    }
    match (tee, sw) {
        (None, None) => Ok(()),
        (_, Some(p)) if p.contains(&KM_PURPOSE_SIGN) => Ok(()),
        _ => {
            let found: Vec<i64> = tee.into_iter().chain(sw).flatten().copied().collect();
            Err(AttestationError::Certificate(format!(
                "key description purpose is {found:?}, which lacks KM_PURPOSE_SIGN \
                 ({KM_PURPOSE_SIGN})"
            )))
        }
    }
}

/// Small, panic-free DER helpers over the asn1-rs that x509-parser re-exports.
pub(crate) mod der {
    pub(crate) use x509_parser::der_parser::asn1_rs::Any;
    use x509_parser::der_parser::asn1_rs::{Class, FromDer, Tag};

    /// Parses one DER element at the start of `input`; returns it and what follows.
    pub(crate) fn next(input: &[u8]) -> Result<(Any<'_>, &[u8]), String> {
        match Any::from_der(input) {
            Ok((rest, any)) => Ok((any, rest)),
            Err(e) => Err(format!("invalid DER: {e}")),
        }
    }

    /// Parses a DER element that must fill `input`.
    pub(crate) fn parse_exactly_one(input: &[u8]) -> Result<Any<'_>, String> {
        let (any, rest) = next(input)?;
        if !rest.is_empty() {
            return Err(format!("{} bytes after the DER element", rest.len()));
        }
        Ok(any)
    }

    /// The elements of a constructed value's contents, in order; after an error the iterator
    /// ends.
    pub(crate) fn elements(mut contents: &[u8]) -> impl Iterator<Item = Result<Any<'_>, String>> {
        let mut failed = false;
        std::iter::from_fn(move || {
            if failed || contents.is_empty() {
                return None;
            }
            match next(contents) {
                Ok((any, rest)) => {
                    contents = rest;
                    Some(Ok(any))
                }
                Err(e) => {
                    failed = true;
                    Some(Err(e))
                }
            }
        })
    }

    /// Whether `any` is the universal type `tag`, constructed exactly when the type is
    /// (SEQUENCE and SET are constructed; everything else here is primitive).
    pub(crate) fn is_universal(any: &Any<'_>, tag: Tag) -> bool {
        let constructed = matches!(tag, Tag::Sequence | Tag::Set);
        any.class() == Class::Universal
            && any.tag() == tag
            && any.header.is_constructed() == constructed
    }

    /// A universal INTEGER that fits an `i64`.
    pub(crate) fn integer(any: &Any<'_>) -> Result<i64, String> {
        if !is_universal(any, Tag::Integer) {
            return Err(format!("expected an INTEGER, found tag {}", any.tag().0));
        }
        twos_complement(any.data)
    }

    /// A universal ENUMERATED that fits an `i64`.
    pub(crate) fn enumerated(any: &Any<'_>) -> Result<i64, String> {
        if !is_universal(any, Tag::Enumerated) {
            return Err(format!("expected an ENUMERATED, found tag {}", any.tag().0));
        }
        twos_complement(any.data)
    }

    /// Decodes minimal big-endian two's complement content octets (X.690 §8.3) of 1 to 8 bytes.
    fn twos_complement(content: &[u8]) -> Result<i64, String> {
        match content {
            [] => return Err("an INTEGER has no content octets".into()),
            [0x00, b, ..] if b & 0x80 == 0 => {
                return Err("an INTEGER is not minimally encoded".into());
            }
            [0xff, b, ..] if b & 0x80 != 0 => {
                return Err("an INTEGER is not minimally encoded".into());
            }
            _ if content.len() > 8 => {
                return Err(format!(
                    "an INTEGER of {} bytes is too large",
                    content.len()
                ));
            }
            _ => {}
        }
        let negative = content.first().is_some_and(|b| b & 0x80 != 0);
        let mut value: i64 = if negative { -1 } else { 0 };
        for &b in content {
            value = (value << 8) | i64::from(b);
        }
        Ok(value)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn integers() {
            let int = |bytes: &[u8]| integer(&parse_exactly_one(bytes).unwrap());
            assert_eq!(int(&[0x02, 0x01, 0x00]), Ok(0));
            assert_eq!(int(&[0x02, 0x01, 0x7f]), Ok(127));
            assert_eq!(int(&[0x02, 0x02, 0x00, 0x80]), Ok(128));
            assert_eq!(int(&[0x02, 0x01, 0xff]), Ok(-1));
            assert_eq!(int(&[0x02, 0x02, 0xff, 0x7f]), Ok(-129));
            assert_eq!(
                int(&[0x02, 0x08, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
                Ok(i64::MAX)
            );
            assert!(int(&[0x02, 0x09, 0, 0x80, 0, 0, 0, 0, 0, 0, 0]).is_err());
            assert!(int(&[0x02, 0x00]).is_err());
            assert!(int(&[0x02, 0x02, 0x00, 0x01]).is_err());
            assert!(int(&[0x02, 0x02, 0xff, 0x80]).is_err());
            assert!(int(&[0x0a, 0x01, 0x01]).is_err());
            assert!(parse_exactly_one(&[0x02, 0x01, 0x00, 0x00]).is_err());
            assert!(parse_exactly_one(&[0x02, 0x05, 0x00]).is_err());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attestation::test_support::{
        flip_last_bit, load_registration_vector, registration_vectors_with_fmt, verify_parts,
        with_member, without_member,
    };
    use crate::cbor::Value;

    // A tiny DER writer for synthesised key descriptions.
    fn tlv(tag: &[u8], content: &[u8]) -> Vec<u8> {
        let mut out = tag.to_vec();
        let n = content.len();
        if n < 128 {
            out.push(n as u8);
        } else if n < 256 {
            out.extend_from_slice(&[0x81, n as u8]);
        } else {
            out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
        }
        out.extend_from_slice(content);
        out
    }
    fn int(v: u8) -> Vec<u8> {
        tlv(&[0x02], &[v])
    }
    fn enumerated(v: u8) -> Vec<u8> {
        tlv(&[0x0a], &[v])
    }
    /// `[1] EXPLICIT SET OF INTEGER`.
    fn purpose(values: &[u8]) -> Vec<u8> {
        let set: Vec<u8> = values.iter().flat_map(|&v| int(v)).collect();
        tlv(&[0xa1], &tlv(&[0x31], &set))
    }
    /// `[600] EXPLICIT NULL` (long-form tag bf 84 58).
    fn all_applications() -> Vec<u8> {
        tlv(&[0xbf, 0x84, 0x58], &[0x05, 0x00])
    }
    /// `[702] EXPLICIT INTEGER` (long-form tag bf 85 3e).
    fn origin(v: u8) -> Vec<u8> {
        tlv(&[0xbf, 0x85, 0x3e], &int(v))
    }
    fn list(members: &[Vec<u8>]) -> Vec<u8> {
        tlv(&[0x30], &members.concat())
    }
    fn description(challenge: &[u8], sw: Vec<u8>, tee: Vec<u8>) -> Vec<u8> {
        tlv(
            &[0x30],
            &[
                int(3),
                enumerated(1),
                int(4),
                enumerated(1),
                tlv(&[0x04], challenge),
                tlv(&[0x04], &[]),
                sw,
                tee,
            ]
            .concat(),
        )
    }

    const CDH: [u8; 32] = [0x42; 32];

    fn check(der: &[u8], require_hardware: bool) -> Result<(), AttestationError> {
        let options = AttestationOptions {
            android_key_require_hardware: require_hardware,
            ..AttestationOptions::default()
        };
        check_key_description(&KeyDescription::parse(der)?, &CDH, &options)
    }

    #[test]
    fn every_android_key_vector_verifies_and_chains() {
        let vectors = registration_vectors_with_fmt("android-key");
        assert!(vectors.len() >= 5, "found {}", vectors.len());
        for v in &vectors {
            assert!(v.expect_ok(), "{}", v.name);
            let outcome = v
                .verify_with(verify)
                .unwrap_or_else(|e| panic!("{}: {e}", v.name));
            assert_eq!(
                outcome.attestation_type,
                AttestationType::Basic,
                "{}",
                v.name
            );
            if !v.trust_roots.is_empty() {
                v.verify_trust_path(&outcome)
                    .unwrap_or_else(|e| panic!("{}: chain: {e}", v.name));
            }
        }
    }

    #[test]
    fn real_key_description_is_parsed() {
        let v = load_registration_vector("pyw-android-key-hardware-es256");
        let stmt = v.att_stmt_value();
        let leaf = stmt.get_text("x5c").and_then(Value::as_array).unwrap()[0]
            .as_bytes()
            .unwrap();
        let ext = key_description_extension(&Certificate::from_der(leaf).unwrap()).unwrap();
        let kd = KeyDescription::parse(&ext).unwrap();
        assert_eq!(kd.attestation_challenge, v.client_data_hash);
        assert!(
            kd.tee_enforced
                .purpose
                .as_deref()
                .unwrap_or(&[])
                .contains(&KM_PURPOSE_SIGN)
        );
        assert_eq!(kd.tee_enforced.origin, Some(KM_ORIGIN_GENERATED));
        assert!(!kd.tee_enforced.all_applications && !kd.software_enforced.all_applications);
        // A real hardware key passes the hardware-only policy too.
        let strict = AttestationOptions {
            android_key_require_hardware: true,
            ..v.options()
        };
        v.verify_with_options(verify, &strict).unwrap();
        // Every truncation of the real extension fails cleanly, and no byte change panics.
        for n in 0..ext.len() {
            assert!(KeyDescription::parse(&ext[..n]).is_err(), "{n}");
        }
        let mut mutated = ext.clone();
        for i in 0..mutated.len() {
            for value in [0x00u8, 0x1f, 0x7f, 0x80, 0x84, 0xbf, 0xff] {
                let saved = mutated[i];
                mutated[i] = value;
                if let Ok(kd) = KeyDescription::parse(&mutated) {
                    let _ = check_key_description(&kd, &v.client_data_hash, &v.options());
                }
                mutated[i] = saved;
            }
        }
    }

    #[test]
    fn tampered_vectors_fail() {
        let v = load_registration_vector("w3c-android-key-es256");
        let stmt = v.att_stmt_value();
        let run = |s: &Value<'_>, cdh: &[u8; 32]| {
            verify_parts(verify, s, &v.auth_data, cdh, &v.options())
        };
        let sig = flip_last_bit(stmt.get_text("sig").and_then(Value::as_bytes).unwrap());
        assert_eq!(
            run(
                &with_member(&stmt, "sig", Value::Bytes(&sig)),
                &v.client_data_hash
            ),
            Err(AttestationError::BadSignature)
        );
        let mut cdh = v.client_data_hash;
        cdh[0] ^= 1;
        assert_eq!(run(&stmt, &cdh), Err(AttestationError::BadSignature));
        assert!(matches!(
            run(&without_member(&stmt, "x5c"), &v.client_data_hash),
            Err(AttestationError::Member { name: "x5c", .. })
        ));
        assert!(matches!(
            run(&without_member(&stmt, "alg"), &v.client_data_hash),
            Err(AttestationError::Member { name: "alg", .. })
        ));
        // Another device's certificate: its key neither made the signature nor is the
        // credential key.
        let other = load_registration_vector("pyw-android-key-hardware-es256");
        let other_x5c = other.att_stmt_value().get_text("x5c").unwrap().clone();
        assert_eq!(
            run(&with_member(&stmt, "x5c", other_x5c), &v.client_data_hash),
            Err(AttestationError::BadSignature)
        );
    }

    #[test]
    fn credential_key_must_be_the_certified_key() {
        // The statement of one vector with another's authenticator data: the signature check
        // comes first, so check the key binding on its own.
        let a = load_registration_vector("w3c-android-key-es256");
        let b = load_registration_vector("pyw-android-key-hardware-es256");
        let a_stmt = a.att_stmt_value();
        let leaf = a_stmt.get_text("x5c").and_then(Value::as_array).unwrap()[0]
            .as_bytes()
            .unwrap();
        let cert = Certificate::from_der(leaf).unwrap();
        let ad = crate::authenticator_data::AuthenticatorData::parse(&b.auth_data).unwrap();
        let key = crate::cose::CosePublicKey::from_cbor(
            ad.attested_credential_data
                .as_ref()
                .unwrap()
                .credential_public_key,
            &Default::default(),
        )
        .unwrap();
        let input = AttestationInput {
            att_stmt: &a_stmt,
            auth_data: &ad,
            client_data_hash: &b.client_data_hash,
            credential_public_key: &key,
        };
        assert!(matches!(
            check_public_key(&cert, &input),
            Err(AttestationError::Binding(_))
        ));
    }

    #[test]
    fn synthesised_key_descriptions() {
        let good_tee = list(&[purpose(&[2]), origin(0)]);
        assert_eq!(
            check(&description(&CDH, list(&[]), good_tee.clone()), true),
            Ok(())
        );
        assert_eq!(
            check(&description(&CDH, list(&[]), good_tee.clone()), false),
            Ok(())
        );

        // Wrong challenge.
        let r = check(
            &description(&[0x43; 32], list(&[]), good_tee.clone()),
            false,
        );
        assert!(
            matches!(r, Err(AttestationError::Binding(ref m)) if m.contains("attestationChallenge")),
            "{r:?}"
        );

        // allApplications in either list.
        for (sw, tee) in [
            (list(&[all_applications()]), good_tee.clone()),
            (
                list(&[]),
                list(&[purpose(&[2]), all_applications(), origin(0)]),
            ),
        ] {
            let r = check(&description(&CDH, sw, tee), false);
            assert!(
                matches!(r, Err(AttestationError::Binding(ref m)) if m.contains("allApplications")),
                "{r:?}"
            );
        }

        // Imported key, or no origin at all.
        let r = check(
            &description(&CDH, list(&[]), list(&[purpose(&[2]), origin(2)])),
            false,
        );
        assert!(
            matches!(r, Err(AttestationError::Certificate(ref m)) if m.contains("origin")),
            "{r:?}"
        );
        // No origin and no purpose anywhere (the W3C vector): accepted from the union, refused
        // when a hardware key is required.
        let bare = description(&CDH, list(&[]), list(&[]));
        assert_eq!(check(&bare, false), Ok(()));
        assert!(matches!(
            check(&bare, true),
            Err(AttestationError::Policy(_))
        ));
        let no_origin = description(&CDH, list(&[]), list(&[purpose(&[2])]));
        assert_eq!(check(&no_origin, false), Ok(()));
        assert!(matches!(
            check(&no_origin, true),
            Err(AttestationError::Policy(_))
        ));
        let no_purpose = description(&CDH, list(&[]), list(&[origin(0)]));
        assert_eq!(check(&no_purpose, false), Ok(()));
        assert!(matches!(
            check(&no_purpose, true),
            Err(AttestationError::Policy(_))
        ));
        // Conflicting origins in the union.
        let r = check(
            &description(&CDH, list(&[origin(1)]), good_tee.clone()),
            false,
        );
        assert!(r.is_err(), "{r:?}");

        // Purpose without SIGN (ENCRYPT 0, DECRYPT 1, VERIFY 3).
        let r = check(
            &description(&CDH, list(&[]), list(&[purpose(&[0, 1, 3]), origin(0)])),
            false,
        );
        assert!(
            matches!(r, Err(AttestationError::Certificate(ref m)) if m.contains("purpose")),
            "{r:?}"
        );
        let r = check(
            &description(&CDH, list(&[purpose(&[3])]), list(&[origin(0)])),
            false,
        );
        assert!(
            matches!(r, Err(AttestationError::Certificate(ref m)) if m.contains("purpose")),
            "{r:?}"
        );
        let r = check(
            &description(&CDH, list(&[]), list(&[purpose(&[3]), origin(0)])),
            true,
        );
        assert!(matches!(r, Err(AttestationError::Policy(_))), "{r:?}");
        // SIGN among others is accepted.
        assert_eq!(
            check(
                &description(&CDH, list(&[]), list(&[purpose(&[2, 3]), origin(0)])),
                true
            ),
            Ok(())
        );

        // A software key: accepted from the union, refused when hardware is required.
        let software = description(&CDH, list(&[purpose(&[2]), origin(0)]), list(&[]));
        assert_eq!(check(&software, false), Ok(()));
        assert!(matches!(
            check(&software, true),
            Err(AttestationError::Policy(_))
        ));
        let half = description(&CDH, list(&[purpose(&[2])]), list(&[origin(0)]));
        assert_eq!(check(&half, false), Ok(()));
        assert!(matches!(
            check(&half, true),
            Err(AttestationError::Policy(_))
        ));
    }

    #[test]
    fn malformed_key_descriptions_are_refused() {
        let good = description(&CDH, list(&[]), list(&[purpose(&[2]), origin(0)]));
        for n in 0..good.len() {
            assert!(KeyDescription::parse(&good[..n]).is_err(), "{n}");
        }
        // Duplicate members.
        let dup = description(
            &CDH,
            list(&[]),
            list(&[purpose(&[2]), origin(0), origin(0)]),
        );
        assert!(KeyDescription::parse(&dup).is_err());
        // An IMPLICIT (primitive) member.
        let implicit = description(&CDH, list(&[tlv(&[0x81], &[2])]), list(&[origin(0)]));
        assert!(KeyDescription::parse(&implicit).is_err());
        // Too few fields.
        assert!(KeyDescription::parse(&tlv(&[0x30], &[int(3), enumerated(1)].concat())).is_err());
        // Purpose not a SET, challenge not an OCTET STRING.
        let not_set = description(&CDH, list(&[tlv(&[0xa1], &int(2))]), list(&[origin(0)]));
        assert!(KeyDescription::parse(&not_set).is_err());
        let mut bad_challenge = good.clone();
        // The challenge's tag follows the four leading INTEGER/ENUMERATED fields (3 bytes each)
        // and the two-byte SEQUENCE header.
        assert_eq!(bad_challenge[14], 0x04);
        bad_challenge[14] = 0x0c;
        assert!(KeyDescription::parse(&bad_challenge).is_err());
        // A tag number too large for u32 and garbage.
        assert!(KeyDescription::parse(&[0x30, 0x04, 0xbf, 0xff, 0xff, 0xff]).is_err());
        assert!(KeyDescription::parse(&[0xff; 40]).is_err());
        // Trailing members after teeEnforced are tolerated when well-formed.
        let mut extended = good.clone();
        extended.truncate(0);
        let body = [
            int(3),
            enumerated(1),
            int(4),
            enumerated(1),
            tlv(&[0x04], &CDH),
            tlv(&[0x04], &[]),
            list(&[]),
            list(&[purpose(&[2]), origin(0)]),
            int(9),
        ]
        .concat();
        extended.extend(tlv(&[0x30], &body));
        assert!(KeyDescription::parse(&extended).is_ok());
    }
}
