//! A tiny, allocation-light CBOR (RFC 8949) encoder.
//!
//! Only the subset WebAuthn needs is provided: unsigned and negative integers, byte and text
//! strings, arrays, maps and booleans, always in the shortest ("preferred") head encoding. The
//! caller is responsible for emitting map entries in CTAP2 canonical order (keys sorted by the
//! length of their encoding, then bytewise), which every builder in this crate does by hand.

/// Writes an initial byte plus argument for `major` type with value `n`, shortest form.
pub fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let mt = major << 5;
    if n < 24 {
        out.push(mt | n as u8);
    } else if n <= u64::from(u8::MAX) {
        out.push(mt | 24);
        out.push(n as u8);
    } else if n <= u64::from(u16::MAX) {
        out.push(mt | 25);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else if n <= u64::from(u32::MAX) {
        out.push(mt | 26);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(mt | 27);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Writes an integer (major type 0 when non-negative, 1 when negative).
pub fn int(out: &mut Vec<u8>, v: i64) {
    if v >= 0 {
        head(out, 0, v as u64);
    } else {
        // -1 - v, computed without overflow for i64::MIN.
        head(out, 1, !(v as u64));
    }
}

/// Writes a byte string (major type 2).
pub fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    head(out, 2, b.len() as u64);
    out.extend_from_slice(b);
}

/// Writes a UTF-8 text string (major type 3).
pub fn text(out: &mut Vec<u8>, s: &str) {
    head(out, 3, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Writes the head of an array of `len` items (major type 4); the items follow.
pub fn array(out: &mut Vec<u8>, len: usize) {
    head(out, 4, len as u64);
}

/// Writes the head of a map of `len` pairs (major type 5); the key/value pairs follow.
pub fn map(out: &mut Vec<u8>, len: usize) {
    head(out, 5, len as u64);
}

/// Writes a boolean simple value (`0xf5` true, `0xf4` false).
pub fn boolean(out: &mut Vec<u8>, v: bool) {
    out.push(if v { 0xf5 } else { 0xf4 });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8949_appendix_a_examples() {
        let cases: &[(i64, &[u8])] = &[
            (0, &[0x00]),
            (23, &[0x17]),
            (24, &[0x18, 0x18]),
            (100, &[0x18, 0x64]),
            (1000, &[0x19, 0x03, 0xe8]),
            (1_000_000, &[0x1a, 0x00, 0x0f, 0x42, 0x40]),
            (-1, &[0x20]),
            (-10, &[0x29]),
            (-100, &[0x38, 0x63]),
            (-1000, &[0x39, 0x03, 0xe7]),
            (-65535, &[0x39, 0xff, 0xfe]),
            (
                i64::MIN,
                &[0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ),
        ];
        for (v, want) in cases {
            let mut out = Vec::new();
            int(&mut out, *v);
            assert_eq!(&out, want, "{v}");
        }
        let mut out = Vec::new();
        text(&mut out, "IETF");
        bytes(&mut out, &[1, 2, 3, 4]);
        map(&mut out, 0);
        array(&mut out, 3);
        boolean(&mut out, true);
        assert_eq!(
            out,
            [
                0x64, b'I', b'E', b'T', b'F', 0x44, 1, 2, 3, 4, 0xa0, 0x83, 0xf5
            ]
        );
    }
}
