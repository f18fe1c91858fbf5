//! The claim of this project, measured: a guest's read of a global costs what a load costs.
//! Five ways for a guest to read a 64-bit value its host can change, each in the same loop, in one
//! run, with the ratios printed and each target checked.
//!
//! `cargo bench -p wasmtime-global-tests --bench reads` (about 20 seconds)
//!
//! 1. a plain (volatile) load of a static at a constant address: the floor;
//! 2. this project's SDK read of a declared global;
//! 3. `global.get` of an exported mutable wasm global (what a wasmtime user would do by hand; a
//!    WAT module, measured against its own plain load);
//! 4. a host call that returns the value by slot index: the fastest host-call design;
//! 5. wazero-global's design, re-created from its description: the guest copies the name and the
//!    default into buffers and calls the host, which reads the name, looks it up in a map and
//!    writes the value back.

#[path = "../../host/benches/common.rs"]
mod common;

use common::measure;
use std::collections::HashMap;
use std::hint::black_box;
use wasmtime::{Caller, Engine, Extern, Instance, Linker, Module, Store};
use wasmtime_global::{Globals, GlobalsCtx};
use wasmtime_global_tests::guests;

struct Host {
    globals: GlobalsCtx,
    by_index: Vec<u64>,
    by_name: HashMap<String, u64>,
}

const GLOBAL_GET: &str = r#"
(module
  (memory (export "memory") 1)
  (data (i32.const 64) "\2a\00\00\00\00\00\00\00")
  (global $g (export "g") (mut i64) (i64.const 42))
  (func (export "plain") (param $n i32) (result i64)
    (local $t i64)
    (loop $l
      (local.set $t (i64.add (local.get $t) (i64.load (i32.const 64))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n)))
    (local.get $t))
  (func (export "global_get") (param $n i32) (result i64)
    (local $t i64)
    (loop $l
      (local.set $t (i64.add (local.get $t) (global.get $g)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n)))
    (local.get $t)))
"#;

/// wazero-global's host function: read the name, look it up, write the value back if set.
fn global_get(mut caller: Caller<'_, Host>, name: i32, len: i32, value: i32) {
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
        return;
    };
    let (data, host) = memory.data_and_store_mut(&mut caller);
    let name = data
        .get(name as usize..(name as usize).saturating_add(len as usize))
        .and_then(|b| std::str::from_utf8(b).ok());
    if let Some(v) = name.and_then(|n| host.by_name.get(n))
        && let Some(out) = data.get_mut(value as usize..value as usize + 8)
    {
        out.copy_from_slice(&v.to_le_bytes());
    }
}

fn per_read(
    store: &mut Store<Host>,
    instance: &Instance,
    export: &str,
    n: u64,
) -> wasmtime::Result<f64> {
    let f = instance.get_typed_func::<i32, i64>(&mut *store, export)?;
    let expected = (42 * n) as i64;
    assert_eq!(
        f.call(&mut *store, n as i32)?,
        expected,
        "{export} reads 42"
    );
    Ok(measure(11, n, |k| {
        black_box(f.call(&mut *store, k as i32).ok());
    }))
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

fn main() -> wasmtime::Result<()> {
    let engine = Engine::default();
    let globals = Globals::new();
    let mut linker: Linker<Host> = Linker::new(&engine);
    wasmtime_global::add_to_linker(&mut linker, |h: &mut Host| &mut h.globals)?;
    linker.func_wrap(
        "bench",
        "get_by_index",
        |caller: Caller<'_, Host>, i: i32| {
            caller.data().by_index.get(i as usize).copied().unwrap_or(0) as i64
        },
    )?;
    linker.func_wrap("bench", "global_get", global_get)?;
    let mut store = Store::new(
        &engine,
        Host {
            globals: GlobalsCtx::new(&globals),
            by_index: vec![42],
            by_name: HashMap::from([("LIMIT".to_owned(), 42)]),
        },
    );
    let guest = linker.instantiate(&mut store, &Module::from_file(&engine, guests::BENCH)?)?;
    let wat = linker.instantiate(&mut store, &Module::new(&engine, GLOBAL_GET)?)?;

    let fast = 10_000_000;
    let slow = 1_000_000;
    let plain = per_read(&mut store, &guest, "plain", fast)?;
    let sdk = per_read(&mut store, &guest, "sdk", fast)?;
    let wat_plain = per_read(&mut store, &wat, "plain", fast)?;
    let global = per_read(&mut store, &wat, "global_get", fast)?;
    let host_call = per_read(&mut store, &guest, "host_call", slow)?;
    let wazero = per_read(&mut store, &guest, "wazero_style", slow)?;
    let calls = store.data().globals.stats().declare_calls;
    assert_eq!(
        calls, 1,
        "the SDK's reads made no host call after declaring once"
    );

    println!(
        "{:<48} {:>10} {:>10}",
        "read (inside the guest, per read)", "ns", "vs 1"
    );
    let row = |name: &str, ns: f64| println!("{name:<48} {ns:>10.3} {:>9.2}x", ns / plain);
    row("1. plain load of a static (Rust, volatile)", plain);
    row("2. wasmtime-global SDK read (Rust)", sdk);
    row("3. global.get of an exported global (WAT)", global);
    row("   plain load in the same WAT module", wat_plain);
    row("4. host call returning the value by index", host_call);
    row("5. wazero-global design (name, map, write back)", wazero);
    println!();
    println!(
        "target: SDK read <= 1.2x the plain load: {:.2}x, {}",
        sdk / plain,
        verdict(sdk <= 1.2 * plain)
    );
    println!(
        "target: SDK read >= 5x faster than the host call: {:.1}x, {}",
        host_call / sdk,
        verdict(host_call >= 5.0 * sdk)
    );
    println!(
        "target: SDK read >= 20x faster than wazero-global's design: {:.1}x, {}",
        wazero / sdk,
        verdict(wazero >= 20.0 * sdk)
    );
    Ok(())
}
