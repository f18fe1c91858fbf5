//! Tables in shared memories, process-wide: which registry writes each one, and where it ends.
//!
//! A shared memory may be imported by stores of several registries (a fleet's and a tenant's,
//! or two unrelated ones). Each registry writes the tables it knows under its own locks, with
//! its own versions, so two registries writing one table would tear its batches and move its
//! `generation` backwards. Every table of a shared memory is therefore claimed here by the
//! first registry that declares into it; another registry's declaration into it is refused
//! ([`Error::TableOfAnotherRegistry`]), as is a table that overlaps a claimed one
//! ([`Error::TableOverlaps`], [the ABI](wasmtime_global_abi::spec) §4).
//!
//! One lock for the process, taken only when a registry meets a table it does not know yet and
//! when such a table goes: never while a set writes, never per declaration of a known table.

use crate::{Error, Result};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use wasmtime_global_abi::table_size;

/// A table in a shared memory: the memory's base address and the table's address in it. A shared
/// memory never moves, and the registry keeps every memory in this map alive (its
/// `SharedTable` holds a handle), so no other memory can take the same base address meanwhile.
/// Ordered by memory, then address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct TableKey {
    pub(crate) base: usize,
    pub(crate) addr: u32,
}

#[derive(Debug)]
struct Claim {
    /// One past the table's last byte.
    end: u64,
    registry: u64,
    /// Which claim of the key this is: a table made again for the same key (the old one going
    /// while a write still held it) must not have its claim released by the old one.
    serial: u64,
}

static CLAIMS: Mutex<BTreeMap<TableKey, Claim>> = Mutex::new(BTreeMap::new());

/// A registry's claim to the table at a key, released when dropped.
#[derive(Debug)]
pub(crate) struct TableClaim {
    key: TableKey,
    serial: u64,
}

impl TableClaim {
    /// Claims the table at `key` (memory base and address), of `capacity` slots, for
    /// `registry`.
    ///
    /// # Errors
    ///
    /// [`Error::TableOfAnotherRegistry`] if another registry claimed it;
    /// [`Error::TableOverlaps`] if it overlaps a table another claim holds.
    pub(crate) fn take(key: TableKey, capacity: u32, registry: u64) -> Result<TableClaim> {
        static SERIAL: AtomicU64 = AtomicU64::new(0);
        let TableKey { base, addr } = key;
        let at = |addr| TableKey { base, addr };
        let end = u64::from(addr) + table_size(capacity);
        let mut claims = CLAIMS.lock();
        if let Some(claim) = claims.get(&key)
            && claim.registry != registry
        {
            return Err(Error::TableOfAnotherRegistry { addr });
        }
        // Claims do not overlap one another, so the nearest below and above are enough.
        let below = claims.range(at(0)..at(addr)).next_back();
        if let Some((&TableKey { addr: other, .. }, claim)) = below
            && claim.end > u64::from(addr)
        {
            return Err(Error::TableOverlaps { addr, other });
        }
        let above = claims
            .range(at(addr)..=at(u32::MAX))
            .find(|(k, _)| **k != key);
        if let Some((&TableKey { addr: other, .. }, _)) = above
            && u64::from(other) < end
        {
            return Err(Error::TableOverlaps { addr, other });
        }
        let serial = SERIAL.fetch_add(1, Ordering::Relaxed);
        claims.insert(
            key,
            Claim {
                end,
                registry,
                serial,
            },
        );
        Ok(TableClaim { key, serial })
    }
}

impl Drop for TableClaim {
    fn drop(&mut self) {
        let mut claims = CLAIMS.lock();
        if claims
            .get(&self.key)
            .is_some_and(|claim| claim.serial == self.serial)
        {
            claims.remove(&self.key);
        }
    }
}
