//! Access to a guest's shared memory: with [`touch`](crate::touch), the only module of this
//! crate with `unsafe` code.
//!
//! wasmtime's [`SharedMemory::data`] hands out `&[UnsafeCell<u8>]`: other threads (the guest's)
//! may read and write any byte at any time, so every access here is atomic, and of one size:
//! aligned 8-byte words. A set stores `value`, `changes` and `generation` as words while another
//! thread may be validating a declaration in the same memory; Rust's memory model leaves racing
//! atomic accesses of different sizes to the same bytes undefined, so validation reads words too
//! and takes the bytes it needs out of them.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU64, Ordering};
use wasmtime::SharedMemory;
use wasmtime_global_abi::validate::GuestBytes;

/// A shared memory read safely while its guest runs: [`GuestBytes`] read with atomic loads of
/// the aligned 8-byte words that hold the bytes asked for. wasmtime gives a shared memory's
/// bytes only as `UnsafeCell`s; with this an embedder's tool reads a guest's table from outside
/// (the abi crate's [`read_header`](wasmtime_global_abi::validate::read_header) and
/// [`read_slot`](wasmtime_global_abi::validate::read_slot), as the conformance runner and
/// `wasmtime-global inspect` do) while the guest runs on other threads and sets store words of
/// it, without `unsafe` of its own.
///
/// It sees the memory as its whole words: a wasm memory's bytes start page-aligned and are a
/// whole number of pages, so that is all of it (a memory of a custom page size that is not a
/// multiple of 8 bytes loses the bytes past its last whole word).
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
        whole_words(self.0).len() as u64
    }

    fn read(&self, addr: u64, out: &mut [u8]) -> bool {
        let cells = whole_words(self.0);
        if range(cells, addr, out.len() as u64).is_none() {
            return false;
        }
        // Word by word: each word that holds some of the bytes, loaded whole. `cells` ends at a
        // word's end, so the last word is inside it too.
        let mut done = 0;
        while done < out.len() {
            let at = addr + done as u64;
            let word_addr = at - at % 8;
            let Some(word) = range(cells, word_addr, 8).and_then(as_atomic) else {
                return false;
            };
            let bytes = word.load(Ordering::Relaxed).to_le_bytes();
            let from = (at - word_addr) as usize;
            let n = (8 - from).min(out.len() - done);
            out[done..done + n].copy_from_slice(&bytes[from..from + n]);
            done += n;
        }
        true
    }
}

/// `cells`, exactly 8 bytes at an 8-aligned address, as one atomic word; `None` otherwise.
///
/// The pointer is derived from the slice, so that it may be used for all 8 bytes: one derived
/// from a reference to the first cell alone may only touch that byte (Stacked Borrows; Miri
/// reports the difference, see the test below).
fn as_atomic(cells: &[UnsafeCell<u8>]) -> Option<&AtomicU64> {
    let ptr = cells.as_ptr();
    if cells.len() != 8 || !(ptr as usize).is_multiple_of(8) {
        return None;
    }
    // SAFETY: the 8 bytes are live for the lifetime of `cells`, which the result borrows, and
    // 8-aligned; they are `UnsafeCell`s, so shared mutation through them is allowed, and every
    // host access to them is atomic (the guest's own accesses are wasm, which cannot cause
    // undefined behaviour in the host).
    Some(unsafe { AtomicU64::from_ptr(UnsafeCell::raw_get(ptr).cast::<u64>()) })
}

/// `cells` cut to its whole aligned words: empty if it does not start 8-aligned (a wasm memory
/// starts page-aligned), else up to the end of its last whole word.
fn whole_words(cells: &[UnsafeCell<u8>]) -> &[UnsafeCell<u8>] {
    if !(cells.as_ptr() as usize).is_multiple_of(8) {
        return &[];
    }
    &cells[..cells.len() - cells.len() % 8]
}

fn range(cells: &[UnsafeCell<u8>], addr: u64, len: u64) -> Option<&[UnsafeCell<u8>]> {
    let start = usize::try_from(addr).ok()?;
    let end = usize::try_from(addr.checked_add(len)?).ok()?;
    cells.get(start..end)
}

/// An aligned 64-bit field of a shared memory, checked once at construction.
#[derive(Clone)]
pub(crate) struct SharedWord {
    /// Keeps the memory, and so `base`, alive; never read otherwise.
    #[allow(dead_code, reason = "held for its ownership of the memory")]
    memory: SharedMemory,
    addr: usize,
    /// `memory`'s bytes when the word was made, kept so that reaching other words of the memory
    /// ([`SharedWord::at`]) need not ask wasmtime for them each time: a shared memory never moves
    /// and never shrinks, and `memory` keeps it alive as long as this word.
    base: *const UnsafeCell<u8>,
    len: usize,
}

// SAFETY: `base` and `len` describe bytes of `memory`, a `SharedMemory`, which is `Send + Sync`
// and whose bytes may be accessed from any thread (atomically, as this module does); the pointer
// is only read through, as `SharedMemory::data` would be.
unsafe impl Send for SharedWord {}
// SAFETY: as above.
unsafe impl Sync for SharedWord {}

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
        let data = memory.data();
        as_atomic(range(data, addr, 8)?)?;
        Some(SharedWord {
            memory: memory.clone(),
            addr: addr as usize,
            base: data.as_ptr(),
            len: data.len(),
        })
    }

    /// The memory's bytes as they were when this word was made (a prefix of them now).
    fn cells(&self) -> &[UnsafeCell<u8>] {
        // SAFETY: `base` and `len` came from `self.memory.data()`; `self.memory` keeps the
        // memory alive while `self` lives, and a shared memory's bytes never move and never
        // shrink, so they are still valid for `len` bytes and for the lifetime of `&self`.
        unsafe { std::slice::from_raw_parts(self.base, self.len) }
    }

    /// The word at `addr` of the same memory, if it is inside it and 8-aligned: a way to reach
    /// other words of the memory without holding a handle to it for each. Only the bytes the
    /// memory had when this word was made are reached: for a table's `generation` word, made at
    /// the table's first declaration, that covers every slot of the table, which validation
    /// found inside the memory then.
    pub(crate) fn at(&self, addr: u64) -> Option<&AtomicU64> {
        as_atomic(range(self.cells(), addr, 8)?)
    }

    /// Its address in the memory.
    pub(crate) fn addr(&self) -> u64 {
        self.addr as u64
    }
}

#[cfg(test)]
mod tests {
    //! The one function here that does not need wasmtime, so that Miri can run it:
    //! `cargo +nightly miri test -p wasmtime-global --lib shared`.
    use super::*;

    #[test]
    fn an_atomic_word_covers_its_eight_bytes() {
        let cells: Vec<UnsafeCell<u8>> = (0..24).map(|_| UnsafeCell::new(0)).collect();
        let start = (0..8)
            .find(|&i| (cells[i..].as_ptr() as usize).is_multiple_of(8))
            .expect("an aligned start among any 8");
        let word = as_atomic(&cells[start..start + 8]).expect("8 aligned bytes");
        word.store(0x0102_0304_0506_0708, Ordering::SeqCst);
        assert_eq!(word.load(Ordering::SeqCst), 0x0102_0304_0506_0708);
        let bytes = SharedBytes(&cells[start..start + 16]);
        let mut out = [0; 8];
        assert!(bytes.read(0, &mut out));
        assert_eq!(u64::from_le_bytes(out), 0x0102_0304_0506_0708);
        // Across two words, and at the end of the whole words.
        let mut out = [0; 3];
        assert!(bytes.read(6, &mut out));
        assert_eq!(out, [0x02, 0x01, 0]);
        assert_eq!(bytes.size(), 16);
        assert!(bytes.read(13, &mut out));
        assert!(!bytes.read(14, &mut out), "past the last whole word");
        assert!(
            as_atomic(&cells[start + 1..start + 9]).is_none(),
            "misaligned"
        );
        assert!(as_atomic(&cells[start..start + 7]).is_none(), "too short");
    }

    /// Issue 20, finding 7: validation read a shared memory with 1-byte atomic loads while a
    /// set stored 8-byte words of it, mixed-size racing atomics that Rust's model leaves
    /// undefined (Miri reported them). Validation now loads the same aligned words: under Miri,
    /// a read of bytes of a word that another thread stores is no data race.
    #[test]
    fn reads_race_with_word_stores_at_one_size() {
        let words: Box<[AtomicU64]> = (0..4).map(|_| AtomicU64::new(0)).collect();
        let len = words.len() * 8;
        // SAFETY: `AtomicU64` has the size and the in-memory representation of `u64`, and is an
        // `UnsafeCell` inside, so its bytes may be viewed as `UnsafeCell<u8>`s for as long as
        // `words` lives, which outlives the threads below; every access here is atomic.
        let cells =
            unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<UnsafeCell<u8>>(), len) };
        let bytes = SharedBytes(cells);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for i in 1..=20 {
                    words[1].store(0x0101_0101_0101_0101 * i, Ordering::Relaxed);
                }
            });
            for _ in 0..20 {
                let mut out = [0; 3];
                assert!(bytes.read(9, &mut out));
                // A value stored whole: its three bytes agree.
                assert!(out[0] == out[1] && out[1] == out[2], "{out:?}");
            }
        });
    }
}
