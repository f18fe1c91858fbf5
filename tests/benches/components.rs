//! What a component's read of a global costs (issue 23): through the project's interface
//! (`read` of the global's index, as the Rust SDK reads; and a handle's `bits`, which lends the
//! handle), through `wasi:config/store`'s `get` of the same value, and wasmtime's cost of an
//! empty host call from a component, all in one run and one component
//! (`wat/component_reads.wat`); a core module's read of the same global, for scale; and a
//! request of a component that declares and reads 16 globals, in wasmtime's default pooling
//! allocator.
//!
//! `cargo bench -p wasmtime-global-tests --bench components` (`-- --quick` for a first look)

use wasmtime_global_test_support::bench;
use wasmtime_global_test_support::say;

use bench::{Plan, verdict};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_global::{Globals, GlobalsCtx};
use wasmtime_global_abi::{self as abi, Header, Slot, ValueType};

/// Targets: a handle's read costs at most this many empty host calls, and `wasi:config`'s `get`
/// of the same value at least this many handle reads.
const TARGET_VS_EMPTY: f64 = 2.0;
const TARGET_CONFIG_OVER_HANDLE: f64 = 3.0;

/// A core module that reads the global `BENCH` from its table `n` times (`reads`), after
/// `declare`: the zero-call read, for scale. The test writes the table.
const CORE: &str = r#"
(module
  (import "wasmtime_global_v3" "declare" (func $declare (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "declare") (result i32) (call $declare (i32.const 1024) (i32.const 0)))
  (func (export "reads") (param $n i32) (result i64)
    (local $sum i64)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $sum (i64.add (local.get $sum) (i64.load (i32.const 1120))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $sum)))
"#;

fn linker(engine: &Engine) -> wasmtime::Result<Linker<GlobalsCtx>> {
    let mut linker = Linker::new(engine);
    wasmtime_global::component::add_to_linker(&mut linker, |ctx| ctx)?;
    wasmtime_global::config::add_to_linker(&mut linker, |ctx| ctx)?;
    linker.root().func_wrap("empty", |_, (): ()| Ok(()))?;
    Ok(linker)
}

/// ns per core read of `BENCH`.
fn core_read(plan: &Plan, globals: &Globals) -> wasmtime::Result<bench::Estimate> {
    let engine = Engine::default();
    let module = wasmtime::Module::new(&engine, CORE)?;
    let mut linker = wasmtime::Linker::new(&engine);
    wasmtime_global::add_to_linker(&mut linker, |ctx: &mut GlobalsCtx| ctx)?;
    let mut store = Store::new(&engine, GlobalsCtx::new(globals));
    let instance = linker.instantiate(&mut store, &module)?;
    let memory = instance.get_memory(&mut store, "memory").expect("a memory");
    let header = Header {
        count: 1,
        ..Header::new(1)
    };
    let slot = Slot {
        hash: abi::fnv1a64(b"BENCH"),
        name_addr: 512,
        name_len: 5,
        ty: ValueType::U64.tag(),
        default: 1,
        value: 1,
        ..Slot::ZERO
    };
    memory.write(&mut store, 1024, bytemuck::bytes_of(&header))?;
    memory.write(&mut store, 1024 + 64, bytemuck::bytes_of(&slot))?;
    memory.write(&mut store, 512, b"BENCH")?;
    let declare = instance.get_typed_func::<(), i32>(&mut store, "declare")?;
    assert_eq!(declare.call(&mut store, ())?, 0, "declared");
    let reads = instance.get_typed_func::<i32, i64>(&mut store, "reads")?;
    assert_eq!(reads.call(&mut store, 2)?, 2 * 12345);
    Ok(plan.measure(|n| {
        reads.call(&mut store, n as i32).expect("reads");
    }))
}

fn main() -> wasmtime::Result<()> {
    let plan = Plan::from_args();
    bench::preamble(&plan);
    let globals = Globals::new();
    globals.set_u64("BENCH", 12345)?;

    let engine = Engine::default();
    let component = Component::new(&engine, include_str!("wat/component_reads.wat"))?;
    let linker = linker(&engine)?;
    let mut store = Store::new(&engine, GlobalsCtx::new(&globals));
    let instance = linker.instantiate(&mut store, &component)?;
    let handle = instance.get_typed_func::<(u32,), (u64,)>(&mut store, "handle-reads")?;
    let index = instance.get_typed_func::<(u32,), (u64,)>(&mut store, "index-reads")?;
    let config = instance.get_typed_func::<(u32,), (u64,)>(&mut store, "config-gets")?;
    let empty = instance.get_typed_func::<(u32,), ()>(&mut store, "empty-calls")?;
    assert_eq!(handle.call(&mut store, (3,))?, (3 * 12345,));
    assert_eq!(index.call(&mut store, (3,))?, (3 * 12345,));
    assert_eq!(config.call(&mut store, (2,))?, (2 * 5,), "\"12345\" twice");

    // In turns, so that the machine's drift weighs on each alike: the median of each row's
    // medians over the rounds.
    let rounds = 3;
    let mut rows: [Vec<bench::Estimate>; 4] = Default::default();
    for _ in 0..rounds {
        rows[0].push(plan.measure(|n| {
            empty.call(&mut store, (n as u32,)).expect("empty calls");
        }));
        rows[1].push(plan.measure(|n| {
            handle.call(&mut store, (n as u32,)).expect("handle reads");
        }));
        rows[2].push(plan.measure(|n| {
            config.call(&mut store, (n as u32,)).expect("config gets");
        }));
        rows[3].push(plan.measure(|n| {
            index.call(&mut store, (n as u32,)).expect("index reads");
        }));
    }
    let [empty_e, handle_e, config_e, index_e] = rows.map(|mut r| {
        r.sort_by(|a, b| a.median.total_cmp(&b.median));
        r[r.len() / 2]
    });
    let core = core_read(&plan, &globals)?;
    say!("one read of a global from a component, per read (median of {rounds} rounds)");
    say!("{:<56} {:>24} {:>8}", "", "median (IQR)", "vs empty");
    let row = |label: &str, e: &bench::Estimate| {
        say!(
            "{label:<56} {:>24} {:>7.2}×",
            e.to_string(),
            e.ratio(&empty_e)
        );
    };
    row("an empty host call (wasmtime's floor)", &empty_e);
    row("the project's interface: read(index)", &index_e);
    row("the project's interface: a handle's bits (lent)", &handle_e);
    row("wasi:config/store get of the same value", &config_e);
    row("a core module's read of the same global (a load)", &core);
    let vs_empty = index_e.ratio(&empty_e);
    say!(
        "target: a read (read(index)) ≤ {TARGET_VS_EMPTY}× an empty host call: {vs_empty:.2}×, {}",
        verdict(vs_empty <= TARGET_VS_EMPTY)
    );
    let faster = config_e.ratio(&index_e);
    say!(
        "target: ≥ {TARGET_CONFIG_OVER_HANDLE}× faster than wasi:config get: {faster:.2}×, {}",
        verdict(faster >= TARGET_CONFIG_OVER_HANDLE)
    );
    say!();

    // A request: a new store, an instance from the InstancePre, one call, the store dropped.
    let mut config = Config::new();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(
        PoolingAllocationConfig::default(),
    ));
    let pooled = Engine::new(&config)?;
    let component = Component::new(&pooled, include_str!("wat/component_reads.wat"))?;
    let pre = linker_for(&pooled)?.instantiate_pre(&component)?;
    let request = |read: bool| {
        let mut store = Store::new(&pooled, GlobalsCtx::new(&globals));
        let instance = pre.instantiate(&mut store).expect("instantiate");
        if read {
            let f = instance
                .get_typed_func::<(), (u64,)>(&mut store, "read-16")
                .expect("read-16");
            assert_eq!(f.call(&mut store, ()).expect("a request"), (16,));
        } else {
            let f = instance
                .get_typed_func::<(u32,), ()>(&mut store, "empty-calls")
                .expect("empty-calls");
            f.call(&mut store, (0,)).expect("a request");
        }
    };
    let none = plan.measure(|n| (0..n).for_each(|_| request(false)));
    let sixteen = plan.measure(|n| (0..n).for_each(|_| request(true)));
    say!(
        "a request of a component (default pooling allocator): new store, instantiate, one call, drop"
    );
    say!("{:<56} {:>24}", "reads no global", none.to_string());
    say!(
        "{:<56} {:>24} {:>7.2}× ({:.0} ns a global)",
        "declares and reads 16 globals",
        sixteen.to_string(),
        sixteen.ratio(&none),
        (sixteen.median - none.median) / 16.0
    );
    wasmtime_global_test_support::bench::write_figures(
        env!("CARGO_PKG_NAME"),
        env!("CARGO_CRATE_NAME"),
    );
    Ok(())
}

fn linker_for(engine: &Engine) -> wasmtime::Result<Linker<GlobalsCtx>> {
    linker(engine)
}
