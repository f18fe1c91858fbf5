//! Values for [`wasmtime_global::Globals`] from where users keep them.
//!
//! - `file` (feature `file`, on by default): a TOML file of globals, loaded at start and watched;
//!   every new version of the file is applied as one [batch](wasmtime_global::Globals::batch).
//!   Only a regular file of at most 1 MiB is read (no FIFO, device or directory), and with
//!   links not followed, none is after start: see [What is read](crate::file#what-is-read).
//! - `etcd` (feature `etcd`): a mirror of an etcd v3 key prefix; every etcd revision is applied as
//!   one batch.
//!
//! Both write values in one syntax, [`Literal`], specified in [`spec`] (`spec/VALUES.md` in the
//! repository), and both feed any registry, so a fleet-wide source can feed a parent registry
//! and a tenant's own source its child.
// docs.rs (nightly) marks what each feature adds.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

/// The crate's README, whose examples run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod apply;
#[doc = include_str!("../VALUES.md")]
pub mod spec {}
#[cfg(feature = "etcd")]
pub mod etcd;
#[cfg(feature = "file")]
pub mod file;
mod status;

pub use wasmtime_global::{Int, Literal, SyntaxError, TypeError};

/// The type a name's value must have now: the type the embedder defined it with, else the type
/// guests declared it with, else none.
#[must_use]
pub fn known_type(
    globals: &wasmtime_global::Globals,
    name: &str,
) -> Option<wasmtime_global::ValueType> {
    globals
        .definition(name)
        .map(|d| d.ty)
        .or_else(|| globals.declared_type(name))
}

#[cfg(any(feature = "file", feature = "etcd"))]
/// The most bytes of a name, key or message a source keeps of what it refuses: a status and its
/// log stay small whatever a file or etcd holds.
const EXCERPT: usize = 255;

/// The first [`EXCERPT`] bytes of `parts` joined, and `…` if there were more: what a source
/// keeps of a name, key or message it refuses. Reads no more of `parts` than it keeps.
#[cfg(any(feature = "file", feature = "etcd"))]
pub(crate) fn excerpt(parts: &[&str]) -> String {
    let mut kept = String::new();
    for c in parts.iter().flat_map(|part| part.chars()) {
        if kept.len() + c.len_utf8() > EXCERPT {
            kept.push('…');
            break;
        }
        kept.push(c);
    }
    kept
}
