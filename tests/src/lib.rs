//! Test support: the compiled guest programs and a harness that instantiates a guest with
//! wasmtime-global and counts every host call it makes.

use wasmtime::{CallHook, Config, Engine, Instance, Linker, Module, Store};
use wasmtime_global::{Globals, GlobalsCtx};

/// A real etcd server, and a proxy that injects faults.
pub mod etcd;
/// What a guest's build must not inherit.
pub mod guest_build;
/// The README's code blocks.
pub mod readme;

/// Paths of the guest programs in `guests/`, compiled by the build script.
pub mod guests {
    /// The test profile through the Rust SDK.
    pub const SCENARIO: &str = env!("GUEST_SCENARIO");
    /// The quick-start guest.
    pub const DEMO: &str = env!("GUEST_DEMO");
    /// Five ways to read a value, for the read benchmark.
    pub const BENCH: &str = env!("GUEST_BENCH");
    /// Reads the first `n` of 64 globals: the per-request benchmark.
    pub const REQUEST: &str = env!("GUEST_REQUEST");
    /// Declares until the table is full.
    pub const FILL: &str = env!("GUEST_FILL");
    /// A component (wasm32-wasip2) that uses the project's WIT interface (`guests/component`);
    /// empty where it could not be built, and then [`COMPONENT_SKIPPED`] says why.
    pub const COMPONENT: &str = env!("GUEST_COMPONENT");
    /// Why [`COMPONENT`], [`COMMAND_P2`] and [`COMMAND_P1`] were not built.
    pub const COMPONENT_SKIPPED: Option<&str> = option_env!("GUEST_COMPONENT_SKIPPED");
    /// A WASI command that reads globals through the Rust SDK (`guests/command`), built for
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
    /// The request benchmark's guest through the C SDK (`guests/c/request.c`).
    pub const C_REQUEST: &str = env!("GUEST_C_REQUEST");
    /// Why the C guests were not built.
    pub const C_SKIPPED: Option<&str> = option_env!("GUEST_C_SKIPPED");
    /// The conformance profile through the Go SDK (`guests/go/conformance`), a wasip1 reactor;
    /// empty where Go could not build it, and then [`GO_SKIPPED`] says why.
    pub const GO_CONFORMANCE: &str = env!("GUEST_GO_CONFORMANCE");
    /// wazero-global's test module on the Go SDK (`guests/go/seed`).
    pub const GO_SEED: &str = env!("GUEST_GO_SEED");
    /// The read benchmark's Go guest (`guests/go/bench`).
    pub const GO_BENCH: &str = env!("GUEST_GO_BENCH");
    /// The request benchmark's Go guest (`guests/go/request`), a wasip1 reactor.
    pub const GO_REQUEST: &str = env!("GUEST_GO_REQUEST");
    /// The `go` command that built them.
    pub const GO_BIN: &str = env!("GUEST_GO_BIN");
    /// Why the Go guests were not built.
    pub const GO_SKIPPED: Option<&str> = option_env!("GUEST_GO_SKIPPED");
}

/// A store's data in the tests.
#[derive(Debug)]
pub struct Host {
    /// The wasmtime-global state.
    pub globals: GlobalsCtx,
    /// Calls from wasm into any host function, counted by a call hook.
    pub host_calls: u64,
}

/// An engine with default settings and shared memories enabled.
pub fn engine() -> Engine {
    let mut config = Config::new();
    config.shared_memory(true);
    Engine::new(&config).expect("the config is valid")
}

/// A linker with the wasmtime-global imports.
pub fn linker(engine: &Engine) -> wasmtime::Result<Linker<Host>> {
    let mut linker = Linker::new(engine);
    wasmtime_global::add_to_linker(&mut linker, |host: &mut Host| &mut host.globals)?;
    Ok(linker)
}

/// A store whose call hook counts every call from wasm into the host (and every runtime callback,
/// such as an epoch deadline, that wasmtime reports as one).
pub fn store(engine: &Engine, globals: &Globals) -> Store<Host> {
    let mut store = Store::new(
        engine,
        Host {
            globals: GlobalsCtx::new(globals),
            host_calls: 0,
        },
    );
    // On engines with epoch interruption, allow start functions to run; tests that rely on a
    // deadline set their own.
    store.set_epoch_deadline(1_000_000);
    store.call_hook(|mut cx, hook| {
        if matches!(hook, CallHook::CallingHost) {
            cx.data_mut().host_calls += 1;
        }
        Ok(())
    });
    store
}

/// An instance of a guest that follows the test profile (`init`, `get`, `sum`).
pub struct Guest {
    /// Its store.
    pub store: Store<Host>,
    /// The instance.
    pub instance: Instance,
}

impl std::fmt::Debug for Guest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guest")
            .field("host", self.store.data())
            .finish()
    }
}

impl Guest {
    /// Instantiates `module` in a new store of `engine`, taking values from `globals`.
    pub fn new(engine: &Engine, module: &Module, globals: &Globals) -> wasmtime::Result<Guest> {
        let mut store = store(engine, globals);
        let instance = linker(engine)?.instantiate(&mut store, module)?;
        Ok(Guest { store, instance })
    }

    /// Calls the export `name` with `params`.
    pub fn call<P, R>(&mut self, name: &str, params: P) -> wasmtime::Result<R>
    where
        P: wasmtime::WasmParams,
        R: wasmtime::WasmResults,
    {
        let func = self
            .instance
            .get_typed_func::<P, R>(&mut self.store, name)?;
        func.call(&mut self.store, params)
    }

    /// `init()`: declares the profile's globals.
    pub fn init(&mut self) -> wasmtime::Result<()> {
        self.call("init", ())
    }

    /// Syncs the store, then `get(i)`: global `i` as 64 bits.
    pub fn get(&mut self, i: i32) -> wasmtime::Result<u64> {
        wasmtime_global::sync(&mut self.store, |h| &mut h.globals)?;
        Ok(self.call::<i32, i64>("get", i)? as u64)
    }

    /// `sum(i, n)`: reads global `i` `n` times inside the guest.
    pub fn sum(&mut self, i: i32, n: i32) -> wasmtime::Result<u64> {
        Ok(self.call::<(i32, i32), i64>("sum", (i, n))? as u64)
    }

    /// Host calls so far.
    pub fn host_calls(&self) -> u64 {
        self.store.data().host_calls
    }
}

/// The wasi-threads shape: instances of `tests/all/wat/shared.wat` in `stores` stores, all
/// importing one shared memory (which is returned too).
pub fn shared_by_stores(
    stores: usize,
    globals: &Globals,
) -> wasmtime::Result<(Vec<Guest>, wasmtime::SharedMemory)> {
    let wat = include_str!("../all/wat/shared.wat").replace(
        r#"(memory (export "memory") 1 1 shared)"#,
        r#"(import "env" "memory" (memory 1 1 shared)) (export "memory" (memory 0))"#,
    );
    let engine = engine();
    let module = Module::new(&engine, &wat)?;
    let memory = wasmtime::SharedMemory::new(&engine, wasmtime::MemoryType::shared(1, 1))?;
    let mut guests = Vec::new();
    for _ in 0..stores {
        let mut store = store(&engine, globals);
        let mut linker = linker(&engine)?;
        linker.define(&store, "env", "memory", memory.clone())?;
        let instance = linker.instantiate(&mut store, &module)?;
        guests.push(Guest { store, instance });
    }
    Ok((guests, memory))
}

/// The profile's globals: name, type tag, default bits.
pub const PROFILE: [(&str, wasmtime_global::ValueType, u64); 5] = {
    use wasmtime_global::ValueType::*;
    [
        ("TEST_BOOL", Bool, 1),
        ("TEST_UINT64", U64, 42),
        ("TEST_DURATION", Duration, 60_000_000_000),
        ("TEST_INT64", I64, -7i64 as u64),
        ("TEST_FLOAT64", F64, 0x3FF8_0000_0000_0000),
    ]
};
