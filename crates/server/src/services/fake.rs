//! Plausible `allowCredentials` for usernames that have no account, so that
//! `POST /api/webauthn/auth/start {"username"}` does not reveal who has one.
//!
//! Everything is derived with HMAC-SHA-256 under the server secret (`server-secret` in the data
//! directory) from the normalised username, so that asking twice gives the same answer (a
//! changing answer would itself reveal that the account is fake) and nobody without the secret
//! can tell fake ids from real ones:
//!
//! ```text
//!  seed   = HMAC(secret, "passkeyd fake credentials v1" 0x00 username)
//!  count  = 1 + seed[0] mod 2                      (1 or 2, like most real accounts)
//!  id_i   = HMAC(secret, "id" 0x00 username 0x00 i) repeated to a length in {16, 20, 32, 64}
//!  transports_i from a list of what browsers report, by seed
//!  user handle = HMAC(secret, "handle" 0x00 username)  (kept in the ceremony state only)
//! ```

use aws_lc_rs::hmac;
use passkeyd_webauthn::json::{CredentialDescriptorJSON, CredentialType};

/// Credential id lengths seen from common authenticators (Google Password Manager and most
/// security keys 16 or 32, iCloud Keychain 20, some security keys 64).
const ID_LENGTHS: [usize; 4] = [16, 20, 32, 64];

/// Transport lists as browsers report them at registration.
const TRANSPORTS: [&[&str]; 5] = [
    &["hybrid", "internal"],
    &["internal"],
    &["hybrid", "internal"],
    &["usb"],
    &["nfc", "usb"],
];

/// Generator of deterministic fake credentials.
pub struct FakeCredentials {
    key: hmac::Key,
}

impl std::fmt::Debug for FakeCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FakeCredentials { .. }")
    }
}

impl FakeCredentials {
    /// A generator keyed by the server secret.
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.key);
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                ctx.update(&[0]);
            }
            ctx.update(p);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    /// A user handle for the ceremony state of an unknown username.
    pub fn user_handle(&self, username: &str) -> Vec<u8> {
        self.mac(&[b"handle", username.as_bytes()]).to_vec()
    }

    /// The fake credential descriptors for `username`.
    pub fn descriptors(&self, username: &str) -> Vec<CredentialDescriptorJSON> {
        let seed = self.mac(&[b"passkeyd fake credentials v1", username.as_bytes()]);
        let count = 1 + usize::from(seed[0] % 2);
        (0..count)
            .map(|i| {
                let pick = usize::from(seed[1 + i]);
                let len = ID_LENGTHS[pick % ID_LENGTHS.len()];
                let block = self.mac(&[b"id", username.as_bytes(), &[i as u8]]);
                let id: Vec<u8> = block.iter().cycle().take(len).copied().collect();
                let transports = TRANSPORTS[usize::from(seed[8 + i]) % TRANSPORTS.len()];
                CredentialDescriptorJSON {
                    ty: CredentialType::PublicKey,
                    id,
                    transports: transports.iter().map(|t| (*t).to_owned()).collect(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fakes_are_deterministic_per_username_and_secret() {
        let a = FakeCredentials::new(&[1; 32]);
        let b = FakeCredentials::new(&[2; 32]);
        assert_eq!(a.descriptors("mallory"), a.descriptors("mallory"));
        assert_ne!(a.descriptors("mallory"), a.descriptors("trent"));
        assert_ne!(a.descriptors("mallory"), b.descriptors("mallory"));
        for name in ["a", "bob", "carol", "dave", "eve", "frank"] {
            let d = a.descriptors(name);
            assert!((1..=2).contains(&d.len()));
            for c in d {
                assert!(ID_LENGTHS.contains(&c.id.len()));
                assert!(!c.transports.is_empty());
            }
        }
    }
}
