//! Tells a guest SDK, or a guest, whether it follows the wasmtime-global ABI
//! ([the ABI](wasmtime_global_abi::spec)), by driving a guest that implements the conformance
//! profile ([the conformance profile](wasmtime_global_abi::spec::conformance)) through the
//! `wasmtime-global` host.
//!
//! From Rust:
//!
//! ```no_run
//! let guest = wasmtime_global_conformance::Guest::from_file("guest.wasm")?;
//! let report = wasmtime_global_conformance::run(&guest);
//! print!("{report}");
//! assert!(report.passed());
//! # Ok::<(), wasmtime_global_conformance::Error>(())
//! ```
//!
//! [`REFERENCE_WAT`] is a guest that passes every check: a model for SDK authors, and what the
//! runner's own tests mutate to show each check can fail.
//!
//! From a shell: `wasmtime-global conformance guest.wasm` (exits 1 if a check fails), and
//! `wasmtime-global inspect guest.wasm` to list what any guest declares.

/// The crate's README, whose examples run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod checks;
mod failure;
mod inspect;
pub mod profile;
mod script;

/// The reference guest of the conformance profile, in WebAssembly text (`spec/reference/` in the
/// repository): the profile written out by hand against the ABI, with no SDK. It passes every
/// check.
///
/// ```
/// let guest = wasmtime_global_conformance::Guest::new(wasmtime_global_conformance::REFERENCE_WAT.as_bytes())?;
/// assert!(wasmtime_global_conformance::run(&guest).passed());
/// # Ok::<(), wasmtime_global_conformance::Error>(())
/// ```
pub const REFERENCE_WAT: &str = include_str!("reference.wat");

pub use checks::{CHECKS, Check, Outcome, Report, run};
pub use inspect::{Inspection, inspect};

use std::path::Path;
use wasmtime::{
    CallHook, Config, Engine, Extern, ExternType, Instance, Linker, Memory, Module, SharedMemory,
    Store,
};
use wasmtime_global::SharedBytes;
use wasmtime_global::{Globals, GlobalsCtx, Limits};
use wasmtime_global_abi::validate::GuestBytes;
use wasmtime_wasi::p1::WasiP1Ctx;

/// Why a guest could not be loaded or run at all (a failed check is not an error: see
/// [`Report`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("not a valid WebAssembly module: {0:#}")]
    Compile(wasmtime::Error),
    #[error("cannot instantiate the guest: {0:#}")]
    Instantiate(wasmtime::Error),
    #[error("the guest's initialisation ({export}) failed: {}{source:#}", id_prefix(.source))]
    Initialise {
        export: String,
        source: wasmtime::Error,
    },
    #[error("the guest has no export {0:?} to call")]
    NoSuchExport(String),
    #[error("the guest's export {name:?} is {found}, not a function of type () -> ()")]
    ExportType { name: String, found: String },
}

/// `"<identifier>: "` if `error` is a trap of the host's with an identifier (ABI §7.6), so
/// that the runner's output names the rule a guest broke as every host names it.
fn id_prefix(error: &wasmtime::Error) -> String {
    error
        .downcast_ref::<wasmtime_global::Error>()
        .and_then(wasmtime_global::Error::id)
        .map(|id| format!("{id}: "))
        .unwrap_or_default()
}

/// The WASI preview 1 import module.
const WASI_P1: &str = "wasi_snapshot_preview1";

/// A compiled guest module, ready to be instantiated as often as the checks need.
#[derive(Debug)]
pub struct Guest {
    engine: Engine,
    module: Module,
}

impl Guest {
    /// Compiles the guest at `path` (binary or text format).
    ///
    /// # Errors
    ///
    /// [`Error::Read`] or [`Error::Compile`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Guest, Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::Read {
            path: path.display().to_string(),
            source,
        })?;
        Guest::new(&bytes)
    }

    /// Compiles a guest from its bytes (binary or text format).
    ///
    /// # Errors
    ///
    /// [`Error::Compile`].
    pub fn new(bytes: &[u8]) -> Result<Guest, Error> {
        let compile = |moving: bool| -> Result<Guest, Error> {
            let mut config = Config::new();
            config.shared_memory(true);
            if moving {
                // No reservation beyond a memory's size and no room to grow in place: every
                // growth of an ordinary memory moves it, which the `memory-grow` check relies
                // on.
                config
                    .memory_reservation(0)
                    .memory_reservation_for_growth(0)
                    .memory_may_move(true);
            }
            let engine = Engine::new(&config).map_err(Error::Compile)?;
            let module = Module::new(&engine, bytes).map_err(Error::Compile)?;
            Ok(Guest { engine, module })
        };
        // An ordinary memory (the usual case) is compiled once. A shared memory never moves
        // (wasmtime reserves its maximum) and cannot grow at all without that reservation: a
        // guest that has one is compiled again with the default configuration.
        let guest = compile(true)?;
        if guest.shared_memory() {
            compile(false)
        } else {
            Ok(guest)
        }
    }

    /// The ABI version the guest speaks, by the module it imports the ABI's functions from: 3
    /// for `wasmtime_global_v3`, 2 for `wasmtime_global_v2` (3 if it imports from both), `None`
    /// if neither.
    #[must_use]
    pub fn abi_version(&self) -> Option<u32> {
        let imports = |module: &str| self.module.imports().any(|i| i.module() == module);
        if imports(wasmtime_global_abi::IMPORT_MODULE) {
            Some(wasmtime_global_abi::VERSION)
        } else if imports(wasmtime_global_abi::IMPORT_MODULE_V2) {
            Some(wasmtime_global_abi::VERSION_2)
        } else {
            None
        }
    }

    /// Whether the guest imports WASI preview 1 (it is then given a WASI context that inherits
    /// nothing: no arguments, environment, files or standard streams).
    #[must_use]
    pub fn uses_wasi(&self) -> bool {
        self.module.imports().any(|i| i.module() == WASI_P1)
    }

    /// Whether the guest's memory is shared (its own, or imported: shared memories are the only
    /// memories a guest under test may import, and the runner provides one).
    #[must_use]
    pub fn shared_memory(&self) -> bool {
        let memory = |ty: ExternType| matches!(ty, ExternType::Memory(m) if m.is_shared());
        self.module.exports().any(|e| memory(e.ty()))
            || self.module.imports().any(|i| memory(i.ty()))
    }

    /// The module's exports, by name.
    fn export(&self, name: &str) -> Option<ExternType> {
        self.module.get_export(name)
    }

    /// Defines what the guest imports beyond the globals and WASI: a shared memory of the type it
    /// asks for, and, for any other function, one that traps and names it.
    fn define_imports(
        &self,
        linker: &mut Linker<StoreData>,
        store: &mut Store<StoreData>,
    ) -> Result<(), Error> {
        // An imported shared memory is provided with the type the guest asks for.
        for import in self.module.imports() {
            if let ExternType::Memory(ty) = import.ty()
                && ty.is_shared()
            {
                let memory = SharedMemory::new(&self.engine, ty).map_err(Error::Instantiate)?;
                linker
                    .define(&*store, import.module(), import.name(), memory)
                    .map_err(Error::Instantiate)?;
            }
        }
        // Any other function import traps with an error that names it and its arguments, so
        // that a guest's own abort or panic hook (AssemblyScript's `env.abort`, say) is reported.
        for import in self.module.imports() {
            if let ExternType::Func(ty) = import.ty()
                && linker.get_by_import(&mut *store, &import).is_none()
            {
                let what = format!("{}.{}", import.module(), import.name());
                linker
                    .func_new(import.module(), import.name(), ty, move |_, args, _| {
                        Err(wasmtime::format_err!(
                            "the guest called {what}{args:?}, an import the runner does not provide"
                        ))
                    })
                    .map_err(Error::Instantiate)?;
            }
        }
        Ok(())
    }

    /// A new store and instance, with the guest's `_initialize` run if it has one.
    fn instantiate(&self, globals: &Globals) -> Result<Running, Error> {
        let mut linker: Linker<StoreData> = Linker::new(&self.engine);
        wasmtime_global::add_to_linker(&mut linker, |s: &mut StoreData| &mut s.globals)
            .map_err(Error::Instantiate)?;
        if self.uses_wasi() {
            wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s: &mut StoreData| {
                s.wasi
                    .get_or_insert_with(|| wasmtime_wasi::WasiCtxBuilder::new().build_p1())
            })
            .map_err(Error::Instantiate)?;
        }
        let mut store = Store::new(
            &self.engine,
            StoreData {
                // The guest under test is trusted: `wgc_fill` may declare one name in every
                // slot, past the default limit of slots of one name in a table.
                globals: GlobalsCtx::with_limits(globals, Limits::UNLIMITED),
                wasi: None,
                host_calls: 0,
            },
        );
        store.call_hook(|mut cx, hook| {
            if matches!(hook, CallHook::CallingHost) {
                cx.data_mut().host_calls += 1;
            }
            Ok(())
        });
        self.define_imports(&mut linker, &mut store)?;
        let instance = linker
            .instantiate(&mut store, &self.module)
            .map_err(Error::Instantiate)?;
        let mut running = Running { store, instance };
        if self.export("_initialize").is_some() {
            running.call("_initialize")?;
        }
        Ok(running)
    }
}

/// What the export `name` of `instance` is, in words: `a function (i32) -> (i64)`, `a memory`.
fn describe(instance: &Instance, store: &mut Store<StoreData>, name: &str) -> String {
    match instance.get_export(&mut *store, name) {
        Some(wasmtime::Extern::Func(f)) => {
            let ty = f.ty(&*store);
            let list = |types: Vec<String>| types.join(", ");
            format!(
                "a function ({}) -> ({})",
                list(ty.params().map(|t| t.to_string()).collect()),
                list(ty.results().map(|t| t.to_string()).collect())
            )
        }
        Some(wasmtime::Extern::Memory(_) | wasmtime::Extern::SharedMemory(_)) => "a memory".into(),
        Some(wasmtime::Extern::Global(_)) => "a global".into(),
        Some(wasmtime::Extern::Table(_)) => "a table".into(),
        Some(_) => "not a function".into(),
        None => "missing".into(),
    }
}

/// A store's data.
struct StoreData {
    globals: GlobalsCtx,
    wasi: Option<WasiP1Ctx>,
    /// Calls from wasm into the host, counted by a call hook.
    host_calls: u64,
}

/// An instance of the guest, in its own store.
struct Running {
    store: Store<StoreData>,
    instance: Instance,
}

impl Running {
    /// Calls the export `name` of type `() -> ()`.
    fn call(&mut self, name: &str) -> Result<(), Error> {
        let Some(export) = self.instance.get_export(&mut self.store, name) else {
            return Err(Error::NoSuchExport(name.to_owned()));
        };
        let func = export
            .into_func()
            .and_then(|f| f.typed::<(), ()>(&self.store).ok())
            .ok_or_else(|| Error::ExportType {
                name: name.to_owned(),
                found: describe(&self.instance, &mut self.store, name),
            })?;
        match func.call(&mut self.store, ()) {
            Ok(()) => Ok(()),
            // A WASI command that exits with status 0 has initialised.
            Err(e)
                if e.downcast_ref::<wasmtime_wasi::I32Exit>()
                    .is_some_and(|x| x.0 == 0) =>
            {
                Ok(())
            }
            Err(source) => Err(Error::Initialise {
                export: name.to_owned(),
                source,
            }),
        }
    }

    /// Brings the guest's ordinary memory up to date with the registry.
    fn sync(&mut self) -> wasmtime::Result<()> {
        wasmtime_global::sync(&mut self.store, |s| &mut s.globals)?;
        Ok(())
    }

    fn memory(&mut self) -> Option<GuestMemory> {
        match self
            .instance
            .get_export(&mut self.store, wasmtime_global_abi::MEMORY_EXPORT)?
        {
            Extern::Memory(m) => Some(GuestMemory::Plain(m)),
            Extern::SharedMemory(m) => Some(GuestMemory::Shared(m)),
            _ => None,
        }
    }

    /// Runs `f` over the guest's memory as it is now (empty if it exports none).
    fn with_bytes<R>(&mut self, f: impl FnOnce(&dyn GuestBytes) -> R) -> R {
        match self.memory() {
            Some(GuestMemory::Plain(m)) => f(&m.data(&self.store)),
            Some(GuestMemory::Shared(m)) => f(&SharedBytes::new(&m)),
            None => f(&&[][..]),
        }
    }

    /// The base address of the guest's memory in the host, now.
    fn base(&mut self) -> usize {
        match self.memory() {
            Some(GuestMemory::Plain(m)) => m.data_ptr(&self.store) as usize,
            Some(GuestMemory::Shared(m)) => m.data().as_ptr() as usize,
            None => 0,
        }
    }

    /// Grows the guest's memory by `pages`; the old size in pages.
    fn grow(&mut self, pages: u64) -> wasmtime::Result<u64> {
        match self.memory() {
            Some(GuestMemory::Plain(m)) => m.grow(&mut self.store, pages),
            Some(GuestMemory::Shared(m)) => m.grow(pages),
            None => Err(wasmtime::Error::msg("the guest exports no memory")),
        }
    }
}

enum GuestMemory {
    Plain(Memory),
    Shared(SharedMemory),
}
