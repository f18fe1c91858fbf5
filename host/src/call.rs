//! Calls into a guest that sync its store first and explain a failure: [`call`] and
//! [`call_async`], the call hook's work without wasmtime's `call-hook` feature.

use crate::{GlobalsCtx, sync};
use wasmtime::{Store, TypedFunc, WasmParams, WasmResults};

/// Calls `func` after a [`sync`] of `store`, so that its guest starts with every value set
/// before the call, and, if the call fails, returns its error [explained](GlobalsCtx::explain):
/// with the reason of any declaration the store refused.
///
/// This is what `sync_on_call` (feature `call-hook`) does at each entry into wasm, without the
/// `call-hook` feature that it needs (which slows every host call of the program, hooked or
/// not): with nothing changed the sync costs one atomic load. It does not sync when a host
/// function returns to the guest, as the call hook does; with [`sync_on_epoch`](crate::sync_on_epoch)
/// set up, the guest also sees changes at every deadline while it runs, which go on without a
/// yield (this is a synchronous call).
///
/// # Errors
///
/// The call's error, explained; or, before it, a [`sync`] that failed (a guest's table no longer
/// valid).
///
/// # Examples
///
/// ```
/// use wasmtime::{Engine, Linker, Module, Store};
/// use wasmtime_global::{Globals, GlobalsCtx, ValueType};
///
/// let engine = Engine::default();
/// let globals = Globals::new();
/// let mut linker = Linker::new(&engine);
/// wasmtime_global::add_to_linker(&mut linker, |ctx: &mut GlobalsCtx| ctx)?;
/// let module = Module::new(&engine, include_str!("doc/max_items.wat"))?;
/// let mut store = Store::new(&engine, GlobalsCtx::new(&globals));
/// let instance = linker.instantiate(&mut store, &module)?;
/// let max_items = instance.get_typed_func::<(), i64>(&mut store, "max_items")?;
/// assert_eq!(wasmtime_global::call(&mut store, |ctx| ctx, &max_items, ())?, 10);
/// globals.set("MAX_ITEMS", 100)?;
/// assert_eq!(wasmtime_global::call(&mut store, |ctx| ctx, &max_items, ())?, 100); // synced
///
/// // A guest that traps because its declaration was refused says why.
/// let strict = Globals::new();
/// strict.define("MAX_ITEMS", ValueType::F64, None)?; // the guest declares it U64
/// let mut store = Store::new(&engine, GlobalsCtx::new(&strict));
/// let instance = linker.instantiate(&mut store, &module)?;
/// let max_items = instance.get_typed_func::<(), i64>(&mut store, "max_items")?;
/// let error = wasmtime_global::call(&mut store, |ctx| ctx, &max_items, ()).unwrap_err();
/// assert!(error.to_string().starts_with("declaration of \"MAX_ITEMS\" refused"));
/// # Ok::<(), wasmtime::Error>(())
/// ```
pub fn call<T: 'static, P: WasmParams, R: WasmResults>(
    store: &mut Store<T>,
    get: impl Fn(&mut T) -> &mut GlobalsCtx,
    func: &TypedFunc<P, R>,
    params: P,
) -> wasmtime::Result<R> {
    sync(&mut *store, &get)?;
    // Deadlines of this call cannot yield (wasmtime refuses a yield from a synchronous call).
    get(store.data_mut()).epoch_yields = false;
    func.call(&mut *store, params)
        .map_err(|e| get(store.data_mut()).explain(e))
}

/// [`call`] for a store with async support: calls `func` with `call_async` after a [`sync`] of
/// `store`, and explains its error. In a store set up with
/// [`sync_on_epoch`](crate::sync_on_epoch), the deadlines of this call sync **and yield** to the
/// executor, so a guest that loops neither misses a change nor starves the other tasks on its
/// thread, as it would if called with a bare `call_async` (wasmtime tells a deadline callback
/// nothing of how the wasm was called). A store can so mix synchronous and async calls, each
/// with the right deadlines.
///
/// # Errors
///
/// As [`call`].
#[cfg(feature = "async")]
pub async fn call_async<T: Send + 'static, P, R>(
    store: &mut Store<T>,
    get: impl Fn(&mut T) -> &mut GlobalsCtx,
    func: &TypedFunc<P, R>,
    params: P,
) -> wasmtime::Result<R>
where
    P: WasmParams + Sync,
    R: WasmResults + Sync,
{
    sync(&mut *store, &get)?;
    let ctx = get(store.data_mut());
    let yielded = std::mem::replace(&mut ctx.epoch_yields, true);
    let result = func.call_async(&mut *store, params).await;
    // As it was (a store of `sync_on_epoch_async` always yields). A call dropped before it
    // returns leaves `true`: a later bare synchronous call that reaches a deadline then fails
    // with wasmtime's "cannot use `UpdateDeadline::Yield`", and [`call`] sets it right.
    let ctx = get(store.data_mut());
    ctx.epoch_yields = yielded;
    result.map_err(|e| ctx.explain(e))
}
