//! Property tests: the layout round-trips through bytes, every field sits where `FIELDS` (and
//! so the spec) says, and the hash and the name rules agree with implementations written here
//! independently.

use proptest::prelude::*;
use wasmtime_global_abi::{
    FNV_OFFSET_BASIS, FNV_PRIME, Header, MAX_NAME_LEN, NameError, Slot, Status, ValueType,
    check_name, fnv1a64,
};

fn header() -> impl Strategy<Value = Header> {
    (any::<[u32; 6]>(), any::<u64>(), any::<[u64; 4]>()).prop_map(|(w, generation, reserved1)| {
        Header {
            magic: w[0],
            version: w[1],
            slot_size: w[2],
            capacity: w[3],
            count: w[4],
            reserved0: w[5],
            generation,
            reserved1,
        }
    })
}

fn slot() -> impl Strategy<Value = Slot> {
    (any::<[u64; 4]>(), any::<[u32; 4]>(), any::<[u64; 2]>()).prop_map(|(d, w, reserved1)| Slot {
        hash: d[0],
        name_addr: w[0],
        name_len: w[1],
        ty: w[2],
        reserved0: w[3],
        default: d[1],
        value: d[2],
        changes: d[3],
        reserved1,
    })
}

/// FNV-1a 64 by its definition, with the prime split as 2^40 + 0x1b3 and the product taken in
/// 128 bits: no shared code or constant with the crate's version.
fn reference_hash(bytes: &[u8]) -> u64 {
    let mut hash: u128 = 14_695_981_039_346_656_037; // the offset basis, in decimal
    for &b in bytes {
        hash ^= u128::from(b);
        hash = ((hash << 40) + hash * 0x1b3) % (1u128 << 64);
    }
    hash as u64
}

/// The name rules by their statement (spec §5), with the standard library's UTF-8 decoder.
fn reference_check(bytes: &[u8]) -> Result<(), NameError> {
    if bytes.is_empty() {
        Err(NameError::Empty)
    } else if bytes.len() > 255 {
        Err(NameError::TooLong { len: bytes.len() })
    } else if let Err(e) = std::str::from_utf8(bytes) {
        Err(NameError::NotUtf8 {
            valid_up_to: e.valid_up_to(),
        })
    } else if let Some(at) = bytes.iter().position(|&b| b == 0) {
        Err(NameError::ContainsNul { at })
    } else {
        Ok(())
    }
}

/// The little-endian bytes of each field of `fields`, as `(offset, bytes)`, from the values.
fn expect_fields(image: &[u8], fields: &[wasmtime_global_abi::Field], values: &[u64]) {
    assert_eq!(fields.len(), values.len());
    for (field, value) in fields.iter().zip(values) {
        let bytes = value.to_le_bytes();
        assert_eq!(
            &image[field.offset..field.offset + field.size],
            &bytes[..field.size],
            "{}",
            field.name
        );
    }
}

proptest! {
    #[test]
    fn a_header_round_trips_and_puts_each_field_at_its_offset(h in header()) {
        let image = bytemuck::bytes_of(&h);
        prop_assert_eq!(image.len(), 64);
        prop_assert_eq!(bytemuck::pod_read_unaligned::<Header>(image), h);
        // `reserved1` is one field of four u64s: check its words one by one.
        let words = [
            u64::from(h.magic), u64::from(h.version), u64::from(h.slot_size),
            u64::from(h.capacity), u64::from(h.count), u64::from(h.reserved0), h.generation,
        ];
        expect_fields(image, &Header::FIELDS[..7], &words);
        let reserved = Header::FIELDS[7];
        prop_assert_eq!((reserved.name, reserved.size), ("reserved1", 32));
        for (k, word) in h.reserved1.iter().enumerate() {
            let at = reserved.offset + 8 * k;
            prop_assert_eq!(&image[at..at + 8], &word.to_le_bytes()[..]);
        }
    }

    #[test]
    fn a_slot_round_trips_and_puts_each_field_at_its_offset(s in slot()) {
        let image = bytemuck::bytes_of(&s);
        prop_assert_eq!(image.len(), 64);
        prop_assert_eq!(bytemuck::pod_read_unaligned::<Slot>(image), s);
        let words = [
            s.hash, u64::from(s.name_addr), u64::from(s.name_len), u64::from(s.ty),
            u64::from(s.reserved0), s.default, s.value, s.changes,
        ];
        expect_fields(image, &Slot::FIELDS[..8], &words);
        let reserved = Slot::FIELDS[8];
        prop_assert_eq!((reserved.name, reserved.size), ("reserved1", 16));
        for (k, word) in s.reserved1.iter().enumerate() {
            let at = reserved.offset + 8 * k;
            prop_assert_eq!(&image[at..at + 8], &word.to_le_bytes()[..]);
        }
    }

    #[test]
    fn any_64_bytes_decode_and_encode_to_themselves(bytes in any::<[u8; 64]>()) {
        let h: Header = bytemuck::pod_read_unaligned(&bytes);
        prop_assert_eq!(bytemuck::bytes_of(&h), &bytes[..]);
        let s: Slot = bytemuck::pod_read_unaligned(&bytes);
        prop_assert_eq!(bytemuck::bytes_of(&s), &bytes[..]);
    }

    #[test]
    fn the_hash_matches_the_reference(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        prop_assert_eq!(fnv1a64(&bytes), reference_hash(&bytes));
    }

    #[test]
    fn check_name_matches_the_reference_on_any_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..300)
    ) {
        prop_assert_eq!(check_name(&bytes), reference_check(&bytes));
    }

    #[test]
    fn check_name_matches_the_reference_on_text(name in "\\PC{0,80}|[a-z\\x00]{250,260}") {
        prop_assert_eq!(check_name(name.as_bytes()), reference_check(name.as_bytes()));
    }

    #[test]
    fn type_tags_and_status_codes_round_trip(tag in any::<u32>(), code in any::<i32>()) {
        match ValueType::from_tag(tag) {
            Some(ty) => prop_assert_eq!(ty.tag(), tag),
            None => prop_assert!(tag == 0 || tag > 5),
        }
        match Status::from_code(code) {
            Some(status) => prop_assert_eq!(status.code(), code),
            None => prop_assert!(!(0..=1).contains(&code)),
        }
    }
}

#[test]
fn the_reference_hash_uses_the_spec_constants() {
    assert_eq!(reference_hash(b""), FNV_OFFSET_BASIS);
    assert_eq!(FNV_PRIME, (1 << 40) + 0x1b3);
    assert_eq!(MAX_NAME_LEN, 255);
}
