//! [`GlobalsCtx`]: what one store knows of the globals its instances declared, and [`sync`].

use crate::table::ValidSlot;
use crate::{Error, Globals, Result, Value};
use std::collections::HashMap;
use std::sync::Arc;
use wasmtime::{AsContextMut, Memory};
use wasmtime_global_abi::{Status, ValueType};

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
    /// The registry version this store's memories are up to date with.
    synced: u64,
    instances: Vec<Instance>,
    /// Every declared slot of every instance, by name.
    by_name: HashMap<Arc<str>, Vec<SlotRef>>,
    /// Writes planned by a sync, kept to reuse the allocation.
    writes: Vec<Write>,
    stats: Stats,
}

#[derive(Debug)]
struct Instance {
    memory: Memory,
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

#[derive(Clone, Copy, Debug)]
struct Write {
    memory: Memory,
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
}

impl GlobalsCtx {
    /// A ctx that takes values from `globals`.
    #[must_use]
    pub fn new(globals: &Globals) -> GlobalsCtx {
        GlobalsCtx {
            globals: globals.clone(),
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
        self.globals.undeclare(names.map(|d| &*d.name));
    }

    /// The memory of recorded instance `instance`.
    pub(crate) fn instance_memory(&self, instance: usize) -> Option<Memory> {
        self.instances.get(instance).map(|i| i.memory)
    }

    pub(crate) fn table_addr(&self, instance: usize) -> Option<u32> {
        self.instances.get(instance).map(|i| i.table_addr)
    }

    pub(crate) fn count_declare_call(&mut self) {
        self.stats.declare_calls += 1;
    }

    /// Declares `slot` of the instance at `instance` (or of a new instance with `memory` and
    /// `table_addr`), writing its current value into `data`, that memory's bytes.
    pub(crate) fn declare(
        &mut self,
        instance: Option<usize>,
        memory: Memory,
        table_addr: u32,
        slot: ValidSlot,
        data: &mut [u8],
    ) -> Result<Status> {
        let instance = match instance {
            Some(i) => i,
            None => {
                self.instances.push(Instance {
                    memory,
                    table_addr,
                    slots: HashMap::new(),
                });
                self.instances.len() - 1
            }
        };
        let record = &self.instances[instance];
        if let Some(old) = record.slots.get(&slot.index) {
            let same = *old.name == slot.name
                && old.hash == slot.hash
                && old.ty == slot.ty
                && old.default == slot.default;
            if !same {
                return Err(Error::SlotRedeclared {
                    index: slot.index,
                    name: old.name.to_string(),
                });
            }
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
            self.globals.undeclare([&*name]);
            return Err(e);
        }
        self.by_name
            .entry(Arc::clone(&name))
            .or_default()
            .push(SlotRef {
                instance,
                index: slot.index,
            });
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
                if let Some(d) = instance.slots.get(&r.index) {
                    writes.push(Write {
                        memory: instance.memory,
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

/// Writes every change made in the registry since the last sync of this store into the
/// instances that declared the changed names; returns how many value fields it wrote.
///
/// Writes only the slots whose names changed: O(changes), not O(declared slots). When nothing
/// changed it costs one call of `get` and one atomic load.
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
    let result = writes.iter().try_for_each(|w| {
        // `Memory::write` checks the bounds; the store is borrowed mutably, so no wasm of this
        // store runs while we write.
        w.memory
            .write(&mut cx, w.addr as usize, &w.bits.to_le_bytes())
            .map_err(|_| Error::WriteOutOfBounds {
                index: w.index,
                addr: w.addr,
            })
    });
    let written = writes.len();
    writes.clear();
    let ctx = get(cx.data_mut());
    ctx.stats.writes += written as u64;
    ctx.writes = writes;
    result.map(|()| written)
}
