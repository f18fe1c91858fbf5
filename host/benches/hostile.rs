//! Whether hostile guests can stall an unrelated `set`: four guests in shared memories each
//! declare one name, `H`, in as many slots of their table as the host lets them (up to 65,536);
//! one thread sets `H` in a loop, or makes and drops a store of such a guest in a loop, while
//! this thread times `set` of an unrelated name `U`, which a well-behaved shared-memory guest
//! declared once. Run with the default limits and with the limits raised as far as they go.
//!
//! `cargo bench -p wasmtime-global --bench hostile` (`-- --quick` for fewer samples)
//!
//! Targets (issue 11): p99 ≤ 1 ms and max ≤ 10 ms for the unrelated set.

use wasmtime_global_test_support::bench;
use wasmtime_global_test_support::say;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use wasmtime::{Config, Engine, Linker, Module, Store};
use wasmtime_global::{Globals, GlobalsCtx, Limits};

const GUEST: &str = include_str!("hostile.wat");

const H: (i32, i64) = (256, 0xaf64054c86023237_u64 as i64);
const U: (i32, i64) = (257, 0xaf64084c86023750_u64 as i64);
/// Not a name: [`Host::guest`] declares as many different names.
const DISTINCT: i32 = -1;

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
        // A trap at a limit is the point: count what was declared before it.
        if name == DISTINCT {
            let run = instance.get_typed_func::<i32, i32>(&mut store, "distinct")?;
            let _ = run.call(&mut store, n);
        } else {
            let run = instance.get_typed_func::<(i32, i32, i64, i32), i32>(&mut store, "run")?;
            let _ = run.call(&mut store, (name, 1, hash, n));
        }
        let declared = store.data().declarations().len();
        Ok((store, declared))
    }
}

/// Latencies of sets of `U`, one after another, for at least `time` and until `enough()`,
/// sorted, in nanoseconds.
fn unrelated_sets(globals: &Globals, time: Duration, enough: impl Fn() -> bool) -> Vec<u64> {
    // Room made and its pages touched beforehand, so that recording a latency never waits for
    // the kernel (which another thread's dropped store may keep busy unmapping its memory).
    let mut latencies = vec![u64::MAX; 16 << 20];
    let began = Instant::now();
    let mut n = 0;
    while (began.elapsed() < time || !enough()) && n < latencies.len() {
        let start = Instant::now();
        globals.set("U", n as u64).expect("U is a valid name");
        latencies[n] = start.elapsed().as_nanos() as u64;
        n += 1;
    }
    latencies.truncate(n);
    latencies.sort_unstable();
    latencies
}

fn report(what: &str, latencies: &[u64]) {
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    let (p50, p99, max) = (at(0.5), at(0.99), latencies[latencies.len() - 1]);
    let ms = |ns: u64| ns as f64 / 1e6;
    say!(
        "  {what}: p50 {:.4} ms, p99 {:.4} ms ({}), max {:.3} ms ({})",
        ms(p50),
        ms(p99),
        bench::verdict(p99 <= 1_000_000),
        ms(max),
        bench::verdict(max <= 10_000_000),
    );
}

fn main() -> wasmtime::Result<()> {
    let plan = bench::Plan::from_args();
    bench::preamble(&plan);
    let time = if plan.samples < 21 {
        Duration::from_millis(300)
    } else {
        Duration::from_secs(2)
    };
    let host = Host::new()?;
    let raised = Limits {
        same_name_slots: u32::MAX,
        ..Limits::UNLIMITED
    };
    for (label, limits) in [
        ("default limits", Limits::default()),
        ("limits raised", raised),
    ] {
        let globals = Globals::new();
        let (_good, one) = host.guest(&globals, limits, U, 1)?;
        assert_eq!(one, 1, "the well-behaved guest declares U");
        let hostile: Vec<_> = (0..4)
            .map(|_| host.guest(&globals, limits, H, 65_536))
            .collect::<wasmtime::Result<_>>()?;
        let declared: Vec<usize> = hostile.iter().map(|(_, n)| *n).collect();
        say!(
            "{label}: four hostile guests declared H in {declared:?} slots; sets of U for {time:?} \
             or more"
        );
        let idle = unrelated_sets(&globals, time, || true);
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
            let latencies = unrelated_sets(&globals, time, || true);
            stop.store(true, Ordering::Relaxed);
            latencies
        });
        report("another thread sets H in a loop", &looped);

        let stop = AtomicBool::new(false);
        let made = AtomicUsize::new(0);
        let churned = std::thread::scope(|s| {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let store = host.guest(&globals, limits, H, 65_536);
                    drop(store.expect("a hostile store"));
                    made.fetch_add(1, Ordering::Relaxed);
                }
            });
            let latencies = unrelated_sets(&globals, time, || made.load(Ordering::Relaxed) >= 3);
            stop.store(true, Ordering::Relaxed);
            latencies
        });
        report(
            &format!(
                "another thread makes and drops hostile stores ({} made)",
                made.load(Ordering::Relaxed)
            ),
            &churned,
        );

        let stop = AtomicBool::new(false);
        let sizes = std::sync::Mutex::new(Vec::new());
        let churned = std::thread::scope(|s| {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let (store, n) = host
                        .guest(&globals, limits, (DISTINCT, 0), 65_536)
                        .expect("a hostile store");
                    sizes.lock().expect("not poisoned").push(n);
                    drop(store);
                }
            });
            let enough = || sizes.lock().expect("not poisoned").len() >= 3;
            let latencies = unrelated_sets(&globals, time, enough);
            stop.store(true, Ordering::Relaxed);
            latencies
        });
        let sizes = sizes.into_inner().expect("not poisoned");
        report(
            &format!(
                "another thread makes and drops stores of {} different names ({} stores)",
                sizes.first().copied().unwrap_or(0),
                sizes.len()
            ),
            &churned,
        );
        say!();
    }
    wasmtime_global_test_support::bench::write_figures(
        env!("CARGO_PKG_NAME"),
        env!("CARGO_CRATE_NAME"),
    );
    Ok(())
}
