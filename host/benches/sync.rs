//! What a store pays: `sync` when k of n declared globals changed, the cost of declaring, and the
//! host memory a declaration takes. One run; figures per operation.
//!
//! `cargo bench -p wasmtime-global --bench sync`

mod common;

use common::measure;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use wasmtime::{Engine, Linker, Module, Store};
use wasmtime_global::abi::{self, fnv1a64};
use wasmtime_global::{Globals, GlobalsCtx};

/// Counts the bytes the program holds, to measure what declarations keep.
struct Counting;

static HELD: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        HELD.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is System's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        HELD.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is System's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const N: u32 = 100;

fn name(i: u32) -> String {
    format!("GLOBAL_{i:03}")
}

/// A WAT guest with a table of N slots; `init` declares all N (U64 names GLOBAL_000…).
fn guest() -> String {
    let table = 4096u32;
    let mut wat = String::from(
        r#"(module (import "wasmtime_global_v1" "declare" (func $d (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "wasmtime_global_table") (result i32) (i32.const 4096))
"#,
    );
    let header = abi::Header::new(N);
    let bytes: String = bytemuck::bytes_of(&header)
        .iter()
        .map(|b| format!("\\{b:02x}"))
        .collect();
    wat += &format!("  (data (i32.const {table}) \"{bytes}\")\n");
    let mut init = String::from("  (func (export \"init\")\n");
    for i in 0..N {
        let (n, addr) = (name(i), 64 + i * 16);
        wat += &format!("  (data (i32.const {addr}) \"{n}\")\n");
        let slot = table + 64 + i * 64;
        init += &format!(
            "    (i64.store (i32.const {slot}) (i64.const {}))
    (i32.store (i32.const {}) (i32.const {addr}))
    (i32.store (i32.const {}) (i32.const {}))
    (i32.store (i32.const {}) (i32.const 2))
    (i32.store (i32.const {}) (i32.const {}))
    (drop (call $d (i32.const {i})))\n",
            fnv1a64(n.as_bytes()) as i64,
            slot + 8,
            slot + 12,
            n.len(),
            slot + 16,
            table + 16,
            i + 1,
        );
    }
    wat + &init + "  ))"
}

fn main() -> wasmtime::Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, guest())?;
    let mut linker = Linker::new(&engine);
    wasmtime_global::add_to_linker(&mut linker, |ctx: &mut GlobalsCtx| ctx)?;
    let globals = Globals::new();
    let mut store = Store::new(&engine, GlobalsCtx::new(&globals));
    let instance = linker.instantiate(&mut store, &module)?;
    let init = instance.get_typed_func::<(), ()>(&mut store, "init")?;
    let held = HELD.load(Ordering::Relaxed);
    init.call(&mut store, ())?;
    let per_slot = (HELD.load(Ordering::Relaxed) - held) as f64 / f64::from(N);
    assert_eq!(store.data().stats().declare_calls, u64::from(N));

    println!("sync of one store with {N} declared globals");
    println!(
        "{:<40} {:>12} {:>14}",
        "changed since last sync (k)", "set + sync", "per change"
    );
    let mut value = 0u64;
    let nothing = measure(15, 1_000_000, |reps| {
        for _ in 0..reps {
            wasmtime_global::sync(&mut store, |ctx| ctx).ok();
        }
    });
    println!("{:<40} {:>9.1} ns", "0 (sync only)", nothing);
    for k in [1u32, 10, 100] {
        let names: Vec<String> = (0..k).map(name).collect();
        let ns = measure(15, 20_000 / u64::from(k), |reps| {
            for _ in 0..reps {
                value += 1;
                let mut batch = globals.batch();
                for n in &names {
                    batch.set(n, value);
                }
                batch.commit().ok();
                wasmtime_global::sync(&mut store, |ctx| ctx).ok();
            }
        });
        println!("{:<40} {:>9.0} ns {:>11.1} ns", k, ns, ns / f64::from(k));
    }

    println!();
    let fresh = measure(7, 200, |reps| {
        for _ in 0..reps {
            let mut store = Store::new(&engine, GlobalsCtx::new(&globals));
            linker.instantiate(&mut store, &module).ok();
        }
    });
    let declared = measure(7, 200, |reps| {
        for _ in 0..reps {
            let mut store = Store::new(&engine, GlobalsCtx::new(&globals));
            if let Ok(i) = linker.instantiate(&mut store, &module)
                && let Ok(init) = i.get_typed_func::<(), ()>(&mut store, "init")
            {
                init.call(&mut store, ()).ok();
            }
        }
    });
    println!("store + instance, no declarations:        {fresh:>9.0} ns");
    println!(
        "the same, then {N} declarations:           {declared:>9.0} ns  ({:.0} ns per declaration, \
         the first attaching the instance)",
        (declared - fresh) / f64::from(N)
    );
    println!();
    println!(
        "memory: guest table {} bytes for {N} slots ({} per slot + {} header); host keeps about \
         {per_slot:.0} bytes per declared slot (registry and store records)",
        abi::table_size(N),
        abi::SLOT_SIZE,
        abi::HEADER_SIZE
    );
    Ok(())
}
