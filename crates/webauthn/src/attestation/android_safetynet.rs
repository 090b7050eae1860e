//! The `android-safetynet` attestation statement format (WebAuthn L3 §8.5).
//!
//! The statement is `{ver, response}`: `response` is the compact JWS the (now deprecated)
//! SafetyNet Attestation API returned, signed by a key certified for `attest.android.com`,
//! whose payload `nonce` binds it to this registration. The result is attestation type Basic
//! with the JWS `x5c` chain as trust path; the registration procedure then checks that chain
//! against the roots configured for the format (GlobalSign for Google's service).
//!
//! Policy knobs ([`SafetyNetPolicy`]) decide whether `ctsProfileMatch`
//! must be true and whether `timestampMs` must be recent at the verification time.

use super::{
    AttestationError, AttestationInput, AttestationOptions, AttestationOutcome, AttestationType,
    SafetyNetPolicy, util,
};
use crate::cbor::Value;
use crate::jws::{Jws, JwsError};
use crate::trust::{Certificate, UnixTime};
use base64::Engine as _;
use x509_parser::extensions::GeneralName;

/// The host name the SafetyNet attestation certificate must be issued to.
pub const SAFETYNET_HOSTNAME: &str = "attest.android.com";

/// How far in the future `timestampMs` may be (clock skew), in milliseconds.
pub const MAX_FUTURE_SKEW_MS: i64 = 60_000;

/// The members of an `android-safetynet` statement (§8.5 "Syntax").
struct Statement<'a> {
    response: &'a [u8],
}

/// §8.5 verification procedure for the `android-safetynet` format.
///
/// Checks the statement syntax (step 1), parses `response` as a SafetyNet JWS (step 2),
/// verifies that it came from the SafetyNet service: its signature with the leaf certificate's
/// key and that leaf's host name `attest.android.com` (step 4), that its `nonce` binds it to
/// this registration (step 3), `ctsProfileMatch` and the response age as the policy requires;
/// returns attestation type Basic with the `x5c` chain as trust path (step 5).
pub fn verify(
    input: &AttestationInput<'_, '_>,
    options: &AttestationOptions,
) -> Result<AttestationOutcome, AttestationError> {
    let stmt = parse_statement(input.att_stmt)?;
    let jws = parse_response(stmt.response)?;
    verify_response_signature(&jws)?;
    let leaf = jws
        .x5c
        .first()
        .ok_or_else(|| AttestationError::Malformed("response JWS has no x5c certificate".into()))?;
    check_leaf_hostname(leaf)?;
    let payload = parse_payload(&jws)?;
    check_nonce(&payload, input.auth_data.raw, input.client_data_hash)?;
    check_cts_profile_match(&payload, &options.safetynet)?;
    check_timestamp(&payload, &options.safetynet, options.time)?;
    Ok(AttestationOutcome {
        attestation_type: AttestationType::Basic,
        trust_path: jws.x5c,
        components: Vec::new(),
    })
}

/// At most this many characters of attacker-supplied text go into an error message.
fn clip(s: &str) -> String {
    const MAX: usize = 120;
    if s.chars().count() > MAX {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    } else {
        s.to_string()
    }
}

/// §8.5 step 1: "Verify that attStmt is valid CBOR conforming to the syntax defined above and
/// perform CBOR decoding on it to extract the contained fields": `ver` a non-empty text string
/// (the version of Google Play Services), `response` a byte string.
fn parse_statement<'a>(att_stmt: &Value<'a>) -> Result<Statement<'a>, AttestationError> {
    if att_stmt.as_map().is_none() {
        return Err(AttestationError::Malformed("attStmt is not a map".into()));
    }
    match att_stmt.get_text("ver").and_then(Value::as_text) {
        Some(v) if !v.is_empty() => {}
        _ => {
            return Err(AttestationError::Member {
                name: "ver",
                expected: "a non-empty text string",
            });
        }
    }
    Ok(Statement {
        response: util::bytes(att_stmt, "response")?,
    })
}

/// §8.5 step 2: "Verify that response is a valid SafetyNet response of version ver": a compact
/// JWS (UTF-8 text in the byte string) with an `x5c` certificate chain in its header.
fn parse_response(response: &[u8]) -> Result<Jws, AttestationError> {
    Jws::parse(response).map_err(|e| match e {
        JwsError::Certificate(c) => AttestationError::Chain(c),
        other => AttestationError::Malformed(format!("response is not a SafetyNet JWS: {other}")),
    })
}

/// §8.5 step 4: "Verify that the SafetyNet response actually came from the SafetyNet service":
/// the JWS signature verifies with the key of the leaf certificate of `x5c` (the chain itself
/// is checked against the trust anchors by the registration procedure).
fn verify_response_signature(jws: &Jws) -> Result<(), AttestationError> {
    jws.verify_signature().map_err(|e| match e {
        JwsError::BadSignature => AttestationError::BadSignature,
        JwsError::UnsupportedAlgorithm(a) => AttestationError::AlgorithmMismatch(format!(
            "response JWS algorithm '{}' is not supported for its leaf key",
            clip(&a)
        )),
        JwsError::Certificate(c) => AttestationError::Chain(c),
        other => AttestationError::Malformed(format!("response JWS: {other}")),
    })
}

/// §8.5 step 4 (per the SafetyNet documentation): the attestation certificate is issued to the
/// host name `attest.android.com`, as its subject common name or a SAN dNSName (compared
/// ASCII case-insensitively, as DNS names are).
fn check_leaf_hostname(leaf: &Certificate) -> Result<(), AttestationError> {
    let cert = leaf.parsed()?;
    let is_host = |name: &str| name.eq_ignore_ascii_case(SAFETYNET_HOSTNAME);
    let in_cn = cert
        .subject()
        .iter_common_name()
        .any(|cn| cn.as_str().is_ok_and(is_host));
    let in_san = match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .any(|n| matches!(n, GeneralName::DNSName(d) if is_host(d))),
        _ => false,
    };
    if in_cn || in_san {
        Ok(())
    } else {
        Err(AttestationError::Certificate(format!(
            "SafetyNet attestation certificate is issued to '{}', expected host name {SAFETYNET_HOSTNAME}",
            cert.subject()
        )))
    }
}

/// The JWS payload as a JSON object.
fn parse_payload(
    jws: &Jws,
) -> Result<serde_json::Map<String, serde_json::Value>, AttestationError> {
    match serde_json::from_slice::<serde_json::Value>(&jws.payload) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err(AttestationError::Malformed(
            "response payload is not a JSON object".into(),
        )),
        Err(e) => Err(AttestationError::Malformed(format!(
            "response payload is not JSON: {e}"
        ))),
    }
}

/// §8.5 step 3: "Verify that the nonce attribute in the payload of response is identical to the
/// Base64 encoding of the SHA-256 hash of the concatenation of authenticatorData and
/// clientDataHash" (standard alphabet with padding, as the SafetyNet API returns it).
fn check_nonce(
    payload: &serde_json::Map<String, serde_json::Value>,
    auth_data: &[u8],
    client_data_hash: &[u8; 32],
) -> Result<(), AttestationError> {
    let message = util::signed_message(auth_data, client_data_hash);
    let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &message);
    let expected = base64::engine::general_purpose::STANDARD.encode(hash.as_ref());
    let found = payload
        .get("nonce")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| {
            AttestationError::Malformed("response payload has no text member 'nonce'".into())
        })?;
    if found != expected {
        return Err(AttestationError::Binding(format!(
            "response nonce is '{}', expected '{expected}' (base64 of SHA-256(authenticatorData || clientDataHash))",
            clip(found)
        )));
    }
    Ok(())
}

/// §8.5 (WebAuthn Level 1 and 2 wording, kept as a policy knob since the format is deprecated):
/// "Verify that the ctsProfileMatch attribute in the payload of response is true", when
/// [`SafetyNetPolicy::require_cts_profile_match`] is set.
fn check_cts_profile_match(
    payload: &serde_json::Map<String, serde_json::Value>,
    policy: &SafetyNetPolicy,
) -> Result<(), AttestationError> {
    if !policy.require_cts_profile_match {
        return Ok(());
    }
    match payload.get("ctsProfileMatch").and_then(serde_json::Value::as_bool) {
        Some(true) => Ok(()),
        Some(false) => Err(AttestationError::Policy(
            "SafetyNet ctsProfileMatch is false (the device failed Android compatibility checks); true is required".into(),
        )),
        None => Err(AttestationError::Policy(
            "SafetyNet response has no boolean ctsProfileMatch; true is required".into(),
        )),
    }
}

/// SafetyNet documentation, "Verify the compatibility check response" (which §8.5 step 2
/// defers to): `timestampMs` must be recent. When [`SafetyNetPolicy::check_freshness`] is set it
/// must be at most [`SafetyNetPolicy::max_age_ms`] before the verification time and at most
/// [`MAX_FUTURE_SKEW_MS`] after it.
fn check_timestamp(
    payload: &serde_json::Map<String, serde_json::Value>,
    policy: &SafetyNetPolicy,
    now: UnixTime,
) -> Result<(), AttestationError> {
    if !policy.check_freshness {
        return Ok(());
    }
    let ts = payload
        .get("timestampMs")
        .and_then(serde_json::Value::as_i64)
        .ok_or_else(|| {
            AttestationError::Malformed(
                "response payload has no integer member 'timestampMs'".into(),
            )
        })?;
    let now_ms = now.0.saturating_mul(1000);
    let age = now_ms.saturating_sub(ts);
    if age > policy.max_age_ms {
        return Err(AttestationError::Policy(format!(
            "SafetyNet response timestampMs {ts} is {age} ms before the verification time; at most {} ms is allowed",
            policy.max_age_ms
        )));
    }
    let ahead = ts.saturating_sub(now_ms);
    if ahead > MAX_FUTURE_SKEW_MS {
        return Err(AttestationError::Policy(format!(
            "SafetyNet response timestampMs {ts} is {ahead} ms after the verification time; at most {MAX_FUTURE_SKEW_MS} ms is allowed"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attestation::tpm::test_vectors::{Case, CaseExt, cases_with_fmt, load, with_member};
    use crate::trust::{ChainPolicy, TrustAnchors, verify_chain};
    use passkeyd_testkit::{LeafOptions, TestPki};

    const PYW: &str = "pyw-android-safetynet-chrome-es256";
    const SWA_CTS_FALSE: &str = "swa-skip-cts-check-when-enforcement-option-is-false";
    const SWA_NEG: &str = "swa-neg-enforce-cts-check-by-default";

    fn lenient(case: &Case) -> AttestationOptions {
        let mut o = case.recorded_options();
        o.safetynet.require_cts_profile_match = false;
        o
    }

    fn response(case: &Case) -> String {
        let stmt = case.stmt();
        String::from_utf8(
            stmt.get_text("response")
                .unwrap()
                .as_bytes()
                .unwrap()
                .to_vec(),
        )
        .unwrap()
    }

    fn run_response(
        case: &Case,
        jws: &str,
        options: &AttestationOptions,
    ) -> Result<AttestationOutcome, AttestationError> {
        let stmt = with_member(&case.stmt(), "response", Value::Bytes(jws.as_bytes()));
        case.run_with(verify, &stmt, case.auth_data(), options)
    }

    #[test]
    fn every_safetynet_vector_behaves_as_expected() {
        let names = cases_with_fmt("android-safetynet");
        assert_eq!(names, [PYW, SWA_NEG, SWA_CTS_FALSE]);
        for name in names {
            let case = load(&name);
            let r = case.run(verify, &case.stmt());
            if name == SWA_CTS_FALSE {
                // The note says the case is positive only with ctsProfileMatch not required.
                assert!(
                    matches!(r, Err(AttestationError::Policy(ref m)) if m.contains("ctsProfileMatch"))
                );
                let r = case.run_with(verify, &case.stmt(), case.auth_data(), &lenient(&case));
                let outcome = r.unwrap();
                assert_eq!(outcome.attestation_type, AttestationType::Basic);
                case.chain(&outcome).unwrap();
            } else if case.expect_ok() {
                let outcome = r.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(outcome.attestation_type, AttestationType::Basic, "{name}");
                assert_eq!(
                    case.json["expect"]["attestation_type"].as_str(),
                    Some("basic")
                );
                let chain = case
                    .chain(&outcome)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(
                    chain.anchor_subject.contains("GlobalSign"),
                    "{}",
                    chain.anchor_subject
                );
            } else {
                match r {
                    Err(AttestationError::Policy(m)) => {
                        assert!(m.contains("ctsProfileMatch is false"), "{m}")
                    }
                    other => panic!("{name}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn the_negative_vector_passes_everything_but_cts() {
        let case = load(SWA_NEG);
        let outcome = case
            .run_with(verify, &case.stmt(), case.auth_data(), &lenient(&case))
            .unwrap();
        case.chain(&outcome).unwrap();
    }

    #[test]
    fn freshness_is_checked_at_the_verification_time() {
        let case = load(PYW);
        let ts_secs = 1_630_703_240; // timestampMs 1630703240057
        let mut o = case.recorded_options();
        o.safetynet.check_freshness = true;
        // The vector's verification time (2021-09-01) is days before the response.
        assert!(matches!(
            case.run_with(verify, &case.stmt(), case.auth_data(), &o),
            Err(AttestationError::Policy(m)) if m.contains("after the verification time")
        ));
        for (at, fresh) in [
            (ts_secs + 30, true),
            (ts_secs + 60, true),
            (ts_secs + 61, false),
            (ts_secs + 86_400, false),
            (ts_secs - 59, true),
            (ts_secs - 61, false),
        ] {
            o.time = UnixTime(at);
            let r = case.run_with(verify, &case.stmt(), case.auth_data(), &o);
            assert_eq!(r.is_ok(), fresh, "at {at}: {r:?}");
            if !fresh {
                assert!(matches!(r, Err(AttestationError::Policy(_))), "{r:?}");
            }
        }
        o.time = UnixTime(ts_secs + 3600);
        o.safetynet.max_age_ms = 2 * 3_600_000;
        assert!(
            case.run_with(verify, &case.stmt(), case.auth_data(), &o)
                .is_ok()
        );
        // Extreme times do not overflow.
        o.time = UnixTime(i64::MAX);
        assert!(
            case.run_with(verify, &case.stmt(), case.auth_data(), &o)
                .is_err()
        );
        o.time = UnixTime(i64::MIN);
        assert!(
            case.run_with(verify, &case.stmt(), case.auth_data(), &o)
                .is_err()
        );
    }

    #[test]
    fn other_authenticator_data_breaks_the_nonce() {
        let case = load(PYW);
        let mut auth_data = case.auth_data().to_vec();
        auth_data[33] ^= 0x01; // the signature counter
        assert!(matches!(
            case.run_with(verify, &case.stmt(), &auth_data, &case.recorded_options()),
            Err(AttestationError::Binding(m)) if m.contains("nonce")
        ));
    }

    /// `jws` with the character at `index` of part `part` replaced by another base64url one.
    fn tamper_part(jws: &str, part: usize, index: usize) -> String {
        let mut parts: Vec<String> = jws.split('.').map(str::to_string).collect();
        let mut chars: Vec<char> = parts[part].chars().collect();
        chars[index] = if chars[index] == 'A' { 'B' } else { 'A' };
        parts[part] = chars.into_iter().collect();
        parts.join(".")
    }

    #[test]
    fn a_tampered_jws_fails() {
        for name in [PYW, SWA_CTS_FALSE] {
            let case = load(name);
            let jws = response(&case);
            let o = lenient(&case);
            let sig_len = jws.rsplit('.').next().unwrap().len();
            assert_eq!(
                run_response(&case, &tamper_part(&jws, 2, sig_len / 2), &o),
                Err(AttestationError::BadSignature),
                "{name}"
            );
            assert_eq!(
                run_response(&case, &tamper_part(&jws, 1, 10), &o),
                Err(AttestationError::BadSignature),
                "{name}"
            );
        }
    }

    #[test]
    fn a_malformed_statement_is_refused() {
        let case = load(PYW);
        let stmt = case.stmt();
        for ver in [Value::Text(""), Value::Int(14), Value::Null] {
            assert!(matches!(
                case.run(verify, &with_member(&stmt, "ver", ver)),
                Err(AttestationError::Member { name: "ver", .. })
            ));
        }
        assert!(matches!(
            case.run(
                verify,
                &with_member(&stmt, "response", Value::Text("a.b.c"))
            ),
            Err(AttestationError::Member {
                name: "response",
                ..
            })
        ));
        for junk in [&b""[..], b"a.b", b"\xff\xfe", b"e30.e30.e30"] {
            let r = case.run(verify, &with_member(&stmt, "response", Value::Bytes(junk)));
            assert!(matches!(r, Err(AttestationError::Malformed(_))), "{r:?}");
        }
        let jws = response(&case);
        for len in (0..jws.len()).step_by(97) {
            let r = run_response(&case, &jws[..len], &case.recorded_options());
            assert!(r.is_err(), "prefix {len}");
        }
    }

    #[test]
    fn a_corrupted_response_never_panics_and_is_refused() {
        let case = load(PYW);
        let jws = response(&case).into_bytes();
        for i in (0..jws.len()).step_by(7) {
            let mut tampered = jws.clone();
            tampered[i] ^= 0x21;
            let stmt = with_member(&case.stmt(), "response", Value::Bytes(&tampered));
            let r = case.run(verify, &stmt);
            assert!(r.is_err(), "byte {i} changed and still accepted");
        }
    }

    /// A synthetic SafetyNet response with `payload`, signed by a test PKI leaf with common
    /// name `cn` (chain: leaf, intermediate).
    fn synthetic(cn: &str, payload: serde_json::Value) -> (String, TestPki) {
        let pki = TestPki::new();
        let mut leaf = LeafOptions::new([0; 16]);
        leaf.common_name = cn.to_string();
        leaf.organizational_unit = None;
        leaf.aaguid_extension = passkeyd_testkit::AaguidExtension::Absent;
        let att = pki.attestation_cert(&leaf);
        (att.sign_jwt(payload.to_string().as_bytes()), pki)
    }

    fn good_payload(case: &Case, timestamp_ms: i64) -> serde_json::Value {
        let message = util::signed_message(case.auth_data(), &case.client_data_hash);
        let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &message);
        serde_json::json!({
            "nonce": base64::engine::general_purpose::STANDARD.encode(hash.as_ref()),
            "timestampMs": timestamp_ms,
            "apkPackageName": "com.google.android.gms",
            "ctsProfileMatch": true,
            "basicIntegrity": true,
        })
    }

    fn fresh_options(case: &Case, now: i64) -> AttestationOptions {
        let mut o = case.recorded_options();
        o.time = UnixTime(now);
        o.safetynet = SafetyNetPolicy::default();
        o
    }

    #[test]
    fn a_synthetic_response_verifies_and_chains_to_its_root() {
        let case = load(PYW);
        let now = 1_900_000_000;
        let (jws, pki) = synthetic(SAFETYNET_HOSTNAME, good_payload(&case, now * 1000 - 5000));
        let outcome = run_response(&case, &jws, &fresh_options(&case, now)).unwrap();
        assert_eq!(outcome.attestation_type, AttestationType::Basic);
        assert_eq!(outcome.trust_path.len(), 2);
        let mut anchors = TrustAnchors::new();
        anchors.add(Certificate::from_der(&pki.root_der()).unwrap());
        verify_chain(
            &outcome.trust_path,
            &anchors,
            UnixTime(now),
            &ChainPolicy::default(),
        )
        .unwrap();
    }

    #[test]
    fn a_certificate_for_another_host_fails() {
        let case = load(PYW);
        let now = 1_900_000_000;
        for cn in [
            "attest.android.com.evil.example",
            "evil.example",
            "android.com",
        ] {
            let (jws, _) = synthetic(cn, good_payload(&case, now * 1000));
            assert!(matches!(
                run_response(&case, &jws, &fresh_options(&case, now)),
                Err(AttestationError::Certificate(m)) if m.contains(SAFETYNET_HOSTNAME)
            ));
        }
        let (jws, _) = synthetic("ATTEST.Android.COM", good_payload(&case, now * 1000));
        assert!(run_response(&case, &jws, &fresh_options(&case, now)).is_ok());
    }

    #[test]
    fn payload_members_are_checked() {
        let case = load(PYW);
        let now = 1_900_000_000;
        let o = fresh_options(&case, now);
        let base = good_payload(&case, now * 1000);
        let with = |key: &str, v: serde_json::Value| {
            let mut p = base.clone();
            p[key] = v;
            p
        };
        let without = |key: &str| {
            let mut p = base.clone();
            p.as_object_mut().unwrap().remove(key);
            p
        };
        let check = |payload: serde_json::Value| {
            let (jws, _) = synthetic(SAFETYNET_HOSTNAME, payload);
            run_response(&case, &jws, &o)
        };
        let nonce = base["nonce"].as_str().unwrap().to_string();
        // The nonce must be standard padded base64, exactly.
        let unpadded = nonce.trim_end_matches('=').to_string();
        let url_safe = nonce.replace('+', "-").replace('/', "_");
        assert!(matches!(
            check(with("nonce", unpadded.into())),
            Err(AttestationError::Binding(_))
        ));
        if url_safe != nonce {
            assert!(matches!(
                check(with("nonce", url_safe.into())),
                Err(AttestationError::Binding(_))
            ));
        }
        assert!(matches!(
            check(without("nonce")),
            Err(AttestationError::Malformed(_))
        ));
        assert!(matches!(
            check(with("nonce", 7.into())),
            Err(AttestationError::Malformed(_))
        ));
        assert!(matches!(
            check(with("ctsProfileMatch", false.into())),
            Err(AttestationError::Policy(m)) if m.contains("ctsProfileMatch is false")
        ));
        assert!(matches!(
            check(without("ctsProfileMatch")),
            Err(AttestationError::Policy(m)) if m.contains("no boolean ctsProfileMatch")
        ));
        assert!(matches!(
            check(with("ctsProfileMatch", "true".into())),
            Err(AttestationError::Policy(_))
        ));
        assert!(matches!(
            check(without("timestampMs")),
            Err(AttestationError::Malformed(_))
        ));
        assert!(matches!(
            check(with("timestampMs", "1".into())),
            Err(AttestationError::Malformed(_))
        ));
        assert!(matches!(
            check(with("timestampMs", (now * 1000 - 61_000).into())),
            Err(AttestationError::Policy(m)) if m.contains("before the verification time")
        ));
        assert!(matches!(
            check(with("timestampMs", (now * 1000 + 61_000).into())),
            Err(AttestationError::Policy(m)) if m.contains("after the verification time")
        ));
        assert!(matches!(
            check(with("timestampMs", serde_json::json!(u64::MAX))),
            Err(AttestationError::Malformed(_))
        ));
        assert!(matches!(
            check(serde_json::json!(["not", "an", "object"])),
            Err(AttestationError::Malformed(m)) if m.contains("not a JSON object")
        ));
        assert!(check(base.clone()).is_ok());
    }
}
