//! What a `set` costs as instances multiply, and what a consistent snapshot read costs against a
//! plain read, measured in one run.
//!
//! `cargo bench -p wasmtime-global --bench fanout`
//!
//! - Shared memories: `set` writes every attached instance itself, so its cost grows with the
//!   instances that declared the name, and not with those that did not.
//! - Ordinary memories: `set` only updates the registry; each store pays at its next `sync`. The
//!   row "set + sync every store" is what it costs to bring all of them up to date.
//! - Scopes: a set in a parent registry with c children, each with one shared-memory instance
//!   that declared the name, against a set in one registry with c such instances (the same slot
//!   writes): what the overlay adds, per child.

use wasmtime_global_test_support::bench;
use wasmtime_global_test_support::say;

use bench::{Plan, verdict};
use std::hint::black_box;
use wasmtime::{Config, Engine, Linker, Module, Store, TypedFunc};
use wasmtime_global::{Globals, GlobalsCtx};

/// One global `G` (slot 0) and one `H` (slot 1), both U64; `init(name_of_slot_0)` declares them,
/// `read(n)` reads G n times, `snapshot(n)` reads G and H n times with the generation protocol.
const GUEST: &str = r#"
(module
  (import "wasmtime_global_v2" "declare" (func $declare (param i32 i32) (result i32)))
  (memory (export "memory") 1 1 MEMORY)
  (data (i32.const 256) "GOH")
  (data (i32.const 1024) "WGTB\02\00\00\00\40\00\00\00\02\00\00\00\00\00\00\00")
  (func $slot (param $i i32) (param $name i32) (param $hash i64)
    (local $s i32)
    (local.set $s (i32.add (i32.const 1088) (i32.mul (local.get $i) (i32.const 64))))
    (i64.store (local.get $s) (local.get $hash))
    (i32.store offset=8 (local.get $s) (local.get $name))
    (i32.store offset=12 (local.get $s) (i32.const 1))
    (i32.store offset=16 (local.get $s) (i32.const 2))
    (i32.store (i32.const 1040) (i32.add (local.get $i) (i32.const 1)))
    (drop (call $declare (i32.const 1024) (local.get $i))))
  ;; Declares slot 0 as "G" (or "O" when $other), slot 1 as "H".
  (func (export "init") (param $other i32)
    (if (local.get $other)
      (then (call $slot (i32.const 0) (i32.const 257) (i64.const 0xaf64024c86022d1e)))
      (else (call $slot (i32.const 0) (i32.const 256) (i64.const 0xaf63fa4c86021f86))))
    (call $slot (i32.const 1) (i32.const 258) (i64.const 0xaf64054c86023237)))
  (func (export "read") (param $n i32) (result i64)
    (local $t i64)
    (loop $l
      (local.set $t (i64.add (local.get $t) (LOAD offset=1120 (i32.const 0))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n)))
    (local.get $t))
  (func (export "snapshot") (param $n i32) (result i64)
    (local $t i64) (local $g i64)
    (loop $l
      (loop $retry
        (local.set $g (LOAD offset=1048 (i32.const 0)))
        (br_if $retry (i32.wrap_i64 (i64.and (local.get $g) (i64.const 1))))
        (local.set $t (i64.add (local.get $t)
          (i64.add (LOAD offset=1120 (i32.const 0)) (LOAD offset=1184 (i32.const 0)))))
        (br_if $retry (i64.ne (local.get $g) (LOAD offset=1048 (i32.const 0)))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n)))
    (local.get $t)))
"#;

fn guest(engine: &Engine, shared: bool) -> wasmtime::Result<Module> {
    let (memory, load) = if shared {
        ("shared", "i64.atomic.load")
    } else {
        ("", "i64.load")
    };
    Module::new(
        engine,
        GUEST.replace("MEMORY", memory).replace("LOAD", load),
    )
}

struct Instance {
    store: Store<GlobalsCtx>,
    read: TypedFunc<i32, i64>,
    snapshot: TypedFunc<i32, i64>,
}

fn instances(
    engine: &Engine,
    module: &Module,
    globals: &Globals,
    n: usize,
    other: bool,
) -> wasmtime::Result<Vec<Instance>> {
    let mut linker = Linker::new(engine);
    wasmtime_global::add_to_linker(&mut linker, |ctx: &mut GlobalsCtx| ctx)?;
    (0..n)
        .map(|_| {
            let mut store = Store::new(engine, GlobalsCtx::new(globals));
            let instance = linker.instantiate(&mut store, module)?;
            let init = instance.get_typed_func::<i32, ()>(&mut store, "init")?;
            init.call(&mut store, i32::from(other))?;
            let read = instance.get_typed_func(&mut store, "read")?;
            let snapshot = instance.get_typed_func(&mut store, "snapshot")?;
            Ok(Instance {
                store,
                read,
                snapshot,
            })
        })
        .collect()
}

fn main() -> wasmtime::Result<()> {
    let mut config = Config::new();
    // Small reservations, so that 10,000 memories fit the address space.
    config
        .shared_memory(true)
        .memory_reservation(1 << 20)
        .memory_guard_size(1 << 16);
    let engine = Engine::new(&config)?;

    let plan = Plan::from_args();
    bench::preamble(&plan);
    say!(
        "{:<44} {:>26} {:>14}",
        "set of one global",
        "median (IQR)",
        "per instance"
    );
    let mut per_instance = Vec::new();
    for shared in [true, false] {
        let module = guest(&engine, shared)?;
        let kind = if shared { "shared" } else { "ordinary" };
        for n in [0usize, 1, 100, 10_000] {
            let globals = Globals::new();
            let mut all = instances(&engine, &module, &globals, n, false)?;
            let mut value = 0u64;
            let e = if shared {
                plan.measure(|k| {
                    for _ in 0..k {
                        value += 1;
                        globals.set("G", value).ok();
                    }
                })
            } else {
                plan.measure(|k| {
                    for _ in 0..k {
                        value += 1;
                        globals.set("G", value).ok();
                        for i in &mut all {
                            wasmtime_global::sync(&mut i.store, |ctx| ctx).ok();
                        }
                    }
                })
            };
            let what = if shared {
                "set"
            } else {
                "set + sync every store"
            };
            let label = format!("{kind}, {what}, {n} declared");
            if n == 0 {
                say!("{label:<44} {e:>26}");
            } else {
                let each = e.median / n as f64;
                say!("{label:<44} {e:>26} {each:>11.1} ns");
                if shared {
                    per_instance.push((n, each));
                }
            }
        }
        if shared {
            // 10,000 instances that declared another name: `set` must not pay for them.
            let globals = Globals::new();
            let _others = instances(&engine, &module, &globals, 10_000, true)?;
            let mut value = 0;
            let others = plan.measure(|k| {
                for _ in 0..k {
                    value += 1;
                    globals.set("G", value).ok();
                }
            });
            say!(
                "{:<44} {others:>26}",
                "shared, set, 0 declared + 10,000 others"
            );
            let (one, hundred, ten_k) = (per_instance[0].1, per_instance[1].1, per_instance[2].1);
            let linear = ten_k <= 2.0 * hundred && hundred <= 2.0 * ten_k;
            say!(
                "target: shared set grows linearly with declaring instances: per instance at 10,000 \
                 is {:.2}x that at 100, {}",
                ten_k / hundred,
                verdict(linear)
            );
            say!(
                "target: not with the others: 10,000 non-declaring instances cost {:.2}x one \
                 declaring instance, {}",
                others.median / one,
                verdict(others.median <= 2.0 * one)
            );
        }
    }

    say!();
    say!(
        "{:<44} {:>26} {:>8}",
        "set of one global through scopes",
        "median (IQR)",
        "ratio"
    );
    let module = guest(&engine, true)?;
    for c in [1usize, 100, 1000] {
        let flat = Globals::new();
        let _flat_instances = instances(&engine, &module, &flat, c, false)?;
        let parent = Globals::new();
        let children: Vec<Globals> = (0..c).map(|_| parent.child()).collect();
        let _child_instances = children
            .iter()
            .map(|child| instances(&engine, &module, child, 1, false))
            .collect::<wasmtime::Result<Vec<_>>>()?;
        let mut value = 0u64;
        let mut set = |globals: &Globals| {
            plan.measure(|k| {
                for _ in 0..k {
                    value += 1;
                    globals.set("G", value).ok();
                }
            })
        };
        let flat_set = set(&flat);
        let scoped_set = set(&parent);
        let label = format!("{c} instances in one registry");
        say!("{label:<44} {flat_set:>26} {:>7.2}x", 1.0);
        let label = format!("one in each of {c} children");
        say!(
            "{label:<44} {scoped_set:>26} {:>7.2}x   {:.0} ns more per child",
            scoped_set.ratio(&flat_set),
            (scoped_set.median - flat_set.median) / c as f64
        );
    }

    say!();
    say!(
        "{:<44} {:>26} {:>8}",
        "guest read (inside wasm)",
        "median (IQR)",
        "ratio"
    );
    for shared in [false, true] {
        let module = guest(&engine, shared)?;
        let globals = Globals::new();
        let mut one = instances(&engine, &module, &globals, 1, false)?.remove(0);
        let plain = plan.measure(|k| {
            black_box(one.read.call(&mut one.store, k as i32).ok());
        });
        let snapshot = plan.measure(|k| {
            black_box(one.snapshot.call(&mut one.store, k as i32).ok());
        });
        let kind = if shared {
            "shared (atomic loads)"
        } else {
            "ordinary (plain loads)"
        };
        let label = format!("{kind}: one global");
        say!("{label:<44} {plain:>26} {:>7.2}x", 1.0);
        let label = format!("{kind}: snapshot of two");
        say!(
            "{label:<44} {snapshot:>26} {:>7.2}x",
            snapshot.ratio(&plain)
        );
    }
    wasmtime_global_test_support::bench::write_figures(
        env!("CARGO_PKG_NAME"),
        env!("CARGO_CRATE_NAME"),
    );
    Ok(())
}
