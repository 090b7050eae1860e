//! RSASSA-PKCS1-v1_5 with SHA-1 (COSE -65535), for legacy-TPM test credentials.
//!
//! aws-lc-rs deliberately offers no SHA-1 RSA *signing*, so this one algorithm comes from the
//! RustCrypto `rsa` crate: the same key pair is handed over as PKCS#8 once and kept.
//! (The crate's known timing side channel, RUSTSEC-2023-0071, does not matter for test
//! fixtures, which sign nothing secret.)

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::RsaKeyPair;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use sha1::Sha1;

use crate::cose::RsaKey;

/// The RustCrypto form of a key pair, made on first use.
pub(crate) struct RawRsa(SigningKey<Sha1>);

/// Signs `msg` with RSASSA-PKCS1-v1_5/SHA-1 under `key`.
pub(crate) fn sign_pkcs1_sha1(key: &RsaKey, msg: &[u8]) -> Vec<u8> {
    let raw = key.legacy.get_or_init(|| RawRsa::from_key(&key.pair));
    raw.0.sign(msg).to_vec()
}

impl RawRsa {
    fn from_key(key: &RsaKeyPair) -> Self {
        let pkcs8 = key.as_der().expect("RSA key exports as PKCS#8");
        let private =
            rsa::RsaPrivateKey::from_pkcs8_der(pkcs8.as_ref()).expect("RSA PKCS#8 parses");
        Self(SigningKey::<Sha1>::new(private))
    }
}
