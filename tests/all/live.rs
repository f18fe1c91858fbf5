//! Live updates: shared memories written at every change from the setting thread, guests that
//! spin without calling the host, no torn values, consistent batches, change counters, and epoch
//! syncs for ordinary memories.

use crate::profile_guests;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wasmtime::{Config, Engine, Module};
use wasmtime_global::{EpochTicker, Globals, Value};
use wasmtime_global_abi::{self as abi, Header, Slot};
use wasmtime_global_test_support::{Guest, engine};

pub(crate) const UINT64: i32 = 1;
pub(crate) const INT64: i32 = 3;

pub(crate) fn shared_guest(engine: &Engine) -> wasmtime::Result<Module> {
    Module::new(engine, include_str!("wat/shared.wat"))
}

/// Sets its flag when dropped, so that a failing test stops its helper threads rather than
/// leaving them running inside a `thread::scope` that then never ends.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// An engine that interrupts wasm at epoch deadlines.
fn ticking_engine() -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config.epoch_interruption(true).shared_memory(true);
    Engine::new(&config)
}

/// Calls the guest's `spin(TEST_UINT64, 42)` while another thread sets `TEST_UINT64` to `value`
/// after 50 ms, with `engine`'s epoch ticking; returns what the guest saw.
fn spin_until_set(
    engine: &Engine,
    guest: &mut Guest,
    globals: &Globals,
    value: u64,
) -> wasmtime::Result<i64> {
    // The crate's ticker, as an embedder would use it.
    let _ticker = EpochTicker::start(engine, Duration::from_millis(1));
    std::thread::scope(|s| {
        let setter = s.spawn(|| {
            std::thread::sleep(Duration::from_millis(50));
            globals.set_u64("TEST_UINT64", value)
        });
        let seen = guest.call::<(i32, i64), i64>("spin", (UINT64, 42));
        setter.join().expect("setter ran")?;
        seen
    })
}

/// Runs `read` on the guest while another thread commits batches that set `TEST_UINT64` and
/// `TEST_INT64` to the same value, 1, 2, 3 and so on; returns what `read` returned and how many
/// batches were committed.
pub(crate) fn under_batches<R>(
    guest: &mut Guest,
    globals: &Globals,
    read: impl FnOnce(&mut Guest) -> wasmtime::Result<R>,
) -> wasmtime::Result<(R, u64)> {
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let _stop = StopOnDrop(&done);
        let writer = s.spawn(|| {
            let mut n = 0u64;
            while !done.load(Ordering::Relaxed) {
                n += 1;
                let mut batch = globals.batch();
                batch.set("TEST_UINT64", n).set("TEST_INT64", n);
                batch.commit()?;
            }
            Ok::<u64, wasmtime_global::Error>(n)
        });
        let result = read(guest);
        done.store(true, Ordering::Relaxed);
        let batches = writer.join().expect("writer ran")?;
        Ok((result?, batches))
    })
}

/// An initialised instance of `module`, whose memory must be shared, with an epoch deadline so
/// that a guest that never sees a change traps after 10 s instead of hanging the test.
fn live_guest(engine: &Engine, module: &Module, globals: &Globals) -> wasmtime::Result<Guest> {
    let mut guest = Guest::new(engine, module, globals)?;
    guest.store.set_epoch_deadline(10_000);
    guest.init()?;
    let declarations = guest.store.data().globals.declarations();
    assert!(declarations.iter().all(|d| d.shared), "{declarations:?}");
    Ok(guest)
}

/// Sets `TEST_UINT64` and `TEST_INT64` to one value, so that a consistent read sees them equal.
fn equalize(globals: &Globals) -> wasmtime::Result<()> {
    let mut batch = globals.batch();
    batch.set("TEST_UINT64", 0).set("TEST_INT64", 0);
    Ok(batch.commit()?)
}

#[test]
fn a_shared_memory_is_written_at_every_change_without_sync() -> wasmtime::Result<()> {
    let engine = engine();
    let globals = Globals::new();
    let mut guest = Guest::started(&engine, &shared_guest(&engine)?, &globals)?;
    assert!(
        guest
            .store
            .data()
            .globals
            .declarations()
            .iter()
            .all(|d| d.shared)
    );
    globals.set_u64("TEST_UINT64", 7)?;
    assert_eq!(guest.call::<i32, i64>("get", UINT64)?, 7, "no sync");
    globals.del("TEST_UINT64")?;
    assert_eq!(
        guest.call::<i32, i64>("get", UINT64)?,
        42,
        "its default again"
    );
    assert_eq!(guest.call::<i32, i64>("changes", UINT64)?, 2, "two writes");
    assert_eq!(
        guest.call::<(), i64>("generation", ())?,
        4,
        "two writes, 2 each"
    );
    globals.set_i64("TEST_INT64", 0)?;
    globals.set_i64("TEST_INT64", 0)?;
    assert_eq!(
        guest.call::<i32, i64>("changes", INT64)?,
        1,
        "the same value again is no change"
    );
    assert_eq!(guest.call::<(), i64>("generation", ())?, 6);
    assert_eq!(
        wasmtime_global::sync(&mut guest.store, |h| &mut h.globals)?,
        0,
        "nothing for sync"
    );
    Ok(())
}

#[test]
fn a_spinning_guest_sees_a_set_from_another_thread() -> wasmtime::Result<()> {
    let engine = ticking_engine()?;
    let globals = Globals::new();
    let mut guest = live_guest(&engine, &shared_guest(&engine)?, &globals)?;
    let calls = guest.host_calls();
    assert_eq!(spin_until_set(&engine, &mut guest, &globals, 43)?, 43);
    assert_eq!(guest.host_calls(), calls, "spinning made no host call");
    Ok(())
}

/// 0 ticks (a sync at every loop back-edge) and a count that would overflow wasmtime's deadline
/// are refused with a typed error; the largest allowed count works (issue 11: `u64::MAX`
/// panicked inside wasmtime, 0 slowed a loop a hundredfold).
#[test]
fn epoch_ticks_out_of_range_are_refused() -> wasmtime::Result<()> {
    use wasmtime_global::{Error, MAX_EPOCH_TICKS};
    let engine = ticking_engine()?;
    let (_, module) = profile_guests(&engine)?.remove(1);
    let globals = Globals::new();
    let mut guest = Guest::new(&engine, &module, &globals)?;
    for ticks in [0, MAX_EPOCH_TICKS + 1, u64::MAX] {
        assert_eq!(
            wasmtime_global::sync_on_epoch(&mut guest.store, |h| &mut h.globals, ticks),
            Err(Error::EpochTicks {
                ticks,
                max: MAX_EPOCH_TICKS
            })
        );
    }
    wasmtime_global::sync_on_epoch(&mut guest.store, |h| &mut h.globals, MAX_EPOCH_TICKS)?;
    engine.increment_epoch();
    guest.init()?;
    globals.set_u64("TEST_UINT64", 5)?;
    assert_eq!(guest.get(UINT64)?, 5);
    Ok(())
}

#[test]
fn an_ordinary_memory_is_synced_every_epoch_tick() -> wasmtime::Result<()> {
    let engine = ticking_engine()?;
    // The Rust SDK's guest and the WAT one: both read with loads the compiler keeps in the loop.
    for (which, module) in profile_guests(&engine)? {
        let globals = Globals::new();
        let mut guest = Guest::new(&engine, &module, &globals)?;
        wasmtime_global::sync_on_epoch(&mut guest.store, |h| &mut h.globals, 1)?;
        guest.init()?;
        // The call hook also counts wasmtime's epoch callbacks; the guest's own imports are the
        // declarations.
        let calls = guest.store.data().globals.stats().declare_calls;
        assert_eq!(
            spin_until_set(&engine, &mut guest, &globals, 44)?,
            44,
            "{which}"
        );
        let stats = guest.store.data().globals.stats();
        assert_eq!(
            stats.declare_calls, calls,
            "{which}: spinning called no import"
        );
        assert!(stats.syncs > 0, "{which}");
    }
    Ok(())
}

#[test]
fn no_torn_value_is_ever_read() -> wasmtime::Result<()> {
    let engine = engine();
    let globals = Globals::new();
    let mut guest = Guest::started(&engine, &shared_guest(&engine)?, &globals)?;
    // The default (42) has unequal halves: start from a value whose halves agree.
    globals.set("TEST_UINT64", 0)?;
    let done = AtomicBool::new(false);
    let (torn, writes) = std::thread::scope(|s| {
        let _stop = StopOnDrop(&done);
        let writers: Vec<_> = (0..2u64)
            .map(|w| {
                let (globals, done) = (&globals, &done);
                s.spawn(move || {
                    let mut n = 0u64;
                    while !done.load(Ordering::Relaxed) {
                        // Both halves equal: a torn read shows as halves that differ.
                        let x = (n * 2 + w) & 0xffff_ffff;
                        globals.set("TEST_UINT64", (x << 32) | x).map(|()| n += 1)?;
                    }
                    Ok::<u64, wasmtime_global::Error>(n)
                })
            })
            .collect();
        let torn = guest.call::<(i32, i32), i32>("torn", (UINT64, 2_000_000));
        done.store(true, Ordering::Relaxed);
        let writes: u64 = writers
            .into_iter()
            .map(|w| w.join().expect("writer ran").unwrap_or(0))
            .sum();
        (torn, writes)
    });
    assert_eq!(torn?, 0);
    assert!(writes > 0);
    eprintln!("2,000,000 reads against {writes} concurrent sets: no torn value");
    Ok(())
}

#[test]
fn a_reader_never_sees_half_a_batch() -> wasmtime::Result<()> {
    let engine = engine();
    let globals = Globals::new();
    let mut guest = Guest::started(&engine, &shared_guest(&engine)?, &globals)?;
    equalize(&globals)?;
    assert_eq!(guest.call::<i32, i64>("get", UINT64)?, 0);
    assert_eq!(guest.call::<i32, i64>("get", INT64)?, 0);
    let args = (UINT64, INT64, 2_000_000);
    let ((bad, raw_bad), batches) = under_batches(&mut guest, &globals, |g| {
        Ok((
            g.call::<_, i32>("consistent", args)?,
            g.call::<_, i32>("inconsistent_raw", args)?,
        ))
    })?;
    assert_eq!(bad, 0, "a snapshot saw half a batch");
    eprintln!(
        "{batches} batches of 2: 0 of 2,000,000 snapshots inconsistent; without the generation \
         protocol {raw_bad} of 2,000,000 reads were"
    );
    // Every batch, the first one included, is one change of each slot.
    let changes = guest.call::<i32, i64>("changes", UINT64)? as u64;
    assert_eq!(changes, batches + 1);
    Ok(())
}

#[test]
fn an_ordinary_memory_gets_a_batch_at_one_sync_with_counters() -> wasmtime::Result<()> {
    let engine = engine();
    let (_, module) = profile_guests(&engine)?.remove(1);
    let globals = Globals::new();
    let mut guest = Guest::started(&engine, &module, &globals)?;
    let memory = guest
        .instance
        .get_memory(&mut guest.store, "memory")
        .expect("exported");
    let word = |guest: &mut Guest, addr: usize| {
        let mut bytes = [0; 8];
        memory
            .read(&guest.store, addr, &mut bytes)
            .map(|()| u64::from_le_bytes(bytes))
    };
    let generation = 1024 + Header::GENERATION_OFFSET as usize;
    let changes = 1024 + abi::slot_offset(1) as usize + Slot::CHANGES_OFFSET as usize;
    let mut batch = globals.batch();
    batch
        .set("TEST_UINT64", 5)
        .set_value("TEST_INT64", Value::I64(6));
    batch.commit()?;
    assert_eq!(
        (
            guest.call::<i32, i64>("get", UINT64)?,
            word(&mut guest, generation)?
        ),
        (42, 0)
    );
    assert_eq!(
        wasmtime_global::sync(&mut guest.store, |h| &mut h.globals)?,
        2
    );
    assert_eq!(guest.call::<i32, i64>("get", UINT64)?, 5);
    assert_eq!(guest.call::<i32, i64>("get", INT64)?, 6);
    assert_eq!(word(&mut guest, generation)?, 2, "one sync, one step of 2");
    assert_eq!(word(&mut guest, changes)?, 1, "slot 1 written once");
    globals.del("TEST_UINT64")?;
    wasmtime_global::sync(&mut guest.store, |h| &mut h.globals)?;
    assert_eq!(
        (word(&mut guest, generation)?, word(&mut guest, changes)?),
        (4, 2)
    );
    globals.set_i64("TEST_INT64", 6)?;
    assert_eq!(
        wasmtime_global::sync(&mut guest.store, |h| &mut h.globals)?,
        0
    );
    assert_eq!(
        word(&mut guest, generation)?,
        4,
        "the same value again is no change"
    );
    Ok(())
}

#[test]
fn stores_dropped_during_a_fan_out_are_left_alone() -> wasmtime::Result<()> {
    let engine = engine();
    let module = shared_guest(&engine)?;
    let globals = Globals::new();
    globals.set_u64("TEST_UINT64", 1)?;
    let done = AtomicBool::new(false);
    std::thread::scope(|s| -> wasmtime::Result<()> {
        let _stop = StopOnDrop(&done);
        let setter = s.spawn(|| {
            let mut n = 0;
            while !done.load(Ordering::Relaxed) {
                n += 1;
                globals.set_u64("TEST_UINT64", n)?;
            }
            Ok::<_, wasmtime_global::Error>(())
        });
        for _ in 0..200 {
            let mut guest = Guest::started(&engine, &module, &globals)?;
            let seen = guest.call::<i32, i64>("get", UINT64)?;
            assert_ne!(seen, 42, "the value set, not the default");
        }
        done.store(true, Ordering::Relaxed);
        setter.join().expect("setter ran")?;
        Ok(())
    })?;
    assert_eq!(
        globals.declared_type("TEST_UINT64"),
        None,
        "every store released it"
    );
    Ok(())
}

#[test]
fn the_rust_sdk_reads_counters_and_snapshots() -> wasmtime::Result<()> {
    let engine = engine();
    let (_, module) = profile_guests(&engine)?.remove(0);
    let globals = Globals::new();
    let mut guest = Guest::started(&engine, &module, &globals)?;
    assert_eq!(guest.call::<i32, i64>("changes", UINT64)?, 0);
    let mut batch = globals.batch();
    batch.set("TEST_UINT64", 8).set("TEST_INT64", 8);
    batch.commit()?;
    assert_eq!(
        guest.call::<(i32, i32, i32), i32>("consistent", (UINT64, INT64, 1))?,
        1,
        "not synced"
    );
    wasmtime_global::sync(&mut guest.store, |h| &mut h.globals)?;
    assert_eq!(
        guest.call::<(i32, i32, i32), i32>("consistent", (UINT64, INT64, 100))?,
        0
    );
    assert_eq!(guest.call::<i32, i64>("changes", UINT64)?, 1);
    assert_eq!(
        guest.call::<i32, i64>("changes", 0)?,
        0,
        "TEST_BOOL was not written"
    );
    Ok(())
}

#[test]
#[cfg_attr(
    atomics_skipped,
    ignore = "the atomics guests need nightly with rust-src (rustup component add rust-src --toolchain nightly)"
)]
fn the_rust_sdk_with_atomics_reads_a_shared_memory_live() -> wasmtime::Result<()> {
    use wasmtime_global_test_artifacts::guests::{SCENARIO_ATOMICS, SCENARIO_ATOMICS_SKIPPED};
    if SCENARIO_ATOMICS.is_empty() {
        // The WAT guest in shared.wat covers shared memories on every machine.
        panic!(
            "not built: {}",
            SCENARIO_ATOMICS_SKIPPED.unwrap_or("not built")
        );
    }
    let engine = ticking_engine()?;
    let module = Module::from_file(&engine, SCENARIO_ATOMICS)?;
    let globals = Globals::new();
    let mut guest = live_guest(&engine, &module, &globals)?;
    let calls = guest.host_calls();
    // A spinning reader sees a set made on another thread, with no sync and no host call.
    assert_eq!(spin_until_set(&engine, &mut guest, &globals, 43)?, 43);
    assert_eq!(guest.host_calls(), calls);

    // `consistent` never sees half a batch.
    equalize(&globals)?;
    let (bad, batches) = under_batches(&mut guest, &globals, |g| {
        g.call::<_, i32>("consistent", (UINT64, INT64, 1_000_000))
    })?;
    assert_eq!(bad, 0);
    assert_eq!(
        guest.call::<i32, i64>("changes", UINT64)? as u64,
        batches + 2
    );
    eprintln!("Rust SDK, shared memory: {batches} concurrent batches, no half batch seen");
    Ok(())
}

#[test]
fn an_imported_shared_memory_serves_every_instance_that_imports_it() -> wasmtime::Result<()> {
    // The wasi-threads shape: one memory, imported by several instances in several stores.
    let globals = Globals::new();
    let (mut instances, _memory) = wasmtime_global_test_support::shared_by_stores(2, &globals)?;
    instances[0].init()?; // declares, for every instance of the memory
    globals.set_u64("TEST_UINT64", 77)?;
    for guest in &mut instances {
        assert_eq!(guest.call::<i32, i64>("get", UINT64)?, 77, "no sync");
    }
    Ok(())
}

/// `module` with its memory made shared, with a maximum of `max_pages`: the investigation of
/// `spec/ABI.md` §10.5. Every other section is copied unchanged.
fn share_memory(module: &[u8], max_pages: u64) -> wasmtime::Result<Vec<u8>> {
    let mut out = wasm_encoder::Module::new();
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        let payload = payload?;
        if let wasmparser::Payload::MemorySection(reader) = &payload {
            let mut memories = wasm_encoder::MemorySection::new();
            for memory in reader.clone() {
                let memory = memory?;
                memories.memory(wasm_encoder::MemoryType {
                    minimum: memory.initial,
                    maximum: Some(memory.maximum.unwrap_or(max_pages)),
                    memory64: memory.memory64,
                    shared: true,
                    page_size_log2: memory.page_size_log2,
                });
            }
            out.section(&memories);
        } else if let Some((id, range)) = payload.as_section() {
            out.section(&wasm_encoder::RawSection {
                id,
                data: &module[range],
            });
        }
    }
    Ok(out.finish())
}

#[test]
fn an_ordinary_rust_guest_rewritten_to_shared_memory_sees_sets_at_once() -> wasmtime::Result<()> {
    // The Rust SDK guest built without atomics: its reads are volatile plain loads.
    let engine = ticking_engine()?;
    let bytes = std::fs::read(wasmtime_global_test_artifacts::guests::SCENARIO)?;
    let module = Module::new(&engine, share_memory(&bytes, 1024)?)?;
    let globals = Globals::new();
    let mut guest = live_guest(&engine, &module, &globals)?;
    assert_eq!(
        spin_until_set(&engine, &mut guest, &globals, 45)?,
        45,
        "seen without a sync"
    );
    assert_eq!(guest.store.data().globals.stats().syncs, 0);
    Ok(())
}

/// Issue 22, item 12: the crate's epoch ticker stops when it is dropped, at once rather than
/// after its interval, and stops by itself when the engine goes (it never keeps one alive).
#[test]
fn the_epoch_ticker_stops_when_dropped_or_when_the_engine_goes() -> wasmtime::Result<()> {
    let engine = ticking_engine()?;
    let ticker = EpochTicker::start(&engine, Duration::from_secs(3600));
    assert!(ticker.is_running());
    let started = std::time::Instant::now();
    drop(ticker);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "woken, not waited out"
    );

    let ticker = EpochTicker::start(&engine, Duration::from_millis(1));
    drop(engine);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while ticker.is_running() {
        assert!(
            std::time::Instant::now() < deadline,
            "still ticking a dropped engine"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}
