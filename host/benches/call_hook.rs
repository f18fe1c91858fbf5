//! What syncing costs on the paths it sits on: a host-to-wasm entry, a wasm-to-host call, and a
//! `sync` with nothing to do. Every row is measured in this one run and compared with the row
//! "no hook" of the same path.
//!
//! `cargo bench -p wasmtime-global --bench call_hook --features call-hook`
//!
//! Without `--features call-hook` only the no-hook rows exist; comparing them with the same rows of
//! a run with the feature shows what wasmtime's `call-hook` feature itself costs (two runs, so
//! noisier than the in-run ratios).

use wasmtime_global_test_support::bench;
use wasmtime_global_test_support::say;

use bench::{Estimate, Plan};
use std::hint::black_box;
use wasmtime::{Engine, Linker, Module, Store, TypedFunc};
use wasmtime_global::{Globals, GlobalsCtx};

const GUEST: &str = r#"
(module
  (import "bench" "nop" (func $nop))
  (memory (export "memory") 1)
  (func (export "entry"))
  (func (export "calls") (param $n i32)
    (loop $l
      (call $nop)
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n)))))
"#;

struct Setup {
    store: Store<GlobalsCtx>,
    entry: TypedFunc<(), ()>,
    calls: TypedFunc<i32, ()>,
}

fn setup(engine: &Engine, module: &Module, globals: &Globals) -> wasmtime::Result<Setup> {
    let mut linker = Linker::new(engine);
    wasmtime_global::add_to_linker(&mut linker, |ctx: &mut GlobalsCtx| ctx)?;
    linker.func_wrap("bench", "nop", || {})?;
    let mut store = Store::new(engine, GlobalsCtx::new(globals));
    let instance = linker.instantiate(&mut store, module)?;
    let entry = instance.get_typed_func(&mut store, "entry")?;
    let calls = instance.get_typed_func(&mut store, "calls")?;
    Ok(Setup {
        store,
        entry,
        calls,
    })
}

fn row(path: &str, variant: &str, e: Estimate, base: Estimate) {
    say!("{path:<22} {variant:<14} {e:>24} {:>7.2}x", e.ratio(&base));
}

fn main() -> wasmtime::Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, GUEST)?;
    let globals = Globals::new();
    // Changes before the stores exist are none of theirs: each sync finds nothing to do.
    globals.set("UNRELATED", 1)?;
    let feature = if cfg!(feature = "call-hook") {
        "on"
    } else {
        "off"
    };
    let plan = Plan::from_args();
    bench::preamble(&plan);
    say!("call-hook feature: {feature}");
    say!(
        "{:<22} {:<14} {:>24} {:>8}",
        "path",
        "variant",
        "median (IQR)",
        "ratio"
    );

    let mut plain = setup(&engine, &module, &globals)?;
    let entry = plan.measure(|n| {
        for _ in 0..n {
            plain.entry.call(&mut plain.store, ()).ok();
        }
    });
    let call = plan.measure(|n| {
        plain.calls.call(&mut plain.store, n as i32).ok();
    });
    let sync = plan.measure(|n| {
        for _ in 0..n {
            black_box(wasmtime_global::sync(&mut plain.store, |ctx| ctx).ok());
        }
    });
    row("host -> wasm entry", "no hook", entry, entry);
    row("wasm -> host call", "no hook", call, call);
    row("sync, nothing changed", "explicit call", sync, sync);

    #[cfg(feature = "call-hook")]
    {
        let mut hooked = setup(&engine, &module, &globals)?;
        wasmtime_global::sync_on_call(&mut hooked.store, |ctx| ctx);
        let hooked_entry = plan.measure(|n| {
            for _ in 0..n {
                hooked.entry.call(&mut hooked.store, ()).ok();
            }
        });
        let hooked_call = plan.measure(|n| {
            hooked.calls.call(&mut hooked.store, n as i32).ok();
        });
        row("host -> wasm entry", "sync_on_call", hooked_entry, entry);
        row("wasm -> host call", "sync_on_call", hooked_call, call);
        say!(
            "sync_on_call adds {:.2} ns per entry and {:.2} ns per host call (nothing changed)",
            hooked_entry.median - entry.median,
            hooked_call.median - call.median
        );
    }
    // The two builds' figures side by side, each in its own file.
    let features = if cfg!(feature = "call-hook") {
        "call-hook"
    } else {
        ""
    };
    wasmtime_global_test_support::bench::write_figures_with_features(
        env!("CARGO_PKG_NAME"),
        env!("CARGO_CRATE_NAME"),
        features,
    );
    Ok(())
}
