//! A guest shell for the host's own tests: the test writes a table into the guest's memory and
//! the guest's `declare(i)` declares slot `i` of it, so a test can declare any names it likes.

#![allow(dead_code)] // each test binary uses a part

use wasmtime::{Engine, Instance, Linker, Module, Store, TypedFunc};
use wasmtime_global::{Globals, GlobalsCtx, Limits};
use wasmtime_global_abi::{self as abi, Header, Slot, ValueType};

pub const TABLE: u32 = 1024;
pub const CAPACITY: u32 = 1024;
/// Where the names go: 256 bytes apart, room for the longest.
const NAMES: u32 = TABLE + 64 + CAPACITY * 64;

const SHELL: &str = r#"
(module
  (import "wasmtime_global_v2" "declare" (func $declare (param i32 i32) (result i32)))
  (memory (export "memory") 6)
  (func (export "declare") (param i32) (result i32) (call $declare (i32.const 1024) (local.get 0))))
"#;

pub struct Shell {
    pub store: Store<GlobalsCtx>,
    instance: Instance,
    declare: TypedFunc<i32, i32>,
}

impl Shell {
    pub fn new(globals: &Globals) -> wasmtime::Result<Shell> {
        Shell::with_limits(globals, Limits::default())
    }

    pub fn with_limits(globals: &Globals, limits: Limits) -> wasmtime::Result<Shell> {
        let engine = Engine::default();
        let mut linker = Linker::new(&engine);
        wasmtime_global::add_to_linker(&mut linker, |ctx: &mut GlobalsCtx| ctx)?;
        let mut store = Store::new(&engine, GlobalsCtx::with_limits(globals, limits));
        let instance = linker.instantiate(&mut store, &Module::new(&engine, SHELL)?)?;
        let declare = instance.get_typed_func(&mut store, "declare")?;
        Ok(Shell {
            store,
            instance,
            declare,
        })
    }

    /// Writes a table of `names` (all of type `ty`, default 0).
    pub fn write(&mut self, names: &[String], ty: ValueType) -> wasmtime::Result<()> {
        self.write_with_default(names, ty, 0)
    }

    /// Writes a table of `names`, all of type `ty` with default `default`.
    pub fn write_with_default(
        &mut self,
        names: &[String],
        ty: ValueType,
        default: u64,
    ) -> wasmtime::Result<()> {
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
            let at = NAMES + 256 * i as u32;
            memory.write(&mut self.store, at as usize, name.as_bytes())?;
            let slot = Slot {
                hash: abi::fnv1a64(name.as_bytes()),
                name_addr: at,
                name_len: name.len() as u32,
                ty: ty.tag(),
                default,
                ..Slot::ZERO
            };
            let addr = u64::from(TABLE) + abi::slot_offset(i as u32);
            memory.write(&mut self.store, addr as usize, bytemuck::bytes_of(&slot))?;
        }
        Ok(())
    }

    /// Syncs the store, then reads slot `i`'s value field.
    pub fn value(&mut self, i: u32) -> wasmtime::Result<u64> {
        wasmtime_global::sync(&mut self.store, |ctx| ctx)?;
        let memory = self
            .instance
            .get_memory(&mut self.store, "memory")
            .expect("exported");
        let addr = u64::from(TABLE) + abi::slot_offset(i) + u64::from(Slot::VALUE_OFFSET);
        let mut word = [0; 8];
        memory.read(&self.store, addr as usize, &mut word)?;
        Ok(u64::from_le_bytes(word))
    }

    /// Declares slot `i`: the status, or the trap.
    pub fn declare(&mut self, i: u32) -> wasmtime::Result<i32> {
        self.declare.call(&mut self.store, i as i32)
    }

    /// Writes a table of `names` (U64) and declares every slot, each of which must succeed.
    pub fn declare_all(&mut self, names: &[String]) -> wasmtime::Result<()> {
        self.write(names, ValueType::U64)?;
        for i in 0..names.len() {
            assert_eq!(self.declare(i as u32)?, 0);
        }
        Ok(())
    }
}

/// A guest whose memory the test writes through the guest's own exports, so that one test runs
/// on an ordinary and on a shared memory alike: any table at any address, any slot of it.
pub struct Poker {
    pub store: Store<GlobalsCtx>,
    instance: Instance,
}

/// The poker's memory: 80 pages (5 MiB), room for a table of `MAX_CAPACITY` slots and more.
pub const POKER_PAGES: u32 = 80;

fn poker_wat(memory: &str) -> String {
    format!(
        r#"(module
  (import "wasmtime_global_v2" "declare" (func $declare (param i32 i32) (result i32)))
  {memory}
  (func (export "declare") (param i32 i32) (result i32) (call $declare (local.get 0) (local.get 1)))
  (func (export "store64") (param i32 i64) (i64.store (local.get 0) (local.get 1)))
  (func (export "store8") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "load64") (param i32) (result i64) (i64.load (local.get 0))))"#
    )
}

/// What kind of memory a [`Poker`] has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Ordinary,
    Shared,
}

impl Kind {
    pub const BOTH: [Kind; 2] = [Kind::Ordinary, Kind::Shared];
}

/// An engine that allows shared memories.
pub fn engine() -> Engine {
    let mut config = wasmtime::Config::new();
    config.shared_memory(true);
    Engine::new(&config).expect("an engine")
}

impl Poker {
    /// A poker with a memory of its own, of `kind`.
    pub fn new(
        engine: &Engine,
        globals: &Globals,
        limits: Limits,
        kind: Kind,
    ) -> wasmtime::Result<Poker> {
        let memory = match kind {
            Kind::Ordinary => format!(r#"(memory (export "memory") {POKER_PAGES})"#),
            Kind::Shared => {
                format!(r#"(memory (export "memory") {POKER_PAGES} {POKER_PAGES} shared)"#)
            }
        };
        let module = Module::new(engine, poker_wat(&memory))?;
        let mut linker = Linker::new(engine);
        wasmtime_global::add_to_linker(&mut linker, |ctx: &mut GlobalsCtx| ctx)?;
        let mut store = Store::new(engine, GlobalsCtx::with_limits(globals, limits));
        let instance = linker.instantiate(&mut store, &module)?;
        Ok(Poker { store, instance })
    }

    /// A poker in a store of its own that imports `memory` (as `env.memory`) and re-exports it.
    pub fn importing(
        engine: &Engine,
        globals: &Globals,
        memory: &wasmtime::SharedMemory,
    ) -> wasmtime::Result<Poker> {
        let import = format!(
            r#"(import "env" "memory" (memory {POKER_PAGES} {POKER_PAGES} shared)) (export "memory" (memory 0))"#
        );
        let module = Module::new(engine, poker_wat(&import))?;
        let mut linker = Linker::new(engine);
        wasmtime_global::add_to_linker(&mut linker, |ctx: &mut GlobalsCtx| ctx)?;
        linker.define_unknown_imports_as_traps(&module)?;
        let mut store = Store::new(engine, GlobalsCtx::new(globals));
        linker.allow_shadowing(true);
        linker.define(&mut store, "env", "memory", memory.clone())?;
        let instance = linker.instantiate(&mut store, &module)?;
        Ok(Poker { store, instance })
    }

    fn store64(&mut self, addr: u32, word: u64) -> wasmtime::Result<()> {
        let f = self
            .instance
            .get_typed_func::<(i32, i64), ()>(&mut self.store, "store64")?;
        f.call(&mut self.store, (addr as i32, word as i64))
    }

    fn bytes(&mut self, addr: u32, bytes: &[u8]) -> wasmtime::Result<()> {
        let f = self
            .instance
            .get_typed_func::<(i32, i32), ()>(&mut self.store, "store8")?;
        for (i, &b) in bytes.iter().enumerate() {
            f.call(&mut self.store, (addr as i32 + i as i32, i32::from(b)))?;
        }
        Ok(())
    }

    fn words(&mut self, addr: u32, bytes: &[u8]) -> wasmtime::Result<()> {
        for (i, word) in bytes.chunks_exact(8).enumerate() {
            let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
            self.store64(addr + 8 * i as u32, word)?;
        }
        Ok(())
    }

    /// Writes the header of a table at `table` of `capacity` slots, `count` in use.
    pub fn header(&mut self, table: u32, capacity: u32, count: u32) -> wasmtime::Result<()> {
        let header = Header {
            count,
            ..Header::new(capacity)
        };
        self.words(table, bytemuck::bytes_of(&header))
    }

    /// Writes slot `index` of the table at `table`: `name` (its bytes at `name_addr`), of type
    /// `ty`, default 0.
    pub fn slot(
        &mut self,
        table: u32,
        index: u32,
        name: &str,
        name_addr: u32,
        ty: ValueType,
    ) -> wasmtime::Result<()> {
        self.bytes(name_addr, name.as_bytes())?;
        let slot = Slot {
            hash: abi::fnv1a64(name.as_bytes()),
            name_addr,
            name_len: name.len() as u32,
            ty: ty.tag(),
            ..Slot::ZERO
        };
        let addr = u64::from(table) + abi::slot_offset(index);
        self.words(addr as u32, bytemuck::bytes_of(&slot))
    }

    /// Declares slot `index` of the table at `table`: the status, or the trap.
    pub fn declare(&mut self, table: u32, index: u32) -> wasmtime::Result<i32> {
        let f = self
            .instance
            .get_typed_func::<(i32, i32), i32>(&mut self.store, "declare")?;
        f.call(&mut self.store, (table as i32, index as i32))
    }

    /// Syncs the store, then reads the value field of slot `index` of the table at `table`.
    pub fn value(&mut self, table: u32, index: u32) -> wasmtime::Result<u64> {
        wasmtime_global::sync(&mut self.store, |ctx| ctx)?;
        let addr = u64::from(table) + abi::slot_offset(index) + u64::from(Slot::VALUE_OFFSET);
        let f = self
            .instance
            .get_typed_func::<i32, i64>(&mut self.store, "load64")?;
        Ok(f.call(&mut self.store, addr as i32)? as u64)
    }
}
