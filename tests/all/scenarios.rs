//! wazero-global's own scenarios (defaults, set, del) for every type, against both profile
//! guests, and the count of host calls during reads.

use crate::profile_guests;
use wasmtime_global::{Globals, Value};
use wasmtime_global_test_support::{Guest, PROFILE, engine};

const BOOL: i32 = 0;
const UINT64: i32 = 1;
const DURATION: i32 = 2;
const INT64: i32 = 3;
const FLOAT64: i32 = 4;

#[test]
fn defaults_set_del_every_type() -> wasmtime::Result<()> {
    let engine = engine();
    for (which, module) in profile_guests(&engine)? {
        let globals = Globals::new();
        let mut guest = Guest::started(&engine, &module, &globals)?;
        for (i, (name, _, default)) in PROFILE.iter().enumerate() {
            assert_eq!(guest.get(i as i32)?, *default, "{which}: default of {name}");
        }

        globals.set_bool("TEST_BOOL", false)?;
        globals.set_u64("TEST_UINT64", 43)?;
        globals.set_duration("TEST_DURATION", std::time::Duration::from_secs(1))?;
        globals.set_i64("TEST_INT64", i64::MIN)?;
        globals.set_f64("TEST_FLOAT64", -0.0)?;
        assert_eq!(guest.get(BOOL)?, 0, "{which}");
        assert_eq!(guest.get(UINT64)?, 43, "{which}");
        assert_eq!(guest.get(DURATION)?, 1_000_000_000, "{which}");
        assert_eq!(guest.get(INT64)?, i64::MIN as u64, "{which}");
        assert_eq!(guest.get(FLOAT64)?, (-0.0f64).to_bits(), "{which}");

        // Untyped, as wazero-global's Set: accepted for any type.
        globals.set("TEST_UINT64", u64::MAX)?;
        globals.set("TEST_FLOAT64", 0x7ff8_0000_dead_beef)?;
        globals.set_value("TEST_DURATION", Value::Duration(-5))?;
        assert_eq!(guest.get(UINT64)?, u64::MAX, "{which}");
        assert_eq!(
            guest.get(FLOAT64)?,
            0x7ff8_0000_dead_beef,
            "{which}: NaN payload kept"
        );
        assert_eq!(
            guest.get(DURATION)?,
            -5i64 as u64,
            "{which}: negative duration"
        );

        for (name, _, _) in PROFILE {
            assert!(globals.del(name)?.is_some(), "{which}: {name} was set");
        }
        for (i, (name, _, default)) in PROFILE.iter().enumerate() {
            assert_eq!(guest.get(i as i32)?, *default, "{which}: {name} after del");
        }
        assert!(globals.list().is_empty());
    }
    Ok(())
}

#[test]
fn a_set_is_not_seen_before_sync() -> wasmtime::Result<()> {
    let engine = engine();
    for (which, module) in profile_guests(&engine)? {
        let globals = Globals::new();
        let mut guest = Guest::started(&engine, &module, &globals)?;
        globals.set_u64("TEST_UINT64", 7)?;
        assert_eq!(
            guest.call::<i32, i64>("get", UINT64)?,
            42,
            "{which}: not synced yet"
        );
        assert_eq!(guest.get(UINT64)?, 7, "{which}: synced");
    }
    Ok(())
}

#[test]
fn a_million_reads_make_no_host_call() -> wasmtime::Result<()> {
    let engine = engine();
    for (which, module) in profile_guests(&engine)? {
        let globals = Globals::new();
        let mut guest = Guest::started(&engine, &module, &globals)?;
        let declared = guest.host_calls();
        assert_eq!(declared, 5, "{which}: one host call per declaration");

        assert_eq!(guest.sum(UINT64, 1_000_000)?, 42_000_000, "{which}");
        globals.set_u64("TEST_UINT64", 3)?;
        wasmtime_global::sync(&mut guest.store, |h| &mut h.globals)?;
        assert_eq!(guest.sum(UINT64, 1_000_000)?, 3_000_000, "{which}");
        for i in [BOOL, DURATION, INT64, FLOAT64] {
            guest.sum(i, 1_000)?;
        }

        assert_eq!(
            guest.host_calls(),
            declared,
            "{which}: reads called the host"
        );
        assert_eq!(
            guest.store.data().globals.stats().declare_calls,
            5,
            "{which}"
        );
    }
    Ok(())
}

#[test]
fn the_rust_sdk_declares_at_first_read() -> wasmtime::Result<()> {
    let engine = engine();
    let module =
        wasmtime::Module::from_file(&engine, wasmtime_global_test_artifacts::guests::SCENARIO)?;
    let globals = Globals::new();
    let mut guest = Guest::new(&engine, &module, &globals)?;
    assert_eq!(guest.host_calls(), 0);
    assert_eq!(guest.get(UINT64)?, 42);
    assert_eq!(guest.host_calls(), 1, "first read declares");
    assert_eq!(guest.get(UINT64)?, 42);
    assert_eq!(guest.sum(UINT64, 10)?, 420);
    assert_eq!(guest.host_calls(), 1, "later reads do not");
    Ok(())
}

#[test]
fn sync_writes_only_what_changed() -> wasmtime::Result<()> {
    let engine = engine();
    for (which, module) in profile_guests(&engine)? {
        let globals = Globals::new();
        let mut guest = Guest::started(&engine, &module, &globals)?;
        let sync = |g: &mut Guest| wasmtime_global::sync(&mut g.store, |h| &mut h.globals);
        assert_eq!(sync(&mut guest)?, 0, "{which}: nothing changed");
        globals.set_u64("TEST_UINT64", 1)?;
        globals.set_u64("NOT_DECLARED", 1)?;
        assert_eq!(sync(&mut guest)?, 1, "{which}: one declared global changed");
        assert_eq!(sync(&mut guest)?, 0, "{which}: nothing since");
        globals.set_u64("TEST_UINT64", 1)?;
        assert_eq!(sync(&mut guest)?, 0, "{which}: same value is no change");
        globals.set_u64("TEST_UINT64", 2)?;
        globals.set_u64("TEST_UINT64", 3)?;
        assert_eq!(
            sync(&mut guest)?,
            1,
            "{which}: two changes of one name, one write"
        );
        assert_eq!(guest.get(UINT64)?, 3, "{which}");
    }
    Ok(())
}

#[test]
fn the_call_hook_syncs_on_entry() -> wasmtime::Result<()> {
    let engine = engine();
    for (which, module) in profile_guests(&engine)? {
        let globals = Globals::new();
        let mut guest = Guest::new(&engine, &module, &globals)?;
        wasmtime_global::sync_on_call(&mut guest.store, |h| &mut h.globals);
        guest.init()?;
        globals.set_u64("TEST_UINT64", 1234)?;
        assert_eq!(
            guest.call::<i32, i64>("get", UINT64)?,
            1234,
            "{which}: no explicit sync"
        );
    }
    Ok(())
}

#[test]
fn the_demo_guest_reads_like_wazero_global() -> wasmtime::Result<()> {
    let engine = engine();
    let module =
        wasmtime::Module::from_file(&engine, wasmtime_global_test_artifacts::guests::DEMO)?;
    let globals = Globals::new();
    let mut guest = Guest::new(&engine, &module, &globals)?;
    assert_eq!(guest.call::<(), i32>("test_bool", ())?, 1);
    assert_eq!(guest.call::<(), i64>("test_uint64", ())?, 42);
    assert_eq!(guest.call::<(), i64>("test_duration_ms", ())?, 60_000);
    globals.set("TEST_BOOL", 0)?;
    globals.set("TEST_UINT64", 43)?;
    globals.set("TEST_DURATION", 1_000_000_000)?;
    wasmtime_global::sync(&mut guest.store, |h| &mut h.globals)?;
    assert_eq!(guest.call::<(), i32>("test_bool", ())?, 0);
    assert_eq!(guest.call::<(), i64>("test_uint64", ())?, 43);
    assert_eq!(guest.call::<(), i64>("test_duration_ms", ())?, 1_000);
    Ok(())
}
