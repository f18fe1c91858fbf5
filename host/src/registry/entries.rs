//! The registry's entries: one per name, in shards, with the count of its declarations, the
//! shared tables that hold its slots, and what a change or a declaration does to one.

use super::*;

#[derive(Debug)]
pub(super) struct Entry {
    /// The map's key for this entry, so that one lookup finds both.
    pub(super) key: Arc<str>,
    pub(super) value: Option<Value>,
    /// What the parent registry's guests read for this name ([`Globals::child`]): its value, its
    /// parent's, or its defined default. This registry's guests read it unless they declared
    /// the name with another type (see [`Entry::accepts`]).
    pub(super) inherited: Option<Value>,
    pub(super) declared: LiveCount,
    /// How many stores hold at least one of the declarations `declared` counts. 32 bits, so
    /// that it and `bound` take the room of one word: an entry's size counts (a registry of
    /// millions of names, `host/tests/limits.rs`).
    /// Its top bit ([`IDLING`]) says whether the name is on the registry's idle list
    /// ([`Locked::released`]), so that it goes there once however often its last declaration
    /// goes (one instance per request releases the same names at every request).
    pub(super) stores: AtomicU32,
    /// The type the nearest registry above that defines the name fixed ([`Globals::define`]):
    /// it binds this registry's guests and typed sets as a definition here would.
    pub(super) bound: Option<ValueType>,
    /// The version of the name's last change while declared; 0 for none (versions start at 1).
    pub(super) changed_at: u64,
    /// The shared tables that hold slots of this name, written at every change.
    pub(super) shared: NameTables,
    /// The type and default the embedder fixed ([`Globals::define`]). Boxed: few names have
    /// one, and every entry's size counts (a registry of millions of names).
    pub(super) defined: Option<Box<Definition>>,
}

/// The shared tables that hold slots of a name (`None` for most names: no shared slot).
#[derive(Debug, Default)]
pub(super) struct NameTables(Option<Box<TablesOfName>>);

#[derive(Debug)]
pub(super) struct TablesOfName {
    /// The tables, for sets: made again when a table comes or goes (in O(tables), as finding
    /// one is), so that a set takes one reference to all of them, not one per table.
    pub(super) tables: Arc<[Arc<SharedTable>]>,
    /// How many declarations of the name (one per store and slot) each table of `tables`
    /// holds, in the same order.
    pub(super) counts: Vec<u32>,
}

impl NameTables {
    /// Counts one more declaration of the name in `table`.
    pub(super) fn add(&mut self, table: &Arc<SharedTable>) {
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
    pub(super) fn remove(&mut self, table: &Arc<SharedTable>) {
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

    pub(super) fn tables(&self) -> &[Arc<SharedTable>] {
        self.0.as_ref().map_or(&[], |of| &of.tables)
    }

    /// The tables as one shared list, for a set to take whole.
    pub(super) fn shared_list(&self) -> Arc<[Arc<SharedTable>]> {
        self.0
            .as_ref()
            .map_or_else(|| Arc::new([]) as Arc<[_]>, |of| Arc::clone(&of.tables))
    }
}

/// A name's live declarations, across every store, and the type they fix, in one word, so that a
/// declaration or its release needs only the registry's read lock: the type's tag in the top 8
/// bits, the count in the other 56 (0: nobody declares the name; the tag is then stale).
#[derive(Debug, Default)]
pub(super) struct LiveCount(AtomicU64);

pub(super) const COUNT_BITS: u32 = 56;
pub(super) const COUNT: u64 = (1 << COUNT_BITS) - 1;

impl LiveCount {
    pub(super) fn word(count: u64, ty: ValueType) -> u64 {
        u64::from(ty.tag()) << COUNT_BITS | count
    }

    /// The type instances declared the name with, if any declares it.
    pub(super) fn ty(&self) -> Option<ValueType> {
        let word = self.0.load(Ordering::Acquire);
        if word & COUNT == 0 {
            None
        } else {
            ValueType::from_tag((word >> COUNT_BITS) as u32)
        }
    }

    pub(super) fn any(&self) -> bool {
        self.0.load(Ordering::Acquire) & COUNT != 0
    }

    pub(super) fn count(&self) -> u64 {
        self.0.load(Ordering::Acquire) & COUNT
    }

    /// Counts one more declaration as `ty`, unless the name is declared with another type or,
    /// when nobody declares it, its value `typed` is of another type; returns that type.
    pub(super) fn add(
        &self,
        ty: ValueType,
        typed: Option<ValueType>,
    ) -> core::result::Result<(), ValueType> {
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
            let next = LiveCount::word(count + 1, ty);
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
    pub(super) fn remove(&self) -> bool {
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
/// table of many thousands of entries held it for milliseconds to grow, most of it faulting in
/// the new table's pages).
#[derive(Debug)]
pub(super) struct Entries {
    pub(super) shards: Box<[HashMap<Arc<str>, Entry>]>,
    pub(super) len: usize,
}

/// How many shards [`Entries`] has: a power of two.
pub(super) const SHARDS: usize = 64;

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
    pub(super) fn shard(name: &str) -> usize {
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

    pub(super) fn get(&self, name: &str) -> Option<&Entry> {
        self.shards[Entries::shard(name)].get(name)
    }

    pub(super) fn get_mut(&mut self, name: &str) -> Option<&mut Entry> {
        self.shards[Entries::shard(name)].get_mut(name)
    }

    pub(super) fn get_key_value(&self, name: &str) -> Option<(&Arc<str>, &Entry)> {
        self.shards[Entries::shard(name)].get_key_value(name)
    }

    pub(super) fn insert(&mut self, key: Arc<str>, entry: Entry) {
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
    pub(super) fn remove(&mut self, name: &str) {
        let shard = &mut self.shards[Entries::shard(name)];
        if shard.remove(name).is_some() {
            self.len -= 1;
        }
        let (len, capacity) = (shard.len(), shard.capacity());
        if capacity > 16 && len < capacity / 4 {
            shard.shrink_to(len * 2);
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&Arc<str>, &Entry)> {
        self.shards.iter().flatten()
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &Entry> {
        self.shards.iter().flat_map(HashMap::values)
    }
}

/// The bit of [`Entry::stores`] that says the entry is on the idle list: a count of stores
/// never comes near it.
pub(super) const IDLING: u32 = 1 << 31;

/// How many idle entries the registry keeps at least (see [`Globals::undeclare`]).
pub(super) const IDLE_KEPT: usize = 1024;

/// How many names [`Globals::undeclare`] releases under one hold of the registry's lock.
pub(super) const UNDECLARE_CHUNK: usize = 256;

impl Entry {
    /// The entry's last change, to write into shared tables (`key`: the entry's name).
    pub(super) fn change(&self, key: &Arc<str>) -> NameChange {
        NameChange {
            name: Arc::clone(key),
            at: self.changed_at,
            value: self.current(),
        }
    }
    pub(super) fn new(key: &Arc<str>) -> Entry {
        Entry {
            key: Arc::clone(key),
            value: None,
            inherited: None,
            bound: None,
            declared: LiveCount::default(),
            stores: AtomicU32::new(0),
            changed_at: 0,
            shared: NameTables::default(),
            defined: None,
        }
    }

    /// Counts the declaring store among the name's stores if `join` says it is its first.
    /// Counts a slot of the name in `names`, a store's; the store joins the name's stores at
    /// its first. Whether it did.
    pub(super) fn join(&self, names: &mut StoreNames) -> bool {
        let first = names.join(&self.key);
        if first {
            self.stores.fetch_add(1, Ordering::Relaxed);
        }
        first
    }

    /// Marks the entry as on the idle list; returns whether it was not before.
    pub(super) fn mark_idle(&self) -> bool {
        self.stores.fetch_or(IDLING, Ordering::Relaxed) & IDLING == 0
    }

    /// Marks the entry as off the idle list.
    pub(super) fn unmark_idle(&mut self) {
        *self.stores.get_mut() &= !IDLING;
    }

    /// How many stores declare the name.
    pub(super) fn store_count(&self) -> u32 {
        self.stores.load(Ordering::Relaxed) & !IDLING
    }

    /// Counts a store less, if `leaves` (it released its last declaration of the name).
    pub(super) fn leave(&self, leaves: bool) {
        if leaves {
            self.stores.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// What guests read: the value set, else the parent registry's (if they can read it),
    /// else the embedder's default, else (`None`) their own.
    ///
    /// A [`Value::Literal`] is read as the value of the name's type it is; one that is none is
    /// passed over, as though it were not set.
    pub(super) fn current(&self) -> Option<Value> {
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
    pub(super) fn read_as(&self) -> Option<ValueType> {
        self.binding().or(self.declared.ty())
    }

    /// What registries below this one inherit: [`current`](Entry::current), but with the
    /// parent's value even where this registry's guests cannot read it, so that one tenant's
    /// guests do not hold back the tenants below it.
    pub(super) fn passed_down(&self) -> Option<Value> {
        self.value
            .or(self.inherited)
            .or(self.defined.as_ref().and_then(|d| d.default))
    }

    /// Whether this registry's guests can read `value` from the parent: it is untyped, or of
    /// the type they declared the name with and of the type defined here. A parent's change is
    /// never refused because of a child's guests (one tenant must not block the fleet): the
    /// child keeps what its guests read, and says so ([`NameState::withheld`]).
    pub(super) fn accepts(&self, value: Value) -> bool {
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
    pub(super) fn withheld(&self) -> Option<Value> {
        let unreadable = |v: &Value| !self.accepts(*v);
        self.value
            .filter(unreadable)
            .or(self.inherited.filter(unreadable))
    }

    /// Whether the entry holds something of the embedder's: a value (its own or its parent's),
    /// a definition, or a type a definition above binds.
    pub(super) fn held(&self) -> bool {
        self.value.is_some()
            || self.inherited.is_some()
            || self.defined.is_some()
            || self.bound.is_some()
    }

    /// The type every declaration and typed set of the name must have, however many guests
    /// declared it otherwise before: the type defined here, else the type a definition above
    /// binds.
    pub(super) fn binding(&self) -> Option<ValueType> {
        self.defined.as_ref().map(|d| d.ty).or(self.bound)
    }

    /// The type a declaration must have when nobody declares the name: the binding type, else
    /// the type of a typed value set here or inherited.
    pub(super) fn fixed_type(&self) -> Option<ValueType> {
        self.binding()
            .or(self.value.and_then(Value::ty))
            .or(self.inherited.and_then(Value::ty))
    }

    /// Counts one more declaration as `ty`, unless the name is bound to, declared with, or
    /// (with no declaration) set to another type; returns that type.
    pub(super) fn count_declaration(&self, ty: ValueType) -> core::result::Result<(), ValueType> {
        if let Some(bound) = self.binding().filter(|&b| b != ty) {
            return Err(bound);
        }
        self.declared.add(ty, self.fixed_type())
    }
}
