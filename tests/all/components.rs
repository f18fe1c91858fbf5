//! Components (issue 23): `wasi:config/store` served live from a registry, to a component written
//! against the standard interface alone (`wat/config.wat`).

use std::path::Path;
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};
use wasmtime_global::{Globals, GlobalsCtx, Value, ValueType};

struct Config {
    store: Store<GlobalsCtx>,
    read: wasmtime::component::TypedFunc<(String,), (String,)>,
    count: wasmtime::component::TypedFunc<(), (u32,)>,
}

impl Config {
    fn new(engine: &Engine, globals: &Globals) -> wasmtime::Result<Config> {
        let component = Component::new(engine, include_str!("wat/config.wat"))?;
        let mut linker = Linker::new(engine);
        wasmtime_global::config::add_to_linker(&mut linker, |ctx| ctx)?;
        let mut store = Store::new(engine, GlobalsCtx::new(globals));
        let instance = linker.instantiate(&mut store, &component)?;
        let read = instance.get_typed_func(&mut store, "read")?;
        let count = instance.get_typed_func(&mut store, "count")?;
        Ok(Config { store, read, count })
    }

    fn read(&mut self, key: &str) -> wasmtime::Result<String> {
        let (value,) = self.read.call(&mut self.store, (key.to_owned(),))?;
        Ok(value)
    }

    fn count(&mut self) -> wasmtime::Result<u32> {
        let (n,) = self.count.call(&mut self.store, ())?;
        Ok(n)
    }
}

/// Every call reads the registry as it is then: a set from another thread is seen by the next
/// `get`, a `del` gives `none` back, and values are value text that reads back as the value.
#[test]
fn a_wasi_config_component_reads_live_values() -> wasmtime::Result<()> {
    let engine = Engine::default();
    let globals = Globals::new();
    let mut config = Config::new(&engine, &globals)?;
    assert_eq!(config.read("MAX_ITEMS")?, "none");
    assert_eq!(config.count()?, 0);

    std::thread::scope(|s| {
        s.spawn(|| globals.set_u64("MAX_ITEMS", 100))
            .join()
            .unwrap()
    })?;
    assert_eq!(config.read("MAX_ITEMS")?, "100");
    let mut batch = globals.batch();
    batch
        .set_value("RATIO", Value::F64(0.25))
        .set_value("TIMEOUT", Value::Duration(90_000_000_000))
        .set_value("ON", Value::Bool(true))
        .set_value("DELTA", Value::I64(-7));
    batch.commit()?;
    assert_eq!(
        ["RATIO", "TIMEOUT", "ON", "DELTA"].map(|k| config.read(k).unwrap()),
        ["0.25", "90s", "true", "-7"]
    );
    assert_eq!(config.count()?, 5);
    globals.del("MAX_ITEMS")?;
    assert_eq!(
        config.read("MAX_ITEMS")?,
        "none",
        "its own default, in its own code"
    );

    // A defined default, with nothing set, is what it reads.
    globals.define("LIMIT", ValueType::U64, Some(Value::U64(8)))?;
    assert_eq!(config.read("LIMIT")?, "8");
    Ok(())
}

/// A tenant's component reads its own registry: its values over the fleet's.
#[test]
fn a_tenants_component_reads_its_registry_over_the_fleets() -> wasmtime::Result<()> {
    let engine = Engine::default();
    let fleet = Globals::new();
    let tenant = fleet.child();
    fleet.set_u64("LIMIT", 10)?;
    fleet.set_u64("BURST", 3)?;
    tenant.set_u64("LIMIT", 20)?;
    let mut fleet_config = Config::new(&engine, &fleet)?;
    let mut tenant_config = Config::new(&engine, &tenant)?;
    assert_eq!(
        [fleet_config.read("LIMIT")?, tenant_config.read("LIMIT")?],
        ["10", "20"]
    );
    assert_eq!(tenant_config.read("BURST")?, "3", "the fleet's, inherited");
    tenant.del("LIMIT")?;
    assert_eq!(tenant_config.read("LIMIT")?, "10", "the fleet's again");
    Ok(())
}

/// The store of a component that uses the project's interface (`test-programs/component`): its
/// globals, WASI preview 2 for the Rust standard library, and what the test's `pause` does.
struct P2 {
    globals: GlobalsCtx,
    wasi: wasmtime_wasi::WasiCtx,
    table: wasmtime::component::ResourceTable,
    /// Run by the guest's `pause`, between two reads of one call.
    on_pause: Option<Box<dyn FnMut() + Send>>,
}

impl wasmtime_wasi::WasiView for P2 {
    fn ctx(&mut self) -> wasmtime_wasi::WasiCtxView<'_> {
        wasmtime_wasi::WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// An instance of the component guest and its store.
struct Guest {
    store: Store<P2>,
    instance: wasmtime::component::Instance,
}

impl Guest {
    fn new(engine: &Engine, ctx: GlobalsCtx) -> wasmtime::Result<Guest> {
        let component =
            Component::from_file(engine, wasmtime_global_test_artifacts::guests::COMPONENT)?;
        let mut linker: Linker<P2> = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        wasmtime_global::component::add_to_linker(&mut linker, |p2| &mut p2.globals)?;
        linker.root().func_wrap(
            "pause",
            |mut store: wasmtime::StoreContextMut<'_, P2>, (): ()| {
                if let Some(f) = &mut store.data_mut().on_pause {
                    f();
                }
                Ok(())
            },
        )?;
        let data = P2 {
            globals: ctx,
            wasi: wasmtime_wasi::WasiCtx::builder().build(),
            table: wasmtime::component::ResourceTable::new(),
            on_pause: None,
        };
        let mut store = Store::new(engine, data);
        let instance = linker.instantiate(&mut store, &component)?;
        Ok(Guest { store, instance })
    }

    fn call<P, R>(&mut self, name: &str, params: P) -> wasmtime::Result<R>
    where
        P: wasmtime::component::ComponentNamedList + wasmtime::component::Lower + Send + Sync,
        R: wasmtime::component::ComponentNamedList + wasmtime::component::Lift + Send + Sync,
    {
        let f = self
            .instance
            .get_typed_func::<P, R>(&mut self.store, name)?;
        f.call(&mut self.store, params)
    }

    /// The guest's `declare`: its handle's index, or the refusal's code.
    fn declare(&mut self, ty: ValueType, name: &str, bits: u64) -> wasmtime::Result<i64> {
        let (i,) = self.call("declare", (ty.tag() as u8, name.to_owned(), bits))?;
        Ok(i)
    }

    fn get(&mut self, i: i64) -> wasmtime::Result<(u8, u64)> {
        let ((tag, bits),) = self.call("get", (i as u32,))?;
        Ok((tag, bits))
    }

    fn bits(&mut self, i: i64) -> wasmtime::Result<u64> {
        let (bits,) = self.call("bits", (i as u32,))?;
        Ok(bits)
    }
}

/// The project's interface (`spec/wit/globals.wit`), to a component built from Rust for
/// wasm32-wasip2: a declared global reads the value set from another thread, a batch whole
/// through `get-many`, its own default again after `del`, and a change made while the guest
/// waits inside one call (reads are live); `version` moves with changes; dropping the handle
/// ends the declaration.
#[test]
#[cfg_attr(
    component_skipped,
    ignore = "the component guest was not built (rustup target add wasm32-wasip2)"
)]
fn a_component_reads_live_typed_globals_through_handles() -> wasmtime::Result<()> {
    if let Some(why) = wasmtime_global_test_artifacts::guests::COMPONENT_SKIPPED {
        panic!("the component guest was not built: {why}");
    }
    let engine = Engine::default();
    let globals = Globals::new();
    let mut guest = Guest::new(&engine, GlobalsCtx::new(&globals))?;
    let max = guest.declare(ValueType::U64, "MAX_ITEMS", 42)?;
    let ratio = guest.declare(ValueType::F64, "RATIO", 0.5f64.to_bits())?;
    assert_eq!((max, ratio), (0, 1));
    assert_eq!(guest.get(max)?, (2, 42), "its default, typed U64");
    assert_eq!(globals.declared_type("MAX_ITEMS"), Some(ValueType::U64));

    std::thread::scope(|s| {
        s.spawn(|| globals.set_u64("MAX_ITEMS", 100))
            .join()
            .unwrap()
    })?;
    assert_eq!(guest.bits(max)?, 100);
    let (by_index,) = guest.call::<(u32,), (u64,)>("read-index", (max as u32,))?;
    assert_eq!(by_index, 100, "read(index) without the handle");
    let (version,) = guest.call::<(), (u64,)>("version", ())?;
    assert_eq!(version, globals.version());

    let mut batch = globals.batch();
    batch
        .set_value("MAX_ITEMS", Value::U64(7))
        .set_value("RATIO", Value::F64(0.25));
    batch.commit()?;
    let (both,) = guest.call::<(Vec<u32>,), (Vec<u64>,)>("get-many", (vec![0, 1],))?;
    assert_eq!(both, [7, 0.25f64.to_bits()]);
    assert_eq!(guest.get(ratio)?, (4, 0.25f64.to_bits()));
    let (moved,) = guest.call::<(), (u64,)>("version", ())?;
    assert!(moved > version, "{moved} after {version}");

    globals.del("MAX_ITEMS")?;
    assert_eq!(guest.bits(max)?, 42, "its own default again");

    let during = globals.clone();
    guest.store.data_mut().on_pause = Some(Box::new(move || {
        during.set_u64("MAX_ITEMS", 9).expect("a U64");
    }));
    let (twice,) = guest.call::<(u32,), ((u64, u64),)>("read-twice", (0,))?;
    assert_eq!(
        twice,
        (42, 9),
        "a change inside one call is seen by the next read"
    );

    guest.call::<(u32,), ()>("drop-global", (0,))?;
    assert_eq!(
        globals.declared_type("MAX_ITEMS"),
        None,
        "the handle's declaration ended"
    );
    assert_eq!(globals.declared_type("RATIO"), Some(ValueType::F64));
    drop(guest);
    assert_eq!(
        globals.declared_type("RATIO"),
        None,
        "the store's went with it"
    );
    Ok(())
}

/// A component's declaration is a declaration like a slot's: typed in the one registry (a
/// definition, or another guest's declaration, fixes the type and a declaration of another is
/// refused, naming the type), its name checked, and counted against the store's limits.
#[test]
#[cfg_attr(
    component_skipped,
    ignore = "the component guest was not built (rustup target add wasm32-wasip2)"
)]
fn a_components_declaration_is_checked_like_a_slots() -> wasmtime::Result<()> {
    if let Some(why) = wasmtime_global_test_artifacts::guests::COMPONENT_SKIPPED {
        panic!("the component guest was not built: {why}");
    }
    let engine = Engine::default();
    let globals = Globals::new();
    globals.define("LIMIT", ValueType::U64, Some(Value::U64(10)))?;
    let limits = wasmtime_global::Limits {
        declarations: 2,
        ..wasmtime_global::Limits::default()
    };
    let mut guest = Guest::new(&engine, GlobalsCtx::with_limits(&globals, limits))?;
    assert_eq!(
        guest.declare(ValueType::F64, "LIMIT", 0)?,
        -102,
        "defined U64"
    );
    let limit = guest.declare(ValueType::U64, "LIMIT", 1)?;
    assert_eq!(
        guest.get(limit)?,
        (2, 10),
        "the defined default over its own"
    );
    globals.define("LIMIT", ValueType::U64, Some(Value::U64(11)))?;
    assert_eq!(
        guest.bits(limit)?,
        11,
        "a new default, defined while it is declared"
    );
    globals.set_u64("LIMIT", 12)?;
    assert_eq!(guest.bits(limit)?, 12);
    globals.del("LIMIT")?;
    assert_eq!(guest.bits(limit)?, 11);
    assert_eq!(guest.declare(ValueType::U64, "", 1)?, -1);
    assert_eq!(guest.declare(ValueType::U64, "A\0B", 1)?, -1);
    assert_eq!(guest.declare(ValueType::U64, &"N".repeat(256), 1)?, -1);
    let flag = guest.declare(ValueType::Bool, "FLAG", 1)?;
    assert_eq!(guest.get(flag)?, (1, 1));
    assert_eq!(
        guest.declare(ValueType::I64, "THIRD", 1)?,
        -2,
        "past 2 declarations"
    );

    // Another store's guest: the type its declaration fixed binds this one.
    let mut other = Guest::new(&engine, GlobalsCtx::new(&globals))?;
    assert_eq!(
        other.declare(ValueType::I64, "FLAG", 0)?,
        -101,
        "FLAG is BOOL"
    );
    guest.call::<(u32,), ()>("drop-global", (flag as u32,))?;
    assert!(
        other.declare(ValueType::I64, "FLAG", 0)? >= 0,
        "free once it went"
    );
    Ok(())
}

/// What the command guest (`test-programs/command`) prints, run as the core module its source builds
/// for wasm32-wasip1, or else as the component it builds for wasm32-wasip2.
fn run_command(globals: &Globals, component: bool) -> wasmtime::Result<String> {
    let path = if component {
        wasmtime_global_test_artifacts::guests::COMMAND_P2
    } else {
        wasmtime_global_test_artifacts::guests::COMMAND_P1
    };
    run_command_at(globals, Path::new(path), component)
}

/// What the WASI command at `path` prints: a component (with WASI preview 2 and the project's
/// interface) or a core module (with WASI preview 1 and the ABI's imports).
pub(crate) fn run_command_at(
    globals: &Globals,
    path: &Path,
    component: bool,
) -> wasmtime::Result<String> {
    let engine = Engine::default();
    let stdout = wasmtime_wasi::p2::pipe::MemoryOutputPipe::new(4096);
    let mut wasi = wasmtime_wasi::WasiCtx::builder();
    wasi.stdout(stdout.clone());
    if component {
        let component = Component::from_file(&engine, path)?;
        let mut linker: Linker<P2> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        wasmtime_global::component::add_to_linker(&mut linker, |p2| &mut p2.globals)?;
        let data = P2 {
            globals: GlobalsCtx::new(globals),
            wasi: wasi.build(),
            table: wasmtime::component::ResourceTable::new(),
            on_pause: None,
        };
        let mut store = Store::new(&engine, data);
        let command = wasmtime_wasi::p2::bindings::sync::Command::instantiate(
            &mut store, &component, &linker,
        )?;
        if command.wasi_cli_run().call_run(&mut store)?.is_err() {
            wasmtime::bail!("the command failed");
        }
    } else {
        struct P1 {
            globals: GlobalsCtx,
            wasi: wasmtime_wasi::p1::WasiP1Ctx,
        }
        let module = wasmtime::Module::from_file(&engine, path)?;
        let mut linker: wasmtime::Linker<P1> = wasmtime::Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |h: &mut P1| &mut h.wasi)?;
        wasmtime_global::add_to_linker(&mut linker, |h: &mut P1| &mut h.globals)?;
        let data = P1 {
            globals: GlobalsCtx::new(globals),
            wasi: wasi.build_p1(),
        };
        let mut store = Store::new(&engine, data);
        let instance = linker.instantiate(&mut store, &module)?;
        let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
        start.call(&mut store, ())?;
    }
    Ok(String::from_utf8_lossy(&stdout.contents()).into_owned())
}

/// One guest source, two builds (issue 23 item 4): the Rust SDK's `U64::new("MAX_ITEMS",
/// 10).get()` and `consistent` compile for wasm32-wasip2 through the project's WIT interface,
/// and the command prints the same as its wasm32-wasip1 build (zero-call reads): the registry's
/// values, a batch whole, its defaults after `del`; a name fixed to another type fails both.
#[test]
#[cfg_attr(
    component_skipped,
    ignore = "the WASI guests were not built (rustup target add wasm32-wasip2)"
)]
fn one_source_builds_as_a_core_module_and_as_a_component() -> wasmtime::Result<()> {
    if let Some(why) = wasmtime_global_test_artifacts::guests::COMPONENT_SKIPPED {
        panic!("the WASI guests were not built: {why}");
    }
    let globals = Globals::new();
    let defaults = "MAX_ITEMS=10 VERBOSE=false TIMEOUT=30s\n";
    for component in [false, true] {
        assert_eq!(
            run_command(&globals, component)?,
            defaults,
            "component: {component}"
        );
    }
    let mut batch = globals.batch();
    batch
        .set_value("MAX_ITEMS", Value::U64(25))
        .set_value("VERBOSE", Value::Bool(true))
        .set_value("TIMEOUT", Value::Duration(1_500_000_000));
    batch.commit()?;
    for component in [false, true] {
        assert_eq!(
            run_command(&globals, component)?,
            "MAX_ITEMS=25 VERBOSE=true TIMEOUT=1.5s\n",
            "component: {component}"
        );
    }
    for name in ["MAX_ITEMS", "VERBOSE", "TIMEOUT"] {
        globals.del(name)?;
    }
    globals.define("MAX_ITEMS", ValueType::F64, None)?;
    for component in [false, true] {
        let e = run_command(&globals, component).expect_err("MAX_ITEMS is F64");
        assert!(
            format!("{e:?}").contains("wasm trap"),
            "component: {component}: {e:?}"
        );
    }
    globals.undefine("MAX_ITEMS")?;
    for component in [false, true] {
        assert_eq!(
            run_command(&globals, component)?,
            defaults,
            "component: {component}"
        );
    }
    Ok(())
}

/// The same `add_to_linker` serves a store with async support (its functions never block): a
/// component declares and reads through `call_async`, and sees a set made between two calls.
#[test]
#[cfg_attr(
    component_skipped,
    ignore = "the component guest was not built (rustup target add wasm32-wasip2)"
)]
fn a_component_in_an_async_store() -> wasmtime::Result<()> {
    if let Some(why) = wasmtime_global_test_artifacts::guests::COMPONENT_SKIPPED {
        panic!("the component guest was not built: {why}");
    }
    let engine = Engine::default();
    let globals = Globals::new();
    globals.set_u64("MAX_ITEMS", 8)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let component =
            Component::from_file(&engine, wasmtime_global_test_artifacts::guests::COMPONENT)?;
        let mut linker: Linker<P2> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_global::component::add_to_linker(&mut linker, |p2| &mut p2.globals)?;
        linker.root().func_wrap("pause", |_, (): ()| Ok(()))?;
        let data = P2 {
            globals: GlobalsCtx::new(&globals),
            wasi: wasmtime_wasi::WasiCtx::builder().build(),
            table: wasmtime::component::ResourceTable::new(),
            on_pause: None,
        };
        let mut store = Store::new(&engine, data);
        let instance = linker.instantiate_async(&mut store, &component).await?;
        let declare =
            instance.get_typed_func::<(u8, String, u64), (i64,)>(&mut store, "declare")?;
        let (i,) = declare
            .call_async(&mut store, (2, "MAX_ITEMS".to_owned(), 1))
            .await?;
        assert_eq!(i, 0);
        let bits = instance.get_typed_func::<(u32,), (u64,)>(&mut store, "bits")?;
        assert_eq!(bits.call_async(&mut store, (0,)).await?, (8,));
        globals.set_u64("MAX_ITEMS", 9)?;
        assert_eq!(bits.call_async(&mut store, (0,)).await?, (9,));
        wasmtime::Result::<()>::Ok(())
    })
}

/// The guest of a test of what a hostile component tries, in a store of `limits`; `None` (the
/// test fails) where the component guest was not built.
fn hostile(limits: wasmtime_global::Limits, globals: &Globals) -> wasmtime::Result<Guest> {
    if let Some(why) = wasmtime_global_test_artifacts::guests::COMPONENT_SKIPPED {
        panic!("the component guest was not built: {why}");
    }
    Guest::new(&Engine::default(), GlobalsCtx::with_limits(globals, limits))
}

/// A `get-many` of more handles than the store holds globals (twice over) traps before the host
/// allocates or takes the registry's lock for it.
#[test]
#[cfg_attr(
    component_skipped,
    ignore = "the component guest was not built (rustup target add wasm32-wasip2)"
)]
fn a_get_many_longer_than_the_stores_globals_traps() -> wasmtime::Result<()> {
    let globals = Globals::new();
    let mut guest = hostile(wasmtime_global::Limits::default(), &globals)?;
    let a = guest.declare(ValueType::U64, "A", 1)?;
    let (two,) = guest.call::<(Vec<u32>,), (Vec<u64>,)>("get-many", (vec![a as u32; 2],))?;
    assert_eq!(two, [1, 1], "a global listed twice");
    let e = guest
        .call::<(Vec<u32>,), (Vec<u64>,)>("get-many", (vec![a as u32; 3],))
        .expect_err("3 handles, 1 global");
    assert!(format!("{e:?}").contains("get-many of 3 handles"), "{e:?}");
    Ok(())
}

/// Declaring and dropping in a loop meets the store's limit on declarations: a dropped handle
/// does not give its declaration back.
#[test]
#[cfg_attr(
    component_skipped,
    ignore = "the component guest was not built (rustup target add wasm32-wasip2)"
)]
fn declaring_and_dropping_in_a_loop_meets_the_limit() -> wasmtime::Result<()> {
    let globals = Globals::new();
    let limits = wasmtime_global::Limits {
        declarations: 3,
        ..wasmtime_global::Limits::default()
    };
    let mut guest = hostile(limits, &globals)?;
    for round in 0..3 {
        let i = guest.declare(ValueType::U64, "CHURN", 1)?;
        assert!(i >= 0, "declaration {round}");
        guest.call::<(u32,), ()>("drop-global", (i as u32,))?;
    }
    assert_eq!(guest.declare(ValueType::U64, "CHURN", 1)?, -2, "the 4th");
    Ok(())
}

/// After the store's ctx is reset, a handle from before names no global of after: it traps
/// rather than reading the global declared next.
#[test]
#[cfg_attr(
    component_skipped,
    ignore = "the component guest was not built (rustup target add wasm32-wasip2)"
)]
fn a_handle_from_before_a_reset_traps() -> wasmtime::Result<()> {
    let globals = Globals::new();
    globals.set_u64("OLD", 5)?;
    globals.set_u64("NEW", 6)?;
    let mut guest = hostile(wasmtime_global::Limits::default(), &globals)?;
    let old = guest.declare(ValueType::U64, "OLD", 1)?;
    assert_eq!(guest.bits(old)?, 5);
    guest.store.data_mut().globals.reset();
    let new = guest.declare(ValueType::U64, "NEW", 1)?;
    assert_eq!(guest.bits(new)?, 6);
    let e = guest.bits(old).expect_err("a handle from before the reset");
    assert!(format!("{e:?}").contains("no global of index"), "{e:?}");
    Ok(())
}

/// A component's type refusal is the component's (a typed error its code handles): the store's
/// `refusals`, which `explain` adds to a trap's error, do not list it.
#[test]
#[cfg_attr(
    component_skipped,
    ignore = "the component guest was not built (rustup target add wasm32-wasip2)"
)]
fn a_components_refusal_is_not_the_stores() -> wasmtime::Result<()> {
    let globals = Globals::new();
    globals.define("FIXED", ValueType::Bool, None)?;
    let mut guest = hostile(wasmtime_global::Limits::default(), &globals)?;
    assert_eq!(guest.declare(ValueType::U64, "FIXED", 1)?, -101);
    assert_eq!(guest.store.data().globals.refusals().len(), 0);
    assert_eq!(guest.store.data().globals.stats().refusals, 0);
    Ok(())
}

/// Change counts: the interface's `changes(index)` counts each look that found the name changed
/// since the look before (two sets between looks count one, as a sync writes a slot once),
/// and the Rust SDK's `changes()` in a component is that count.
#[test]
#[cfg_attr(
    component_skipped,
    ignore = "the component guest was not built (rustup target add wasm32-wasip2)"
)]
fn a_components_change_counts() -> wasmtime::Result<()> {
    let globals = Globals::new();
    let mut guest = hostile(wasmtime_global::Limits::default(), &globals)?;
    globals.set_u64("C", 1)?;
    let c = guest.declare(ValueType::U64, "C", 0)?;
    let changes = |guest: &mut Guest| -> wasmtime::Result<u64> {
        Ok(guest.call::<(u32,), (u64,)>("changes", (c as u32,))?.0)
    };
    assert_eq!(
        changes(&mut guest)?,
        0,
        "a value set before the declaration is no change"
    );
    globals.set_u64("C", 2)?;
    assert_eq!(changes(&mut guest)?, 1);
    assert_eq!(changes(&mut guest)?, 1, "no change since");
    globals.set_u64("C", 3)?;
    globals.set_u64("C", 4)?;
    assert_eq!(guest.bits(c)?, 4);
    assert_eq!(changes(&mut guest)?, 2, "two sets between looks: one");
    globals.del("C")?;
    assert_eq!(changes(&mut guest)?, 3);
    assert_eq!(guest.bits(c)?, 0, "its default");

    let sdk = |guest: &mut Guest| -> wasmtime::Result<(u64, u64)> {
        Ok(guest.call::<(), ((u64, u64),)>("sdk-get-changes", ())?.0)
    };
    assert_eq!(sdk(&mut guest)?, (3, 0), "the SDK's default, no change");
    globals.set_u64("SDK_G", 7)?;
    assert_eq!(sdk(&mut guest)?, (7, 1));
    Ok(())
}
