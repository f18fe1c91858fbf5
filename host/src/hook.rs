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
/// thread would not run while a guest called with a bare `call_async` loops (wasmtime tells a
/// deadline callback nothing of how the wasm was called). Call through
/// `wasmtime_global::call_async` (feature `async`), whose deadlines sync and yield, or use
/// `sync_on_epoch_async` there, which makes every deadline yield and the store refuse
/// synchronous calls.
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
    sync_at_deadlines(store, get, ticks, false)
}

/// The most ticks between two syncs at epoch deadlines: wasmtime adds them to the current epoch,
/// which must not overflow (an epoch ticking every microsecond reaches 2^62 in 146,000 years).
pub const MAX_EPOCH_TICKS: u64 = 1 << 62;

/// Sets `store`'s epoch deadline `ticks` ahead, and a deadline callback that syncs and then
/// continues, or yields if the ctx says so ([`GlobalsCtx::epoch_yields`], which starts as
/// `yields`).
fn sync_at_deadlines<T: 'static>(
    store: &mut Store<T>,
    get: impl Fn(&mut T) -> &mut GlobalsCtx + Send + Sync + 'static,
    ticks: u64,
    yields: bool,
) -> Result<()> {
    check_ticks(ticks)?;
    get(store.data_mut()).epoch_yields = yields;
    store.set_epoch_deadline(ticks);
    store.epoch_deadline_callback(move |mut cx| {
        sync(&mut cx, &get)?;
        Ok(next_deadline(get(cx.data_mut()).epoch_yields, ticks))
    });
    Ok(())
}

/// [`Error::EpochTicks`] unless `ticks` is from 1 to [`MAX_EPOCH_TICKS`].
fn check_ticks(ticks: u64) -> Result<()> {
    if (1..=MAX_EPOCH_TICKS).contains(&ticks) {
        Ok(())
    } else {
        Err(Error::EpochTicks {
            ticks,
            max: MAX_EPOCH_TICKS,
        })
    }
}

/// What a deadline callback returns: yield to the executor (only an async call can) or go on.
fn next_deadline(yields: bool, ticks: u64) -> UpdateDeadline {
    #[cfg(feature = "async")]
    if yields {
        return UpdateDeadline::Yield(ticks);
    }
    #[cfg(not(feature = "async"))]
    let _ = yields; // without the feature no call is async, and nothing sets it
    UpdateDeadline::Continue(ticks)
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
/// Enabling wasmtime's `call-hook` feature alone roughly doubles the cost of a trivial host call
/// in every store of the program, hooked or not, and the hook adds about as much again to each
/// transition; calling [`sync`] yourself before each entry costs one atomic load when nothing
/// changed. `cargo bench -p wasmtime-global --bench call_hook [--features call-hook]` measures
/// each path, and the README's benchmark table has the figures.
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
/// wasm must then run through `*_async` calls, as after wasmtime's own yield: the store refuses a
/// synchronous call at once (wasmtime's "store configuration requires that `*_async` functions
/// are used instead"), rather than when it first reaches a deadline. A store that mixes both
/// kinds of call uses [`sync_on_epoch`] and calls through [`call_async`](crate::call_async) and
/// [`call`](crate::call), whose deadlines yield only in the async calls.
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
    check_ticks(ticks)?;
    // wasmtime's own yielding form, for what it does besides its callback: every later entry
    // into wasm must be async. Our callback then replaces its callback.
    store.epoch_deadline_async_yield_and_update(ticks);
    sync_at_deadlines(store, get, ticks, true)
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
