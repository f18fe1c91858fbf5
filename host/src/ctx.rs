//! [`GlobalsCtx`]: what one store knows of the globals its instances declared, and [`sync`].

use crate::limits::{DECLARATION_BYTES, SHARED_DECLARATION_BYTES, TABLE_BYTES};
use crate::log_budget::{LogBudget, Verdict};
use crate::module::{Hit, Known, KnownTable, ModuleGlobals, Run};
use crate::registry::{PtrHasher, RESERVE_CHUNK, Release, SharedDeclaration, TableKey};
use crate::snapshot::Tally;
use crate::table::{CHANGES_AFTER_VALUE, CheckedSlot, GENERATION_OFFSET};
use crate::{Error, Globals, Limit, Limits, Result, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::BuildHasherDefault;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use wasmtime::{AsContextMut, Memory, SharedMemory};
use wasmtime_global_abi::{self as abi, Status, ValueType};

/// The per-store state of wasmtime-global: put one in each store's data and hand
/// [`add_to_linker`](crate::add_to_linker) a closure that finds it.
///
/// It records every slot that the store's instances declared, so that [`sync`] can write the
/// values that changed. Dropping it releases those declarations in the [`Globals`] registry.
///
/// A table is known by its memory and its address in that memory, so one memory may hold several
/// tables (a module that links two SDKs), an instance that uses another instance's memory
/// declares into that memory, and a shared memory used from several stores is one memory.
///
/// # Moving between stores
///
/// A ctx refers to its store's memories. After [`wasmtime::Store::into_data`] the instances are
/// gone but the ctx still names them: call [`GlobalsCtx::reset`] before putting it in another
/// store, or make a new one. A ctx that names another store's memories panics inside wasmtime at
/// the next declaration or sync, as any use of a wasmtime handle with the wrong store does
/// (wasmtime has no public way to ask which store a handle belongs to).
#[derive(Debug)]
pub struct GlobalsCtx {
    globals: Globals,
    /// Identifies this ctx's shared slots in the registry.
    id: u64,
    /// The registry version this store's ordinary memories are up to date with.
    synced: u64,
    /// Every memory that holds a declared table, in the order first seen.
    memories: Vec<GuestMemory>,
    /// Each memory's base address when last looked at.
    bases: Vec<usize>,
    /// Index into `memories` by the memory's base address when last looked at, once there are
    /// more than [`SCAN`] memories (until then, `bases` is scanned).
    by_base: HashMap<usize, usize>,
    tables: Vec<Table>,
    /// Index into `tables` by memory (index into `memories`) and table address, once there are
    /// more than [`SCAN`] tables (until then, `tables` is scanned).
    by_table: BTreeMap<(usize, u32), usize>,
    /// The table of the last declaration: (memory, table address, table). Most declarations come
    /// from the instance that declared last, so this saves the hash lookup.
    last_table: Option<(usize, u32, usize)>,
    /// Every declared slot in an ordinary memory, by name, for [`sync`].
    by_name: HashMap<Arc<str>, Vec<SlotRef>>,
    /// Slots declared since `by_name` was last brought up to date: a store that never syncs a
    /// change (one instance per request, say) never pays for the index.
    unindexed: Vec<Unindexed>,
    /// Writes planned by a sync, kept to reuse the allocation.
    writes: Vec<Write>,
    stats: Stats,
    /// Whether the deadline callback of [`sync_on_epoch`](crate::sync_on_epoch) yields to the
    /// executor after it syncs: set by `sync_on_epoch_async` for good, and by
    /// [`call_async`](crate::call_async) for its call ([`call`](crate::call) clears it).
    pub(crate) epoch_yields: bool,
    limits: Limits,
    /// The most recent refusals.
    refusals: VecDeque<Refusal>,
    /// How many of `stats.refusals` an error has been told of ([`GlobalsCtx::explain`]).
    explained: u64,
    /// Slots declared, all tables together.
    declared: u32,
    /// Of those, the slots the module's instances declared before ([`ModuleGlobals`]), which
    /// hold no declaration of the registry's to release.
    declared_known: u32,
    /// What the declarations are charged against [`Limits::host_bytes`].
    host_bytes: u64,
    /// What the store reserved of its registries' bound on host memory
    /// ([`Globals::set_max_host_bytes`]): at least `host_bytes`, given back at release.
    reserved: u64,
    /// How many of this store's slots declare each name, by the address of the registry's key
    /// for the name (which the slots hold, so it stays the name's): a name's first slot joins
    /// the store to the name's stores, its last leaves them.
    names: HashMap<usize, u32, BuildHasherDefault<PtrHasher>>,
    /// Declarations of the running `declare` call not yet added to the registry's counters: they
    /// are, in one add, when the call returns, so that counting costs a slot no shared write.
    uncounted: u64,
    /// The embedder's name for this store, carried into declarations, refusals and events.
    label: Option<Arc<str>>,
    /// What its guests' refusals and traps may still log.
    log: LogBudget,
    /// What the embedder told of its module ([`GlobalsCtx::with_module`]).
    module: ModuleGlobals,
    /// The slots that module's instances declared before, in this ctx's registry.
    known: Option<Arc<Known>>,
    /// The globals its components declared through the project's WIT interface, by handle
    /// ([`crate::component`]); `None`: a handle dropped, its index in `components_free`.
    components: Vec<Option<ComponentGlobal>>,
    components_free: Vec<u32>,
    /// Component declarations over the ctx's life, held to [`Limits::declarations`]: a dropped
    /// handle does not give its declaration back.
    components_declared: u32,
    /// What a handle's rep is past its index in `components`: raised past every rep given out
    /// at each [`reset`](GlobalsCtx::reset), so that a handle from before it (its component
    /// still holds it) names no global of after it.
    components_base: u32,
}

/// A global a component declared ([`crate::component`]): the registry's key for its name, its
/// type and its default's bits.
#[derive(Debug)]
#[cfg_attr(not(feature = "component"), allow(dead_code))]
pub(crate) struct ComponentGlobal {
    pub(crate) name: Arc<str>,
    pub(crate) ty: ValueType,
    pub(crate) default: u64,
    /// What it is charged against [`Limits::host_bytes`].
    charged: u64,
    /// The bits it read last, as of the registry's version `read_at` and its count of
    /// definition changes `read_defs` (`u64::MAX`: never read): a read while both are still
    /// those takes them again without looking the name up.
    read_bits: u64,
    read_at: u64,
    read_defs: u64,
    /// The looks that found the name changed since the one before ([`crate::component`]'s
    /// `changes`), and the version of the change the last look found.
    changes: u64,
    seen_change: u64,
}

/// Why a component's declaration was refused.
#[derive(Debug)]
#[cfg_attr(not(feature = "component"), allow(dead_code))]
pub(crate) enum ComponentRefusal {
    /// The name breaks the naming rules.
    InvalidName,
    /// The name is fixed to this other type.
    TypeMismatch(ValueType),
    /// A limit of the store: the error says which.
    Limit(Error),
}

/// The key of `name` in [`GlobalsCtx::names`].
fn name_key(name: &Arc<str>) -> usize {
    Arc::as_ptr(name).cast::<u8>() as usize
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

#[derive(Debug)]
struct Table {
    /// Index into `GlobalsCtx::memories`.
    memory: usize,
    addr: u32,
    /// Its capacity at its first declaration, which it keeps (the ABI §4.4).
    capacity: u32,
    /// For a table in a shared memory, its key in the registry.
    shared: Option<TableKey>,
    slots: Slots,
    /// Slots declared in this table.
    count: u32,
    /// How many slots of the table each name has, once the table has as many slots as
    /// [`Limits::same_name_slots`] (before that, no name can have too many).
    /// Keyed by the name's hash (a valid slot's hash is its name's): two names of one hash
    /// would share a count, which only makes the limit stricter for the guest that chose them.
    /// Boxed: most tables never need it, and every table carries the field (48 bytes unboxed).
    #[allow(
        clippy::box_collection,
        reason = "a smaller Table; the map is built rarely"
    )]
    per_name: Option<Box<HashMap<u64, u32>>>,
}

/// A table's declared slots, by index: a run declared at once from what the module's instances
/// declared before ([`ModuleGlobals`]), and the slots declared one by one.
#[derive(Debug, Default)]
struct Slots {
    run: Option<KnownRun>,
    one_by_one: ByIndex,
}

/// Slots of a table declared at once, by one call, as [`Run`] found them: their records are the
/// module's, shared; the store holds their bounds.
#[derive(Debug)]
struct KnownRun {
    layout: Arc<KnownTable>,
    indexes: std::ops::Range<u32>,
    /// The registry version of the values written at declaration, as [`Declared::written_at`].
    written_at: u64,
}

/// A declared slot as [`Slots`] gives it, from either kind of record.
#[derive(Clone, Copy, Debug)]
struct SlotView<'a> {
    name: &'a Arc<str>,
    ty: ValueType,
    default: u64,
    written_at: u64,
    /// Declared as a slot the module's instances declared before ([`Declared::known`]).
    known: bool,
}

/// A table's slots declared one by one, by index. What it holds is bounded by the slots
/// declared, whatever their indexes (a guest that declared only slot 65,535 once made the host
/// hold a vector of 65,536 entries): a vector while the highest index is less than
/// [`DENSE_SLACK`] past the number declared (every SDK declares slots `0, 1, 2, …`), so a
/// declaration costs no hashing; a map once a guest leaves larger gaps.
#[derive(Debug)]
enum ByIndex {
    Dense(Vec<Option<Declared>>),
    /// Hashed with std's keyed hasher: the guest chooses the indexes. Boxed, so that every
    /// table does not carry the map's 48 bytes.
    #[allow(
        clippy::box_collection,
        reason = "a smaller Table; the map is built rarely"
    )]
    Sparse(Box<HashMap<u32, Declared>>),
}

/// How far past the number of its declared slots a table's highest index may be while its
/// slots are kept in a vector: the vector holds at most this many empty entries.
const DENSE_SLACK: usize = 8;

impl Default for ByIndex {
    fn default() -> ByIndex {
        ByIndex::Dense(Vec::new())
    }
}

impl Slots {
    fn get(&self, index: u32) -> Option<SlotView<'_>> {
        if let Some(run) = &self.run
            && run.indexes.contains(&index)
        {
            return run.get(index);
        }
        let declared = match &self.one_by_one {
            ByIndex::Dense(v) => v.get(index as usize)?.as_ref(),
            ByIndex::Sparse(m) => m.get(&index),
        };
        declared.map(Declared::view)
    }

    /// Records slot `index`, not declared before, as the `count`th slot of the table.
    fn insert(&mut self, index: u32, declared: Declared, count: u32) {
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
                    .filter_map(|(i, d): (u32, Option<Declared>)| Some((i, d?))),
            );
            *by_index = ByIndex::Sparse(Box::new(map));
        }
        if let ByIndex::Sparse(m) = by_index {
            m.insert(index, declared);
        }
    }

    /// Every slot, in index order.
    fn iter(&self) -> Box<dyn Iterator<Item = (u32, SlotView<'_>)> + '_> {
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
    fn get(&self, index: u32) -> Option<SlotView<'_>> {
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
struct Declared {
    name: Arc<str>,
    ty: ValueType,
    default: u64,
    /// The registry version of the value written at declaration: a sync does not write the
    /// name's changes up to that version again.
    written_at: u64,
    /// Declared as a slot the module's instances declared before ([`ModuleGlobals`]): the
    /// module holds the registry's declaration of the name, so the store has none to release.
    known: bool,
}

impl Declared {
    fn view(&self) -> SlotView<'_> {
        SlotView {
            name: &self.name,
            ty: self.ty,
            default: self.default,
            written_at: self.written_at,
            known: self.known,
        }
    }

    fn new(name: Arc<str>, slot: &CheckedSlot<'_>, written_at: u64, known: bool) -> Declared {
        Declared {
            name,
            ty: slot.ty,
            default: slot.default,
            written_at,
            known,
        }
    }
}

/// Slots of a table not yet in [`GlobalsCtx::by_name`].
#[derive(Clone, Debug)]
struct Unindexed {
    table: usize,
    indexes: std::ops::Range<u32>,
}

#[derive(Clone, Copy, Debug)]
struct SlotRef {
    table: usize,
    index: u32,
}

#[derive(Clone, Debug)]
struct Write {
    memory: Memory,
    table: usize,
    addr: u64,
    bits: u64,
    index: u32,
}

/// Counters of what a [`GlobalsCtx`] has done.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Calls the store's guests made to the `declare` and `declare_range` imports (a range is
    /// one call).
    pub declare_calls: u64,
    /// Calls to [`sync`], including those that found nothing to do.
    pub syncs: u64,
    /// Declarations refused with `TYPE_MISMATCH` (see [`GlobalsCtx::refusals`]).
    pub refusals: u64,
    /// Value fields written by [`sync`].
    pub writes: u64,
    /// Recorded memories that declarations looked at again to find their memory: a declaration
    /// does so only from a memory not seen before, or one that moved when it grew, and then looks
    /// at each recorded memory once. Every other declaration finds its table with two lookups.
    pub memories_looked_at: u64,
    /// Declarations of slots that the module's instances declared before, byte for byte
    /// ([`ModuleGlobals`]): made without validating the slot or asking the registry again.
    pub known: u64,
    /// Of the calls that made those, the ones that declared all their slots at once, as one
    /// record of the store's: a call whose slots are all known, into a table the store had no
    /// slot of.
    pub known_runs: u64,
}

/// One declared global, as [`GlobalsCtx::declarations`] lists it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Declaration {
    /// The address of the slot's table in its memory (a table is its memory and this address:
    /// the same address in two instances' memories is two tables).
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
    /// The store's label ([`GlobalsCtx::with_label`]).
    pub label: Option<Arc<str>>,
}

/// A declaration the host refused with `TYPE_MISMATCH` because its name is fixed to another type,
/// as [`GlobalsCtx::refusals`] lists it. The guest sees only the status; what it does then is up
/// to its SDK (the Rust SDK panics at the global's first read, which traps with `unreachable`):
/// this is where the embedder learns why, and [`GlobalsCtx::explain`] puts it in the error of
/// the call that failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Refusal {
    /// The address of the slot's table in its memory.
    pub table_addr: u32,
    /// The slot index.
    pub index: u32,
    /// The name.
    pub name: String,
    /// The type the guest declared.
    pub declared: ValueType,
    /// The type the name is fixed to.
    pub fixed: ValueType,
    /// Whether the embedder fixed it ([`Globals::define`], in this registry or one above it);
    /// if not, a live declaration by another guest, or a typed value set, did.
    pub defined: bool,
    /// The store's label ([`GlobalsCtx::with_label`]).
    pub label: Option<Arc<str>>,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "declaration of {:?} refused (slot {} of the table at {:#x}",
            self.name, self.index, self.table_addr
        )?;
        if let Some(label) = &self.label {
            write!(f, ", store {label:?}")?;
        }
        write!(f, "): the guest declared it {}, ", self.declared)?;
        if self.defined {
            write!(f, "the embedder defined it as {}", self.fixed)
        } else {
            write!(
                f,
                "it is already {} (a live declaration, or a value of that type set)",
                self.fixed
            )
        }
    }
}

/// How many [`Refusal`]s a ctx keeps: the most recent.
const REFUSALS_KEPT: usize = 16;

/// Up to this many memories or tables, a store finds one by scanning a vector rather than by a
/// hash lookup: most stores have one instance (one per request, say), and a store that never
/// needs an index should not pay to build one.
const SCAN: usize = 8;

impl GlobalsCtx {
    /// A ctx that takes values from `globals`, with the default [`Limits`].
    #[must_use]
    pub fn new(globals: &Globals) -> GlobalsCtx {
        GlobalsCtx::with_limits(globals, Limits::default())
    }

    /// A ctx that takes values from `globals` and holds its store's guests to `limits`.
    #[must_use]
    pub fn with_limits(globals: &Globals, limits: Limits) -> GlobalsCtx {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        GlobalsCtx {
            globals: globals.clone(),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            synced: globals.version(),
            memories: Vec::new(),
            bases: Vec::new(),
            by_base: HashMap::new(),
            tables: Vec::new(),
            by_table: BTreeMap::new(),
            last_table: None,
            by_name: HashMap::new(),
            unindexed: Vec::new(),
            writes: Vec::new(),
            stats: Stats::default(),
            epoch_yields: false,
            limits,
            refusals: VecDeque::new(),
            explained: 0,
            declared: 0,
            declared_known: 0,
            host_bytes: 0,
            reserved: 0,
            names: HashMap::default(),
            uncounted: 0,
            label: None,
            log: LogBudget::default(),
            module: ModuleGlobals::default(),
            known: None,
            components: Vec::new(),
            components_free: Vec::new(),
            components_declared: 0,
            components_base: 0,
        }
    }

    /// Tells the ctx which module its store's instances are made from ([`ModuleGlobals`]), so
    /// that their declarations skip what is known of the module. For a host that makes an
    /// instance per request from an `InstancePre`.
    ///
    /// Only a hint: an instance of another module declares as it would without it.
    #[must_use]
    pub fn with_module(mut self, module: &ModuleGlobals) -> GlobalsCtx {
        // Slots declared as known hold no registry declaration of their own: the module that
        // knew them must outlive them, so a ctx that has some keeps it.
        if self.declared_known == 0 {
            self.known = module.known(&self.globals);
        }
        self.module = module.clone();
        self
    }

    /// The slots the module's instances declared before ([`ModuleGlobals`]), if any.
    pub(crate) fn known(&self) -> Option<Arc<Known>> {
        self.known.clone()
    }

    /// Where the module named by [`with_module`](GlobalsCtx::with_module) exports its memory.
    pub(crate) fn memory_export(&self) -> Option<wasmtime::ModuleExport> {
        self.module.memory
    }

    /// Names this store, for operators: a tenant, a request id. The label is carried into
    /// [`Declaration`], [`Refusal`] and this store's `tracing` events (field `label`).
    ///
    /// ```
    /// # let globals = wasmtime_global::Globals::new();
    /// let ctx = wasmtime_global::GlobalsCtx::new(&globals).with_label("tenant-42");
    /// assert_eq!(ctx.label(), Some("tenant-42"));
    /// ```
    #[must_use]
    pub fn with_label(mut self, label: impl Into<Arc<str>>) -> GlobalsCtx {
        self.set_label(label);
        self
    }

    /// Changes this store's label (see [`with_label`](GlobalsCtx::with_label)): a pooled store
    /// reused for another request, say.
    pub fn set_label(&mut self, label: impl Into<Arc<str>>) {
        self.label = Some(label.into());
    }

    /// This store's label, if it has one.
    #[must_use]
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// The label as a `tracing` field value.
    fn label_field(&self) -> &str {
        self.label.as_deref().unwrap_or("")
    }

    /// Adds this store's uncounted declarations to the registry's counters.
    pub(crate) fn count_declarations(&mut self) {
        if self.uncounted > 0 {
            Tally::add(&self.globals.tally().declarations, self.uncounted);
            self.uncounted = 0;
        }
    }

    /// Counts a trap of this store's guest by a declaration, with a warning naming the error
    /// the first time the store's guests trap with an error of its kind ([`LogBudget`]).
    pub(crate) fn trapped(&mut self, table_addr: u32, index: u32, error: &Error) {
        Tally::add(&self.globals.tally().traps, 1);
        let key = {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::hash::DefaultHasher::new();
            ("trap", std::mem::discriminant(error)).hash(&mut hasher);
            hasher.finish()
        };
        match self.log.verdict(key) {
            Verdict::Full => tracing::warn!(
                target: "wasmtime_global::declare",
                label = self.label_field(),
                table = table_addr,
                index,
                error = %error,
                "a declaration trapped the guest"
            ),
            Verdict::Count(n) => self.quiet_event(n),
            Verdict::Quiet => {}
        }
    }

    /// The warning that `n` refusals and traps of this store were not logged in full.
    fn quiet_event(&self, n: u64) {
        tracing::warn!(
            target: "wasmtime_global::declare",
            label = self.label_field(),
            count = n,
            "refusals and traps of this store not logged in full (each name refused and each \
             kind of trap is, once; the counters have them all)"
        );
    }

    /// The most recent declarations the host refused with `TYPE_MISMATCH` (up to 16, oldest
    /// first; [`Stats::refusals`] counts them all). Kept across [`reset`](GlobalsCtx::reset).
    #[must_use]
    pub fn refusals(&self) -> Vec<Refusal> {
        self.refusals.iter().cloned().collect()
    }

    /// `error`, from a call into this store's guests (or an instantiation) that failed, with
    /// the reason of each declaration refused since the last `explain` added as its context, so
    /// that a guest that trapped with a bare `unreachable` because its SDK would not read a
    /// refused global says why: the error's message is the first such [`Refusal`], and
    /// `error.downcast_ref::<Refusal>()` finds it. Without refusals since, `error` unchanged.
    /// (Up to 16: the ctx keeps the most recent.) The trap itself stays in the chain:
    /// `downcast_ref::<wasmtime::Trap>()` still finds it.
    ///
    /// ```
    /// # use wasmtime::{Engine, Linker, Module, Store};
    /// # use wasmtime_global::{Globals, GlobalsCtx, Refusal, ValueType};
    /// # let engine = Engine::default();
    /// # let mut linker = Linker::new(&engine);
    /// # wasmtime_global::add_to_linker(&mut linker, |ctx: &mut GlobalsCtx| ctx)?;
    /// # let module = Module::new(&engine, include_str!("doc/max_items.wat"))?;
    /// let globals = Globals::new();
    /// globals.define("MAX_ITEMS", ValueType::F64, None)?; // the guest declares it U64
    /// let mut store = Store::new(&engine, GlobalsCtx::new(&globals));
    /// let instance = linker.instantiate(&mut store, &module)?;
    /// let max_items = instance.get_typed_func::<(), i64>(&mut store, "max_items")?;
    /// let error = max_items.call(&mut store, ()).unwrap_err(); // `unreachable`
    /// let error = store.data_mut().explain(error);
    /// assert_eq!(
    ///     error.to_string(),
    ///     "declaration of \"MAX_ITEMS\" refused (slot 0 of the table at 0x400): the guest \
    ///      declared it U64, the embedder defined it as F64"
    /// );
    /// assert_eq!(error.downcast_ref::<Refusal>().map(|r| r.fixed), Some(ValueType::F64));
    /// assert!(error.downcast_ref::<wasmtime::Trap>().is_some());
    /// # Ok::<(), wasmtime::Error>(())
    /// ```
    #[must_use]
    pub fn explain(&mut self, error: wasmtime::Error) -> wasmtime::Error {
        let new = self.stats.refusals - self.explained;
        self.explained = self.stats.refusals;
        let kept = usize::try_from(new)
            .unwrap_or(usize::MAX)
            .min(self.refusals.len());
        // The newest first, so that the oldest (the likeliest cause) is the outermost.
        let refusals = self.refusals.iter().rev().take(kept);
        refusals.fold(error, |error, refusal| error.context(refusal.clone()))
    }

    /// The limits this ctx holds its store's guests to.
    #[must_use]
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The host memory this store's declarations are charged, in bytes: an upper bound of what
    /// the host allocated for them (see [`Limits::host_bytes`]). Falls to 0 at
    /// [`reset`](GlobalsCtx::reset).
    #[must_use]
    pub fn host_bytes(&self) -> u64 {
        self.host_bytes
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

    /// Every slot declared in this store, by table (in the order the tables were first
    /// declared into) then slot index.
    #[must_use]
    pub fn declarations(&self) -> Vec<Declaration> {
        let mut all = Vec::new();
        for table in &self.tables {
            all.extend(table.slots.iter().map(|(index, d)| Declaration {
                table_addr: table.addr,
                index,
                name: d.name.to_string(),
                ty: d.ty,
                default: Value::from_bits(d.ty, d.default),
                shared: table.shared.is_some(),
                label: self.label.clone(),
            }));
        }
        all
    }

    /// Forgets every instance and releases their declarations, as if the ctx were new.
    pub fn reset(&mut self) {
        self.release();
        self.memories.clear();
        self.bases.clear();
        self.by_base.clear();
        self.tables.clear();
        self.by_table.clear();
        self.last_table = None;
        self.by_name.clear();
        self.unindexed.clear();
        // Handles of before stay out of range: reps go on from past them (a ctx reset more than
        // u32::MAX handles on refuses further component declarations, `declare_component`).
        self.components_base = self
            .components_base
            .saturating_add(u32::try_from(self.components.len()).unwrap_or(u32::MAX));
        self.components.clear();
        self.components_free.clear();
        self.components_declared = 0;
        self.synced = self.globals.version();
        self.declared = 0;
        self.declared_known = 0;
        self.host_bytes = 0;
    }

    fn release(&mut self) {
        self.count_declarations();
        self.globals.unreserve(std::mem::take(&mut self.reserved));
        if self.declared == self.declared_known {
            // Nothing of the registry's to give back (one instance per request of a module
            // told of: every slot known).
            return;
        }
        let GlobalsCtx {
            globals,
            id,
            tables,
            names,
            components,
            ..
        } = self;
        let releases = tables.iter().flat_map(|t| {
            let shared = t.shared;
            let slots = t.slots.iter().filter(|(_, d)| !d.known);
            slots.map(move |(index, d)| (d.name, shared.map(|key| (key, index))))
        });
        let of_components = components.iter().flatten().map(|c| (&c.name, None));
        let releases = releases
            .chain(of_components)
            .map(|(name, slot)| -> Release<'_> { (&**name, slot, leave(names, name)) });
        let shared = tables.iter().any(|t| t.shared.is_some());
        globals.undeclare(*id, shared, releases);
        names.clear();
    }

    /// Declares `name` as `ty` with the default `default` for a component (its bits); returns
    /// the index of its handle. Checked as a slot's declaration is: the name's rules, the
    /// store's limits, the name's type in the registry.
    #[cfg_attr(not(feature = "component"), allow(dead_code))]
    pub(crate) fn declare_component(
        &mut self,
        name: &str,
        ty: ValueType,
        default: u64,
    ) -> core::result::Result<u32, ComponentRefusal> {
        if abi::check_name(name.as_bytes()).is_err() {
            return Err(ComponentRefusal::InvalidName);
        }
        let reps_left = u32::MAX - self.components_base;
        if self.declared >= self.limits.declarations
            || self.components_declared >= self.limits.declarations
            || self.components.len() >= reps_left as usize
        {
            return Err(ComponentRefusal::Limit(self.over(Limit::Declarations)));
        }
        let charged = DECLARATION_BYTES + name.len() as u64;
        self.charge(charged).map_err(ComponentRefusal::Limit)?;
        let names = &mut self.names;
        let declared = self.globals.declare(name, ty, |key| join(names, key));
        let (name, _, _) = match declared {
            Ok(declared) => declared,
            Err(fixed) => {
                // Not a store refusal (`refusals`, `explain`): the component gets it as a typed
                // error, and its code decides. The registry counts it.
                self.refund(charged);
                Tally::add(&self.globals.tally().refusals, 1);
                return Err(ComponentRefusal::TypeMismatch(fixed));
            }
        };
        self.components_declared += 1;
        self.declared += 1;
        let (_, _, seen_change) = self.globals.current_changed(&name);
        self.uncounted += 1;
        self.count_declarations();
        let global = Some(ComponentGlobal {
            name,
            ty,
            default,
            charged,
            read_bits: default,
            read_at: u64::MAX,
            read_defs: u64::MAX,
            changes: 0,
            seen_change,
        });
        let index = match self.components_free.pop() {
            Some(i) => {
                self.components[i as usize] = global;
                i
            }
            None => {
                self.components.push(global);
                // Fewer than `reps_left` entries (checked above): it fits, and so does the rep.
                (self.components.len() - 1) as u32
            }
        };
        Ok(self.components_base + index)
    }

    /// The index in `components` of the handle of rep `rep`, if it is one of this ctx's since
    /// its last reset.
    #[cfg_attr(not(feature = "component"), allow(dead_code))]
    fn component_index(&self, rep: u32) -> Option<usize> {
        Some(rep.checked_sub(self.components_base)? as usize)
    }

    /// The component global of the handle of rep `rep`, if it lives.
    #[cfg_attr(not(feature = "component"), allow(dead_code))]
    pub(crate) fn component(&self, rep: u32) -> Option<&ComponentGlobal> {
        self.components.get(self.component_index(rep)?)?.as_ref()
    }

    /// How many component globals live.
    #[cfg_attr(not(feature = "component"), allow(dead_code))]
    pub(crate) fn component_count(&self) -> usize {
        self.components.len() - self.components_free.len()
    }

    /// What the component global of the handle of rep `rep` reads now, if it lives. The registry's name
    /// is looked up only when its version moved since this global's last read: a change
    /// publishes its version once it is complete, so a read that finds the version unmoved may
    /// give the bits of that version.
    #[cfg_attr(not(feature = "component"), allow(dead_code))]
    pub(crate) fn component_bits(&mut self, rep: u32) -> Option<u64> {
        Some(self.look(rep)?.read_bits)
    }

    /// How many looks at the component global of the handle of rep `rep` (reads, and this)
    /// found its name changed since the look before: what a core module's slot's `changes`
    /// counts, the syncs that wrote it.
    #[cfg_attr(not(feature = "component"), allow(dead_code))]
    pub(crate) fn component_changes(&mut self, rep: u32) -> Option<u64> {
        Some(self.look(rep)?.changes)
    }

    /// The component global of the handle of rep `rep`, its read brought up to date.
    #[cfg_attr(not(feature = "component"), allow(dead_code))]
    fn look(&mut self, rep: u32) -> Option<&ComponentGlobal> {
        // Definitions first: a definition read after the version cannot be older than it.
        let defs = self.globals.definitions();
        let now = self.globals.version();
        let index = self.component_index(rep)?;
        let global = self.components.get_mut(index)?.as_mut()?;
        if global.read_at != now || global.read_defs != defs {
            let (value, version, changed) = self.globals.current_changed(&global.name);
            global.read_bits = value.map_or(global.default, Value::to_bits);
            global.read_at = version;
            global.read_defs = defs;
            if changed != global.seen_change {
                global.changes += 1;
                global.seen_change = changed;
            }
        }
        Some(global)
    }

    /// Ends the declaration of the handle of rep `rep` (the component dropped it).
    #[cfg_attr(not(feature = "component"), allow(dead_code))]
    pub(crate) fn drop_component(&mut self, rep: u32) {
        let Some(index) = self.component_index(rep) else {
            return;
        };
        let Some(global) = self.components.get_mut(index).and_then(Option::take) else {
            return;
        };
        // An index of `components`, which holds fewer than u32::MAX entries.
        self.components_free.push(index as u32);
        self.refund(global.charged);
        self.declared -= 1;
        let leaves = leave(&mut self.names, &global.name);
        self.globals
            .undeclare(self.id, false, [(&*global.name, None, leaves)]);
    }

    pub(crate) fn count_declare_call(&mut self) {
        self.stats.declare_calls += 1;
    }

    /// The number of memories recorded.
    pub(crate) fn memory_count(&self) -> usize {
        self.memories.len()
    }

    /// Recorded memory `i`.
    pub(crate) fn memory(&self, i: usize) -> Option<GuestMemory> {
        self.memories.get(i).cloned()
    }

    /// The recorded memory whose base address was `base` when last looked at.
    pub(crate) fn memory_at(&self, base: usize) -> Option<usize> {
        match self.last_table {
            Some((m, _, _)) if self.bases[m] == base => Some(m),
            _ if self.bases.len() <= SCAN => self.bases.iter().position(|&b| b == base),
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
    fn index_bases(&mut self) {
        self.by_base.clear();
        if self.bases.len() > SCAN {
            self.by_base
                .extend(self.bases.iter().enumerate().map(|(i, &base)| (base, i)));
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
    fn table(
        &mut self,
        memory: core::result::Result<usize, (GuestMemory, usize)>,
        addr: u32,
        capacity: u32,
        room: usize,
    ) -> Result<usize> {
        let known = match &memory {
            Ok(memory) => self.known_table(*memory, addr),
            Err(_) => None,
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
        if let Ok(memory) = memory
            && let Some(other) = self.overlapping(memory, addr, capacity)
        {
            return Err(Error::TableOverlaps { addr, other });
        }
        self.charge(TABLE_BYTES)?;
        // A memory is recorded only with a table taken, so that the tables limit bounds the
        // memories too.
        let memory = match memory {
            Ok(i) => i,
            Err((memory, base)) => {
                self.memories.push(memory);
                self.bases.push(base);
                let i = self.memories.len() - 1;
                if self.by_base.is_empty() {
                    self.index_bases();
                } else {
                    self.by_base.insert(base, i);
                }
                i
            }
        };
        let shared = match &self.memories[memory] {
            GuestMemory::Shared(m) => Some((m.data().as_ptr() as usize, addr)),
            GuestMemory::Plain(_) => None,
        };
        self.tables.push(Table {
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
        let t = self.tables.len() - 1;
        if self.tables.len() > SCAN {
            if self.by_table.is_empty() {
                let tables = self.tables.iter().enumerate();
                self.by_table
                    .extend(tables.map(|(i, table)| ((table.memory, table.addr), i)));
            } else {
                self.by_table.insert((memory, addr), t);
            }
        }
        self.last_table = Some((memory, addr, t));
        Ok(t)
    }

    /// The recorded table at `addr` of recorded memory `memory`, if there is one.
    fn known_table(&mut self, memory: usize, addr: u32) -> Option<usize> {
        if let Some((m, a, t)) = self.last_table
            && (m, a) == (memory, addr)
        {
            return Some(t);
        }
        let known = if self.tables.len() <= SCAN {
            self.tables
                .iter()
                .position(|t| (t.memory, t.addr) == (memory, addr))
        } else {
            self.by_table.get(&(memory, addr)).copied()
        };
        if let Some(t) = known {
            self.last_table = Some((memory, addr, t));
        }
        known
    }

    /// The address of a recorded table of memory `memory` that a new table at `addr` of
    /// `capacity` slots would overlap, if any. Recorded tables do not overlap one another, so
    /// the nearest below and the nearest above are the only ones to look at.
    fn overlapping(&self, memory: usize, addr: u32, capacity: u32) -> Option<u32> {
        let end = u64::from(addr) + abi::table_size(capacity);
        let overlaps = |t: &Table| {
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

    fn over(&self, limit: Limit) -> Error {
        let max = match limit {
            Limit::Declarations => self.limits.declarations.into(),
            Limit::Tables => self.limits.tables.into(),
            Limit::SameNameSlots => self.limits.same_name_slots.into(),
            Limit::HostBytes => self.limits.host_bytes,
            // Reported by the registry, with its own bound.
            Limit::RegistryHostBytes => 0,
        };
        Error::LimitExceeded { limit, max }
    }

    /// Charges `bytes` against [`Limits::host_bytes`], and reserves them in the registries'
    /// bounds ([`Globals::set_max_host_bytes`]) if the store's reservation is short; or fails
    /// with nothing charged.
    fn charge(&mut self, bytes: u64) -> Result<()> {
        let total = match self.host_bytes.checked_add(bytes) {
            Some(total) if total <= self.limits.host_bytes => total,
            _ => return Err(self.over(Limit::HostBytes)),
        };
        if total > self.reserved {
            let more = (total - self.reserved).max(RESERVE_CHUNK);
            self.globals.reserve(more)?;
            self.reserved += more;
        }
        self.host_bytes = total;
        Ok(())
    }

    /// Notes that the declaration of `slot` in `table` was refused because its name is fixed to
    /// the type `fixed`.
    fn refuse(&mut self, table: usize, slot: &CheckedSlot<'_>, fixed: ValueType) {
        self.stats.refusals += 1;
        Tally::add(&self.globals.tally().refusals, 1);
        if self.refusals.len() == REFUSALS_KEPT {
            self.refusals.pop_front();
        }
        let refusal = Refusal {
            table_addr: self.tables[table].addr,
            index: slot.index,
            name: slot.name.to_owned(),
            declared: slot.ty,
            fixed,
            defined: self.globals.bound(slot.name),
            label: self.label.clone(),
        };
        match self.log.verdict(slot.hash) {
            Verdict::Full => tracing::warn!(
                target: "wasmtime_global::declare",
                label = self.label_field(),
                name = refusal.name,
                declared = ?refusal.declared,
                fixed = ?refusal.fixed,
                defined = refusal.defined,
                table = refusal.table_addr,
                index = refusal.index,
                "declaration refused: TYPE_MISMATCH"
            ),
            Verdict::Count(n) => self.quiet_event(n),
            Verdict::Quiet => {}
        }
        self.refusals.push_back(refusal);
    }

    /// A debug event for an accepted declaration.
    fn declared_event(&self, table: usize, slot: &CheckedSlot<'_>) {
        tracing::debug!(
            target: "wasmtime_global::declare",
            label = self.label_field(),
            name = slot.name,
            ty = ?slot.ty,
            table = self.tables[table].addr,
            index = slot.index,
            shared = self.tables[table].shared.is_some(),
            "declared"
        );
    }

    fn refund(&mut self, bytes: u64) {
        self.host_bytes -= bytes;
    }

    /// Checks that one more slot like `slot` in `table` stays within the limits, and charges it;
    /// [`record`](GlobalsCtx::record) then counts it. Returns the bytes charged, for
    /// [`refund`](GlobalsCtx::refund) if the declaration fails.
    fn admit(&mut self, table: usize, slot: &CheckedSlot<'_>) -> Result<u64> {
        if self.declared >= self.limits.declarations {
            return Err(self.over(Limit::Declarations));
        }
        let limit = self.limits.same_name_slots;
        let t = &mut self.tables[table];
        if t.count >= limit {
            let per_name = t.per_name.get_or_insert_with(|| {
                let mut counts = HashMap::<u64, u32>::new();
                for (_, d) in t.slots.iter() {
                    *counts.entry(abi::fnv1a64(d.name.as_bytes())).or_default() += 1;
                }
                Box::new(counts)
            });
            if per_name.get(&slot.hash).is_some_and(|&n| n >= limit) {
                return Err(self.over(Limit::SameNameSlots));
            }
        }
        let each = match t.shared {
            Some(_) => SHARED_DECLARATION_BYTES,
            None => DECLARATION_BYTES,
        };
        let bytes = each + slot.name.len() as u64;
        self.charge(bytes)?;
        Ok(bytes)
    }

    /// Whether slot `slot.index` of `table` is already declared: the same again is `true`,
    /// anything else an error.
    fn redeclared(&self, table: usize, slot: &CheckedSlot<'_>) -> Result<bool> {
        let Some(old) = self.tables[table].slots.get(slot.index) else {
            return Ok(false);
        };
        if slot.declares(old.name, old.ty, old.default) {
            Ok(true)
        } else {
            Err(Error::SlotRedeclared {
                index: slot.index,
                name: old.name.to_string(),
            })
        }
    }

    /// Counts `declared`, a new declaration of slot `index` (whose hash is `hash`) of `table`.
    fn record(&mut self, table: usize, index: u32, hash: u64, declared: Declared) {
        self.declared += 1;
        self.uncounted += 1;
        let t = &mut self.tables[table];
        t.count += 1;
        if let Some(per_name) = &mut t.per_name {
            *per_name.entry(hash).or_default() += 1;
        }
        t.slots.insert(index, declared, t.count);
    }

    /// Declares `slot` of the table at `table_addr` of an ordinary memory: `memory` is the
    /// recorded memory's index, or the memory and its base address if it was not seen before.
    /// Writes its current value into `data`, that memory's bytes.
    pub(crate) fn declare(
        &mut self,
        memory: Result<usize, (Memory, usize)>,
        place: TablePlace,
        slot: &CheckedSlot<'_>,
        data: &mut [u8],
    ) -> Result<Status> {
        let TablePlace {
            addr: table_addr,
            capacity,
        } = place;
        let table = self.table(
            memory.map_err(|(m, base)| (GuestMemory::Plain(m), base)),
            table_addr,
            capacity,
            0,
        )?;
        if self.redeclared(table, slot)? {
            let bits = self
                .globals
                .current(slot.name)
                .map_or(slot.default, Value::to_bits);
            write_value(data, slot, bits)?;
            return Ok(Status::Ok);
        }
        let charged = self.admit(table, slot)?;
        let names = &mut self.names;
        let joined = |key: &Arc<str>| join(names, key);
        let (name, value, version) = match self.globals.declare(slot.name, slot.ty, joined) {
            Ok(declared) => declared,
            Err(fixed) => {
                self.refund(charged);
                self.refuse(table, slot, fixed);
                return Ok(Status::TypeMismatch);
            }
        };
        let bits = value.map_or(slot.default, Value::to_bits);
        if let Err(e) = write_value(data, slot, bits) {
            self.refund(charged);
            let leaves = leave(&mut self.names, &name);
            self.globals
                .undeclare(self.id, false, [(&*name, None, leaves)]);
            return Err(e);
        }
        if self.unindexed.capacity() == 0 {
            // As for `names`: a guest's usual handful at once.
            self.unindexed.reserve(NAMES_AT_FIRST);
        }
        self.unindexed.push(Unindexed {
            table,
            indexes: slot.index..slot.index + 1,
        });
        let declared = Declared::new(name, slot, version, false);
        self.record(table, slot.index, slot.hash, declared);
        self.declared_event(table, slot);
        Ok(Status::Ok)
    }

    /// Declares a slot of an ordinary memory that is one the module's instances declared
    /// before, `hit` ([`Known::hit`]): as [`declare`](GlobalsCtx::declare), but its validation
    /// and its registry declaration are the module's.
    pub(crate) fn declare_known(
        &mut self,
        memory: Result<usize, (Memory, usize)>,
        place: TablePlace,
        index: u32,
        hit: Hit,
        data: &mut [u8],
    ) -> Result<Status> {
        let TablePlace {
            addr: table_addr,
            capacity,
        } = place;
        let slot = hit.checked(table_addr, index);
        let table = self.table(
            memory.map_err(|(m, base)| (GuestMemory::Plain(m), base)),
            table_addr,
            capacity,
            hit.room,
        )?;
        if self.redeclared(table, &slot)? {
            write_value(data, &slot, hit.bits)?;
            return Ok(Status::Ok);
        }
        let charged = self.admit(table, &slot)?;
        if let Err(e) = write_value(data, &slot, hit.bits) {
            self.refund(charged);
            return Err(e);
        }
        self.stats.known += 1;
        self.declared_known += 1;
        if self.unindexed.capacity() == 0 {
            self.unindexed.reserve(NAMES_AT_FIRST);
        }
        self.unindexed.push(Unindexed {
            table,
            indexes: index..index + 1,
        });
        self.declared_event(table, &slot);
        let (hash, version) = (slot.hash, hit.version);
        let declared = Declared {
            name: hit.name,
            ty: hit.ty,
            default: hit.default,
            written_at: version,
            known: true,
        };
        self.record(table, index, hash, declared);
        Ok(Status::Ok)
    }

    /// Whether a call's slots into the table at `addr` of `memory` may be declared as one
    /// run ([`declare_run`](GlobalsCtx::declare_run)): the store has no slot of that table.
    pub(crate) fn may_run(&mut self, memory: &Result<usize, (Memory, usize)>, addr: u32) -> bool {
        match memory {
            Ok(memory) => self
                .known_table(*memory, addr)
                .is_none_or(|t| self.tables[t].count == 0),
            Err(_) => true,
        }
    }

    /// Declares `run`, slots the module's instances declared before ([`KnownView::run`]), at
    /// once: if the store has declared no slot of the table yet and its limits hold them all,
    /// records them as one entry, writes their values into `data` and returns `true`. Else
    /// returns `false` having declared, written and charged nothing (the table may be recorded
    /// now): declare them one by one, which says which slot breaks which limit.
    ///
    /// [`KnownView::run`]: crate::module::KnownView::run
    pub(crate) fn declare_run(
        &mut self,
        memory: Result<usize, (Memory, usize)>,
        place: TablePlace,
        run: Run,
        data: &mut [u8],
    ) -> Result<bool> {
        let table = self.table(
            memory.map_err(|(m, base)| (GuestMemory::Plain(m), base)),
            place.addr,
            place.capacity,
            0,
        )?;
        let count = run.indexes.end - run.indexes.start;
        // A table with no slot yet: none of the run is declared, and no name of it can have
        // more slots than the run's count.
        if self.tables[table].count != 0
            || count > self.limits.same_name_slots
            || count > self.limits.declarations - self.declared
        {
            return Ok(false);
        }
        // Charged as the same slots declared one by one are (limits.rs).
        let charged = u64::from(count) * DECLARATION_BYTES + run.name_bytes;
        if self.charge(charged).is_err() {
            return Ok(false);
        }
        for index in run.indexes.clone() {
            let written = run.slot(index).is_some_and(|slot| {
                let addr = value_addr(place.addr, index);
                let out = usize::try_from(addr)
                    .ok()
                    .and_then(|at| data.get_mut(at..at.checked_add(8)?));
                out.map(|out| out.copy_from_slice(&slot.bits().to_le_bytes()))
                    .is_some()
            });
            if !written {
                // Not for a run `KnownView::run` found in `data`: one by one says what is wrong.
                self.refund(charged);
                return Ok(false);
            }
        }
        self.declared += count;
        self.uncounted += u64::from(count);
        self.declared_known += count;
        self.stats.known += u64::from(count);
        self.stats.known_runs += 1;
        self.unindexed.push(Unindexed {
            table,
            indexes: run.indexes.clone(),
        });
        let t = &mut self.tables[table];
        t.count = count;
        t.slots.run = Some(KnownRun {
            layout: run.layout,
            indexes: run.indexes,
            written_at: run.written_at,
        });
        if tracing::enabled!(target: "wasmtime_global::declare", tracing::Level::DEBUG) {
            let t = &self.tables[table];
            for (index, slot) in t.slots.iter() {
                tracing::debug!(
                    target: "wasmtime_global::declare",
                    label = self.label_field(),
                    name = &**slot.name,
                    ty = ?slot.ty,
                    table = t.addr,
                    index,
                    shared = false,
                    "declared"
                );
            }
        }
        Ok(true)
    }

    /// Declares `slot` of the table at `table_addr` of shared memory `memory` (its recorded
    /// index, or `Err` with its handle and base address if not seen before): the registry writes
    /// its value now and at every change.
    pub(crate) fn declare_shared(
        &mut self,
        memory: Result<usize, (SharedMemory, usize)>,
        place: TablePlace,
        slot: &CheckedSlot<'_>,
    ) -> Result<Status> {
        let TablePlace {
            addr: table_addr,
            capacity,
        } = place;
        let table = self.table(
            memory.map_err(|(m, base)| (GuestMemory::Shared(m), base)),
            table_addr,
            capacity,
            0,
        )?;
        let redeclared = self.redeclared(table, slot)?;
        let charged = if redeclared {
            0
        } else {
            self.admit(table, slot)?
        };
        let GuestMemory::Shared(memory) = &self.memories[self.tables[table].memory] else {
            unreachable!("a table's memory keeps its kind");
        };
        let key = self.tables[table]
            .shared
            .unwrap_or((memory.data().as_ptr() as usize, table_addr));
        let declaration = SharedDeclaration {
            owner: self.id,
            memory,
            table: key,
            capacity,
            slot,
            again: redeclared,
        };
        let names = &mut self.names;
        let mut joined = None;
        let join_once = |key: &Arc<str>| {
            joined = Some(Arc::clone(key));
            join(names, key)
        };
        let outcome = self.globals.declare_shared(declaration, join_once);
        if outcome.is_err()
            && let Some(key) = joined
        {
            // The registry counted the store out again.
            leave(&mut self.names, &key);
        }
        let name = match outcome {
            Ok(Ok(name)) => name,
            Ok(Err(fixed)) => {
                self.refund(charged);
                self.refuse(table, slot, fixed);
                return Ok(Status::TypeMismatch);
            }
            Err(e) => {
                self.refund(charged);
                return Err(e);
            }
        };
        if !redeclared {
            let declared = Declared::new(name, slot, 0, false);
            self.record(table, slot.index, slot.hash, declared);
            self.declared_event(table, slot);
        }
        Ok(Status::Ok)
    }

    /// Plans the writes that bring this store up to date; returns whether there is anything new.
    fn plan(&mut self) -> bool {
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
                        addr: value_addr(table.addr, r.index),
                        bits: value.map_or(d.default, Value::to_bits),
                        index: r.index,
                    });
                }
            }
        });
        true
    }

    /// The address of the `generation` field of table `table`.
    fn generation_addr(&self, table: usize) -> u64 {
        u64::from(self.tables[table].addr) + GENERATION_OFFSET
    }
}

/// Counts one of a store's slots of `name` less in `names`; returns whether it was the last.
fn leave(names: &mut HashMap<usize, u32, BuildHasherDefault<PtrHasher>>, name: &Arc<str>) -> bool {
    let key = name_key(name);
    match names.get_mut(&key) {
        Some(1) => {
            names.remove(&key);
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

/// The room [`join`] makes in a store's map of names at its first declaration.
const NAMES_AT_FIRST: usize = 16;

/// Counts one more of a store's slots of `name` in `names`; returns whether it is the first.
fn join(names: &mut HashMap<usize, u32, BuildHasherDefault<PtrHasher>>, name: &Arc<str>) -> bool {
    if names.capacity() == 0 {
        // Room for a guest's usual handful at once: growing from nothing rehashed the map four
        // times on the way to 16 names (`cargo bench --bench request`, resident pool).
        names.reserve(NAMES_AT_FIRST);
    }
    let n = names.entry(name_key(name)).or_insert(0);
    *n += 1;
    *n == 1
}

impl Drop for GlobalsCtx {
    fn drop(&mut self) {
        self.release();
    }
}

/// The address of the value field of slot `index` of the table at `table`.
fn value_addr(table: u32, index: u32) -> u64 {
    u64::from(table) + abi::slot_offset(index) + u64::from(abi::Slot::VALUE_OFFSET)
}

fn write_value(data: &mut [u8], slot: &CheckedSlot<'_>, bits: u64) -> Result<()> {
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
    // (memory, generation address, index of a slot written in the table)
    let mut tables: Vec<(Memory, u64, u32)> = Vec::new();
    let mut last = None;
    for w in &writes {
        if last != Some(w.table) {
            last = Some(w.table);
            tables.push((w.memory, ctx.generation_addr(w.table), w.index));
        }
    }
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
        add(&mut cx, w.memory, w.addr + CHANGES_AFTER_VALUE, 1).ok_or_else(fault)
    });
    let result = result.and_then(|()| {
        tables.iter().try_for_each(|&(memory, addr, index)| {
            add(&mut cx, memory, addr, 2).ok_or(Error::WriteOutOfBounds { index, addr })
        })
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
        tables = tables.len(),
        "synced"
    );
    result.map(|()| written)
}
