//! Live globals for wasmtime guests, read with a plain load.
//!
//! The embedder keeps one [`Globals`] registry and calls [`Globals::set`] and [`Globals::del`]
//! from any thread. Each guest keeps a table of slots in its own linear memory (see
//! `spec/ABI.md`); when it declares a slot, the `declare` import that [`add_to_linker`] provides
//! validates the slot and writes the current value into it. After that the host writes new values
//! straight into the slot, so the guest reads a global with one load and never calls the host.
//!
//! ```no_run
//! use wasmtime::{Engine, Linker, Module, Store};
//! use wasmtime_global::{Globals, GlobalsCtx};
//!
//! let engine = Engine::default();
//! let globals = Globals::new(); // wazero-global's New()
//! let mut linker = Linker::new(&engine);
//! wasmtime_global::add_to_linker(&mut linker, |ctx: &mut GlobalsCtx| ctx)?; // Register()
//!
//! let module = Module::from_file(&engine, "guest.wasm")?;
//! let mut store = Store::new(&engine, GlobalsCtx::new(&globals));
//! let instance = linker.instantiate(&mut store, &module)?;
//!
//! globals.set("MAX_ITEMS", 100)?; // Set(), from any thread
//! wasmtime_global::sync(&mut store, |ctx| ctx)?; // the guest's next read sees 100
//! globals.del("MAX_ITEMS")?; // Del(): the guest's default again after the next sync
//! # let _ = instance;
//! # Ok::<(), wasmtime::Error>(())
//! ```
//!
//! # Synchronization
//!
//! A guest's linear memory is ordinary (not shared) memory. Rust gives no way to write it from
//! another thread while the guest may run, so a host write must hold the store:
//!
//! 1. [`Globals::set`] and [`Globals::del`] touch only the registry: under its lock they record the
//!    new value and the change's version, then publish the version with a release store.
//! 2. [`sync`] takes `&mut` of the store, so no wasm of that store runs meanwhile. It loads the
//!    published version (acquire); if it is the version the store last synced to, it returns.
//!    Otherwise, under the registry's read lock, it reads the names changed since, and writes the
//!    value of each slot that declared one of them with [`wasmtime::Memory::write`], which checks
//!    bounds. A value field is 8 aligned bytes written in one copy while no guest code of the store
//!    runs, so a guest never sees half of a value.
//! 3. The `declare` import runs inside a guest call, holding the store through its
//!    [`wasmtime::Caller`]; it writes the value with the memory's `&mut [u8]`.
//!
//! No write reaches guest memory except through a wasmtime API that holds the store, and this
//! crate has no `unsafe` code. A set becomes visible to a guest at the store's next sync: call
//! [`sync`] before calling into the guest, or enable the `call-hook` feature and use
//! [`sync_on_call`] to do it on every entry into wasm.
//!
//! Store drop and [`wasmtime::Store::into_data`]: the store's [`GlobalsCtx`] holds only wasmtime
//! handles (indices, not pointers), so nothing dangles. Dropping the ctx releases its
//! declarations; a ctx taken out with `into_data` must be [reset](GlobalsCtx::reset) before it
//! serves another store.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![deny(unsafe_code)]

mod ctx;
mod error;
mod hook;
mod linker;
mod registry;
#[expect(
    unsafe_code,
    reason = "shared memories are only accessible through raw atomics"
)]
mod shared;
pub mod table;
mod value;

pub use ctx::{Declaration, GlobalsCtx, Stats, sync};
pub use error::{Error, Result};
#[cfg(feature = "call-hook")]
pub use hook::sync_on_call;
pub use hook::sync_on_epoch;
pub use linker::add_to_linker;
pub use registry::{Batch, Globals};
pub use value::Value;
pub use wasmtime_global_abi as abi;
pub use wasmtime_global_abi::ValueType;
