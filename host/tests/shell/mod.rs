//! A guest shell for the host's own tests: the test writes a table into the guest's memory and
//! the guest's `declare(i)` declares slot `i` of it, so a test can declare any names it likes.

#![allow(dead_code)] // each test binary uses a part

use wasmtime::{Engine, Instance, Linker, Module, Store, TypedFunc};
use wasmtime_global::abi::{self, Header, Slot, ValueType};
use wasmtime_global::{Globals, GlobalsCtx, Limits};

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
