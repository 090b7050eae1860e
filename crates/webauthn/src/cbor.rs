//! A small, strict CBOR (RFC 8949) decoder over byte slices, for the structures WebAuthn uses:
//! attestation objects, COSE keys, attestation statements and extension maps.
//!
//! Design choices, all deliberate:
//! - **Zero copy**: byte and text strings borrow from the input.
//! - **Definite lengths only**: CTAP2 canonical CBOR never uses indefinite lengths, so they are
//!   rejected rather than half-supported.
//! - **Bounded**: nesting depth is capped at [`MAX_DEPTH`] and every declared length is checked
//!   against the bytes that remain before anything is allocated, so hostile input cannot make the
//!   decoder allocate more than a small multiple of its own size.
//! - Duplicate map keys are rejected (RFC 8949 §5.6: such a map is not valid for WebAuthn).

use std::fmt;

/// Maximum nesting of arrays, maps and tags accepted by the decoder.
pub const MAX_DEPTH: usize = 16;

/// A decoded CBOR data item borrowing from the input bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// An unsigned (major type 0) or negative (major type 1) integer.
    Int(i128),
    /// A byte string (major type 2).
    Bytes(&'a [u8]),
    /// A UTF-8 text string (major type 3).
    Text(&'a str),
    /// An array (major type 4).
    Array(Vec<Value<'a>>),
    /// A map (major type 5), in encoded order.
    Map(Vec<(Value<'a>, Value<'a>)>),
    /// A tagged item (major type 6).
    Tag(u64, Box<Value<'a>>),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// `undefined`.
    Undefined,
    /// A half, single or double precision float.
    Float(f64),
}

/// Why a byte string is not acceptable CBOR.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CborError {
    /// The input ended inside a data item.
    UnexpectedEnd,
    /// Bytes remain after the single top-level item.
    TrailingBytes(usize),
    /// An indefinite-length item, which CTAP2 canonical CBOR forbids.
    IndefiniteLength,
    /// Reserved additional-information values 28..30.
    ReservedAdditionalInfo(u8),
    /// Nesting deeper than [`MAX_DEPTH`].
    TooDeep,
    /// A text string that is not valid UTF-8.
    InvalidUtf8,
    /// A map holds the same key twice.
    DuplicateMapKey,
    /// A simple value other than false, true, null or undefined.
    UnsupportedSimpleValue(u8),
    /// A declared length larger than the bytes that remain.
    LengthTooLarge,
}

impl fmt::Display for CborError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnexpectedEnd => f.write_str("CBOR input ends inside a data item"),
            Self::TrailingBytes(n) => write!(f, "{n} unexpected bytes after the CBOR data item"),
            Self::IndefiniteLength => f.write_str("indefinite-length CBOR items are not allowed"),
            Self::ReservedAdditionalInfo(v) => {
                write!(f, "reserved CBOR additional information {v}")
            }
            Self::TooDeep => write!(f, "CBOR nesting deeper than {MAX_DEPTH} levels"),
            Self::InvalidUtf8 => f.write_str("CBOR text string is not valid UTF-8"),
            Self::DuplicateMapKey => f.write_str("CBOR map has a duplicate key"),
            Self::UnsupportedSimpleValue(v) => write!(f, "unsupported CBOR simple value {v}"),
            Self::LengthTooLarge => f.write_str("CBOR length exceeds the remaining input"),
        }
    }
}

impl std::error::Error for CborError {}

/// Decodes exactly one data item that must fill `input`.
pub fn decode(input: &[u8]) -> Result<Value<'_>, CborError> {
    let (value, used) = decode_prefix(input)?;
    if used != input.len() {
        return Err(CborError::TrailingBytes(input.len() - used));
    }
    Ok(value)
}

/// Decodes one data item from the start of `input` and returns it with the number of bytes it
/// used. Authenticator data needs this: the COSE key is followed by more data.
pub fn decode_prefix(input: &[u8]) -> Result<(Value<'_>, usize), CborError> {
    let mut d = Decoder { input, pos: 0 };
    let v = d.item(0)?;
    Ok((v, d.pos))
}

/// Returns the length in bytes of the data item at the start of `input` without building it.
pub fn item_len(input: &[u8]) -> Result<usize, CborError> {
    let mut d = Decoder { input, pos: 0 };
    d.skip(0)?;
    Ok(d.pos)
}

struct Decoder<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    fn byte(&mut self) -> Result<u8, CborError> {
        let b = *self.input.get(self.pos).ok_or(CborError::UnexpectedEnd)?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], CborError> {
        let remaining = (self.input.len() - self.pos) as u64;
        if n > remaining {
            return Err(CborError::UnexpectedEnd);
        }
        let n = n as usize;
        let s = &self.input[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Reads the argument of an initial byte (RFC 8949 §3).
    fn argument(&mut self, info: u8) -> Result<u64, CborError> {
        Ok(match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.byte()?),
            25 => u64::from(u16::from_be_bytes(self.fixed::<2>()?)),
            26 => u64::from(u32::from_be_bytes(self.fixed::<4>()?)),
            27 => u64::from_be_bytes(self.fixed::<8>()?),
            31 => return Err(CborError::IndefiniteLength),
            _ => return Err(CborError::ReservedAdditionalInfo(info)),
        })
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], CborError> {
        let s = self.take(N as u64)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    /// Every element of a container takes at least one byte, so a count larger than what
    /// remains is malformed; checking it first bounds the allocation.
    fn check_count(&self, count: u64, min_bytes_each: u64) -> Result<usize, CborError> {
        let remaining = (self.input.len() - self.pos) as u64;
        if count.saturating_mul(min_bytes_each) > remaining {
            return Err(CborError::LengthTooLarge);
        }
        Ok(count as usize)
    }

    fn item(&mut self, depth: usize) -> Result<Value<'a>, CborError> {
        if depth > MAX_DEPTH {
            return Err(CborError::TooDeep);
        }
        let initial = self.byte()?;
        let major = initial >> 5;
        let info = initial & 0x1f;
        match major {
            0 => Ok(Value::Int(i128::from(self.argument(info)?))),
            1 => Ok(Value::Int(-1 - i128::from(self.argument(info)?))),
            2 => {
                let n = self.argument(info)?;
                Ok(Value::Bytes(self.take(n)?))
            }
            3 => {
                let n = self.argument(info)?;
                let s = self.take(n)?;
                std::str::from_utf8(s)
                    .map(Value::Text)
                    .map_err(|_| CborError::InvalidUtf8)
            }
            4 => {
                let n = self.argument(info)?;
                let n = self.check_count(n, 1)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.item(depth + 1)?);
                }
                Ok(Value::Array(items))
            }
            5 => {
                let n = self.argument(info)?;
                let n = self.check_count(n, 2)?;
                let mut entries: Vec<(Value<'a>, Value<'a>)> = Vec::with_capacity(n);
                for _ in 0..n {
                    let k = self.item(depth + 1)?;
                    if entries.iter().any(|(existing, _)| *existing == k) {
                        return Err(CborError::DuplicateMapKey);
                    }
                    let v = self.item(depth + 1)?;
                    entries.push((k, v));
                }
                Ok(Value::Map(entries))
            }
            6 => {
                let tag = self.argument(info)?;
                Ok(Value::Tag(tag, Box::new(self.item(depth + 1)?)))
            }
            _ => self.simple(info),
        }
    }

    fn simple(&mut self, info: u8) -> Result<Value<'a>, CborError> {
        match info {
            20 => Ok(Value::Bool(false)),
            21 => Ok(Value::Bool(true)),
            22 => Ok(Value::Null),
            23 => Ok(Value::Undefined),
            24 => Err(CborError::UnsupportedSimpleValue(self.byte()?)),
            25 => Ok(Value::Float(f16_to_f64(u16::from_be_bytes(
                self.fixed::<2>()?,
            )))),
            26 => Ok(Value::Float(f64::from(f32::from_be_bytes(
                self.fixed::<4>()?,
            )))),
            27 => Ok(Value::Float(f64::from_be_bytes(self.fixed::<8>()?))),
            31 => Err(CborError::IndefiniteLength),
            28..=30 => Err(CborError::ReservedAdditionalInfo(info)),
            v => Err(CborError::UnsupportedSimpleValue(v)),
        }
    }

    /// Skips one data item, with the same validation as [`Decoder::item`] except for map key
    /// uniqueness, which needs the decoded keys.
    fn skip(&mut self, depth: usize) -> Result<(), CborError> {
        if depth > MAX_DEPTH {
            return Err(CborError::TooDeep);
        }
        let initial = self.byte()?;
        let major = initial >> 5;
        let info = initial & 0x1f;
        match major {
            0 | 1 => {
                self.argument(info)?;
            }
            2 => {
                let n = self.argument(info)?;
                self.take(n)?;
            }
            3 => {
                let n = self.argument(info)?;
                std::str::from_utf8(self.take(n)?).map_err(|_| CborError::InvalidUtf8)?;
            }
            4 | 5 => {
                let n = self.argument(info)?;
                let per = if major == 4 { 1 } else { 2 };
                let n = self.check_count(n, per)?;
                for _ in 0..n * per as usize {
                    self.skip(depth + 1)?;
                }
            }
            6 => {
                self.argument(info)?;
                self.skip(depth + 1)?;
            }
            _ => {
                self.simple(info)?;
            }
        }
        Ok(())
    }
}

fn f16_to_f64(half: u16) -> f64 {
    let exp = (half >> 10) & 0x1f;
    let mant = f64::from(half & 0x3ff);
    let val = match exp {
        0 => mant * 2f64.powi(-24),
        31 => {
            if mant == 0.0 {
                f64::INFINITY
            } else {
                f64::NAN
            }
        }
        e => (mant + 1024.0) * 2f64.powi(i32::from(e) - 25),
    };
    if half & 0x8000 != 0 { -val } else { val }
}

impl<'a> Value<'a> {
    /// The entries if this is a map.
    pub fn as_map(&self) -> Option<&[(Value<'a>, Value<'a>)]> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The items if this is an array.
    pub fn as_array(&self) -> Option<&[Value<'a>]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The bytes if this is a byte string.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The text if this is a text string.
    pub fn as_text(&self) -> Option<&'a str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The integer if this is an integer that fits in an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => i64::try_from(*i).ok(),
            _ => None,
        }
    }

    /// The boolean if this is `true` or `false`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Looks up an integer key in a map (COSE keys use integer labels).
    pub fn get_int(&self, key: i64) -> Option<&Value<'a>> {
        self.as_map()?
            .iter()
            .find(|(k, _)| matches!(k, Value::Int(i) if *i == i128::from(key)))
            .map(|(_, v)| v)
    }

    /// Looks up a text key in a map (attestation statements use text labels).
    pub fn get_text(&self, key: &str) -> Option<&Value<'a>> {
        self.as_map()?
            .iter()
            .find(|(k, _)| matches!(k, Value::Text(t) if *t == key))
            .map(|(_, v)| v)
    }

    /// A short name of this item's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) => "integer",
            Value::Bytes(_) => "byte string",
            Value::Text(_) => "text string",
            Value::Array(_) => "array",
            Value::Map(_) => "map",
            Value::Tag(..) => "tag",
            Value::Bool(_) => "boolean",
            Value::Null => "null",
            Value::Undefined => "undefined",
            Value::Float(_) => "float",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_rfc8949_appendix_a_examples() {
        assert_eq!(decode(&[0x00]).unwrap(), Value::Int(0));
        assert_eq!(decode(&[0x17]).unwrap(), Value::Int(23));
        assert_eq!(decode(&[0x18, 0x18]).unwrap(), Value::Int(24));
        assert_eq!(decode(&[0x19, 0x03, 0xe8]).unwrap(), Value::Int(1000));
        assert_eq!(
            decode(&[0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).unwrap(),
            Value::Int(18446744073709551615)
        );
        assert_eq!(decode(&[0x20]).unwrap(), Value::Int(-1));
        assert_eq!(decode(&[0x39, 0x03, 0xe7]).unwrap(), Value::Int(-1000));
        assert_eq!(
            decode(&[0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).unwrap(),
            Value::Int(-18446744073709551616)
        );
        assert_eq!(
            decode(&[0x44, 1, 2, 3, 4]).unwrap(),
            Value::Bytes(&[1, 2, 3, 4])
        );
        assert_eq!(decode(&[0x62, 0xc3, 0xbc]).unwrap(), Value::Text("ü"));
        assert_eq!(decode(&[0xf4]).unwrap(), Value::Bool(false));
        assert_eq!(decode(&[0xf6]).unwrap(), Value::Null);
        assert_eq!(decode(&[0xf9, 0x3c, 0x00]).unwrap(), Value::Float(1.0));
        assert_eq!(decode(&[0xf9, 0xc4, 0x00]).unwrap(), Value::Float(-4.0));
        assert_eq!(
            decode(&[0xf9, 0x00, 0x01]).unwrap(),
            Value::Float(5.960464477539063e-8)
        );
        let m = decode(&[0xa2, 0x01, 0x02, 0x03, 0x04]).unwrap();
        assert_eq!(m.get_int(3), Some(&Value::Int(4)));
        let a = decode(&[0x83, 0x01, 0x82, 0x02, 0x03, 0x82, 0x04, 0x05]).unwrap();
        assert_eq!(a.as_array().map(|a| a.len()), Some(3));
        assert_eq!(
            decode(&[0xc2, 0x41, 0x01]).unwrap(),
            Value::Tag(2, Box::new(Value::Bytes(&[1])))
        );
    }

    #[test]
    fn rejects_malformed_input() {
        assert_eq!(decode(&[]), Err(CborError::UnexpectedEnd));
        assert_eq!(decode(&[0x00, 0x00]), Err(CborError::TrailingBytes(1)));
        assert_eq!(decode(&[0x5f, 0xff]), Err(CborError::IndefiniteLength));
        assert_eq!(decode(&[0x1c]), Err(CborError::ReservedAdditionalInfo(28)));
        assert_eq!(decode(&[0x62, 0xff, 0xfe]), Err(CborError::InvalidUtf8));
        assert_eq!(
            decode(&[0xa2, 0x01, 0x02, 0x01, 0x03]),
            Err(CborError::DuplicateMapKey)
        );
        assert_eq!(decode(&[0x44, 1, 2]), Err(CborError::UnexpectedEnd));
        // A 2^63-element array declared in nine bytes must fail before allocating.
        assert_eq!(
            decode(&[0x9b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Err(CborError::LengthTooLarge)
        );
        assert_eq!(
            decode(&[0xf8, 0x20]),
            Err(CborError::UnsupportedSimpleValue(32))
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let mut deep = vec![0x81; MAX_DEPTH + 2];
        deep.push(0x00);
        assert_eq!(decode(&deep), Err(CborError::TooDeep));
        let mut ok = vec![0x81; MAX_DEPTH];
        ok.push(0x00);
        assert!(decode(&ok).is_ok());
    }

    #[test]
    fn prefix_and_item_len_agree() {
        let bytes = [0xa1, 0x61, b'a', 0x82, 0x01, 0x02, 0xff, 0xff];
        let (_, used) = decode_prefix(&bytes).unwrap();
        assert_eq!(used, 6);
        assert_eq!(item_len(&bytes).unwrap(), 6);
    }
}
