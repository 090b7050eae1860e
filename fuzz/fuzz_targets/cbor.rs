//! cbor::decode, decode_prefix and item_len on arbitrary bytes, with consistency properties:
//! decode ok ⇒ item_len = input length and decode_prefix uses all of it; decode_prefix ok ⇒
//! item_len agrees and decoding exactly that prefix gives the same value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use passkeyd_webauthn::cbor;

fuzz_target!(|data: &[u8]| {
    let whole = cbor::decode(data);
    let prefix = cbor::decode_prefix(data);
    let len = cbor::item_len(data);
    if let Ok(v) = &whole {
        assert_eq!(len.as_ref().ok(), Some(&data.len()), "decode ok but item_len disagrees");
        let (pv, used) = prefix.as_ref().expect("decode ok but decode_prefix failed");
        assert_eq!(*used, data.len());
        // Debug, not ==: Value::Float(NaN) != itself.
        assert_eq!(format!("{pv:?}"), format!("{v:?}"));
        // Accessors must not panic on any shape.
        let _ = (v.as_map(), v.as_array(), v.as_bytes(), v.as_text(), v.as_i64(), v.as_bool());
        let _ = (v.get_int(1), v.get_int(-1), v.get_text("fmt"), v.type_name());
    }
    if let Ok((v, used)) = &prefix {
        assert!(*used <= data.len() && *used > 0);
        assert_eq!(len.as_ref().ok(), Some(used), "decode_prefix ok but item_len disagrees");
        let again = cbor::decode(&data[..*used]).expect("the decoded prefix must decode alone");
        assert_eq!(format!("{again:?}"), format!("{v:?}"));
        if *used < data.len() {
            assert!(matches!(whole, Err(cbor::CborError::TrailingBytes(n)) if n == data.len() - used));
        }
    }
    if let Ok(n) = len {
        assert!(n <= data.len() && n > 0);
    }
});
