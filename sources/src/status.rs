//! A source's status: updated by the source, read and waited on by the embedder.

use parking_lot::{Condvar, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub(crate) struct Watched<T> {
    value: Mutex<T>,
    changed: Condvar,
}

impl<T: Clone> Watched<T> {
    pub(crate) fn new(value: T) -> Watched<T> {
        Watched {
            value: Mutex::new(value),
            changed: Condvar::new(),
        }
    }

    pub(crate) fn get(&self) -> T {
        self.value.lock().clone()
    }

    /// Changes the status and wakes every waiter.
    pub(crate) fn update(&self, f: impl FnOnce(&mut T)) {
        f(&mut self.value.lock());
        self.changed.notify_all();
    }

    /// Waits until `done` holds for the status, or `timeout` passes; returns the last status
    /// seen and whether `done` held.
    pub(crate) fn wait_for(
        &self,
        timeout: Duration,
        mut done: impl FnMut(&T) -> bool,
    ) -> (T, bool) {
        let deadline = Instant::now() + timeout;
        let mut value = self.value.lock();
        loop {
            if done(&value) {
                return (value.clone(), true);
            }
            if self.changed.wait_until(&mut value, deadline).timed_out() {
                let held = done(&value);
                return (value.clone(), held);
            }
        }
    }
}
