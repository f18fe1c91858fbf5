//! One declaration path for a store: limits and charges, the registry's declaration, the value
//! written, the record kept; and the undo when a step fails.

use super::*;

/// The address of the value field of slot `index` of the table at `table`.
pub(super) fn value_addr(table: u32, index: u32) -> u64 {
    u64::from(table) + abi::slot_offset(index) + u64::from(abi::Slot::VALUE_OFFSET)
}

/// Writes the value of each slot of `run`, in the table at `table`, into `data`; `false` if a
/// slot is not in `data`.
fn write_run(run: &Run, table: u32, data: &mut [u8]) -> bool {
    run.indexes.clone().all(|index| {
        run.slot(index)
            .is_some_and(|slot| write_bits(data, value_addr(table, index), slot.bits()))
    })
}

/// Writes `bits` at `addr` of `data`; `false` if they are not all inside it.
fn write_bits(data: &mut [u8], addr: u64, bits: u64) -> bool {
    let out = usize::try_from(addr)
        .ok()
        .and_then(|start| data.get_mut(start..start.checked_add(8)?));
    out.map(|out| out.copy_from_slice(&bits.to_le_bytes()))
        .is_some()
}

pub(super) fn write_value(data: &mut [u8], slot: &CheckedSlot<'_>, bits: u64) -> Result<()> {
    if write_bits(data, slot.value_addr, bits) {
        Ok(())
    } else {
        Err(Error::WriteOutOfBounds {
            index: slot.index,
            addr: slot.value_addr,
        })
    }
}

/// Where the memory of a declaration is.
#[derive(Clone, Debug)]
pub(crate) enum MemoryRef<M> {
    /// Recorded already.
    Recorded(MemoryIndex),
    /// Not seen before: the memory and its base address, recorded with the declaration's table.
    New { memory: M, base: usize },
}

impl<M> MemoryRef<M> {
    pub(crate) fn map<N>(self, f: impl FnOnce(M) -> N) -> MemoryRef<N> {
        match self {
            MemoryRef::Recorded(i) => MemoryRef::Recorded(i),
            MemoryRef::New { memory, base } => MemoryRef::New {
                memory: f(memory),
                base,
            },
        }
    }
}

/// How a slot is declared: what the registry is asked, and where the slot's value is written.
/// The only branches of [`GlobalsCtx::declare`].
pub(crate) enum How<'s, 'd> {
    /// A slot of an ordinary memory, validated in full: the registry declares its name; its
    /// value is written into `data`, the memory's bytes.
    Validated {
        slot: &'s CheckedSlot<'s>,
        data: &'d mut [u8],
    },
    /// Slot `index` of an ordinary memory, one the module's instances declared before
    /// ([`Hit`]): the module holds its name's declaration; its value is written into `data`.
    Known {
        index: u32,
        hit: Hit,
        data: &'d mut [u8],
    },
    /// A slot of a shared memory: the registry declares it and writes its value, now and at
    /// every change.
    Shared { slot: &'s CheckedSlot<'s> },
}

/// A [`How`] without the memory the write step writes.
enum Kind<'s> {
    Validated(&'s CheckedSlot<'s>),
    Known(u32, Hit),
    Shared(&'s CheckedSlot<'s>),
}

/// What the registry's step gave a declaration.
enum Taken {
    Name(Took),
    /// Refused: the name is fixed to this other type.
    Refused(ValueType),
    /// Failed, holding the declaration `held` if it counted one before: the undo releases it.
    Failed {
        error: Error,
        held: Option<Held>,
    },
}

/// A declaration the registry's step accepted.
struct Took {
    /// The registry's key for the name, if the step declared it (the store then holds that
    /// declaration until it releases the slot).
    key: Option<Arc<str>>,
    /// What to write into an ordinary memory's slot, as of registry version `version` (0: a
    /// slot declared before, or a shared one, which no sync writes).
    bits: u64,
    version: u64,
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
    pub(super) fn refuse(&mut self, table: TableIndex, slot: &CheckedSlot<'_>, fixed: ValueType) {
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
    pub(super) fn declared_event(&self, table: TableIndex, slot: &CheckedSlot<'_>) {
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
    /// [`undo`](GlobalsCtx::undo) if the declaration fails.
    pub(super) fn admit(&mut self, table: TableIndex, slot: &CheckedSlot<'_>) -> Result<u64> {
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
    pub(super) fn redeclared(&self, table: TableIndex, slot: &CheckedSlot<'_>) -> Result<bool> {
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

    /// Counts `record`, a new declaration of slot `index` (whose hash is `hash`) of `table`,
    /// and, in an ordinary memory, leaves it for [`sync`]'s index.
    pub(super) fn record(&mut self, table: TableIndex, index: u32, hash: u64, record: SlotRecord) {
        self.count_new(1, record.known);
        if self.tables[table].shared.is_none() {
            if self.unindexed.capacity() == 0 {
                // As for `names`: a guest's usual handful at once.
                self.unindexed.reserve(crate::store_names::NAMES_AT_FIRST);
            }
            self.unindexed.push(Unindexed {
                table,
                indexes: index..index + 1,
            });
        }
        let t = &mut self.tables[table];
        t.count += 1;
        if let Some(per_name) = &mut t.per_name {
            *per_name.entry(hash).or_default() += 1;
        }
        t.slots.insert(index, record, t.count);
    }

    /// Declares a slot of the table at `place` of `memory`, in one path for every kind of slot:
    /// the table found or recorded; the same slot again is only written again; otherwise the
    /// store's limits, then the registry's step, then the write step ([`How`] says which), then
    /// the store's record. A step that fails undoes the steps before it ([`undo`]).
    ///
    /// [`undo`]: GlobalsCtx::undo
    pub(crate) fn declare(
        &mut self,
        memory: MemoryRef<GuestMemory>,
        place: TablePlace,
        how: How<'_, '_>,
    ) -> Result<Status> {
        // The write step's memory apart, so that the slot may borrow the rest.
        let (kind, mut data) = match how {
            How::Validated { slot, data } => (Kind::Validated(slot), Some(data)),
            How::Known { index, hit, data } => (Kind::Known(index, hit), Some(data)),
            How::Shared { slot } => (Kind::Shared(slot), None),
        };
        let known_slot;
        let (slot, room) = match &kind {
            Kind::Known(index, hit) => {
                known_slot = hit.checked(place.addr, *index);
                (&known_slot, hit.room)
            }
            Kind::Validated(slot) | Kind::Shared(slot) => (*slot, 0),
        };
        let table = self.find_table(memory, place.addr, place.capacity, room)?;
        let again = self.redeclared(table, slot)?;
        let charged = if again { 0 } else { self.admit(table, slot)? };
        let Some(taken) = self.take_or_undo(table, slot, again, &kind, charged)? else {
            return Ok(Status::TypeMismatch);
        };
        // The write step: into an ordinary memory (the registry wrote a shared one).
        if let Some(data) = &mut data
            && let Err(e) = write_value(data, slot, taken.bits)
        {
            self.undo(charged, taken.key.map(Held::ordinary));
            return Err(e);
        }
        if again {
            return Ok(Status::Ok);
        }
        self.declared_event(table, slot);
        let (index, hash) = (slot.index, slot.hash);
        let (ty, default) = (slot.ty, slot.default);
        let (name, known) = match (kind, taken.key) {
            (Kind::Known(_, hit), _) => (hit.name, true),
            (_, Some(name)) => (name, false),
            (_, None) => unreachable!("the registry declares every slot not declared before"),
        };
        let record = SlotRecord {
            name,
            ty,
            default,
            written_at: taken.version,
            known,
        };
        self.record(table, index, hash, record);
        Ok(Status::Ok)
    }

    /// [`take`](GlobalsCtx::take), the store's admission (`charged`) and what the step held
    /// undone if it fails; `None` if the registry refused the slot's type, which the store then
    /// records.
    fn take_or_undo(
        &mut self,
        table: TableIndex,
        slot: &CheckedSlot<'_>,
        again: bool,
        kind: &Kind<'_>,
        charged: u64,
    ) -> Result<Option<Took>> {
        match self.take(table, slot, again, kind) {
            Taken::Name(taken) => Ok(Some(taken)),
            Taken::Refused(fixed) => {
                self.undo(charged, None);
                self.refuse(table, slot, fixed);
                Ok(None)
            }
            Taken::Failed { error, held } => {
                self.undo(charged, held);
                Err(error)
            }
        }
    }

    /// The registry's step of a declaration of `slot` in `table` (`again`: the store declared
    /// it before): a slot validated in full or of a shared memory declares its name (a shared
    /// one is written by the registry, now and at every change); a known one takes what the
    /// module holds. The store joins the name's stores at its first slot of it.
    fn take(
        &mut self,
        table: TableIndex,
        slot: &CheckedSlot<'_>,
        again: bool,
        kind: &Kind<'_>,
    ) -> Taken {
        let names = &mut self.names;
        match kind {
            Kind::Known(_, hit) => Taken::Name(Took {
                key: None,
                bits: hit.bits,
                version: hit.version,
            }),
            Kind::Validated(_) if again => {
                let value = self.globals.current(slot.name);
                Taken::Name(Took {
                    key: None,
                    bits: value.map_or(slot.default, Value::to_bits),
                    version: 0,
                })
            }
            Kind::Validated(_) => match self.globals.declare_name(slot.name, slot.ty, names) {
                Ok(declared) => Taken::Name(Took {
                    bits: declared.current.bits(slot.default),
                    version: declared.current.version,
                    key: Some(declared.key),
                }),
                Err(fixed) => Taken::Refused(fixed),
            },
            Kind::Shared(_) => self.take_shared(table, slot, again),
        }
    }

    /// [`take`](GlobalsCtx::take) for a slot of a shared memory: the registry records the slot
    /// in its table and writes its value.
    fn take_shared(&mut self, table: TableIndex, slot: &CheckedSlot<'_>, again: bool) -> Taken {
        let names = &mut self.names;
        let t = &self.tables[table];
        let GuestMemory::Shared(memory) = &self.memories[t.memory] else {
            unreachable!("a table's memory keeps its kind");
        };
        let declaration = SharedDeclaration {
            owner: self.id,
            memory,
            table: t.shared.unwrap_or(TableKey {
                base: memory.data().as_ptr() as usize,
                addr: t.addr,
            }),
            capacity: t.capacity,
            slot,
            again,
        };
        match self.globals.declare_shared_slot(declaration, names) {
            Ok(NameStep::Declared(name)) => Taken::Name(Took {
                key: (!again).then_some(name),
                bits: 0,
                version: 0,
            }),
            Ok(NameStep::Refused(fixed)) => Taken::Refused(fixed),
            Err(SharedStepFailed { error, held }) => Taken::Failed { error, held },
        }
    }

    /// Counts `count` new declarations of the store (`known`: slots the module's instances
    /// declared before): every kind of declaration's record counts through here.
    pub(super) fn count_new(&mut self, count: u32, known: bool) {
        self.declared += count;
        self.uncounted += u64::from(count);
        if known {
            self.stats.known += u64::from(count);
            self.declared_known += count;
        }
    }

    /// Undoes a declaration that failed after [`admit`](GlobalsCtx::admit) charged `charged`
    /// and the registry's step counted `held`: the one place a failed declaration is undone,
    /// whichever step failed.
    pub(super) fn undo(&mut self, charged: u64, held: Option<Held>) {
        self.refund(charged);
        if let Some(held) = held {
            let leaves = self.names.leave(&held.name);
            let shared = held.shared_slot.is_some();
            self.globals
                .undeclare(self.id, shared, [held.release(leaves)]);
        }
    }

    /// Whether a call's slots into the table at `addr` of `memory` may be declared as one
    /// run ([`declare_run`](GlobalsCtx::declare_run)): the store has no slot of that table.
    pub(crate) fn may_run<M>(&mut self, memory: &MemoryRef<M>, addr: u32) -> bool {
        match memory {
            MemoryRef::Recorded(memory) => self
                .known_table(*memory, addr)
                .is_none_or(|t| self.tables[t].count == 0),
            MemoryRef::New { .. } => true,
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
        memory: MemoryRef<GuestMemory>,
        place: TablePlace,
        run: Run,
        data: &mut [u8],
    ) -> Result<bool> {
        let table = self.find_table(memory, place.addr, place.capacity, 0)?;
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
        if !write_run(&run, place.addr, data) {
            // Not for a run `KnownView::run` found in `data`: one by one says what is wrong.
            self.undo(charged, None);
            return Ok(false);
        }
        self.count_new(count, true);
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
        self.run_events(table);
        Ok(true)
    }

    /// A debug event for each slot of `table`'s run, as one by one each has.
    fn run_events(&self, table: TableIndex) {
        if !tracing::enabled!(target: "wasmtime_global::declare", tracing::Level::DEBUG) {
            return;
        }
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
}
