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
//! # Guides
//!
//! The [`guide`] modules say how to embed it for each kind of host, with examples that run:
//!
//! - [`guide::per_request`]: an instance per request, with the pooling allocator.
//! - [`guide::async_stores`]: stores with async support, and epoch-driven syncs.
//! - [`guide::wasi`]: WASI preview 1 guests.
//! - [`guide::components`]: components (WASI preview 2), through `wasi:config` or the WIT interface.
//! - [`guide::tenants`]: per-tenant registries, children of a fleet's.
//! - [`guide::untrusted`]: guests you do not trust: limits, refusals, what a trap says.
//! - [`guide::operators`]: what an operator sees: snapshots, counters, logs.
//! - [`guide::synchronization`]: how the host writes values, for ordinary and shared memories.
//!
//! `ARCHITECTURE.md`, in the repository, draws the crate's insides.
// docs.rs (nightly) marks what each feature adds.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![deny(unsafe_code)]

/// The crate's README, whose examples run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The embedder's API is this crate's own items: a table's validation is the spec's, in the abi
/// crate, and is not reached through this one.
///
/// ```compile_fail,E0432
/// use wasmtime_global::abi::validate::read_header;
/// ```
///
/// The abi's types that this crate's items use are here, as the abi crate's:
///
/// ```
/// let _: Option<wasmtime_global::ValueType> = wasmtime_global_abi::ValueType::from_tag(1);
/// ```
#[cfg(doctest)]
struct EmbedderApi;

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
pub mod guide;
mod hook;
mod limits;
mod linker;
mod literal;
mod log_budget;
mod module;
mod ptr_hasher;
mod registry;
#[expect(
    unsafe_code,
    reason = "shared memories are only accessible through raw atomics"
)]
mod shared;
mod snapshot;
mod store_names;
mod ticker;
mod touch;
mod validate;
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
pub use wasmtime_global_abi::{ErrorId, NameError, ValueType};
