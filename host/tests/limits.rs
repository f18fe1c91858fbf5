//! Limits and bad input from the embedder's side: names at and past the rules, values at the
//! edges of every type, and two million names set and deleted with the memory they hold counted.
//!
//! Its own test binary, because it counts every allocation of the process.

use std::sync::atomic::Ordering;
use std::time::Duration;
use wasmtime_global::{Error, Globals, Value};
use wasmtime_global_abi::NameError;

mod counting;

use counting::HELD;

fn invalid<T: std::fmt::Debug>(result: Result<T, Error>) -> NameError {
    match result {
        Err(Error::InvalidName { source, .. }) => source,
        other => panic!("expected InvalidName, got {other:?}"),
    }
}

#[test]
fn names_at_and_past_the_limits() {
    let globals = Globals::new();
    assert_eq!(invalid(globals.set("", 1)), NameError::Empty);
    assert_eq!(invalid(globals.del("")), NameError::Empty);
    let longest = "N".repeat(255);
    globals.set(&longest, 1).unwrap();
    assert_eq!(globals.get(&longest), Some(Value::Bits(1)));
    let too_long = "N".repeat(256);
    assert_eq!(
        invalid(globals.set(&too_long, 1)),
        NameError::TooLong { len: 256 }
    );
    assert_eq!(
        invalid(globals.set_u64("a\0b", 1)),
        NameError::ContainsNul { at: 1 }
    );
    let mut batch = globals.batch();
    batch.set("ok", 1).set("\0", 2);
    assert_eq!(invalid(batch.commit()), NameError::ContainsNul { at: 0 });
    // A refused batch changes nothing, not even its valid part.
    assert_eq!(globals.get("ok"), None);
    // A 255-byte name of 4-byte characters is fine; one more byte is not.
    let wide = format!("{}NNN", "𝄞".repeat(63));
    assert_eq!(wide.len(), 255);
    globals.set(&wide, 2).unwrap();
    assert_eq!(
        invalid(globals.set(&format!("{wide}N"), 1)),
        NameError::TooLong { len: 256 }
    );
    assert_eq!(globals.len(), 2);
}

#[test]
fn values_at_the_edges_of_every_type_are_kept_exactly() {
    let globals = Globals::new();
    let edges = [
        Value::Bits(0),
        Value::Bits(u64::MAX),
        Value::Bool(true),
        Value::Bool(false),
        Value::U64(u64::MAX),
        Value::I64(i64::MIN),
        Value::I64(i64::MAX),
        Value::F64(f64::from_bits(0x7ff0_0000_0000_0001)),
        Value::F64(-0.0),
        Value::F64(f64::NEG_INFINITY),
        Value::Duration(i64::MIN),
        Value::Duration(-1),
    ];
    for (i, value) in edges.into_iter().enumerate() {
        let name = format!("edge.{i}");
        globals.set_value(&name, value).unwrap();
        let got = globals.get(&name).unwrap();
        assert_eq!(got.ty(), value.ty(), "{value:?}");
        assert_eq!(got.to_bits(), value.to_bits(), "{value:?}");
    }
    globals
        .set_duration("d", Duration::from_nanos(i64::MAX as u64))
        .unwrap();
    assert_eq!(globals.get("d"), Some(Value::Duration(i64::MAX)));
    match globals.set_duration("d", Duration::from_nanos(i64::MAX as u64 + 1)) {
        Err(Error::DurationOutOfRange { secs }) => assert_eq!(secs, 9_223_372_036),
        other => panic!("{other:?}"),
    }
    match globals.set_duration("d", Duration::MAX) {
        Err(Error::DurationOutOfRange { secs }) => assert_eq!(secs, u64::MAX),
        other => panic!("{other:?}"),
    }
    assert_eq!(globals.get("d"), Some(Value::Duration(i64::MAX)));
}

#[test]
fn del_of_a_name_never_set_is_no_change() {
    let globals = Globals::new();
    let version = globals.version();
    assert_eq!(globals.del("never.set").unwrap(), None);
    assert_eq!(globals.version(), version);
    assert!(globals.is_empty());
}

/// Memory held by the registry stays proportional to what is set, and `del` gives it back. The
/// other tests of this binary allocate a few kilobytes at most, which the bounds leave room for.
#[test]
fn two_million_names_set_then_deleted_give_their_memory_back() {
    const N: usize = 2_000_000;
    let names: Vec<String> = (0..N).map(|i| format!("flag.{i:07}")).collect();
    let globals = Globals::new();
    let before = HELD.load(Ordering::Relaxed);
    for (i, name) in names.iter().enumerate() {
        globals.set(name, i as u64).unwrap();
    }
    let held = HELD.load(Ordering::Relaxed) - before;
    assert_eq!(globals.len(), N);
    let per_name = held as f64 / N as f64;
    println!("{N} names set: {held} bytes held, {per_name:.0} per name");
    // A hash-table bucket of about 100 bytes, up to half of them empty after the table doubles,
    // and the 12-byte name in its own allocation: 235 bytes per name measured.
    assert!(per_name < 256.0, "{per_name:.0} bytes per 12-byte name");
    for name in &names {
        globals.del(name).unwrap();
    }
    let left = HELD.load(Ordering::Relaxed) - before;
    println!("after deleting them all: {left} bytes held");
    assert!(globals.is_empty());
    // The registry keeps 64 shards of up to 16 buckets (about 90 KiB) however many names came
    // and went.
    assert!(left < 128 * 1024, "{left} bytes still held after del");
}
