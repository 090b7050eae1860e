//! RSASSA-PKCS1-v1_5 with SHA-1 (COSE -65535).
//!
//! aws-lc-rs deliberately offers no SHA-1 RSA *signing*, so this module does the private-key
//! operation itself: it reads `n` and `d` out of the shared key's PKCS#8 encoding once, builds
//! the EMSA-PKCS1-v1_5 encoded message (RFC 8017 §9.2) and raises it to `d` modulo `n` with a
//! small Montgomery exponentiation. It is not constant time; it is only for tests.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::RsaKeyPair;

use crate::cose::RsaKey;

/// DER `DigestInfo` prefix for SHA-1 (RFC 8017 §9.2 note 1).
const SHA1_DIGEST_INFO: [u8; 15] = [
    0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
];

pub(crate) struct RawRsa {
    /// Modulus, little-endian 64-bit limbs.
    n: Vec<u64>,
    /// Private exponent, big-endian bytes.
    d: Vec<u8>,
    /// Modulus length in bytes.
    k: usize,
    /// -n^{-1} mod 2^64.
    n0inv: u64,
    /// R^2 mod n where R = 2^(64 * limbs).
    r2: Vec<u64>,
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
        let (_, _version, rest) = tlv(seq);
        let (_, n, rest) = tlv(rest);
        let (_, _e, rest) = tlv(rest);
        let (_, d, _) = tlv(rest);
        let n = strip_zeros(n);
        let d = strip_zeros(d).to_vec();
        let k = n.len();
        let limbs = to_limbs(n, k.div_ceil(8));
        let n0inv = neg_inverse(limbs[0]);
        // R^2 mod n by repeated doubling of 1.
        let mut r2 = vec![0u64; limbs.len()];
        r2[0] = 1;
        for _ in 0..2 * 64 * limbs.len() {
            let carry = shl1(&mut r2);
            if carry || !lt(&r2, &limbs) {
                sub_in_place(&mut r2, &limbs);
            }
        }
        RawRsa {
            n: limbs,
            d,
            k,
            n0inv,
            r2,
        }
    }

    fn private_op(&self, em: &[u8]) -> Vec<u8> {
        let len = self.n.len();
        let m = to_limbs(em, len);
        let mut one = vec![0u64; len];
        one[0] = 1;
        let base = self.mont_mul(&m, &self.r2);
        let mut acc = self.mont_mul(&one, &self.r2);
        for byte in &self.d {
            for bit in (0..8).rev() {
                acc = self.mont_mul(&acc, &acc);
                if (byte >> bit) & 1 == 1 {
                    acc = self.mont_mul(&acc, &base);
                }
            }
        }
        let s = self.mont_mul(&acc, &one);
        from_limbs(&s, self.k)
    }

    /// Montgomery product a * b * R^-1 mod n (CIOS).
    fn mont_mul(&self, a: &[u64], b: &[u64]) -> Vec<u64> {
        let n = &self.n;
        let len = n.len();
        let mut t = vec![0u64; len + 2];
        for &bi in b {
            let mut carry = 0u128;
            for j in 0..len {
                let s = u128::from(t[j]) + u128::from(a[j]) * u128::from(bi) + carry;
                t[j] = s as u64;
                carry = s >> 64;
            }
            let s = u128::from(t[len]) + carry;
            t[len] = s as u64;
            t[len + 1] = (s >> 64) as u64;
            let m = t[0].wrapping_mul(self.n0inv);
            let s = u128::from(t[0]) + u128::from(m) * u128::from(n[0]);
            let mut carry = s >> 64;
            for j in 1..len {
                let s = u128::from(t[j]) + u128::from(m) * u128::from(n[j]) + carry;
                t[j - 1] = s as u64;
                carry = s >> 64;
            }
            let s = u128::from(t[len]) + carry;
            t[len - 1] = s as u64;
            t[len] = t[len + 1] + (s >> 64) as u64;
            t[len + 1] = 0;
        }
        let overflow = t[len] != 0;
        t.truncate(len);
        if overflow || !lt(&t, n) {
            sub_in_place(&mut t, n);
        }
        t
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

fn strip_zeros(mut b: &[u8]) -> &[u8] {
    while b.len() > 1 && b[0] == 0 {
        b = &b[1..];
    }
    b
}

/// Big-endian bytes to `len` little-endian limbs.
fn to_limbs(be: &[u8], len: usize) -> Vec<u64> {
    let mut out = vec![0u64; len];
    for (i, byte) in be.iter().rev().enumerate() {
        out[i / 8] |= u64::from(*byte) << (8 * (i % 8));
    }
    out
}

/// Little-endian limbs to `k` big-endian bytes.
fn from_limbs(limbs: &[u64], k: usize) -> Vec<u8> {
    let mut out = vec![0u8; k];
    for (i, b) in out.iter_mut().rev().enumerate() {
        *b = (limbs[i / 8] >> (8 * (i % 8))) as u8;
    }
    out
}

fn neg_inverse(n0: u64) -> u64 {
    // Newton iteration: each step doubles the number of correct low bits.
    let mut x: u64 = n0;
    for _ in 0..6 {
        x = x.wrapping_mul(2u64.wrapping_sub(n0.wrapping_mul(x)));
    }
    x.wrapping_neg()
}

fn shl1(a: &mut [u64]) -> bool {
    let mut carry = 0u64;
    for limb in a.iter_mut() {
        let next = *limb >> 63;
        *limb = (*limb << 1) | carry;
        carry = next;
    }
    carry == 1
}

fn lt(a: &[u64], b: &[u64]) -> bool {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        if x != y {
            return x < y;
        }
    }
    false
}

fn sub_in_place(a: &mut [u64], b: &[u64]) {
    let mut borrow = false;
    for (x, y) in a.iter_mut().zip(b) {
        let (d1, b1) = x.overflowing_sub(*y);
        let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
        *x = d2;
        borrow = b1 || b2;
    }
}
