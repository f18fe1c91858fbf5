//! Where the guest programs of `test-programs/` are once built (`env!("GUEST_<NAME>")`, set by
//! the build script), and why any were not. With the default feature `all`, every guest; without
//! it, the demo's guest alone (the examples crate: a newcomer's first command builds one guest).

/// What a guest's build must not inherit from the host's build.
pub mod guest_build;

/// Paths of the guest programs in `test-programs/`, compiled by the build script.
pub mod guests {
    /// The quick-start guest.
    pub const DEMO: &str = env!("GUEST_DEMO");

    #[cfg(feature = "all")]
    pub use self::all::*;

    /// The guests of the tests and benches (feature `all`).
    #[cfg(feature = "all")]
    mod all {
        /// The test profile through the Rust SDK.
        pub const SCENARIO: &str = env!("GUEST_SCENARIO");
        /// Five ways to read a value, for the read benchmark.
        pub const BENCH: &str = env!("GUEST_BENCH");
        /// Reads the first `n` of 64 globals: the per-request benchmark.
        pub const REQUEST: &str = env!("GUEST_REQUEST");
        /// Declares until the table is full.
        pub const FILL: &str = env!("GUEST_FILL");
        /// A component (wasm32-wasip2) that uses the project's WIT interface (`test-programs/component`);
        /// empty where it could not be built, and then [`COMPONENT_SKIPPED`] says why.
        pub const COMPONENT: &str = env!("GUEST_COMPONENT");
        /// Why [`COMPONENT`], [`COMMAND_P2`] and [`COMMAND_P1`] were not built.
        pub const COMPONENT_SKIPPED: Option<&str> = option_env!("GUEST_COMPONENT_SKIPPED");
        /// A WASI command that reads globals through the Rust SDK (`test-programs/command`), built for
        /// wasm32-wasip2: a component.
        pub const COMMAND_P2: &str = env!("GUEST_COMMAND_P2");
        /// The same source built for wasm32-wasip1: a core module.
        pub const COMMAND_P1: &str = env!("GUEST_COMMAND_P1");
        /// The scenario guest built with nightly, `+atomics` and a shared memory; empty where it
        /// could not be built, and then [`SCENARIO_ATOMICS_SKIPPED`] says why.
        pub const SCENARIO_ATOMICS: &str = env!("GUEST_SCENARIO_ATOMICS");
        /// Why [`SCENARIO_ATOMICS`] was not built.
        pub const SCENARIO_ATOMICS_SKIPPED: Option<&str> =
            option_env!("GUEST_SCENARIO_ATOMICS_SKIPPED");
        /// The same, built with `WASMTIME_GLOBAL_CAPACITY=3`.
        pub const FILL_CAPACITY_3: &str = env!("GUEST_FILL_CAPACITY_3");
        /// The conformance profile through the Rust SDK.
        pub const CONFORMANCE: &str = env!("GUEST_CONFORMANCE");
        /// The same with atomics and a shared memory; empty when [`SCENARIO_ATOMICS`] is.
        pub const CONFORMANCE_ATOMICS: &str = env!("GUEST_CONFORMANCE_ATOMICS");
        /// The conformance profile through the C SDK; empty where clang could not build it, and
        /// then [`C_SKIPPED`] says why.
        pub const C_CONFORMANCE: &str = env!("GUEST_C_CONFORMANCE");
        /// The same with atomics and a shared memory.
        pub const C_CONFORMANCE_SHARED: &str = env!("GUEST_C_CONFORMANCE_SHARED");
        /// The C SDK's hash and name check as exports (`input`, `hash`, `valid_name`).
        pub const C_VECTORS: &str = env!("GUEST_C_VECTORS");
        /// The request benchmark's guest through the C SDK (`test-programs/c/request.c`).
        pub const C_REQUEST: &str = env!("GUEST_C_REQUEST");
        /// The C compiler that built them: clang, or `zig` where `WASMTIME_GLOBAL_ZIG` names it.
        pub const C_CC: &str = env!("GUEST_C_CC");
        /// What it takes before the flags, space-separated (`cc`, the target).
        pub const C_CC_LEADING: &str = env!("GUEST_C_CC_LEADING");
        /// Why the C guests were not built.
        pub const C_SKIPPED: Option<&str> = option_env!("GUEST_C_SKIPPED");
        /// The conformance profile through the Go SDK (`test-programs/go/conformance`), a wasip1 reactor;
        /// empty where Go could not build it, and then [`GO_SKIPPED`] says why.
        pub const GO_CONFORMANCE: &str = env!("GUEST_GO_CONFORMANCE");
        /// wazero-global's test module on the Go SDK (`test-programs/go/seed`).
        pub const GO_SEED: &str = env!("GUEST_GO_SEED");
        /// The read benchmark's Go guest (`test-programs/go/bench`).
        pub const GO_BENCH: &str = env!("GUEST_GO_BENCH");
        /// The request benchmark's Go guest (`test-programs/go/request`), a wasip1 reactor.
        pub const GO_REQUEST: &str = env!("GUEST_GO_REQUEST");
        /// The `go` command that built them.
        pub const GO_BIN: &str = env!("GUEST_GO_BIN");
        /// Why the Go guests were not built.
        pub const GO_SKIPPED: Option<&str> = option_env!("GUEST_GO_SKIPPED");
    }
}
