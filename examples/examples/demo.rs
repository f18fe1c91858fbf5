//! The quick start: a Rust guest declares three globals; the host sets and deletes them and
//! prints what the guest reads. The guest's reads are plain loads; the host call count proves it.
//!
//! `cargo run -p wasmtime-global-examples --example demo`

use wasmtime::{Engine, Linker, Module, Store};
use wasmtime_global::{Globals, GlobalsCtx};
use wasmtime_global_test_artifacts::guests;

struct Host {
    globals: GlobalsCtx,
}

fn main() -> wasmtime::Result<()> {
    let engine = Engine::default();
    let globals = Globals::new(); // wazero-global: New()
    let mut linker = Linker::new(&engine);
    wasmtime_global::add_to_linker(&mut linker, |host: &mut Host| &mut host.globals)?; // Register()

    let module = Module::from_file(&engine, guests::DEMO)?;
    let mut store = Store::new(
        &engine,
        Host {
            globals: GlobalsCtx::new(&globals),
        },
    );
    let instance = linker.instantiate(&mut store, &module)?;
    let test_bool = instance.get_typed_func::<(), i32>(&mut store, "test_bool")?;
    let test_uint64 = instance.get_typed_func::<(), i64>(&mut store, "test_uint64")?;
    let test_duration = instance.get_typed_func::<(), i64>(&mut store, "test_duration_ms")?;

    let mut reads = 0;
    let mut report = |store: &mut Store<Host>, when: &str| -> wasmtime::Result<()> {
        reads += 3;
        wasmtime_global::sync(&mut *store, |host| &mut host.globals)?;
        println!(
            "{when:<28} TEST_BOOL={:<5} TEST_UINT64={:<4} TEST_DURATION={}ms",
            test_bool.call(&mut *store, ())? != 0,
            test_uint64.call(&mut *store, ())?,
            test_duration.call(&mut *store, ())?,
        );
        Ok(())
    };

    report(&mut store, "defaults:")?;
    let declares = store.data().globals.stats().declare_calls;

    // wazero-global: Set(), untyped as there, and the typed setters.
    globals.set("TEST_BOOL", 0)?;
    globals.set_u64("TEST_UINT64", 43)?;
    globals.set_duration("TEST_DURATION", std::time::Duration::from_secs(1))?;
    report(&mut store, "after set:")?;

    // From another thread: the registry is Send + Sync.
    let remote = globals.clone();
    std::thread::spawn(move || remote.set_u64("TEST_UINT64", 44))
        .join()
        .expect("thread ran")?;
    report(&mut store, "after set on another thread:")?;

    // wazero-global: Del(): every instance reads its own default again.
    globals.del("TEST_BOOL")?;
    globals.del("TEST_UINT64")?;
    globals.del("TEST_DURATION")?;
    report(&mut store, "after del:")?;

    let calls = store.data().globals.stats().declare_calls;
    assert_eq!(calls, declares, "reads after the first made host calls");
    println!(
        "{reads} reads; the guest called the host {calls} times, to declare each global at its \
         first read; every other read was a plain load"
    );
    Ok(())
}
