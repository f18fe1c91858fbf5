//! [`GlobalsCtx`]: what one store knows of the globals its instances declared, and [`sync`].
//!
//! This file holds the store's context and what the embedder calls on it. Around it: `tables`
//! (the store's memories and tables, and the slots declared in each), `declare` (the one
//! declaration path: limits, the registry, the value written, the record), `sync` (the writes
//! that bring ordinary memories up to date) and `components` (what components declared through
//! the WIT interface).

use crate::claims::TableKey;
use crate::generation::GENERATION_OFFSET;
use crate::limits::{DECLARATION_BYTES, SHARED_DECLARATION_BYTES, TABLE_BYTES};
use crate::log_budget::{LogBudget, Verdict};
use crate::module::{Hit, Known, KnownTable, ModuleGlobals, Run};
use crate::registry::{
    Held, NameStep, RESERVE_CHUNK, Release, SharedDeclaration, SharedSlotRef, SharedStepFailed,
};
use crate::snapshot::Tally;
use crate::store_names::StoreNames;
use crate::validate::CheckedSlot;
use crate::{Error, Globals, Limit, Limits, Result, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use wasmtime::{AsContextMut, Memory, SharedMemory};
use wasmtime_global_abi::{self as abi, Status, ValueType};

mod components;
mod declare;
mod sync;
mod tables;

pub(crate) use components::ComponentGlobal;
#[cfg(feature = "component")]
pub(crate) use components::ComponentRefusal;
use declare::*;
pub(crate) use declare::{How, MemoryRef};
pub use sync::sync;
use sync::*;
use tables::*;
pub(crate) use tables::{GuestMemory, MemoryIndex, TablePlace};

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
    by_base: HashMap<usize, MemoryIndex>,
    tables: Vec<StoreTable>,
    /// Index into `tables` by memory (index into `memories`) and table address, once there are
    /// more than [`SCAN`] tables (until then, `tables` is scanned).
    by_table: BTreeMap<(MemoryIndex, u32), TableIndex>,
    /// The table of the last declaration.
    last_table: Option<LastTable>,
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
    names: StoreNames,
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
            names: StoreNames::default(),
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
            slots.map(move |(index, d)| {
                let shared_slot = shared.map(|table| SharedSlotRef { table, index });
                (d.name, shared_slot)
            })
        });
        let of_components = components.iter().flatten().map(|c| (&c.name, None));
        let releases = releases
            .chain(of_components)
            .map(|(name, shared_slot)| Release {
                name,
                shared_slot,
                leaves: names.leave(name),
            });
        let shared = tables.iter().any(|t| t.shared.is_some());
        globals.undeclare(*id, shared, releases);
        names.clear();
    }
}

impl Drop for GlobalsCtx {
    fn drop(&mut self) {
        self.release();
    }
}
