//! From a new version of a globals file to the registry, and to a guest: a real file in a real
//! directory, replaced by rename as editors and deploy tools do.
//!
//! For each new value: write a complete new file beside the old one and rename it over it, then
//! time → a plain `notify` watch of the directory in this process receives the rename (the
//! baseline: what an embedder's own watch would see before it did anything), → the
//! [`WatchedFile`] has applied it to the registry, and → a shared-memory guest spinning on the
//! global (`spin` of `tests/all/wat/shared.wat`, on a thread of its own) sees it. Target for the
//! guest: median ≤ 2 ms and p99 ≤ 10 ms, as for etcd.
//!
//! `cargo bench -p wasmtime-global-tests --bench file` (`-- --quick` for a first look)

use wasmtime_global_test_support::bench;
use wasmtime_global_test_support::say;

use bench::{ms, quantiles, verdict};
use notify::{RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use wasmtime::Module;
use wasmtime_global::Globals;
use wasmtime_global_sources::file::WatchedFile;
use wasmtime_global_test_support::{Guest, engine};

const UINT64: i32 = 1;
const MEDIAN_TARGET: Duration = Duration::from_millis(2);
const P99_TARGET: Duration = Duration::from_millis(10);

/// Writes `text` to a new file beside `path` and renames it over `path`.
fn replace(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

fn main() -> wasmtime::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let versions: i64 = if quick { 60 } else { 400 };
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("globals.toml");
    replace(&path, "TEST_UINT64 = 0\n")?;

    let globals = Globals::new();
    let engine = engine();
    let module = Module::new(&engine, include_str!("../all/wat/shared.wat"))?;
    let mut guest = Guest::started(&engine, &module, &globals)?;
    let watch = WatchedFile::start(&path, &globals)?;

    // The baseline: every event of the directory that names the file, with when it came.
    let (events_tx, events) = mpsc::channel::<(Instant, Vec<PathBuf>)>();
    let mut baseline = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            let _ = events_tx.send((Instant::now(), event.paths));
        }
    })?;
    baseline.watch(dir.path(), RecursiveMode::NonRecursive)?;

    let (seen_tx, seen) = mpsc::channel::<Instant>();
    let spinner = std::thread::spawn(move || -> wasmtime::Result<()> {
        let mut old = 0;
        loop {
            old = guest.call::<(i32, i64), i64>("spin", (UINT64, old))?;
            let _ = seen_tx.send(Instant::now());
            if old == i64::MAX {
                return Ok(());
            }
        }
    });
    std::thread::sleep(Duration::from_millis(200)); // both watches are set up
    let (mut to_watch, mut to_registry, mut to_guest) = (vec![], vec![], vec![]);
    let first = watch.status().versions;
    for i in 1..=versions {
        while events.try_recv().is_ok() {} // the last round's
        let value = if i == versions { i64::MAX } else { i };
        let start = Instant::now();
        replace(&path, &format!("TEST_UINT64 = {value}\n"))?;
        let want = first + u64::try_from(i)?;
        let (status, applied) = watch.wait_for(Duration::from_secs(10), |s| s.versions >= want);
        assert!(applied, "not applied: {status:?}");
        to_registry.push(start.elapsed());
        to_guest.push(seen.recv_timeout(Duration::from_secs(10))? - start);
        let renamed = loop {
            let (at, paths) = events.recv_timeout(Duration::from_secs(10))?;
            if paths.iter().any(|p| p.file_name() == path.file_name()) {
                break at;
            }
        };
        to_watch.push(renamed - start);
        std::thread::sleep(Duration::from_millis(2));
    }
    spinner.join().expect("spinner")?;
    assert_eq!(watch.status().failures, 0);
    let (watch_median, watch_p99) = quantiles(to_watch);
    let (registry_median, registry_p99) = quantiles(to_registry);
    let (guest_median, guest_p99) = quantiles(to_guest);
    say!("rename of a new version → seen, {versions} versions (a temporary directory)");
    say!("{:<44} {:>12} {:>12}", "", "median", "p99");
    say!(
        "{:<44} {:>12} {:>12}",
        "a plain notify watch (baseline)",
        ms(watch_median),
        ms(watch_p99)
    );
    say!(
        "{:<44} {:>12} {:>12}   {:.2}× the baseline's median",
        "the watched file has applied it",
        ms(registry_median),
        ms(registry_p99),
        registry_median.as_secs_f64() / watch_median.as_secs_f64()
    );
    say!(
        "{:<44} {:>12} {:>12}   {:.2}× the baseline's median",
        "a spinning shared-memory guest sees it",
        ms(guest_median),
        ms(guest_p99),
        guest_median.as_secs_f64() / watch_median.as_secs_f64()
    );
    say!(
        "guest: median {} ≤ {}: {}; p99 {} ≤ {}: {}",
        ms(guest_median),
        ms(MEDIAN_TARGET),
        verdict(guest_median <= MEDIAN_TARGET),
        ms(guest_p99),
        ms(P99_TARGET),
        verdict(guest_p99 <= P99_TARGET)
    );
    wasmtime_global_test_support::bench::write_figures(
        env!("CARGO_PKG_NAME"),
        env!("CARGO_CRATE_NAME"),
    );
    Ok(())
}
