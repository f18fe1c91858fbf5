//! What a store pays: `sync` when k of n declared globals changed, the cost of a declaration and
//! of attaching an instance, and the host memory kept per store, per attached instance, per
//! declared slot and per name. One run; figures per operation.
//!
//! `cargo bench -p wasmtime-global --bench sync`

use wasmtime_global_test_support::bench;
use wasmtime_global_test_support::say;

use bench::{Plan, verdict};
use std::hint::black_box;
use std::mem::offset_of;
use std::sync::atomic::Ordering;
use wasmtime::{Engine, Linker, Module, Store};
use wasmtime_global::{Globals, GlobalsCtx};
use wasmtime_global_abi::{self as abi, fnv1a64};

#[path = "../tests/counting/mod.rs"]
mod counting;

use counting::HELD;

const N: u32 = 100;

fn name(i: u32) -> String {
    format!("GLOBAL_{i:03}")
}

/// A WAT guest with a table of N slots; `init(count)` declares the first `count` (U64 names
/// GLOBAL_000…).
fn guest() -> String {
    let table = 4096u32;
    let mut wat = String::from(
        r#"(module (import "wasmtime_global_v2" "declare" (func $d (param i32 i32) (result i32)))
  (memory (export "memory") 1)
"#,
    );
    let header = abi::Header::new(N);
    let bytes: String = bytemuck::bytes_of(&header)
        .iter()
        .map(|b| format!("\\{b:02x}"))
        .collect();
    wat += &format!("  (data (i32.const {table}) \"{bytes}\")\n");
    // `init` first writes the table's page even when it declares nothing, so that the page fault
    // of a guest's first write to its table (the kernel copying or zeroing a page, several
    // microseconds) is in every row and not counted as the cost of attaching.
    let count_at = table + offset_of!(abi::Header, count) as u32;
    let u64_tag = abi::ValueType::U64.tag();
    let mut init = format!(
        "  (func (export \"init\") (param $count i32)\n    (i32.store (i32.const {count_at}) (i32.const 0))\n",
    );
    for i in 0..N {
        let (n, addr) = (name(i), 64 + i * 16);
        wat += &format!("  (data (i32.const {addr}) \"{n}\")\n");
        let slot = table + abi::slot_offset(i) as u32;
        let field = |offset: usize| slot + offset as u32;
        init += &format!(
            "    (if (i32.gt_u (local.get $count) (i32.const {i})) (then
    (i64.store (i32.const {slot}) (i64.const {}))
    (i32.store (i32.const {}) (i32.const {addr}))
    (i32.store (i32.const {}) (i32.const {}))
    (i32.store (i32.const {}) (i32.const {u64_tag}))
    (i32.store (i32.const {}) (i32.const {}))
    (drop (call $d (i32.const 4096) (i32.const {i})))))\n",
            fnv1a64(n.as_bytes()) as i64,
            field(offset_of!(abi::Slot, name_addr)),
            field(offset_of!(abi::Slot, name_len)),
            n.len(),
            field(offset_of!(abi::Slot, ty)),
            count_at,
            i + 1,
        );
    }
    wat + &init + "  ))"
}

/// A store with the guest instantiated and `count` globals declared.
fn attached(
    engine: &Engine,
    linker: &Linker<GlobalsCtx>,
    module: &Module,
    globals: &Globals,
    count: u32,
) -> wasmtime::Result<Store<GlobalsCtx>> {
    let mut store = Store::new(engine, GlobalsCtx::new(globals));
    let instance = linker.instantiate(&mut store, module)?;
    let init = instance.get_typed_func::<u32, ()>(&mut store, "init")?;
    init.call(&mut store, count)?;
    assert_eq!(store.data().stats().declare_calls, u64::from(count));
    Ok(store)
}

/// The bytes held after `f` minus those held before, and what `f` returned.
fn held_by<R>(f: impl FnOnce() -> R) -> (isize, R) {
    let before = HELD.load(Ordering::Relaxed);
    let r = f();
    (HELD.load(Ordering::Relaxed) - before, r)
}

fn main() -> wasmtime::Result<()> {
    let plan = Plan::from_args();
    bench::preamble(&plan);
    let engine = Engine::default();
    let module = Module::new(&engine, guest())?;
    let mut linker = Linker::new(&engine);
    wasmtime_global::add_to_linker(&mut linker, |ctx: &mut GlobalsCtx| ctx)?;
    let globals = Globals::new();
    let mut store = attached(&engine, &linker, &module, &globals, N)?;

    say!("sync of one store with {N} declared globals");
    say!(
        "{:<32} {:>26} {:>14}",
        "changed since last sync (k)",
        "set + sync: median (IQR)",
        "per change"
    );
    let mut value = 0u64;
    let nothing = plan.measure(|reps| {
        for _ in 0..reps {
            black_box(wasmtime_global::sync(&mut store, |ctx| ctx).ok());
        }
    });
    say!("{:<32} {nothing:>26}", "0 (sync only)");
    let mut per_change = Vec::new();
    for k in [1u32, 10, 100] {
        let names: Vec<String> = (0..k).map(name).collect();
        let e = plan.measure(|reps| {
            for _ in 0..reps {
                value += 1;
                let mut batch = globals.batch();
                for n in &names {
                    batch.set(n, value);
                }
                batch.commit().ok();
                wasmtime_global::sync(&mut store, |ctx| ctx).ok();
            }
        });
        let each = e.median / f64::from(k);
        per_change.push(each);
        say!("{k:<32} {e:>26} {each:>11.1} ns");
    }
    say!(
        "target: sync with nothing changed <= 10 ns: {:.2} ns, {}",
        nothing.median,
        verdict(nothing.median <= 10.0)
    );
    // O(k): the cost per change does not grow with k (2x allows for noise, far below the 100x
    // an O(declared) sync would show at k = 1).
    let flat = per_change[0] <= 2.0 * per_change[2] && per_change[2] <= 2.0 * per_change[0];
    say!(
        "target: sync costs O(k), not O(declared): per change at k = 1 is {:.2}x that at k = {N}, {}",
        per_change[0] / per_change[2],
        verdict(flat)
    );

    say!();
    // Stores with the guest instantiated are prepared untimed; the clock runs over `init` only.
    let run = |count: u32| {
        plan.measure_prepared(
            200,
            |n| {
                (0..n)
                    .map(|_| {
                        let mut store = Store::new(&engine, GlobalsCtx::new(&globals));
                        let instance = linker.instantiate(&mut store, &module).ok()?;
                        let init = instance
                            .get_typed_func::<u32, ()>(&mut store, "init")
                            .ok()?;
                        Some((store, init))
                    })
                    .collect::<Option<Vec<_>>>()
                    .expect("the bench guest instantiates")
            },
            |stores, _| {
                for (store, init) in stores {
                    black_box(init.call(&mut *store, count).ok());
                }
            },
        )
    };
    let (none, one, all) = (run(0), run(1), run(N));
    let declaration = (all.median - one.median) / f64::from(N - 1);
    let attach = one.median - none.median - declaration;
    say!("a guest's init, each in a new store and instance");
    say!("{:<44} {:>26}", "declaring nothing", none);
    say!("{:<44} {:>26}", "declaring 1 global", one);
    say!("{:<44} {:>26}", format!("declaring {N} globals"), all);
    say!("{:<44} {declaration:>9.0} ns", "one more declaration");
    say!(
        "{:<44} {attach:>9.0} ns",
        "attaching an instance (first declaration less one more)"
    );

    say!();
    // A fresh registry: names new to it, then the same names in further stores.
    let globals = Globals::new();
    let (first, _a) = held_by(|| attached(&engine, &linker, &module, &globals, N));
    let (one, _b) = held_by(|| attached(&engine, &linker, &module, &globals, 1));
    let (all, _c) = held_by(|| attached(&engine, &linker, &module, &globals, N));
    let (bare, _d) = held_by(|| attached(&engine, &linker, &module, &globals, 0));
    let (one, all, first) = (one - bare, all - bare, first - bare);
    let per_slot = (all - one) as f64 / f64::from(N - 1);
    let per_instance = one as f64 - per_slot;
    let per_name = (first - all) as f64 / f64::from(N);
    say!("memory (bytes)");
    say!(
        "  guest table: {} for {N} slots ({} per slot + {} header)",
        abi::table_size(N),
        abi::SLOT_SIZE,
        abi::HEADER_SIZE
    );
    say!(
        "  host, per store: {} inline in the store's data (GlobalsCtx), no heap until a declaration",
        std::mem::size_of::<GlobalsCtx>()
    );
    say!("  host, per attached instance (apart from its slots): {per_instance:.0}");
    say!("  host, per declared slot: {per_slot:.0}");
    say!("  host, per name the registry has not seen before: {per_name:.0} more");
    wasmtime_global_test_support::bench::write_figures(
        env!("CARGO_PKG_NAME"),
        env!("CARGO_CRATE_NAME"),
    );
    Ok(())
}
