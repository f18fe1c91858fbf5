//! The claim of this project, measured: a guest's read of a global costs what a load costs.
//! Five ways for a guest to read a 64-bit value its host can change, each in the same loop, in one
//! run, with the ratios printed and each target checked.
//!
//! `cargo bench -p wasmtime-global-tests --bench reads` (under 5 seconds once built; `-- --quick` about 2)
//!
//! 1. a plain (volatile) load of a static at a constant address: the floor;
//! 2. this project's SDK read of a declared global;
//! 3. `global.get` of an exported mutable wasm global (what a wasmtime user would do by hand; a
//!    WAT module, measured against its own plain load);
//! 4. a host call that returns the value by slot index: the fastest host-call design;
//! 5. wazero-global's design, re-created from its description: the guest copies the name and the
//!    default into buffers and calls the host, which reads the name, looks it up in a map and
//!    writes the value back.
//!
//! Then the same for a guest in Go (`test-programs/go/bench`, the Go SDK; skipped where Go is missing):
//! a plain load of a package variable, the Go SDK's reads (a `Global`'s, which inlines to a load,
//! and a reader function's, wazero-global's API, which adds a closure call), a `sync/atomic` load
//! (a call, on wasm), and a host call from Go.

use wasmtime_global_test_support::bench;
use wasmtime_global_test_support::say;

use bench::{Estimate, Plan, verdict};
use std::collections::HashMap;
use std::hint::black_box;
use wasmtime::{Caller, Engine, Extern, Instance, Linker, Module, Store};
use wasmtime_global::{Globals, GlobalsCtx};
use wasmtime_global_test_artifacts::guests;

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

fn per_read<T: 'static>(
    plan: &Plan,
    store: &mut Store<T>,
    instance: &Instance,
    export: &str,
) -> wasmtime::Result<Estimate> {
    let f = instance.get_typed_func::<i32, i64>(&mut *store, export)?;
    assert_eq!(f.call(&mut *store, 1000)?, 42 * 1000, "{export} reads 42");
    Ok(plan.measure(|k| {
        black_box(f.call(&mut *store, k as i32).ok());
    }))
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

    let plan = Plan::from_args();
    bench::preamble(&plan);
    let plain = per_read(&plan, &mut store, &guest, "plain")?;
    let sdk = per_read(&plan, &mut store, &guest, "sdk")?;
    let sdk_table = per_read(&plan, &mut store, &guest, "sdk_table")?;
    let wat_plain = per_read(&plan, &mut store, &wat, "plain")?;
    let global = per_read(&plan, &mut store, &wat, "global_get")?;
    let host_call = per_read(&plan, &mut store, &guest, "host_call")?;
    let wazero = per_read(&plan, &mut store, &guest, "wazero_style")?;
    let calls = store.data().globals.stats().declare_calls;
    assert_eq!(
        calls, 2,
        "the SDK's reads made no host call after declaring once (a Global, and a table)"
    );

    let rows = [
        ("1. plain load of a static (Rust, volatile)", plain),
        ("2. wasmtime-global SDK read (Rust)", sdk),
        ("   the same, of a table made at compile time", sdk_table),
        ("3. global.get of an exported global (WAT)", global),
        ("   plain load in the same WAT module", wat_plain),
        ("4. host call returning the value by index", host_call),
        ("5. wazero-global design (name, map, write back)", wazero),
    ];
    say!(
        "{:<48} {:>24} {:>9}",
        "read (inside the guest, per read)",
        "median (IQR)",
        "vs 1"
    );
    for (name, e) in &rows {
        say!("{name:<48} {e:>24} {:>8.2}x", e.ratio(&plain));
    }
    say!();
    say!(
        "target: SDK read <= 1.2x the plain load: {:.2}x, {}",
        sdk.ratio(&plain),
        verdict(sdk.median <= 1.2 * plain.median)
    );
    say!(
        "target: SDK read of a table made at compile time <= 1.2x the plain load: {:.2}x, {}",
        sdk_table.ratio(&plain),
        verdict(sdk_table.median <= 1.2 * plain.median)
    );
    say!(
        "target: SDK read >= 5x faster than the host call: {:.1}x, {}",
        host_call.ratio(&sdk),
        verdict(host_call.median >= 5.0 * sdk.median)
    );
    say!(
        "target: SDK read >= 20x faster than wazero-global's design: {:.1}x, {}",
        wazero.ratio(&sdk),
        verdict(wazero.median >= 20.0 * sdk.median)
    );

    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let chart = [
        ("plain load", plain),
        ("SDK read", sdk),
        ("global.get", global),
        ("host call by index", host_call),
        ("wazero-global design", wazero),
    ];
    std::fs::write(out.join("reads.svg"), svg(&chart, &bench::machine()))?;
    let mut csv = String::from("read,median_ns,q1_ns,q3_ns,vs_plain\n");
    for (name, e) in &rows {
        csv += &format!(
            "{},{},{},{},{}\n",
            name.trim(),
            e.median,
            e.q1,
            e.q3,
            e.ratio(&plain)
        );
    }
    std::fs::write(out.join("reads.csv"), csv)?;
    say!();
    go(&plan)?;
    say!();
    say!(
        "wrote {0}/reads.svg (the README's chart: copy it to docs/) and {0}/reads.csv",
        out.display()
    );
    wasmtime_global_test_support::bench::write_figures(
        env!("CARGO_PKG_NAME"),
        env!("CARGO_CRATE_NAME"),
    );
    Ok(())
}

/// A Go guest's store: WASI preview 1 (a Go reactor needs it) and the globals.
struct GoHost {
    globals: GlobalsCtx,
    wasi: wasmtime_wasi::p1::WasiP1Ctx,
}

/// The Go rows: the Go SDK's read against a plain load and a host call, both from Go.
fn go(plan: &Plan) -> wasmtime::Result<()> {
    if guests::GO_BENCH.is_empty() {
        say!(
            "Go: SKIPPED ({})",
            guests::GO_SKIPPED.unwrap_or("the Go guest was not built")
        );
        return Ok(());
    }
    let engine = Engine::default();
    let globals = Globals::new();
    let mut linker: Linker<GoHost> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |h: &mut GoHost| &mut h.wasi)?;
    wasmtime_global::add_to_linker(&mut linker, |h: &mut GoHost| &mut h.globals)?;
    linker.func_wrap("bench", "get_by_index", |_: i32| -> i64 { 42 })?;
    let host = GoHost {
        globals: GlobalsCtx::new(&globals),
        wasi: wasmtime_wasi::WasiCtxBuilder::new().build_p1(),
    };
    let mut store = Store::new(&engine, host);
    let guest = linker.instantiate(&mut store, &Module::from_file(&engine, guests::GO_BENCH)?)?;
    guest
        .get_typed_func::<(), ()>(&mut store, "_initialize")?
        .call(&mut store, ())?;
    let plain = per_read(plan, &mut store, &guest, "plain")?;
    let pointer = per_read(plan, &mut store, &guest, "pointer")?;
    let sdk = per_read(plan, &mut store, &guest, "sdk")?;
    let sdk_func = per_read(plan, &mut store, &guest, "sdk_func")?;
    let atomic = per_read(plan, &mut store, &guest, "atomic")?;
    let host_call = per_read(plan, &mut store, &guest, "host_call")?;
    assert_eq!(
        store.data().globals.stats().declare_calls,
        4,
        "the Go SDK's reads made no host call after its four declarations"
    );
    say!(
        "{:<48} {:>24} {:>9}",
        "Go guest (Go SDK, wasip1 reactor), per read",
        "median (IQR)",
        "vs 1"
    );
    let rows = [
        ("1. plain load of a package variable", plain),
        ("   load through a pointer in a package variable", pointer),
        ("2. Go SDK: Global.Bits (inlined load)", sdk),
        ("   Go SDK: reader function (closure call)", sdk_func),
        ("   sync/atomic load (a call on wasm)", atomic),
        ("3. host call returning the value by index", host_call),
    ];
    for (name, e) in &rows {
        say!("{name:<48} {e:>24} {:>8.2}x", e.ratio(&plain));
    }
    say!(
        "target: Go SDK read <= 1.2x the plain load in Go: Global.Bits {:.2}x, {}; reader \
         function {:.2}x, {}",
        sdk.ratio(&plain),
        verdict(sdk.median <= 1.2 * plain.median),
        sdk_func.ratio(&plain),
        verdict(sdk_func.median <= 1.2 * plain.median)
    );
    say!(
        "target: Go SDK read >= 5x faster than a host call from Go: Global.Bits {:.1}x, {}; \
         reader function {:.1}x, {}",
        host_call.ratio(&sdk),
        verdict(host_call.median >= 5.0 * sdk.median),
        host_call.ratio(&sdk_func),
        verdict(host_call.median >= 5.0 * sdk_func.median)
    );
    Ok(())
}

/// A horizontal bar chart of ns per read on a logarithmic axis, each bar labelled with its
/// figure and its ratio to the first.
fn svg(rows: &[(&str, Estimate)], machine: &str) -> String {
    let machine = xml(machine);
    let (left, width, bar, gap, top) = (170.0, 430.0, 22.0, 10.0, 40.0);
    let lo = 0.1f64; // the axis starts at 10^-1 ns
    let hi = rows
        .iter()
        .map(|(_, e)| e.median)
        .fold(1.0, f64::max)
        .log10()
        .ceil();
    let x = |ns: f64| left + width * (ns.max(lo).log10() - lo.log10()) / (hi - lo.log10());
    let height = top + rows.len() as f64 * (bar + gap) + 50.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"780\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"13\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"22\" font-size=\"15\" font-weight=\"bold\">\
         One read of a host-changeable value, inside a wasmtime guest (ns, log scale)</text>\n"
    );
    let axis = top + rows.len() as f64 * (bar + gap);
    for power in -1..=hi as i32 {
        let decade = 10f64.powi(power);
        s += &format!(
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{top}\" y2=\"{axis}\" stroke=\"#ced4da\"/>\n\
             <text x=\"{0:.1}\" y=\"{1}\" text-anchor=\"middle\" font-size=\"11\">{decade}</text>\n",
            x(decade),
            axis + 14.0,
        );
    }
    let base = rows[0].1.median;
    for (i, (name, e)) in rows.iter().enumerate() {
        let y = top + i as f64 * (bar + gap);
        let colour = if i == 1 { "#d9480f" } else { "#868e96" };
        s += &format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{name}</text>\n\
             <rect x=\"{left}\" y=\"{y}\" width=\"{:.1}\" height=\"{bar}\" fill=\"{colour}\"/>\n\
             <text x=\"{:.1}\" y=\"{}\">{:.2} ns ({:.2}x)</text>\n",
            left - 8.0,
            y + 16.0,
            x(e.median) - left,
            x(e.median) + 6.0,
            y + 16.0,
            e.median,
            e.median / base,
        );
    }
    s += &format!(
        "<text x=\"10\" y=\"{}\" font-size=\"11\" fill=\"#495057\">{machine}; wasmtime 48; \
         cargo bench -p wasmtime-global-tests --bench reads</text>\n</svg>\n",
        axis + 36.0
    );
    s
}

/// `text` with the characters XML gives a meaning escaped.
fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
