//! The embedder's API of `Globals`, without guests.

use std::time::Duration;
use wasmtime_global::{Error, Globals, Value};
use wasmtime_global_abi::NameError;

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

/// Issue 22, item 10: a snapshot, with its children, exported through `serde` in the form
/// `host/src/export.rs` documents.
#[test]
fn a_snapshot_exports_as_json() -> Result<(), Error> {
    use serde_json::{Value as Json, json};
    use wasmtime_global::{Literal, ValueType};
    let literal = |text| Value::Literal(Literal::parse(text).unwrap());
    let fleet = Globals::new();
    fleet.define("LIMIT", ValueType::U64, Some(Value::U64(10)))?;
    fleet.set_value("BIG", literal("18446744073709551615"))?;
    fleet.set_value("RATIO", literal("1.5"))?;
    fleet.set_value("TIMEOUT", literal("30s"))?;
    fleet.set_f64("NAN", f64::NAN)?;
    fleet.set_f64("LOW", f64::NEG_INFINITY)?;
    fleet.set("RAW", 7)?;
    let tenant = fleet.child();
    tenant.set_value("LIMIT", Value::U64(20))?;
    tenant.set_bool("OFF", false)?;
    tenant.set_duration("WAIT", Duration::from_millis(3))?;
    tenant.set_value("DELTA", Value::I64(-4))?;

    // A name set in the registry itself, with nothing else to show.
    let set = |name: &str, value: Json| {
        json!({
            "name": name, "value": value, "set": value, "withheld": null, "definition": null,
            "declared_type": null, "declarations": 0, "stores": 0,
        })
    };
    let counters = |sets: u64| {
        json!({
            "sets": sets, "syncs": 0, "declarations": 0, "refusals": 0, "traps": 0,
            "withheld": 0,
        })
    };
    let u64_10 = json!({"type": "U64", "value": 10});
    let fleet_names = vec![
        set(
            "BIG",
            json!({"type": "literal", "kind": "integer", "value": 18_446_744_073_709_551_615_u64}),
        ),
        json!({
            "name": "LIMIT", "value": u64_10, "set": null, "withheld": null,
            "definition": {"type": "U64", "default": u64_10},
            "declared_type": null, "declarations": 0, "stores": 0,
        }),
        set("LOW", json!({"type": "F64", "value": "-inf"})),
        set("NAN", json!({"type": "F64", "value": "NaN"})),
        set(
            "RATIO",
            json!({"type": "literal", "kind": "float", "value": 1.5}),
        ),
        set("RAW", json!({"type": "bits", "value": 7})),
        set(
            "TIMEOUT",
            json!({"type": "literal", "kind": "duration", "value": 30_000_000_000_i64}),
        ),
    ];
    // The tenant reads the fleet's values that it does not set itself: `value` without `set`.
    let inherited = |name: &str| {
        let mut state = fleet_names
            .iter()
            .find(|state| state["name"] == name)
            .unwrap()
            .clone();
        state["set"] = Json::Null;
        state["definition"] = Json::Null;
        state
    };
    let tenant_names = vec![
        inherited("BIG"),
        set("DELTA", json!({"type": "I64", "value": -4})),
        set("LIMIT", json!({"type": "U64", "value": 20})),
        inherited("LOW"),
        inherited("NAN"),
        set("OFF", json!({"type": "BOOL", "value": false})),
        inherited("RATIO"),
        inherited("RAW"),
        inherited("TIMEOUT"),
        set("WAIT", json!({"type": "DURATION", "value": 3_000_000})),
    ];
    assert_eq!(
        serde_json::to_value(fleet.snapshot_with_children()).unwrap(),
        json!({
            "names": fleet_names,
            "counters": counters(7),
            "children": [{"names": tenant_names, "counters": counters(4), "children": []}],
        })
    );
    assert_eq!(
        serde_json::to_value(fleet.snapshot()).unwrap()["children"],
        json!([]),
        "a plain snapshot leaves the children out"
    );
    Ok(())
}

/// Issue 24, item 10: the README's `globals.batch().set(..).del(..).commit()` compiles and
/// applies (it did not: `commit` took the batch by value, `set` returns `&mut`).
#[test]
fn a_batch_is_one_chain_of_changes() -> Result<(), Error> {
    let globals = Globals::new();
    globals.set("B", 2)?;
    globals.batch().set("A", 1).del("B").commit()?;
    assert_eq!(globals.list(), [("A".to_owned(), Value::Bits(1))]);
    let mut batch = globals.batch();
    batch.set("C", 3);
    batch.commit()?;
    assert_eq!(batch.commit(), Ok(()), "empty after a commit");
    batch.set("D", 4).commit()?;
    assert_eq!(globals.len(), 3);
    Ok(())
}
