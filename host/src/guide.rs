//! Guides to embedding wasmtime-global: one module for each kind of host, and how the host and
//! its guests synchronize. Each is documentation only; its examples run as doc tests.

// What the guides' links name, in their scope.
#[allow(unused_imports)]
use crate::*;

#[doc = include_str!("guide/components.md")]
pub mod components {}

#[doc = include_str!("guide/async_stores.md")]
pub mod async_stores {}

#[doc = include_str!("guide/per_request.md")]
pub mod per_request {}

#[doc = include_str!("guide/wasi.md")]
pub mod wasi {}

#[doc = include_str!("guide/tenants.md")]
pub mod tenants {}

#[doc = include_str!("guide/untrusted.md")]
pub mod untrusted {}

#[doc = include_str!("guide/operators.md")]
pub mod operators {}

#[doc = include_str!("guide/synchronization.md")]
pub mod synchronization {}
