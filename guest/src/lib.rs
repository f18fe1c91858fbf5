//! Guest SDK of wasmtime-global: globals the host can change, read with one load.
//!
//! ```no_run
//! use wasmtime_global_guest::{Bool, Duration, U64};
//!
//! static TEST_BOOL: Bool = Bool::new("TEST_BOOL", true);
//! static TEST_UINT64: U64 = U64::new("TEST_UINT64", 42);
//! static TEST_DURATION: Duration =
//!     Duration::new("TEST_DURATION", core::time::Duration::from_secs(60));
//!
//! #[unsafe(no_mangle)]
//! pub extern "C" fn test() -> u64 {
//!     if TEST_BOOL.get() { TEST_UINT64.get() } else { TEST_DURATION.get().as_secs() }
//! }
//! ```
//!
//! A global is declared to the host the first time it is read (or by [`Global::declare`]); from
//! then on [`Global::get`] is one check of a pointer and one volatile 64-bit load from the table
//! in this module's memory, which the host writes. No host call, no lock, no hashing.
//!
//! A module instantiated per request, whose globals are declared again in every instance, should
//! declare them with one host call: make them with [`table!`], a table filled in at compile time
//! whose first read declares it whole, or call [`declare_all!`]`(TEST_BOOL, TEST_UINT64)`
//! ([`declare_all()`]) first thing.
//!
//! The table has room for [`CAPACITY`] globals, set at build time by the environment variable
//! `WASMTIME_GLOBAL_CAPACITY` (1 to 65536, default 64). Every declaration takes a slot for the
//! life of the instance, so create run-time globals once, not in a loop.
//!
//! On targets other than `wasm32` there is no host: declaring succeeds and every global reads its
//! default, so guest code can be unit-tested natively.
//!
//! # Components (wasm32-wasip2)
//!
//! The same source builds for `wasm32-wasip2`, as a component. A component cannot share its
//! memory with the host, so there the SDK goes through the project's WIT interface
//! (`wasmtime-global:globals`, `spec/COMPONENTS.md`): a global is declared at its first read, as
//! here, and each [`Global::get`] is one host call through its handle, live (no sync: a change
//! is seen by the next read). [`consistent`] retries on the host's version of its values.
//! [`Global::changes`] is a host call there, counting the host's looks that found the name
//! changed. Not there: [`table!`]; and [`declare_all()`] declares one global a call. The
//! host serves the interface with `wasmtime_global::component::add_to_linker` (feature
//! `component`).
#![no_std]
#![deny(missing_docs)]
// In a component the table, its slots and the raw ABI are not used: reads go through the WIT
// interface (`component.rs`).
#![cfg_attr(component, allow(dead_code, unused_imports))]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

/// The crate's README, whose examples run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

#[cfg(component)]
mod component;
#[cfg(not(component))]
#[doc(hidden)]
pub mod fixed;
mod global;
mod refusal;
mod sys;
mod table;

#[cfg(not(component))]
pub use fixed::{Fixed, StaticSlot, StaticTable, TableState, duration_bits};
pub use global::{Bool, Declarable, Duration, F64, Global, I64, U64, Uint64, declare_all};
pub use global::{new_bool, new_duration, new_f64, new_i64, new_uint64};
pub use table::{CAPACITY, DeclareError, consistent, declared};
pub use wasmtime_global_abi::{NameError, ValueType};
