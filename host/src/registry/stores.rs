//! What stores ask of the registry: declarations and their release, values as of a version,
//! changes since a version, and the registries' bound on host memory.

use super::*;

/// What guests that declare a name read, as of a registry version: what a declaration writes
/// and what a component's read takes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Current {
    /// The value set or defined; `None`: each guest's own default.
    pub(crate) value: Option<Value>,
    /// The registry's version the value is current at (a sync skips the name's changes up to
    /// it).
    pub(crate) version: u64,
    /// The version of the name's last change (0: none).
    pub(crate) changed_at: u64,
}

impl Current {
    fn of(entry: Option<&Entry>, version: u64) -> Current {
        Current {
            value: entry.and_then(Entry::current),
            version,
            changed_at: entry.map_or(0, |e| e.changed_at),
        }
    }

    /// The bits a slot whose own default is `default` holds.
    pub(crate) fn bits(&self, default: u64) -> u64 {
        self.value.map_or(default, Value::to_bits)
    }
}

/// A declaration the registry recorded: the registry's key for the name (its one `Arc` of it)
/// and what the name's guests read.
#[derive(Debug)]
pub(crate) struct Declared {
    pub(crate) key: Arc<str>,
    pub(crate) current: Current,
}

/// What the registry's step of a shared slot's declaration answers.
#[derive(Debug)]
pub(crate) enum NameStep {
    /// Declared: the name's key.
    Declared(Arc<str>),
    /// Refused: the name is fixed to this other type.
    Refused(ValueType),
}

/// The registry's step of a shared slot's declaration failed.
#[derive(Debug)]
pub(crate) struct SharedStepFailed {
    pub(crate) error: Error,
    /// The declaration the step counted before it failed, if any: the caller releases it.
    pub(crate) held: Option<Held>,
}

impl From<Error> for SharedStepFailed {
    fn from(error: Error) -> SharedStepFailed {
        SharedStepFailed { error, held: None }
    }
}

impl Globals {
    /// What guests that declare `name` read now, the version it is as of and the version of the
    /// name's last change, all under one lock, as a declaration reads them.
    pub(crate) fn current_at(&self, name: &str) -> Current {
        let state = self.read();
        Current::of(state.entries.get(name), state.version)
    }

    /// How many times a definition changed here or above (see `Inner::definitions`).
    pub(crate) fn definitions(&self) -> u64 {
        self.inner.definitions.load(Ordering::Acquire)
    }

    /// Whether `self` and `other` are the same registry.
    pub(crate) fn same(&self, other: &Globals) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
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

    /// Records a declaration of `name` as `ty`; returns the registry's key for the name and
    /// what its guests read, or `Err` with the type the name is fixed to.
    ///
    /// The declaration counts in `names`, the declaring store's: at its first slot of the name
    /// the store joins the name's [`stores`](NameState::stores).
    pub(crate) fn declare_name(
        &self,
        name: &str,
        ty: ValueType,
        names: &mut StoreNames,
    ) -> core::result::Result<Declared, ValueType> {
        // A name the registry knows (every declaration after its first, in any store) needs only
        // the read lock: the counts are atomic, and no value or version changes meanwhile.
        {
            let state = self.read();
            if let Some(entry) = state.entries.get(name) {
                entry.count_declaration(ty)?;
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
                entry.join(names);
                return Ok(Declared {
                    key: Arc::clone(&entry.key),
                    current: Current::of(Some(entry), state.version),
                });
            }
        }
        let mut state = self.write();
        let key = declare_name_in(&mut state, name, ty, names)?;
        let current = Current::of(state.entries.get(&key), state.version);
        Ok(Declared { key, current })
    }

    /// Records a declaration of a slot in a shared memory and writes the slot's current value.
    /// The slot is one slot however many stores declare it, and its table one table, so a set
    /// writes it once, inside one odd generation of its table ([the ABI](wasmtime_global_abi::spec)
    /// §10.3). Answers with the name's key, or the type the name is fixed to.
    ///
    /// The registry's lock is held only to count the declaration; the slot is recorded and
    /// written under its table's lock, as sets write it.
    ///
    /// # Errors
    ///
    /// [`Error::SlotRedeclared`] if another declaration of the slot (by any store) had other
    /// fields; [`Error::WriteOutOfBounds`] if a field is not an aligned word of the memory. A
    /// declaration counted before the slot could not be recorded comes back in the error
    /// ([`SharedStepFailed::held`]): the caller's undo releases it, with the rest of its steps.
    ///
    /// `names` is as for [`declare_name`](Globals::declare_name).
    pub(crate) fn declare_shared_slot(
        &self,
        declaration: SharedDeclaration<'_>,
        names: &mut StoreNames,
    ) -> core::result::Result<NameStep, SharedStepFailed> {
        let (slot, again, key) = (declaration.slot, declaration.again, declaration.table);
        let (owner, memory) = (declaration.owner, declaration.memory);
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
            let generation = || word(u64::from(key.addr) + GENERATION_OFFSET);
            let table =
                state.shared_table(key, declaration.capacity, self.inner.id.0, generation)?;
            let name = match shared_name(state, slot, again, names) {
                Ok(name) => name,
                Err(fixed) => return Ok(NameStep::Refused(fixed)),
            };
            let Some(entry) = state.entries.get_mut(&name) else {
                return Ok(NameStep::Refused(slot.ty));
            };
            if !again {
                entry.shared.add(&table);
            }
            // Counted under the lock, so that a release the table sees after a set that this
            // declaration missed keeps what the set wrote.
            table.pending.fetch_add(1, Ordering::AcqRel);
            let newest = ValueAt {
                at: entry.changed_at,
                value: entry.current(),
            };
            (name, table, newest)
        };
        let recorded = table.record(owner, slot, &name, newest, value_addr);
        table.pending.fetch_sub(1, Ordering::AcqRel);
        match recorded {
            Ok(()) => Ok(NameStep::Declared(name)),
            Err(error) => Err(SharedStepFailed {
                error,
                held: (!again).then_some(Held {
                    name,
                    shared_slot: Some(SharedSlotRef {
                        table: key,
                        index: slot.index,
                    }),
                }),
            }),
        }
    }

    /// Releases one declaration of each name in `names` by the store `owner`; a name with a
    /// shared slot comes with the slot's table and index, and the slot is forgotten once no
    /// store declares it.
    ///
    /// A name that loses its last declaration keeps its entry, idle, rather than being forgotten:
    /// the next instance most likely declares it again (one instance per request: forgetting and
    /// re-creating the entry was a large share of a declaration's cost in `cargo bench -p
    /// wasmtime-global-tests --bench request`). Idle entries are swept all at
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
                for Release { name, leaves, .. } in chunk {
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
        for TableGroup { table, items } in tables.groups {
            table.release(owner, &items);
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
}

/// The key of the name of `slot`, a slot of a shared table, declared now unless the store
/// declared the slot before (`again`); or `Err` with the type the name is fixed to.
fn shared_name(
    state: &mut Locked,
    slot: &CheckedSlot<'_>,
    again: bool,
    names: &mut StoreNames,
) -> core::result::Result<Arc<str>, ValueType> {
    if again {
        // The store holds a declaration of the name, so the entry is there.
        return match state.entries.get(slot.name) {
            Some(entry) => Ok(Arc::clone(&entry.key)),
            None => Err(slot.ty),
        };
    }
    declare_name_in(state, slot.name, slot.ty, names)
}
