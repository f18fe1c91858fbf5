//! Access to a guest's shared memory: the only module of this crate with `unsafe` code.
//!
//! wasmtime's [`SharedMemory::data`] hands out `&[UnsafeCell<u8>]`: other threads (the guest's)
//! may read and write any byte at any time, so every access here is atomic.

use crate::table::GuestBytes;
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use wasmtime::SharedMemory;

/// A shared memory as [`GuestBytes`], read byte by byte with atomic loads: validating a table in
/// a shared memory with [`read_header`](crate::table::read_header) and
/// [`read_slot`](crate::table::read_slot) is safe while the guest runs on other threads.
#[derive(Clone, Copy)]
pub struct SharedBytes<'a>(&'a [UnsafeCell<u8>]);

impl<'a> SharedBytes<'a> {
    /// The bytes of `memory`, as they are now (a memory that grows later is not seen larger).
    #[must_use]
    pub fn new(memory: &'a SharedMemory) -> SharedBytes<'a> {
        SharedBytes(memory.data())
    }
}

impl std::fmt::Debug for SharedBytes<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedBytes")
            .field("len", &self.0.len())
            .finish()
    }
}

impl GuestBytes for SharedBytes<'_> {
    fn size(&self) -> u64 {
        self.0.len() as u64
    }

    fn read(&self, addr: u64, out: &mut [u8]) -> bool {
        let Some(cells) = range(self.0, addr, out.len() as u64) else {
            return false;
        };
        for (byte, cell) in out.iter_mut().zip(cells) {
            // SAFETY: `cell` is a live byte of the shared memory (the slice borrows the
            // `SharedMemory`, whose bytes never move or shrink); every host access to those bytes
            // is atomic, and wasm accesses are the guest's own.
            *byte = unsafe { AtomicU8::from_ptr(cell.get()) }.load(Ordering::Relaxed);
        }
        true
    }
}

fn range(cells: &[UnsafeCell<u8>], addr: u64, len: u64) -> Option<&[UnsafeCell<u8>]> {
    let start = usize::try_from(addr).ok()?;
    let end = usize::try_from(addr.checked_add(len)?).ok()?;
    cells.get(start..end)
}

/// An aligned 64-bit field of a shared memory, checked once at construction.
#[derive(Clone)]
pub(crate) struct SharedWord {
    memory: SharedMemory,
    addr: usize,
}

impl std::fmt::Debug for SharedWord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedWord")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl SharedWord {
    /// The 8 bytes at `addr` of `memory`, if they are inside it and 8-aligned.
    pub(crate) fn new(memory: &SharedMemory, addr: u64) -> Option<SharedWord> {
        let cells = range(memory.data(), addr, 8)?;
        let aligned = (cells.as_ptr() as usize).is_multiple_of(8);
        aligned.then(|| SharedWord {
            memory: memory.clone(),
            addr: addr as usize,
        })
    }

    fn atomic(&self) -> &AtomicU64 {
        let cell = &self.memory.data()[self.addr];
        // SAFETY: `new` checked that the 8 bytes at `addr` are inside the memory and 8-aligned;
        // a shared memory's base never moves and its length never shrinks, and `self.memory`
        // keeps it alive as long as this reference (borrowed from `self`). Every host access to
        // guest memory is atomic; the guest's own accesses are wasm, which cannot cause undefined
        // behaviour in the host.
        unsafe { AtomicU64::from_ptr(cell.get().cast::<u64>()) }
    }

    pub(crate) fn load(&self, order: Ordering) -> u64 {
        self.atomic().load(order)
    }

    pub(crate) fn store(&self, value: u64, order: Ordering) {
        self.atomic().store(value, order);
    }
}
