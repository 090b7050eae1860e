//! A throw-away X.509 PKI for attestation tests (built with `rcgen`).
//!
//! [`TestPki::new`] creates an ES256 root CA, an intermediate CA signed by it, and an unrelated
//! ("untrusted") root. [`TestPki::attestation_cert`] issues leaf certificates that meet the
//! packed attestation certificate requirements of WebAuthn §8.2.1 (version 3; subject C, O,
//! OU = "Authenticator Attestation", CN; basicConstraints CA=false; the non-critical
//! id-fido-gen-ce-aaguid extension 1.3.6.1.4.1.45724.1.1.4 holding `OCTET STRING (AAGUID)`),
//! or deliberately broken variants of them via [`LeafOptions`].

use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{self, EcdsaKeyPair, RsaKeyPair};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, CustomExtension, DnType, IsCa, KeyPair,
    KeyUsagePurpose, date_time_ymd,
};

use crate::cose::shared_rsa_key;

/// OID of the id-fido-gen-ce-aaguid certificate extension.
pub const AAGUID_EXTENSION_OID: [u64; 10] = [1, 3, 6, 1, 4, 1, 45724, 1, 1, 4];

/// Signature algorithm of an attestation certificate's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertAlg {
    /// ECDSA P-256 / SHA-256 (COSE -7).
    Es256,
    /// RSASSA-PKCS1-v1_5 / SHA-256 with the shared 2048-bit key (COSE -257).
    Rs256,
}

/// How the leaf carries the AAGUID extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AaguidExtension {
    /// Present, non-critical, equal to [`LeafOptions::aaguid`].
    Matching,
    /// Absent.
    Absent,
    /// Present, non-critical, holding this (different) AAGUID.
    Other([u8; 16]),
    /// Present with the right AAGUID but marked critical (forbidden by §8.2.1).
    Critical,
}

/// Which CA signs the leaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeafIssuer {
    /// The intermediate CA (chain: leaf, intermediate).
    Intermediate,
    /// The root CA directly (chain: leaf).
    Root,
    /// The untrusted root (chain: leaf); fails path validation against [`TestPki::root_der`].
    UntrustedRoot,
}

/// Parameters of an attestation leaf certificate. [`LeafOptions::new`] gives a valid one.
#[derive(Clone, Debug)]
pub struct LeafOptions {
    /// The AAGUID of the authenticator model.
    pub aaguid: [u8; 16],
    /// Key algorithm.
    pub alg: CertAlg,
    /// Subject C (ISO 3166 two-letter code).
    pub country: String,
    /// Subject O (vendor).
    pub organization: String,
    /// Subject OU; must be `"Authenticator Attestation"` for packed.
    pub organizational_unit: Option<String>,
    /// Subject CN.
    pub common_name: String,
    /// Emit basicConstraints CA=true instead of CA=false.
    pub ca: bool,
    /// Make the certificate expired (valid 2000-01-01 .. 2001-01-01).
    pub expired: bool,
    /// The AAGUID extension variant.
    pub aaguid_extension: AaguidExtension,
    /// The issuing CA.
    pub issuer: LeafIssuer,
}

impl LeafOptions {
    /// A valid ES256 packed attestation leaf for `aaguid`, issued by the intermediate.
    pub fn new(aaguid: [u8; 16]) -> Self {
        LeafOptions {
            aaguid,
            alg: CertAlg::Es256,
            country: "US".to_owned(),
            organization: "passkeyd Test Vendor".to_owned(),
            organizational_unit: Some("Authenticator Attestation".to_owned()),
            common_name: "passkeyd Test Authenticator".to_owned(),
            ca: false,
            expired: false,
            aaguid_extension: AaguidExtension::Matching,
            issuer: LeafIssuer::Intermediate,
        }
    }

    /// Uses an RS256 attestation key.
    pub fn rs256(mut self) -> Self {
        self.alg = CertAlg::Rs256;
        self
    }

    /// Makes the certificate expired.
    pub fn expired(mut self) -> Self {
        self.expired = true;
        self
    }

    /// Sets a wrong OU.
    pub fn wrong_ou(mut self) -> Self {
        self.organizational_unit = Some("Not Authenticator Attestation".to_owned());
        self
    }

    /// Marks the leaf as a CA.
    pub fn ca_leaf(mut self) -> Self {
        self.ca = true;
        self
    }

    /// Puts a different AAGUID into the extension.
    pub fn aaguid_mismatch(mut self, other: [u8; 16]) -> Self {
        self.aaguid_extension = AaguidExtension::Other(other);
        self
    }

    /// Signs the leaf with the untrusted root.
    pub fn untrusted(mut self) -> Self {
        self.issuer = LeafIssuer::UntrustedRoot;
        self
    }
}

enum AttKey {
    Ecdsa(EcdsaKeyPair),
    Rsa(&'static RsaKeyPair),
}

/// An attestation certificate chain plus the private key of its leaf.
#[derive(Clone)]
pub struct AttestationCert {
    chain: Vec<Vec<u8>>,
    key: Arc<AttKey>,
    alg: CertAlg,
}

impl std::fmt::Debug for AttestationCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttestationCert")
            .field("alg", &self.alg)
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl AttestationCert {
    /// The `x5c` chain: leaf DER first, then intermediates (never the root).
    pub fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    /// The leaf certificate DER.
    pub fn leaf_der(&self) -> &[u8] {
        &self.chain[0]
    }

    /// Replaces the `x5c` chain (e.g. to drop or reorder intermediates in negative tests).
    pub fn with_chain(mut self, chain: Vec<Vec<u8>>) -> Self {
        assert!(!chain.is_empty(), "x5c needs at least one certificate");
        self.chain = chain;
        self
    }

    /// The key algorithm.
    pub fn alg(&self) -> CertAlg {
        self.alg
    }

    /// The COSE identifier of the attestation signature algorithm (-7 or -257).
    pub fn cose_alg(&self) -> i64 {
        match self.alg {
            CertAlg::Es256 => -7,
            CertAlg::Rs256 => -257,
        }
    }

    /// Signs `msg` with the leaf key (ECDSA: ASN.1 DER signature; RSA: PKCS#1 v1.5 SHA-256).
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        match &*self.key {
            AttKey::Ecdsa(k) => k.sign(&rng, msg).expect("ECDSA sign").as_ref().to_vec(),
            AttKey::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &rng, msg, &mut sig)
                    .expect("RSA sign");
                sig
            }
        }
    }

    /// Signs `payload` as a compact JWS (ES256 or RS256 by key type) with this chain as `x5c`;
    /// this is what a FIDO MDS3 metadata BLOB looks like.
    pub fn sign_jwt(&self, payload: &[u8]) -> String {
        match &*self.key {
            AttKey::Ecdsa(k) => crate::jwt::sign_jwt_es256(&self.chain, payload, k),
            AttKey::Rsa(k) => crate::jwt::sign_jwt_rs256(&self.chain, payload, k),
        }
    }

    /// The leaf's ECDSA key (ASN.1 signing variant), if it is ES256.
    pub fn ecdsa_key(&self) -> Option<&EcdsaKeyPair> {
        match &*self.key {
            AttKey::Ecdsa(k) => Some(k),
            AttKey::Rsa(_) => None,
        }
    }
}

/// A root CA, an intermediate CA and an untrusted root, all ES256.
pub struct TestPki {
    root: CertifiedIssuer<'static, KeyPair>,
    intermediate: CertifiedIssuer<'static, KeyPair>,
    untrusted_root: CertifiedIssuer<'static, KeyPair>,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki").finish_non_exhaustive()
    }
}

impl Default for TestPki {
    fn default() -> Self {
        Self::new()
    }
}

fn ca_params(cn: &str, path_len: Option<u8>) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CountryName, "US");
    p.distinguished_name
        .push(DnType::OrganizationName, "passkeyd Test PKI");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(match path_len {
        Some(n) => BasicConstraints::Constrained(n),
        None => BasicConstraints::Unconstrained,
    });
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = date_time_ymd(2020, 1, 1);
    p.not_after = date_time_ymd(2099, 12, 31);
    p
}

fn ec_key() -> KeyPair {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("P-256 key")
}

impl TestPki {
    /// Creates the root, intermediate and untrusted root CAs.
    pub fn new() -> Self {
        let root = CertifiedIssuer::self_signed(ca_params("passkeyd Test Root CA", None), ec_key())
            .expect("root CA");
        let intermediate = CertifiedIssuer::signed_by(
            ca_params("passkeyd Test Intermediate CA", Some(0)),
            ec_key(),
            &root,
        )
        .expect("intermediate CA");
        let untrusted_root =
            CertifiedIssuer::self_signed(ca_params("passkeyd Untrusted Root CA", None), ec_key())
                .expect("untrusted root CA");
        TestPki {
            root,
            intermediate,
            untrusted_root,
        }
    }

    /// The trusted root certificate, DER.
    pub fn root_der(&self) -> Vec<u8> {
        self.root.der().to_vec()
    }

    /// The trusted root certificate, PEM.
    pub fn root_pem(&self) -> String {
        self.root.pem()
    }

    /// The intermediate CA certificate, DER.
    pub fn intermediate_der(&self) -> Vec<u8> {
        self.intermediate.der().to_vec()
    }

    /// The untrusted root certificate, DER.
    pub fn untrusted_root_der(&self) -> Vec<u8> {
        self.untrusted_root.der().to_vec()
    }

    /// An ES256 metadata-BLOB signing certificate (CN "passkeyd Test MDS Signer", no AAGUID
    /// extension) issued by the intermediate; chain: leaf, intermediate. Sign BLOBs with
    /// [`AttestationCert::sign_jwt`] and trust [`TestPki::root_der`].
    pub fn mds_signer(&self) -> AttestationCert {
        let mut o = LeafOptions::new([0; 16]);
        o.organizational_unit = Some("Metadata".to_owned());
        o.common_name = "passkeyd Test MDS Signer".to_owned();
        o.aaguid_extension = AaguidExtension::Absent;
        self.attestation_cert(&o)
    }

    /// The intermediate CA certificate, PEM.
    pub fn intermediate_pem(&self) -> String {
        self.intermediate.pem()
    }

    /// A valid ES256 packed attestation certificate for `aaguid` (chain: leaf, intermediate).
    pub fn attestation(&self, aaguid: [u8; 16]) -> AttestationCert {
        self.attestation_cert(&LeafOptions::new(aaguid))
    }

    /// Issues an attestation leaf certificate as described by `o`.
    pub fn attestation_cert(&self, o: &LeafOptions) -> AttestationCert {
        let mut p = CertificateParams::default();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name
            .push(DnType::CountryName, o.country.as_str());
        p.distinguished_name
            .push(DnType::OrganizationName, o.organization.as_str());
        if let Some(ou) = &o.organizational_unit {
            p.distinguished_name
                .push(DnType::OrganizationalUnitName, ou.as_str());
        }
        p.distinguished_name
            .push(DnType::CommonName, o.common_name.as_str());
        p.is_ca = if o.ca {
            IsCa::Ca(BasicConstraints::Unconstrained)
        } else {
            IsCa::ExplicitNoCa
        };
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        if o.expired {
            p.not_before = date_time_ymd(2000, 1, 1);
            p.not_after = date_time_ymd(2001, 1, 1);
        } else {
            p.not_before = date_time_ymd(2020, 1, 1);
            p.not_after = date_time_ymd(2099, 12, 31);
        }
        let ext_aaguid = match o.aaguid_extension {
            AaguidExtension::Absent => None,
            AaguidExtension::Matching | AaguidExtension::Critical => Some(o.aaguid),
            AaguidExtension::Other(a) => Some(a),
        };
        if let Some(a) = ext_aaguid {
            let mut content = vec![0x04, 0x10];
            content.extend_from_slice(&a);
            let mut ext = CustomExtension::from_oid_content(&AAGUID_EXTENSION_OID, content);
            ext.set_criticality(o.aaguid_extension == AaguidExtension::Critical);
            p.custom_extensions.push(ext);
        }

        let (rc_key, att_key) = match o.alg {
            CertAlg::Es256 => {
                let k = ec_key();
                let ec = EcdsaKeyPair::from_pkcs8(
                    &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                    k.serialized_der(),
                )
                .expect("P-256 PKCS#8");
                (k, AttKey::Ecdsa(ec))
            }
            CertAlg::Rs256 => {
                let rsa = shared_rsa_key();
                let der = rsa.as_der().expect("RSA PKCS#8");
                let k = KeyPair::from_pkcs8_der_and_sign_algo(
                    &der.as_ref().into(),
                    &rcgen::PKCS_RSA_SHA256,
                )
                .expect("RSA key into rcgen");
                (k, AttKey::Rsa(rsa))
            }
        };
        let (issuer, mut chain_tail) = match o.issuer {
            LeafIssuer::Intermediate => (&self.intermediate, vec![self.intermediate_der()]),
            LeafIssuer::Root => (&self.root, vec![]),
            LeafIssuer::UntrustedRoot => (&self.untrusted_root, vec![]),
        };
        let cert = p.signed_by(&rc_key, issuer).expect("leaf certificate");
        let mut chain = vec![cert.der().to_vec()];
        chain.append(&mut chain_tail);
        AttestationCert {
            chain,
            key: Arc::new(att_key),
            alg: o.alg,
        }
    }
}
