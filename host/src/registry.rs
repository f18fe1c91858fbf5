//! [`Globals`]: the one registry an embedder shares across every store and thread.
//!
//! This file holds the registry's state and what the embedder calls (set, del, batch,
//! snapshot). Around it: `definitions` (define, undefine), `entries` (one entry per name, in
//! shards), `state` (what a change does under the registry's lock), `shared_table` (tables in
//! shared memories, written outside that lock), `stores` (what stores ask: declare, release,
//! changes since a version) and `scopes` (children, inheritance, propagation).

use crate::claims::{TableClaim, TableKey};
use crate::generation::{CHANGES_AFTER_VALUE, GENERATION_OFFSET};
use crate::shared::SharedWord;
use crate::snapshot::{NameState, Snapshot, Tally};
use crate::store_names::StoreNames;
use crate::validate::CheckedSlot;
use crate::{Definition, Error, Result, Value};
use parking_lot::{
    ArcRwLockWriteGuard, Mutex, MutexGuard, RawRwLock, RwLock, RwLockReadGuard, RwLockWriteGuard,
};
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use wasmtime::SharedMemory;
use wasmtime_global_abi::{ValueType, check_name};

mod definitions;
mod entries;
mod scopes;
mod shared_table;
mod state;
mod stores;

use entries::*;
use scopes::*;
use shared_table::*;
pub(crate) use shared_table::{SharedDeclaration, SharedTable};
use state::Changed;
pub(crate) use stores::{NameStep, SharedStepFailed};

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
    /// Mirror of `Locked::version`, stored after every change, so a sync with nothing to do costs
    /// one atomic load and takes no lock.
    version: AtomicU64,
    /// How many times a definition changed here or in a registry above ([`Globals::define`],
    /// [`Globals::undefine`]): a definition decides which declarations are accepted without
    /// always moving `version`, so what a module's instances learned of this registry
    /// ([`ModuleGlobals`](crate::ModuleGlobals)) holds only while this is unchanged.
    definitions: AtomicU64,
    /// In an `Arc`, so that a change can hold the locks of every registry below this one
    /// ([`Globals::child`]) in one list of owned guards.
    state: Arc<RwLock<Locked>>,
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

/// What the registry's lock guards: its entries, its version and the changes since each.
#[derive(Debug, Default)]
struct Locked {
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
    /// O(1) each (a sweep at every new child made making n children cost O(n²)).
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

/// A declaration to release.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Release<'a> {
    pub(crate) name: &'a str,
    /// Its slot, if in a shared table.
    pub(crate) shared_slot: Option<SharedSlotRef>,
    /// Whether it is the store's last of the name: the store leaves the name's
    /// [`stores`](NameState::stores).
    pub(crate) leaves: bool,
}

impl<'a> Release<'a> {
    /// A declaration of `name` with no shared slot; `leaves` as the field says.
    pub(crate) fn ordinary(name: &'a str, leaves: bool) -> Release<'a> {
        Release {
            name,
            shared_slot: None,
            leaves,
        }
    }
}

/// A declaration a failed step holds, which the declaring store's undo releases
/// ([`Globals::undeclare`]).
#[derive(Debug)]
pub(crate) struct Held {
    pub(crate) name: Arc<str>,
    /// Its slot, if in a shared table.
    pub(crate) shared_slot: Option<SharedSlotRef>,
}

impl Held {
    /// A declaration of `name` with no shared slot.
    pub(crate) fn ordinary(name: Arc<str>) -> Held {
        Held {
            name,
            shared_slot: None,
        }
    }

    /// Its release; `leaves` as [`Release::leaves`] says.
    pub(crate) fn release(&self, leaves: bool) -> Release<'_> {
        Release {
            name: &self.name,
            shared_slot: self.shared_slot,
            leaves,
        }
    }
}

/// Slot `index` of the shared table at `table`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SharedSlotRef {
    pub(crate) table: TableKey,
    pub(crate) index: u32,
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

/// Whether guests would read the same: both `None`, or the same value.
fn same(a: Option<Value>, b: Option<Value>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.same(b),
        (None, None) => true,
        _ => false,
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
            let Changed { old, told } = state.change(name.as_ref(), *value);
            olds.push(old);
            changed.extend(told);
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

    /// The number of changes to declared names so far: it grows with every `set` or `del` that
    /// changes the value of a name some instance declared.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.inner.version.load(Ordering::Acquire)
    }

    fn publish(&self, state: &Locked) {
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
    fn read(&self) -> RwLockReadGuard<'_, Locked> {
        self.inner.state.read()
    }

    fn write(&self) -> RwLockWriteGuard<'_, Locked> {
        self.inner.state.write()
    }
}

#[cfg(test)]
mod tests;
