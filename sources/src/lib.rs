//! Values for [`wasmtime_global::Globals`] from where users keep them.
//!
//! - [`file`]: a TOML file of globals, loaded at start and watched; every new version of the
//!   file is applied as one [batch](wasmtime_global::Globals::batch).
//! - `etcd` (feature `etcd`): a mirror of an etcd v3 key prefix; every etcd revision is applied
//!   as one batch.
//!
//! Both write values in one syntax, [`Literal`] (`spec/VALUES.md`), and both feed any registry,
//! so a fleet-wide source can feed a parent registry and a tenant's own source its child.
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod apply;
#[cfg(feature = "etcd")]
pub mod etcd;
#[cfg(feature = "file")]
pub mod file;
mod status;
mod syntax;

pub use syntax::{Literal, SyntaxError, TypeError, known_type};
