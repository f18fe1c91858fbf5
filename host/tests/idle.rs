//! Names whose last declaration went are kept in the registry for the next instance (one instance
//! per request declares the same names again and again), but never without bound: 200,000
//! different names declared and released hold no more than about a thousand entries.
//!
//! Its own test binary, because it counts every allocation of the process.

use std::sync::atomic::Ordering;
use wasmtime::{Engine, Instance, Linker, Module, Store, TypedFunc};
use wasmtime_global::abi::{self, Header, Slot, ValueType};
use wasmtime_global::{Globals, GlobalsCtx};

mod counting;

use counting::HELD;

const TABLE: u32 = 1024;
const CAPACITY: u32 = 1024;
const NAMES: u32 = TABLE + 64 + CAPACITY * 64;

/// A guest whose `declare(i)` declares slot `i` of the table the test writes at 1024.
const SHELL: &str = r#"
(module
  (import "wasmtime_global_v2" "declare" (func $declare (param i32 i32) (result i32)))
  (memory (export "memory") 3)
  (func (export "declare") (param i32) (result i32) (call $declare (i32.const 1024) (local.get 0))))
"#;

struct Shell {
    store: Store<GlobalsCtx>,
    instance: Instance,
    declare: TypedFunc<i32, i32>,
}

impl Shell {
    fn new(globals: &Globals) -> wasmtime::Result<Shell> {
        let engine = Engine::default();
        let mut linker = Linker::new(&engine);
        wasmtime_global::add_to_linker(&mut linker, |ctx: &mut GlobalsCtx| ctx)?;
        let mut store = Store::new(&engine, GlobalsCtx::new(globals));
        let instance = linker.instantiate(&mut store, &Module::new(&engine, SHELL)?)?;
        let declare = instance.get_typed_func(&mut store, "declare")?;
        Ok(Shell {
            store,
            instance,
            declare,
        })
    }

    /// Fills the table with `names` (U64, default 0) and declares every slot.
    fn declare_all(&mut self, names: &[String]) -> wasmtime::Result<()> {
        let memory = self
            .instance
            .get_memory(&mut self.store, "memory")
            .expect("exported");
        let header = Header {
            count: names.len() as u32,
            ..Header::new(CAPACITY)
        };
        memory.write(&mut self.store, TABLE as usize, bytemuck::bytes_of(&header))?;
        for (i, name) in names.iter().enumerate() {
            let at = NAMES + 16 * i as u32;
            memory.write(&mut self.store, at as usize, name.as_bytes())?;
            let slot = Slot {
                hash: abi::fnv1a64(name.as_bytes()),
                name_addr: at,
                name_len: name.len() as u32,
                ty: ValueType::U64.tag(),
                ..Slot::ZERO
            };
            let addr = u64::from(TABLE) + abi::slot_offset(i as u32);
            memory.write(&mut self.store, addr as usize, bytemuck::bytes_of(&slot))?;
        }
        for i in 0..names.len() {
            assert_eq!(self.declare.call(&mut self.store, i as i32)?, 0);
        }
        Ok(())
    }
}

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
