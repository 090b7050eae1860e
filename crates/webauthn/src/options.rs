//! Option builders for both ceremonies (§5.4 creation options, §5.5 request options).
//!
//! Each builder returns the options for the browser **and** the state the server must keep
//! until the response comes back ([`RegistrationState`], [`AuthenticationState`]); the state is
//! plain serialisable data, so where it lives (memory, Redis, a signed cookie) is the caller's
//! choice. Challenges are 32 bytes from AWS-LC's CSPRNG.

use crate::cose::CoseAlgorithm;
use crate::extensions::RequestedExtensions;
use crate::json::*;
use serde::{Deserialize, Serialize};

/// Length of generated challenges, in bytes.
pub const CHALLENGE_LEN: usize = 32;

/// The default `pubKeyCredParams` order: EdDSA, ES256, RS256 (what the spec's examples and
/// most relying parties offer; ML-DSA can be added with [`CreationOptionsBuilder::algorithms`]).
pub const DEFAULT_ALGORITHMS: [CoseAlgorithm; 3] = [
    CoseAlgorithm::EdDsa,
    CoseAlgorithm::Es256,
    CoseAlgorithm::Rs256,
];

/// A fresh random challenge.
pub fn new_challenge() -> [u8; CHALLENGE_LEN] {
    let mut c = [0u8; CHALLENGE_LEN];
    // AWS-LC's RNG fails only if the operating system cannot provide entropy, in which case
    // no secure operation is possible; abort rather than hand out a predictable challenge.
    #[allow(clippy::expect_used)]
    aws_lc_rs::rand::fill(&mut c).expect("operating system RNG unavailable");
    c
}

/// What the server keeps between `register/start` and `register/finish`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationState {
    /// The challenge sent.
    #[serde(with = "crate::b64::serde_bytes")]
    pub challenge: Vec<u8>,
    /// The user handle of the account being registered.
    #[serde(with = "crate::b64::serde_bytes")]
    pub user_handle: Vec<u8>,
    /// The user verification requirement.
    pub user_verification: UserVerificationRequirement,
    /// The COSE algorithms offered.
    pub algorithms: Vec<i64>,
    /// A conditional create (passkey upgrade): UP may be absent (§7.1 step 15).
    pub conditional: bool,
    /// Requested extensions.
    pub extensions: RequestedExtensions,
}

/// What the server keeps between `auth/start` and `auth/finish`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthenticationState {
    /// The challenge sent.
    #[serde(with = "crate::b64::serde_bytes")]
    pub challenge: Vec<u8>,
    /// The user verification requirement.
    pub user_verification: UserVerificationRequirement,
    /// The credential ids in allowCredentials (empty: discoverable).
    pub allow_credentials: Vec<Vec<u8>>,
    /// The user handle when the user was identified before the ceremony (by username or
    /// cookie); `None` for a discoverable (username-less) ceremony.
    pub identified_user: Option<Vec<u8>>,
    /// Requested extensions.
    pub extensions: RequestedExtensions,
}

/// Builds `PublicKeyCredentialCreationOptionsJSON`.
#[derive(Debug, Clone)]
pub struct CreationOptionsBuilder {
    rp: RpEntity,
    user: UserEntityJSON,
    algorithms: Vec<CoseAlgorithm>,
    exclude: Vec<CredentialDescriptorJSON>,
    selection: AuthenticatorSelection,
    hints: Vec<PublicKeyCredentialHint>,
    timeout: Option<u32>,
    attestation: AttestationConveyance,
    attestation_formats: Vec<String>,
    extensions: RequestedExtensions,
    conditional: bool,
    challenge: Option<Vec<u8>>,
}

impl CreationOptionsBuilder {
    /// Options for registering a credential for `user` with the relying party `rp_id`/`rp_name`.
    /// Defaults: EdDSA, ES256, RS256; a discoverable credential preferred; user verification
    /// preferred; 5 minutes; no attestation.
    pub fn new(
        rp_id: &str,
        rp_name: &str,
        user_handle: &[u8],
        name: &str,
        display_name: &str,
    ) -> Self {
        Self {
            rp: RpEntity {
                id: Some(rp_id.to_string()),
                name: rp_name.to_string(),
            },
            user: UserEntityJSON {
                id: user_handle.to_vec(),
                name: name.to_string(),
                display_name: display_name.to_string(),
            },
            algorithms: DEFAULT_ALGORITHMS.to_vec(),
            exclude: Vec::new(),
            selection: AuthenticatorSelection {
                authenticator_attachment: None,
                resident_key: Some(ResidentKeyRequirement::Preferred),
                require_resident_key: false,
                user_verification: Some(UserVerificationRequirement::Preferred),
            },
            hints: Vec::new(),
            timeout: Some(300_000),
            attestation: AttestationConveyance::None,
            attestation_formats: Vec::new(),
            extensions: RequestedExtensions::default(),
            conditional: false,
            challenge: None,
        }
    }

    /// `pubKeyCredParams` in this preference order.
    pub fn algorithms(mut self, algs: &[CoseAlgorithm]) -> Self {
        self.algorithms = algs.to_vec();
        self
    }

    /// Credentials the user already holds (the authenticator will not create a second one).
    pub fn exclude_credentials(mut self, creds: Vec<CredentialDescriptorJSON>) -> Self {
        self.exclude = creds;
        self
    }

    /// Resident key requirement.
    pub fn resident_key(mut self, rk: ResidentKeyRequirement) -> Self {
        self.selection.resident_key = Some(rk);
        self.selection.require_resident_key = rk == ResidentKeyRequirement::Required;
        self
    }

    /// User verification requirement.
    pub fn user_verification(mut self, uv: UserVerificationRequirement) -> Self {
        self.selection.user_verification = Some(uv);
        self
    }

    /// Authenticator attachment.
    pub fn attachment(mut self, a: Option<AuthenticatorAttachment>) -> Self {
        self.selection.authenticator_attachment = a;
        self
    }

    /// UI hints.
    pub fn hints(mut self, hints: Vec<PublicKeyCredentialHint>) -> Self {
        self.hints = hints;
        self
    }

    /// Timeout in milliseconds.
    pub fn timeout(mut self, ms: Option<u32>) -> Self {
        self.timeout = ms;
        self
    }

    /// Attestation conveyance and preferred formats.
    pub fn attestation(mut self, a: AttestationConveyance, formats: Vec<String>) -> Self {
        self.attestation = a;
        self.attestation_formats = formats;
        self
    }

    /// Requested extensions.
    pub fn extensions(mut self, e: RequestedExtensions) -> Self {
        self.extensions = e;
        self
    }

    /// A conditional create (automatic passkey upgrade): the response may lack UP.
    pub fn conditional(mut self, yes: bool) -> Self {
        self.conditional = yes;
        self
    }

    /// Use this challenge instead of a random one (tests and replays only).
    pub fn challenge(mut self, c: Vec<u8>) -> Self {
        self.challenge = Some(c);
        self
    }

    /// The options for the browser and the state to keep.
    pub fn build(self) -> (PublicKeyCredentialCreationOptionsJSON, RegistrationState) {
        let challenge = self.challenge.unwrap_or_else(|| new_challenge().to_vec());
        let uv = self.selection.user_verification.unwrap_or_default();
        let state = RegistrationState {
            challenge: challenge.clone(),
            user_handle: self.user.id.clone(),
            user_verification: uv,
            algorithms: self.algorithms.iter().map(|a| a.id()).collect(),
            conditional: self.conditional,
            extensions: self.extensions.clone(),
        };
        let options = PublicKeyCredentialCreationOptionsJSON {
            rp: self.rp,
            user: self.user,
            challenge,
            pub_key_cred_params: self
                .algorithms
                .iter()
                .map(|a| PubKeyCredParam {
                    ty: CredentialType::PublicKey,
                    alg: a.id(),
                })
                .collect(),
            timeout: self.timeout,
            exclude_credentials: self.exclude,
            authenticator_selection: Some(self.selection),
            hints: self.hints,
            attestation: self.attestation,
            attestation_formats: self.attestation_formats,
            extensions: self.extensions.registration_json(),
        };
        (options, state)
    }
}

/// Builds `PublicKeyCredentialRequestOptionsJSON`.
#[derive(Debug, Clone)]
pub struct RequestOptionsBuilder {
    rp_id: String,
    allow: Vec<CredentialDescriptorJSON>,
    identified_user: Option<Vec<u8>>,
    user_verification: UserVerificationRequirement,
    hints: Vec<PublicKeyCredentialHint>,
    timeout: Option<u32>,
    extensions: RequestedExtensions,
    challenge: Option<Vec<u8>>,
}

impl RequestOptionsBuilder {
    /// A discoverable (username-less) request: empty allowCredentials. Also the form for
    /// passkey autofill (`mediation: "conditional"` is set by the page, not the options).
    pub fn discoverable(rp_id: &str) -> Self {
        Self {
            rp_id: rp_id.to_string(),
            allow: Vec::new(),
            identified_user: None,
            user_verification: UserVerificationRequirement::Preferred,
            hints: Vec::new(),
            timeout: Some(300_000),
            extensions: RequestedExtensions::default(),
            challenge: None,
        }
    }

    /// A request for an identified user, listing that user's credentials.
    pub fn for_user(
        rp_id: &str,
        user_handle: &[u8],
        credentials: Vec<CredentialDescriptorJSON>,
    ) -> Self {
        Self {
            allow: credentials,
            identified_user: Some(user_handle.to_vec()),
            ..Self::discoverable(rp_id)
        }
    }

    /// User verification requirement.
    pub fn user_verification(mut self, uv: UserVerificationRequirement) -> Self {
        self.user_verification = uv;
        self
    }

    /// UI hints.
    pub fn hints(mut self, hints: Vec<PublicKeyCredentialHint>) -> Self {
        self.hints = hints;
        self
    }

    /// Timeout in milliseconds.
    pub fn timeout(mut self, ms: Option<u32>) -> Self {
        self.timeout = ms;
        self
    }

    /// Requested extensions.
    pub fn extensions(mut self, e: RequestedExtensions) -> Self {
        self.extensions = e;
        self
    }

    /// Use this challenge instead of a random one (tests and replays only).
    pub fn challenge(mut self, c: Vec<u8>) -> Self {
        self.challenge = Some(c);
        self
    }

    /// The options for the browser and the state to keep.
    pub fn build(self) -> (PublicKeyCredentialRequestOptionsJSON, AuthenticationState) {
        let challenge = self.challenge.unwrap_or_else(|| new_challenge().to_vec());
        let state = AuthenticationState {
            challenge: challenge.clone(),
            user_verification: self.user_verification,
            allow_credentials: self.allow.iter().map(|c| c.id.clone()).collect(),
            identified_user: self.identified_user,
            extensions: self.extensions.clone(),
        };
        let options = PublicKeyCredentialRequestOptionsJSON {
            challenge,
            timeout: self.timeout,
            rp_id: Some(self.rp_id),
            allow_credentials: self.allow,
            user_verification: self.user_verification,
            hints: self.hints,
            extensions: self.extensions.authentication_json(),
        };
        (options, state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_random_and_32_bytes() {
        let (a, _) = RequestOptionsBuilder::discoverable("example.com").build();
        let (b, _) = RequestOptionsBuilder::discoverable("example.com").build();
        assert_eq!(a.challenge.len(), 32);
        assert_ne!(a.challenge, b.challenge);
    }

    #[test]
    fn creation_options_default_order_and_state() {
        let (o, s) =
            CreationOptionsBuilder::new("example.com", "Example", &[1; 16], "alice", "Alice")
                .algorithms(&[
                    CoseAlgorithm::MlDsa65,
                    CoseAlgorithm::EdDsa,
                    CoseAlgorithm::Es256,
                ])
                .resident_key(ResidentKeyRequirement::Required)
                .user_verification(UserVerificationRequirement::Required)
                .hints(vec![PublicKeyCredentialHint::ClientDevice])
                .build();
        let algs: Vec<i64> = o.pub_key_cred_params.iter().map(|p| p.alg).collect();
        assert_eq!(algs, vec![-49, -8, -7]);
        assert_eq!(s.algorithms, algs);
        assert_eq!(s.challenge, o.challenge);
        let sel = o.authenticator_selection.unwrap();
        assert!(sel.require_resident_key);
        assert_eq!(s.user_verification, UserVerificationRequirement::Required);
        let v = serde_json::to_value(
            &CreationOptionsBuilder::new("e", "E", &[1], "a", "A")
                .build()
                .0,
        )
        .unwrap();
        assert_eq!(
            v["pubKeyCredParams"][0],
            serde_json::json!({"type": "public-key", "alg": -8})
        );
        assert_eq!(v["pubKeyCredParams"][2]["alg"], -257);
    }

    #[test]
    fn request_for_user_keeps_allow_list_in_state() {
        let creds = vec![CredentialDescriptorJSON {
            ty: CredentialType::PublicKey,
            id: vec![9, 9],
            transports: vec![],
        }];
        let (o, s) = RequestOptionsBuilder::for_user("example.com", b"user", creds).build();
        assert_eq!(o.allow_credentials.len(), 1);
        assert_eq!(s.allow_credentials, vec![vec![9, 9]]);
        assert_eq!(s.identified_user.as_deref(), Some(&b"user"[..]));
    }
}
