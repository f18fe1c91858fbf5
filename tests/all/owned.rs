//! Names the embedder owns, end to end: a guest refused a name (the Rust SDK panics at its
//! first read, which traps with `unreachable`) leaves a `Refusal` in its store that says why, and
//! a defined default reaches guests in shared memories as it does ordinary ones.

use wasmtime::{Module, Trap};
use wasmtime_global::{Globals, Value, ValueType};
use wasmtime_global_test_artifacts::guests;
use wasmtime_global_test_support::{Guest, engine, shared_by_stores};

/// Finding 3 of issue 11: a typed value set before any guest declares the name fixes its type;
/// a guest that declares it with another then traps with nothing but `unreachable` to show. The
/// store's refusals say which name, which types, and who fixed it.
#[test]
fn a_guest_refused_a_name_traps_and_its_embedder_sees_why() -> wasmtime::Result<()> {
    let engine = engine();
    let module = Module::from_file(&engine, guests::DEMO)?;
    let globals = Globals::new();
    globals.set_u64("TEST_BOOL", 1)?;
    let mut guest = Guest::new(&engine, &module, &globals)?;
    let trap = guest
        .call::<(), i32>("test_bool", ())
        .expect_err("the SDK panics at the read of a refused global");
    assert_eq!(
        trap.downcast_ref::<Trap>(),
        Some(&Trap::UnreachableCodeReached)
    );
    let refusals = guest.store.data().globals.refusals();
    assert_eq!(refusals.len(), 1);
    let r = &refusals[0];
    assert_eq!(
        (r.name.as_str(), r.declared, r.fixed, r.defined),
        ("TEST_BOOL", ValueType::Bool, ValueType::U64, false)
    );

    // Defined as the guests declare it, the name cannot be fixed by a stray typed set.
    let globals = Globals::new();
    globals.define("TEST_BOOL", ValueType::Bool, None)?;
    assert!(globals.set_u64("TEST_BOOL", 1).is_err());
    let mut guest = Guest::new(&engine, &module, &globals)?;
    assert_eq!(guest.call::<(), i32>("test_bool", ())?, 1);
    assert!(guest.store.data().globals.refusals().is_empty());
    Ok(())
}

#[test]
fn a_defined_default_reaches_shared_memory_guests() -> wasmtime::Result<()> {
    let globals = Globals::new();
    globals.define("TEST_UINT64", ValueType::U64, Some(Value::U64(100)))?;
    let (mut guests, _memory) = shared_by_stores(2, &globals)?;
    for g in &mut guests {
        g.init()?;
    }
    let read = |guests: &mut Vec<Guest>| -> wasmtime::Result<Vec<u64>> {
        guests.iter_mut().map(|g| g.get(1)).collect()
    };
    assert_eq!(read(&mut guests)?, [100, 100], "not the guests' 42");
    globals.set_u64("TEST_UINT64", 5)?;
    assert_eq!(read(&mut guests)?, [5, 5]);
    globals.del("TEST_UINT64")?;
    assert_eq!(read(&mut guests)?, [100, 100]);
    globals.undefine("TEST_UINT64")?;
    assert_eq!(read(&mut guests)?, [42, 42]);
    Ok(())
}
