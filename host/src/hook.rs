//! Syncing on every entry into wasm, with a wasmtime call hook (the `call-hook` feature).

use crate::{GlobalsCtx, sync};
use wasmtime::{CallHook, Store};

/// Installs a call hook on `store` that [syncs](sync) it every time the host calls into wasm and
/// every time a host function returns to wasm, so a guest never runs with a value older than its
/// last entry.
///
/// The hook replaces any call hook the store had (wasmtime keeps one). With nothing changed it
/// costs each transition one call of `get` and one atomic load.
///
/// # Cost
///
/// Measured by `cargo bench -p wasmtime-global --bench call_hook [--features call-hook]` (x86-64,
/// two runs each, medians; compare, do not quote):
///
/// | path | feature off | feature on, no hook | feature on, `sync_on_call` |
/// |---|---|---|---|
/// | wasm calls a trivial host function | 3.6 ns | 7.4 ns | 14.5–14.8 ns |
/// | host calls a trivial wasm export | 16.7 ns | 19.8–20.4 ns | 27.7–28.0 ns |
///
/// Enabling wasmtime's `call-hook` feature alone roughly doubles the cost of a trivial host call in
/// every store of the program, hooked or not; the hook adds about 7 ns per transition. Calling
/// [`sync`] yourself before each entry costs 1.7 ns (feature off) when nothing changed.
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
