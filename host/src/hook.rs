//! Syncing without the embedder calling [`sync`]: on every entry into wasm (a call hook, with the
//! `call-hook` feature) and on every epoch tick while wasm runs; and the same for stores with
//! async support (feature `async`), which must keep yielding to their executor.

use crate::{Error, GlobalsCtx, Result, sync};
#[cfg(feature = "call-hook")]
use wasmtime::CallHook;
use wasmtime::{Store, UpdateDeadline};

/// Syncs `store` every `ticks` epoch ticks while its wasm runs, so a guest with ordinary memory
/// that loops without calling the host still sees a change within `ticks` ticks of it.
///
/// Needs an engine with [`Config::epoch_interruption`](wasmtime::Config::epoch_interruption) and
/// something that calls [`Engine::increment_epoch`](wasmtime::Engine::increment_epoch) (an
/// [`EpochTicker`](crate::EpochTicker)). It sets the store's epoch deadline and replaces its
/// deadline callback (wasmtime keeps one): an embedder that also uses epochs for time limits
/// should call [`sync`] from its own callback instead. A guest with shared memory needs none of this: its slots are written at once.
///
/// In a store that runs wasm with `call_async`, this replaces the yield that
/// `Store::epoch_deadline_async_yield_and_update` sets up, so other tasks on the executor
/// thread would not run while the guest loops: use `sync_on_epoch_async` (feature `async`)
/// there, which syncs and yields.
///
/// # Errors
///
/// [`Error::EpochTicks`] if `ticks` is 0 (a sync at every loop back-edge of the guest, which
/// slows it down a hundredfold) or more than [`MAX_EPOCH_TICKS`] (wasmtime's deadline would
/// overflow); the store is left as it was.
///
/// # Examples
///
/// ```
/// use wasmtime::{Config, Engine, Store};
/// use wasmtime_global::{Globals, GlobalsCtx};
///
/// let mut config = Config::new();
/// config.epoch_interruption(true);
/// let engine = Engine::new(&config)?;
/// let mut store = Store::new(&engine, GlobalsCtx::new(&Globals::new()));
/// wasmtime_global::sync_on_epoch(&mut store, |ctx| ctx, 1)?;
/// // elsewhere, every millisecond: engine.increment_epoch(), or keep an `EpochTicker`
/// # Ok::<(), wasmtime::Error>(())
/// ```
pub fn sync_on_epoch<T: 'static>(
    store: &mut Store<T>,
    get: impl Fn(&mut T) -> &mut GlobalsCtx + Send + Sync + 'static,
    ticks: u64,
) -> Result<()> {
    sync_at_deadlines(store, get, ticks, UpdateDeadline::Continue)
}

/// The most ticks between two syncs at epoch deadlines: wasmtime adds them to the current epoch,
/// which must not overflow (an epoch ticking every microsecond reaches 2^62 in 146,000 years).
pub const MAX_EPOCH_TICKS: u64 = 1 << 62;

/// Sets `store`'s epoch deadline `ticks` ahead, and a deadline callback that syncs and then
/// `next(ticks)`.
fn sync_at_deadlines<T: 'static>(
    store: &mut Store<T>,
    get: impl Fn(&mut T) -> &mut GlobalsCtx + Send + Sync + 'static,
    ticks: u64,
    next: fn(u64) -> UpdateDeadline,
) -> Result<()> {
    if !(1..=MAX_EPOCH_TICKS).contains(&ticks) {
        return Err(Error::EpochTicks {
            ticks,
            max: MAX_EPOCH_TICKS,
        });
    }
    store.set_epoch_deadline(ticks);
    store.epoch_deadline_callback(move |mut cx| {
        sync(&mut cx, &get)?;
        Ok(next(ticks))
    });
    Ok(())
}

#[cfg(feature = "call-hook")]
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

/// [`sync_on_epoch`] for a store with async support: every `ticks` epoch ticks it syncs the store
/// **and yields to the async executor**, as [`Store::epoch_deadline_async_yield_and_update`]
/// does, so a guest that loops neither misses a change nor starves the other tasks on its thread.
///
/// It sets the store's epoch deadline and replaces its deadline callback (wasmtime keeps one). The
/// wasm must run through `*_async` calls: a synchronous call that reaches a deadline traps, as
/// wasmtime's own yield does.
///
/// # Errors
///
/// As [`sync_on_epoch`]: [`Error::EpochTicks`] if `ticks` is 0 or more than
/// [`MAX_EPOCH_TICKS`].
///
/// # Examples
///
/// ```
/// use wasmtime::{Config, Engine, Store};
/// use wasmtime_global::{Globals, GlobalsCtx};
///
/// let mut config = Config::new();
/// config.epoch_interruption(true);
/// let engine = Engine::new(&config)?;
/// let mut store = Store::new(&engine, GlobalsCtx::new(&Globals::new()));
/// wasmtime_global::sync_on_epoch_async(&mut store, |ctx| ctx, 1)?;
/// // elsewhere, every millisecond: engine.increment_epoch(), or keep an `EpochTicker`
/// # Ok::<(), wasmtime::Error>(())
/// ```
#[cfg(feature = "async")]
pub fn sync_on_epoch_async<T: 'static>(
    store: &mut Store<T>,
    get: impl Fn(&mut T) -> &mut GlobalsCtx + Send + Sync + 'static,
    ticks: u64,
) -> Result<()> {
    sync_at_deadlines(store, get, ticks, UpdateDeadline::Yield)
}

/// [`sync_on_call`] for a store with async support: installs, with
/// [`Store::call_hook_async`], a hook that [syncs](sync) the store every time the host calls into
/// wasm and every time a host function returns to wasm. The store then requires `*_async` calls,
/// as any async call hook makes it.
///
/// The hook replaces any call hook the store had. An embedder with an async hook of its own
/// calls [`sync`] from it instead, on [`CallHook::CallingWasm`] and
/// [`CallHook::ReturningFromHost`].
#[cfg(all(feature = "async", feature = "call-hook"))]
pub fn sync_on_call_async<T: Send + 'static>(
    store: &mut Store<T>,
    get: impl Fn(&mut T) -> &mut GlobalsCtx + Send + Sync + 'static,
) {
    store.call_hook_async(SyncOnCall(get));
}

/// The async call hook of [`sync_on_call_async`].
#[cfg(all(feature = "async", feature = "call-hook"))]
struct SyncOnCall<G>(G);

#[cfg(all(feature = "async", feature = "call-hook"))]
#[async_trait::async_trait]
impl<T, G> wasmtime::CallHookHandler<T> for SyncOnCall<G>
where
    T: Send + 'static,
    G: Fn(&mut T) -> &mut GlobalsCtx + Send + Sync + 'static,
{
    async fn handle_call_event(
        &self,
        mut cx: wasmtime::StoreContextMut<'_, T>,
        hook: CallHook,
    ) -> wasmtime::Result<()> {
        if matches!(hook, CallHook::CallingWasm | CallHook::ReturningFromHost) {
            sync(&mut cx, &self.0)?;
        }
        Ok(())
    }
}
