//! [`GlobalsCtx`]: what one store knows of the globals its instances declared, and [`sync`].

use crate::registry::{SharedTable, SharedTarget};
use crate::shared::SharedWord;
use crate::table::ValidSlot;
use crate::{Error, Globals, Result, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use wasmtime::{AsContextMut, Memory, SharedMemory};
use wasmtime_global_abi::{Header, Status, ValueType};

/// The per-store state of wasmtime-global: put one in each store's data and hand
/// [`add_to_linker`](crate::add_to_linker) a closure that finds it.
///
/// It records every slot that the store's instances declared, so that [`sync`] can write the
/// values that changed. Dropping it releases those declarations in the [`Globals`] registry.
///
/// # Moving between stores
///
/// A ctx refers to its store's memories. After [`wasmtime::Store::into_data`] the instances are
/// gone but the ctx still names them: call [`GlobalsCtx::reset`] before putting it in another
/// store, or make a new one. Syncing a ctx that names another store's memories panics inside
/// wasmtime, as any use of a wasmtime handle with the wrong store does.
#[derive(Debug)]
pub struct GlobalsCtx {
    globals: Globals,
    /// Identifies this ctx's shared slots in the registry.
    id: u64,
    /// The registry version this store's ordinary memories are up to date with.
    synced: u64,
    instances: Vec<Instance>,
    /// Every declared slot in an ordinary memory, by name.
    by_name: HashMap<Arc<str>, Vec<SlotRef>>,
    /// Writes planned by a sync, kept to reuse the allocation.
    writes: Vec<Write>,
    stats: Stats,
}

/// The memory that holds an instance's table.
#[derive(Clone, Debug)]
pub(crate) enum GuestMemory {
    /// Ordinary memory: written by [`sync`], with the store.
    Plain(Memory),
    /// Shared memory: written by the registry, at once, with atomics.
    Shared(SharedMemory, Arc<SharedTable>),
}

#[derive(Debug)]
struct Instance {
    memory: GuestMemory,
    table_addr: u32,
    slots: HashMap<u32, Declared>,
}

#[derive(Debug)]
struct Declared {
    name: Arc<str>,
    hash: u64,
    ty: ValueType,
    default: u64,
    value_addr: u64,
}

#[derive(Clone, Copy, Debug)]
struct SlotRef {
    instance: usize,
    index: u32,
}

#[derive(Clone, Debug)]
struct Write {
    memory: Memory,
    instance: usize,
    table_addr: u32,
    addr: u64,
    bits: u64,
    index: u32,
}

/// Counters of what a [`GlobalsCtx`] has done.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Calls the store's guests made to the `declare` import.
    pub declare_calls: u64,
    /// Calls to [`sync`], including those that found nothing to do.
    pub syncs: u64,
    /// Value fields written by [`sync`].
    pub writes: u64,
}

/// One declared global, as [`GlobalsCtx::declarations`] lists it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Declaration {
    /// The table address of the declaring instance.
    pub table_addr: u32,
    /// The slot index.
    pub index: u32,
    /// The name.
    pub name: String,
    /// The type.
    pub ty: ValueType,
    /// The guest's default.
    pub default: Value,
    /// Whether the slot is in a shared memory (written at every change) rather than an ordinary
    /// one (written by [`sync`]).
    pub shared: bool,
}

const GENERATION_OFFSET: u64 = core::mem::offset_of!(Header, generation) as u64;
/// `changes` follows `value` in a slot.
const CHANGES_AFTER_VALUE: u64 = 8;

impl GlobalsCtx {
    /// A ctx that takes values from `globals`.
    #[must_use]
    pub fn new(globals: &Globals) -> GlobalsCtx {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        GlobalsCtx {
            globals: globals.clone(),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            synced: globals.version(),
            instances: Vec::new(),
            by_name: HashMap::new(),
            writes: Vec::new(),
            stats: Stats::default(),
        }
    }

    /// The registry this ctx takes values from.
    #[must_use]
    pub fn globals(&self) -> &Globals {
        &self.globals
    }

    /// What this ctx has done so far.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Every slot declared in this store, by instance then slot index.
    #[must_use]
    pub fn declarations(&self) -> Vec<Declaration> {
        let mut all = Vec::new();
        for instance in &self.instances {
            let mut slots: Vec<_> = instance.slots.iter().collect();
            slots.sort_by_key(|(index, _)| **index);
            all.extend(slots.into_iter().map(|(&index, d)| Declaration {
                table_addr: instance.table_addr,
                index,
                name: d.name.to_string(),
                ty: d.ty,
                default: Value::from_bits(d.ty, d.default),
                shared: matches!(instance.memory, GuestMemory::Shared(..)),
            }));
        }
        all
    }

    /// Forgets every instance and releases their declarations, as if the ctx were new.
    pub fn reset(&mut self) {
        self.release();
        self.instances.clear();
        self.by_name.clear();
        self.synced = self.globals.version();
    }

    fn release(&mut self) {
        let names = self.instances.iter().flat_map(|i| i.slots.values());
        self.globals.undeclare(self.id, names.map(|d| &*d.name));
    }

    /// The memory of recorded instance `instance`.
    pub(crate) fn instance_memory(&self, instance: usize) -> Option<GuestMemory> {
        self.instances.get(instance).map(|i| i.memory.clone())
    }

    pub(crate) fn table_addr(&self, instance: usize) -> Option<u32> {
        self.instances.get(instance).map(|i| i.table_addr)
    }

    pub(crate) fn count_declare_call(&mut self) {
        self.stats.declare_calls += 1;
    }

    fn instance(&mut self, instance: Option<usize>, memory: GuestMemory, table_addr: u32) -> usize {
        instance.unwrap_or_else(|| {
            self.instances.push(Instance {
                memory,
                table_addr,
                slots: HashMap::new(),
            });
            self.instances.len() - 1
        })
    }

    /// `Some(status)` if slot `slot.index` of `instance` is already declared: the same again is
    /// `OK`, anything else an error.
    fn redeclared(&self, instance: usize, slot: &ValidSlot) -> Result<bool> {
        let Some(old) = self.instances[instance].slots.get(&slot.index) else {
            return Ok(false);
        };
        let same = *old.name == slot.name
            && old.hash == slot.hash
            && old.ty == slot.ty
            && old.default == slot.default;
        if same {
            Ok(true)
        } else {
            Err(Error::SlotRedeclared {
                index: slot.index,
                name: old.name.to_string(),
            })
        }
    }

    fn record(&mut self, instance: usize, name: Arc<str>, slot: ValidSlot) {
        self.instances[instance].slots.insert(
            slot.index,
            Declared {
                name,
                hash: slot.hash,
                ty: slot.ty,
                default: slot.default,
                value_addr: slot.value_addr,
            },
        );
    }

    /// Declares `slot` of an instance with ordinary memory `memory`, writing its current value
    /// into `data`, that memory's bytes.
    pub(crate) fn declare(
        &mut self,
        instance: Option<usize>,
        memory: Memory,
        table_addr: u32,
        slot: ValidSlot,
        data: &mut [u8],
    ) -> Result<Status> {
        let instance = self.instance(instance, GuestMemory::Plain(memory), table_addr);
        if self.redeclared(instance, &slot)? {
            let bits = self
                .globals
                .get(&slot.name)
                .map_or(slot.default, Value::to_bits);
            write_value(data, &slot, bits)?;
            return Ok(Status::Ok);
        }
        let Ok((name, value)) = self.globals.declare(&slot.name, slot.ty) else {
            return Ok(Status::TypeMismatch);
        };
        let bits = value.map_or(slot.default, Value::to_bits);
        if let Err(e) = write_value(data, &slot, bits) {
            self.globals.undeclare(self.id, [&*name]);
            return Err(e);
        }
        self.by_name
            .entry(Arc::clone(&name))
            .or_default()
            .push(SlotRef {
                instance,
                index: slot.index,
            });
        self.record(instance, name, slot);
        Ok(Status::Ok)
    }

    /// Declares `slot` of an instance with shared memory `memory`: the registry writes its value
    /// now and at every change.
    pub(crate) fn declare_shared(
        &mut self,
        instance: Option<usize>,
        memory: &SharedMemory,
        table_addr: u32,
        slot: ValidSlot,
    ) -> Result<Status> {
        let word = |addr: u64| {
            SharedWord::new(memory, addr).ok_or(Error::WriteOutOfBounds {
                index: slot.index,
                addr,
            })
        };
        let known = instance.and_then(|i| match &self.instances[i].memory {
            GuestMemory::Shared(_, table) => Some((i, Arc::clone(table))),
            GuestMemory::Plain(_) => None,
        });
        let (instance, table) = match known {
            Some(known) => known,
            None => {
                let generation = word(u64::from(table_addr) + GENERATION_OFFSET)?;
                let table = Arc::new(SharedTable { generation });
                let memory = GuestMemory::Shared(memory.clone(), Arc::clone(&table));
                (self.instance(None, memory, table_addr), table)
            }
        };
        let value = word(slot.value_addr)?;
        if self.redeclared(instance, &slot)? {
            self.globals
                .rewrite_shared(&slot.name, slot.default, &value);
            return Ok(Status::Ok);
        }
        let target = SharedTarget {
            owner: self.id,
            table,
            value,
            changes: word(slot.value_addr + CHANGES_AFTER_VALUE)?,
            default: slot.default,
        };
        let Ok(name) = self.globals.declare_shared(&slot.name, slot.ty, target) else {
            return Ok(Status::TypeMismatch);
        };
        self.record(instance, name, slot);
        Ok(Status::Ok)
    }

    /// Plans the writes that bring this store up to date; returns whether there is anything new.
    fn plan(&mut self) -> bool {
        if self.globals.version() == self.synced {
            return false;
        }
        let GlobalsCtx {
            globals,
            instances,
            by_name,
            writes,
            ..
        } = self;
        self.synced = globals.changes_since(self.synced, |name, value| {
            for r in by_name.get(name).into_iter().flatten() {
                let instance = &instances[r.instance];
                if let (Some(d), GuestMemory::Plain(memory)) =
                    (instance.slots.get(&r.index), &instance.memory)
                {
                    writes.push(Write {
                        memory: *memory,
                        instance: r.instance,
                        table_addr: instance.table_addr,
                        addr: d.value_addr,
                        bits: value.map_or(d.default, Value::to_bits),
                        index: r.index,
                    });
                }
            }
        });
        true
    }
}

impl Drop for GlobalsCtx {
    fn drop(&mut self) {
        self.release();
    }
}

fn write_value(data: &mut [u8], slot: &ValidSlot, bits: u64) -> Result<()> {
    let out = usize::try_from(slot.value_addr)
        .ok()
        .and_then(|start| data.get_mut(start..start.checked_add(8)?))
        .ok_or(Error::WriteOutOfBounds {
            index: slot.index,
            addr: slot.value_addr,
        })?;
    out.copy_from_slice(&bits.to_le_bytes());
    Ok(())
}

/// Adds `delta` to the `u64` at `addr` of `memory`.
fn add(mut store: impl AsContextMut, memory: Memory, addr: u64, delta: u64) -> Option<()> {
    let mut word = [0; 8];
    memory.read(&mut store, addr as usize, &mut word).ok()?;
    let word = u64::from_le_bytes(word).wrapping_add(delta);
    memory
        .write(&mut store, addr as usize, &word.to_le_bytes())
        .ok()
}

/// Writes every change made in the registry since the last sync of this store into the
/// instances with ordinary memory that declared the changed names; returns how many value fields
/// it wrote. (Instances with shared memory are written at every change, not here.)
///
/// Writes only the slots whose names changed: O(changes), not O(declared slots). Each write
/// also raises the slot's `changes` counter by one, and each table written gets its `generation`
/// raised by two (`spec/ABI.md` §10). When nothing changed it costs one call of `get` and one
/// atomic load.
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
    // Group by instance, so that each table's generation is raised once.
    writes.sort_by_key(|w| w.instance);
    // (memory, table address, index of a slot written in it)
    let mut tables: Vec<(Memory, u64, u32)> = Vec::new();
    let result = writes.iter().try_for_each(|w| {
        // `Memory` checks the bounds; the store is borrowed mutably, so no wasm of this store
        // runs while we write.
        let fault = || Error::WriteOutOfBounds {
            index: w.index,
            addr: w.addr,
        };
        w.memory
            .write(&mut cx, w.addr as usize, &w.bits.to_le_bytes())
            .map_err(|_| fault())?;
        add(&mut cx, w.memory, w.addr + CHANGES_AFTER_VALUE, 1).ok_or_else(fault)?;
        let table = u64::from(w.table_addr);
        if tables.last().is_none_or(|&(_, t, _)| t != table) {
            tables.push((w.memory, table, w.index));
        }
        Ok(())
    });
    let result = result.and_then(|()| {
        tables.iter().try_for_each(|&(memory, table, index)| {
            add(&mut cx, memory, table + GENERATION_OFFSET, 2).ok_or(Error::WriteOutOfBounds {
                index,
                addr: table + GENERATION_OFFSET,
            })
        })
    });
    let written = writes.len();
    writes.clear();
    let ctx = get(cx.data_mut());
    ctx.stats.writes += written as u64;
    ctx.writes = writes;
    result.map(|()| written)
}
