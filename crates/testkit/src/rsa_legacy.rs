//! RSASSA-PKCS1-v1_5 with SHA-1 (COSE -65535).
//!
//! aws-lc-rs deliberately offers no SHA-1 RSA *signing*, so this module does the private-key
//! operation itself: it reads the CRT parameters out of the key's PKCS#8 encoding once, builds
//! the EMSA-PKCS1-v1_5 encoded message (RFC 8017 §9.2) and exponentiates with `num-bigint`
//! (a dependency, so it is optimised even in debug builds). It is not constant time; it is only
//! for tests.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::RsaKeyPair;
use num_bigint::BigUint;

use crate::cose::RsaKey;

/// DER `DigestInfo` prefix for SHA-1 (RFC 8017 §9.2 note 1).
const SHA1_DIGEST_INFO: [u8; 15] = [
    0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
];

pub(crate) struct RawRsa {
    /// Modulus length in bytes.
    k: usize,
    p: BigUint,
    q: BigUint,
    dp: BigUint,
    dq: BigUint,
    qinv: BigUint,
}

/// Signs `msg` with RSASSA-PKCS1-v1_5/SHA-1 under `key`.
pub(crate) fn sign_pkcs1_sha1(key: &RsaKey, msg: &[u8]) -> Vec<u8> {
    let raw = key.legacy.get_or_init(|| RawRsa::from_key(&key.pair));
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, msg);
    // EM = 0x00 || 0x01 || PS (0xff...) || 0x00 || DigestInfo || H
    let t_len = SHA1_DIGEST_INFO.len() + 20;
    let mut em = vec![0xffu8; raw.k];
    em[0] = 0;
    em[1] = 1;
    em[raw.k - t_len - 1] = 0;
    em[raw.k - t_len..raw.k - 20].copy_from_slice(&SHA1_DIGEST_INFO);
    em[raw.k - 20..].copy_from_slice(digest.as_ref());
    raw.private_op(&em)
}

impl RawRsa {
    fn from_key(key: &RsaKeyPair) -> Self {
        let pkcs8 = key.as_der().expect("RSA PKCS#8");
        // PrivateKeyInfo ::= SEQUENCE { version, algorithm, privateKey OCTET STRING }
        let (_, pki, _) = tlv(pkcs8.as_ref());
        let (_, _version, rest) = tlv(pki);
        let (_, _alg, rest) = tlv(rest);
        let (tag, rsa_key, _) = tlv(rest);
        assert_eq!(tag, 0x04, "PKCS#8 privateKey OCTET STRING");
        // RSAPrivateKey ::= SEQUENCE { version, n, e, d, p, q, dp, dq, qinv }
        let (_, seq, _) = tlv(rsa_key);
        let mut rest = seq;
        let mut ints = Vec::with_capacity(9);
        for _ in 0..9 {
            let (tag, v, r) = tlv(rest);
            assert_eq!(tag, 0x02, "RSAPrivateKey INTEGER");
            ints.push(BigUint::from_bytes_be(v));
            rest = r;
        }
        let k = ints[1].bits().div_ceil(8) as usize;
        let mut it = ints.into_iter().skip(4);
        let mut next = || it.next().expect("RSAPrivateKey field");
        RawRsa {
            k,
            p: next(),
            q: next(),
            dp: next(),
            dq: next(),
            qinv: next(),
        }
    }

    /// m^d mod n via the CRT (RFC 8017 §5.1.2, second representation).
    fn private_op(&self, em: &[u8]) -> Vec<u8> {
        let m = BigUint::from_bytes_be(em);
        let s1 = (&m % &self.p).modpow(&self.dp, &self.p);
        let s2 = (&m % &self.q).modpow(&self.dq, &self.q);
        let diff = (&s1 + &self.p - (&s2 % &self.p)) % &self.p;
        let h = (&self.qinv * diff) % &self.p;
        let s = s2 + h * &self.q;
        let bytes = s.to_bytes_be();
        let mut out = vec![0u8; self.k - bytes.len()];
        out.extend_from_slice(&bytes);
        out
    }
}

/// Reads one DER TLV: (tag, contents, rest).
fn tlv(input: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = input[0];
    let (len, hdr) = match input[1] {
        l if l < 0x80 => (usize::from(l), 2),
        0x81 => (usize::from(input[2]), 3),
        0x82 => (usize::from(u16::from_be_bytes([input[2], input[3]])), 4),
        other => panic!("unsupported DER length byte {other:#x}"),
    };
    (tag, &input[hdr..hdr + len], &input[hdr + len..])
}
