//! Live globals for wasmtime guests, read with a plain load.
//!
//! The embedder keeps one [`Globals`] registry and calls [`Globals::set`] and [`Globals::del`]
//! from any thread. Each guest keeps a table of slots in its own linear memory (see
//! [the ABI](wasmtime_global_abi::spec)); when it declares a slot, the `declare` import that
//! [`add_to_linker`] provides validates the slot and writes the current value into it. After that
//! the host writes new values straight into the slot, so the guest reads a global with one load and
//! never calls the host: at once from the setting thread if the guest's memory is shared, otherwise
//! at the store's next [`sync`].
//!
//! ```
//! use wasmtime::{Engine, Linker, Module, Store};
//! use wasmtime_global::{Globals, GlobalsCtx};
//!
//! let engine = Engine::default();
//! let globals = Globals::new(); // wazero-global's New()
//! let mut linker = Linker::new(&engine);
//! wasmtime_global::add_to_linker(&mut linker, |ctx: &mut GlobalsCtx| ctx)?; // Register()
//!
//! // A guest with one global, MAX_ITEMS (default 10), and an export that reads it.
//! let module = Module::new(&engine, include_str!("doc/max_items.wat"))?;
//! let mut store = Store::new(&engine, GlobalsCtx::new(&globals));
//! let instance = linker.instantiate(&mut store, &module)?;
//! let max_items = instance.get_typed_func::<(), i64>(&mut store, "max_items")?;
//! assert_eq!(max_items.call(&mut store, ())?, 10); // declared at its first read
//!
//! globals.set("MAX_ITEMS", 100)?; // Set(), from any thread
//! wasmtime_global::sync(&mut store, |ctx| ctx)?; // the guest's next read sees 100
//! assert_eq!(max_items.call(&mut store, ())?, 100);
//! globals.del("MAX_ITEMS")?; // Del(): the guest's default again after the next sync
//! wasmtime_global::sync(&mut store, |ctx| ctx)?;
//! assert_eq!(max_items.call(&mut store, ())?, 10);
//! # Ok::<(), wasmtime::Error>(())
//! ```
//!
//! # Components
//!
//! A component cannot share its memory with the host, so it reads each value with a host call:
//! with the `wasi-config` feature, [`config::add_to_linker`] serves the standard
//! `wasi:config/store` from the same registry, live (a `set` is seen by the next `get`), so a
//! component written against `wasi:config` reads it unchanged; with the `component` feature,
//! [`component::add_to_linker`] serves the project's own interface (`spec/wit/globals.wit`): a
//! typed handle per declared global, read live with one host call.
//!
//! # Async stores
//!
//! [`add_to_linker`] needs nothing more: its `declare` is a plain host function that never calls
//! back into the guest, so it works when the guest runs through `instantiate_async` and
//! `call_async`, including declarations from a start function, in stores whose epoch deadlines
//! yield (`epoch_deadline_async_yield_and_update`) and in stores with an async call hook. For such
//! stores the `async` feature adds `sync_on_epoch_async` (syncs at epoch deadlines and still
//! yields to the executor), `call_async` (syncs, calls, and makes a plain [`sync_on_epoch`]'s
//! deadlines yield during the call) and, with `call-hook`, `sync_on_call_async`.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
//! use wasmtime::{Config, Engine, Linker, Module, Store};
//! use wasmtime_global::{Globals, GlobalsCtx};
//!
//! let mut config = Config::new();
//! config.epoch_interruption(true);
//! let engine = Engine::new(&config)?;
//! let globals = Globals::new();
//! let mut linker = Linker::new(&engine);
//! wasmtime_global::add_to_linker(&mut linker, |ctx: &mut GlobalsCtx| ctx)?;
//! let module = Module::new(&engine, include_str!("doc/max_items.wat"))?;
//!
//! let mut store = Store::new(&engine, GlobalsCtx::new(&globals));
//! store.epoch_deadline_async_yield_and_update(1);
//! let instance = linker.instantiate_async(&mut store, &module).await?;
//! let max_items = instance.get_typed_func::<(), i64>(&mut store, "max_items")?;
//! assert_eq!(max_items.call_async(&mut store, ()).await?, 10);
//!
//! globals.set("MAX_ITEMS", 100)?;
//! wasmtime_global::sync(&mut store, |ctx| ctx)?;
//! assert_eq!(max_items.call_async(&mut store, ()).await?, 100);
//! # Ok::<(), wasmtime::Error>(())
//! # })?;
//! # Ok::<(), wasmtime::Error>(())
//! ```
//!
//! # One instance per request
//!
//! With the pooling allocator and an [`InstancePre`](wasmtime::InstancePre), a store is cheap:
//! give each request a new [`GlobalsCtx`] and drop it with the store. A request's guest declares
//! the globals it reads; a store that never syncs never builds the index a sync uses, and the
//! registry keeps the entries of names that were declared, so the next request finds them.
//! Make a [`ModuleGlobals`] once, with the `InstancePre`, hand it to each request's ctx
//! ([`GlobalsCtx::with_module`]), and instantiate through it ([`ModuleGlobals::instantiate`]):
//! declarations then find the instance's memory by index, a slot the module's instances
//! declared before is declared without validating it again (a call's slots that all are, into
//! a table the store has none of yet, as one record of the store's, [`Stats::known_runs`]),
//! and the page of its table is faulted in for writing before the guest reads it (one page
//! fault where there were two).
//! `cargo bench -p wasmtime-global-tests --bench request` measures what it costs against a host
//! call per read; the README has the figures.
//!
//! ```
//! use wasmtime::{
//!     Config, Engine, InstanceAllocationStrategy, Linker, Module, PoolingAllocationConfig, Store,
//! };
//! use wasmtime_global::{Globals, GlobalsCtx, ModuleGlobals};
//!
//! let mut config = Config::new();
//! config.allocation_strategy(InstanceAllocationStrategy::Pooling(
//!     PoolingAllocationConfig::default(),
//! ));
//! let engine = Engine::new(&config)?;
//! let globals = Globals::new();
//! let mut linker = Linker::new(&engine);
//! wasmtime_global::add_to_linker(&mut linker, |ctx: &mut GlobalsCtx| ctx)?;
//! let pre = linker.instantiate_pre(&Module::new(&engine, include_str!("doc/max_items.wat"))?)?;
//! let module = ModuleGlobals::new(pre.module());
//!
//! globals.set("MAX_ITEMS", 25)?;
//! for _request in 0..3 {
//!     let mut store = Store::new(&engine, GlobalsCtx::new(&globals).with_module(&module));
//!     let instance = module.instantiate(&pre, &mut store)?;
//!     let max_items = instance.get_typed_func::<(), i64>(&mut store, "max_items")?;
//!     assert_eq!(max_items.call(&mut store, ())?, 25); // no sync needed in a new store
//! } // the store, its instance and its declarations go
//! # Ok::<(), wasmtime::Error>(())
//! ```
//!
//! # With WASI preview 1
//!
//! A WASI guest links both sets of imports, each with its part of the store's data. Here a
//! command's `_start` exits with the value of `MAX_ITEMS`, set before it runs:
//!
//! ```
//! use wasmtime::{Engine, Linker, Module, Store};
//! use wasmtime_global::{Globals, GlobalsCtx};
//! use wasmtime_wasi::p1::WasiP1Ctx;
//!
//! struct Host {
//!     wasi: WasiP1Ctx,
//!     globals: GlobalsCtx,
//! }
//!
//! let engine = Engine::default();
//! let mut linker: Linker<Host> = Linker::new(&engine);
//! wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |h| &mut h.wasi)?;
//! wasmtime_global::add_to_linker(&mut linker, |h| &mut h.globals)?;
//!
//! let globals = Globals::new();
//! globals.set_u64("MAX_ITEMS", 7)?;
//! let host = Host {
//!     wasi: wasmtime_wasi::WasiCtxBuilder::new().inherit_stderr().build_p1(),
//!     globals: GlobalsCtx::new(&globals),
//! };
//! let mut store = Store::new(&engine, host);
//! let module = Module::new(&engine, include_str!("doc/exit_code.wat"))?;
//! let instance = linker.instantiate(&mut store, &module)?;
//! let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
//! let exit = start.call(&mut store, ()).unwrap_err();
//! assert_eq!(exit.downcast_ref::<wasmtime_wasi::I32Exit>().map(|e| e.0), Some(7));
//! # Ok::<(), wasmtime::Error>(())
//! ```
//!
//! # Per-tenant registries
//!
//! [`Globals::child`] overlays a registry: a tenant's stores take a [`GlobalsCtx`] of the tenant's
//! child registry, whose own values win, and whose `del` falls back to the fleet's. A fleet-wide
//! change reaches every tenant that does not override it.
//!
//! ```
//! use wasmtime::{Engine, Linker, Module, Store};
//! use wasmtime_global::{Globals, GlobalsCtx};
//!
//! let engine = Engine::default();
//! let mut linker = Linker::new(&engine);
//! wasmtime_global::add_to_linker(&mut linker, |ctx: &mut GlobalsCtx| ctx)?;
//! let module = Module::new(&engine, include_str!("doc/max_items.wat"))?;
//!
//! let fleet = Globals::new();
//! let (a, b) = (fleet.child(), fleet.child());
//! fleet.set_u64("MAX_ITEMS", 100)?;
//! a.set_u64("MAX_ITEMS", 5)?; // tenant a's own limit
//!
//! let mut stores = Vec::new();
//! for tenant in [&a, &b] {
//!     let mut store = Store::new(&engine, GlobalsCtx::new(tenant));
//!     let instance = linker.instantiate(&mut store, &module)?;
//!     let max_items = instance.get_typed_func::<(), i64>(&mut store, "max_items")?;
//!     stores.push((store, max_items));
//! }
//! let mut read = |i: usize| -> wasmtime::Result<i64> {
//!     let (store, max_items) = &mut stores[i];
//!     wasmtime_global::sync(&mut *store, |ctx| ctx)?;
//!     max_items.call(&mut *store, ())
//! };
//! assert_eq!((read(0)?, read(1)?), (5, 100));
//! fleet.set_u64("MAX_ITEMS", 200)?; // reaches b; a keeps its own
//! assert_eq!((read(0)?, read(1)?), (5, 200));
//! a.del("MAX_ITEMS")?; // a falls back to the fleet's value
//! assert_eq!((read(0)?, read(1)?), (200, 200));
//! # Ok::<(), wasmtime::Error>(())
//! ```
//!
//! # Guests you do not trust
//!
//! - [`Limits`], per store ([`GlobalsCtx::with_limits`]): declarations, tables, slots of one name
//!   in one table, and the host memory they hold. A declaration past one traps with
//!   [`Error::LimitExceeded`]. The defaults bound a store to 4 MiB of host memory, whatever the
//!   indexes of the slots it declares.
//! - [`Globals::set_max_host_bytes`]: what every store of a registry, and of the registries
//!   below it, may make the host hold together: per-store limits alone let 10,000 stores hold
//!   40 GiB.
//! - Tables that overlap, change capacity, or (in a shared memory) belong to another registry
//!   are refused ([`Error::TableOverlaps`], [`Error::CapacityChanged`],
//!   [`Error::TableOfAnotherRegistry`]).
//! - A store logs each refused name and each kind of trap once, then counts the rest.
//! - A name defined in a registry binds the registries below it ([`Globals::child`]); a change
//!   is never refused because of a child's guests, which keep their value
//!   ([`NameState::withheld`]).
//! - [`Globals::define`]: a name's type, and optionally a default every guest reads while nothing
//!   is set, fixed by the embedder before guests run, so that no guest declares it first with
//!   another type.
//! - [`GlobalsCtx::refusals`]: the declarations refused with `TYPE_MISMATCH`, and why. A guest only
//!   sees the status (the Rust SDK panics at the global's first read).
//! - A set of one name waits for no other name's guests (next section).
//!
//! ```
//! use wasmtime_global::{Error, Globals, GlobalsCtx, Limit, Limits, Value, ValueType};
//! # use wasmtime::{Engine, Linker, Module, Store};
//!
//! let globals = Globals::new();
//! globals.define("MAX_ITEMS", ValueType::U64, Some(Value::U64(100)))?;
//! # let engine = Engine::default();
//! # let mut linker = Linker::new(&engine);
//! # wasmtime_global::add_to_linker(&mut linker, |ctx: &mut GlobalsCtx| ctx)?;
//! # let module = Module::new(&engine, include_str!("doc/max_items.wat"))?;
//! // The guest's own default is 10; it reads the embedder's.
//! let mut store = Store::new(&engine, GlobalsCtx::with_limits(&globals, Limits::default()));
//! let instance = linker.instantiate(&mut store, &module)?;
//! let max_items = instance.get_typed_func::<(), i64>(&mut store, "max_items")?;
//! assert_eq!(max_items.call(&mut store, ())?, 100);
//!
//! // A store allowed no table at all: the guest's first declaration traps, naming the limit.
//! let none = Limits { tables: 0, ..Limits::default() };
//! let mut store = Store::new(&engine, GlobalsCtx::with_limits(&globals, none));
//! let instance = linker.instantiate(&mut store, &module)?;
//! let max_items = instance.get_typed_func::<(), i64>(&mut store, "max_items")?;
//! let trap = max_items.call(&mut store, ()).unwrap_err();
//! assert_eq!(
//!     trap.downcast_ref::<Error>(),
//!     Some(&Error::LimitExceeded { limit: Limit::Tables, max: 0 })
//! );
//! # Ok::<(), wasmtime::Error>(())
//! ```
//!
//! # What an operator sees
//!
//! - [`Globals::snapshot`]: every name the registry knows, what its guests read, the type they
//!   declared it with, and how many declarations and stores hold it; and [`Counters`] of sets,
//!   syncs, declarations, refusals and traps. A fleet lists its tenants with
//!   [`Globals::children`] and sees them all in [`Globals::snapshot_with_children`]. With the
//!   `serde` feature a [`Snapshot`] is `serde::Serialize`, to export as JSON or to a metrics
//!   system (each [`Value`] as `{"type": "U64", "value": 5}`; the form is fixed in the
//!   crate's `src/export.rs`).
//! - [`GlobalsCtx::explain`]: the error of a call into the guest that failed, with the reason
//!   of each declaration the store refused since (a [`Refusal`]), so that a guest that trapped
//!   with a bare `unreachable` at a refused global says why.
//! - [`GlobalsCtx::with_label`]: a store's name (a tenant, a request id), carried into its
//!   [`Declaration`]s, [`Refusal`]s and events.
//! - `tracing` events, with structured fields: each declaration (`debug`, target
//!   `wasmtime_global::declare`), each refused declaration with both types and each guest
//!   trapped by a declaration with the error (`warn`, same target), each set
//!   (`wasmtime_global::set`: `changed` names here, `changed_below` in the registries below) and
//!   each sync that wrote (`wasmtime_global::sync`) at `trace`.
//!
//! ```
//! use wasmtime::{Engine, Linker, Module, Store};
//! use wasmtime_global::{Globals, GlobalsCtx, ValueType};
//!
//! let engine = Engine::default();
//! let mut linker = Linker::new(&engine);
//! wasmtime_global::add_to_linker(&mut linker, |ctx: &mut GlobalsCtx| ctx)?;
//! let module = Module::new(&engine, include_str!("doc/max_items.wat"))?;
//! let globals = Globals::new();
//! let mut store = Store::new(&engine, GlobalsCtx::new(&globals).with_label("request-1"));
//! let instance = linker.instantiate(&mut store, &module)?;
//! instance.get_typed_func::<(), i64>(&mut store, "max_items")?.call(&mut store, ())?;
//! assert_eq!(store.data().declarations()[0].label.as_deref(), Some("request-1"));
//!
//! let snapshot = globals.snapshot();
//! let max_items = &snapshot.names[0];
//! assert_eq!(max_items.name, "MAX_ITEMS");
//! assert_eq!(max_items.declared_type, Some(ValueType::U64));
//! assert_eq!((max_items.declarations, max_items.stores), (1, 1));
//! assert_eq!(max_items.value, None); // nothing set: each guest reads its own default
//! drop(store); // its declaration is counted as it goes
//! assert_eq!(globals.snapshot().counters.declarations, 1);
//! # Ok::<(), wasmtime::Error>(())
//! ```
//!
//! # Synchronization
//!
//! The registry ([`Globals`]) has one lock, parking_lot's `RwLock`, released fairly by writers
//! (a thread that sets in a loop hands it to the next waiter). Every `set`, `del` and [`Batch`]
//! validates all its changes, then applies them under the write lock, records each changed name
//! with a new version number, and publishes the newest version with a release store. Its entries
//! are split into shards by name, so that no single rehash of a large registry holds the lock for
//! long, and a store that goes releases its declarations a chunk at a time.
//!
//! **Ordinary (not shared) memories.** Rust gives no way to write them from another thread while
//! the guest may run, so every write holds the store:
//!
//! 1. [`sync`] takes `&mut` of the store, so no wasm of that store runs meanwhile. It loads the
//!    published version (acquire); if it is the version the store last synced to, it returns.
//! 2. Otherwise, under the registry's read lock, it reads the names changed since and writes each
//!    slot that declared one of them with [`wasmtime::Memory::write`], which checks bounds: the
//!    value, then `changes + 1`, then each written table's `generation + 2`. A batch is applied
//!    under one write lock, so a sync sees all of it or none.
//! 3. The `declare` import runs inside a guest call, holding the store through its
//!    [`wasmtime::Caller`], and writes the value with the memory's `&mut [u8]`.
//!
//! A value is written in one 8-byte copy while no guest code of the store runs, so a guest never
//! sees half of it. Call [`sync`] before calling into the guest (or call through [`call`], which
//! does), use `sync_on_call` (feature `call-hook`) to do it on every entry into wasm, or
//! [`sync_on_epoch`] to do it at epoch deadlines while a long-running guest loops.
//!
//! **Shared memories.** The guest may run on other threads at any moment, so the host writes them
//! from the thread that calls `set`, with atomics only. It does so after releasing the registry's
//! lock, under a lock of each table's own, so that a set waits only for writes to the tables its
//! names are in (a guest that declared a name in thousands of slots slows the sets of that name,
//! no other). Two sets released in one order may reach a table in the other, so each name
//! remembers, per table, the version of the newest change written there, and each slot the
//! version of its own value: an older change is never written over a newer one.
//!
//! 1. At declaration the host copies the header, slot and name out of the memory with atomic byte
//!    loads and validates the copies; it keeps a [`wasmtime::SharedMemory`] handle (which owns the
//!    bytes, so a dropped store cannot leave a dangling write) and the validated, 8-aligned
//!    addresses of the slot's `value` and `changes` and the table's `generation`. It counts the
//!    declaration under the registry's lock, then records the slot and stores the newest value
//!    under the table's lock, so no concurrent change is lost. A table is known by its memory's
//!    base address (a shared memory never moves, and the handle keeps it alive) and its own
//!    address, in the registry, not per store: instances of several stores that import one shared
//!    memory share its tables, and each slot is written once per change however many stores
//!    declared it.
//! 2. For each table a change writes, under its lock: store `generation + 1` (relaxed), then a
//!    release fence, so the odd generation is ordered before the value stores.
//! 3. Store each value (relaxed), then `changes + 1` (release: a guest that loads the new count
//!    with acquire also sees the value).
//! 4. Store `generation + 2` (release: a guest that loads it with acquire sees every value of step
//!    3). Guests read values with relaxed atomic loads; [the ABI](wasmtime_global_abi::spec) §10.3
//!    gives their side.
//!
//! All of this crate's `unsafe` code is in the `shared` module: it turns a validated, in-bounds,
//! aligned address of a shared memory into an `AtomicU64`/`AtomicU8`, as wasmtime documents for
//! [`wasmtime::SharedMemory::data`].
//!
//! Store drop and [`wasmtime::Store::into_data`]: the store's [`GlobalsCtx`] holds only wasmtime
//! handles, so nothing dangles. Dropping the ctx releases its declarations and removes the shared
//! slots that no other store declared from the registry (a set racing with the drop writes a
//! memory the table's handle still keeps alive); a ctx taken out with `into_data` must be
//! [reset](GlobalsCtx::reset) before it serves another store: wasmtime offers no way to tell
//! which store a handle belongs to without panicking, so a ctx that still names another store's
//! memories panics inside wasmtime at its next declaration or sync.
// docs.rs (nightly) marks what each feature adds.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![deny(unsafe_code)]

/// The crate's README, whose examples run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod call;
mod claims;
#[cfg(feature = "component")]
pub mod component;
#[cfg(feature = "wasi-config")]
pub mod config;
mod ctx;
mod error;
#[cfg(feature = "serde")]
mod export;
mod generation;
mod hook;
mod limits;
mod linker;
mod literal;
mod log_budget;
mod module;
mod registry;
#[expect(
    unsafe_code,
    reason = "shared memories are only accessible through raw atomics"
)]
mod shared;
mod snapshot;
mod table;
mod ticker;
mod touch;
mod value;

pub use call::call;
#[cfg(feature = "async")]
pub use call::call_async;
pub use ctx::{Declaration, GlobalsCtx, Refusal, Stats, sync};
pub use error::{Error, Result};
#[cfg(feature = "call-hook")]
pub use hook::sync_on_call;
#[cfg(all(feature = "async", feature = "call-hook"))]
pub use hook::sync_on_call_async;
#[cfg(feature = "async")]
pub use hook::sync_on_epoch_async;
pub use hook::{MAX_EPOCH_TICKS, sync_on_epoch};
pub use limits::{Limit, Limits};
pub use linker::add_to_linker;
pub use literal::{Int, Literal, SyntaxError, TypeError};
pub use module::{KNOWN_REGISTRIES, KNOWN_SLOTS, ModuleGlobals};
pub use registry::{Batch, Globals};
pub use shared::SharedBytes;
pub use snapshot::{Counters, NameState, Snapshot};
pub use ticker::EpochTicker;
pub use value::{Definition, Value};
pub use wasmtime_global_abi as abi;
pub use wasmtime_global_abi::ValueType;
