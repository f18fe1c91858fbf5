//! [`Globals`]: the one registry an embedder shares across every store and thread.

use crate::claims::TableClaim;
use crate::shared::SharedWord;
use crate::snapshot::{NameState, Snapshot, Tally};
use crate::table::{CHANGES_AFTER_VALUE, CheckedSlot, GENERATION_OFFSET};
use crate::{Error, Result, Value};
use parking_lot::{
    ArcRwLockWriteGuard, Mutex, MutexGuard, RawRwLock, RwLock, RwLockReadGuard, RwLockWriteGuard,
};
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering, fence};
use std::sync::{Arc, Weak};
use wasmtime::SharedMemory;
use wasmtime_global_abi::{ValueType, check_name};

/// The registry of values the host sets: wazero-global's `New()`.
///
/// Cheap to clone (an [`Arc`]), `Send + Sync`: call [`set`](Globals::set) and
/// [`del`](Globals::del) from any thread. A change reaches an instance whose memory is shared
/// before `set` returns, and an instance whose memory is not shared at its store's next
/// [sync](crate::sync).
///
/// # Types
///
/// A name's type is fixed by the first instance that declares it, for as long as any instance
/// that declared it is alive. The typed setters ([`set_bool`](Globals::set_bool) and so on) refuse
/// a value of another type with [`Error::TypeMismatch`]; [`set`](Globals::set) writes untyped bits,
/// as wazero-global's `Set` does, and is accepted for any type. A value written as text
/// ([`Value::Literal`], what the sources set for a name of no type yet) fixes no type either:
/// guests read the value of their type it is (`1` is `1.0` to an `F64` guest), and one that is
/// none (`30` to a `DURATION` guest, which needs a unit) is withheld from them
/// ([`NameState::withheld`]), so that it means the same whether it was set before or after they
/// declared the name, when it is refused with [`Error::NotOfType`].
///
/// # Examples
///
/// ```
/// use wasmtime_global::{Globals, Value};
///
/// let globals = Globals::new();
/// globals.set("MAX_CONNECTIONS", 512)?;
/// globals.set_bool("FEATURE_X", true)?;
/// assert_eq!(globals.get("FEATURE_X"), Some(Value::Bool(true)));
/// assert_eq!(globals.del("FEATURE_X")?, Some(Value::Bool(true)));
/// assert_eq!(globals.get("FEATURE_X"), None);
/// # Ok::<(), wasmtime_global::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Globals {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Tells this registry from every other of the process, for the claims on shared tables.
    id: RegistryId,
    /// Mirror of `State::version`, stored after every change, so a sync with nothing to do costs
    /// one atomic load and takes no lock.
    version: AtomicU64,
    /// How many times a definition changed here or in a registry above ([`Globals::define`],
    /// [`Globals::undefine`]): a definition decides which declarations are accepted without
    /// always moving `version`, so what a module's instances learned of this registry
    /// ([`ModuleGlobals`](crate::ModuleGlobals)) holds only while this is unchanged.
    definitions: AtomicU64,
    /// In an `Arc`, so that a change can hold the locks of every registry below this one
    /// ([`Globals::child`]) in one list of owned guards.
    state: Arc<RwLock<State>>,
    /// The registry this one overlays, if any.
    parent: Option<Globals>,
    /// What [`Globals::snapshot`] counts.
    pub(crate) tally: Tally,
    /// The host memory its stores' guests hold, and the most they may ([`Globals::set_max_host_bytes`]).
    budget: Budget,
}

/// Host memory that the stores of a registry, and of the registries below it, hold for their
/// guests' declarations: what they reserved ([`GlobalsCtx`](crate::GlobalsCtx) reserves it in
/// chunks of [`RESERVE_CHUNK`] bytes), and the most they may.
#[derive(Debug)]
struct Budget {
    held: AtomicU64,
    max: AtomicU64,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            held: AtomicU64::new(0),
            max: AtomicU64::new(u64::MAX),
        }
    }
}

/// The smallest amount a store reserves of its registries' [`Budget`]s at a time: a store that
/// declares a handful of globals reserves once and gives it back once, two atomic operations
/// per registry.
pub(crate) const RESERVE_CHUNK: u64 = 8 * 1024;

#[derive(Debug, Default)]
struct State {
    /// Incremented by every change.
    version: u64,
    entries: Entries,
    /// For every name whose last change is still of interest, the version of that change. One
    /// row per name, so a sync reads only the names changed since it last ran.
    changes: BTreeMap<u64, Arc<str>>,
    /// Names that lost their last declaration with nothing set for them, since the last
    /// [sweep](Globals::sweep): the entries kept idle (see [`Globals::undeclare`]), and perhaps
    /// some declared again since. A lock of its own, as it grows under the registry's read lock.
    idle: Mutex<Vec<Arc<str>>>,
    /// Every table in a shared memory that some store declared a slot of, whichever store: one
    /// memory may be used by instances of several stores (the wasi-threads shape), and each
    /// table must be written as one, with one generation. Weak: a table lives while a name's
    /// entry lists it or a write to it is under way, and one key never has two live tables.
    shared_tables: HashMap<TableKey, Weak<SharedTable>>,
    /// Live entries of `shared_tables` at its last sweep of dead ones.
    shared_tables_swept: usize,
    /// The registries that overlay this one ([`Globals::child`]). Under the registry's lock, so
    /// that a change and the making of a child are ordered: a child either is made from the
    /// values before the change, then gets it, or is made after it.
    children: Vec<Weak<Inner>>,
    /// Live entries of `children` at its last sweep of dead ones.
    children_swept: usize,
    /// Entries of `children` looked at by sweeps, all told: what making children costs beyond
    /// O(1) each (a sweep at every new child made 50,000 children take 9.5 s).
    children_looked_at: u64,
}

impl Drop for Inner {
    /// Releases the chain of parents one at a time: a registry made by a chain of 100,000
    /// [`Globals::child`] calls would otherwise overflow the stack as each parent's drop ran
    /// inside its child's.
    fn drop(&mut self) {
        let mut parent = self.parent.take();
        while let Some(globals) = parent {
            parent = Arc::into_inner(globals.inner).and_then(|mut inner| inner.parent.take());
        }
    }
}

/// A number no other registry of the process has.
#[derive(Debug)]
struct RegistryId(u64);

impl Default for RegistryId {
    fn default() -> RegistryId {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        RegistryId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// A declaration to release: its name, its slot if in a shared table, and whether it is the
/// store's last of the name (the store leaves the name's [`stores`](NameState::stores)).
pub(crate) type Release<'a> = (&'a str, Option<(TableKey, u32)>, bool);

/// A table in a shared memory: the memory's base address and the table's address in it. A shared
/// memory never moves, and the registry keeps every memory in this map alive (its
/// [`SharedTable`] holds a handle), so no other memory can take the same base address meanwhile.
pub(crate) type TableKey = (usize, u32);

#[derive(Debug)]
struct Entry {
    /// The map's key for this entry, so that one lookup finds both.
    key: Arc<str>,
    value: Option<Value>,
    /// What the parent registry's guests read for this name ([`Globals::child`]): its value, its
    /// parent's, or its defined default. This registry's guests read it unless they declared
    /// the name with another type (see [`Entry::accepts`]).
    inherited: Option<Value>,
    declared: Declarations,
    /// How many stores hold at least one of the declarations `declared` counts. 32 bits, so
    /// that it and `bound` take the room of one word: an entry's size counts (a registry of
    /// millions of names, `host/tests/limits.rs`).
    /// Its top bit ([`IDLING`]) says whether the name is on the registry's idle list
    /// ([`State::released`]), so that it goes there once however often its last declaration
    /// goes (one instance per request releases the same names at every request).
    stores: AtomicU32,
    /// The type the nearest registry above that defines the name fixed ([`Globals::define`]):
    /// it binds this registry's guests and typed sets as a definition here would.
    bound: Option<ValueType>,
    /// The version of the name's last change while declared; 0 for none (versions start at 1).
    changed_at: u64,
    /// The shared tables that hold slots of this name, written at every change.
    shared: NameTables,
    /// The type and default the embedder fixed ([`Globals::define`]). Boxed: few names have
    /// one, and every entry's size counts (a registry of millions of names).
    defined: Option<Box<Definition>>,
}

/// A name's type, and optionally its default, as the embedder fixed them with
/// [`Globals::define`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Definition {
    /// The only type guests may declare the name with.
    pub ty: ValueType,
    /// What every guest reads while no value is set, instead of its own default; `None`: each
    /// guest's own default.
    pub default: Option<Value>,
}

/// The shared tables that hold slots of a name (`None` for most names: no shared slot).
#[derive(Debug, Default)]
struct NameTables(Option<Box<TablesOfName>>);

#[derive(Debug)]
struct TablesOfName {
    /// The tables, for sets: made again when a table comes or goes (in O(tables), as finding
    /// one is), so that a set takes one reference to all of them, not one per table.
    tables: Arc<[Arc<SharedTable>]>,
    /// How many declarations of the name (one per store and slot) each table of `tables`
    /// holds, in the same order.
    counts: Vec<u32>,
}

impl NameTables {
    /// Counts one more declaration of the name in `table`.
    fn add(&mut self, table: &Arc<SharedTable>) {
        let of = self.0.get_or_insert_with(|| {
            Box::new(TablesOfName {
                tables: Arc::new([]),
                counts: Vec::new(),
            })
        });
        match of.tables.iter().position(|t| Arc::ptr_eq(t, table)) {
            Some(i) => of.counts[i] += 1,
            None => {
                of.tables = of.tables.iter().chain([table]).cloned().collect();
                of.counts.reserve_exact(1);
                of.counts.push(1);
            }
        }
    }

    /// Counts one declaration of the name in `table` less; forgets the table at none.
    fn remove(&mut self, table: &Arc<SharedTable>) {
        let Some(of) = &mut self.0 else {
            return;
        };
        let Some(i) = of.tables.iter().position(|t| Arc::ptr_eq(t, table)) else {
            return;
        };
        of.counts[i] -= 1;
        if of.counts[i] == 0 {
            of.counts.remove(i);
            if of.counts.is_empty() {
                self.0 = None;
            } else {
                of.tables = of
                    .tables
                    .iter()
                    .filter(|t| !Arc::ptr_eq(t, table))
                    .cloned()
                    .collect();
            }
        }
    }

    fn tables(&self) -> &[Arc<SharedTable>] {
        self.0.as_ref().map_or(&[], |of| &of.tables)
    }

    /// The tables as one shared list, for a set to take whole.
    fn shared_list(&self) -> Arc<[Arc<SharedTable>]> {
        self.0
            .as_ref()
            .map_or_else(|| Arc::new([]) as Arc<[_]>, |of| Arc::clone(&of.tables))
    }
}

/// The writes into shared tables that a change calls for, made after the registry's lock is
/// released.
enum SharedWrites {
    /// One name's change, into each of its tables.
    Name(Arc<[Arc<SharedTable>]>, Change),
    /// Several names' changes, by table.
    Grouped(Vec<(Arc<SharedTable>, Vec<Change>)>),
}

impl SharedWrites {
    /// How many shared tables these writes reach.
    fn tables(&self) -> usize {
        match self {
            SharedWrites::Name(tables, _) => tables.len(),
            SharedWrites::Grouped(groups) => groups.len(),
        }
    }

    fn apply(&self) {
        match self {
            SharedWrites::Name(tables, change) => {
                for table in tables.iter() {
                    table.write(std::slice::from_ref(change));
                }
            }
            SharedWrites::Grouped(groups) => {
                for (table, changes) in groups {
                    table.write(changes);
                }
            }
        }
    }
}

/// Items grouped by shared table, in the order the tables first came, with an index so that
/// grouping n items costs O(n), however many tables there are.
#[derive(Default)]
struct ByTable<T> {
    groups: Vec<(Arc<SharedTable>, Vec<T>)>,
    index: HashMap<usize, usize>,
}

impl<T> ByTable<T> {
    fn push(&mut self, table: &Arc<SharedTable>, item: T) {
        let next = self.groups.len();
        let i = *self
            .index
            .entry(Arc::as_ptr(table) as usize)
            .or_insert(next);
        if i == next {
            self.groups.push((Arc::clone(table), Vec::new()));
        }
        self.groups[i].1.push(item);
    }
}

/// A name's live declarations, across every store, and the type they fix, in one word, so that a
/// declaration or its release needs only the registry's read lock: the type's tag in the top 8
/// bits, the count in the other 56 (0: nobody declares the name; the tag is then stale).
#[derive(Debug, Default)]
struct Declarations(AtomicU64);

const COUNT_BITS: u32 = 56;
const COUNT: u64 = (1 << COUNT_BITS) - 1;

impl Declarations {
    fn word(count: u64, ty: ValueType) -> u64 {
        u64::from(ty.tag()) << COUNT_BITS | count
    }

    /// The type instances declared the name with, if any declares it.
    fn ty(&self) -> Option<ValueType> {
        let word = self.0.load(Ordering::Acquire);
        if word & COUNT == 0 {
            None
        } else {
            ValueType::from_tag((word >> COUNT_BITS) as u32)
        }
    }

    fn any(&self) -> bool {
        self.0.load(Ordering::Acquire) & COUNT != 0
    }

    fn count(&self) -> u64 {
        self.0.load(Ordering::Acquire) & COUNT
    }

    /// Counts one more declaration as `ty`, unless the name is declared with another type or,
    /// when nobody declares it, its value `typed` is of another type; returns that type.
    fn add(&self, ty: ValueType, typed: Option<ValueType>) -> core::result::Result<(), ValueType> {
        let mut word = self.0.load(Ordering::Acquire);
        loop {
            let count = word & COUNT;
            let fixed = match count {
                0 => typed,
                _ => ValueType::from_tag((word >> COUNT_BITS) as u32),
            };
            if let Some(other) = fixed.filter(|&t| t != ty) {
                return Err(other);
            }
            let next = Declarations::word(count + 1, ty);
            match self
                .0
                .compare_exchange_weak(word, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Ok(()),
                Err(now) => word = now,
            }
        }
    }

    /// Counts one declaration less; returns whether that was the last.
    fn remove(&self) -> bool {
        let before = self
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |word| {
                (word & COUNT != 0).then(|| word - 1)
            });
        before.is_ok_and(|word| word & COUNT == 1)
    }
}

/// The registry's entries, split by name into shards that each grow, rehash and shrink on their
/// own: a registry of many names never moves all of them at once while it holds its lock (one
/// table of 65,536 entries took 14 ms to grow, most of it faulting in the new table's pages).
#[derive(Debug)]
struct Entries {
    shards: Box<[HashMap<Arc<str>, Entry>]>,
    len: usize,
}

/// How many shards [`Entries`] has: a power of two.
const SHARDS: usize = 64;

impl Default for Entries {
    fn default() -> Entries {
        Entries {
            shards: (0..SHARDS).map(|_| HashMap::new()).collect(),
            len: 0,
        }
    }
}

impl Entries {
    /// The shard of `name`: the top bits of a hash of its bytes taken eight at a time (FxHash's
    /// step), a few nanoseconds for a name where FNV-1a, a byte at a time, took 20 to 25 (a
    /// declaration and its release each pick a shard; `perf` on `cargo bench -p
    /// wasmtime-global-tests --bench request`). A guest can pick names that share a shard; then
    /// the registry is one table, as if it had no shards: the shards bound the time of a
    /// rehash, and each shard's map is keyed by SipHash against collisions.
    fn shard(name: &str) -> usize {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut words = name.as_bytes().chunks_exact(8);
        let mut h = (name.len() as u64).wrapping_mul(K);
        for word in words.by_ref() {
            let word = word.try_into().map_or(0, u64::from_le_bytes);
            h = (h.rotate_left(5) ^ word).wrapping_mul(K);
        }
        // The last few bytes a byte at a time: a copy of a length not known here is a call.
        let tail = words.remainder().iter().rev();
        let word = tail.fold(0, |w, &b| (w << 8) | u64::from(b));
        h = (h.rotate_left(5) ^ word).wrapping_mul(K);
        (h >> (64 - SHARDS.trailing_zeros())) as usize
    }

    fn get(&self, name: &str) -> Option<&Entry> {
        self.shards[Entries::shard(name)].get(name)
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut Entry> {
        self.shards[Entries::shard(name)].get_mut(name)
    }

    fn get_key_value(&self, name: &str) -> Option<(&Arc<str>, &Entry)> {
        self.shards[Entries::shard(name)].get_key_value(name)
    }

    fn insert(&mut self, key: Arc<str>, entry: Entry) {
        if self.shards[Entries::shard(&key)]
            .insert(key, entry)
            .is_none()
        {
            self.len += 1;
        }
    }

    /// Removes `name`'s entry. A hash map keeps its capacity; a shard gives it back once three
    /// quarters are unused, so the registry's memory follows what it holds. Each shrink halves
    /// the shard at least, so the rehashing costs O(1) per removal, amortised.
    fn remove(&mut self, name: &str) {
        let shard = &mut self.shards[Entries::shard(name)];
        if shard.remove(name).is_some() {
            self.len -= 1;
        }
        let (len, capacity) = (shard.len(), shard.capacity());
        if capacity > 16 && len < capacity / 4 {
            shard.shrink_to(len * 2);
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn iter(&self) -> impl Iterator<Item = (&Arc<str>, &Entry)> {
        self.shards.iter().flatten()
    }

    fn values(&self) -> impl Iterator<Item = &Entry> {
        self.shards.iter().flat_map(HashMap::values)
    }
}

/// The bit of [`Entry::stores`] that says the entry is on the idle list: a count of stores
/// never comes near it.
const IDLING: u32 = 1 << 31;

/// How many idle entries the registry keeps at least (see [`Globals::undeclare`]).
const IDLE_KEPT: usize = 1024;

/// How many names [`Globals::undeclare`] releases under one hold of the registry's lock.
const UNDECLARE_CHUNK: usize = 256;

/// A table in a shared memory, however many stores declared slots of it.
///
/// Its slots are written outside the registry's lock, under the table's own, so that a set of
/// one name waits only for writes to the tables that name is in. Writes to a table may come in
/// another order than their changes were made (two threads' sets, released from the registry's
/// lock in one order, reach the table in the other), so each name remembers the newest change
/// written into the table, and an older one is not written over it.
#[derive(Debug)]
pub(crate) struct SharedTable {
    generation: SharedWord,
    /// Its capacity at its first declaration, which it keeps (the ABI §4.4).
    capacity: u32,
    /// This registry's claim to the table, against every other registry's.
    _claim: TableClaim,
    /// Declarations counted under the registry's lock and not yet recorded here: while there
    /// are any, a name whose last slot goes keeps what was written of it, for them.
    pending: AtomicUsize,
    slots: Mutex<TableSlots>,
}

#[derive(Debug, Default)]
struct TableSlots {
    slots: HashMap<u32, SharedSlot>,
    names: HashMap<NameKey, NameSlots, BuildHasherDefault<PtrHasher>>,
}

/// A name as the registry's one `Arc` of it, hashed and compared by address: every name a table
/// holds comes from the registry's entry for it, so a set finds it without hashing or comparing
/// its bytes. (An entry made again for the same name is another `Arc`; by then no slot of the
/// old one is declared, and the old key keeps its `Arc`, so no address is reused.)
#[derive(Clone, Debug)]
struct NameKey {
    /// The address of `name`'s bytes: what the key hashes and compares.
    address: usize,
    /// Keeps the address from being reused for another name while the key lives.
    #[allow(dead_code, reason = "held for its ownership of the name's bytes")]
    name: Arc<str>,
}

impl NameKey {
    fn new(name: &Arc<str>) -> NameKey {
        NameKey {
            address: NameKey::address(name),
            name: Arc::clone(name),
        }
    }

    fn address(name: &Arc<str>) -> usize {
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

/// Hashes one address: a multiply, as the keys are addresses the host chose, not input.
#[derive(Default)]
pub(crate) struct PtrHasher(u64);

impl std::hash::Hasher for PtrHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }
}

/// The slots of one name in a shared table, and the newest change of the name written into them:
/// the version it was made at (0 for none) and the value.
#[derive(Debug, Default)]
struct NameSlots {
    slots: Vec<SlotTarget>,
    written: (u64, Option<Value>),
}

/// What a set needs of a slot, kept with its name so that a set looks nothing up per slot.
#[derive(Debug)]
struct SlotTarget {
    index: u32,
    /// The address of the slot's `value` (its `changes` follows), both checked to be words of
    /// the table's memory when the slot was first declared.
    value_addr: u32,
    default: u64,
    /// The version of the change of the name last written into the slot (or that was current
    /// when the slot was declared).
    written: u64,
}

/// A declared slot of a shared table, and the stores ([`GlobalsCtx`](crate::GlobalsCtx) ids)
/// that declared it.
#[derive(Debug)]
struct SharedSlot {
    name: Arc<str>,
    ty: ValueType,
    default: u64,
    /// The address of the slot's `value` (its `changes` follows), both checked to be words of
    /// the table's memory when the slot was first declared.
    value_addr: u32,
    owners: Vec<u64>,
}

impl SharedSlot {
    fn bits(&self, value: Option<Value>) -> u64 {
        value.map_or(self.default, Value::to_bits)
    }
}

/// Changes to write into one shared table: each name with the version of its change and its
/// value.
type Change = (Arc<str>, u64, Option<Value>);

impl SharedTable {
    fn lock(&self) -> MutexGuard<'_, TableSlots> {
        self.slots.lock()
    }

    /// Writes `changes` into every slot of their names, inside one odd generation
    /// ([the ABI](wasmtime_global_abi::spec) §10); a slot that already holds a newer change of its
    /// name is left as it is.
    fn write(&self, changes: &[Change]) {
        let mut table = self.lock();
        let mut start = None;
        for (name, at, value) in changes {
            // A name without slots here yet has a declaration on its way, which takes the value
            // from here.
            let known = match table.names.get_mut(&NameKey::address(name)) {
                Some(known) => known,
                None => table.names.entry(NameKey::new(name)).or_default(),
            };
            if known.written.0 >= *at {
                continue;
            }
            known.written = (*at, *value);
            for target in known.slots.iter_mut().filter(|t| t.written < *at) {
                let addr = u64::from(target.value_addr);
                let fields = (self.generation.at(addr), self.generation.at(addr + 8));
                let (Some(value_field), Some(changes_field)) = fields else {
                    continue; // Checked at declaration: a shared memory never shrinks.
                };
                start.get_or_insert_with(|| {
                    let start = self.generation.load(Ordering::Relaxed);
                    // Odd: a write is in progress. The fence keeps every value store below
                    // after it.
                    self.generation
                        .store(start.wrapping_add(1), Ordering::Relaxed);
                    fence(Ordering::Release);
                    start
                });
                target.written = *at;
                value_field.store(
                    value.map_or(target.default, Value::to_bits),
                    Ordering::Relaxed,
                );
                let changes = changes_field.load(Ordering::Relaxed);
                changes_field.store(changes.wrapping_add(1), Ordering::Release);
            }
        }
        if let Some(start) = start {
            // Even again: release, so a reader that sees it sees every value above.
            self.generation
                .store(start.wrapping_add(2), Ordering::Release);
        }
    }

    /// Records `owner`'s declaration of `slot` (named `name`) and writes its value: the newest
    /// change of the name, of `newest` (the name's last change when the registry counted the
    /// declaration) and what was written here since. The caller checked that the slot's `value`
    /// and `changes` fields, at `value_addr`, are words of the table's memory.
    fn record(
        &self,
        owner: u64,
        slot: &CheckedSlot<'_>,
        name: &Arc<str>,
        newest: (u64, Option<Value>),
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
        let (at, current) = if known.written.0 > newest.0 {
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
    fn release(&self, owner: u64, indexes: &[u32]) {
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

/// A slot of a shared memory that passed validation, as [`Globals::declare_shared`] takes it.
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

/// Several changes that every instance sees all at once or not at all: see [`Globals::batch`].
#[derive(Debug)]
#[must_use = "a batch does nothing until it is committed"]
pub struct Batch<'a> {
    globals: &'a Globals,
    ops: Vec<(String, Option<Value>)>,
}

impl Batch<'_> {
    /// Adds [`Globals::set`] of `name`.
    pub fn set(&mut self, name: &str, bits: u64) -> &mut Self {
        self.set_value(name, Value::Bits(bits))
    }

    /// Adds a set of `name` to `value` (see [`Globals::set_value`]).
    pub fn set_value(&mut self, name: &str, value: Value) -> &mut Self {
        self.ops.push((name.to_owned(), Some(value)));
        self
    }

    /// Adds [`Globals::del`] of `name`.
    pub fn del(&mut self, name: &str) -> &mut Self {
        self.ops.push((name.to_owned(), None));
        self
    }

    /// Applies every change, in order, as one: a sync writes all or none of them, and a guest
    /// that reads a shared memory's table with the generation protocol ([the
    /// ABI](wasmtime_global_abi::spec) §10) sees all or none.
    ///
    /// It takes the batch by reference, so that a chain of changes ends with it
    /// (`globals.batch().set("A", 1).del("B").commit()?`); the batch is empty after, whether or
    /// not its changes were applied, and may take more.
    ///
    /// # Errors
    ///
    /// The first [`Error::InvalidName`] or [`Error::TypeMismatch`] of any change; then nothing is
    /// applied.
    pub fn commit(&mut self) -> Result<()> {
        let ops = std::mem::take(&mut self.ops);
        self.globals.apply(&ops).map(drop)
    }
}

impl Entry {
    fn new(key: &Arc<str>) -> Entry {
        Entry {
            key: Arc::clone(key),
            value: None,
            inherited: None,
            bound: None,
            declared: Declarations::default(),
            stores: AtomicU32::new(0),
            changed_at: 0,
            shared: NameTables::default(),
            defined: None,
        }
    }

    /// Counts the declaring store among the name's stores if `join` says it is its first.
    fn join(&self, join: impl FnOnce(&Arc<str>) -> bool) {
        if join(&self.key) {
            self.stores.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Marks the entry as on the idle list; returns whether it was not before.
    fn mark_idle(&self) -> bool {
        self.stores.fetch_or(IDLING, Ordering::Relaxed) & IDLING == 0
    }

    /// Marks the entry as off the idle list.
    fn unmark_idle(&mut self) {
        *self.stores.get_mut() &= !IDLING;
    }

    /// How many stores declare the name.
    fn store_count(&self) -> u32 {
        self.stores.load(Ordering::Relaxed) & !IDLING
    }

    /// Counts a store less, if `leaves` (it released its last declaration of the name).
    fn leave(&self, leaves: bool) {
        if leaves {
            self.stores.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// What guests read: the value set, else the parent registry's (if they can read it),
    /// else the embedder's default, else (`None`) their own.
    ///
    /// A [`Value::Literal`] is read as the value of the name's type it is; one that is none is
    /// passed over, as though it were not set.
    fn current(&self) -> Option<Value> {
        let ty = self.read_as();
        self.value
            .and_then(|v| v.for_type(ty))
            .or(self
                .inherited
                .filter(|&v| self.accepts(v))
                .and_then(|v| v.for_type(ty)))
            .or(self.defined.as_ref().and_then(|d| d.default))
    }

    /// The type guests read the name as: the binding type, else the type they declared it with.
    fn read_as(&self) -> Option<ValueType> {
        self.binding().or(self.declared.ty())
    }

    /// What registries below this one inherit: [`current`](Entry::current), but with the
    /// parent's value even where this registry's guests cannot read it, so that one tenant's
    /// guests do not hold back the tenants below it.
    fn passed_down(&self) -> Option<Value> {
        self.value
            .or(self.inherited)
            .or(self.defined.as_ref().and_then(|d| d.default))
    }

    /// Whether this registry's guests can read `value` from the parent: it is untyped, or of
    /// the type they declared the name with and of the type defined here. A parent's change is
    /// never refused because of a child's guests (one tenant must not block the fleet): the
    /// child keeps what its guests read, and says so ([`NameState::withheld`]).
    fn accepts(&self, value: Value) -> bool {
        let types = [self.declared.ty(), self.defined.as_ref().map(|d| d.ty)];
        match value {
            Value::Literal(literal) => [self.declared.ty(), self.binding()]
                .into_iter()
                .flatten()
                .all(|ty| literal.typed(ty).is_ok()),
            _ => value
                .ty()
                .is_none_or(|ty| types.into_iter().flatten().all(|t| t == ty)),
        }
    }

    /// The value that this registry's guests do not read because of its type: a literal set
    /// here that is not a value of the name's type, else the parent's value, if they declared
    /// the name with another type or it is such a literal.
    fn withheld(&self) -> Option<Value> {
        let unreadable = |v: &Value| !self.accepts(*v);
        self.value
            .filter(unreadable)
            .or(self.inherited.filter(unreadable))
    }

    /// Whether the entry holds something of the embedder's: a value (its own or its parent's),
    /// a definition, or a type a definition above binds.
    fn held(&self) -> bool {
        self.value.is_some()
            || self.inherited.is_some()
            || self.defined.is_some()
            || self.bound.is_some()
    }

    /// The type every declaration and typed set of the name must have, however many guests
    /// declared it otherwise before: the type defined here, else the type a definition above
    /// binds.
    fn binding(&self) -> Option<ValueType> {
        self.defined.as_ref().map(|d| d.ty).or(self.bound)
    }

    /// The type a declaration must have when nobody declares the name: the binding type, else
    /// the type of a typed value set here or inherited.
    fn fixed_type(&self) -> Option<ValueType> {
        self.binding()
            .or(self.value.and_then(Value::ty))
            .or(self.inherited.and_then(Value::ty))
    }

    /// Counts one more declaration as `ty`, unless the name is bound to, declared with, or
    /// (with no declaration) set to another type; returns that type.
    fn declare(&self, ty: ValueType) -> core::result::Result<(), ValueType> {
        if let Some(bound) = self.binding().filter(|&b| b != ty) {
            return Err(bound);
        }
        self.declared.add(ty, self.fixed_type())
    }
}

/// Whether guests would read the same: both `None`, or the same value.
fn same(a: Option<Value>, b: Option<Value>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.same(b),
        (None, None) => true,
        _ => false,
    }
}

impl State {
    /// Records a change of `key` as the newest version.
    fn bump(&mut self, key: &Arc<str>) {
        self.version += 1;
        let version = self.version;
        if let Some(entry) = self.entries.get_mut(key) {
            let old = std::mem::replace(&mut entry.changed_at, version);
            if old != 0 {
                self.changes.remove(&old);
            }
            self.changes.insert(version, Arc::clone(key));
        }
    }

    /// Forgets `name` if nothing is set for it and nobody declares it.
    fn collect(&mut self, name: &str) {
        if let Some(entry) = self.entries.get(name)
            && !entry.held()
            && !entry.declared.any()
        {
            if entry.changed_at != 0 {
                self.changes.remove(&entry.changed_at);
            }
            self.entries.remove(name);
        }
    }

    /// Notes `key`, a name that lost its last declaration with nothing set for it; returns
    /// whether it is time to [sweep](Globals::sweep).
    fn released(&self, entry: &Entry) -> bool {
        if !entry.mark_idle() {
            return false;
        }
        self.push_idle(&entry.key)
    }

    /// Puts `key` on the idle list; returns whether it is time to sweep.
    fn push_idle(&self, key: &Arc<str>) -> bool {
        let mut idle = self.idle.lock();
        idle.push(Arc::clone(key));
        idle.len() > IDLE_KEPT && idle.len() * 2 > self.entries.len()
    }

    /// Forgets up to `n` of the idle names that nothing is set for and nobody declares again;
    /// returns whether any are left to look at.
    fn sweep_some(&mut self, n: usize) -> bool {
        let idle = self.idle.get_mut();
        let from = idle.len().saturating_sub(n);
        let some: Vec<Arc<str>> = idle.drain(from..).collect();
        let more = !idle.is_empty();
        for key in some {
            if let Some(entry) = self.entries.get_mut(&key) {
                entry.unmark_idle();
            }
            self.collect(&key);
        }
        more
    }

    fn key(&mut self, name: &str) -> Arc<str> {
        match self.entries.get_key_value(name) {
            Some((key, _)) => Arc::clone(key),
            None => {
                let key: Arc<str> = Arc::from(name);
                self.entries.insert(Arc::clone(&key), Entry::new(&key));
                key
            }
        }
    }

    /// Checks that `value` may be set for `name` here: a typed value must have the type this
    /// registry's guests declared the name with and the type its definition (here or above)
    /// binds.
    fn check(&self, name: &str, value: Option<Value>) -> Result<()> {
        checked(name)?;
        let Some(entry) = self.entries.get(name) else {
            return Ok(());
        };
        if let Some(Value::Literal(literal)) = value {
            let types = [entry.declared.ty(), entry.binding()];
            return match types
                .into_iter()
                .flatten()
                .map(|ty| literal.typed(ty))
                .find_map(Result::err)
            {
                Some(source) => Err(Error::NotOfType {
                    name: name.to_owned(),
                    source,
                }),
                None => Ok(()),
            };
        }
        let Some(given) = value.and_then(Value::ty) else {
            return Ok(());
        };
        let other = [entry.declared.ty(), entry.binding()]
            .into_iter()
            .flatten()
            .find(|&t| t != given);
        match other {
            Some(declared) => Err(Error::TypeMismatch {
                name: name.to_owned(),
                declared,
                given,
            }),
            None => Ok(()),
        }
    }

    /// Sets or deletes `name`; returns the old value, and the name's key if instances must be
    /// told.
    fn change(&mut self, name: &str, value: Option<Value>) -> (Option<Value>, Option<Arc<str>>) {
        let entry = self.entries.get(name);
        let old = entry.and_then(|e| e.value);
        if same(old, value) {
            return (old, None);
        }
        let declared = entry.is_some_and(|e| e.declared.any());
        let key = self.key(name);
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.value = value;
        }
        if declared {
            self.bump(&key);
            (old, Some(key))
        } else {
            self.collect(name);
            (old, None)
        }
    }

    /// Gives `name` what the parent's guests read, `from`.
    fn inherit(&mut self, name: &str, from: Above) -> Inherited {
        let entry = self.entries.get(name);
        if same(entry.and_then(|e| e.inherited), from.value)
            && entry.and_then(|e| e.bound) == from.bound
        {
            return Inherited::default();
        }
        let before = entry.and_then(Entry::current);
        let declared = entry.is_some_and(|e| e.declared.any());
        let key = self.key(name);
        let Some(entry) = self.entries.get_mut(&key) else {
            return Inherited::default();
        };
        entry.inherited = from.value;
        entry.bound = from.bound;
        let after = entry.current();
        let withheld = entry.withheld().map(|value| Withheld {
            value,
            declared: entry.declared.ty(),
        });
        if declared && !same(before, after) {
            self.bump(&key);
            Inherited {
                changed: Some(key),
                withheld,
            }
        } else {
            self.collect(name);
            Inherited {
                changed: None,
                withheld,
            }
        }
    }

    /// The writes into shared tables that the changes of `keys` call for.
    fn shared_writes(&self, keys: &[Arc<str>]) -> SharedWrites {
        // One name: its tables are distinct, and need no grouping.
        if let [key] = keys {
            return match self.entries.get(key) {
                Some(entry) => SharedWrites::Name(
                    entry.shared.shared_list(),
                    (Arc::clone(key), entry.changed_at, entry.current()),
                ),
                None => SharedWrites::Grouped(Vec::new()),
            };
        }
        let mut by_table = ByTable::default();
        for key in keys {
            let Some(entry) = self.entries.get(key) else {
                continue;
            };
            for table in entry.shared.tables() {
                by_table.push(table, (Arc::clone(key), entry.changed_at, entry.current()));
            }
        }
        SharedWrites::Grouped(by_table.groups)
    }

    /// Releases a declaration of each name of `names`, and of its shared slot from the shared
    /// table's count for the name, adding the slot to `tables` to release there; returns
    /// whether it is time to sweep.
    fn undeclare_shared<'a>(
        &mut self,
        names: impl Iterator<Item = Release<'a>>,
        tables: &mut ByTable<u32>,
    ) -> bool {
        let mut sweep = false;
        for (name, slot, leaves) in names {
            let Some(entry) = self.entries.get_mut(name) else {
                continue;
            };
            entry.leave(leaves);
            let last = entry.declared.remove();
            if let Some((key, index)) = slot
                && let Some(table) = self.shared_tables.get(&key).and_then(Weak::upgrade)
            {
                entry.shared.remove(&table);
                tables.push(&table, index);
            }
            if last && !entry.held() && entry.mark_idle() {
                let key = Arc::clone(&entry.key);
                sweep |= self.push_idle(&key);
            }
        }
        sweep
    }

    /// The table at `key` of `capacity` slots, made and claimed for `registry` if there is
    /// none; `generation` makes its generation field.
    ///
    /// # Errors
    ///
    /// [`Error::CapacityChanged`] if the table is known with another capacity; the errors of
    /// [`TableClaim::take`] for a new one; and those of `generation`.
    fn shared_table(
        &mut self,
        key: TableKey,
        capacity: u32,
        registry: u64,
        generation: impl FnOnce() -> Result<SharedWord>,
    ) -> Result<Arc<SharedTable>> {
        if let Some(table) = self.shared_tables.get(&key).and_then(Weak::upgrade) {
            if table.capacity != capacity {
                return Err(Error::CapacityChanged {
                    addr: key.1,
                    was: table.capacity,
                    now: capacity,
                });
            }
            return Ok(table);
        }
        let table = Arc::new(SharedTable {
            generation: generation()?,
            capacity,
            _claim: TableClaim::take(key, capacity, registry)?,
            pending: AtomicUsize::new(0),
            slots: Mutex::default(),
        });
        self.shared_tables.insert(key, Arc::downgrade(&table));
        // Forget dead tables once they are as many as the live ones were: O(1) a table.
        if self.shared_tables.len() > 2 * self.shared_tables_swept.max(16) {
            self.shared_tables.retain(|_, t| t.strong_count() > 0);
            self.shared_tables_swept = self.shared_tables.len();
        }
        Ok(table)
    }
}

fn checked(name: &str) -> Result<&str> {
    check_name(name.as_bytes()).map_err(|source| Error::invalid_name(name.as_bytes(), source))?;
    Ok(name)
}

impl Globals {
    /// An empty registry.
    #[must_use]
    pub fn new() -> Globals {
        Globals::default()
    }

    /// Sets `name` to untyped `bits`, written as-is into every slot that declares `name`,
    /// whatever its type (wazero-global's `Set`). For a `BOOL` slot, `0` is false and anything
    /// else true; for `F64`, `bits` is the bit pattern; for `DURATION`, nanoseconds.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`] if `name` breaks the naming rules.
    pub fn set(&self, name: &str, bits: u64) -> Result<()> {
        self.set_value(name, Value::Bits(bits))
    }

    /// Sets a `BOOL` global.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`]; [`Error::TypeMismatch`] if `name` is declared with another type.
    pub fn set_bool(&self, name: &str, value: bool) -> Result<()> {
        self.set_value(name, Value::Bool(value))
    }

    /// Sets a `U64` global.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`]; [`Error::TypeMismatch`] if `name` is declared with another type.
    pub fn set_u64(&self, name: &str, value: u64) -> Result<()> {
        self.set_value(name, Value::U64(value))
    }

    /// Sets an `I64` global.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`]; [`Error::TypeMismatch`] if `name` is declared with another type.
    pub fn set_i64(&self, name: &str, value: i64) -> Result<()> {
        self.set_value(name, Value::I64(value))
    }

    /// Sets an `F64` global; the bit pattern is kept exactly.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`]; [`Error::TypeMismatch`] if `name` is declared with another type.
    pub fn set_f64(&self, name: &str, value: f64) -> Result<()> {
        self.set_value(name, Value::F64(value))
    }

    /// Sets a `DURATION` global.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`]; [`Error::DurationOutOfRange`] past `i64::MAX` nanoseconds;
    /// [`Error::TypeMismatch`] if `name` is declared with another type.
    pub fn set_duration(&self, name: &str, value: std::time::Duration) -> Result<()> {
        self.set_value(name, Value::duration(value)?)
    }

    /// Sets `name` to `value`. Setting the value it already has changes nothing.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`]; [`Error::TypeMismatch`] if `value` is typed and `name` is declared
    /// with another type.
    pub fn set_value(&self, name: &str, value: Value) -> Result<()> {
        self.apply(&[(name, Some(value))]).map(drop)
    }

    /// Removes the value set for `name`, so every instance reads its own default again
    /// (wazero-global's `Del`). Returns the value that was set, if any.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`] if `name` breaks the naming rules.
    pub fn del(&self, name: &str) -> Result<Option<Value>> {
        Ok(self.apply(&[(name, None)])?.pop().flatten())
    }

    /// A batch of changes that every instance sees all at once or not at all.
    ///
    /// ```
    /// # let globals = wasmtime_global::Globals::new();
    /// let mut batch = globals.batch();
    /// batch.set("WIDTH", 1920).set("HEIGHT", 1080).del("SCALE");
    /// batch.commit()?;
    /// # Ok::<(), wasmtime_global::Error>(())
    /// ```
    pub fn batch(&self) -> Batch<'_> {
        Batch {
            globals: self,
            ops: Vec::new(),
        }
    }

    /// Validates every change, then applies them all under one lock; returns the value each
    /// name had before its change. Every registry below this one ([`Globals::child`]) is locked
    /// too, checked, and given what its parent's guests now read, so a batch stays one change
    /// through the overlay.
    fn apply<N: AsRef<str>>(&self, ops: &[(N, Option<Value>)]) -> Result<Vec<Option<Value>>> {
        let mut state = self.write();
        for (name, value) in ops {
            state.check(name.as_ref(), *value)?;
        }
        // The registries below are not checked: a child whose guests declared a name with
        // another type keeps its value (Entry::accepts), so that one tenant cannot block the
        // fleet's changes.
        let mut below = lock_below(&state);
        let mut olds = Vec::with_capacity(ops.len());
        let mut changed: Vec<Arc<str>> = Vec::new();
        for (name, value) in ops {
            let (old, key) = state.change(name.as_ref(), *value);
            olds.push(old);
            changed.extend(key);
        }
        changed.sort();
        changed.dedup();
        let writes = state.shared_writes(&changed);
        let below_changes = if below.is_empty() {
            Propagated::default()
        } else {
            let mut names: Vec<&str> = ops.iter().map(|(name, _)| name.as_ref()).collect();
            names.sort_unstable();
            names.dedup();
            propagate(&state, &mut below, &names)
        };
        let below_writes = below_changes.writes;
        self.publish(&state);
        // Fair: a thread that sets in a loop cannot keep others from the lock.
        RwLockWriteGuard::unlock_fair(state);
        let children = below.len();
        for node in below {
            ArcRwLockWriteGuard::unlock_fair(node.state);
        }
        Tally::add(&self.inner.tally.sets, 1);
        tracing::trace!(
            target: "wasmtime_global::set",
            names = ops.len(),
            changed = changed.len(),
            changed_below = below_changes.changed_below,
            children,
            shared_tables = writes.tables()
                + below_writes.iter().map(SharedWrites::tables).sum::<usize>(),
            "applied"
        );
        // Outside the registries' locks: a set waits only for the tables its own names are in.
        writes.apply();
        below_writes.iter().for_each(SharedWrites::apply);
        Ok(olds)
    }

    /// A registry that overlays this one: its guests read a name's value set in the child, else
    /// this registry's (its value, its own parent's, or its defined default), else their own
    /// default. A change here reaches the child's guests unless the child sets the name itself;
    /// `del` in the child falls back to this registry's value. A batch here is one batch in every
    /// child. Fleet-wide values in a parent, a tenant's own in a child:
    ///
    /// ```
    /// use wasmtime_global::{Globals, Value};
    ///
    /// let fleet = Globals::new();
    /// fleet.set_u64("MAX_ITEMS", 100)?;
    /// let tenant = fleet.child();
    /// assert_eq!(tenant.current("MAX_ITEMS"), Some(Value::U64(100)));
    /// tenant.set_u64("MAX_ITEMS", 5)?; // the tenant's own value wins
    /// fleet.set_u64("MAX_ITEMS", 200)?;
    /// assert_eq!(tenant.current("MAX_ITEMS"), Some(Value::U64(5)));
    /// tenant.del("MAX_ITEMS")?; // back to the fleet's, not the guests' default
    /// assert_eq!(tenant.current("MAX_ITEMS"), Some(Value::U64(200)));
    /// # Ok::<(), wasmtime_global::Error>(())
    /// ```
    ///
    /// A typed set or definition here is checked against every child's declarations of the name
    /// too (whether or not the child sets it), so no child's guest reads a value of another
    /// type. A change locks the registry and every child below it, parents first, and costs
    /// about what a set costs in each child: 0.2 to 0.3 µs more per child in the `fanout` bench,
    /// so a set in a parent of 1,000 children holds its lock for about 0.3 ms.
    #[must_use]
    pub fn child(&self) -> Globals {
        let mut inner = Inner::default();
        inner.parent = Some(self.clone());
        let child = Globals {
            inner: Arc::new(inner),
        };
        let mut state = self.write();
        {
            let mut below = child.write();
            for (name, entry) in state.entries.iter() {
                let (value, bound) = (entry.passed_down(), entry.binding());
                if value.is_some() || bound.is_some() {
                    let key = below.key(name);
                    if let Some(entry) = below.entries.get_mut(&key) {
                        entry.inherited = value;
                        entry.bound = bound;
                    }
                }
            }
        }
        // Forget dropped children once they are as many as the live ones were: O(1) a child.
        if state.children.len() >= 2 * state.children_swept.max(16) {
            state.children_looked_at += state.children.len() as u64;
            state.children.retain(|c| c.strong_count() > 0);
            state.children_swept = state.children.len();
        }
        state.children.push(Arc::downgrade(&child.inner));
        child
    }

    /// The registry this one overlays, if it was made by [`Globals::child`].
    #[must_use]
    pub fn parent(&self) -> Option<&Globals> {
        self.inner.parent.as_ref()
    }

    /// The live registries made from this one with [`Globals::child`], in the order they were
    /// made (a child dropped by all its holders is not listed). A fleet walks its tenants this
    /// way; [`Globals::snapshot_with_children`] takes all their snapshots at once.
    #[must_use]
    pub fn children(&self) -> Vec<Globals> {
        self.read()
            .children
            .iter()
            .filter_map(Weak::upgrade)
            .map(|inner| Globals { inner })
            .collect()
    }

    /// The value set for `name`, if any (not the guests' defaults, which differ per guest).
    #[must_use]
    pub fn get(&self, name: &str) -> Option<Value> {
        self.read().entries.get(name).and_then(|e| e.value)
    }

    /// What an operator sees: every name this registry knows (with a value, a definition, or a
    /// live declaration), what its guests read, its declared type, and how many declarations
    /// and stores hold it; and counters of what happened since the registry was made. The
    /// stores of a [child](Globals::child) registry are in the child's snapshot.
    ///
    /// It copies every name under the registry's read lock, so that they agree with one another:
    /// O(names), and sets wait meanwhile. Meant for an operator's occasional look, not a loop.
    ///
    /// ```
    /// use wasmtime_global::{Globals, Value};
    ///
    /// let globals = Globals::new();
    /// globals.set_u64("MAX_ITEMS", 100)?;
    /// let snapshot = globals.snapshot();
    /// let max_items = &snapshot.names[0];
    /// assert_eq!((max_items.name.as_str(), max_items.value), ("MAX_ITEMS", Some(Value::U64(100))));
    /// assert_eq!((max_items.declarations, max_items.stores), (0, 0)); // no guest declared it
    /// assert_eq!(snapshot.counters.sets, 1);
    /// # Ok::<(), wasmtime_global::Error>(())
    /// ```
    #[must_use]
    pub fn snapshot(&self) -> Snapshot {
        let state = self.read();
        let mut names: Vec<NameState> = state
            .entries
            .values()
            .filter(|e| e.held() || e.declared.any())
            .map(|e| NameState {
                name: e.key.to_string(),
                value: e.current(),
                set: e.value,
                withheld: e.withheld(),
                definition: e.defined.as_deref().copied(),
                declared_type: e.declared.ty(),
                declarations: e.declared.count(),
                stores: e.store_count().into(),
            })
            .collect();
        drop(state);
        names.sort_by(|a, b| a.name.cmp(&b.name));
        Snapshot {
            names,
            counters: self.inner.tally.read(),
            children: Vec::new(),
        }
    }

    /// A [`snapshot`](Globals::snapshot) of this registry whose [`Snapshot::children`] hold
    /// the snapshots of its live [`children`](Globals::children), and theirs, all the way down.
    /// Each registry's is taken under its own lock in turn, not all at one moment: a change
    /// made meanwhile may show in a child and not yet in its parent's snapshot, or the reverse.
    #[must_use]
    pub fn snapshot_with_children(&self) -> Snapshot {
        let mut snapshot = self.snapshot();
        snapshot.children = self
            .children()
            .iter()
            .map(Globals::snapshot_with_children)
            .collect();
        snapshot
    }

    /// The registry's counters, for the ctx and the linker to add to.
    pub(crate) fn tally(&self) -> &Tally {
        &self.inner.tally
    }

    /// Every name with a value set, sorted by name.
    #[must_use]
    pub fn list(&self) -> Vec<(String, Value)> {
        let state = self.read();
        let mut all: Vec<_> = state
            .entries
            .iter()
            .filter_map(|(name, e)| Some((name.to_string(), e.value?)))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// Fixes `name`'s type, and optionally the default every guest reads while no value is set,
    /// so that no guest can declare it with another type first (a guest that does gets
    /// `TYPE_MISMATCH`, recorded in its store's [`refusals`](crate::GlobalsCtx::refusals)),
    /// and typed sets of another type are refused. Call it before guests run. Defining a name
    /// again replaces its definition; [`undefine`](Globals::undefine) removes it. `del` of a
    /// defined name brings back the defined default, not each guest's own.
    ///
    /// ```
    /// use wasmtime_global::{Globals, Value, ValueType};
    ///
    /// let globals = Globals::new();
    /// globals.define("MAX_ITEMS", ValueType::U64, Some(Value::U64(100)))?;
    /// assert!(globals.set_f64("MAX_ITEMS", 1.5).is_err());
    /// globals.set_u64("MAX_ITEMS", 250)?;
    /// # Ok::<(), wasmtime_global::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`]; [`Error::TypeMismatch`] if `default` is typed and of another type,
    /// or if live instances declared `name`, or a typed value set for it is, of another type.
    pub fn define(&self, name: &str, ty: ValueType, default: Option<Value>) -> Result<()> {
        checked(name)?;
        let mismatch = |declared: ValueType, given: ValueType| Error::TypeMismatch {
            name: name.to_owned(),
            declared,
            given,
        };
        if let Some(given) = default.and_then(Value::ty)
            && given != ty
        {
            return Err(mismatch(ty, given));
        }
        let mut state = self.write();
        if let Some(entry) = state.entries.get(name)
            && let Some(other) = entry
                .declared
                .ty()
                .or(entry.value.and_then(Value::ty))
                .filter(|&t| t != ty)
        {
            return Err(mismatch(other, ty));
        }
        if let Some(bound) = state.entries.get(name).and_then(|e| e.bound)
            && bound != ty
        {
            return Err(mismatch(bound, ty));
        }
        if let Some(Value::Literal(literal)) = state.entries.get(name).and_then(|e| e.value)
            && let Err(source) = literal.typed(ty)
        {
            return Err(Error::NotOfType {
                name: name.to_owned(),
                source,
            });
        }
        // Not checked against the registries below: the definition binds them, and a child
        // whose guests declared the name otherwise keeps its value (Entry::accepts).
        let below = lock_below(&state);
        let key = state.key(name);
        self.redefine(
            state,
            below,
            &key,
            Some(Box::new(Definition { ty, default })),
        );
        Ok(())
    }

    /// Removes `name`'s definition ([`Globals::define`]); returns it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`].
    pub fn undefine(&self, name: &str) -> Result<Option<Definition>> {
        checked(name)?;
        let state = self.write();
        let Some(entry) = state.entries.get(name) else {
            return Ok(None);
        };
        let (key, old) = (Arc::clone(&entry.key), entry.defined.as_deref().copied());
        let below = lock_below(&state);
        self.redefine(state, below, &key, None);
        Ok(old)
    }

    /// Whether a definition here or in a registry above fixes `name`'s type.
    pub(crate) fn bound(&self, name: &str) -> bool {
        self.read()
            .entries
            .get(name)
            .is_some_and(|e| e.binding().is_some())
    }

    /// `name`'s definition ([`Globals::define`]), if it has one.
    #[must_use]
    pub fn definition(&self, name: &str) -> Option<Definition> {
        self.read()
            .entries
            .get(name)
            .and_then(|e| e.defined.as_deref().copied())
    }

    /// Gives `key`'s entry the definition `defined`; if what guests read changes, writes it as a
    /// set would, here and in the registries `below`.
    fn redefine(
        &self,
        mut state: RwLockWriteGuard<'_, State>,
        mut below: Vec<Node>,
        key: &Arc<str>,
        defined: Option<Box<Definition>>,
    ) {
        let Some(entry) = state.entries.get_mut(key) else {
            return;
        };
        Tally::add(&self.inner.tally.sets, 1);
        let before = entry.current();
        entry.defined = defined;
        // Before the locks go: what a module's instances learned here or below no longer holds.
        self.inner.definitions.fetch_add(1, Ordering::Release);
        for node in &below {
            node.globals
                .inner
                .definitions
                .fetch_add(1, Ordering::Release);
        }
        let changed = !same(before, entry.current()) && entry.declared.any();
        let writes = if changed {
            state.bump(key);
            state.shared_writes(std::slice::from_ref(key))
        } else {
            state.collect(key);
            SharedWrites::Grouped(Vec::new())
        };
        let below_writes = propagate(&state, &mut below, &[key]).writes;
        self.publish(&state);
        RwLockWriteGuard::unlock_fair(state);
        for node in below {
            ArcRwLockWriteGuard::unlock_fair(node.state);
        }
        writes.apply();
        below_writes.iter().for_each(SharedWrites::apply);
    }

    /// What guests that declare `name` read now, and the version it is as of: both under one
    /// lock, as a declaration reads them.
    pub(crate) fn current_at(&self, name: &str) -> (Option<Value>, u64) {
        let state = self.read();
        (
            state.entries.get(name).and_then(Entry::current),
            state.version,
        )
    }

    /// How many times a definition changed here or above (see `Inner::definitions`).
    pub(crate) fn definitions(&self) -> u64 {
        self.inner.definitions.load(Ordering::Acquire)
    }

    /// Whether `self` and `other` are the same registry.
    pub(crate) fn same(&self, other: &Globals) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// What guests that declare `name` read now, the registry's version, and the version of the
    /// name's last change (0: none), all under one lock.
    #[cfg_attr(not(feature = "component"), allow(dead_code))]
    pub(crate) fn current_changed(&self, name: &str) -> (Option<Value>, u64, u64) {
        let state = self.read();
        let entry = state.entries.get(name);
        (
            entry.and_then(Entry::current),
            state.version,
            entry.map_or(0, |e| e.changed_at),
        )
    }

    /// What guests that declare each of `names` read, in order, all under one lock: the
    /// values of one version, all from before or all from after any batch.
    #[cfg_attr(not(feature = "component"), allow(dead_code))]
    pub(crate) fn current_each<'a>(
        &self,
        names: impl IntoIterator<Item = &'a str>,
        mut each: impl FnMut(Option<Value>),
    ) {
        let state = self.read();
        for name in names {
            each(state.entries.get(name).and_then(Entry::current));
        }
    }

    /// What guests that declare `name` read from this registry: the value set here, else the
    /// parent registry's ([`Globals::child`]), else the defined default; `None`: their own
    /// default.
    #[must_use]
    pub fn current(&self, name: &str) -> Option<Value> {
        self.read().entries.get(name).and_then(Entry::current)
    }

    /// The value set for `name` (here, or in the parent registry) that its guests do not read
    /// because of its type ([`NameState::withheld`]): they read what they would read without it.
    #[must_use]
    pub fn withheld(&self, name: &str) -> Option<Value> {
        self.read().entries.get(name).and_then(Entry::withheld)
    }

    /// The type live instances declared `name` with, if any instance declared it.
    #[must_use]
    pub fn declared_type(&self, name: &str) -> Option<ValueType> {
        self.read().entries.get(name).and_then(|e| e.declared.ty())
    }

    /// Number of names the registry holds: set, declared, defined, or (in a
    /// [child](Globals::child)) given a value by its parent. Falls back as `del` and dropped
    /// stores release names. Counts them: O(names held).
    #[must_use]
    pub fn len(&self) -> usize {
        let state = self.read();
        let held = |e: &&Entry| e.held() || e.declared.any();
        state.entries.values().filter(held).count()
    }

    /// Whether the registry holds no name.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bounds the host memory that guests can make the host hold through this registry: the
    /// bytes charged to every store of this registry and of the registries below it
    /// ([`GlobalsCtx::host_bytes`](crate::GlobalsCtx::host_bytes)), all together. Each store's
    /// own [`Limits`](crate::Limits) still apply; this bounds what thousands of stores hold at
    /// once. A declaration that would pass it traps with [`Error::LimitExceeded`] naming
    /// [`Limit::RegistryHostBytes`](crate::Limit::RegistryHostBytes).
    ///
    /// Stores reserve what they are charged in chunks of 8 KiB, given back when the store goes:
    /// so a registry of `max` bytes has room for at least `max / 8 KiB` stores with a
    /// declaration each. No limit by default; lowering it below what is held refuses new
    /// reservations until enough stores go.
    ///
    /// ```
    /// use wasmtime_global::Globals;
    ///
    /// let fleet = Globals::new();
    /// fleet.set_max_host_bytes(256 << 20); // every tenant's stores together: 256 MiB
    /// let tenant = fleet.child(); // its stores count in the fleet's bound too
    /// assert_eq!((fleet.host_bytes(), tenant.host_bytes()), (0, 0));
    /// ```
    pub fn set_max_host_bytes(&self, max: u64) {
        self.inner.budget.max.store(max, Ordering::Relaxed);
    }

    /// The host memory the stores of this registry and of the registries below it reserved for
    /// their guests' declarations (see [`set_max_host_bytes`](Globals::set_max_host_bytes)).
    #[must_use]
    pub fn host_bytes(&self) -> u64 {
        self.inner.budget.held.load(Ordering::Relaxed)
    }

    /// Reserves `bytes` in this registry's budget and every one above it, or none.
    pub(crate) fn reserve(&self, bytes: u64) -> Result<()> {
        let mut at = Some(self);
        while let Some(globals) = at {
            let budget = &globals.inner.budget;
            let max = budget.max.load(Ordering::Relaxed);
            let taken = budget
                .held
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| {
                    held.checked_add(bytes).filter(|&total| total <= max)
                });
            if taken.is_err() {
                // Give back what the registries below took.
                let mut undo = Some(self);
                while let Some(below) = undo.filter(|b| !std::ptr::eq(*b, globals)) {
                    below.inner.budget.held.fetch_sub(bytes, Ordering::Relaxed);
                    undo = below.parent();
                }
                return Err(Error::LimitExceeded {
                    limit: crate::Limit::RegistryHostBytes,
                    max,
                });
            }
            at = globals.parent();
        }
        Ok(())
    }

    /// Gives back `bytes` that [`reserve`](Globals::reserve) took.
    pub(crate) fn unreserve(&self, bytes: u64) {
        let mut at = Some(self);
        while let Some(globals) = at {
            globals
                .inner
                .budget
                .held
                .fetch_sub(bytes, Ordering::Relaxed);
            at = globals.parent();
        }
    }

    /// The number of changes to declared names so far: it grows with every `set` or `del` that
    /// changes the value of a name some instance declared.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.inner.version.load(Ordering::Acquire)
    }

    /// Records a declaration of `name` as `ty`; returns the registry's key for the name, the
    /// value guests read (set, or defined), and the registry version that value is current at (a
    /// sync skips the name's changes up to it), or `Err` with the type the name is fixed to.
    ///
    /// `join` is called with the key once the declaration counts, and says whether it is the
    /// store's first of the name (the store joins the name's [`stores`](NameState::stores)).
    pub(crate) fn declare(
        &self,
        name: &str,
        ty: ValueType,
        join: impl FnOnce(&Arc<str>) -> bool,
    ) -> core::result::Result<(Arc<str>, Option<Value>, u64), ValueType> {
        // A name the registry knows (every declaration after its first, in any store) needs only
        // the read lock: the counts are atomic, and no value or version changes meanwhile.
        {
            let state = self.read();
            if let Some(entry) = state.entries.get(name) {
                entry.declare(ty)?;
                if entry.declared.count() == 1
                    && let Some(value) = entry.withheld()
                {
                    Tally::add(&self.inner.tally.withheld, 1);
                    tracing::warn!(
                        target: "wasmtime_global::declare",
                        name,
                        ?ty,
                        ?value,
                        "a value set for this name is not of the type guests declare it with: they read their default"
                    );
                }
                entry.join(join);
                return Ok((Arc::clone(&entry.key), entry.current(), state.version));
            }
        }
        let mut state = self.write();
        let (key, value) = declare_in(&mut state, name, ty, join)?;
        Ok((key, value, state.version))
    }

    /// Records a declaration of a slot in a shared memory and writes the slot's current value.
    /// The slot is one slot however many stores declare it, and its table one table, so a set
    /// writes it once, inside one odd generation of its table ([the ABI](wasmtime_global_abi::spec)
    /// §10.3). Returns the name's key, or `Err` with the type the name is fixed to.
    ///
    /// The registry's lock is held only to count the declaration; the slot is recorded and
    /// written under its table's lock, as sets write it.
    ///
    /// # Errors
    ///
    /// [`Error::SlotRedeclared`] if another declaration of the slot (by any store) had other
    /// fields; [`Error::WriteOutOfBounds`] if a field is not an aligned word of the memory.
    ///
    /// `join` is as for [`declare`](Globals::declare); if the slot cannot be recorded, the store
    /// leaves again what it joined.
    pub(crate) fn declare_shared(
        &self,
        declaration: SharedDeclaration<'_>,
        join: impl FnOnce(&Arc<str>) -> bool,
    ) -> Result<core::result::Result<Arc<str>, ValueType>> {
        let mut joined = false;
        let SharedDeclaration {
            owner,
            memory,
            table: key,
            capacity,
            slot,
            again,
        } = declaration;
        let word = |addr: u64| {
            SharedWord::new(memory, addr).ok_or(Error::WriteOutOfBounds {
                index: slot.index,
                addr,
            })
        };
        // Both fields words of the memory, so that writes to them need no other check.
        word(slot.value_addr)?;
        word(slot.value_addr + CHANGES_AFTER_VALUE)?;
        let value_addr = u32::try_from(slot.value_addr).map_err(|_| Error::WriteOutOfBounds {
            index: slot.index,
            addr: slot.value_addr,
        })?;
        let (name, table, newest) = {
            let mut state = self.write();
            let state = &mut *state;
            let generation = || word(u64::from(key.1) + GENERATION_OFFSET);
            let table = state.shared_table(key, capacity, self.inner.id.0, generation)?;
            let name = if again {
                // The store holds a declaration of the name, so the entry is there.
                match state.entries.get(slot.name) {
                    Some(entry) => Arc::clone(&entry.key),
                    None => return Ok(Err(slot.ty)),
                }
            } else {
                let join = |key: &Arc<str>| {
                    joined = join(key);
                    joined
                };
                match declare_in(state, slot.name, slot.ty, join) {
                    Ok((name, _)) => name,
                    Err(fixed) => return Ok(Err(fixed)),
                }
            };
            let Some(entry) = state.entries.get_mut(&name) else {
                return Ok(Err(slot.ty));
            };
            if !again {
                entry.shared.add(&table);
            }
            // Counted under the lock, so that a release the table sees after a set that this
            // declaration missed keeps what the set wrote.
            table.pending.fetch_add(1, Ordering::AcqRel);
            (name, table, (entry.changed_at, entry.current()))
        };
        let recorded = table.record(owner, slot, &name, newest, value_addr);
        table.pending.fetch_sub(1, Ordering::AcqRel);
        if recorded.is_err() && !again {
            self.undeclare(owner, true, [(&*name, Some((key, slot.index)), joined)]);
        }
        recorded.map(|()| Ok(name))
    }

    /// Releases one declaration of each name in `names` by the store `owner`; a name with a
    /// shared slot comes with the slot's table and index, and the slot is forgotten once no
    /// store declares it.
    ///
    /// A name that loses its last declaration keeps its entry, idle, rather than being forgotten:
    /// the next instance most likely declares it again (one instance per request: forgetting and
    /// re-creating the entry was a third of a declaration's cost). Idle entries are swept all at
    /// once when more than [`IDLE_KEPT`] names and more than half the entries were released since
    /// the last sweep, so they never hold more memory than the live ones (or 1,024 entries).
    /// `shared` says whether any of the names comes with a shared slot.
    pub(crate) fn undeclare<'a>(
        &self,
        owner: u64,
        shared: bool,
        names: impl IntoIterator<Item = Release<'a>>,
    ) {
        let mut sweep = false;
        let mut tables = ByTable::default();
        let mut names = names.into_iter().peekable();
        // A chunk of names at a time, so that a store that declared many names does not keep
        // the registry from everyone else while it goes.
        while names.peek().is_some() {
            let chunk = names.by_ref().take(UNDECLARE_CHUNK);
            if shared {
                let mut state = self.write();
                sweep |= state.undeclare_shared(chunk, &mut tables);
                RwLockWriteGuard::unlock_fair(state);
            } else {
                // Ordinary slots change only counts: the read lock is enough.
                let state = self.read();
                for (name, _, leaves) in chunk {
                    let Some(entry) = state.entries.get(name) else {
                        continue;
                    };
                    entry.leave(leaves);
                    if entry.declared.remove() && !entry.held() {
                        sweep |= state.released(entry);
                    }
                }
                RwLockReadGuard::unlock_fair(state);
            }
        }
        if sweep {
            self.sweep();
        }
        // Outside the registry's lock, as sets write them.
        for (table, indexes) in tables.groups {
            table.release(owner, &indexes);
        }
    }

    /// Calls `f` with every name changed after version `since`, the version of its last change
    /// and its value now; returns the version `f` saw everything up to.
    pub(crate) fn changes_since(
        &self,
        since: u64,
        mut f: impl FnMut(&str, u64, Option<Value>),
    ) -> u64 {
        let state = self.read();
        for (&at, name) in state.changes.range(since + 1..) {
            f(name, at, state.entries.get(name).and_then(Entry::current));
        }
        state.version
    }

    fn publish(&self, state: &State) {
        self.inner.version.store(state.version, Ordering::Release);
    }

    /// Forgets the idle entries, a chunk at a time, so that others get the lock in between.
    fn sweep(&self) {
        loop {
            let mut state = self.write();
            let more = state.sweep_some(UNDECLARE_CHUNK);
            RwLockWriteGuard::unlock_fair(state);
            if !more {
                break;
            }
        }
    }

    /// The registry's lock is parking_lot's: eventually fair (a thread that takes it in a loop
    /// hands it to a waiter within about half a millisecond), and fair at once where it is
    /// released with `unlock_fair`, as `apply` and `undeclare` do.
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.inner.state.read()
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.inner.state.write()
    }
}

/// What a registry's guests read of a name, as a registry below it inherits it.
#[derive(Clone, Copy, Debug, Default)]
struct Above {
    value: Option<Value>,
    /// The type a definition in it, or above it, binds.
    bound: Option<ValueType>,
}

impl Above {
    fn of(state: &State, name: &str) -> Above {
        state
            .entries
            .get(name)
            .map_or_else(Above::default, |e| Above {
                value: e.passed_down(),
                bound: e.binding(),
            })
    }
}

/// What [`State::inherit`] did.
#[derive(Debug, Default)]
struct Inherited {
    /// The name's key, if its guests read something else now.
    changed: Option<Arc<str>>,
    /// The parent's value, if its guests cannot read it.
    withheld: Option<Withheld>,
}

/// A parent's value a registry's guests do not read, and the type they declared.
#[derive(Debug)]
struct Withheld {
    value: Value,
    declared: Option<ValueType>,
}

/// A registry below the one changing ([`Globals::child`]), locked for the change.
struct Node {
    /// The index of its parent in the list; `None`: the registry changing.
    parent: Option<usize>,
    globals: Globals,
    state: ArcRwLockWriteGuard<RawRwLock, State>,
}

/// Locks every live registry below the one whose state is `root`, parents before children:
/// the order every change takes them in, so that two changes never wait for each other.
fn lock_below(root: &State) -> Vec<Node> {
    let mut nodes: Vec<Node> = Vec::new();
    let mut children: Vec<(Option<usize>, Arc<Inner>)> = root
        .children
        .iter()
        .filter_map(Weak::upgrade)
        .map(|inner| (None, inner))
        .collect();
    while !children.is_empty() {
        for (parent, inner) in std::mem::take(&mut children) {
            let state = inner.state.write_arc();
            let index = nodes.len();
            children.extend(
                state
                    .children
                    .iter()
                    .filter_map(Weak::upgrade)
                    .map(|inner| (Some(index), inner)),
            );
            nodes.push(Node {
                parent,
                globals: Globals { inner },
                state,
            });
        }
    }
    nodes
}

/// Gives every registry of `nodes` what its parent's guests now read for `names`; returns the
/// writes into shared tables each calls for.
fn propagate(root: &State, nodes: &mut [Node], names: &[&str]) -> Propagated {
    let mut writes = Vec::with_capacity(nodes.len());
    let mut changed_below = 0;
    for i in 0..nodes.len() {
        let (above, rest) = nodes.split_at_mut(i);
        let node = &mut rest[0];
        let parent: &State = match node.parent {
            None => root,
            Some(p) => &above[p].state,
        };
        let mut changed = Vec::new();
        for name in names {
            let inherited = node.state.inherit(name, Above::of(parent, name));
            changed.extend(inherited.changed);
            if let Some(Withheld { value, declared }) = inherited.withheld {
                Tally::add(&node.globals.inner.tally.withheld, 1);
                tracing::warn!(
                    target: "wasmtime_global::set",
                    name,
                    value = ?value,
                    declared = ?declared,
                    "a parent registry's value is not applied here: this registry's guests \
                     declared the name with another type"
                );
            }
        }
        changed_below += changed.len();
        writes.push(node.state.shared_writes(&changed));
        node.globals.publish(&node.state);
    }
    Propagated {
        writes,
        changed_below,
    }
}

/// What a change did in the registries below the one changing.
#[derive(Default)]
struct Propagated {
    /// The writes into shared tables each registry below calls for.
    writes: Vec<SharedWrites>,
    /// Names whose value changed for guests that declared them, all registries below together
    /// (a name changed in two children counts twice).
    changed_below: usize,
}

/// Counts a declaration of `name` as `ty`, unless the name is known with another type; returns
/// the name's key and its value.
fn declare_in(
    state: &mut State,
    name: &str,
    ty: ValueType,
    join: impl FnOnce(&Arc<str>) -> bool,
) -> core::result::Result<(Arc<str>, Option<Value>), ValueType> {
    if let Some(entry) = state.entries.get(name) {
        entry.declare(ty)?;
        entry.join(join);
        return Ok((Arc::clone(&entry.key), entry.current()));
    }
    let key: Arc<str> = Arc::from(name);
    let entry = Entry::new(&key);
    entry.declared.add(ty, None)?;
    entry.join(join);
    state.entries.insert(Arc::clone(&key), entry);
    Ok((key, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 21: one instance per request releases the same names at every request. Each
    /// release put the name on the idle list again, so the list grew by a request's names every
    /// request, and past 1,024 a sweep forgot the entries that the next request made again
    /// (under the write lock). A name is on the list once now, and its entry stays.
    /// Names as hosts write them spread over the shards, however long: a shard is picked from
    /// every byte of the name (a hash of the first eight alone put these in one shard).
    #[test]
    fn names_alike_spread_over_the_shards() {
        for prefix in ["F", "FEATURE_", "TENANT_LIMIT_REQUESTS_PER_SECOND_"] {
            let shards: std::collections::HashSet<usize> = (0..256)
                .map(|i| Entries::shard(&format!("{prefix}{i}")))
                .collect();
            assert!(
                shards.len() >= 48,
                "{prefix}…: {} shards of 64",
                shards.len()
            );
        }
        assert_eq!(Entries::shard("N"), Entries::shard("N"));
        assert!((0..SHARDS).contains(&Entries::shard("")));
    }

    #[test]
    fn a_name_released_again_and_again_idles_once() {
        let globals = Globals::new();
        let key = |g: &Globals| Arc::as_ptr(&g.read().entries.get("N").expect("kept").key);
        for request in 0..5_000 {
            let declared = globals.declare("N", ValueType::U64, |_| true);
            assert!(declared.is_ok(), "request {request}");
            globals.undeclare(0, false, [("N", None, true)]);
        }
        let before = key(&globals);
        assert_eq!(globals.read().idle.lock().len(), 1);
        globals
            .declare("N", ValueType::U64, |_| true)
            .expect("declares");
        globals.undeclare(0, false, [("N", None, true)]);
        assert_eq!(key(&globals), before, "the same entry, never swept");
        assert_eq!(globals.read().idle.lock().len(), 1);
    }

    /// Issue 20, finding 8: each new child swept every child of its parent under the parent's
    /// lock, so making n children looked at n²/2 entries. Sweeps now come once the entries
    /// doubled: about 2n looks all told, live children or dropped ones.
    #[test]
    fn making_children_sweeps_in_linear_time() {
        let n = 10_000;
        for keep in [true, false] {
            let parent = Globals::new();
            let mut kept = Vec::new();
            for _ in 0..n {
                let child = parent.child();
                if keep {
                    kept.push(child);
                }
            }
            let state = parent.read();
            assert!(
                state.children_looked_at <= 2 * n,
                "keep {keep}: {} looked at for {n} children",
                state.children_looked_at
            );
            assert!(state.children.len() as u64 <= if keep { n } else { 32 });
        }
    }
    use crate::table::{ValidSlot, read_header, read_slot};
    use wasmtime_global_abi::{Header, Slot, slot_offset};

    /// A guest's table as bytes: slots 0 and 1 both named "N" (U64, default 1).
    fn slots() -> (ValidSlot, ValidSlot) {
        let mut bytes = vec![0u8; 4096];
        let header = Header {
            count: 2,
            ..Header::new(2)
        };
        bytes[..64].copy_from_slice(bytemuck::bytes_of(&header));
        bytes[1024] = b'N';
        for i in 0..2 {
            let slot = Slot {
                hash: wasmtime_global_abi::fnv1a64(b"N"),
                name_addr: 1024,
                name_len: 1,
                ty: ValueType::U64.tag(),
                default: 1,
                ..Slot::ZERO
            };
            let at = slot_offset(i) as usize;
            bytes[at..at + 64].copy_from_slice(bytemuck::bytes_of(&slot));
        }
        let header = read_header(&bytes[..], 0).expect("a valid header");
        (
            read_slot(&bytes[..], 0, &header, 0).expect("slot 0"),
            read_slot(&bytes[..], 0, &header, 1).expect("slot 1"),
        )
    }

    /// A race between three threads, played in one: store 2 counts its declaration of slot B
    /// under the registry's lock; a set of N reaches the table and writes slot A; store 1, the
    /// only one with slot A, goes; then store 2 records slot B. B must get the set's value, which
    /// the table learnt, not the older one store 2 saw under the registry's lock.
    #[test]
    fn a_declaration_on_its_way_gets_a_change_written_while_the_name_had_no_slot() {
        let mut config = wasmtime::Config::new();
        config.shared_memory(true);
        let engine = wasmtime::Engine::new(&config).expect("an engine");
        let memory = SharedMemory::new(&engine, wasmtime::MemoryType::shared(1, 1))
            .expect("a shared memory");
        let base = memory.data().as_ptr() as usize;
        let table = SharedTable {
            generation: SharedWord::new(&memory, GENERATION_OFFSET).expect("a word"),
            capacity: 2,
            _claim: TableClaim::take((base, 0), 2, u64::MAX).expect("a claim"),
            pending: AtomicUsize::new(0),
            slots: Mutex::default(),
        };
        let (a, b) = slots();
        let name: Arc<str> = Arc::from("N");
        let addr = |slot: &ValidSlot| u32::try_from(slot.value_addr).expect("small");
        let value = |slot: &ValidSlot| {
            table
                .generation
                .at(slot.value_addr)
                .expect("a word")
                .load(Ordering::Acquire)
        };
        table
            .record(1, &a.checked(), &name, (0, None), addr(&a))
            .expect("slot A");
        // Store 2 has counted its declaration of slot B, with the name unchanged (version 0).
        table.pending.fetch_add(1, Ordering::AcqRel);
        table.write(&[(Arc::clone(&name), 5, Some(Value::U64(7)))]);
        assert_eq!(value(&a), 7);
        table.release(1, &[0]);
        table
            .record(2, &b.checked(), &name, (0, None), addr(&b))
            .expect("slot B");
        table.pending.fetch_sub(1, Ordering::AcqRel);
        assert_eq!(
            value(&b),
            7,
            "slot B reads the change made while it was on its way"
        );
    }
}
