//! `wasi:config/store` for components, served live from a registry (feature `wasi-config`).
//!
//! A component cannot share its memory with the host, so it reads each value with a host call.
//! This serves the standard interface (`wasi:config/store@0.2.0-rc.1`, the version wasmtime's
//! own `wasmtime-wasi-config` serves), so a component written against it reads this crate's
//! registry unchanged: `get(key)` returns what a guest that declares `key` would read now (the
//! value set in the store's registry, else its parent's, else the defined default) as value
//! text ([`Value::text`]: `spec/VALUES.md` §2), or `none`; `get-all` every name that has one.
//! Unlike `wasmtime-wasi-config`, whose values are fixed when the store is made, every call
//! reads the registry as it is then: a `set` on any thread is seen by the next `get`, a batch
//! whole, and a `del` gives `none` back (the component's own default, in its own code).
//! Nothing is declared, so nothing is typed: a name has the type its core-module guests or the
//! embedder gave it, and a component reads its text.
//!
//! ```
//! use wasmtime::component::Linker;
//! use wasmtime::{Engine, Store};
//! use wasmtime_global::{Globals, GlobalsCtx};
//!
//! let engine = Engine::default();
//! let mut linker: Linker<GlobalsCtx> = Linker::new(&engine);
//! wasmtime_global::config::add_to_linker(&mut linker, |ctx| ctx)?;
//! let globals = Globals::new();
//! let store = Store::new(&engine, GlobalsCtx::new(&globals));
//! # Ok::<(), wasmtime::Error>(())
//! ```

use crate::{GlobalsCtx, Value};
use wasmtime::component::{HasData, Linker};

mod bindings {
    wasmtime::component::bindgen!({
        path: "wit/config.wit",
        world: "wasi:config/imports",
        imports: { default: trappable },
    });
}

use bindings::wasi::config::store;

/// Adds `wasi:config/store` to a component linker, served from the registry of the store's
/// [`GlobalsCtx`] (found with `get`, as [`add_to_linker`](crate::add_to_linker) does for core
/// modules). Its functions never block, so they serve sync and async stores alike.
///
/// # Errors
///
/// If the linker already defines `wasi:config/store@0.2.0-rc.1` (as
/// `wasmtime_wasi_config::add_to_linker` does): a linker serves one of the two.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut GlobalsCtx,
) -> wasmtime::Result<()> {
    store::add_to_linker::<T, Served>(linker, get)
}

/// What the generated `add_to_linker` hands its functions: the store's ctx.
struct Served;

impl HasData for Served {
    type Data<'a> = &'a mut GlobalsCtx;
}

impl store::Host for GlobalsCtx {
    fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<String>, store::Error>> {
        Ok(Ok(self.globals().current(&key).map(Value::text)))
    }

    fn get_all(&mut self) -> wasmtime::Result<Result<Vec<(String, String)>, store::Error>> {
        let names = self.globals().snapshot().names;
        Ok(Ok(names
            .into_iter()
            .filter_map(|n| Some((n.name, n.value?.text())))
            .collect()))
    }
}
