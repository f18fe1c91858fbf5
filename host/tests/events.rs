//! The `tracing` events of declarations, refusals, traps, sets and syncs, and a store's label in
//! them. One test in its own binary: `tracing` decides once per event site whether anyone
//! listens, and a test running meanwhile on another thread with no subscriber could decide it.

use std::sync::Arc;
use tracing::Level;
use wasmtime_global::{Error, Globals, ValueType};

mod shell;

use shell::Shell;
use wasmtime_global_test_support::recorder::{Recorder, events};

#[test]
fn a_stores_label_is_in_its_declarations_refusals_and_events() -> wasmtime::Result<()> {
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(recorder.clone());
    let globals = Globals::new();
    globals.define("FIXED", ValueType::F64, None)?;
    let mut shell = Shell::new(&globals)?;
    shell.store.data_mut().set_label("tenant-7");
    shell.write(&["N".to_owned(), "FIXED".to_owned()], ValueType::U64)?;
    assert_eq!(shell.declare(0)?, 0);
    assert_eq!(shell.declare(1)?, 1); // TYPE_MISMATCH
    globals.set_u64("N", 5)?;
    wasmtime_global::sync(&mut shell.store, |ctx| ctx)?;
    let label = Some(Arc::<str>::from("tenant-7"));
    assert_eq!(shell.store.data().declarations()[0].label, label);
    assert_eq!(shell.store.data().refusals()[0].label, label);

    // A trap: a slot index past the table's count.
    let trap = shell.declare(7).unwrap_err();
    assert!(matches!(
        trap.downcast_ref::<Error>(),
        Some(Error::SlotIndexOutOfRange { index: 7, count: 2 })
    ));

    let declare = "wasmtime_global::declare".to_owned();
    let seen = events(
        &recorder,
        &["label", "name", "ty", "declared", "fixed", "error"],
    );
    let fields = |v: [&str; 6]| v.map(str::to_owned).to_vec();
    assert_eq!(
        seen,
        [
            (
                declare.clone(),
                Level::DEBUG,
                "declared".to_owned(),
                fields(["tenant-7", "N", "U64", "", "", ""])
            ),
            (
                declare.clone(),
                Level::WARN,
                "declaration refused: TYPE_MISMATCH".to_owned(),
                fields(["tenant-7", "FIXED", "", "U64", "F64", ""])
            ),
            (
                "wasmtime_global::set".to_owned(),
                Level::TRACE,
                "applied".to_owned(),
                fields(["", "", "", "", "", ""])
            ),
            (
                "wasmtime_global::sync".to_owned(),
                Level::TRACE,
                "synced".to_owned(),
                fields(["tenant-7", "", "", "", "", ""])
            ),
            (
                declare,
                Level::WARN,
                "a declaration trapped the guest".to_owned(),
                fields([
                    "tenant-7",
                    "",
                    "",
                    "",
                    "",
                    "slot index 7 is not below the table count 2"
                ])
            ),
        ]
    );
    let counters = globals.snapshot().counters;
    assert_eq!(
        (counters.refusals, counters.traps, counters.syncs),
        (1, 1, 1)
    );

    // A set in a fleet that changes what a tenant's guest reads says so (issue 22, item 10: it
    // said `changed = 0`, since no guest of the fleet itself declared the name).
    let fleet = Globals::new();
    let tenant = fleet.child();
    let mut guest = Shell::new(&tenant)?;
    guest.write(&["C".to_owned()], ValueType::U64)?;
    assert_eq!(guest.declare(0)?, 0);
    recorder.clear();
    fleet.set_u64("C", 1)?;
    fleet.set_u64("NOBODY", 1)?;
    let seen = events(
        &recorder,
        &["names", "changed", "changed_below", "children"],
    );
    let set = |fields: [&str; 4]| {
        (
            "wasmtime_global::set".to_owned(),
            Level::TRACE,
            "applied".to_owned(),
            fields.map(str::to_owned).to_vec(),
        )
    };
    assert_eq!(seen, [set(["1", "0", "1", "1"]), set(["1", "0", "0", "1"])]);
    Ok(())
}
