//! The guest harness: an engine, a linker and a store whose call hook counts host calls, and a
//! guest of the test profile (`init`, `get`, `sum`) in its own store.

use wasmtime::{CallHook, Config, Engine, Instance, Linker, Module, Store};
use wasmtime_global::{Globals, GlobalsCtx};

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

    /// [`Guest::new`], then [`Guest::init`]: a guest whose globals are declared.
    pub fn started(engine: &Engine, module: &Module, globals: &Globals) -> wasmtime::Result<Guest> {
        let mut guest = Guest::new(engine, module, globals)?;
        guest.init()?;
        Ok(guest)
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
    let wat = include_str!("../../tests/all/wat/shared.wat").replace(
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
