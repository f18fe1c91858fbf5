//! The embedder's API of `Globals`, without guests.

use std::time::Duration;
use wasmtime_global::abi::NameError;
use wasmtime_global::{Error, Globals, Value};

#[test]
fn set_get_del_list() -> Result<(), Error> {
    let globals = Globals::new();
    assert_eq!(globals.get("A"), None);
    globals.set("A", 1)?;
    globals.set_f64("B", 2.5)?;
    globals.set_duration("C", Duration::from_millis(3))?;
    assert_eq!(globals.get("A"), Some(Value::Bits(1)));
    assert_eq!(
        globals.list(),
        vec![
            ("A".to_owned(), Value::Bits(1)),
            ("B".to_owned(), Value::F64(2.5)),
            ("C".to_owned(), Value::Duration(3_000_000)),
        ]
    );
    assert_eq!(globals.del("B")?, Some(Value::F64(2.5)));
    assert_eq!(globals.del("B")?, None, "del of a name not set");
    assert_eq!(globals.del("NEVER_SET")?, None);
    assert_eq!(globals.len(), 2);
    Ok(())
}

#[test]
fn changes_nobody_declared_do_not_move_the_version() -> Result<(), Error> {
    // Stores sync only the names their instances declared: nothing to do for these.
    let globals = Globals::new();
    globals.set("A", 1)?;
    globals.set_u64("A", 2)?;
    globals.del("A")?;
    assert_eq!(globals.version(), 0);
    assert!(globals.is_empty(), "del of an undeclared name frees it");
    Ok(())
}

#[test]
fn a_batch_is_checked_whole_before_anything_is_applied() -> Result<(), Error> {
    let globals = Globals::new();
    let mut batch = globals.batch();
    batch.set("A", 1).set("", 2);
    assert_eq!(
        batch.commit(),
        Err(Error::InvalidName {
            name: String::new(),
            source: NameError::Empty
        })
    );
    assert_eq!(globals.get("A"), None, "nothing applied");
    let mut batch = globals.batch();
    batch.set("A", 1).set_value("B", Value::I64(-1)).del("C");
    batch.commit()?;
    assert_eq!(
        globals.list(),
        vec![("A".into(), Value::Bits(1)), ("B".into(), Value::I64(-1))]
    );
    Ok(())
}

#[test]
fn names_are_checked() {
    let globals = Globals::new();
    let long = "x".repeat(256);
    let cases = [
        ("", NameError::Empty),
        (long.as_str(), NameError::TooLong { len: 256 }),
        ("A\0B", NameError::ContainsNul { at: 1 }),
    ];
    for (name, source) in cases {
        let expected = Error::InvalidName {
            name: name.to_owned(),
            source,
        };
        assert_eq!(globals.set(name, 1), Err(expected.clone()));
        assert_eq!(globals.del(name), Err(expected));
    }
    assert_eq!(
        globals.set(&"x".repeat(255), 1),
        Ok(()),
        "255 bytes is the maximum"
    );
    assert_eq!(globals.set("ünïcödé ✓", 1), Ok(()), "any UTF-8 but NUL");
}

#[test]
fn durations_past_i64_nanoseconds_are_refused() {
    let globals = Globals::new();
    let max = Duration::from_nanos(i64::MAX as u64);
    assert_eq!(globals.set_duration("D", max), Ok(()));
    assert_eq!(globals.get("D"), Some(Value::Duration(i64::MAX)));
    let over = max + Duration::from_nanos(1);
    assert_eq!(
        globals.set_duration("D", over),
        Err(Error::DurationOutOfRange {
            secs: over.as_secs()
        })
    );
}

#[test]
fn globals_is_send_sync_clone() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<Globals>();
}
