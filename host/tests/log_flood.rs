//! Issue 20, finding 4: a guest looping on a refused declaration made one `warn` event per call,
//! as fast as it could call. A store logs each refused name and each kind of trap once, then
//! only counts, at powers of two. One test in its own binary: `tracing` decides once per event
//! site whether anyone listens.

use tracing::Level;
use wasmtime_global::{Globals, ValueType};

mod shell;

use shell::Shell;
use wasmtime_global_test_support::recorder::{Recorder, events};

#[test]
fn a_guest_looping_on_refusals_and_traps_logs_a_few_lines() -> wasmtime::Result<()> {
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(recorder.clone());
    let globals = Globals::new();
    globals.define("FIXED", ValueType::U64, None)?;
    let mut shell = Shell::new(&globals)?;
    shell.write(&["FIXED".to_owned()], ValueType::F64)?;
    let calls = 10_000;
    for _ in 0..calls {
        assert_eq!(shell.declare(0)?, 1, "TYPE_MISMATCH");
    }
    // And traps: slot 5 is past `count`, every time.
    for _ in 0..calls {
        assert!(shell.declare(5).is_err());
    }
    let warnings: Vec<(String, Vec<String>)> = events(&recorder, &["name", "count"])
        .into_iter()
        .filter(|(_, level, _, _)| *level == Level::WARN)
        .map(|(_, _, message, fields)| (message, fields))
        .collect();
    let full: Vec<&(String, Vec<String>)> = warnings
        .iter()
        .filter(|(message, _)| !message.starts_with("refusals and traps"))
        .collect();
    assert_eq!(
        full.iter().map(|(m, _)| m.as_str()).collect::<Vec<_>>(),
        [
            "declaration refused: TYPE_MISMATCH",
            "a declaration trapped the guest"
        ]
    );
    let counts: Vec<u64> = warnings
        .iter()
        .filter(|(message, _)| message.starts_with("refusals and traps"))
        .map(|(_, fields)| fields[1].parse().expect("a count"))
        .collect();
    // 2 × 10,000 events, 2 logged in full, the other 19,998 counted: 2^0 to 2^14.
    assert_eq!(counts, (0..15).map(|k| 1u64 << k).collect::<Vec<_>>());
    let snapshot = globals.snapshot();
    assert_eq!(
        (snapshot.counters.refusals, snapshot.counters.traps),
        (calls, calls)
    );
    assert_eq!(shell.store.data().stats().refusals, calls);
    Ok(())
}
