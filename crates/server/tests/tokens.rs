//! Token signer / verifier tests. The module is included by path so these tests do not depend on
//! the rest of the server library compiling.

#[allow(dead_code)]
#[path = "../src/tokens.rs"]
mod tokens;

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ED25519, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use tokens::*;

const ISS: &str = "https://id.example.com";
const AUD: &str = "https://app.example.com";
const T0: u64 = 1_800_000_000;
const ALGS: [Algorithm; 2] = [Algorithm::Es256, Algorithm::EdDsa];

fn config(algorithm: Algorithm) -> TokenConfig {
    TokenConfig {
        algorithm,
        rotation_period: 86_400,
        max_token_lifetime: 3_600,
        leeway: 30,
    }
}

fn claims(iat: u64) -> Claims {
    let amr = amr_for(true, false, true);
    Claims {
        iss: ISS.into(),
        aud: AUD.into(),
        sub: "user-1".into(),
        sid: "session-1".into(),
        iat,
        exp: iat + 900,
        nbf: None,
        auth_time: iat - 5,
        acr: acr_for(&amr),
        amr,
        extra: Map::new(),
    }
}

fn b64(v: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(v)
}

fn split(token: &str) -> (String, String, String) {
    let p: Vec<&str> = token.split('.').collect();
    assert_eq!(p.len(), 3);
    (p[0].into(), p[1].into(), p[2].into())
}

/// Signs arbitrary header/payload JSON with the signer's active key (via its exported PKCS#8).
fn forge(signer: &TokenSigner, header: &Value, payload: &[u8]) -> String {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
    let key = signer.export_keys().pop().unwrap();
    let input = format!(
        "{}.{}",
        b64(&serde_json::to_vec(header).unwrap()),
        b64(payload)
    );
    let sig = match key.algorithm {
        Algorithm::Es256 => EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &key.pkcs8)
            .unwrap()
            .sign(&SystemRandom::new(), input.as_bytes())
            .unwrap()
            .as_ref()
            .to_vec(),
        Algorithm::EdDsa => Ed25519KeyPair::from_pkcs8(&key.pkcs8)
            .unwrap()
            .sign(input.as_bytes())
            .as_ref()
            .to_vec(),
    };
    format!("{input}.{}", b64(&sig))
}

fn header(signer: &TokenSigner) -> Value {
    json!({"alg": signer.config().algorithm.jws_name(), "typ": "JWT", "kid": signer.active_kid()})
}

#[test]
fn round_trip_both_algorithms() {
    for alg in ALGS {
        let s = TokenSigner::new(config(alg), T0).unwrap();
        let mut c = claims(T0);
        c.extra.insert("elevations".into(), json!(["payments"]));
        c.extra.insert("confidence".into(), json!(0.5));
        c.nbf = Some(T0);
        let t = s.sign(&c).unwrap();
        let (h, _, sig) = split(&t);
        let h: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).unwrap()).unwrap();
        assert_eq!(
            h,
            json!({"alg": alg.jws_name(), "typ": "JWT", "kid": s.active_kid()})
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(sig).unwrap().len(), 64);
        assert_eq!(s.verify(&t, T0 + 10, ISS, AUD).unwrap(), c);
        assert_eq!(s.verify_bytes(t.as_bytes(), T0 + 10, ISS, AUD).unwrap(), c);
    }
}

#[test]
fn jwks_verifies_token_independently() {
    for alg in ALGS {
        let s = TokenSigner::new(config(alg), T0).unwrap();
        let t = s.sign(&claims(T0)).unwrap();
        let (h, p, sig) = split(&t);
        let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&h).unwrap()).unwrap();
        let jwks = s.jwks();
        let keys = jwks["keys"].as_array().unwrap();
        let jwk = keys
            .iter()
            .find(|k| k["kid"] == header["kid"])
            .expect("kid in JWKS");
        assert_eq!(jwk["alg"], header["alg"]);
        assert_eq!(jwk["use"], "sig");
        let x = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
        let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        let input = format!("{h}.{p}");
        match alg {
            Algorithm::Es256 => {
                assert_eq!(
                    (jwk["kty"].as_str(), jwk["crv"].as_str()),
                    (Some("EC"), Some("P-256"))
                );
                let y = URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap();
                assert_eq!((x.len(), y.len()), (32, 32));
                let mut point = vec![4u8];
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
                    .verify(input.as_bytes(), &sig)
                    .expect("ES256 signature verifies with the JWK");
                let mut bad = input.clone().into_bytes();
                bad[0] ^= 1;
                assert!(
                    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
                        .verify(&bad, &sig)
                        .is_err()
                );
            }
            Algorithm::EdDsa => {
                assert_eq!(
                    (jwk["kty"].as_str(), jwk["crv"].as_str()),
                    (Some("OKP"), Some("Ed25519"))
                );
                assert!(jwk.get("y").is_none());
                assert_eq!(x.len(), 32);
                UnparsedPublicKey::new(&ED25519, &x)
                    .verify(input.as_bytes(), &sig)
                    .expect("EdDSA signature verifies with the JWK");
            }
        }
        // No private material in the JWKS.
        assert!(jwk.get("d").is_none());
    }
}

#[test]
fn tampered_payload_header_signature_refused() {
    for alg in ALGS {
        let s = TokenSigner::new(config(alg), T0).unwrap();
        let t = s.sign(&claims(T0)).unwrap();
        let (h, p, sig) = split(&t);

        let mut c = claims(T0);
        c.sub = "admin".into();
        let p2 = b64(&serde_json::to_vec(&c).unwrap());
        assert_eq!(
            s.verify(&format!("{h}.{p2}.{sig}"), T0, ISS, AUD),
            Err(TokenError::BadSignature)
        );

        // Same header meaning, different bytes (member order): the signature covers the bytes.
        let h2 = b64(format!(
            r#"{{"kid":"{}","typ":"JWT","alg":"{}"}}"#,
            s.active_kid(),
            alg.jws_name()
        )
        .as_bytes());
        assert_eq!(
            s.verify(&format!("{h2}.{p}.{sig}"), T0, ISS, AUD),
            Err(TokenError::BadSignature)
        );

        let mut raw = URL_SAFE_NO_PAD.decode(&sig).unwrap();
        for i in [0, 31, 32, 63] {
            raw[i] ^= 0x80;
            assert_eq!(
                s.verify(&format!("{h}.{p}.{}", b64(&raw)), T0, ISS, AUD),
                Err(TokenError::BadSignature)
            );
            raw[i] ^= 0x80;
        }
        assert_eq!(
            s.verify(&format!("{h}.{p}.{}", b64(&raw[..63])), T0, ISS, AUD),
            Err(TokenError::SignatureLength(63))
        );
        let mut long = raw.clone();
        long.push(0);
        assert_eq!(
            s.verify(&format!("{h}.{p}.{}", b64(&long)), T0, ISS, AUD),
            Err(TokenError::SignatureLength(65))
        );
        assert_eq!(
            s.verify(&format!("{h}.{p}."), T0, ISS, AUD),
            Err(TokenError::Base64 { part: "signature" })
        );
        // Padding and the standard alphabet are refused.
        assert_eq!(
            s.verify(&format!("{h}.{p}.{sig}=="), T0, ISS, AUD),
            Err(TokenError::Base64 { part: "signature" })
        );
        let std_sig = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&raw);
        if std_sig != sig {
            assert_eq!(
                s.verify(&format!("{h}.{p}.{std_sig}"), T0, ISS, AUD),
                Err(TokenError::Base64 { part: "signature" })
            );
        }
        // Still valid untouched.
        assert!(s.verify(&t, T0, ISS, AUD).is_ok());
    }
}

#[test]
fn alg_none_refused() {
    let s = TokenSigner::new(config(Algorithm::Es256), T0).unwrap();
    let p = b64(&serde_json::to_vec(&claims(T0)).unwrap());
    for none in ["none", "None", "NONE"] {
        let h = b64(&serde_json::to_vec(
            &json!({"alg": none, "typ": "JWT", "kid": s.active_kid()}),
        )
        .unwrap());
        assert_eq!(
            s.verify(&format!("{h}.{p}."), T0, ISS, AUD),
            Err(TokenError::AlgNone)
        );
        assert_eq!(
            s.verify(&format!("{h}.{p}.{}", b64(&[0; 64])), T0, ISS, AUD),
            Err(TokenError::AlgNone)
        );
    }
    let h = b64(br#"{"typ":"JWT","kid":"x"}"#);
    assert_eq!(
        s.verify(&format!("{h}.{p}.{}", b64(&[0; 64])), T0, ISS, AUD),
        Err(TokenError::MissingAlg)
    );
    let h = b64(br#"{"alg":null,"kid":"x"}"#);
    assert_eq!(
        s.verify(&format!("{h}.{p}.{}", b64(&[0; 64])), T0, ISS, AUD),
        Err(TokenError::MissingAlg)
    );
}

#[test]
fn alg_confusion_refused() {
    let es = TokenSigner::new(config(Algorithm::Es256), T0).unwrap();
    let ed = TokenSigner::new(config(Algorithm::EdDsa), T0).unwrap();
    // A genuine EdDSA token presented to the ES256 signer.
    let t = ed.sign(&claims(T0)).unwrap();
    assert_eq!(
        es.verify(&t, T0, ISS, AUD),
        Err(TokenError::AlgorithmMismatch {
            expected: Algorithm::Es256,
            found: "EdDSA".into()
        })
    );
    // An ES256 signer's kid with alg EdDSA (signed by an EdDSA key).
    let mut h = header(&ed);
    h["kid"] = json!(es.active_kid());
    let t = forge(&ed, &h, &serde_json::to_vec(&claims(T0)).unwrap());
    assert!(matches!(
        es.verify(&t, T0, ISS, AUD),
        Err(TokenError::AlgorithmMismatch { .. })
    ));
    // HMAC with the public key, RSA, ES384, case variants.
    for alg in [
        "HS256", "RS256", "ES384", "PS256", "es256", "Ed25519", "EDDSA", "",
    ] {
        let mut h = header(&es);
        h["alg"] = json!(alg);
        let t = forge(&es, &h, &serde_json::to_vec(&claims(T0)).unwrap());
        assert_eq!(
            es.verify(&t, T0, ISS, AUD),
            Err(TokenError::AlgorithmMismatch {
                expected: Algorithm::Es256,
                found: alg.into()
            })
        );
    }
    let mut h = header(&es);
    h["alg"] = json!(["ES256"]);
    let t = forge(&es, &h, &serde_json::to_vec(&claims(T0)).unwrap());
    assert_eq!(es.verify(&t, T0, ISS, AUD), Err(TokenError::MissingAlg));
}

#[test]
fn unknown_kid_and_header_parameters_refused() {
    for alg in ALGS {
        let s = TokenSigner::new(config(alg), T0).unwrap();
        let other = TokenSigner::new(config(alg), T0).unwrap();
        let t = other.sign(&claims(T0)).unwrap();
        assert_eq!(
            s.verify(&t, T0, ISS, AUD),
            Err(TokenError::UnknownKid(other.active_kid().into()))
        );

        let payload = serde_json::to_vec(&claims(T0)).unwrap();
        let mut h = header(&s);
        h.as_object_mut().unwrap().remove("kid");
        assert_eq!(
            s.verify(&forge(&s, &h, &payload), T0, ISS, AUD),
            Err(TokenError::MissingKid)
        );
        let mut h = header(&s);
        h["kid"] = json!(7);
        assert_eq!(
            s.verify(&forge(&s, &h, &payload), T0, ISS, AUD),
            Err(TokenError::MissingKid)
        );
        for extra in ["crit", "jku", "jwk", "x5u", "x5c", "b64", "cty"] {
            let mut h = header(&s);
            h[extra] = json!("x");
            assert_eq!(
                s.verify(&forge(&s, &h, &payload), T0, ISS, AUD),
                Err(TokenError::UnsupportedHeaderParameter(extra.into()))
            );
        }
        let mut h = header(&s);
        h["typ"] = json!("at+jwt");
        assert_eq!(
            s.verify(&forge(&s, &h, &payload), T0, ISS, AUD),
            Err(TokenError::BadTyp("at+jwt".into()))
        );
        // typ is optional; a token without it but otherwise valid verifies.
        let mut h = header(&s);
        h.as_object_mut().unwrap().remove("typ");
        assert!(s.verify(&forge(&s, &h, &payload), T0, ISS, AUD).is_ok());
        // Duplicate header members (the first alg could hide the second).
        let hdup = format!(
            r#"{{"alg":"none","alg":"{}","typ":"JWT","kid":"{}"}}"#,
            alg.jws_name(),
            s.active_kid()
        );
        let t = format!(
            "{}.{}.{}",
            b64(hdup.as_bytes()),
            b64(&payload),
            b64(&[0; 64])
        );
        assert!(matches!(
            s.verify(&t, T0, ISS, AUD),
            Err(TokenError::HeaderJson(_))
        ));
    }
}

#[test]
fn payload_checked_strictly_after_signature() {
    let s = TokenSigner::new(config(Algorithm::EdDsa), T0).unwrap();
    let h = header(&s);
    let good = serde_json::to_value(claims(T0)).unwrap();
    // Duplicate claim.
    let mut text = serde_json::to_string(&good).unwrap();
    text.insert_str(1, r#""sub":"admin","#);
    assert!(matches!(
        s.verify(&forge(&s, &h, text.as_bytes()), T0, ISS, AUD),
        Err(TokenError::PayloadJson(_))
    ));
    // Not an object, not UTF-8, trailing data.
    for p in [&b"[1,2]"[..], b"\xff\xfe{}", b"{} {}", b"null"] {
        assert!(
            matches!(
                s.verify(&forge(&s, &h, p), T0, ISS, AUD),
                Err(TokenError::PayloadJson(_))
            ),
            "{p:?}"
        );
    }
    // Missing / mistyped claims.
    for (k, v) in [
        ("exp", Value::Null),
        ("exp", json!("2030")),
        ("iat", json!(-1)),
        ("iat", json!(1.5)),
        ("aud", json!([AUD])),
        ("amr", json!("hwk")),
    ] {
        let mut c = good.clone();
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v;
        }
        assert!(
            matches!(
                s.verify(
                    &forge(&s, &h, &serde_json::to_vec(&c).unwrap()),
                    T0,
                    ISS,
                    AUD
                ),
                Err(TokenError::InvalidClaims(_))
            ),
            "{k}"
        );
    }
    let mut c = good.clone();
    c["jti"] = json!("x");
    assert!(matches!(
        s.verify(
            &forge(&s, &h, &serde_json::to_vec(&c).unwrap()),
            T0,
            ISS,
            AUD
        ),
        Err(TokenError::InvalidClaims(_))
    ));
    // Lifetime longer than allowed, even though validly signed.
    let mut c = good.clone();
    c["exp"] = json!(T0 + 7200);
    assert_eq!(
        s.verify(
            &forge(&s, &h, &serde_json::to_vec(&c).unwrap()),
            T0,
            ISS,
            AUD
        ),
        Err(TokenError::LifetimeTooLong {
            lifetime: 7200,
            max: 3600
        })
    );
    let mut c = good.clone();
    c["exp"] = json!(T0);
    assert_eq!(
        s.verify(
            &forge(&s, &h, &serde_json::to_vec(&c).unwrap()),
            T0,
            ISS,
            AUD
        ),
        Err(TokenError::InconsistentTimes)
    );
}

#[test]
fn time_and_audience_checks() {
    for alg in ALGS {
        let s = TokenSigner::new(config(alg), T0).unwrap();
        let c = claims(T0);
        let t = s.sign(&c).unwrap();
        // exp with leeway 30: valid through exp + 29.
        assert!(s.verify(&t, c.exp + 29, ISS, AUD).is_ok());
        assert_eq!(
            s.verify(&t, c.exp + 30, ISS, AUD),
            Err(TokenError::Expired {
                exp: c.exp,
                now: c.exp + 30
            })
        );
        assert!(matches!(
            s.verify(&t, u64::MAX, ISS, AUD),
            Err(TokenError::Expired { .. })
        ));
        // iat in the future beyond leeway.
        assert!(s.verify(&t, T0 - 30, ISS, AUD).is_ok());
        assert_eq!(
            s.verify(&t, T0 - 31, ISS, AUD),
            Err(TokenError::IssuedInFuture {
                iat: T0,
                now: T0 - 31
            })
        );
        // nbf.
        let mut n = claims(T0);
        n.nbf = Some(T0 + 300);
        let tn = s.sign(&n).unwrap();
        assert_eq!(
            s.verify(&tn, T0 + 100, ISS, AUD),
            Err(TokenError::NotYetValid {
                nbf: T0 + 300,
                now: T0 + 100
            })
        );
        assert!(s.verify(&tn, T0 + 270, ISS, AUD).is_ok());
        // iss / aud.
        assert_eq!(
            s.verify(&t, T0, "https://evil.example", AUD),
            Err(TokenError::WrongIssuer {
                expected: "https://evil.example".into(),
                found: ISS.into()
            })
        );
        assert_eq!(
            s.verify(&t, T0, ISS, "other-app"),
            Err(TokenError::WrongAudience {
                expected: "other-app".into(),
                found: AUD.into()
            })
        );
        assert!(matches!(
            s.verify(&t, T0, &format!("{ISS}/"), AUD),
            Err(TokenError::WrongIssuer { .. })
        ));
    }
}

#[test]
fn rotation_retention_window() {
    for alg in ALGS {
        let cfg = config(alg);
        let mut s = TokenSigner::new(cfg, T0).unwrap();
        let k0 = s.active_kid().to_string();
        assert!(!s.rotation_due(T0 + cfg.rotation_period - 1));
        assert!(s.rotation_due(T0 + cfg.rotation_period));
        assert_eq!(s.rotate_if_due(T0 + 10).unwrap(), None);

        // Last token of k0, signed just before on-schedule rotation.
        let r1 = T0 + cfg.rotation_period;
        let mut last = claims(r1 - 1);
        last.exp = last.iat + cfg.max_token_lifetime;
        let old = s.sign(&last).unwrap();
        let k1 = s.rotate_if_due(r1).unwrap().expect("due");
        assert_ne!(k0, k1);
        assert_eq!(s.active_kid(), k1);
        assert_eq!(s.kids(), vec![k0.clone(), k1.clone()]);
        let jwks = s.jwks();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
        let end = s.retention_end(&k0).unwrap();
        assert_eq!(
            end,
            T0 + cfg.rotation_period + cfg.max_token_lifetime + cfg.leeway
        );
        assert_eq!(s.retention_end(&k1), None);

        // New tokens use k1; old token still verifies until it expires.
        let new = s.sign(&claims(r1 + 5)).unwrap();
        assert!(new.starts_with(&b64(&serde_json::to_vec(&header(&s)).unwrap())));
        assert!(s.verify(&new, r1 + 5, ISS, AUD).is_ok());
        assert!(s.verify(&old, last.exp + cfg.leeway - 1, ISS, AUD).is_ok());
        assert!(last.exp + cfg.leeway - 1 < end);

        // After the window: verification refuses the key even before pruning...
        assert_eq!(
            s.verify(&old, end + 1, ISS, AUD),
            Err(TokenError::KeyRetired(k0.clone()))
        );
        // ...prune does nothing at the edge and drops it after.
        assert!(s.prune(end).is_empty());
        assert_eq!(s.prune(end + 1), vec![k0.clone()]);
        assert_eq!(
            s.verify(&old, end + 1, ISS, AUD),
            Err(TokenError::UnknownKid(k0.clone()))
        );
        assert_eq!(s.jwks()["keys"].as_array().unwrap().len(), 1);
        assert_eq!(s.jwks()["keys"][0]["kid"], json!(k1));

        // Late rotation: retention counts from when the key was actually retired.
        let mut s = TokenSigner::new(cfg, T0).unwrap();
        let k0 = s.active_kid().to_string();
        let late = T0 + 3 * cfg.rotation_period;
        let mut c = claims(late - 1);
        c.exp = c.iat + cfg.max_token_lifetime;
        let old = s.sign(&c).unwrap();
        s.rotate(late).unwrap();
        assert_eq!(s.kids().len(), 2, "old key kept after a late rotation");
        assert!(s.verify(&old, c.exp - 1, ISS, AUD).is_ok());
        assert_eq!(
            s.retention_end(&k0),
            Some(late + cfg.max_token_lifetime + cfg.leeway)
        );

        // Several rotations: each retired key has its own window; rotate prunes.
        let mut s = TokenSigner::new(cfg, T0).unwrap();
        let mut kids = vec![s.active_kid().to_string()];
        for i in 1..=4 {
            kids.push(s.rotate(T0 + i * cfg.rotation_period).unwrap());
        }
        // Retention window (1 h + 30 s) < rotation period (1 day): only the active key and the
        // one retired at this rotation remain.
        assert_eq!(s.kids(), kids[3..].to_vec());
    }
}

#[test]
fn pkcs8_export_import_round_trip() {
    for alg in ALGS {
        let cfg = config(alg);
        let mut s = TokenSigner::new(cfg, T0).unwrap();
        let old = s.sign(&claims(T0)).unwrap();
        s.rotate(T0 + 100).unwrap();
        let new = s.sign(&claims(T0 + 100)).unwrap();
        let exported = s.export_keys();
        assert_eq!(exported.len(), 2);
        assert!(!format!("{exported:?}").contains(&format!("{:?}", &exported[0].pkcs8[..8])));

        // Import in reverse order: the newest creation time is active again.
        let mut rev = exported.clone();
        rev.reverse();
        let s2 = TokenSigner::from_keys(cfg, rev).unwrap();
        assert_eq!(s2.active_kid(), s.active_kid());
        assert_eq!(s2.jwks(), s.jwks());
        assert_eq!(s2.export_keys(), exported);
        assert!(s2.verify(&old, T0 + 101, ISS, AUD).is_ok());
        assert!(s2.verify(&new, T0 + 101, ISS, AUD).is_ok());
        let t2 = s2.sign(&claims(T0 + 200)).unwrap();
        assert!(s.verify(&t2, T0 + 200, ISS, AUD).is_ok());

        // Refusals.
        assert_eq!(
            TokenSigner::from_keys(cfg, vec![]).unwrap_err(),
            TokenError::NoKeys
        );
        let mut bad = exported[0].clone();
        let last = bad.pkcs8.len() - 1;
        bad.pkcs8[last] ^= 1;
        let err = TokenSigner::from_keys(cfg, vec![bad]).unwrap_err();
        assert!(
            matches!(
                err,
                TokenError::InvalidPkcs8 { .. } | TokenError::KidMismatch { .. }
            ),
            "{err:?}"
        );
        let mut bad = exported[0].clone();
        bad.pkcs8.truncate(10);
        assert!(matches!(
            TokenSigner::from_keys(cfg, vec![bad]),
            Err(TokenError::InvalidPkcs8 { .. })
        ));
        let mut bad = exported[0].clone();
        bad.kid = exported[1].kid.clone();
        assert!(matches!(
            TokenSigner::from_keys(cfg, vec![bad]),
            Err(TokenError::KidMismatch { .. })
        ));
        assert!(matches!(
            TokenSigner::from_keys(cfg, vec![exported[0].clone(), exported[0].clone()]),
            Err(TokenError::DuplicateKid(_))
        ));
        let other = ALGS.into_iter().find(|a| *a != alg).unwrap();
        assert!(matches!(
            TokenSigner::from_keys(config(other), exported.clone()),
            Err(TokenError::ImportAlgorithm { .. })
        ));
        let mut wrong = exported[0].clone();
        wrong.algorithm = other;
        assert!(matches!(
            TokenSigner::from_keys(config(other), vec![wrong]),
            Err(TokenError::InvalidPkcs8 { .. })
        ));
    }
}

#[test]
fn structural_garbage_refused() {
    let s = TokenSigner::new(config(Algorithm::Es256), T0).unwrap();
    let big = "a".repeat(MAX_TOKEN_LEN + 1);
    assert_eq!(
        s.verify(&big, T0, ISS, AUD),
        Err(TokenError::TooLarge {
            len: MAX_TOKEN_LEN + 1,
            max: MAX_TOKEN_LEN
        })
    );
    let huge = ".".repeat(10 << 20);
    assert!(matches!(
        s.verify(&huge, T0, ISS, AUD),
        Err(TokenError::TooLarge { .. })
    ));
    for t in ["", ".", "..", "a.b", "a.b.c.d", "a..b", "...."] {
        let r = s.verify(t, T0, ISS, AUD);
        assert!(
            matches!(
                r,
                Err(TokenError::NotThreeParts | TokenError::Base64 { .. })
            ),
            "{t:?}: {r:?}"
        );
    }
    assert_eq!(
        s.verify("a.b.c.d", T0, ISS, AUD),
        Err(TokenError::NotThreeParts)
    );
    assert_eq!(
        s.verify("!!.e30.AA", T0, ISS, AUD),
        Err(TokenError::Base64 { part: "header" })
    );
    assert_eq!(
        s.verify("e30.!!.AA", T0, ISS, AUD),
        Err(TokenError::Base64 { part: "payload" })
    );
    assert!(matches!(
        s.verify_bytes(b"\xff\xfe.e30.AA", T0, ISS, AUD),
        Err(TokenError::Base64 { .. })
    ));
    // Non-canonical trailing bits ("e31" decodes like "e30" in lax decoders).
    assert_eq!(
        s.verify("e31.e30.AA", T0, ISS, AUD),
        Err(TokenError::Base64 { part: "header" })
    );
    // Header not JSON / not UTF-8 / not an object.
    for h in [
        &b"{"[..],
        b"\xff",
        b"[]",
        b"\"alg\"",
        b"{\"alg\":\"ES256\"} x",
    ] {
        let t = format!("{}.e30.AA", b64(h));
        assert!(
            matches!(s.verify(&t, T0, ISS, AUD), Err(TokenError::HeaderJson(_))),
            "{h:?}"
        );
    }
    // JSON bombs: deep nesting and many members in the header, all within the size limit.
    let deep = format!("{{\"alg\":{}{}}}", "[".repeat(3000), "]".repeat(3000));
    let t = format!("{}.e30.AA", b64(deep.as_bytes()));
    assert!(matches!(
        s.verify(&t, T0, ISS, AUD),
        Err(TokenError::HeaderJson(_))
    ));
    let deep = "[".repeat(6000);
    assert!(matches!(
        s.verify(&format!("{}.e30.AA", b64(deep.as_bytes())), T0, ISS, AUD),
        Err(TokenError::HeaderJson(_))
    ));
    let many: String = (0..500).map(|i| format!("\"m{i}\":0,")).collect();
    let h = format!("{{{many}\"alg\":\"ES256\"}}");
    let t = format!("{}.e30.AA", b64(h.as_bytes()));
    assert!(t.len() <= MAX_TOKEN_LEN);
    assert_eq!(
        s.verify(&t, T0, ISS, AUD),
        Err(TokenError::UnsupportedHeaderParameter("m0".into()))
    );
}

/// xorshift64*: deterministic, dependency-free test randomness.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_inputs_and_mutations_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for alg in ALGS {
        let s = TokenSigner::new(config(alg), T0).unwrap();
        let mut c = claims(T0);
        c.extra.insert(
            "elevations".into(),
            json!([{"scope": "pay", "until": T0 + 60}]),
        );
        let valid = s.sign(&c).unwrap();
        let (h, p, _) = split(&valid);
        let header_json = URL_SAFE_NO_PAD.decode(&h).unwrap();
        let payload_json = URL_SAFE_NO_PAD.decode(&p).unwrap();
        let alphabet = b"ABCabc0189-_.=+/ \x00\xff{}[]\":,";
        let mut accepted = 0;
        for round in 0..6000 {
            let mut t = valid.clone().into_bytes();
            match round % 6 {
                // Byte flips / replacements anywhere.
                0 => {
                    for _ in 0..=rng.below(4) {
                        let i = rng.below(t.len());
                        t[i] = alphabet[rng.below(alphabet.len())];
                    }
                }
                // Insertions and deletions.
                1 => {
                    for _ in 0..=rng.below(4) {
                        let i = rng.below(t.len() + 1);
                        if rng.below(2) == 0 && i < t.len() {
                            t.remove(i);
                        } else {
                            t.insert(i, alphabet[rng.below(alphabet.len())]);
                        }
                    }
                }
                // Truncation / duplication of a slice.
                2 => {
                    let a = rng.below(t.len());
                    let b = a + rng.below(t.len() - a + 1);
                    if rng.below(2) == 0 {
                        t.truncate(b);
                    } else {
                        let piece = t[a..b].to_vec();
                        t.extend_from_slice(&piece);
                    }
                }
                // Mutated JSON re-encoded (valid base64url, original signature).
                3 | 4 => {
                    let which = round % 6 == 3;
                    let mut j = if which {
                        header_json.clone()
                    } else {
                        payload_json.clone()
                    };
                    for _ in 0..=rng.below(3) {
                        let i = rng.below(j.len());
                        j[i] = alphabet[rng.below(alphabet.len())];
                    }
                    let (_, _, sig) = split(&valid);
                    t = if which {
                        format!("{}.{p}.{sig}", b64(&j)).into_bytes()
                    } else {
                        format!("{h}.{}.{sig}", b64(&j)).into_bytes()
                    };
                }
                // Pure random bytes of random length (sometimes dotted into three parts).
                _ => {
                    let n = rng.below(300);
                    t = (0..n).map(|_| rng.next() as u8).collect();
                    if n > 2 && rng.below(2) == 0 {
                        t[n / 3] = b'.';
                        t[2 * n / 3] = b'.';
                    }
                }
            }
            let now = T0 + rng.below(2000) as u64;
            let r = s.verify_bytes(&t, now, ISS, AUD);
            if let Ok(str_t) = std::str::from_utf8(&t) {
                assert_eq!(s.verify(str_t, now, ISS, AUD), r);
            }
            match r {
                Ok(got) => {
                    // Only a token whose signed bytes are unchanged can pass.
                    assert_eq!(got, c);
                    assert_eq!(
                        &t[..h.len() + 1 + p.len()],
                        &valid.as_bytes()[..h.len() + 1 + p.len()]
                    );
                    accepted += 1;
                }
                Err(e) => assert!(!e.to_string().is_empty()),
            }
        }
        // Mutations that hit nothing (e.g. replaced a byte with itself) still verify.
        assert!(accepted < 6000);
    }
}
