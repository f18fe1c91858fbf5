//! [`Globals`]: the one registry an embedder shares across every store and thread.

use crate::shared::SharedWord;
use crate::table::{CHANGES_AFTER_VALUE, GENERATION_OFFSET, ValidSlot};
use crate::{Error, Result, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering, fence};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
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
/// that declared it is alive. The typed setters ([`set_bool`](Globals::set_bool) and so on) refuse a
/// value of another type with [`Error::TypeMismatch`]; [`set`](Globals::set) writes untyped bits, as
/// wazero-global's `Set` does, and is accepted for any type.
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
    /// Mirror of `State::version`, stored after every change, so a sync with nothing to do costs
    /// one atomic load and takes no lock.
    version: AtomicU64,
    state: RwLock<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Incremented by every change.
    version: u64,
    entries: HashMap<Arc<str>, Entry>,
    /// For every name whose last change is still of interest, the version of that change. One
    /// row per name, so a sync reads only the names changed since it last ran.
    changes: BTreeMap<u64, Arc<str>>,
    /// How many times a name lost its last declaration with nothing set for it, since the last
    /// [sweep](State::sweep): about how many entries are kept idle (see [`Globals::undeclare`]).
    released: AtomicUsize,
    /// Every table in a shared memory that some store declared a slot of, whichever store: one
    /// memory may be used by instances of several stores (the wasi-threads shape), and each
    /// table must be written as one, with one generation.
    shared_tables: HashMap<TableKey, SharedTableState>,
}

/// A table in a shared memory: the memory's base address and the table's address in it. A shared
/// memory never moves, and the registry keeps every memory in this map alive (its
/// [`SharedTable`] holds a handle), so no other memory can take the same base address meanwhile.
pub(crate) type TableKey = (usize, u32);

#[derive(Debug)]
struct SharedTableState {
    table: Arc<SharedTable>,
    slots: HashMap<u32, SharedSlot>,
}

/// A declared slot of a shared table, and the stores ([`GlobalsCtx`](crate::GlobalsCtx) ids)
/// that declared it.
#[derive(Debug)]
struct SharedSlot {
    name: Arc<str>,
    hash: u64,
    ty: ValueType,
    default: u64,
    value: SharedWord,
    owners: Vec<u64>,
}

#[derive(Debug)]
struct Entry {
    /// The map's key for this entry, so that one lookup finds both.
    key: Arc<str>,
    value: Option<Value>,
    declared: Declarations,
    /// The version of the name's last change while declared; 0 for none (versions start at 1).
    changed_at: u64,
    /// Declared slots in shared memories, written at every change.
    shared: Vec<SharedTarget>,
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

/// How many idle entries the registry keeps at least (see [`Globals::undeclare`]).
const IDLE_KEPT: usize = 1024;

/// A declared slot in a shared memory: one per slot, however many stores declared it.
#[derive(Debug)]
struct SharedTarget {
    /// The slot's table, shared by every slot of the table.
    table: Arc<SharedTable>,
    index: u32,
    value: SharedWord,
    changes: SharedWord,
    default: u64,
}

/// The header of a table in a shared memory.
#[derive(Debug)]
struct SharedTable {
    generation: SharedWord,
}

/// A slot of a shared memory that passed validation, as [`Globals::declare_shared`] takes it.
#[derive(Debug)]
pub(crate) struct SharedDeclaration<'a> {
    /// The [`GlobalsCtx`](crate::GlobalsCtx) that declares it.
    pub(crate) owner: u64,
    pub(crate) memory: &'a SharedMemory,
    pub(crate) table: TableKey,
    pub(crate) slot: &'a ValidSlot,
}

impl SharedTarget {
    fn bits(&self, value: Option<Value>) -> u64 {
        value.map_or(self.default, Value::to_bits)
    }
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
    /// that reads a shared memory's table with the generation protocol (`spec/ABI.md` §10) sees
    /// all or none.
    ///
    /// # Errors
    ///
    /// The first [`Error::InvalidName`] or [`Error::TypeMismatch`] of any change; then nothing is
    /// applied.
    pub fn commit(self) -> Result<()> {
        self.globals.apply(&self.ops).map(drop)
    }
}

impl Entry {
    fn new(key: &Arc<str>) -> Entry {
        Entry {
            key: Arc::clone(key),
            value: None,
            declared: Declarations::default(),
            changed_at: 0,
            shared: Vec::new(),
        }
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
            && entry.value.is_none()
            && !entry.declared.any()
        {
            if entry.changed_at != 0 {
                self.changes.remove(&entry.changed_at);
            }
            self.entries.remove(name);
            self.shrink();
        }
    }

    /// A hash map keeps its capacity; give it back once three quarters are unused, so the
    /// registry's memory follows what it holds. Each shrink halves the table at least, so the
    /// rehashing costs O(1) per removal, amortised.
    fn shrink(&mut self) {
        let (len, capacity) = (self.entries.len(), self.entries.capacity());
        if capacity > 1024 && len < capacity / 4 {
            self.entries.shrink_to(len * 2);
        }
    }

    /// Counts a name that lost its last declaration with nothing set for it; returns whether it
    /// is time to [sweep](State::sweep).
    fn released(&self) -> bool {
        let released = self.released.fetch_add(1, Ordering::Relaxed) + 1;
        released > IDLE_KEPT && released * 2 > self.entries.len()
    }

    /// Forgets every entry that nothing is set for and nobody declares.
    fn sweep(&mut self) {
        let changes = &mut self.changes;
        self.entries.retain(|_, e| {
            let keep = e.value.is_some() || e.declared.any();
            if !keep && e.changed_at != 0 {
                changes.remove(&e.changed_at);
            }
            keep
        });
        *self.released.get_mut() = 0;
        self.shrink();
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

    /// Checks that `value` may be set for `name`.
    fn check(&self, name: &str, value: Option<Value>) -> Result<()> {
        checked(name)?;
        let declared = self.entries.get(name).and_then(|e| e.declared.ty());
        if let (Some(declared), Some(given)) = (declared, value.and_then(Value::ty))
            && declared != given
        {
            return Err(Error::TypeMismatch {
                name: name.to_owned(),
                declared,
                given,
            });
        }
        Ok(())
    }

    /// Sets or deletes `name`; returns the old value, and the name's key if instances must be
    /// told.
    fn change(&mut self, name: &str, value: Option<Value>) -> (Option<Value>, Option<Arc<str>>) {
        let entry = self.entries.get(name);
        let old = entry.and_then(|e| e.value);
        let same = match (old, value) {
            (Some(a), Some(b)) => a.same(b),
            (None, None) => true,
            _ => false,
        };
        if same {
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

    /// Writes the current value of every shared slot of `keys`, each table's writes inside one
    /// odd generation (`spec/ABI.md` §10).
    fn write_shared(&self, keys: &[Arc<str>]) {
        let mut writes: Vec<(&SharedTarget, u64)> = keys
            .iter()
            .filter_map(|k| self.entries.get(k))
            .flat_map(|e| e.shared.iter().map(move |t| (t, t.bits(e.value))))
            .collect();
        writes.sort_by_key(|(t, _)| Arc::as_ptr(&t.table));
        for table in writes.chunk_by(|a, b| Arc::ptr_eq(&a.0.table, &b.0.table)) {
            let generation = &table[0].0.table.generation;
            let start = generation.load(Ordering::Relaxed);
            // Odd: a write is in progress. The fence keeps every value store below after it.
            generation.store(start.wrapping_add(1), Ordering::Relaxed);
            fence(Ordering::Release);
            for (target, bits) in table {
                target.value.store(*bits, Ordering::Relaxed);
                let changes = target.changes.load(Ordering::Relaxed);
                target
                    .changes
                    .store(changes.wrapping_add(1), Ordering::Release);
            }
            // Even again: release, so a reader that sees it sees every value above.
            generation.store(start.wrapping_add(2), Ordering::Release);
        }
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
    /// name had before its change.
    fn apply<N: AsRef<str>>(&self, ops: &[(N, Option<Value>)]) -> Result<Vec<Option<Value>>> {
        let mut state = self.write();
        for (name, value) in ops {
            state.check(name.as_ref(), *value)?;
        }
        let mut olds = Vec::with_capacity(ops.len());
        let mut changed: Vec<Arc<str>> = Vec::new();
        for (name, value) in ops {
            let (old, key) = state.change(name.as_ref(), *value);
            olds.push(old);
            changed.extend(key);
        }
        changed.sort();
        changed.dedup();
        state.write_shared(&changed);
        self.publish(&state);
        Ok(olds)
    }

    /// The value set for `name`, if any (not the guests' defaults, which differ per guest).
    #[must_use]
    pub fn get(&self, name: &str) -> Option<Value> {
        self.read().entries.get(name).and_then(|e| e.value)
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

    /// The type live instances declared `name` with, if any instance declared it.
    #[must_use]
    pub fn declared_type(&self, name: &str) -> Option<ValueType> {
        self.read().entries.get(name).and_then(|e| e.declared.ty())
    }

    /// Number of names the registry holds: set, declared, or both. Falls back as `del` and
    /// dropped stores release names. Counts them: O(names held).
    #[must_use]
    pub fn len(&self) -> usize {
        let state = self.read();
        let held = |e: &&Entry| e.value.is_some() || e.declared.any();
        state.entries.values().filter(held).count()
    }

    /// Whether the registry holds no name.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of changes to declared names so far: it grows with every `set` or `del` that
    /// changes the value of a name some instance declared.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.inner.version.load(Ordering::Acquire)
    }

    /// Records a declaration of `name` as `ty`; returns the registry's key for the name, the
    /// value set, and the registry version that value is current at (a sync skips the name's
    /// changes up to it), or `None` if the name is known with another type.
    pub(crate) fn declare(
        &self,
        name: &str,
        ty: ValueType,
    ) -> Option<(Arc<str>, Option<Value>, u64)> {
        // A name the registry knows (every declaration after its first, in any store) needs only
        // the read lock: the count is atomic, and no value or version changes meanwhile.
        {
            let state = self.read();
            if let Some(entry) = state.entries.get(name) {
                entry
                    .declared
                    .add(ty, entry.value.and_then(Value::ty))
                    .ok()?;
                return Some((Arc::clone(&entry.key), entry.value, state.version));
            }
        }
        let mut state = self.write();
        let (key, value) = declare_in(&mut state, name, ty).ok()?;
        Some((key, value, state.version))
    }

    /// Records a declaration of a slot in a shared memory and writes the slot's current value,
    /// under the lock, so that no concurrent change is lost. The slot is one target however many
    /// stores declare it, and its table one table, so a set writes it once, inside one odd
    /// generation of its table (`spec/ABI.md` §10.3). Returns the name's key, or `None` if the
    /// name is known with another type.
    ///
    /// # Errors
    ///
    /// [`Error::SlotRedeclared`] if another declaration of the slot (by any store) had other
    /// fields; [`Error::WriteOutOfBounds`] if a field is not an aligned word of the memory.
    pub(crate) fn declare_shared(
        &self,
        declaration: SharedDeclaration<'_>,
    ) -> Result<Option<Arc<str>>> {
        let SharedDeclaration {
            owner,
            memory,
            table: key,
            slot,
        } = declaration;
        let word = |addr: u64| {
            SharedWord::new(memory, addr).ok_or(Error::WriteOutOfBounds {
                index: slot.index,
                addr,
            })
        };
        let mut state = self.write();
        let state = &mut *state;
        if let Some(known) = state
            .shared_tables
            .get_mut(&key)
            .and_then(|t| t.slots.get_mut(&slot.index))
        {
            if !slot.declares(&known.name, known.hash, known.ty, known.default) {
                return Err(Error::SlotRedeclared {
                    index: slot.index,
                    name: known.name.to_string(),
                });
            }
            if !known.owners.contains(&owner)
                && let Some(entry) = state.entries.get(&known.name)
                // The slot's own declarations fix the name's type, so this cannot fail.
                && entry.declared.add(known.ty, None).is_ok()
            {
                known.owners.push(owner);
            }
            // The host has kept the slot current since its first declaration; storing the
            // value again, under the lock, is what a declaration promises (§7.3), and is not a
            // change.
            let value = state.entries.get(&known.name).and_then(|e| e.value);
            known.value.store(
                value.map_or(known.default, Value::to_bits),
                Ordering::Release,
            );
            return Ok(Some(Arc::clone(&known.name)));
        }
        let generation = word(u64::from(key.1) + GENERATION_OFFSET)?;
        let value = word(slot.value_addr)?;
        let changes = word(slot.value_addr + CHANGES_AFTER_VALUE)?;
        let Ok((name, _)) = declare_in(state, &slot.name, slot.ty) else {
            return Ok(None);
        };
        let table = state
            .shared_tables
            .entry(key)
            .or_insert_with(|| SharedTableState {
                table: Arc::new(SharedTable { generation }),
                slots: HashMap::new(),
            });
        table.slots.insert(
            slot.index,
            SharedSlot {
                name: Arc::clone(&name),
                hash: slot.hash,
                ty: slot.ty,
                default: slot.default,
                value: value.clone(),
                owners: vec![owner],
            },
        );
        let target = SharedTarget {
            table: Arc::clone(&table.table),
            index: slot.index,
            value,
            changes,
            default: slot.default,
        };
        if let Some(entry) = state.entries.get_mut(&name) {
            target
                .value
                .store(target.bits(entry.value), Ordering::Release);
            entry.shared.push(target);
        }
        Ok(Some(name))
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
        names: impl IntoIterator<Item = (&'a str, Option<(TableKey, u32)>)>,
    ) {
        let sweep = if shared {
            let mut state = self.write();
            let sweep = self.undeclare_shared(&mut state, owner, names);
            sweep.then_some(state)
        } else {
            // Ordinary slots change only counts: the read lock is enough.
            let state = self.read();
            let mut sweep = false;
            for (name, _) in names {
                if let Some(entry) = state.entries.get(name)
                    && entry.declared.remove()
                    && entry.value.is_none()
                {
                    sweep |= state.released();
                }
            }
            drop(state);
            sweep.then(|| self.write())
        };
        if let Some(mut state) = sweep {
            state.sweep();
        }
    }

    /// [`Globals::undeclare`] with the write lock, for names that may have shared slots; returns
    /// whether it is time to sweep.
    fn undeclare_shared<'a>(
        &self,
        state: &mut State,
        owner: u64,
        names: impl IntoIterator<Item = (&'a str, Option<(TableKey, u32)>)>,
    ) -> bool {
        let mut sweep = false;
        for (name, shared) in names {
            let Some(entry) = state.entries.get_mut(name) else {
                continue;
            };
            let last = entry.declared.remove();
            if let Some((key, index)) = shared
                && let Some(table) = state.shared_tables.get_mut(&key)
                && let Some(slot) = table.slots.get_mut(&index)
            {
                slot.owners.retain(|&o| o != owner);
                if slot.owners.is_empty() {
                    table.slots.remove(&index);
                    entry
                        .shared
                        .retain(|t| !(t.index == index && Arc::ptr_eq(&t.table, &table.table)));
                    if table.slots.is_empty() {
                        state.shared_tables.remove(&key);
                    }
                }
            }
            if last && entry.value.is_none() {
                sweep |= state.released();
            }
        }
        sweep
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
            f(name, at, state.entries.get(name).and_then(|e| e.value));
        }
        state.version
    }

    fn publish(&self, state: &State) {
        self.inner.version.store(state.version, Ordering::Release);
    }

    // No code panics while holding the lock, so a poisoned lock still holds consistent state.
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.inner
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Counts a declaration of `name` as `ty`, unless the name is known with another type; returns
/// the name's key and its value.
fn declare_in(
    state: &mut State,
    name: &str,
    ty: ValueType,
) -> core::result::Result<(Arc<str>, Option<Value>), ValueType> {
    if let Some(entry) = state.entries.get(name) {
        entry.declared.add(ty, entry.value.and_then(Value::ty))?;
        return Ok((Arc::clone(&entry.key), entry.value));
    }
    let key: Arc<str> = Arc::from(name);
    let entry = Entry::new(&key);
    entry.declared.add(ty, None)?;
    state.entries.insert(Arc::clone(&key), entry);
    Ok((key, None))
}
