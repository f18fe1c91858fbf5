//! Syncing on every entry into wasm, with a wasmtime call hook (the `call-hook` feature).

use crate::{GlobalsCtx, sync};
use wasmtime::{CallHook, Store};

/// Installs a call hook on `store` that [syncs](sync) it every time the host calls into wasm and
/// every time a host function returns to wasm, so a guest never runs with a value older than its
/// last entry.
///
/// The hook replaces any call hook the store had (wasmtime keeps one). With nothing changed it
/// costs each transition one call of `get` and one atomic load; the `call-hook` feature of wasmtime
/// also adds a check to every transition of every store. See the benchmarks for figures.
pub fn sync_on_call<T: 'static>(
    store: &mut Store<T>,
    get: impl Fn(&mut T) -> &mut GlobalsCtx + Send + Sync + 'static,
) {
    store.call_hook(move |mut cx, hook| {
        if matches!(hook, CallHook::CallingWasm | CallHook::ReturningFromHost) {
            sync(&mut cx, &get)?;
        }
        Ok(())
    });
}
