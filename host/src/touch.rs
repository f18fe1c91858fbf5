//! Faulting pages of an ordinary memory in for writing before the guest reads them: with
//! [`shared`](crate::shared), the only module of this crate with `unsafe` code.
//!
//! In wasmtime's default pooling allocator a fresh instance's memory is mapped from the module's
//! image, and each page faults in at its first touch. A guest's first look at its table is a
//! read, which maps the page read-only; the host's write of the values then copies it: two
//! faults where a write first takes one. [`ModuleGlobals::ready`](crate::ModuleGlobals::ready)
//! writes first, without changing a byte.

use std::sync::atomic::{AtomicU64, Ordering};

/// Makes the page of each offset in `words` writable now (a write fault: the page copied or
/// zeroed once) without changing any byte of `data`. An offset whose 8 bytes are not inside
/// `data`, or are not 8-aligned in the host's address space, is passed over.
pub(crate) fn for_writing(data: &mut [u8], words: &[u64]) {
    for &at in words {
        let Some(word) = usize::try_from(at)
            .ok()
            .and_then(|at| data.get_mut(at..at.checked_add(8)?))
        else {
            continue;
        };
        // The pointer is derived from the 8-byte slice, so it may be used for all 8 bytes.
        let ptr = word.as_mut_ptr();
        if !ptr.cast::<AtomicU64>().is_aligned() {
            continue;
        }
        // SAFETY: `ptr` is valid for reads and writes of 8 bytes (it comes from a mutable
        // slice of 8 bytes) and aligned for `AtomicU64` (checked above). The slice is borrowed
        // mutably until the end of this iteration, so nothing else reads or writes these bytes
        // while the atomic exists, and it is not used after.
        #[allow(unsafe_code)]
        let cell = unsafe { AtomicU64::from_ptr(ptr.cast::<u64>()) };
        // Two read-modify-writes that cancel: each is a write access, so the first faults the
        // page in writable at once, and the bytes end as they were. A single idempotent one
        // (`fetch_or(0)`) may be compiled to a fenced load, which is a read.
        cell.fetch_xor(1, Ordering::Relaxed);
        cell.fetch_xor(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::for_writing;

    /// Miri checks the accesses (`cargo +nightly miri test -p wasmtime-global --lib touch`).
    #[test]
    fn changes_no_byte_and_passes_over_what_is_out_of_reach() {
        // 8-aligned storage, seen as bytes.
        let mut words: Vec<u64> = (0..1024u64)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .collect();
        let before = words.clone();
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
        let len = bytes.len() as u64;
        for_writing(bytes, &[0, 8, 4096, len - 8, len - 4, len, 3, u64::MAX]);
        assert_eq!(words, before);
    }
}
