//! Names whose last declaration went are kept in the registry for the next instance (one instance
//! per request declares the same names again and again), but never without bound: 200,000
//! different names declared and released hold no more than about a thousand entries.
//!
//! Its own test binary, because it counts every allocation of the process.

use std::sync::atomic::Ordering;
use wasmtime_global::Globals;

mod counting;
mod shell;

use counting::HELD;
use shell::{CAPACITY, Shell};

#[test]
fn released_names_are_kept_for_the_next_instance_and_swept_in_bulk() -> wasmtime::Result<()> {
    let globals = Globals::new();
    let mut shell = Shell::new(&globals)?;
    let round =
        |r: u32| -> Vec<String> { (0..CAPACITY).map(|i| format!("r{r:03}.{i:04}")).collect() };
    // Warm up: everything the engine and the store allocate once.
    shell.declare_all(&round(999))?;
    shell.store.data_mut().reset();
    let before = HELD.load(Ordering::Relaxed);
    for r in 0..200 {
        shell.declare_all(&round(r))?;
        assert_eq!(globals.len(), CAPACITY as usize, "round {r}");
        shell.store.data_mut().reset();
        assert_eq!(globals.len(), 0, "released, so not held, though kept idle");
    }
    let held = HELD.load(Ordering::Relaxed) - before;
    println!("after 204,800 names declared and released: {held} bytes held");
    // 1,024 live names at a time; idle ones are swept once more than 1,024 (and more than half
    // the entries) were released, so at most about 3,000 entries of some 150 bytes remain (and
    // the hash table's capacity for them), not 204,800.
    assert!(held < 1024 * 1024, "{held} bytes held");
    Ok(())
}
