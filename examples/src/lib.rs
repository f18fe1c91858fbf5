//! Examples of wasmtime-global: see `examples/`.
