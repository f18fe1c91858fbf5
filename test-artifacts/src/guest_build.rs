//! What a build of a guest must not inherit from the host's build. Shared with the build script,
//! which builds the guests in `test-programs/`, and with the test that builds the README's guest.

/// Flags and wrappers meant for the host build (clippy, coverage, sanitizers, the capacity) that
/// must not reach a guest's build: remove them from its environment.
pub const HOST_BUILD_VARS: &[&str] = &[
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "RUSTC_WORKSPACE_WRAPPER",
    "RUSTC_WRAPPER",
    "CARGO_BUILD_TARGET",
    "CARGO_TARGET_DIR",
    "CARGO_MAKEFLAGS",
    "WASMTIME_GLOBAL_CAPACITY",
];
