//! [`sync`]: the writes that bring a store's ordinary memories up to date with the registry.

use super::*;
use crate::generation::{GenerationWrite, Plain};

/// Slots of a table not yet in [`GlobalsCtx::by_name`].
#[derive(Clone, Debug)]
pub(super) struct Unindexed {
    pub(super) table: TableIndex,
    pub(super) indexes: std::ops::Range<u32>,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct SlotRef {
    pub(super) table: TableIndex,
    pub(super) index: u32,
}

#[derive(Clone, Debug)]
pub(super) struct Write {
    pub(super) memory: Memory,
    /// The table's index in [`GlobalsCtx::tables`], and its address.
    pub(super) table: TableIndex,
    pub(super) table_addr: u32,
    /// The slot's value field.
    pub(super) addr: u64,
    pub(super) bits: u64,
    pub(super) index: u32,
}

/// Writes `writes`, the changed slots of one table, into their memory, in one generation of the
/// table ([`GenerationWrite`]). The store is borrowed mutably, so no wasm of it runs meanwhile.
fn write_table(mut store: impl AsContextMut, writes: &[Write]) -> Result<()> {
    let Some(first) = writes.first() else {
        return Ok(());
    };
    let generation = u64::from(first.table_addr) + GENERATION_OFFSET;
    let data = first.memory.data_mut(&mut store);
    let mut write =
        GenerationWrite::begin(Plain(data), first.table_addr).ok_or(Error::WriteOutOfBounds {
            index: first.index,
            addr: generation,
        })?;
    let written = writes.iter().try_for_each(|w| {
        write.slot(w.addr, w.bits).ok_or(Error::WriteOutOfBounds {
            index: w.index,
            addr: w.addr,
        })
    });
    // Begun, so its generation is a word of the memory.
    write.end();
    written
}

/// Writes every change made in the registry since the last sync of this store into the
/// instances with ordinary memory that declared the changed names; returns how many value fields
/// it wrote. (Instances with shared memory are written at every change, not here.)
///
/// Writes only the slots whose names changed: O(changes), not O(declared slots). Each write
/// also raises the slot's `changes` counter by one, and each table written gets its `generation`
/// raised by two ([the ABI](wasmtime_global_abi::spec) §10). When nothing changed it costs one call
/// of `get` and one atomic load.
///
/// # Errors
///
/// [`Error::WriteOutOfBounds`] if a memory no longer holds a slot it held at declaration (which
/// wasm memories, never shrinking, do not do).
///
/// # Panics
///
/// If `get` returns a ctx whose instances belong to another store (see [`GlobalsCtx`]).
///
/// # Examples
///
/// ```
/// use wasmtime::{Engine, Store};
/// use wasmtime_global::{Globals, GlobalsCtx};
///
/// let globals = Globals::new();
/// let mut store = Store::new(&Engine::default(), GlobalsCtx::new(&globals));
/// globals.set("LIMIT", 10)?;
/// assert_eq!(wasmtime_global::sync(&mut store, |ctx| ctx)?, 0); // nobody declared LIMIT
/// # Ok::<(), wasmtime_global::Error>(())
/// ```
pub fn sync<T: 'static>(
    mut store: impl AsContextMut<Data = T>,
    get: impl Fn(&mut T) -> &mut GlobalsCtx,
) -> Result<usize> {
    let mut cx = store.as_context_mut();
    let ctx = get(cx.data_mut());
    ctx.stats.syncs += 1;
    if !ctx.plan() {
        return Ok(0);
    }
    let mut writes = std::mem::take(&mut ctx.writes);
    // Group by table, so that each table's generation is raised once.
    writes.sort_by_key(|w| w.table);
    let mut tables = 0;
    let result = writes
        .chunk_by(|a, b| a.table == b.table)
        .try_for_each(|table| {
            tables += 1;
            write_table(&mut cx, table)
        });
    let written = writes.len();
    writes.clear();
    let ctx = get(cx.data_mut());
    ctx.stats.writes += written as u64;
    ctx.writes = writes;
    Tally::add(&ctx.globals.tally().syncs, 1);
    tracing::trace!(
        target: "wasmtime_global::sync",
        label = ctx.label_field(),
        written,
        tables,
        "synced"
    );
    result.map(|()| written)
}

impl GlobalsCtx {
    /// Plans the writes that bring this store up to date; returns whether there is anything new.
    pub(super) fn plan(&mut self) -> bool {
        if self.globals.version() == self.synced {
            return false;
        }
        let GlobalsCtx {
            globals,
            tables,
            memories,
            by_name,
            unindexed,
            writes,
            ..
        } = self;
        for u in unindexed.drain(..) {
            for index in u.indexes {
                if let Some(d) = tables[u.table].slots.get(index) {
                    let r = SlotRef {
                        table: u.table,
                        index,
                    };
                    by_name.entry(Arc::clone(d.name)).or_default().push(r);
                }
            }
        }
        self.synced = globals.changes_since(self.synced, |name, at, value| {
            for r in by_name.get(name).into_iter().flatten() {
                let table = &tables[r.table];
                if let (Some(d), GuestMemory::Plain(memory)) =
                    (table.slots.get(r.index), &memories[table.memory])
                    && d.written_at < at
                {
                    writes.push(Write {
                        memory: *memory,
                        table: r.table,
                        table_addr: table.addr,
                        addr: value_addr(table.addr, r.index),
                        bits: value.map_or(d.default, Value::to_bits),
                        index: r.index,
                    });
                }
            }
        });
        true
    }
}
