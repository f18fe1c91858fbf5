//! A store's memories and tables: where each table is, the slots declared in it (one by one, or
//! a known run), and how a declaration finds its table.

use super::*;

/// The table of a store's last declaration: most declarations come from the instance that
/// declared last, so remembering it saves the lookup.
#[derive(Clone, Copy, Debug)]
pub(super) struct LastTable {
    pub(super) memory: MemoryIndex,
    pub(super) addr: u32,
    pub(super) table: TableIndex,
}

/// Where a validated table is: its address, and the capacity its header gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TablePlace {
    pub(crate) addr: u32,
    pub(crate) capacity: u32,
}

/// A memory that holds a table.
#[derive(Clone, Debug)]
pub(crate) enum GuestMemory {
    /// Ordinary memory: written by [`sync`], with the store.
    Plain(Memory),
    /// Shared memory: written by the registry, at once, with atomics.
    Shared(SharedMemory),
}

/// A memory's index in [`GlobalsCtx::memories`]: the store's memories that hold a table, in
/// the order it found them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct MemoryIndex(usize);

impl std::ops::Index<MemoryIndex> for Vec<GuestMemory> {
    type Output = GuestMemory;

    fn index(&self, memory: MemoryIndex) -> &GuestMemory {
        &self[memory.0]
    }
}

/// A table's index in [`GlobalsCtx::tables`]: the store's tables, in the order it found them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct TableIndex(usize);

impl std::ops::Index<TableIndex> for Vec<StoreTable> {
    type Output = StoreTable;

    fn index(&self, table: TableIndex) -> &StoreTable {
        &self[table.0]
    }
}

impl std::ops::IndexMut<TableIndex> for Vec<StoreTable> {
    fn index_mut(&mut self, table: TableIndex) -> &mut StoreTable {
        &mut self[table.0]
    }
}

/// A table as the store records it: where it is, and the slots the store declared in it.
#[derive(Debug)]
pub(super) struct StoreTable {
    pub(super) memory: MemoryIndex,
    pub(super) addr: u32,
    /// Its capacity at its first declaration, which it keeps (the ABI §4.4).
    pub(super) capacity: u32,
    /// For a table in a shared memory, its key in the registry.
    pub(super) shared: Option<TableKey>,
    pub(super) slots: Slots,
    /// Slots declared in this table.
    pub(super) count: u32,
    /// How many slots of the table each name has, once the table has as many slots as
    /// [`Limits::same_name_slots`] (before that, no name can have too many).
    /// Keyed by the name's hash (a valid slot's hash is its name's): two names of one hash
    /// would share a count, which only makes the limit stricter for the guest that chose them.
    /// Boxed: most tables never need it, and every table carries the field (48 bytes unboxed).
    #[allow(
        clippy::box_collection,
        reason = "a smaller StoreTable; the map is built rarely"
    )]
    pub(super) per_name: Option<Box<HashMap<u64, u32>>>,
}

/// A table's declared slots, by index: a run declared at once from what the module's instances
/// declared before ([`ModuleGlobals`]), and the slots declared one by one.
#[derive(Debug, Default)]
pub(super) struct Slots {
    pub(super) run: Option<KnownRun>,
    pub(super) one_by_one: ByIndex,
}

/// Slots of a table declared at once, by one call, as [`Run`] found them: their records are the
/// module's, shared; the store holds their bounds.
#[derive(Debug)]
pub(super) struct KnownRun {
    pub(super) layout: Arc<KnownTable>,
    pub(super) indexes: std::ops::Range<u32>,
    /// The registry version of the values written at declaration, as [`SlotRecord::written_at`].
    pub(super) written_at: u64,
}

/// A declared slot as [`Slots`] gives it, from either kind of record.
#[derive(Clone, Copy, Debug)]
pub(super) struct SlotView<'a> {
    pub(super) name: &'a Arc<str>,
    pub(super) ty: ValueType,
    pub(super) default: u64,
    pub(super) written_at: u64,
    /// Declared as a slot the module's instances declared before ([`SlotRecord::known`]).
    pub(super) known: bool,
}

/// A table's slots declared one by one, by index. What it holds is bounded by the slots
/// declared, whatever their indexes (a guest that declared only slot 65,535 once made the host
/// hold a vector of 65,536 entries): a vector while the highest index is less than
/// [`DENSE_SLACK`] past the number declared (every SDK declares slots `0, 1, 2, …`), so a
/// declaration costs no hashing; a map once a guest leaves larger gaps.
#[derive(Debug)]
pub(super) enum ByIndex {
    Dense(Vec<Option<SlotRecord>>),
    /// Hashed with std's keyed hasher: the guest chooses the indexes. Boxed, so that every
    /// table does not carry the map's 48 bytes.
    #[allow(
        clippy::box_collection,
        reason = "a smaller StoreTable; the map is built rarely"
    )]
    Sparse(Box<HashMap<u32, SlotRecord>>),
}

/// How far past the number of its declared slots a table's highest index may be while its
/// slots are kept in a vector: the vector holds at most this many empty entries.
pub(super) const DENSE_SLACK: usize = 8;

impl Default for ByIndex {
    fn default() -> ByIndex {
        ByIndex::Dense(Vec::new())
    }
}

impl Slots {
    pub(super) fn get(&self, index: u32) -> Option<SlotView<'_>> {
        if let Some(run) = &self.run
            && run.indexes.contains(&index)
        {
            return run.get(index);
        }
        let declared = match &self.one_by_one {
            ByIndex::Dense(v) => v.get(index as usize)?.as_ref(),
            ByIndex::Sparse(m) => m.get(&index),
        };
        declared.map(SlotRecord::view)
    }

    /// Records slot `index`, not declared before, as the `count`th slot of the table.
    pub(super) fn insert(&mut self, index: u32, declared: SlotRecord, count: u32) {
        let i = index as usize;
        let by_index = &mut self.one_by_one;
        if let ByIndex::Dense(v) = by_index {
            if i < v.len() {
                v[i] = Some(declared);
                return;
            }
            if i < count as usize + DENSE_SLACK {
                // Room for a guest's usual handful at once, rather than growing one by one;
                // the vector's length stays within DENSE_SLACK of the count, its capacity
                // within twice that.
                v.reserve((i + 1).max(DENSE_SLACK) - v.len());
                v.resize_with(i + 1, || None);
                v[i] = Some(declared);
                return;
            }
            let dense = std::mem::take(v);
            let mut map = HashMap::with_capacity(count as usize);
            map.extend(
                (0..)
                    .zip(dense)
                    .filter_map(|(i, d): (u32, Option<SlotRecord>)| Some((i, d?))),
            );
            *by_index = ByIndex::Sparse(Box::new(map));
        }
        if let ByIndex::Sparse(m) = by_index {
            m.insert(index, declared);
        }
    }

    /// Every slot, in index order.
    pub(super) fn iter(&self) -> Box<dyn Iterator<Item = (u32, SlotView<'_>)> + '_> {
        let run = self
            .run
            .iter()
            .flat_map(|run| run.indexes.clone().filter_map(|i| Some((i, run.get(i)?))));
        let one_by_one: Box<dyn Iterator<Item = (u32, SlotView<'_>)>> = match &self.one_by_one {
            ByIndex::Dense(v) => Box::new(
                (0..)
                    .zip(v)
                    .filter_map(|(i, d)| Some((i, d.as_ref()?.view()))),
            ),
            ByIndex::Sparse(m) => Box::new(m.iter().map(|(&i, d)| (i, d.view()))),
        };
        if self.run.is_none() && matches!(self.one_by_one, ByIndex::Dense(_)) {
            return one_by_one;
        }
        // In index order, as declarations() promises.
        let mut all: Vec<(u32, SlotView<'_>)> = run.chain(one_by_one).collect();
        all.sort_unstable_by_key(|&(i, _)| i);
        Box::new(all.into_iter())
    }
}

impl KnownRun {
    pub(super) fn get(&self, index: u32) -> Option<SlotView<'_>> {
        let slot = self.layout.get(index as usize)?.as_ref()?;
        Some(SlotView {
            name: &slot.name,
            ty: slot.ty,
            default: slot.default,
            written_at: self.written_at,
            known: true,
        })
    }
}

/// A declared slot, as small as it can be (a store may hold thousands): its hash is its name's,
/// and its address follows from its table's and its index.
#[derive(Debug)]
pub(super) struct SlotRecord {
    pub(super) name: Arc<str>,
    pub(super) ty: ValueType,
    pub(super) default: u64,
    /// The registry version of the value written at declaration: a sync does not write the
    /// name's changes up to that version again.
    pub(super) written_at: u64,
    /// Declared as a slot the module's instances declared before ([`ModuleGlobals`]): the
    /// module holds the registry's declaration of the name, so the store has none to release.
    pub(super) known: bool,
}

impl SlotRecord {
    pub(super) fn view(&self) -> SlotView<'_> {
        SlotView {
            name: &self.name,
            ty: self.ty,
            default: self.default,
            written_at: self.written_at,
            known: self.known,
        }
    }
}

impl GlobalsCtx {
    pub(crate) fn count_declare_call(&mut self) {
        self.stats.declare_calls += 1;
    }

    /// The indexes of the memories recorded, in order (not borrowing the store).
    pub(crate) fn memory_indexes(&self) -> impl Iterator<Item = MemoryIndex> + use<> {
        (0..self.memories.len()).map(MemoryIndex)
    }

    /// Recorded memory `i`.
    pub(crate) fn memory(&self, i: MemoryIndex) -> Option<GuestMemory> {
        self.memories.get(i.0).cloned()
    }

    /// The recorded memory whose base address was `base` when last looked at.
    pub(crate) fn memory_at(&self, base: usize) -> Option<MemoryIndex> {
        match self.last_table {
            Some(LastTable { memory, .. }) if self.bases[memory.0] == base => Some(memory),
            _ if self.bases.len() <= SCAN => {
                self.bases.iter().position(|&b| b == base).map(MemoryIndex)
            }
            _ => self.by_base.get(&base).copied(),
        }
    }

    /// Replaces the index of memories by base address with `bases`, every recorded memory's
    /// base address now (in the order of `memories`).
    pub(crate) fn rebase(&mut self, bases: impl IntoIterator<Item = usize>) {
        self.stats.memories_looked_at += self.memories.len() as u64;
        self.bases.clear();
        self.bases.extend(bases);
        self.index_bases();
    }

    /// Rebuilds `by_base` from `bases`, or leaves it empty while `bases` is short.
    pub(super) fn index_bases(&mut self) {
        self.by_base.clear();
        if self.bases.len() > SCAN {
            self.by_base.extend(
                self.bases
                    .iter()
                    .enumerate()
                    .map(|(i, &base)| (base, MemoryIndex(i))),
            );
        }
    }

    /// The table at `addr` of `capacity` slots in memory `memory` (recorded, or `Err` with a
    /// memory not seen before and its base address, recorded now if the table is taken),
    /// recorded if it is new.
    ///
    /// # Errors
    ///
    /// [`Error::CapacityChanged`] if the table is known with another capacity;
    /// [`Error::LimitExceeded`] for a new table past [`Limits::tables`] or
    /// [`Limits::host_bytes`]; [`Error::TableOverlaps`] if it overlaps a known table of its
    /// memory.
    ///
    /// A new table makes room for `room` slots at once (the slots of it that the module's
    /// instances declared before: at most 256 a table, and 4,096 all tables together).
    pub(super) fn find_table(
        &mut self,
        memory: MemoryRef<GuestMemory>,
        addr: u32,
        capacity: u32,
        room: usize,
    ) -> Result<TableIndex> {
        let known = match &memory {
            MemoryRef::Recorded(memory) => self.known_table(*memory, addr),
            MemoryRef::New { .. } => None,
        };
        if let Some(t) = known {
            let was = self.tables[t].capacity;
            if was != capacity {
                return Err(Error::CapacityChanged {
                    addr,
                    was,
                    now: capacity,
                });
            }
            return Ok(t);
        }
        if self.tables.len() >= self.limits.tables as usize {
            return Err(self.over(Limit::Tables));
        }
        if let MemoryRef::Recorded(memory) = memory
            && let Some(other) = self.overlapping(memory, addr, capacity)
        {
            return Err(Error::TableOverlaps { addr, other });
        }
        self.charge(TABLE_BYTES)?;
        // A memory is recorded only with a table taken, so that the tables limit bounds the
        // memories too.
        let memory = self.record_memory(memory);
        let shared = match &self.memories[memory] {
            GuestMemory::Shared(m) => Some(TableKey {
                base: m.data().as_ptr() as usize,
                addr,
            }),
            GuestMemory::Plain(_) => None,
        };
        self.tables.push(StoreTable {
            memory,
            addr,
            capacity,
            shared,
            // Room for the slots the module's instances declared before, at once.
            slots: Slots {
                run: None,
                one_by_one: ByIndex::Dense(Vec::with_capacity(room)),
            },
            count: 0,
            per_name: None,
        });
        let t = TableIndex(self.tables.len() - 1);
        self.index_table(memory, addr, t);
        Ok(t)
    }

    /// The index of `memory` in [`GlobalsCtx::memories`], recorded now if it is new.
    fn record_memory(&mut self, memory: MemoryRef<GuestMemory>) -> MemoryIndex {
        match memory {
            MemoryRef::Recorded(i) => i,
            MemoryRef::New { memory, base } => {
                self.memories.push(memory);
                self.bases.push(base);
                let i = MemoryIndex(self.memories.len() - 1);
                if self.by_base.is_empty() {
                    self.index_bases();
                } else {
                    self.by_base.insert(base, i);
                }
                i
            }
        }
    }

    /// Indexes table `t`, just recorded at `addr` of memory `memory`, once the store has more
    /// tables than it scans; and remembers it as the last.
    fn index_table(&mut self, memory: MemoryIndex, addr: u32, t: TableIndex) {
        if self.tables.len() > SCAN {
            if self.by_table.is_empty() {
                let tables = self.tables.iter().enumerate();
                self.by_table
                    .extend(tables.map(|(i, table)| ((table.memory, table.addr), TableIndex(i))));
            } else {
                self.by_table.insert((memory, addr), t);
            }
        }
        self.last_table = Some(LastTable {
            memory,
            addr,
            table: t,
        });
    }

    /// The recorded table at `addr` of recorded memory `memory`, if there is one.
    pub(super) fn known_table(&mut self, memory: MemoryIndex, addr: u32) -> Option<TableIndex> {
        if let Some(last) = self.last_table
            && (last.memory, last.addr) == (memory, addr)
        {
            return Some(last.table);
        }
        let known = if self.tables.len() <= SCAN {
            self.tables
                .iter()
                .position(|t| (t.memory, t.addr) == (memory, addr))
                .map(TableIndex)
        } else {
            self.by_table.get(&(memory, addr)).copied()
        };
        if let Some(table) = known {
            self.last_table = Some(LastTable {
                memory,
                addr,
                table,
            });
        }
        known
    }

    /// The address of a recorded table of memory `memory` that a new table at `addr` of
    /// `capacity` slots would overlap, if any. Recorded tables do not overlap one another, so
    /// the nearest below and the nearest above are the only ones to look at.
    pub(super) fn overlapping(&self, memory: MemoryIndex, addr: u32, capacity: u32) -> Option<u32> {
        let end = u64::from(addr) + abi::table_size(capacity);
        let overlaps = |t: &StoreTable| {
            t.memory == memory
                && u64::from(t.addr) < end
                && u64::from(addr) < u64::from(t.addr) + abi::table_size(t.capacity)
        };
        if self.tables.len() <= SCAN {
            return self.tables.iter().find(|t| overlaps(t)).map(|t| t.addr);
        }
        let below = self.by_table.range((memory, 0)..(memory, addr)).next_back();
        let above = self
            .by_table
            .range((memory, addr)..=(memory, u32::MAX))
            .next();
        below
            .into_iter()
            .chain(above)
            .map(|(_, &t)| &self.tables[t])
            .find(|t| overlaps(t))
            .map(|t| t.addr)
    }
}
