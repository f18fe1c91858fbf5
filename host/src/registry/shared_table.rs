//! Tables in shared memories: each one's slots by name, and the order of its writes (a set is
//! written outside the registry's lock, under the table's own).

use super::*;
use crate::generation::{Atomics, GenerationWrite};
use crate::ptr_hasher::PtrHasher;

/// The writes into shared tables that a change calls for, made after the registry's lock is
/// released.
pub(super) enum SharedWrites {
    /// One name's change, into each of its tables.
    Name(Arc<[Arc<SharedTable>]>, NameChange),
    /// Several names' changes, by table.
    Grouped(Vec<TableGroup<NameChange>>),
}

impl SharedWrites {
    /// How many shared tables these writes reach.
    pub(super) fn tables(&self) -> usize {
        match self {
            SharedWrites::Name(tables, _) => tables.len(),
            SharedWrites::Grouped(groups) => groups.len(),
        }
    }

    pub(super) fn apply(&self) {
        match self {
            SharedWrites::Name(tables, change) => {
                for table in tables.iter() {
                    table.write(std::slice::from_ref(change));
                }
            }
            SharedWrites::Grouped(groups) => {
                for TableGroup { table, items } in groups {
                    table.write(items);
                }
            }
        }
    }
}

/// Items grouped by shared table, in the order the tables first came, with an index so that
/// grouping n items costs O(n), however many tables there are.
pub(super) struct ByTable<T> {
    pub(super) groups: Vec<TableGroup<T>>,
    pub(super) index: HashMap<usize, usize>,
}

// Not derived: that would ask `T: Default`.
impl<T> Default for ByTable<T> {
    fn default() -> ByTable<T> {
        ByTable {
            groups: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl<T> ByTable<T> {
    pub(super) fn push(&mut self, table: &Arc<SharedTable>, item: T) {
        let next = self.groups.len();
        let i = *self
            .index
            .entry(Arc::as_ptr(table) as usize)
            .or_insert(next);
        if i == next {
            self.groups.push(TableGroup {
                table: Arc::clone(table),
                items: Vec::new(),
            });
        }
        self.groups[i].items.push(item);
    }
}

/// A shared table, and the items ([`ByTable`]) that go to it.
pub(super) struct TableGroup<T> {
    pub(super) table: Arc<SharedTable>,
    pub(super) items: Vec<T>,
}

/// A table in a shared memory, however many stores declared slots of it.
///
/// Its slots are written outside the registry's lock, under the table's own, so that a set of
/// one name waits only for writes to the tables that name is in. Writes to a table may come in
/// another order than their changes were made (two threads' sets, released from the registry's
/// lock in one order, reach the table in the other), so each name remembers the newest change
/// written into the table, and an older one is not written over it.
#[derive(Debug)]
pub(crate) struct SharedTable {
    pub(super) generation: SharedWord,
    /// Its capacity at its first declaration, which it keeps (the ABI §4.4).
    pub(super) capacity: u32,
    /// This registry's claim to the table, against every other registry's.
    pub(super) _claim: TableClaim,
    /// Declarations counted under the registry's lock and not yet recorded here: while there
    /// are any, a name whose last slot goes keeps what was written of it, for them.
    pub(super) pending: AtomicUsize,
    pub(super) slots: Mutex<TableSlots>,
}

#[derive(Debug, Default)]
pub(super) struct TableSlots {
    pub(super) slots: HashMap<u32, SharedSlot>,
    pub(super) names: HashMap<NameKey, NameSlots, BuildHasherDefault<PtrHasher>>,
}

/// A name as the registry's one `Arc` of it, hashed and compared by address: every name a table
/// holds comes from the registry's entry for it, so a set finds it without hashing or comparing
/// its bytes. (An entry made again for the same name is another `Arc`; by then no slot of the
/// old one is declared, and the old key keeps its `Arc`, so no address is reused.)
#[derive(Clone, Debug)]
pub(super) struct NameKey {
    /// The address of `name`'s bytes: what the key hashes and compares.
    pub(super) address: usize,
    /// Keeps the address from being reused for another name while the key lives.
    #[allow(dead_code, reason = "held for its ownership of the name's bytes")]
    pub(super) name: Arc<str>,
}

impl NameKey {
    pub(super) fn new(name: &Arc<str>) -> NameKey {
        NameKey {
            address: NameKey::address(name),
            name: Arc::clone(name),
        }
    }

    pub(super) fn address(name: &Arc<str>) -> usize {
        Arc::as_ptr(name).cast::<u8>() as usize
    }
}

impl PartialEq for NameKey {
    fn eq(&self, other: &NameKey) -> bool {
        self.address == other.address
    }
}

impl Eq for NameKey {}

impl std::hash::Hash for NameKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // As the address hashes, so that a table can be asked by address alone (`Borrow`).
        self.address.hash(state);
    }
}

impl std::borrow::Borrow<usize> for NameKey {
    fn borrow(&self) -> &usize {
        &self.address
    }
}

/// The slots of one name in a shared table, and the newest change of the name written into
/// them (version 0 for none).
#[derive(Debug, Default)]
pub(super) struct NameSlots {
    pub(super) slots: Vec<SlotTarget>,
    pub(super) written: ValueAt,
}

/// A name's value as of the version of the change that made it.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ValueAt {
    /// The registry version of the change (0: none).
    pub(super) at: u64,
    /// What guests read (`None`: their defaults).
    pub(super) value: Option<Value>,
}

/// What a set needs of a slot, kept with its name so that a set looks nothing up per slot.
#[derive(Debug)]
pub(super) struct SlotTarget {
    pub(super) index: u32,
    /// The address of the slot's `value` (its `changes` follows), both checked to be words of
    /// the table's memory when the slot was first declared.
    pub(super) value_addr: u32,
    pub(super) default: u64,
    /// The version of the change of the name last written into the slot (or that was current
    /// when the slot was declared).
    pub(super) written: u64,
}

/// A declared slot of a shared table, and the stores ([`GlobalsCtx`](crate::GlobalsCtx) ids)
/// that declared it.
#[derive(Debug)]
pub(super) struct SharedSlot {
    pub(super) name: Arc<str>,
    pub(super) ty: ValueType,
    pub(super) default: u64,
    /// The address of the slot's `value` (its `changes` follows), both checked to be words of
    /// the table's memory when the slot was first declared.
    pub(super) value_addr: u32,
    pub(super) owners: Vec<u64>,
}

impl SharedSlot {
    pub(super) fn bits(&self, value: Option<Value>) -> u64 {
        value.map_or(self.default, Value::to_bits)
    }
}

/// A change to write into a shared table: a name, the version of its change and its value.
#[derive(Clone, Debug)]
pub(super) struct NameChange {
    pub(super) name: Arc<str>,
    /// The registry version of the change.
    pub(super) at: u64,
    /// What guests read now (`None`: their defaults).
    pub(super) value: Option<Value>,
}

impl SharedTable {
    pub(super) fn lock(&self) -> MutexGuard<'_, TableSlots> {
        self.slots.lock()
    }

    /// Writes `changes` into every slot of their names, inside one odd generation
    /// ([the ABI](wasmtime_global_abi::spec) §10); a slot that already holds a newer change of its
    /// name is left as it is.
    pub(super) fn write(&self, changes: &[NameChange]) {
        let mut table = self.lock();
        // The table's address: its generation word's, less the field's offset.
        let Ok(table_addr) = u32::try_from(self.generation.addr() - GENERATION_OFFSET) else {
            return;
        };
        let mut write = None;
        for NameChange { name, at, value } in changes {
            // A name without slots here yet has a declaration on its way, which takes the value
            // from here.
            let known = match table.names.get_mut(&NameKey::address(name)) {
                Some(known) => known,
                None => table.names.entry(NameKey::new(name)).or_default(),
            };
            if known.written.at >= *at {
                continue;
            }
            known.written = ValueAt {
                at: *at,
                value: *value,
            };
            for target in known.slots.iter_mut().filter(|t| t.written < *at) {
                let addr = u64::from(target.value_addr);
                let changes = addr + CHANGES_AFTER_VALUE;
                let fields = (self.generation.at(addr), self.generation.at(changes));
                let (Some(_), Some(_)) = fields else {
                    continue; // Checked at declaration: a shared memory never shrinks.
                };
                let write = match &mut write {
                    Some(write) => write,
                    // The generation word is a word of the memory (SharedWord::new).
                    None => match GenerationWrite::begin(
                        Atomics(|addr| self.generation.at(addr)),
                        table_addr,
                    ) {
                        Some(begun) => write.insert(begun),
                        None => return,
                    },
                };
                target.written = *at;
                write.slot(addr, value.map_or(target.default, Value::to_bits));
            }
        }
        if let Some(write) = write {
            write.end();
        }
    }

    /// Records `owner`'s declaration of `slot` (named `name`) and writes its value: the newest
    /// change of the name, of `newest` (the name's last change when the registry counted the
    /// declaration) and what was written here since. The caller checked that the slot's `value`
    /// and `changes` fields, at `value_addr`, are words of the table's memory.
    pub(super) fn record(
        &self,
        owner: u64,
        slot: &CheckedSlot<'_>,
        name: &Arc<str>,
        newest: ValueAt,
        value_addr: u32,
    ) -> Result<()> {
        let mut table = self.lock();
        let TableSlots { slots, names } = &mut *table;
        if let Some(d) = slots.get(&slot.index)
            && !slot.declares(&d.name, d.ty, d.default)
        {
            return Err(Error::SlotRedeclared {
                index: slot.index,
                name: d.name.to_string(),
            });
        }
        let known = names.entry(NameKey::new(name)).or_default();
        let ValueAt { at, value: current } = if known.written.at > newest.at {
            known.written
        } else {
            newest
        };
        let declared = match slots.entry(slot.index) {
            std::collections::hash_map::Entry::Occupied(o) => {
                let d = o.into_mut();
                if !d.owners.contains(&owner) {
                    d.owners.push(owner);
                }
                d
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                // Most names have one slot in a table, and most tables one of each name.
                known.slots.reserve_exact(1);
                known.slots.push(SlotTarget {
                    index: slot.index,
                    value_addr,
                    default: slot.default,
                    written: at,
                });
                v.insert(SharedSlot {
                    name: Arc::clone(name),
                    ty: slot.ty,
                    default: slot.default,
                    value_addr,
                    owners: vec![owner],
                })
            }
        };
        // Storing the value again, though the slot holds it already, is what a declaration
        // promises (§7.3); it is not a change, so neither `changes` nor `generation` moves.
        if let Some(field) = self.generation.at(declared.value_addr.into()) {
            field.store(declared.bits(current), Ordering::Release);
        }
        Ok(())
    }

    /// Releases `owner`'s declarations of the slots `indexes`; a slot no store declares any
    /// more is forgotten.
    pub(super) fn release(&self, owner: u64, indexes: &[u32]) {
        let mut table = self.lock();
        let TableSlots { slots, names } = &mut *table;
        // The slots that go, by name, then one pass over each name's slots: a store that
        // declared one name in many slots releases them in linear time.
        let mut gone: HashMap<Arc<str>, std::collections::HashSet<u32>> = HashMap::new();
        for index in indexes {
            let std::collections::hash_map::Entry::Occupied(mut o) = slots.entry(*index) else {
                continue;
            };
            o.get_mut().owners.retain(|&o| o != owner);
            if o.get().owners.is_empty() {
                let slot = o.remove();
                gone.entry(slot.name).or_default().insert(*index);
            }
        }
        for (name, indexes) in gone {
            let address = NameKey::address(&name);
            if let Some(known) = names.get_mut(&address) {
                known.slots.retain(|t| !indexes.contains(&t.index));
                // A declaration on its way may need what was written of the name: keep it then.
                if known.slots.is_empty() && self.pending.load(Ordering::Acquire) == 0 {
                    names.remove(&address);
                }
            }
        }
    }
}

/// A slot of a shared memory that passed validation, as [`Globals::declare_shared_slot`] takes it.
#[derive(Debug)]
pub(crate) struct SharedDeclaration<'a> {
    /// The [`GlobalsCtx`](crate::GlobalsCtx) that declares it.
    pub(crate) owner: u64,
    pub(crate) memory: &'a SharedMemory,
    pub(crate) table: TableKey,
    /// The table's capacity, as its header gave it.
    pub(crate) capacity: u32,
    pub(crate) slot: &'a CheckedSlot<'a>,
    /// Whether the store declared this slot before (then it is not counted again).
    pub(crate) again: bool,
}
