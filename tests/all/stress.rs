//! Concurrency stress: threads set, delete and batch values while other threads create stores,
//! declare, read in loops, sync and drop them (shared-memory stores are dropped while sets fan
//! out to them). Every value set has equal 32-bit halves, so a torn read shows. Beside them,
//! hostile guests come and go: each declares one of those names in thousands of slots of a shared
//! table, or runs into a limit and traps; and a thread times sets of a name no guest declares. At
//! the end every live instance, hostile ones included, reads exactly what the registry holds.
//!
//! Runs for `WASMTIME_GLOBAL_STRESS_SECS` seconds (default 5); the soak is the same test, longer:
//! `WASMTIME_GLOBAL_STRESS_SECS=600 cargo test --release -p wasmtime-global-tests --test all stress`.

use crate::conformance::shared_reference;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use wasmtime::{Engine, Linker, Module, Store, TypedFunc};
use wasmtime_global::{Error, Globals, GlobalsCtx, Limit, Limits, Value};
use wasmtime_global_conformance::profile::{GLOBALS, Global};
use wasmtime_global_test_support::{Guest, engine};

const REFERENCE: &str = include_str!("../../spec/reference/conformance.wat");

/// The U64 globals of the conformance profile.
fn names() -> Vec<&'static Global> {
    GLOBALS
        .iter()
        .filter(|g| g.ty == wasmtime_global::ValueType::U64)
        .collect()
}

/// A value whose halves are equal: a read that mixes two writes shows.
fn pattern(k: u64) -> u64 {
    let k = k & 0xffff_ffff;
    (k << 32) | k
}

/// xorshift64: enough randomness for choosing operations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[derive(Default)]
struct Counts {
    sets: AtomicU64,
    dels: AtomicU64,
    batches: AtomicU64,
    created: AtomicU64,
    dropped: AtomicU64,
    reads: AtomicU64,
    syncs: AtomicU64,
    hostile: AtomicU64,
    trapped: AtomicU64,
}

/// A hostile guest (`host/benches/hostile.wat`) that declared `conf.u64` in `slots` slots.
struct Hostile {
    store: Store<GlobalsCtx>,
    value: TypedFunc<i32, i64>,
    slots: i32,
}

/// How many slots of `conf.u64` a trusted hostile guest declares.
const HOSTILE_SLOTS: i32 = 4096;

/// Makes and drops hostile guests until `stop`; returns the last one, alive. Three in four are
/// trusted (no limits) and declare `conf.u64` in [`HOSTILE_SLOTS`] slots, so that every set of it
/// writes that many more; the fourth has the default limits and traps at the 17th.
fn hostile(
    engine: &Engine,
    globals: &Globals,
    stop: &AtomicBool,
    counts: &Counts,
) -> wasmtime::Result<Option<Hostile>> {
    let module = Module::new(engine, include_str!("../../host/benches/hostile.wat"))?;
    let mut linker = Linker::new(engine);
    wasmtime_global::add_to_linker(&mut linker, |ctx: &mut GlobalsCtx| ctx)?;
    let name = "conf.u64";
    let hash = wasmtime_global_abi::fnv1a64(name.as_bytes()) as i64;
    let mut last = None;
    let mut k = 0u64;
    while !stop.load(Ordering::Relaxed) {
        k += 1;
        let trusted = !k.is_multiple_of(4);
        let limits = if trusted {
            Limits::UNLIMITED
        } else {
            Limits::default()
        };
        let mut store = Store::new(engine, GlobalsCtx::with_limits(globals, limits));
        let instance = linker.instantiate(&mut store, &module)?;
        let run = instance.get_typed_func::<(i32, i32, i64, i32), i32>(&mut store, "run")?;
        let value = instance.get_typed_func::<i32, i64>(&mut store, "value")?;
        match run.call(&mut store, (264, name.len() as i32, hash, HOSTILE_SLOTS)) {
            Ok(slots) => {
                assert!(
                    trusted,
                    "an untrusted guest declared {slots} slots of one name"
                );
                assert_eq!(slots, HOSTILE_SLOTS);
                last = Some(Hostile {
                    store,
                    value,
                    slots,
                });
            }
            Err(trap) => {
                assert!(!trusted, "a trusted hostile guest trapped: {trap:?}");
                assert_eq!(
                    trap.downcast_ref::<Error>(),
                    Some(&Error::LimitExceeded {
                        limit: Limit::SameNameSlots,
                        max: 16
                    })
                );
                counts.trapped.fetch_add(1, Ordering::Relaxed);
            }
        }
        counts.hostile.fetch_add(1, Ordering::Relaxed);
    }
    Ok(last)
}

/// Sets a name that no guest declares, one set after another, until `stop`; returns the
/// latencies, sorted, in nanoseconds.
fn unrelated(globals: &Globals, stop: &AtomicBool) -> Vec<u64> {
    let mut latencies = Vec::with_capacity(1 << 20);
    let mut k = 0;
    while !stop.load(Ordering::Relaxed) && latencies.len() < latencies.capacity() {
        k += 1;
        let start = Instant::now();
        globals.set("stress.unrelated", k).expect("a valid name");
        latencies.push(start.elapsed().as_nanos() as u64);
        std::thread::sleep(Duration::from_micros(100));
    }
    latencies.sort_unstable();
    latencies
}

/// Reads global `g` of `guest` and checks it is its default or an untorn pattern.
fn check(guest: &mut Guest, g: &Global) -> wasmtime::Result<u64> {
    let bits = guest.call::<i32, i64>("wgc_get", g.index as i32)? as u64;
    assert!(
        bits == g.default || bits >> 32 == bits & 0xffff_ffff,
        "{}: torn or foreign value {bits:#018x}",
        g.name
    );
    Ok(bits)
}

fn writer(globals: &Globals, stop: &AtomicBool, counts: &Counts, seed: u64) {
    let names = names();
    let mut rng = Rng(seed);
    let mut k = seed;
    while !stop.load(Ordering::Relaxed) {
        k += 1;
        let g = names[rng.below(names.len() as u64) as usize];
        match rng.below(10) {
            0 => {
                globals.del(g.name).expect("a valid name");
                counts.dels.fetch_add(1, Ordering::Relaxed);
            }
            1 => {
                let mut batch = globals.batch();
                for g in &names {
                    if rng.below(3) == 0 {
                        batch.del(g.name);
                    } else {
                        batch.set(g.name, pattern(k));
                    }
                }
                batch.commit().expect("valid names");
                counts.batches.fetch_add(1, Ordering::Relaxed);
            }
            _ => {
                globals.set(g.name, pattern(k)).expect("a valid name");
                counts.sets.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Creates, reads, syncs and drops instances until `stop`; returns the instances alive at the
/// end.
fn churn(
    engine: &Engine,
    modules: &[Module],
    globals: &Globals,
    stop: &AtomicBool,
    counts: &Counts,
    seed: u64,
) -> wasmtime::Result<Vec<Guest>> {
    let names = names();
    let mut rng = Rng(seed);
    let mut live: Vec<Guest> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        if live.len() < 6 && rng.below(3) == 0 {
            let module = &modules[rng.below(modules.len() as u64) as usize];
            let mut guest = Guest::new(engine, module, globals)?;
            guest.call::<(), ()>("wgc_init", ())?;
            live.push(guest);
            counts.created.fetch_add(1, Ordering::Relaxed);
        }
        if !live.is_empty() {
            let i = rng.below(live.len() as u64) as usize;
            let guest = &mut live[i];
            for _ in 0..200 {
                check(guest, names[rng.below(names.len() as u64) as usize])?;
            }
            counts.reads.fetch_add(200, Ordering::Relaxed);
            wasmtime_global::sync(&mut guest.store, |h| &mut h.globals)?;
            counts.syncs.fetch_add(1, Ordering::Relaxed);
            if rng.below(4) == 0 {
                drop(live.swap_remove(i));
                counts.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    Ok(live)
}

#[test]
fn stores_come_and_go_while_values_change() -> wasmtime::Result<()> {
    let secs: u64 = std::env::var("WASMTIME_GLOBAL_STRESS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let engine = engine();
    let modules = [
        Module::new(&engine, REFERENCE)?,
        Module::new(&engine, shared_reference())?,
    ];
    let globals = Globals::new();
    let stop = AtomicBool::new(false);
    let counts = Counts::default();
    let start = Instant::now();
    let (live, last_hostile, latencies) = std::thread::scope(|s| {
        let _stop = StopOnDrop(&stop);
        let hostile = s.spawn(|| hostile(&engine, &globals, &stop, &counts));
        let unrelated = s.spawn(|| unrelated(&globals, &stop));
        for seed in [1, 2] {
            let (globals, stop, counts) = (&globals, &stop, &counts);
            s.spawn(move || writer(globals, stop, counts, seed * 0x9e37_79b9));
        }
        let churners: Vec<_> = [3u64, 4]
            .into_iter()
            .map(|seed| {
                let (engine, modules, globals, stop, counts) =
                    (&engine, &modules, &globals, &stop, &counts);
                s.spawn(move || churn(engine, modules, globals, stop, counts, seed * 0x9e37_79b9))
            })
            .collect();
        std::thread::sleep(Duration::from_secs(secs));
        stop.store(true, Ordering::Relaxed);
        let mut live = Vec::new();
        for churner in churners {
            live.extend(churner.join().expect("no panic in a store thread")?);
        }
        let last_hostile = hostile.join().expect("no panic in the hostile thread")?;
        let latencies = unrelated.join().expect("no panic in the timing thread");
        wasmtime::Result::<_>::Ok((live, last_hostile, latencies))
    })?;
    let elapsed = start.elapsed().as_secs_f64();

    // Every writer has stopped: each live instance must read what the registry holds.
    let mut checked = 0;
    for mut guest in live {
        wasmtime_global::sync(&mut guest.store, |h| &mut h.globals)?;
        for g in names() {
            let expected = match globals.get(g.name) {
                Some(Value::Bits(bits)) => bits,
                None => g.default,
                Some(other) => panic!("{}: {other:?} was never set", g.name),
            };
            assert_eq!(check(&mut guest, g)?, expected, "{}", g.name);
            checked += 1;
        }
    }
    // A trusted hostile guest's slots are written like any other.
    let Some(mut hostile) = last_hostile else {
        panic!("no trusted hostile guest in {secs} s");
    };
    let expected = match globals.get("conf.u64") {
        Some(Value::Bits(bits)) => bits,
        None => 0,
        Some(other) => panic!("conf.u64: {other:?} was never set"),
    };
    for i in 0..hostile.slots {
        let read = hostile.value.call(&mut hostile.store, i)? as u64;
        assert_eq!(read, expected, "slot {i} of the last hostile guest");
    }
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize] as f64 / 1e6;
    println!(
        "{} sets of a name no guest declares (a timing, not a test: 7 threads on this machine's \
         cores): p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        latencies.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
    let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let changes = n(&counts.sets) + n(&counts.dels) + n(&counts.batches);
    println!(
        "{elapsed:.1} s: {} sets, {} dels, {} batches ({:.0} changes/s); {} instances created, \
         {} dropped; {} reads, {} syncs ({:.0} reads/s); {checked} final reads exact; {} \
         hostile guests ({} trapped at a limit)",
        n(&counts.sets),
        n(&counts.dels),
        n(&counts.batches),
        changes as f64 / elapsed,
        n(&counts.created),
        n(&counts.dropped),
        n(&counts.reads),
        n(&counts.syncs),
        n(&counts.reads) as f64 / elapsed,
        n(&counts.hostile),
        n(&counts.trapped),
    );
    assert!(n(&counts.created) > 10 && n(&counts.dropped) > 5 && changes > 1000);
    assert!(n(&counts.trapped) > 0 && n(&counts.hostile) > n(&counts.trapped));
    Ok(())
}
