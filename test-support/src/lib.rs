//! Test support shared by the workspace's tests and benches: a harness that instantiates a
//! guest with wasmtime-global and counts every host call it makes (feature `harness`, the
//! default), the benchmarks' timing harness, a real etcd server, a `tracing` recorder, and for build scripts the probe that
//! says whether etcd runs here. Not published: a published crate's tests that use it are left
//! out of its package.

/// A timing harness for the benchmarks: medians, spreads and ratios from one run.
pub mod bench;
/// A real etcd server, and a proxy that injects faults.
pub mod etcd;
/// For build scripts: whether etcd runs here.
pub mod etcd_probe;
/// A `tracing` subscriber that records every event.
pub mod recorder;

#[cfg(feature = "harness")]
mod harness;
#[cfg(feature = "harness")]
pub use harness::*;
