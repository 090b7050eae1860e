//! The software authenticator: one credential, registration and assertion responses.
//!
//! Byte layouts follow WebAuthn Level 3: authenticator data (§6.1), attested credential data
//! (§6.5.2), the attestation object (§6.5.4), `clientDataJSON` serialisation (§5.8.1.1) and the
//! `toJSON()` forms of `RegistrationResponseJSON` / `AuthenticationResponseJSON` (§5.1.8/§5.1.9).

use serde_json::{Map, Value, json};

use crate::cose::{Alg, KeyMaterial};
use crate::pki::AttestationCert;
use crate::{b64url, cbor, random_bytes, sha256};

/// Authenticator data flag: user present.
pub const FLAG_UP: u8 = 0x01;
/// Authenticator data flag: user verified.
pub const FLAG_UV: u8 = 0x04;
/// Authenticator data flag: backup eligible.
pub const FLAG_BE: u8 = 0x08;
/// Authenticator data flag: backup state.
pub const FLAG_BS: u8 = 0x10;
/// Authenticator data flag: attested credential data included.
pub const FLAG_AT: u8 = 0x40;
/// Authenticator data flag: extension data included.
pub const FLAG_ED: u8 = 0x80;

/// Which attestation statement a registration carries.
#[derive(Clone, Debug)]
pub enum AttestationKind {
    /// `fmt: "none"`, empty `attStmt`.
    None,
    /// `fmt: "packed"` self attestation: `{alg, sig}` signed by the credential key.
    PackedSelf,
    /// `fmt: "packed"` with a certificate chain: `{alg, sig, x5c}` signed by the attestation key.
    PackedX5c(AttestationCert),
    /// `fmt: "fido-u2f"`: `{sig, x5c: [cert]}`. Requires an [`Alg::Es256`] credential; the
    /// AAGUID in the authenticator data is forced to zero.
    FidoU2f(AttestationCert),
    /// `fmt: "compound"`: `attStmt` is an array of `{fmt, attStmt}` maps, one per entry.
    Compound(Vec<AttestationKind>),
}

impl AttestationKind {
    /// The attestation statement format identifier.
    pub fn fmt(&self) -> &'static str {
        match self {
            AttestationKind::None => "none",
            AttestationKind::PackedSelf | AttestationKind::PackedX5c(_) => "packed",
            AttestationKind::FidoU2f(_) => "fido-u2f",
            AttestationKind::Compound(_) => "compound",
        }
    }
}

/// A deliberate defect to put into a response.
///
/// Every tamper except [`Tamper::FlipSignatureBit`] is applied *before* signing, so the
/// signature stays valid over the bytes actually emitted: a verifier has to catch the defect
/// with its semantic checks, not with the signature check.
#[derive(Clone, Debug, PartialEq)]
pub enum Tamper {
    /// Flip the lowest bit of the last byte of the signature (for registrations: of the
    /// attestation signature, of the first statement for `compound`; no effect for `none`).
    FlipSignatureBit,
    /// Replace the 32-byte rpIdHash with these bytes (any length; it is spliced in as-is).
    RpIdHash(Vec<u8>),
    /// Emit this signature counter instead of the authenticator's (state is unchanged).
    CounterOverride(u32),
    /// Emit this flags byte instead of the computed one.
    FlagsOverride(u8),
    /// Use these bytes as `clientDataJSON` verbatim.
    ClientDataJsonOverride(Vec<u8>),
    /// Append a member `"name": value` to `clientDataJSON` after the spec-ordered ones.
    ExtraClientDataMember(String, Value),
    /// Use this string for the JSON `id` and `rawId`.
    IdOverride(String),
    /// Assertions: emit this `userHandle` (`None`: omit the member) regardless of
    /// `include_user_handle`.
    UserHandleOverride(Option<Vec<u8>>),
    /// Truncate the authenticator data to this many bytes (before signing).
    TruncateAuthData(usize),
    /// Registrations: write this value as the `alg` of every packed attestation statement
    /// (the signature itself is unchanged).
    AttestationAlgOverride(i64),
}

/// Inputs of a registration ceremony (`navigator.credentials.create()`).
#[derive(Clone, Debug)]
pub struct RegisterParams {
    /// The server's challenge (raw bytes; base64url-encoded into `clientDataJSON`).
    pub challenge: Vec<u8>,
    /// The RP ID whose SHA-256 goes into the authenticator data.
    pub rp_id: String,
    /// The calling origin.
    pub origin: String,
    /// `crossOrigin` in `clientDataJSON`; `None` omits the member (older clients).
    pub cross_origin: Option<bool>,
    /// `topOrigin` in `clientDataJSON`, emitted when `Some`.
    pub top_origin: Option<String>,
    /// `type` in `clientDataJSON`; `"webauthn.create"` by default.
    pub client_data_type: String,
    /// Set the UP flag.
    pub user_present: bool,
    /// Set the UV flag.
    pub user_verified: bool,
    /// The attestation statement to produce.
    pub attestation: AttestationKind,
    /// Authenticator extension outputs: an encoded CBOR map appended to the authenticator data;
    /// sets the ED flag.
    pub extensions_cbor: Option<Vec<u8>>,
    /// `clientExtensionResults` in the JSON (an object; `{}` by default).
    pub client_extension_results: Value,
    /// `response.transports` in the JSON.
    pub transports: Vec<String>,
    /// Defects to introduce.
    pub tamper: Vec<Tamper>,
}

impl RegisterParams {
    /// Defaults: browser-like same-origin ceremony (`crossOrigin: false`), UP and UV set,
    /// `none` attestation, transports `["internal", "hybrid"]`, no extensions, no tampering.
    pub fn new(challenge: impl Into<Vec<u8>>, rp_id: &str, origin: &str) -> Self {
        RegisterParams {
            challenge: challenge.into(),
            rp_id: rp_id.to_owned(),
            origin: origin.to_owned(),
            cross_origin: Some(false),
            top_origin: None,
            client_data_type: "webauthn.create".to_owned(),
            user_present: true,
            user_verified: true,
            attestation: AttestationKind::None,
            extensions_cbor: None,
            client_extension_results: Value::Object(Map::new()),
            transports: vec!["internal".to_owned(), "hybrid".to_owned()],
            tamper: Vec::new(),
        }
    }

    /// Sets the attestation kind.
    pub fn with_attestation(mut self, a: AttestationKind) -> Self {
        self.attestation = a;
        self
    }

    /// Adds a tamper.
    pub fn with_tamper(mut self, t: Tamper) -> Self {
        self.tamper.push(t);
        self
    }
}

impl Default for RegisterParams {
    /// A random 32-byte challenge for RP `example.com` at `https://example.com`.
    fn default() -> Self {
        RegisterParams::new(random_bytes(32), "example.com", "https://example.com")
    }
}

/// Inputs of an authentication ceremony (`navigator.credentials.get()`).
#[derive(Clone, Debug)]
pub struct AssertParams {
    /// The server's challenge (raw bytes).
    pub challenge: Vec<u8>,
    /// The RP ID whose SHA-256 goes into the authenticator data.
    pub rp_id: String,
    /// The calling origin.
    pub origin: String,
    /// `crossOrigin` in `clientDataJSON`; `None` omits the member.
    pub cross_origin: Option<bool>,
    /// `topOrigin` in `clientDataJSON`, emitted when `Some`.
    pub top_origin: Option<String>,
    /// `type` in `clientDataJSON`; `"webauthn.get"` by default.
    pub client_data_type: String,
    /// Set the UP flag.
    pub user_present: bool,
    /// Set the UV flag.
    pub user_verified: bool,
    /// Emit `response.userHandle` (discoverable-credential style).
    pub include_user_handle: bool,
    /// Authenticator extension outputs (encoded CBOR map); sets the ED flag.
    pub extensions_cbor: Option<Vec<u8>>,
    /// `clientExtensionResults` in the JSON (`{}` by default).
    pub client_extension_results: Value,
    /// Defects to introduce.
    pub tamper: Vec<Tamper>,
}

impl AssertParams {
    /// Defaults: `crossOrigin: false`, UP and UV set, user handle included, no extensions.
    pub fn new(challenge: impl Into<Vec<u8>>, rp_id: &str, origin: &str) -> Self {
        AssertParams {
            challenge: challenge.into(),
            rp_id: rp_id.to_owned(),
            origin: origin.to_owned(),
            cross_origin: Some(false),
            top_origin: None,
            client_data_type: "webauthn.get".to_owned(),
            user_present: true,
            user_verified: true,
            include_user_handle: true,
            extensions_cbor: None,
            client_extension_results: Value::Object(Map::new()),
            tamper: Vec::new(),
        }
    }

    /// Adds a tamper.
    pub fn with_tamper(mut self, t: Tamper) -> Self {
        self.tamper.push(t);
        self
    }
}

impl Default for AssertParams {
    /// A random 32-byte challenge for RP `example.com` at `https://example.com`.
    fn default() -> Self {
        AssertParams::new(random_bytes(32), "example.com", "https://example.com")
    }
}

/// The output of [`SoftAuthenticator::register`].
#[derive(Clone, Debug)]
pub struct Registration {
    /// `RegistrationResponseJSON`, as `PublicKeyCredential.toJSON()` returns it.
    pub json: Value,
    /// The exact `clientDataJSON` bytes.
    pub client_data_json: Vec<u8>,
    /// The CBOR attestation object `{fmt, attStmt, authData}`.
    pub attestation_object: Vec<u8>,
    /// The authenticator data inside the attestation object.
    pub auth_data: Vec<u8>,
    /// The credential id (as stored in the authenticator data, not affected by `IdOverride`).
    pub credential_id: Vec<u8>,
    /// The credential's `COSE_Key`.
    pub cose_public_key: Vec<u8>,
}

/// The output of [`SoftAuthenticator::assert`].
#[derive(Clone, Debug)]
pub struct Assertion {
    /// `AuthenticationResponseJSON`, as `PublicKeyCredential.toJSON()` returns it.
    pub json: Value,
    /// The exact `clientDataJSON` bytes.
    pub client_data_json: Vec<u8>,
    /// The authenticator data.
    pub auth_data: Vec<u8>,
    /// The assertion signature over `auth_data || SHA-256(client_data_json)`.
    pub signature: Vec<u8>,
    /// The user handle emitted in the JSON, if any.
    pub user_handle: Option<Vec<u8>>,
}

/// A software authenticator holding a single credential.
///
/// Keys are generated once in [`SoftAuthenticator::new`] (RSA algorithms share one key per
/// process); the `COSE_Key` is cached, so each assertion costs one signature.
pub struct SoftAuthenticator {
    alg: Alg,
    cose_alg: i64,
    key: KeyMaterial,
    cose_key: Vec<u8>,
    credential_id: Vec<u8>,
    aaguid: [u8; 16],
    counter: u32,
    counter_step: u32,
    user_handle: Vec<u8>,
    backup_eligible: bool,
    backup_state: bool,
    attachment: Option<String>,
}

impl std::fmt::Debug for SoftAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftAuthenticator")
            .field("alg", &self.alg)
            .field("credential_id", &b64url(&self.credential_id))
            .field("counter", &self.counter)
            .finish_non_exhaustive()
    }
}

impl SoftAuthenticator {
    /// A new credential for `alg`: fresh key pair, random 16..=32-byte credential id, random
    /// AAGUID and 16-byte user handle, counter 0 incremented by 1 per assertion, BE and BS
    /// unset, attachment `"platform"`.
    pub fn new(alg: Alg) -> Self {
        Self::with_key(alg, KeyMaterial::generate(alg))
    }

    /// Like [`SoftAuthenticator::new`] but with a given PKCS#8 private key (as written by
    /// [`SoftAuthenticator::private_key_pkcs8`]), for reproducible fixtures. Ed448 keys use the
    /// RFC 8410 encoding; RSA keys may be of any size aws-lc-rs accepts.
    pub fn from_pkcs8(alg: Alg, pkcs8: &[u8]) -> Result<Self, String> {
        Ok(Self::with_key(alg, KeyMaterial::from_pkcs8(alg, pkcs8)?))
    }

    fn with_key(alg: Alg, key: KeyMaterial) -> Self {
        let cose_key = key.cose_key(alg, alg.cose_id());
        let mut len = [0u8; 1];
        aws_lc_rs::rand::fill(&mut len).expect("system RNG failed");
        let id_len = 16 + usize::from(len[0] % 17);
        let mut aaguid = [0u8; 16];
        aws_lc_rs::rand::fill(&mut aaguid).expect("system RNG failed");
        SoftAuthenticator {
            alg,
            cose_alg: alg.cose_id(),
            key,
            cose_key,
            credential_id: random_bytes(id_len),
            aaguid,
            counter: 0,
            counter_step: 1,
            user_handle: random_bytes(16),
            backup_eligible: false,
            backup_state: false,
            attachment: Some("platform".to_owned()),
        }
    }

    /// Overrides the COSE algorithm identifier written into the `COSE_Key` (label 3),
    /// `publicKeyAlgorithm` and packed self attestation's `alg`, without changing how
    /// signatures are made. Use it for fully-specified identifiers (Ed25519 -19, Ed448 -53,
    /// ESP256 -9, ...) or for deliberately mismatched ones.
    pub fn with_cose_alg(mut self, cose_alg: i64) -> Self {
        self.cose_alg = cose_alg;
        self.cose_key = self.key.cose_key(self.alg, cose_alg);
        self
    }

    /// Sets the credential id.
    pub fn with_credential_id(mut self, id: Vec<u8>) -> Self {
        self.credential_id = id;
        self
    }

    /// Sets the AAGUID.
    pub fn with_aaguid(mut self, aaguid: [u8; 16]) -> Self {
        self.aaguid = aaguid;
        self
    }

    /// Sets the user handle (emitted in assertions when requested).
    pub fn with_user_handle(mut self, user_handle: Vec<u8>) -> Self {
        self.user_handle = user_handle;
        self
    }

    /// Sets the current signature counter (registration emits it as-is).
    pub fn with_counter(mut self, counter: u32) -> Self {
        self.counter = counter;
        self
    }

    /// Sets how much each assertion advances the counter (0: a counter-less authenticator).
    pub fn with_counter_step(mut self, step: u32) -> Self {
        self.counter_step = step;
        self
    }

    /// Sets the backup eligibility (BE) and backup state (BS) flags.
    pub fn with_backup(mut self, be: bool, bs: bool) -> Self {
        self.backup_eligible = be;
        self.backup_state = bs;
        self
    }

    /// Sets `authenticatorAttachment` (`"platform"`, `"cross-platform"`, or `None` to omit it).
    pub fn with_attachment(mut self, attachment: Option<&str>) -> Self {
        self.attachment = attachment.map(str::to_owned);
        self
    }

    /// The credential's algorithm.
    pub fn alg(&self) -> Alg {
        self.alg
    }

    /// The COSE algorithm identifier the credential advertises (see
    /// [`SoftAuthenticator::with_cose_alg`]).
    pub fn cose_alg(&self) -> i64 {
        self.cose_alg
    }

    /// The private key as PKCS#8 DER (see [`SoftAuthenticator::from_pkcs8`]).
    pub fn private_key_pkcs8(&self) -> Vec<u8> {
        self.key.to_pkcs8()
    }

    /// The credential id.
    pub fn credential_id(&self) -> &[u8] {
        &self.credential_id
    }

    /// The AAGUID.
    pub fn aaguid(&self) -> [u8; 16] {
        self.aaguid
    }

    /// The user handle.
    pub fn user_handle(&self) -> &[u8] {
        &self.user_handle
    }

    /// The current signature counter (the value of the last response).
    pub fn counter(&self) -> u32 {
        self.counter
    }

    /// The credential public key as a CBOR `COSE_Key`.
    pub fn cose_public_key(&self) -> Vec<u8> {
        self.cose_key.clone()
    }

    /// The credential public key as `SubjectPublicKeyInfo` DER.
    pub fn public_key_spki_der(&self) -> Vec<u8> {
        self.key.spki_der()
    }

    /// Signs arbitrary bytes with the credential key (signature in WebAuthn form).
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        self.key.sign(self.alg, msg)
    }

    /// Produces a registration (attestation) response.
    pub fn register(&mut self, p: &RegisterParams) -> Registration {
        let cdj = client_data_json(
            &p.client_data_type,
            &p.challenge,
            &p.origin,
            p.cross_origin,
            p.top_origin.as_deref(),
            &p.tamper,
        );
        let cdh = sha256(&cdj);
        let aaguid = match p.attestation {
            AttestationKind::FidoU2f(_) => [0u8; 16],
            _ => self.aaguid,
        };
        let mut flags = self.base_flags(p.user_present, p.user_verified) | FLAG_AT;
        if p.extensions_cbor.is_some() {
            flags |= FLAG_ED;
        }
        let rp_id_hash = sha256(p.rp_id.as_bytes());
        let auth_data = build_auth_data(
            &rp_id_hash,
            flags,
            self.counter,
            Some((&aaguid, &self.credential_id, &self.cose_key)),
            p.extensions_cbor.as_deref(),
            &p.tamper,
        );
        let flip = p.tamper.contains(&Tamper::FlipSignatureBit);
        let mut att_obj = Vec::with_capacity(auth_data.len() + 512);
        cbor::map(&mut att_obj, 3);
        cbor::text(&mut att_obj, "fmt");
        cbor::text(&mut att_obj, p.attestation.fmt());
        cbor::text(&mut att_obj, "attStmt");
        let mut flip_pending = flip;
        let alg_override = p.tamper.iter().rev().find_map(|t| match t {
            Tamper::AttestationAlgOverride(a) => Some(*a),
            _ => None,
        });
        self.write_att_stmt(
            &mut att_obj,
            &p.attestation,
            &auth_data,
            &cdh,
            &mut flip_pending,
            alg_override,
        );
        cbor::text(&mut att_obj, "authData");
        cbor::bytes(&mut att_obj, &auth_data);

        let id = self.json_id(&p.tamper);
        let mut response = Map::new();
        response.insert("clientDataJSON".into(), b64url(&cdj).into());
        response.insert("attestationObject".into(), b64url(&att_obj).into());
        response.insert("authenticatorData".into(), b64url(&auth_data).into());
        response.insert("publicKey".into(), b64url(&self.key.spki_der()).into());
        response.insert("publicKeyAlgorithm".into(), self.cose_alg.into());
        response.insert("transports".into(), json!(p.transports));
        let json = self.credential_json(id, response, &p.client_extension_results);
        Registration {
            json,
            client_data_json: cdj,
            attestation_object: att_obj,
            auth_data,
            credential_id: self.credential_id.clone(),
            cose_public_key: self.cose_key.clone(),
        }
    }

    /// Produces an authentication (assertion) response; advances the counter by the step.
    pub fn assert(&mut self, p: &AssertParams) -> Assertion {
        self.counter = self.counter.wrapping_add(self.counter_step);
        let cdj = client_data_json(
            &p.client_data_type,
            &p.challenge,
            &p.origin,
            p.cross_origin,
            p.top_origin.as_deref(),
            &p.tamper,
        );
        let mut flags = self.base_flags(p.user_present, p.user_verified);
        if p.extensions_cbor.is_some() {
            flags |= FLAG_ED;
        }
        let rp_id_hash = sha256(p.rp_id.as_bytes());
        let mut auth_data = build_auth_data(
            &rp_id_hash,
            flags,
            self.counter,
            None,
            p.extensions_cbor.as_deref(),
            &p.tamper,
        );
        let auth_len = auth_data.len();
        auth_data.extend_from_slice(&sha256(&cdj));
        let mut signature = self.key.sign(self.alg, &auth_data);
        auth_data.truncate(auth_len);
        if p.tamper.contains(&Tamper::FlipSignatureBit) {
            flip_last_bit(&mut signature);
        }
        let mut user_handle = p.include_user_handle.then(|| self.user_handle.clone());
        for t in &p.tamper {
            if let Tamper::UserHandleOverride(u) = t {
                user_handle = u.clone();
            }
        }

        let id = self.json_id(&p.tamper);
        let mut response = Map::new();
        response.insert("clientDataJSON".into(), b64url(&cdj).into());
        response.insert("authenticatorData".into(), b64url(&auth_data).into());
        response.insert("signature".into(), b64url(&signature).into());
        if let Some(u) = &user_handle {
            response.insert("userHandle".into(), b64url(u).into());
        }
        let json = self.credential_json(id, response, &p.client_extension_results);
        Assertion {
            json,
            client_data_json: cdj,
            auth_data,
            signature,
            user_handle,
        }
    }

    fn base_flags(&self, up: bool, uv: bool) -> u8 {
        let mut f = 0;
        if up {
            f |= FLAG_UP;
        }
        if uv {
            f |= FLAG_UV;
        }
        if self.backup_eligible {
            f |= FLAG_BE;
        }
        if self.backup_state {
            f |= FLAG_BS;
        }
        f
    }

    fn json_id(&self, tamper: &[Tamper]) -> String {
        tamper
            .iter()
            .rev()
            .find_map(|t| match t {
                Tamper::IdOverride(s) => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_else(|| b64url(&self.credential_id))
    }

    fn credential_json(&self, id: String, response: Map<String, Value>, ext: &Value) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), Value::String(id.clone()));
        m.insert("rawId".into(), Value::String(id));
        m.insert("type".into(), "public-key".into());
        m.insert("response".into(), Value::Object(response));
        m.insert("clientExtensionResults".into(), ext.clone());
        if let Some(a) = &self.attachment {
            m.insert("authenticatorAttachment".into(), a.clone().into());
        }
        Value::Object(m)
    }

    /// Writes the `attStmt` value for `kind` into `out`.
    fn write_att_stmt(
        &self,
        out: &mut Vec<u8>,
        kind: &AttestationKind,
        auth_data: &[u8],
        cdh: &[u8; 32],
        flip: &mut bool,
        alg_override: Option<i64>,
    ) {
        let mut signed = Vec::with_capacity(auth_data.len() + 32);
        signed.extend_from_slice(auth_data);
        signed.extend_from_slice(cdh);
        let mut maybe_flip = |sig: &mut Vec<u8>| {
            if std::mem::take(flip) {
                flip_last_bit(sig);
            }
        };
        match kind {
            AttestationKind::None => cbor::map(out, 0),
            AttestationKind::PackedSelf => {
                let mut sig = self.key.sign(self.alg, &signed);
                maybe_flip(&mut sig);
                cbor::map(out, 2);
                cbor::text(out, "alg");
                cbor::int(out, alg_override.unwrap_or(self.cose_alg));
                cbor::text(out, "sig");
                cbor::bytes(out, &sig);
            }
            AttestationKind::PackedX5c(cert) => {
                let mut sig = cert.sign(&signed);
                maybe_flip(&mut sig);
                cbor::map(out, 3);
                cbor::text(out, "alg");
                cbor::int(out, alg_override.unwrap_or(cert.cose_alg()));
                cbor::text(out, "sig");
                cbor::bytes(out, &sig);
                cbor::text(out, "x5c");
                cbor::array(out, cert.chain().len());
                for c in cert.chain() {
                    cbor::bytes(out, c);
                }
            }
            AttestationKind::FidoU2f(cert) => {
                assert_eq!(
                    self.alg,
                    Alg::Es256,
                    "fido-u2f attestation needs an ES256 credential"
                );
                // 0x00 || rpIdHash || clientDataHash || credentialId || 0x04 || x || y
                let point = self.key.public_raw();
                let rp_id_hash = auth_data.get(..32).unwrap_or(auth_data);
                let mut data = Vec::with_capacity(1 + 32 + 32 + self.credential_id.len() + 65);
                data.push(0);
                data.extend_from_slice(rp_id_hash);
                data.extend_from_slice(cdh);
                data.extend_from_slice(&self.credential_id);
                data.extend_from_slice(&point);
                let mut sig = cert.sign(&data);
                maybe_flip(&mut sig);
                cbor::map(out, 2);
                cbor::text(out, "sig");
                cbor::bytes(out, &sig);
                cbor::text(out, "x5c");
                cbor::array(out, 1);
                cbor::bytes(out, cert.leaf_der());
            }
            AttestationKind::Compound(list) => {
                cbor::array(out, list.len());
                for sub in list {
                    cbor::map(out, 2);
                    cbor::text(out, "fmt");
                    cbor::text(out, sub.fmt());
                    cbor::text(out, "attStmt");
                    self.write_att_stmt(out, sub, auth_data, cdh, flip, alg_override);
                }
            }
        }
    }
}

fn flip_last_bit(sig: &mut [u8]) {
    if let Some(b) = sig.last_mut() {
        *b ^= 0x01;
    }
}

/// Builds authenticator data, applying the auth-data tampers.
fn build_auth_data(
    rp_id_hash: &[u8; 32],
    mut flags: u8,
    mut counter: u32,
    attested: Option<(&[u8; 16], &[u8], &[u8])>,
    extensions: Option<&[u8]>,
    tamper: &[Tamper],
) -> Vec<u8> {
    let mut rp: &[u8] = rp_id_hash;
    let mut truncate = None;
    for t in tamper {
        match t {
            Tamper::RpIdHash(h) => rp = h,
            Tamper::CounterOverride(c) => counter = *c,
            Tamper::FlagsOverride(f) => flags = *f,
            Tamper::TruncateAuthData(n) => truncate = Some(*n),
            _ => {}
        }
    }
    let extra = attested.map_or(0, |(_, id, key)| 18 + id.len() + key.len());
    // + 32 so the caller can append the client data hash without reallocating.
    let mut out = Vec::with_capacity(37 + extra + extensions.map_or(0, <[u8]>::len) + 32);
    out.extend_from_slice(rp);
    out.push(flags);
    out.extend_from_slice(&counter.to_be_bytes());
    if let Some((aaguid, id, key)) = attested {
        out.extend_from_slice(aaguid);
        out.extend_from_slice(&(id.len() as u16).to_be_bytes());
        out.extend_from_slice(id);
        out.extend_from_slice(key);
    }
    if let Some(ext) = extensions {
        out.extend_from_slice(ext);
    }
    if let Some(n) = truncate {
        out.truncate(n);
    }
    out
}

/// Serialises `clientDataJSON` the way §5.8.1.1 prescribes (type, challenge, origin,
/// crossOrigin, topOrigin, then any extra members), applying the client-data tampers.
fn client_data_json(
    ty: &str,
    challenge: &[u8],
    origin: &str,
    cross_origin: Option<bool>,
    top_origin: Option<&str>,
    tamper: &[Tamper],
) -> Vec<u8> {
    if let Some(o) = tamper.iter().rev().find_map(|t| match t {
        Tamper::ClientDataJsonOverride(b) => Some(b),
        _ => None,
    }) {
        return o.clone();
    }
    let mut s = String::with_capacity(128 + origin.len());
    s.push_str("{\"type\":");
    ccd_string(&mut s, ty);
    s.push_str(",\"challenge\":");
    ccd_string(&mut s, &b64url(challenge));
    s.push_str(",\"origin\":");
    ccd_string(&mut s, origin);
    if let Some(c) = cross_origin {
        s.push_str(if c {
            ",\"crossOrigin\":true"
        } else {
            ",\"crossOrigin\":false"
        });
    }
    if let Some(t) = top_origin {
        s.push_str(",\"topOrigin\":");
        ccd_string(&mut s, t);
    }
    for t in tamper {
        if let Tamper::ExtraClientDataMember(k, v) = t {
            s.push(',');
            ccd_string(&mut s, k);
            s.push(':');
            s.push_str(&v.to_string());
        }
    }
    s.push('}');
    s.into_bytes()
}

/// CCDToString: quote, escaping `"` and `\` with a backslash and control characters as
/// `\uXXXX` (lower-case hex); everything else is copied as UTF-8.
fn ccd_string(out: &mut String, v: &str) {
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                use std::fmt::Write as _;
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
