//! What a change does under the registry's lock ([`Locked`]): entries kept, swept and changed,
//! values checked against types, and the shared writes a change calls for.

use super::*;

/// What [`Locked::change`] did: the name's value before, and its key if instances must be told
/// (guests declared it, and the value changed).
pub(super) struct Changed {
    pub(super) old: Option<Value>,
    pub(super) told: Option<Arc<str>>,
}

impl Locked {
    /// Records a change of `key` as the newest version.
    pub(super) fn bump(&mut self, key: &Arc<str>) {
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
    pub(super) fn collect(&mut self, name: &str) {
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
    pub(super) fn released(&self, entry: &Entry) -> bool {
        if !entry.mark_idle() {
            return false;
        }
        self.push_idle(&entry.key)
    }

    /// Puts `key` on the idle list; returns whether it is time to sweep.
    pub(super) fn push_idle(&self, key: &Arc<str>) -> bool {
        let mut idle = self.idle.lock();
        idle.push(Arc::clone(key));
        idle.len() > IDLE_KEPT && idle.len() * 2 > self.entries.len()
    }

    /// Forgets up to `n` of the idle names that nothing is set for and nobody declares again;
    /// returns whether any are left to look at.
    pub(super) fn sweep_some(&mut self, n: usize) -> bool {
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

    pub(super) fn key(&mut self, name: &str) -> Arc<str> {
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
    pub(super) fn check(&self, name: &str, value: Option<Value>) -> Result<()> {
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
    pub(super) fn change(&mut self, name: &str, value: Option<Value>) -> Changed {
        let entry = self.entries.get(name);
        let old = entry.and_then(|e| e.value);
        if same(old, value) {
            return Changed { old, told: None };
        }
        let declared = entry.is_some_and(|e| e.declared.any());
        let key = self.key(name);
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.value = value;
        }
        if declared {
            self.bump(&key);
            Changed {
                old,
                told: Some(key),
            }
        } else {
            self.collect(name);
            Changed { old, told: None }
        }
    }

    /// Gives `name` what the parent's guests read, `from`.
    pub(super) fn inherit(&mut self, name: &str, from: Above) -> Inherited {
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
    pub(super) fn shared_writes(&self, keys: &[Arc<str>]) -> SharedWrites {
        // One name: its tables are distinct, and need no grouping.
        if let [key] = keys {
            return match self.entries.get(key) {
                Some(entry) => SharedWrites::Name(entry.shared.shared_list(), entry.change(key)),
                None => SharedWrites::Grouped(Vec::new()),
            };
        }
        let mut by_table = ByTable::default();
        for key in keys {
            let Some(entry) = self.entries.get(key) else {
                continue;
            };
            for table in entry.shared.tables() {
                by_table.push(table, entry.change(key));
            }
        }
        SharedWrites::Grouped(by_table.groups)
    }

    /// Releases a declaration of each name of `names`, and of its shared slot from the shared
    /// table's count for the name, adding the slot to `tables` to release there; returns
    /// whether it is time to sweep.
    pub(super) fn undeclare_shared<'a>(
        &mut self,
        names: impl Iterator<Item = Release<'a>>,
        tables: &mut ByTable<u32>,
    ) -> bool {
        let mut sweep = false;
        for Release {
            name,
            shared_slot,
            leaves,
        } in names
        {
            let Some(entry) = self.entries.get_mut(name) else {
                continue;
            };
            entry.leave(leaves);
            let last = entry.declared.remove();
            if let Some(SharedSlotRef { table: key, index }) = shared_slot
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
    pub(super) fn shared_table(
        &mut self,
        key: TableKey,
        capacity: u32,
        registry: u64,
        generation: impl FnOnce() -> Result<SharedWord>,
    ) -> Result<Arc<SharedTable>> {
        if let Some(table) = self.shared_tables.get(&key).and_then(Weak::upgrade) {
            if table.capacity != capacity {
                return Err(Error::CapacityChanged {
                    addr: key.addr,
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
