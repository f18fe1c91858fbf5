//! [`ModuleGlobals`]: what a host learns once of a module whose instances declare globals, and
//! the slots its instances declared, so that the next instance's declarations cost less.
//!
//! A host that makes an instance per request declares the same slots in every instance: the
//! same table at the same address, the same names, types and defaults. The first instance's
//! declarations go the whole way (validation, the registry); this module remembers each slot
//! as it was validated, and the registry keeps the name declared on the module's behalf
//! ([`Known`] holds one declaration of each name, for as long as the [`ModuleGlobals`] lives).
//! A later instance's slot whose bytes and name are the same as remembered is valid as that one
//! was (validation reads nothing else: the header and the slot's index are checked on every
//! call), and its name's type cannot have changed while the module holds a declaration of it;
//! so declaring it is a comparison of 48 bytes and the name, and a write of the value, which is
//! remembered with the registry's version and taken again from the registry only once that
//! version has moved. A slot that differs in any byte is declared the whole way.
//!
//! A call that declares a run of such slots into a table the store has no slot of yet is
//! declared as one [`Run`]: the store keeps the module's record of the table (shared, copied
//! only when the module learns more) and the run's bounds, not a record of each slot.

use crate::store_names::StoreNames;
use crate::validate::CheckedSlot;
use crate::{Globals, Value};
use parking_lot::{RwLock, RwLockReadGuard};
use std::collections::HashSet;
use std::ops::Range;
use std::sync::Arc;
use wasmtime_global_abi::{self as abi, Slot, ValueType};

/// What a store learns once about a module whose instances declare globals, for every store
/// that instantiates it: make one when the module is compiled (or with its `InstancePre`), and
/// hand it to each store's [`GlobalsCtx::with_module`](crate::GlobalsCtx::with_module).
///
/// It knows where the module exports its memory, so that a declaration finds the memory by the
/// export's index rather than by its name; and it remembers the slots its instances declared
/// into ordinary memory, so that the same slot in the next instance is declared without going
/// through validation and the registry again (`cargo bench -p wasmtime-global-tests --bench
/// request`, where each request is a new instance). For that, the registry counts one
/// declaration of each remembered name for the module (in [`Globals::snapshot`], one store),
/// for as long as this value or a clone of it lives: the name's type stays fixed meanwhile, as
/// it would while an instance that declared it lives. It remembers the slots of up to
/// [`KNOWN_REGISTRIES`] registries and [`KNOWN_SLOTS`] slots of each, and reserves what it holds
/// against the registry's bound on host memory ([`Globals::set_max_host_bytes`]).
///
/// ```
/// # let engine = wasmtime::Engine::default();
/// # let module = wasmtime::Module::new(&engine, "(module (memory (export \"memory\") 1))")?;
/// use wasmtime_global::{Globals, GlobalsCtx, ModuleGlobals};
///
/// let globals = Globals::new();
/// let prepared = ModuleGlobals::new(&module);
/// // For each request:
/// let ctx = GlobalsCtx::new(&globals).with_module(&prepared);
/// # Ok::<(), wasmtime::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct ModuleGlobals {
    pub(crate) memory: Option<wasmtime::ModuleExport>,
    /// What the instances' declarations established, by registry; `None` for a ctx not told of
    /// a module.
    known: Option<Arc<RwLock<Vec<Arc<Known>>>>>,
}

/// How many registries a [`ModuleGlobals`] remembers slots for (a host with a registry per
/// tenant: the first ones); the instances of others declare the whole way.
pub const KNOWN_REGISTRIES: usize = 8;

/// How many slots a [`ModuleGlobals`] remembers per registry: a module whose instances declare
/// more (or declare different slots each time) declares the rest the whole way. It bounds the
/// names it holds too, and the entries it keeps by index, all tables together (a guest that
/// declares only slot 4,095 of a table uses up 4,096).
pub const KNOWN_SLOTS: usize = 4096;

/// How many tables a [`ModuleGlobals`] remembers slots of per registry.
const KNOWN_TABLES: usize = 64;

/// How many pages [`ModuleGlobals::ready`] makes ready at most: the tables of about 1,000 slots.
const READY_PAGES: usize = 16;

/// The size of the pages [`ModuleGlobals::ready`] touches one word of: a host page, 4 KiB on
/// the systems wasmtime's pooling allocator runs on (a larger page is touched more than once).
const HOST_PAGE: u64 = 4096;

/// How many slots of a known table a new store makes room for at once, at most: room for more is
/// made as they are declared, and charged then.
const ROOM_AT_ONCE: usize = 256;

impl ModuleGlobals {
    /// What wasmtime-global needs to know of `module`.
    #[must_use]
    pub fn new(module: &wasmtime::Module) -> ModuleGlobals {
        ModuleGlobals {
            memory: module.get_export_index(abi::MEMORY_EXPORT),
            known: Some(Arc::default()),
        }
    }

    /// Instantiates `pre` in `store`, then makes the pages of this module's tables ready for
    /// the host's writes ([`ready`](ModuleGlobals::ready)): for a host that makes an instance
    /// per request, in place of [`InstancePre::instantiate`](wasmtime::InstancePre::instantiate).
    ///
    /// # Errors
    ///
    /// What [`InstancePre::instantiate`](wasmtime::InstancePre::instantiate) returns.
    pub fn instantiate<T: 'static>(
        &self,
        pre: &wasmtime::InstancePre<T>,
        mut store: impl wasmtime::AsContextMut<Data = T>,
    ) -> wasmtime::Result<wasmtime::Instance> {
        let instance = pre.instantiate(&mut store)?;
        self.ready(&mut store, &instance);
        Ok(instance)
    }

    /// [`instantiate`](ModuleGlobals::instantiate) for a store with async support.
    ///
    /// # Errors
    ///
    /// What [`InstancePre::instantiate_async`](wasmtime::InstancePre::instantiate_async)
    /// returns.
    #[cfg(feature = "async")]
    pub async fn instantiate_async<T: Send + 'static>(
        &self,
        pre: &wasmtime::InstancePre<T>,
        mut store: impl wasmtime::AsContextMut<Data = T>,
    ) -> wasmtime::Result<wasmtime::Instance> {
        let instance = pre.instantiate_async(&mut store).await?;
        self.ready(&mut store, &instance);
        Ok(instance)
    }

    /// Makes each page of `instance`'s memory that holds a table this module's instances
    /// declared into before ready for the host's writes, with one write fault each, before the
    /// first call into the guest reads it (a start function ran already, inside instantiation);
    /// changes no byte. Does nothing for an instance of another module, a
    /// shared memory, or a module none of whose instances declared yet.
    ///
    /// Why: in wasmtime's default pool a fresh instance's memory is mapped from the module's
    /// image and faults each page in at its first touch. A guest's first read of its table is a
    /// read, which maps the page read-only; the host's write of the values then copies it: two
    /// faults, where a write first takes one. That second fault is most of what a per-request
    /// guest's globals cost over the seed design's host call per read in that pool (`cargo
    /// bench -p wasmtime-global-tests --bench request`, whose figures are in the README). The
    /// page is one the host writes at the guest's first declaration anyway, so this moves a
    /// cost, except for a request that reads no global: it pays the page all the same.
    pub fn ready(&self, mut store: impl wasmtime::AsContextMut, instance: &wasmtime::Instance) {
        let Some(known) = &self.known else {
            return;
        };
        let Some(export) = &self.memory else {
            return;
        };
        let Some(wasmtime::Extern::Memory(memory)) = instance.get_module_export(&mut store, export)
        else {
            return;
        };
        let mut pages = Vec::new();
        for k in known.read().iter() {
            k.pages(&mut pages);
        }
        pages.sort_unstable();
        pages.dedup();
        pages.truncate(READY_PAGES);
        crate::touch::for_writing(memory.data_mut(&mut store), &pages);
    }

    /// What this module's instances established in `globals`, made now if there is room.
    pub(crate) fn known(&self, globals: &Globals) -> Option<Arc<Known>> {
        let known = self.known.as_ref()?;
        if let Some(k) = known.read().iter().find(|k| k.globals.same(globals)) {
            return Some(Arc::clone(k));
        }
        let mut all = known.write();
        if let Some(k) = all.iter().find(|k| k.globals.same(globals)) {
            return Some(Arc::clone(k));
        }
        if all.len() >= KNOWN_REGISTRIES {
            return None;
        }
        let k = Arc::new(Known {
            globals: globals.clone(),
            slots: RwLock::default(),
        });
        all.push(Arc::clone(&k));
        Some(k)
    }
}

impl core::fmt::Debug for ModuleGlobals {
    // `ModuleExport` is not `Debug`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let memory = if self.memory.is_some() {
            "Some(..)"
        } else {
            "None"
        };
        let known = self.known.as_ref().map(|k| {
            let all = k.read();
            all.iter().map(|k| k.slots.read().count).sum::<usize>()
        });
        f.debug_struct("ModuleGlobals")
            .field("memory", &format_args!("{memory}"))
            .field("known_slots", &known)
            .finish()
    }
}

/// The slots a module's instances declared into ordinary memory in one registry, and the
/// registry's declaration of each of their names that the module holds.
#[derive(Debug)]
pub(crate) struct Known {
    globals: Globals,
    slots: RwLock<KnownSlots>,
}

#[derive(Debug, Default)]
struct KnownSlots {
    /// By table address: each table's slots.
    tables: Vec<(u32, Arc<KnownTable>)>,
    /// The names the module holds a declaration of: the registry's keys.
    names: HashSet<Arc<str>>,
    /// Slots known.
    count: usize,
    /// Entries of the tables' vectors, known or not, all tables together.
    entries: usize,
    /// Host memory reserved in the registry for what this holds.
    reserved: u64,
}

impl KnownSlots {
    /// The host memory that learning one more slot holds, if it fits the bounds: in a new
    /// table (`new_table`), growing its table's entries by `grow`, with a name not held yet
    /// (`new_name`), in place of a slot learned before (`replaces`, whose room it takes).
    fn cost(
        &self,
        new_table: bool,
        grow: usize,
        new_name: Option<&str>,
        replaces: Option<&KnownSlot>,
    ) -> Option<u64> {
        if self.count >= KNOWN_SLOTS
            || self.entries + grow > KNOWN_SLOTS
            || (new_table && self.tables.len() >= KNOWN_TABLES)
            || (new_name.is_some() && self.names.len() >= KNOWN_SLOTS)
        {
            return None;
        }
        // A name held already costs nothing more.
        let slot = if replaces.is_some() {
            0
        } else {
            KNOWN_SLOT_BYTES
        };
        let entries = grow as u64 * size_of::<Option<KnownSlot>>() as u64;
        Some(slot + entries + new_name.map_or(0, |name| NAME_BYTES + name.len() as u64))
    }
}

/// The slots of one table that a module's instances declared, by index (`None`: not known).
/// Stores that declared a [`Run`] of them share it: the module changes a copy
/// ([`Arc::make_mut`]) while one does.
pub(crate) type KnownTable = Vec<Option<KnownSlot>>;

impl KnownSlots {
    /// Puts `known` at slot `i` of the table at `table` (`at`: its index in `tables`, if it has
    /// one), with room made for it.
    fn insert(&mut self, table: u32, at: Option<usize>, i: usize, known: KnownSlot) {
        let at = match at {
            Some(at) => at,
            None => {
                self.tables.push((table, Arc::default()));
                self.tables.len() - 1
            }
        };
        let slots = Arc::make_mut(&mut self.tables[at].1);
        let grow = (i + 1).saturating_sub(slots.len());
        slots.resize_with(slots.len() + grow, || None);
        let new = slots[i].is_none();
        slots[i] = Some(known);
        self.count += usize::from(new);
        self.entries += grow;
    }
}

/// A slot as it was validated and declared.
#[derive(Clone, Debug)]
pub(crate) struct KnownSlot {
    /// The slot's bytes but `value` and `changes` (the host's): 0..32 and 48..64.
    bytes: [u8; 48],
    /// The registry's key for the name.
    pub(crate) name: Arc<str>,
    pub(crate) ty: ValueType,
    pub(crate) default: u64,
    hash: u64,
    /// What guests read, as of registry version `version`.
    value: Option<Value>,
    version: u64,
    /// The registry's count of definition changes when the slot was declared.
    definitions: u64,
}

/// A slot of the caller's memory that is one the module's instances declared before: what
/// `GlobalsCtx::declare` declares without validating it again (`How::Known`).
#[derive(Debug)]
pub(crate) struct Hit {
    pub(crate) name: Arc<str>,
    pub(crate) ty: ValueType,
    pub(crate) default: u64,
    pub(crate) hash: u64,
    /// The bits to write into `value`, what guests read as of registry version `version`.
    pub(crate) bits: u64,
    pub(crate) version: u64,
    /// Room for the table's known slots, for a store that records the table now.
    pub(crate) room: usize,
}

/// Slots `indexes` of a table, each one the module's instances declared before, byte for byte,
/// whose values the module knows as of registry version `written_at`: what
/// `GlobalsCtx::declare_run` declares at once ([`KnownView::run`]).
#[derive(Debug)]
pub(crate) struct Run {
    /// The module's slots of the table, which hold each slot of `indexes`.
    pub(crate) layout: Arc<KnownTable>,
    pub(crate) indexes: Range<u32>,
    pub(crate) written_at: u64,
    /// The bytes of the slots' names, all together.
    pub(crate) name_bytes: u64,
}

impl Run {
    /// Slot `index` of the run.
    pub(crate) fn slot(&self, index: u32) -> Option<&KnownSlot> {
        self.layout.get(index as usize)?.as_ref()
    }
}

impl KnownSlot {
    /// What guests read, as of the version the module took it at.
    pub(crate) fn bits(&self) -> u64 {
        self.value.map_or(self.default, Value::to_bits)
    }
}

impl Hit {
    /// The slot, as a declaration checks it.
    pub(crate) fn checked(&self, table: u32, index: u32) -> CheckedSlot<'_> {
        CheckedSlot {
            index,
            name: &self.name,
            hash: self.hash,
            ty: self.ty,
            default: self.default,
            value_addr: u64::from(table) + abi::slot_offset(index) + u64::from(Slot::VALUE_OFFSET),
        }
    }
}

/// The bytes of a slot that a declaration validates: all but `value` and `changes`.
fn validated_bytes(slot: &[u8; 64]) -> [u8; 48] {
    let mut out = [0; 48];
    out[..32].copy_from_slice(&slot[..32]);
    out[32..].copy_from_slice(&slot[48..]);
    out
}

/// Host memory a known slot holds, charged against the registry's bound: its record (the
/// table's entries are charged as the table's vector grows).
const KNOWN_SLOT_BYTES: u64 = size_of::<KnownSlot>() as u64;

/// Host memory a name the module holds takes beside its bytes: the set's entry and the `Arc`'s
/// counts (the registry's entry is the registry's).
const NAME_BYTES: u64 = (size_of::<Arc<str>>() + 2 * size_of::<usize>()) as u64;

impl Known {
    /// Adds to `pages` an 8-aligned offset in each host page of the tables known: from a
    /// table's address to the end of its last known slot.
    fn pages(&self, pages: &mut Vec<u64>) {
        let slots = self.slots.read();
        for (addr, known) in &slots.tables {
            let start = u64::from(*addr);
            let end = start + abi::slot_offset(known.len() as u32);
            let mut at = start;
            while at < end && pages.len() < KNOWN_TABLES * READY_PAGES {
                pages.push(at);
                at = (at / HOST_PAGE + 1) * HOST_PAGE;
            }
        }
    }

    /// A look at the slots known in the table at `table`, for the slots of one call: it holds
    /// the read lock until dropped. Drop it before [`learn`](Known::learn).
    pub(crate) fn view(&self, table: u32) -> KnownView<'_> {
        let slots = self.slots.read();
        let at = slots.tables.iter().position(|(addr, _)| *addr == table);
        let known = at.map_or(0, |at| slots.tables[at].1.iter().flatten().count());
        KnownView {
            room: known.min(ROOM_AT_ONCE),
            known: self,
            slots: Some(slots),
            at,
            table,
            definitions: self.globals.definitions(),
            version: self.globals.version(),
            refresh: Vec::new(),
        }
    }

    /// Remembers `slot`, which a whole declaration accepted, as `bytes` (the slot in memory):
    /// the module takes a declaration of its name in the registry, if it has none. Does nothing
    /// past the bounds ([`KNOWN_SLOTS`], the registry's host memory), for a slot known already,
    /// or if the registry refuses the name's type.
    pub(crate) fn learn(&self, table: u32, slot: &CheckedSlot<'_>, bytes: &[u8; 64]) {
        let definitions = self.globals.definitions();
        let i = slot.index as usize;
        let mut slots = self.slots.write();
        // Everything is checked before anything changes: what is not learned leaves no trace.
        let at = slots.tables.iter().position(|(addr, _)| *addr == table);
        let len = at.map_or(0, |at| slots.tables[at].1.len());
        let old = at.and_then(|at| slots.tables[at].1.get(i)?.as_ref());
        if old.is_some_and(|s| s.definitions == definitions) {
            return;
        }
        let grow = (i + 1).saturating_sub(len);
        let new_name = !slots.names.contains(slot.name);
        let Some(bytes_held) = slots.cost(at.is_none(), grow, new_name.then_some(slot.name), old)
        else {
            return;
        };
        if self.globals.reserve(bytes_held).is_err() {
            return;
        }
        let name = match slots.names.get(slot.name) {
            Some(name) => Arc::clone(name),
            // The module holds one declaration of each name it learns, and so counts as one
            // store among the name's: a map of its own, in which the name is always new.
            None => match self
                .globals
                .declare_name(slot.name, slot.ty, &mut StoreNames::default())
            {
                Ok(declared) => declared.key,
                Err(_) => {
                    self.globals.unreserve(bytes_held);
                    return;
                }
            },
        };
        slots.reserved += bytes_held;
        if new_name {
            slots.names.insert(Arc::clone(&name));
        }
        let current = self.globals.current_at(slot.name);
        let (value, version) = (current.value, current.version);
        let known = KnownSlot {
            bytes: validated_bytes(bytes),
            name,
            ty: slot.ty,
            default: slot.default,
            hash: slot.hash,
            value,
            version,
            definitions,
        };
        slots.insert(table, at, i, known);
    }
}

/// [`Known::view`].
pub(crate) struct KnownView<'k> {
    /// How many slots of the table are known (at most [`ROOM_AT_ONCE`]): room for a new store
    /// to make at once.
    room: usize,
    known: &'k Known,
    slots: Option<RwLockReadGuard<'k, KnownSlots>>,
    /// The table's index in `tables`, if it has known slots.
    at: Option<usize>,
    table: u32,
    /// The registry's count of definition changes, and its version, when the view was made.
    definitions: u64,
    version: u64,
    /// Values taken from the registry again: remembered when the view is dropped.
    refresh: Vec<(u32, Option<Value>, u64)>,
}

impl KnownView<'_> {
    /// The module's slots of the view's table, if it has some.
    fn layout(&self) -> Option<&Arc<KnownTable>> {
        Some(&self.slots.as_ref()?.tables.get(self.at?)?.1)
    }

    /// The module's record of slot `index` of the view's table, if the slot in `data` is the
    /// one it records, byte for byte, with its name's bytes the same, and no definition changed
    /// since.
    fn known_slot(&self, data: &[u8], index: u32) -> Option<&KnownSlot> {
        let known = self.layout()?.get(index as usize)?.as_ref()?;
        let at = usize::try_from(u64::from(self.table) + abi::slot_offset(index)).ok()?;
        let slot: &[u8; 64] = data.get(at..at.checked_add(64)?)?.try_into().ok()?;
        if !known.matches(slot) || known.definitions != self.definitions {
            return None;
        }
        let word = |i: usize| u32::from_le_bytes([slot[i], slot[i + 1], slot[i + 2], slot[i + 3]]);
        let (name_addr, name_len) = (word(8) as usize, word(12) as usize);
        let name = data.get(name_addr..name_addr.checked_add(name_len)?)?;
        same_bytes(name, known.name.as_bytes()).then_some(known)
    }

    /// Slots `indexes` of the view's table in `data` as one [`Run`], if each is a slot
    /// [`hit`](KnownView::hit) would find, with its value known as of the registry's version
    /// when the view was made (else a hit would take it again: declare them one by one).
    pub(crate) fn run(&self, data: &[u8], indexes: Range<u32>) -> Option<Run> {
        let mut name_bytes = 0;
        for index in indexes.clone() {
            let known = self.known_slot(data, index)?;
            if known.version != self.version {
                return None;
            }
            name_bytes += known.name.len() as u64;
        }
        Some(Run {
            layout: Arc::clone(self.layout()?),
            indexes,
            written_at: self.version,
            name_bytes,
        })
    }

    /// Slot `index` of the view's table in `data`, if it is a slot the module's instances
    /// declared before, byte for byte, with its name's bytes the same, and no definition changed
    /// since. Its bits are taken from the registry again if its version moved.
    pub(crate) fn hit(&mut self, data: &[u8], index: u32) -> Option<Hit> {
        let known = self.known_slot(data, index)?;
        let mut hit = Hit {
            name: Arc::clone(&known.name),
            ty: known.ty,
            default: known.default,
            hash: known.hash,
            bits: known.value.map_or(known.default, Value::to_bits),
            version: known.version,
            room: self.room,
        };
        if known.version != self.version {
            let current = self.known.globals.current_at(&hit.name);
            hit.bits = current.bits(hit.default);
            hit.version = current.version;
            self.refresh.push((index, current.value, current.version));
        }
        Some(hit)
    }
}

impl Drop for KnownView<'_> {
    fn drop(&mut self) {
        self.slots = None;
        if self.refresh.is_empty() {
            return;
        }
        let mut slots = self.known.slots.write();
        let Some((_, known)) = slots.tables.iter_mut().find(|(a, _)| *a == self.table) else {
            return;
        };
        let known = Arc::make_mut(known);
        for &(index, value, version) in &self.refresh {
            // Unless another instance remembered a newer one meanwhile.
            if let Some(Some(slot)) = known.get_mut(index as usize)
                && slot.version < version
            {
                slot.value = value;
                slot.version = version;
            }
        }
    }
}

/// `a == b`, eight bytes at a time: names are short, and a call of `memcmp` for each cost more
/// than the comparison (`perf` on the `request` bench's requests).
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (wa, wb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (wa.remainder(), wb.remainder());
    let word = |w: &[u8]| u64::from_le_bytes(w.try_into().unwrap_or_default());
    wa.zip(wb).all(|(x, y)| word(x) == word(y)) && ra.iter().zip(rb).all(|(x, y)| x == y)
}

impl KnownSlot {
    /// Whether `slot` holds the bytes this one was validated with (all but `value` and
    /// `changes`), compared a word at a time.
    fn matches(&self, slot: &[u8; 64]) -> bool {
        // Word by word, folded: comparing the arrays called `memcmp`, which cost more than the
        // comparison (`perf` on the `request` bench).
        let word = |b: &[u8], i: usize| {
            u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or_default())
        };
        let theirs = validated_bytes(slot);
        (0..6).fold(0, |diff, i| {
            diff | (word(&self.bytes, i) ^ word(&theirs, i))
        }) == 0
    }
}

impl Drop for Known {
    fn drop(&mut self) {
        let slots = self.slots.get_mut();
        let names = (slots.names.iter()).map(|name| crate::registry::Release::ordinary(name, true));
        self.globals.undeclare(u64::MAX, false, names);
        self.globals.unreserve(slots.reserved);
    }
}
