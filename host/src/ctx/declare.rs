//! One declaration path for a store: limits and charges, the registry's declaration, the value
//! written, the record kept; and the undo when a step fails.

use super::*;

/// The key of `name` in [`GlobalsCtx::names`].
pub(super) fn name_key(name: &Arc<str>) -> usize {
    Arc::as_ptr(name).cast::<u8>() as usize
}

/// Counts one of a store's slots of `name` less in `names`; returns whether it was the last.
pub(super) fn leave(
    names: &mut HashMap<usize, u32, BuildHasherDefault<PtrHasher>>,
    name: &Arc<str>,
) -> bool {
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
pub(super) const NAMES_AT_FIRST: usize = 16;

/// Counts one more of a store's slots of `name` in `names`; returns whether it is the first.
pub(super) fn join(
    names: &mut HashMap<usize, u32, BuildHasherDefault<PtrHasher>>,
    name: &Arc<str>,
) -> bool {
    if names.capacity() == 0 {
        // Room for a guest's usual handful at once: growing from nothing rehashed the map four
        // times on the way to 16 names (`cargo bench --bench request`, resident pool).
        names.reserve(NAMES_AT_FIRST);
    }
    let n = names.entry(name_key(name)).or_insert(0);
    *n += 1;
    *n == 1
}

/// The address of the value field of slot `index` of the table at `table`.
pub(super) fn value_addr(table: u32, index: u32) -> u64 {
    u64::from(table) + abi::slot_offset(index) + u64::from(abi::Slot::VALUE_OFFSET)
}

pub(super) fn write_value(data: &mut [u8], slot: &CheckedSlot<'_>, bits: u64) -> Result<()> {
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

impl GlobalsCtx {
    pub(super) fn over(&self, limit: Limit) -> Error {
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
    pub(super) fn charge(&mut self, bytes: u64) -> Result<()> {
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
    pub(super) fn refuse(&mut self, table: usize, slot: &CheckedSlot<'_>, fixed: ValueType) {
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
    pub(super) fn declared_event(&self, table: usize, slot: &CheckedSlot<'_>) {
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

    pub(super) fn refund(&mut self, bytes: u64) {
        self.host_bytes -= bytes;
    }

    /// Checks that one more slot like `slot` in `table` stays within the limits, and charges it;
    /// [`record`](GlobalsCtx::record) then counts it. Returns the bytes charged, for
    /// [`refund`](GlobalsCtx::refund) if the declaration fails.
    pub(super) fn admit(&mut self, table: usize, slot: &CheckedSlot<'_>) -> Result<u64> {
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
    pub(super) fn redeclared(&self, table: usize, slot: &CheckedSlot<'_>) -> Result<bool> {
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
    pub(super) fn record(&mut self, table: usize, index: u32, hash: u64, declared: Declared) {
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
}
