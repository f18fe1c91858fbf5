//! Scopes: a registry that overlays another (`Globals::child`). Fleet-wide values in a parent,
//! a tenant's own in a child; sources feed either.

use crate::live::{INT64, UINT64, shared_guest, under_batches};
use std::time::Duration;
use wasmtime::Module;
use wasmtime_global::{Error, Globals, Literal, Value, ValueType};
use wasmtime_global_sources::file::WatchedFile;
use wasmtime_global_test_support::{Guest, engine};

fn ordinary_guest(engine: &wasmtime::Engine, globals: &Globals) -> wasmtime::Result<Guest> {
    let module = Module::new(engine, include_str!("wat/scenario.wat"))?;
    let guest = Guest::started(engine, &module, globals)?;
    Ok(guest)
}

#[test]
fn the_child_wins_and_deleting_falls_back_to_the_parent_not_the_default() -> wasmtime::Result<()> {
    let engine = engine();
    let fleet = Globals::new();
    fleet.set_u64("TEST_UINT64", 100)?;
    let tenant = fleet.child();
    assert!(tenant.parent().is_some() && fleet.parent().is_none());
    let mut guest = ordinary_guest(&engine, &tenant)?;
    assert_eq!(
        guest.get(UINT64)?,
        100,
        "the parent's value, not the default 42"
    );

    tenant.set_u64("TEST_UINT64", 5)?;
    assert_eq!(guest.get(UINT64)?, 5, "the child's own value wins");
    fleet.set_u64("TEST_UINT64", 200)?;
    assert_eq!(
        guest.get(UINT64)?,
        5,
        "a parent's change does not reach an overridden name"
    );
    assert_eq!(tenant.get("TEST_UINT64"), Some(Value::U64(5)));

    assert_eq!(tenant.del("TEST_UINT64")?, Some(Value::U64(5)));
    assert_eq!(guest.get(UINT64)?, 200, "back to the parent's value");
    assert_eq!(tenant.current("TEST_UINT64"), Some(Value::U64(200)));
    assert_eq!(
        tenant.get("TEST_UINT64"),
        None,
        "get is the child's own value"
    );

    fleet.set_u64("TEST_UINT64", 300)?;
    assert_eq!(
        guest.get(UINT64)?,
        300,
        "the parent's changes reach it again"
    );
    fleet.del("TEST_UINT64")?;
    assert_eq!(
        guest.get(UINT64)?,
        42,
        "nothing set anywhere: the guest's own default"
    );
    Ok(())
}

#[test]
fn a_parent_change_reaches_every_child_and_grandchild_that_does_not_override()
-> wasmtime::Result<()> {
    let engine = engine();
    let fleet = Globals::new();
    let tenants: Vec<Globals> = (0..3).map(|_| fleet.child()).collect();
    let team = tenants[1].child();
    tenants[2].set_u64("TEST_UINT64", 7)?;
    let mut guests = tenants
        .iter()
        .chain([&team])
        .map(|g| ordinary_guest(&engine, g))
        .collect::<wasmtime::Result<Vec<_>>>()?;
    fleet.set_u64("TEST_UINT64", 9)?;
    let seen = guests
        .iter_mut()
        .map(|g| g.get(UINT64))
        .collect::<wasmtime::Result<Vec<_>>>()?;
    assert_eq!(seen, [9, 9, 7, 9]);
    // The middle registry's own value reaches its child.
    tenants[1].set_u64("TEST_UINT64", 11)?;
    assert_eq!(guests[3].get(UINT64)?, 11);
    tenants[1].del("TEST_UINT64")?;
    assert_eq!(guests[3].get(UINT64)?, 9);
    // A child made later starts from what its parent's guests read now.
    let late = tenants[1].child();
    assert_eq!(late.current("TEST_UINT64"), Some(Value::U64(9)));
    // A dropped child is simply gone.
    drop(guests.pop());
    drop(team);
    fleet.set_u64("TEST_UINT64", 10)?;
    assert_eq!(late.current("TEST_UINT64"), Some(Value::U64(10)));
    Ok(())
}

#[test]
fn a_parent_batch_is_one_batch_for_a_shared_memory_guest_of_a_child() -> wasmtime::Result<()> {
    let engine = engine();
    let fleet = Globals::new();
    let tenant = fleet.child();
    let mut guest = Guest::started(&engine, &shared_guest(&engine)?, &tenant)?;
    let mut equal = fleet.batch();
    equal.set("TEST_UINT64", 0).set("TEST_INT64", 0);
    equal.commit()?;
    let generation = guest.call::<(), i64>("generation", ())?;
    let args = (UINT64, INT64, 1_000_000);
    let (bad, batches) =
        under_batches(&mut guest, &fleet, |g| g.call::<_, i32>("consistent", args))?;
    assert_eq!(
        bad, 0,
        "a snapshot saw half of one of {batches} parent batches"
    );
    assert_eq!(guest.get(UINT64)?, batches);
    assert_eq!(guest.get(INT64)?, batches);
    assert_eq!(
        guest.call::<(), i64>("generation", ())? - generation,
        2 * batches as i64,
        "one generation cycle per parent batch"
    );
    Ok(())
}

#[test]
fn types_hold_through_the_overlay() -> wasmtime::Result<()> {
    let engine = engine();
    let fleet = Globals::new();
    let tenant = fleet.child();
    let mut guest = ordinary_guest(&engine, &tenant)?; // TEST_UINT64 declared U64 in the child
    // A typed value the child's guests cannot read is not refused in the parent (issue 20,
    // finding 3: one tenant must not block the fleet): the child's guests keep their value,
    // and the child's snapshot says what it did not take.
    fleet.set_f64("TEST_UINT64", 1.5)?;
    assert_eq!(guest.get(1)?, 42, "the guest's own default");
    let snapshot = tenant.snapshot();
    let row = snapshot.names.iter().find(|n| n.name == "TEST_UINT64");
    assert_eq!(row.map(|r| r.withheld), Some(Some(Value::F64(1.5))));
    // The child's own typed sets are held to its guests' type.
    assert_eq!(
        tenant.set_f64("TEST_UINT64", 2.5),
        Err(Error::TypeMismatch {
            name: "TEST_UINT64".into(),
            declared: ValueType::U64,
            given: ValueType::F64,
        })
    );
    tenant.set_u64("TEST_UINT64", 1)?;
    assert_eq!(guest.get(1)?, 1);
    // A value the parent typed first fixes the name for the child's guests too.
    fleet.set_bool("TEST_BOOL_ELSEWHERE", true)?;
    assert_eq!(tenant.declared_type("TEST_BOOL_ELSEWHERE"), None);
    assert_eq!(
        tenant.current("TEST_BOOL_ELSEWHERE"),
        Some(Value::Bool(true))
    );
    // A definition's default reaches children as a value would.
    fleet.define("LIMIT", ValueType::U64, Some(Value::U64(8)))?;
    assert_eq!(tenant.current("LIMIT"), Some(Value::U64(8)));
    fleet.undefine("LIMIT")?;
    assert_eq!(tenant.current("LIMIT"), None);
    Ok(())
}

/// Issue 20, finding 3: while a fleet's file held a typed value of a name that one tenant's
/// guest had declared with another type, the fleet's watched file refused every later version,
/// unrelated names included. Every version now applies; that tenant keeps its value.
#[test]
fn a_tenants_guest_does_not_stop_the_fleets_file() -> wasmtime::Result<()> {
    let engine = engine();
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("fleet.toml");
    let fleet = Globals::new();
    let evil = fleet.child();
    let mut evil_guest = ordinary_guest(&engine, &evil)?; // TEST_INT64 declared I64
    std::fs::write(&path, "OTHER = 1\n")?;
    let file = WatchedFile::start(&path, &fleet)?;
    // A duration for a name the guests declared I64.
    let next = dir.path().join("next.toml");
    std::fs::write(&next, "OTHER = 2\nTEST_INT64 = \"5s\"\n")?;
    std::fs::rename(&next, &path)?;
    let (_, applied) = file.wait_for(Duration::from_secs(10), |s| s.versions == 2);
    assert!(applied, "{:?}", file.status());
    std::fs::write(&next, "OTHER = 3\nTEST_INT64 = \"5s\"\n")?;
    std::fs::rename(&next, &path)?;
    let (status, applied) = file.wait_for(Duration::from_secs(10), |s| s.versions == 3);
    assert!(applied, "{status:?}");
    assert_eq!(status.failures, 0, "{:?}", status.last_error);
    assert_eq!(
        fleet.get("OTHER"),
        Some(Value::Literal(Literal::Int(3.into())))
    );
    assert_eq!(
        fleet.get("TEST_INT64"),
        Some(Value::Literal(Literal::Duration(5_000_000_000)))
    );
    assert_eq!(evil_guest.get(3)?, -7i64 as u64, "keeps its I64 default");
    assert_eq!(evil.snapshot().counters.withheld, 1);
    Ok(())
}

#[test]
fn a_guest_of_a_child_cannot_declare_an_inherited_name_with_another_type() -> wasmtime::Result<()> {
    let engine = engine();
    let fleet = Globals::new();
    fleet.set_f64("TEST_UINT64", 1.5)?;
    let tenant = fleet.child();
    let module = Module::new(&engine, include_str!("wat/scenario.wat"))?;
    let mut guest = Guest::new(&engine, &module, &tenant)?;
    // The scenario guest traps when a declaration is refused.
    assert!(guest.init().is_err());
    let refusals = guest.store.data().globals.refusals();
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert_eq!(refusals[0].name, "TEST_UINT64");
    Ok(())
}

#[test]
fn sources_feed_either_level() -> wasmtime::Result<()> {
    let engine = engine();
    let dir = tempfile::tempdir()?;
    let (fleet_file, tenant_file) = (dir.path().join("fleet.toml"), dir.path().join("t.toml"));
    std::fs::write(&fleet_file, "TEST_UINT64 = 100\nTEST_INT64 = -1\n")?;
    std::fs::write(&tenant_file, "TEST_INT64 = -2\n")?;
    let fleet = Globals::new();
    let tenant = fleet.child();
    let _fleet_watch = WatchedFile::start(&fleet_file, &fleet)?;
    let tenant_watch = WatchedFile::start(&tenant_file, &tenant)?;
    let mut guest = ordinary_guest(&engine, &tenant)?;
    assert_eq!(guest.get(UINT64)?, 100);
    assert_eq!(guest.get(INT64)? as i64, -2);
    std::fs::write(dir.path().join("t.new"), "")?;
    std::fs::rename(dir.path().join("t.new"), &tenant_file)?;
    let (status, done) = tenant_watch.wait_for(Duration::from_secs(10), |s| s.versions >= 2);
    assert!(done, "{status:?}");
    assert_eq!(
        guest.get(INT64)? as i64,
        -1,
        "the tenant's file dropped it: the fleet's"
    );
    Ok(())
}
