//! Guests run with wasmtime's `*_async` calls, as most production embedders run them:
//! declarations from start functions, from a first read inside `call_async`, in stores whose
//! epoch deadlines yield or whose call hook is async, a hundred guests at once on a
//! multi-threaded runtime, and the async sync helpers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use wasmtime::{CallHook, Config, Engine, Linker, Module, Store, StoreContextMut};
use wasmtime_global::{Globals, GlobalsCtx};
use wasmtime_global_test_artifacts::guests;

const UINT64: i32 = 1;

fn async_engine(epochs: bool) -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config.epoch_interruption(epochs);
    Engine::new(&config)
}

fn async_linker(engine: &Engine) -> wasmtime::Result<Linker<GlobalsCtx>> {
    let mut linker = Linker::new(engine);
    wasmtime_global::add_to_linker(&mut linker, |ctx: &mut GlobalsCtx| ctx)?;
    Ok(linker)
}

/// The Rust SDK's scenario guest: `get(i)` declares global `i` at its first read.
fn sdk_guest(engine: &Engine) -> wasmtime::Result<Module> {
    Module::from_file(engine, guests::SCENARIO)
}

/// A new store on `engine` taking values from `globals`, set up by `configure`, with the Rust SDK's
/// scenario guest instantiated in it through `instantiate_async`.
async fn sdk_instance(
    engine: &Engine,
    globals: &Globals,
    configure: impl FnOnce(&mut Store<GlobalsCtx>),
) -> wasmtime::Result<(Store<GlobalsCtx>, wasmtime::Instance)> {
    let mut store = Store::new(engine, GlobalsCtx::new(globals));
    configure(&mut store);
    let instance = async_linker(engine)?
        .instantiate_async(&mut store, &sdk_guest(engine)?)
        .await?;
    Ok((store, instance))
}

async fn get(
    store: &mut Store<GlobalsCtx>,
    instance: &wasmtime::Instance,
    i: i32,
) -> wasmtime::Result<i64> {
    let get = instance.get_typed_func::<i32, i64>(&mut *store, "get")?;
    get.call_async(&mut *store, i).await
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

#[test]
fn instantiate_async_runs_a_start_function_that_declares() -> wasmtime::Result<()> {
    let wat = include_str!("wat/scenario.wat").replace(
        r#"(func (export "init")"#,
        r#"(start $init) (func $init (export "init")"#,
    );
    runtime().block_on(async {
        let engine = async_engine(false)?;
        let module = Module::new(&engine, &wat)?;
        let globals = Globals::new();
        globals.set_u64("TEST_UINT64", 5)?;
        let mut store = Store::new(&engine, GlobalsCtx::new(&globals));
        let instance = async_linker(&engine)?
            .instantiate_async(&mut store, &module)
            .await?;
        assert_eq!(
            store.data().declarations().len(),
            5,
            "declared by the start function"
        );
        assert_eq!(get(&mut store, &instance, UINT64).await?, 5);
        globals.set_u64("TEST_UINT64", 6)?;
        wasmtime_global::sync(&mut store, |ctx| ctx)?;
        assert_eq!(get(&mut store, &instance, UINT64).await?, 6);
        Ok(())
    })
}

/// Instances per request made by `ModuleGlobals::instantiate_async`: the second declares what
/// the first did as known, and reads the value set between them.
#[test]
fn module_globals_instantiate_async_per_request() -> wasmtime::Result<()> {
    runtime().block_on(async {
        let engine = async_engine(false)?;
        let globals = Globals::new();
        let pre = async_linker(&engine)?.instantiate_pre(&sdk_guest(&engine)?)?;
        let told = wasmtime_global::ModuleGlobals::new(pre.module());
        for (request, value) in [(0, 42), (1, 7)] {
            let mut store = Store::new(&engine, GlobalsCtx::new(&globals).with_module(&told));
            let instance = told.instantiate_async(&pre, &mut store).await?;
            assert_eq!(get(&mut store, &instance, UINT64).await?, value);
            assert_eq!(
                store.data().stats().known,
                request,
                "known from the second on"
            );
            globals.set_u64("TEST_UINT64", 7)?;
        }
        Ok(())
    })
}

#[test]
fn call_async_whose_first_read_declares() -> wasmtime::Result<()> {
    runtime().block_on(async {
        let engine = async_engine(false)?;
        let globals = Globals::new();
        let (mut store, instance) = sdk_instance(&engine, &globals, |_| ()).await?;
        assert_eq!(get(&mut store, &instance, UINT64).await?, 42, "the default");
        assert_eq!(store.data().stats().declare_calls, 1);
        globals.set_u64("TEST_UINT64", 43)?;
        wasmtime_global::sync(&mut store, |ctx| ctx)?;
        assert_eq!(get(&mut store, &instance, UINT64).await?, 43);
        Ok(())
    })
}

#[test]
fn a_store_whose_epoch_deadlines_yield_declares() -> wasmtime::Result<()> {
    runtime().block_on(async {
        let engine = async_engine(true)?;
        let globals = Globals::new();
        let (mut store, instance) = sdk_instance(&engine, &globals, |store| {
            store.epoch_deadline_async_yield_and_update(1);
        })
        .await?;
        engine.increment_epoch(); // the next check in the guest yields
        assert_eq!(get(&mut store, &instance, UINT64).await?, 42);
        assert_eq!(store.data().declarations().len(), 1);
        Ok(())
    })
}

/// An async call hook that counts host calls, as an embedder's own might.
struct Counting(Arc<AtomicU64>);

#[async_trait::async_trait]
impl wasmtime::CallHookHandler<GlobalsCtx> for Counting {
    async fn handle_call_event(
        &self,
        _: StoreContextMut<'_, GlobalsCtx>,
        hook: CallHook,
    ) -> wasmtime::Result<()> {
        if matches!(hook, CallHook::CallingHost) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

#[test]
fn a_store_with_an_async_call_hook_declares() -> wasmtime::Result<()> {
    runtime().block_on(async {
        let engine = async_engine(false)?;
        let globals = Globals::new();
        let calls = Arc::new(AtomicU64::new(0));
        let (mut store, instance) = sdk_instance(&engine, &globals, |store| {
            store.call_hook_async(Counting(Arc::clone(&calls)));
        })
        .await?;
        assert_eq!(get(&mut store, &instance, UINT64).await?, 42);
        assert_eq!(get(&mut store, &instance, UINT64).await?, 42);
        assert_eq!(
            calls.load(Ordering::Relaxed),
            1,
            "one declaration, then plain reads"
        );
        Ok(())
    })
}

#[test]
fn a_hundred_concurrent_guests_on_a_multi_threaded_runtime() -> wasmtime::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let engine = async_engine(false)?;
        let module = sdk_guest(&engine)?;
        let linker = Arc::new(async_linker(&engine)?);
        let globals = Globals::new();
        globals.set_u64("TEST_UINT64", 1000)?;
        let tasks: Vec<_> = (0..100u64)
            .map(|k| {
                let (engine, module, linker, globals) = (
                    engine.clone(),
                    module.clone(),
                    Arc::clone(&linker),
                    globals.clone(),
                );
                tokio::spawn(async move {
                    let mut store = Store::new(&engine, GlobalsCtx::new(&globals));
                    let instance = linker.instantiate_async(&mut store, &module).await?;
                    let first = get(&mut store, &instance, UINT64).await?;
                    // Each task sets a name of its own, then reads it back after a sync.
                    let name = format!("TASK_{k}");
                    globals.set(&name, k)?;
                    tokio::task::yield_now().await;
                    wasmtime_global::sync(&mut store, |ctx| ctx)?;
                    let again = get(&mut store, &instance, UINT64).await?;
                    wasmtime::Result::<_>::Ok((first, again, store.data().declarations().len()))
                })
            })
            .collect();
        for task in tasks {
            let (first, again, declared) = task.await??;
            assert_eq!((first, again, declared), (1000, 1000, 1));
        }
        assert_eq!(
            globals.declared_type("TEST_UINT64"),
            None,
            "every store dropped"
        );
        assert_eq!(globals.len(), 101);
        Ok(())
    })
}

/// `sync_on_epoch` replaced the async yield; `sync_on_epoch_async` syncs and yields: another task
/// on the same thread runs while the guest spins, and the guest sees the change.
#[test]
fn sync_on_epoch_async_syncs_and_still_yields() -> wasmtime::Result<()> {
    let engine = async_engine(true)?;
    let module = sdk_guest(&engine)?;
    let globals = Globals::new();
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                engine.increment_epoch();
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        let result = runtime().block_on(async {
            let mut store = Store::new(&engine, GlobalsCtx::new(&globals));
            wasmtime_global::sync_on_epoch_async(&mut store, |ctx| ctx, 1)?;
            let instance = async_linker(&engine)?
                .instantiate_async(&mut store, &module)
                .await?;
            assert_eq!(get(&mut store, &instance, UINT64).await?, 42);
            let ran = Arc::new(AtomicU64::new(0));
            let other = tokio::spawn({
                let ran = Arc::clone(&ran);
                async move {
                    loop {
                        ran.fetch_add(1, Ordering::Relaxed);
                        tokio::task::yield_now().await;
                    }
                }
            });
            let setter = std::thread::spawn({
                let globals = globals.clone();
                let ran = Arc::clone(&ran);
                move || {
                    // Set only once the other task has run a few times, i.e. while the guest
                    // spins; it cannot have run at all unless the guest yields.
                    while ran.load(Ordering::Relaxed) < 5 {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    globals.set_u64("TEST_UINT64", 7).expect("a valid name");
                }
            });
            let spin = instance.get_typed_func::<(i32, i64), i64>(&mut store, "spin")?;
            let seen = spin.call_async(&mut store, (UINT64, 42)).await?;
            other.abort();
            setter.join().expect("the setter");
            assert_eq!(seen, 7);
            assert!(ran.load(Ordering::Relaxed) >= 5);
            wasmtime::Result::<()>::Ok(())
        });
        stop.store(true, Ordering::Relaxed);
        result
    })
}

#[test]
fn sync_on_call_async_syncs_on_every_entry() -> wasmtime::Result<()> {
    runtime().block_on(async {
        let engine = async_engine(false)?;
        let globals = Globals::new();
        let (mut store, instance) = sdk_instance(&engine, &globals, |store| {
            wasmtime_global::sync_on_call_async(store, |ctx| ctx);
        })
        .await?;
        assert_eq!(get(&mut store, &instance, UINT64).await?, 42);
        globals.set_u64("TEST_UINT64", 8)?;
        assert_eq!(
            get(&mut store, &instance, UINT64).await?,
            8,
            "no explicit sync"
        );
        assert!(store.data().stats().syncs >= 2);
        Ok(())
    })
}

/// Issue 22, item 12: a plain `sync_on_epoch` store whose guest is called with a bare
/// `call_async` starves the executor while the guest loops (its deadlines sync but never
/// yield). Called through `wasmtime_global::call_async`, the same store's deadlines yield: another
/// task on the thread runs, and sets the value the guest waits for. The same store then takes a
/// synchronous `wasmtime_global::call` whose deadlines go on without a yield.
#[test]
fn call_async_makes_a_plain_sync_on_epoch_store_yield() -> wasmtime::Result<()> {
    let engine = async_engine(true)?;
    let module = sdk_guest(&engine)?;
    let globals = Globals::new();
    let _ticker = wasmtime_global::EpochTicker::start(&engine, Duration::from_millis(1));
    fn get_ctx(ctx: &mut GlobalsCtx) -> &mut GlobalsCtx {
        ctx
    }
    let (mut store, instance) = runtime().block_on(async {
        let mut store = Store::new(&engine, GlobalsCtx::new(&globals));
        wasmtime_global::sync_on_epoch(&mut store, get_ctx, 1)?;
        let instance = async_linker(&engine)?
            .instantiate_async(&mut store, &module)
            .await?;
        assert_eq!(get(&mut store, &instance, UINT64).await?, 42);
        // The task that sets 7 can only run while the guest spins if the guest yields; if it
        // never does, a thread sets 9 after 5 s, so that a regression fails rather than hangs.
        let (done, wait) = std::sync::mpsc::channel::<()>();
        let fallback = std::thread::spawn({
            let globals = globals.clone();
            move || {
                if wait.recv_timeout(Duration::from_secs(5)).is_err() {
                    globals.set_u64("TEST_UINT64", 9).expect("a valid name");
                }
            }
        });
        let setter = tokio::spawn({
            let globals = globals.clone();
            async move { globals.set_u64("TEST_UINT64", 7).expect("a valid name") }
        });
        let spin = instance.get_typed_func::<(i32, i64), i64>(&mut store, "spin")?;
        let seen = wasmtime_global::call_async(&mut store, get_ctx, &spin, (UINT64, 42)).await?;
        let _ = done.send(()); // unless it gave up waiting
        fallback.join().expect("the fallback thread");
        assert_eq!(seen, 7, "the other task ran while the guest spun");
        setter.await.expect("the setter task");
        wasmtime::Result::<_>::Ok((store, instance))
    })?;
    // A synchronous call whose guest spins through deadlines until 10 arrives.
    let spin = instance.get_typed_func::<(i32, i64), i64>(&mut store, "spin")?;
    let setter = std::thread::spawn({
        let globals = globals.clone();
        move || {
            std::thread::sleep(Duration::from_millis(20));
            globals.set_u64("TEST_UINT64", 10).expect("a valid name");
        }
    });
    assert_eq!(
        wasmtime_global::call(&mut store, get_ctx, &spin, (UINT64, 7))?,
        10
    );
    setter.join().expect("the setter thread");
    Ok(())
}

/// Issue 22, item 12: a `sync_on_epoch_async` store refuses a synchronous call at once, as a
/// store of wasmtime's own yielding deadlines does, rather than when the call first reaches a
/// deadline (which a short call never does, so the mistake went unseen).
#[test]
fn a_sync_on_epoch_async_store_refuses_a_synchronous_call_at_once() -> wasmtime::Result<()> {
    let engine = async_engine(true)?;
    let globals = Globals::new();
    let (mut store, instance) = runtime().block_on(sdk_instance(&engine, &globals, |store| {
        wasmtime_global::sync_on_epoch_async(store, |ctx| ctx, 1).expect("valid ticks");
    }))?;
    let get = instance.get_typed_func::<i32, i64>(&mut store, "get")?;
    let error = get.call(&mut store, UINT64).unwrap_err();
    assert_eq!(
        error.to_string(),
        "store configuration requires that `*_async` functions are used instead"
    );
    assert_eq!(runtime().block_on(get.call_async(&mut store, UINT64))?, 42);
    Ok(())
}
