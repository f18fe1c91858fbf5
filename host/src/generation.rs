//! The write protocol of a table's changed values ([the ABI](wasmtime_global_abi::spec) §10),
//! written once for both writers: the registry's writes into shared tables and `sync`'s into
//! ordinary memories.
//!
//! In the manner of a seqlock's write guard: [`GenerationWrite::begin`] makes the table's
//! `generation` odd; each [`slot`](GenerationWrite::slot) writes a value, then raises the slot's
//! `changes`; [`end`](GenerationWrite::end) makes `generation` even again, two past where it
//! began. A guest that reads `generation` even and the same before and after its reads saw no
//! write in between.

use std::sync::atomic::{AtomicU64, Ordering, fence};
use wasmtime_global_abi::{Header, Slot};

/// Offset of the header's `generation` from the table address.
pub(crate) const GENERATION_OFFSET: u64 = Header::GENERATION_OFFSET as u64;
/// Offset of a slot's `changes` from its `value` (the field after it).
pub(crate) const CHANGES_AFTER_VALUE: u64 = (Slot::CHANGES_OFFSET - Slot::VALUE_OFFSET) as u64;

/// The words of one memory that a write reaches, by address; `None` for a word that is not an
/// aligned word of the memory (which a declaration checked, so a writer skips it).
pub(crate) trait Words {
    fn load(&mut self, addr: u64) -> Option<u64>;
    /// Stores `value`; `release`: after every store before it, for a reader on another thread.
    fn store(&mut self, addr: u64, value: u64, release: bool) -> Option<()>;
    /// Orders every store before it before every store after it.
    fn fence(&mut self);
}

/// A write of changed values into one table: see the module's documentation.
#[must_use = "a write left unended leaves the table's generation odd"]
pub(crate) struct GenerationWrite<W: Words> {
    words: W,
    generation: u64,
    start: u64,
}

impl<W: Words> GenerationWrite<W> {
    /// Begins a write into the table at `table` of `words`: its generation odd.
    pub(crate) fn begin(mut words: W, table: u32) -> Option<GenerationWrite<W>> {
        let generation = u64::from(table) + GENERATION_OFFSET;
        let start = words.load(generation)?;
        words.store(generation, start.wrapping_add(1), false)?;
        // Every value stored below comes after the odd generation.
        words.fence();
        Some(GenerationWrite {
            words,
            generation,
            start,
        })
    }

    /// Writes `bits` into the value field at `value_addr`, then counts it in the slot's
    /// `changes`.
    pub(crate) fn slot(&mut self, value_addr: u64, bits: u64) -> Option<()> {
        self.words.store(value_addr, bits, false)?;
        let changes = value_addr + CHANGES_AFTER_VALUE;
        let count = self.words.load(changes)?;
        self.words.store(changes, count.wrapping_add(1), true)
    }

    /// Ends the write: the generation even, two past where it began, released so that a
    /// reader that sees it sees every value written.
    pub(crate) fn end(mut self) -> Option<()> {
        let end = self.start.wrapping_add(2);
        self.words.store(self.generation, end, true)
    }
}

/// The words of a shared memory, reached through `at`: atomics, as another thread's guest may
/// read them meanwhile.
pub(crate) struct Atomics<F>(pub(crate) F);

impl<'a, F: FnMut(u64) -> Option<&'a AtomicU64>> Words for Atomics<F> {
    fn load(&mut self, addr: u64) -> Option<u64> {
        Some((self.0)(addr)?.load(Ordering::Relaxed))
    }

    fn store(&mut self, addr: u64, value: u64, release: bool) -> Option<()> {
        let order = if release {
            Ordering::Release
        } else {
            Ordering::Relaxed
        };
        (self.0)(addr)?.store(value, order);
        Some(())
    }

    fn fence(&mut self) {
        fence(Ordering::Release);
    }
}

/// The bytes of an ordinary memory, little-endian: no guest of its store runs while they are
/// borrowed, so order is the program's.
pub(crate) struct Plain<'a>(pub(crate) &'a mut [u8]);

impl Plain<'_> {
    fn word(&mut self, addr: u64) -> Option<&mut [u8]> {
        let start = usize::try_from(addr).ok()?;
        self.0.get_mut(start..start.checked_add(8)?)
    }
}

impl Words for Plain<'_> {
    fn load(&mut self, addr: u64) -> Option<u64> {
        Some(u64::from_le_bytes(self.word(addr)?.try_into().ok()?))
    }

    fn store(&mut self, addr: u64, value: u64, _release: bool) -> Option<()> {
        self.word(addr)?.copy_from_slice(&value.to_le_bytes());
        Some(())
    }

    fn fence(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One write of two slots into a table at 64 of plain bytes: the generation two past, each
    /// value written and its changes raised by one, nothing else touched.
    #[test]
    fn a_write_raises_generation_by_two_and_each_slots_changes_by_one() {
        let mut bytes = vec![0xAA_u8; 256];
        let generation = 64 + GENERATION_OFFSET as usize;
        bytes[generation..generation + 8].copy_from_slice(&6u64.to_le_bytes());
        let before = bytes.clone();
        let mut write = GenerationWrite::begin(Plain(&mut bytes), 64).expect("in bounds");
        let value = |slot: u64| {
            64 + wasmtime_global_abi::slot_offset(slot as u32) + u64::from(Slot::VALUE_OFFSET)
        };
        let (a, b) = (value(0), value(1));
        write.slot(a, 7).expect("in bounds");
        write.slot(b, 9).expect("in bounds");
        write.end().expect("in bounds");
        let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        assert_eq!(word(generation), 8);
        assert_eq!((word(a as usize), word(b as usize)), (7, 9));
        let old = u64::from_le_bytes([0xAA; 8]);
        let changes = |value: u64| (value + CHANGES_AFTER_VALUE) as usize;
        assert_eq!(word(changes(a)), old.wrapping_add(1));
        assert_eq!(word(changes(b)), old.wrapping_add(1));
        let touched = [generation, a as usize, changes(a), b as usize, changes(b)];
        for (i, (x, y)) in bytes.iter().zip(&before).enumerate() {
            if !touched.iter().any(|&t| (t..t + 8).contains(&i)) {
                assert_eq!(x, y, "byte {i}");
            }
        }
    }

    /// A slot past the memory's end is refused, and the generation stays odd until the write
    /// ends.
    #[test]
    fn a_field_outside_the_memory_is_refused() {
        let mut bytes = vec![0_u8; 128];
        let mut write = GenerationWrite::begin(Plain(&mut bytes), 0).expect("in bounds");
        assert_eq!(write.slot(200, 1), None);
        write.end().expect("in bounds");
        assert_eq!(u64::from_le_bytes(bytes[24..32].try_into().unwrap()), 2);
    }
}
