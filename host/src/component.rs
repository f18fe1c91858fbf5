//! The project's own interface for components (feature `component`):
//! `wasmtime-global:globals/globals` (`spec/wit/globals.wit`, `spec/COMPONENTS.md`), served from
//! the same registry as core modules' tables.
//!
//! A component cannot share its memory with the host, so it reads a global with a host call. It
//! declares each global once, by name, type (the case of its default) and default, and gets a
//! handle; a read through the handle is an index into the store's declarations, with no
//! allocation, which looks the name up in the registry only when the registry's version moved
//! since the global's last read. `read(index)` reads without lending the handle: wasmtime's
//! borrow of a resource costs more than the rest of a read (`cargo bench -p
//! wasmtime-global-tests --bench components`). A declaration is a declaration as a core module's slot is:
//! it counts against the store's [`Limits`](crate::Limits), it fixes the name's type for core
//! modules and components alike (a declaration of another type is refused with
//! `type-mismatch`), and it ends when the handle is dropped or the store goes.
//!
//! **Reads are live:** each `get` returns what a declaring guest would read at that moment (the
//! value set in the store's registry, else its parent's, else the defined default, else the
//! handle's own default), so a `set` on any thread is seen by the next read, even within one
//! call into the component, and a `del` gives the default back. There is no sync to run. Reads
//! of several globals that must agree go through one `get-many` call: its values are of one
//! version of the registry, all from before or all from after any batch. `version` moves with
//! every change of a declared name, for a component that reads again only then.
//!
//! Its functions never block, so one [`add_to_linker`] serves sync and async stores alike.
//!
//! ```
//! use wasmtime::component::Linker;
//! use wasmtime::{Engine, Store};
//! use wasmtime_global::{Globals, GlobalsCtx};
//!
//! let engine = Engine::default();
//! let mut linker: Linker<GlobalsCtx> = Linker::new(&engine);
//! wasmtime_global::component::add_to_linker(&mut linker, |ctx| ctx)?;
//! let globals = Globals::new();
//! let store = Store::new(&engine, GlobalsCtx::new(&globals));
//! # Ok::<(), wasmtime::Error>(())
//! ```

use crate::ctx::ComponentRefusal;
use crate::{GlobalsCtx, Value};
use wasmtime::component::{HasData, Linker, Resource};
use wasmtime_global_abi::ValueType;

mod bindings {
    wasmtime::component::bindgen!({
        path: "wit/globals.wit",
        world: "wasmtime-global:globals/imports",
        imports: { default: trappable },
    });
}

use bindings::wasmtime_global::globals::globals as wit;

/// Adds `wasmtime-global:globals/globals@0.1.0` to a component linker, served from the store's
/// [`GlobalsCtx`] (found with `get`, as [`add_to_linker`](crate::add_to_linker) does for core
/// modules).
///
/// # Errors
///
/// If the linker already defines the interface.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut GlobalsCtx,
) -> wasmtime::Result<()> {
    wit::add_to_linker::<T, Served>(linker, get)
}

/// What the generated `add_to_linker` hands its functions: the store's ctx.
struct Served;

impl HasData for Served {
    type Data<'a> = &'a mut GlobalsCtx;
}

fn value_type(ty: ValueType) -> wit::ValueType {
    match ty {
        ValueType::Bool => wit::ValueType::Bool,
        ValueType::U64 => wit::ValueType::U64,
        ValueType::I64 => wit::ValueType::I64,
        ValueType::F64 => wit::ValueType::F64,
        ValueType::Duration => wit::ValueType::Duration,
    }
}

/// The type of `value` and its bits (`spec/ABI.md` §4.3).
fn typed_bits(value: &wit::Value) -> (ValueType, u64) {
    match *value {
        wit::Value::Bool(b) => (ValueType::Bool, u64::from(b)),
        wit::Value::U64(n) => (ValueType::U64, n),
        wit::Value::I64(n) => (ValueType::I64, n as u64),
        wit::Value::F64(x) => (ValueType::F64, x.to_bits()),
        wit::Value::Duration(ns) => (ValueType::Duration, ns as u64),
    }
}

/// The limit a store's refusal names. A component's declaration passes no other (it takes no
/// table and no slot).
fn limit_of(e: &crate::Error) -> wit::Limit {
    match e {
        crate::Error::LimitExceeded {
            limit: crate::Limit::HostBytes,
            ..
        } => wit::Limit::HostBytes,
        crate::Error::LimitExceeded {
            limit: crate::Limit::RegistryHostBytes,
            ..
        } => wit::Limit::RegistryHostBytes,
        _ => wit::Limit::Declarations,
    }
}

/// `bits` as a value of type `ty`.
fn value_of(ty: ValueType, bits: u64) -> wit::Value {
    match ty {
        ValueType::Bool => wit::Value::Bool(bits != 0),
        ValueType::U64 => wit::Value::U64(bits),
        ValueType::I64 => wit::Value::I64(bits as i64),
        ValueType::F64 => wit::Value::F64(f64::from_bits(bits)),
        ValueType::Duration => wit::Value::Duration(bits as i64),
    }
}

/// What the global of index `index` reads now, or the trap of an index this ctx does not hold
/// (its handle was dropped, or the ctx reset since).
fn bits_of(ctx: &mut GlobalsCtx, index: u32) -> wasmtime::Result<u64> {
    match ctx.component_bits(index) {
        Some(bits) => Ok(bits),
        None => wasmtime::bail!(
            "wasmtime-global: no global of index {index} is declared (its handle was dropped, \
             or the store's ctx was reset)"
        ),
    }
}

/// The type of the global of index `index`.
fn type_of(ctx: &GlobalsCtx, index: u32) -> wasmtime::Result<ValueType> {
    match ctx.component(index) {
        Some(global) => Ok(global.ty),
        None => wasmtime::bail!("wasmtime-global: no global of index {index} is declared"),
    }
}

impl wit::HostGlobal for GlobalsCtx {
    fn declare(
        &mut self,
        name: String,
        default: wit::Value,
    ) -> wasmtime::Result<Result<Resource<wit::Global>, wit::Error>> {
        let (ty, bits) = typed_bits(&default);
        Ok(match self.declare_component(&name, ty, bits) {
            Ok(index) => Ok(Resource::new_own(index)),
            Err(ComponentRefusal::InvalidName) => Err(wit::Error::InvalidName),
            Err(ComponentRefusal::TypeMismatch(fixed)) => {
                Err(wit::Error::TypeMismatch(value_type(fixed)))
            }
            Err(ComponentRefusal::Limit(e)) => Err(wit::Error::LimitExceeded(limit_of(&e))),
        })
    }

    fn get(&mut self, handle: Resource<wit::Global>) -> wasmtime::Result<wit::Value> {
        let ty = type_of(self, handle.rep())?;
        Ok(value_of(ty, bits_of(self, handle.rep())?))
    }

    fn bits(&mut self, handle: Resource<wit::Global>) -> wasmtime::Result<u64> {
        bits_of(self, handle.rep())
    }

    fn index(&mut self, handle: Resource<wit::Global>) -> wasmtime::Result<u32> {
        Ok(handle.rep())
    }

    fn drop(&mut self, handle: Resource<wit::Global>) -> wasmtime::Result<()> {
        self.drop_component(handle.rep());
        Ok(())
    }
}

impl wit::Host for GlobalsCtx {
    fn get_many(
        &mut self,
        handles: Vec<Resource<wit::Global>>,
    ) -> wasmtime::Result<Vec<wit::Value>> {
        // Each handle is one of this store's live globals, once or more: a list longer than
        // twice those is refused before anything is allocated or locked for it (wasmtime lifted
        // it already, within the component's memory), so that the registry's lock is held for
        // at most that many lookups.
        let live = self.component_count();
        if handles.len() > 2 * live.max(1) {
            wasmtime::bail!(
                "wasmtime-global: get-many of {} handles, where the store holds {live} globals",
                handles.len()
            );
        }
        let mut globals = Vec::with_capacity(handles.len());
        for handle in &handles {
            let Some(global) = self.component(handle.rep()) else {
                wasmtime::bail!(
                    "wasmtime-global: a global's handle outlived its declaration (the ctx was reset)"
                );
            };
            globals.push(global);
        }
        let mut values = Vec::with_capacity(globals.len());
        let mut each = globals.iter();
        self.globals()
            .current_each(globals.iter().map(|g| &*g.name), |current| {
                if let Some(g) = each.next() {
                    values.push(value_of(g.ty, current.map_or(g.default, Value::to_bits)));
                }
            });
        Ok(values)
    }

    fn read(&mut self, index: u32) -> wasmtime::Result<u64> {
        bits_of(self, index)
    }

    fn changes(&mut self, index: u32) -> wasmtime::Result<u64> {
        match self.component_changes(index) {
            Some(changes) => Ok(changes),
            None => wasmtime::bail!("wasmtime-global: no global of index {index} is declared"),
        }
    }

    fn version(&mut self) -> wasmtime::Result<u64> {
        Ok(self.globals().version())
    }
}
