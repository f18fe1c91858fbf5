//! End-to-end tests of wasmtime-global: one binary, a module per topic.

mod asynchronous;
mod components;
mod conformance;
mod etcd;
mod go;
mod identity;
mod kit;
mod known;
mod limits;
mod live;
mod malformed;
mod malformed_vectors;
mod owned;
mod readme;
mod registry;
mod scenarios;
mod scopes;
mod spec;
mod stores;
mod stress;
mod values;
mod vectors;

use wasmtime::Module;
use wasmtime_global_test_artifacts::guests;
use wasmtime_global_test_support::engine;

/// The two guests that follow the test profile: the Rust SDK's and the WAT one written from the
/// spec alone.
fn profile_guests(engine: &wasmtime::Engine) -> wasmtime::Result<Vec<(&'static str, Module)>> {
    Ok(vec![
        ("rust-sdk", Module::from_file(engine, guests::SCENARIO)?),
        (
            "wat",
            Module::new(engine, include_str!("wat/scenario.wat"))?,
        ),
    ])
}

#[test]
fn guests_build() -> wasmtime::Result<()> {
    let engine = engine();
    assert_eq!(profile_guests(&engine)?.len(), 2);
    Ok(())
}
