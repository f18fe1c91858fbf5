//! Whether hostile guests can stall an unrelated `set`: four guests in shared memories each
//! declare one name, `H`, in as many slots of their table as the host lets them (up to 65,536);
//! one thread sets `H` in a loop, or makes and drops a store of such a guest in a loop, while
//! this thread times `set` of an unrelated name `U`, which a well-behaved shared-memory guest
//! declared once. Run with the default limits and with the limits raised as far as they go.
//!
//! `cargo bench -p wasmtime-global --bench hostile` (`-- --quick` for fewer samples)
//!
//! Targets (issue 11): p99 ≤ 1 ms and max ≤ 10 ms for the unrelated set.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use wasmtime::{Config, Engine, Linker, Module, Store};
use wasmtime_global::{Globals, GlobalsCtx, Limits};

/// `run(name, hash, n)` declares slots 0 to n - 1 of its table (capacity 65,536, at 65,536) as
/// U64 globals named by the one-byte name at `name`; returns how many the host accepted.
const GUEST: &str = r#"
(module
  (import "wasmtime_global_v2" "declare" (func $declare (param i32 i32) (result i32)))
  (memory (export "memory") 66 66 shared)
  (data (i32.const 256) "HU")
  (data (i32.const 65536) "WGTB\02\00\00\00\40\00\00\00\00\00\01\00")
  (func (export "run") (param $name i32) (param $hash i64) (param $n i32) (result i32)
    (local $i i32) (local $s i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $s (i32.add (i32.const 65600) (i32.shl (local.get $i) (i32.const 6))))
        (i64.store (local.get $s) (local.get $hash))
        (i32.store offset=8 (local.get $s) (local.get $name))
        (i32.store offset=12 (local.get $s) (i32.const 1))
        (i32.store offset=16 (local.get $s) (i32.const 2))
        (i32.atomic.store (i32.const 65552) (i32.add (local.get $i) (i32.const 1)))
        (br_if $done (call $declare (i32.const 65536) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $i)))
"#;

const H: (i32, i64) = (256, 0xaf64054c86023237_u64 as i64);
const U: (i32, i64) = (257, 0xaf64084c86023750_u64 as i64);

struct Host {
    engine: Engine,
    module: Module,
    linker: Linker<GlobalsCtx>,
}

impl Host {
    fn new() -> wasmtime::Result<Host> {
        let mut config = Config::new();
        config.shared_memory(true);
        let engine = Engine::new(&config)?;
        let module = Module::new(&engine, GUEST)?;
        let mut linker = Linker::new(&engine);
        wasmtime_global::add_to_linker(&mut linker, |ctx: &mut GlobalsCtx| ctx)?;
        Ok(Host {
            engine,
            module,
            linker,
        })
    }

    /// A store whose guest declared `name` in up to `n` slots; how many the host accepted (a
    /// declaration past a limit traps).
    fn guest(
        &self,
        globals: &Globals,
        limits: Limits,
        (name, hash): (i32, i64),
        n: i32,
    ) -> wasmtime::Result<(Store<GlobalsCtx>, usize)> {
        let mut store = Store::new(&self.engine, GlobalsCtx::with_limits(globals, limits));
        let instance = self.linker.instantiate(&mut store, &self.module)?;
        let run = instance.get_typed_func::<(i32, i64, i32), i32>(&mut store, "run")?;
        // A trap at a limit is the point: count what was declared before it.
        let _ = run.call(&mut store, (name, hash, n));
        let declared = store.data().declarations().len();
        Ok((store, declared))
    }
}

/// Latencies of `samples` sets of `U`, sorted, in nanoseconds.
fn unrelated_sets(globals: &Globals, samples: usize) -> Vec<u64> {
    let mut latencies: Vec<u64> = (0..samples as u64)
        .map(|i| {
            let start = Instant::now();
            globals.set("U", i).expect("U is a valid name");
            start.elapsed().as_nanos() as u64
        })
        .collect();
    latencies.sort_unstable();
    latencies
}

fn report(what: &str, latencies: &[u64]) {
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    let (p50, p99, max) = (at(0.5), at(0.99), latencies[latencies.len() - 1]);
    let ms = |ns: u64| ns as f64 / 1e6;
    println!(
        "  {what}: p50 {:.4} ms, p99 {:.4} ms ({}), max {:.3} ms ({})",
        ms(p50),
        ms(p99),
        common::verdict(p99 <= 1_000_000),
        ms(max),
        common::verdict(max <= 10_000_000),
    );
}

fn main() -> wasmtime::Result<()> {
    let plan = common::Plan::from_args();
    common::preamble(&plan);
    let samples = if plan.samples < 21 { 2_000 } else { 20_000 };
    let host = Host::new()?;
    let raised = Limits {
        same_name_slots: u32::MAX,
        ..Limits::UNLIMITED
    };
    for (label, limits) in [("default limits", Limits::default()), ("limits raised", raised)] {
        let globals = Globals::new();
        let (_good, one) = host.guest(&globals, limits, U, 1)?;
        assert_eq!(one, 1, "the well-behaved guest declares U");
        let hostile: Vec<_> = (0..4)
            .map(|_| host.guest(&globals, limits, H, 65_536))
            .collect::<wasmtime::Result<_>>()?;
        let declared: Vec<usize> = hostile.iter().map(|(_, n)| *n).collect();
        println!(
            "{label}: four hostile guests declared H in {declared:?} slots; {samples} sets of U"
        );
        let idle = unrelated_sets(&globals, samples);
        report("no other thread", &idle);

        let stop = AtomicBool::new(false);
        let looped = std::thread::scope(|s| {
            s.spawn(|| {
                let mut value = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    value += 1;
                    globals.set("H", value).expect("H is a valid name");
                }
            });
            let latencies = unrelated_sets(&globals, samples);
            stop.store(true, Ordering::Relaxed);
            latencies
        });
        report("another thread sets H in a loop", &looped);

        let stop = AtomicBool::new(false);
        let churned = std::thread::scope(|s| {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let made = host.guest(&globals, limits, H, 65_536);
                    drop(made.expect("a hostile store"));
                }
            });
            // Let the first hostile store fill up before timing.
            std::thread::sleep(Duration::from_millis(20));
            let latencies = unrelated_sets(&globals, samples);
            stop.store(true, Ordering::Relaxed);
            latencies
        });
        report("another thread makes and drops a hostile store", &churned);
        println!();
    }
    Ok(())
}
