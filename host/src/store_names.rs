//! A store's count of its slots of each name: a store joins a name's stores at its first slot
//! of the name and leaves them at its last (the registry counts each name's stores). Keyed by
//! the address of the registry's key for the name, which is one `Arc<str>` per name.

use crate::ptr_hasher::PtrHasher;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

/// The room a store's first declaration makes for names (and a store's first unindexed
/// table for slots): a guest's usual handful at once. Growing from nothing rehashed the map
/// four times on the way to 16 names (`cargo bench --bench request`, resident pool).
pub(crate) const NAMES_AT_FIRST: usize = 16;

/// How many of a store's slots each name has.
#[derive(Debug, Default)]
pub(crate) struct StoreNames(HashMap<usize, u32, BuildHasherDefault<PtrHasher>>);

impl StoreNames {
    fn key(name: &Arc<str>) -> usize {
        Arc::as_ptr(name).cast::<u8>() as usize
    }

    /// Counts one more of the store's slots of `name` (the registry's key); whether it is the
    /// first.
    pub(crate) fn join(&mut self, name: &Arc<str>) -> bool {
        if self.0.capacity() == 0 {
            self.0.reserve(NAMES_AT_FIRST);
        }
        let n = self.0.entry(Self::key(name)).or_insert(0);
        *n += 1;
        *n == 1
    }

    /// Counts one of the store's slots of `name` less; whether it was the last.
    pub(crate) fn leave(&mut self, name: &Arc<str>) -> bool {
        let key = Self::key(name);
        match self.0.get_mut(&key) {
            Some(1) => {
                self.0.remove(&key);
                true
            }
            Some(n) => {
                *n -= 1;
                false
            }
            // Not counted, so not among the name's stores.
            None => false,
        }
    }

    /// Forgets every name (the store has released them all).
    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }
}
