//! `spec/vectors/`: the machine-readable vectors other SDKs test against, checked against the
//! `wasmtime-global-abi` crate in both directions (encode and decode).

use serde_json::Value as Json;
use wasmtime_global_abi::{Header, Slot, check_name, fnv1a64};

fn load(file: &str) -> Json {
    let path = format!("{}/../spec/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn hex_bytes(json: &Json) -> Vec<u8> {
    let text = json.as_str().expect("a hex string");
    assert_eq!(text.len() % 2, 0, "{text}");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// A 64-bit field: a `0x` string of 16 hex digits.
fn u64_field(json: &Json) -> u64 {
    let text = json.as_str().expect("64-bit fields are strings");
    let digits = text.strip_prefix("0x").expect("0x");
    assert_eq!(digits.len(), 16, "{text}");
    u64::from_str_radix(digits, 16).expect("hex")
}

/// An array of `N` 64-bit fields.
fn u64_array<const N: usize>(json: &Json) -> [u64; N] {
    let list: Vec<u64> = json
        .as_array()
        .expect("an array")
        .iter()
        .map(u64_field)
        .collect();
    list.try_into().expect("the field's length")
}

fn u32_field(json: &Json) -> u32 {
    u32::try_from(json.as_u64().expect("32-bit fields are numbers")).expect("fits u32")
}

#[test]
fn hash_vectors_match_the_abi_hash_and_name_rules() {
    let vectors = load("hashes.json");
    assert_eq!(vectors["offset_basis"], "0xcbf29ce484222325");
    assert_eq!(vectors["prime"], "0x00000100000001b3");
    let list = vectors["vectors"].as_array().unwrap();
    assert_eq!(list.len(), 21);
    let mut valid = 0;
    for v in list {
        let bytes = hex_bytes(&v["bytes"]);
        assert_eq!(fnv1a64(&bytes), u64_field(&v["hash"]), "{v}");
        let is_valid = v["valid_name"].as_bool().unwrap();
        assert_eq!(check_name(&bytes).is_ok(), is_valid, "{v}");
        valid += usize::from(is_valid);
        if let Some(text) = v["utf8"].as_str() {
            assert_eq!(text.as_bytes(), bytes, "{v}");
        }
    }
    assert_eq!(valid, 12, "valid names among the vectors");
    // The collision pair is there, with one hash.
    let hash_of = |name: &str| {
        list.iter()
            .find(|v| v["utf8"] == name)
            .map(|v| u64_field(&v["hash"]))
            .unwrap()
    };
    assert_eq!(hash_of("5j3rldmyid5yi"), hash_of("pkj7qegsilwso"));
}

#[test]
fn the_header_image_encodes_and_decodes_its_fields() {
    let header = &load("layout.json")["header"];
    let f = &header["fields"];
    let expected = Header {
        magic: u32_field(&f["magic"]),
        version: u32_field(&f["version"]),
        slot_size: u32_field(&f["slot_size"]),
        capacity: u32_field(&f["capacity"]),
        count: u32_field(&f["count"]),
        reserved0: u32_field(&f["reserved0"]),
        generation: u64_field(&f["generation"]),
        reserved1: u64_array(&f["reserved1"]),
    };
    let bytes = hex_bytes(&header["bytes"]);
    assert_eq!(bytemuck::bytes_of(&expected), bytes.as_slice());
    assert_eq!(bytemuck::pod_read_unaligned::<Header>(&bytes), expected);
    assert_eq!(
        expected,
        Header {
            count: 4,
            generation: 4,
            ..Header::new(16)
        }
    );
    // The header counts exactly the slot images that follow.
    let slots = load("layout.json")["slots"].as_array().unwrap().len();
    assert_eq!(expected.count as usize, slots);
}

#[test]
fn the_slot_images_encode_and_decode_their_fields() {
    let slots = load("layout.json")["slots"].as_array().unwrap().clone();
    assert_eq!(slots.len(), 4);
    // Slot i is image i, and the names lie end to end from 4096.
    let mut name_addr = 4096;
    for (i, s) in slots.iter().enumerate() {
        assert_eq!(s["index"].as_u64(), Some(i as u64), "{s}");
        assert_eq!(u32_field(&s["fields"]["name_addr"]), name_addr, "{s}");
        name_addr += s["name"].as_str().unwrap().len() as u32;
        let f = &s["fields"];
        let expected = Slot {
            hash: u64_field(&f["hash"]),
            name_addr: u32_field(&f["name_addr"]),
            name_len: u32_field(&f["name_len"]),
            ty: u32_field(&f["ty"]),
            reserved0: u32_field(&f["reserved0"]),
            default: u64_field(&f["default"]),
            value: u64_field(&f["value"]),
            changes: u64_field(&f["changes"]),
            reserved1: u64_array(&f["reserved1"]),
        };
        let bytes = hex_bytes(&s["bytes"]);
        assert_eq!(bytemuck::bytes_of(&expected), bytes.as_slice(), "{s}");
        assert_eq!(
            bytemuck::pod_read_unaligned::<Slot>(&bytes),
            expected,
            "{s}"
        );
        let name = s["name"].as_str().unwrap();
        assert_eq!(expected.hash, fnv1a64(name.as_bytes()), "{s}");
        assert_eq!(expected.name_len as usize, name.len(), "{s}");
    }
}

#[test]
#[cfg_attr(
    c_skipped,
    ignore = "no C compiler was found when the tests were built (the README's test command installs zig)"
)]
fn the_c_sdk_hashes_and_checks_names_as_the_vectors_say() {
    use wasmtime_global_test_artifacts::guests;
    if guests::C_VECTORS.is_empty() {
        panic!("not built: {}", guests::C_SKIPPED.unwrap_or("not built"));
    }
    let engine = wasmtime_global_test_support::engine();
    let module = wasmtime::Module::from_file(&engine, guests::C_VECTORS).unwrap();
    let linker = wasmtime_global_test_support::linker(&engine).unwrap();
    let mut store = wasmtime_global_test_support::store(&engine, &wasmtime_global::Globals::new());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let input = instance
        .get_typed_func::<(), u32>(&mut store, "input")
        .unwrap();
    let hash = instance
        .get_typed_func::<u32, u64>(&mut store, "hash")
        .unwrap();
    let valid = instance
        .get_typed_func::<u32, i32>(&mut store, "valid_name")
        .unwrap();
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    let addr = input.call(&mut store, ()).unwrap() as usize;
    let vectors = load("hashes.json");
    for v in vectors["vectors"].as_array().unwrap() {
        let bytes = hex_bytes(&v["bytes"]);
        memory.write(&mut store, addr, &bytes).unwrap();
        let len = bytes.len() as u32;
        assert_eq!(
            hash.call(&mut store, len).unwrap(),
            u64_field(&v["hash"]),
            "{v}"
        );
        let expected = i32::from(v["valid_name"].as_bool().unwrap());
        assert_eq!(valid.call(&mut store, len).unwrap(), expected, "{v}");
    }
}

#[test]
#[cfg_attr(
    c_skipped,
    ignore = "no C compiler was found when the tests were built (the README's test command installs zig)"
)]
fn the_c_sdk_keeps_a_refused_declaration_and_uses_one_slot() {
    use wasmtime_global_test_artifacts::guests;
    if guests::C_VECTORS.is_empty() {
        panic!("not built: {}", guests::C_SKIPPED.unwrap_or("not built"));
    }
    let engine = wasmtime_global_test_support::engine();
    let module = wasmtime::Module::from_file(&engine, guests::C_VECTORS).unwrap();
    let globals = wasmtime_global::Globals::new();
    globals.set_u64("mismatched", 1).unwrap();
    let mut guest = wasmtime_global_test_support::Guest::new(&engine, &module, &globals).unwrap();
    let packed = guest.call::<(), i32>("declare_twice", ()).unwrap();
    // TYPE_MISMATCH (1) both times, one slot used, one host call.
    assert_eq!(packed, 1 | (1 << 8) | (1 << 16));
    assert_eq!(guest.host_calls(), 1);
}
