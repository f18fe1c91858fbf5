//! [`EpochTicker`]: the thread that ticks an engine's epoch, which [`sync_on_epoch`] needs.
//!
//! [`sync_on_epoch`]: crate::sync_on_epoch

use parking_lot::{Condvar, Mutex};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use wasmtime::{Engine, EngineWeak};

/// A thread that calls [`Engine::increment_epoch`] every `interval`, so that a store set up with
/// [`sync_on_epoch`](crate::sync_on_epoch) (or `sync_on_epoch_async`) sees changes while its
/// guest runs. Every embedder of those wrote this thread; this one stops when it is dropped, or
/// when the engine is (it holds the engine weakly, so it never keeps one alive).
///
/// ```
/// use std::time::Duration;
/// use wasmtime::{Config, Engine, Store};
/// use wasmtime_global::{EpochTicker, Globals, GlobalsCtx};
///
/// let mut config = Config::new();
/// config.epoch_interruption(true);
/// let engine = Engine::new(&config)?;
/// let _ticker = EpochTicker::start(&engine, Duration::from_millis(1));
/// let mut store = Store::new(&engine, GlobalsCtx::new(&Globals::new()));
/// wasmtime_global::sync_on_epoch(&mut store, |ctx| ctx, 1)?;
/// # Ok::<(), wasmtime::Error>(())
/// ```
#[derive(Debug)]
pub struct EpochTicker {
    stop: Arc<Stop>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct Stop {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl EpochTicker {
    /// Starts ticking `engine`'s epoch every `interval` (1 ms is what `wasmtime run` and this
    /// crate's CLI use: a looping guest sees a change within about a millisecond).
    ///
    /// # Panics
    ///
    /// If the thread cannot be spawned, as [`std::thread::spawn`] does.
    #[must_use]
    pub fn start(engine: &Engine, interval: Duration) -> EpochTicker {
        let stop = Arc::new(Stop::default());
        let weak: EngineWeak = engine.weak();
        let signal = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("wasmtime-global-epoch".into())
            .spawn(move || {
                loop {
                    {
                        let mut stopped = signal.stopped.lock();
                        if !*stopped {
                            signal.wake.wait_for(&mut stopped, interval);
                        }
                        if *stopped {
                            return;
                        }
                    }
                    let Some(engine) = weak.upgrade() else { return };
                    engine.increment_epoch();
                }
            })
            .unwrap_or_else(|e| panic!("cannot spawn the epoch ticker: {e}"));
        EpochTicker {
            stop,
            thread: Some(thread),
        }
    }

    /// Whether the thread still ticks: `false` once the engine has gone.
    #[must_use]
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }
}

impl Drop for EpochTicker {
    /// Stops the thread at once (it is woken, not waited out) and joins it.
    fn drop(&mut self) {
        *self.stop.stopped.lock() = true;
        self.stop.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
