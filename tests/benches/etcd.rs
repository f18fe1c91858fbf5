//! From an etcd put to the registry, and to a guest: a real etcd on loopback (Debian's
//! `etcd-server`), started by the bench.
//!
//! 1. One mirror. For each put of a new value: put → a plain etcd watch in this process receives
//!    the event (the baseline: what etcd and gRPC cost before the mirror does anything), put →
//!    the mirror has applied it to the registry, and put → a shared-memory guest spinning on the
//!    global (`spin` of `tests/all/wat/shared.wat`, on a thread of its own) sees it. Target for
//!    the guest: median ≤ 2 ms and p99 ≤ 10 ms.
//! 2. A hundred mirrors of one prefix against one etcd, each with a registry of its own (a fleet
//!    on one machine): put → all hundred applied.
//!
//! Latencies include the put itself: a put returns once etcd has committed it, and the clock
//! starts before the put is sent.
//!
//! `cargo bench -p wasmtime-global-tests --bench etcd` (`-- --quick` for a first look)

use wasmtime_global_test_support::bench;
use wasmtime_global_test_support::say;

use bench::{ms, quantiles, verdict};
use etcd_client::{Client, WatchOptions};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use wasmtime::Module;
use wasmtime_global::Globals;
use wasmtime_global_sources::etcd::{EtcdConfig, EtcdMirror};
use wasmtime_global_test_support::etcd::Etcd;
use wasmtime_global_test_support::{Guest, engine};

const PREFIX: &str = "/bench/";
const UINT64: i32 = 1;
const MEDIAN_TARGET: Duration = Duration::from_millis(2);
const P99_TARGET: Duration = Duration::from_millis(10);

fn main() -> wasmtime::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let etcd = match Etcd::start() {
        Ok(etcd) => etcd,
        Err(why) => {
            say!("skipped: {why}");
            return Ok(());
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut client = runtime.block_on(Client::connect([etcd.endpoint()], None))?;
    let puts = if quick { 60 } else { 400 };

    // 1. One mirror, a plain watch, and a guest.
    let globals = Globals::new();
    let engine = engine();
    let module = Module::new(&engine, include_str!("../all/wat/shared.wat"))?;
    let mut guest = Guest::started(&engine, &module, &globals)?;
    let key = format!("{PREFIX}TEST_UINT64");
    runtime.block_on(client.put(key.as_str(), "0", None))?;
    let mirror = EtcdMirror::start(EtcdConfig::new([etcd.endpoint()], PREFIX), &globals)?;
    let (status, ready) = mirror.wait_for(Duration::from_secs(20), |s| s.revision > 0);
    assert!(ready, "the mirror did not list: {status:?}");

    let (watched_tx, watched) = mpsc::channel::<Instant>();
    let mut watch_client = client.watch_client();
    let watch_key = key.clone();
    runtime.spawn(async move {
        let mut stream = watch_client
            .watch(watch_key, Some(WatchOptions::new()))
            .await
            .expect("watch");
        while let Ok(Some(response)) = stream.message().await {
            for _ in response.events() {
                let _ = watched_tx.send(Instant::now());
            }
        }
    });
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
    std::thread::sleep(Duration::from_millis(200)); // the watch is set up
    let (mut to_watch, mut to_registry, mut to_guest) = (vec![], vec![], vec![]);
    for i in 1..=puts {
        let value = if i == puts { i64::MAX } else { i };
        let start = Instant::now();
        let revision = runtime
            .block_on(client.put(key.as_str(), value.to_string(), None))?
            .header()
            .map_or(0, |h| h.revision());
        let (status, applied) =
            mirror.wait_for(Duration::from_secs(10), |s| s.revision >= revision);
        assert!(applied, "not applied: {status:?}");
        to_registry.push(start.elapsed());
        to_guest.push(seen.recv_timeout(Duration::from_secs(10))? - start);
        to_watch.push(watched.recv_timeout(Duration::from_secs(10))? - start);
        std::thread::sleep(Duration::from_millis(2));
    }
    spinner.join().expect("spinner")?;
    let (watch_median, watch_p99) = quantiles(to_watch);
    let (registry_median, registry_p99) = quantiles(to_registry);
    let (guest_median, guest_p99) = quantiles(to_guest);
    say!(
        "put → seen, one mirror, {puts} puts on loopback (etcd {})",
        etcd.endpoint()
    );
    say!("{:<44} {:>12} {:>12}", "", "median", "p99");
    say!(
        "{:<44} {:>12} {:>12}",
        "a plain etcd watch (baseline)",
        ms(watch_median),
        ms(watch_p99)
    );
    say!(
        "{:<44} {:>12} {:>12}   {:.2}× the baseline's median",
        "the mirror has applied it to the registry",
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
    drop(mirror);

    // 2. A hundred mirrors.
    let fleet = 100;
    let fleet_puts = if quick { 20 } else { 100 };
    let mirrors: Vec<(Globals, EtcdMirror)> = {
        let _inside = runtime.enter();
        (0..fleet)
            .map(|_| {
                let globals = Globals::new();
                let config = EtcdConfig::new([etcd.endpoint()], PREFIX);
                let mirror = EtcdMirror::start(config, &globals).expect("mirror");
                (globals, mirror)
            })
            .collect()
    };
    let listed = runtime
        .block_on(client.put(key.as_str(), "0", None))?
        .header()
        .map_or(0, |h| h.revision());
    for (_, mirror) in &mirrors {
        let (status, ok) = mirror.wait_for(Duration::from_secs(30), |s| s.revision >= listed);
        assert!(ok, "a mirror did not start: {status:?}");
    }
    let mut to_all = Vec::new();
    for i in 1..=fleet_puts {
        let start = Instant::now();
        let revision = runtime
            .block_on(client.put(key.as_str(), i.to_string(), None))?
            .header()
            .map_or(0, |h| h.revision());
        for (_, mirror) in &mirrors {
            let (status, ok) = mirror.wait_for(Duration::from_secs(10), |s| s.revision >= revision);
            assert!(ok, "not applied: {status:?}");
        }
        to_all.push(start.elapsed());
        std::thread::sleep(Duration::from_millis(5));
    }
    let (all_median, all_p99) = quantiles(to_all);
    say!();
    say!("put → all {fleet} mirrors applied, {fleet_puts} puts (one etcd, one process, 2 cores)");
    say!(
        "{:<44} {:>12} {:>12}   {:.2}× one mirror's median",
        format!("{fleet} mirrors"),
        ms(all_median),
        ms(all_p99),
        all_median.as_secs_f64() / registry_median.as_secs_f64()
    );
    drop(mirrors);
    wasmtime_global_test_support::bench::write_figures(
        env!("CARGO_PKG_NAME"),
        env!("CARGO_CRATE_NAME"),
    );
    Ok(())
}
