//! The imports: `declare` (versions 2 and 3) and `declare_range` (version 3).

use crate::ctx::{GuestMemory, How, MemoryIndex, MemoryRef, TablePlace};
use crate::module::{Known, KnownView};
use crate::shared::SharedBytes;
use crate::{Error, GlobalsCtx, validate};
use wasmtime::{Caller, Extern, Linker, Memory, SharedMemory};
use wasmtime_global_abi::Header;
use wasmtime_global_abi::validate::GuestBytes;
use wasmtime_global_abi::{
    DECLARE_IMPORT, DECLARE_RANGE_IMPORT, IMPORT_MODULE, IMPORT_MODULE_V2, MAX_NAME_LEN,
    MEMORY_EXPORT, Status,
};

/// Adds the wasmtime-global imports to `linker`: wazero-global's `Register`. It defines
/// `declare` and `declare_range` in `wasmtime_global_v3` and `declare` in `wasmtime_global_v2`, so
/// that guests of either ABI version link.
///
/// `get` finds the store's [`GlobalsCtx`] in its data. It runs on every call of an import, so it
/// should be a field access.
///
/// # Errors
///
/// If `linker` already defines the imports and does not allow shadowing.
///
/// # Examples
///
/// With the ctx as the whole store data:
///
/// ```
/// use wasmtime::{Engine, Linker};
/// use wasmtime_global::GlobalsCtx;
///
/// let mut linker: Linker<GlobalsCtx> = Linker::new(&Engine::default());
/// wasmtime_global::add_to_linker(&mut linker, |ctx| ctx)?;
/// # Ok::<(), wasmtime::Error>(())
/// ```
///
/// With the ctx as a field:
///
/// ```
/// use wasmtime::{Engine, Linker};
/// use wasmtime_global::GlobalsCtx;
///
/// struct Host {
///     globals: GlobalsCtx,
/// }
///
/// let mut linker: Linker<Host> = Linker::new(&Engine::default());
/// wasmtime_global::add_to_linker(&mut linker, |host| &mut host.globals)?;
/// # Ok::<(), wasmtime::Error>(())
/// ```
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &mut GlobalsCtx + Send + Sync + Copy + 'static,
) -> wasmtime::Result<()> {
    let declare_one = move |mut caller: Caller<'_, T>, table: i32, index: i32| {
        declare_call(&mut caller, get, table, index, 1).map(|run| match run.stopped {
            None => Status::Ok.code(),
            Some(status) => status.code(),
        })
    };
    // Version 2 guests import `declare` from their own module: the same function.
    linker.func_wrap(IMPORT_MODULE_V2, DECLARE_IMPORT, declare_one)?;
    linker.func_wrap(IMPORT_MODULE, DECLARE_IMPORT, declare_one)?;
    linker.func_wrap(
        IMPORT_MODULE,
        DECLARE_RANGE_IMPORT,
        move |mut caller: Caller<'_, T>, table: i32, first: i32, count: i32| {
            // At most `count` ≤ MAX_CAPACITY (65,536), checked before any slot: it fits.
            declare_call(&mut caller, get, table, first, count).map(|run| run.declared as i32)
        },
    )?;
    Ok(())
}

/// A malformed slot, which traps the guest: its index, and why.
struct SlotTrap {
    index: u32,
    error: Error,
}

impl SlotTrap {
    /// The trap of slot `index`, for `map_err`.
    fn at(index: u32) -> impl Fn(Error) -> SlotTrap + Copy {
        move |error| SlotTrap { index, error }
    }
}

/// What a call of `declare` or `declare_range` came to.
#[derive(Default)]
struct Run {
    /// How many slots were declared, from the first on.
    declared: u32,
    /// The status of the slot that stopped the run, if one did.
    stopped: Option<Status>,
}

impl Run {
    /// A run that declared all `count` slots it was asked for.
    fn whole(count: u32) -> Run {
        Run {
            declared: count,
            stopped: None,
        }
    }
}

/// One call from the guest: `count` slots from `first` of the table at `table`, the arguments
/// read as unsigned. A malformed slot traps, after the store has noted why.
fn declare_call<T: 'static>(
    caller: &mut Caller<'_, T>,
    get: impl Fn(&mut T) -> &mut GlobalsCtx,
    table: i32,
    first: i32,
    count: i32,
) -> wasmtime::Result<Run> {
    get(caller.data_mut()).count_declare_call();
    let (table, first, count) = (table as u32, first as u32, count as u32);
    let run = declare_slots(caller, &get, table, first, count);
    let ctx = get(caller.data_mut());
    // One shared add for the call's slots, so that the registry's counters hold every
    // declaration once the call returns, in a store that never syncs too.
    ctx.count_declarations();
    run.map_err(|SlotTrap { index, error }| {
        ctx.trapped(table, index, &error);
        error.into()
    })
}

/// Declares slots `first` to `first + count - 1` of the table at `table_addr` in order, as that
/// many `declare(table, i)` calls would, and stops at the first whose status is not OK: validates
/// each slot and writes its current value. The memory and the header are looked at once. A
/// malformed slot is an [`Error`], with its index, which traps the guest; the slots before it
/// stay declared. Never calls into the guest, so it works the same in a store with async support.
fn declare_slots<T: 'static>(
    caller: &mut Caller<'_, T>,
    get: &impl Fn(&mut T) -> &mut GlobalsCtx,
    table_addr: u32,
    first: u32,
    count: u32,
) -> Result<Run, SlotTrap> {
    let by_index = get(caller.data_mut()).memory_export();
    let memory = by_index.and_then(|export| caller.get_module_export(&export));
    let call = Call {
        table_addr,
        first,
        count,
    };
    match memory.or_else(|| caller.get_export(MEMORY_EXPORT)) {
        Some(Extern::Memory(memory)) => declare_in_plain(caller, get, memory, call),
        Some(Extern::SharedMemory(memory)) => declare_in_shared(caller, get, memory, call),
        _ => Err(SlotTrap {
            index: first,
            error: Error::NoMemory,
        }),
    }
}

/// The arguments of one call of `declare` or `declare_range`, read as unsigned.
#[derive(Clone, Copy)]
struct Call {
    table_addr: u32,
    first: u32,
    count: u32,
}

impl Call {
    /// The call's table header in `bytes`, and the slots it asks for, once both are valid.
    fn read(
        self,
        bytes: &(impl GuestBytes + ?Sized),
    ) -> Result<(Header, std::ops::Range<u32>), SlotTrap> {
        let at = SlotTrap::at(self.first);
        let header = validate::read_header(bytes, self.table_addr).map_err(at)?;
        let indexes = range(&header, self.first, self.count).map_err(at)?;
        Ok((header, indexes))
    }
}

/// [`declare_slots`] in an ordinary memory: a run of slots the module's instances all declared
/// before, into a table the store has none of yet, as one record (`ModuleGlobals`); else each
/// slot, a known one without validating it again.
fn declare_in_plain<T: 'static>(
    caller: &mut Caller<'_, T>,
    get: &impl Fn(&mut T) -> &mut GlobalsCtx,
    memory: Memory,
    call: Call,
) -> Result<Run, SlotTrap> {
    let table_addr = call.table_addr;
    let base = memory.data_ptr(&*caller) as usize;
    let mut recorded = memory_ref(find(caller, get, base), memory, base);
    let (data, state) = memory.data_and_store_mut(&mut *caller);
    let (header, indexes) = call.read(&*data)?;
    let place = place(table_addr, &header);
    let ctx = get(state);
    let module = ctx.known();
    let mut view = module.as_ref().map(|m| m.view(table_addr));
    if let Some(v) = &view
        && declare_as_run(ctx, v, &recorded, place, indexes.clone(), data)
            .map_err(SlotTrap::at(call.first))?
    {
        return Ok(Run::whole(call.count));
    }
    recorded = now_recorded(ctx, recorded, base);
    let mut run = Run::default();
    let mut name = [0; MAX_NAME_LEN as usize];
    for index in indexes {
        let at = SlotTrap::at(index);
        let guest = recorded.clone().map(GuestMemory::Plain);
        // A slot the module's instances declared before, byte for byte: declared without
        // validating it again (`ModuleGlobals`).
        let hit = module.as_ref().and_then(|m| {
            let view = view.get_or_insert_with(|| m.view(table_addr));
            view.hit(data, index)
        });
        let status = if let Some(hit) = hit {
            let how = How::Known { index, hit, data };
            ctx.declare(guest, place, how).map_err(at)?
        } else {
            // The view's lock goes before `learn` takes it to write.
            view = None;
            let validated = Validated {
                ctx: &mut *ctx,
                module: module.as_deref(),
                memory: guest,
                place,
                header: &header,
            };
            validated.declare(data, index, &mut name).map_err(at)?
        };
        if status != Status::Ok {
            run.stopped = Some(status);
            break;
        }
        run.declared += 1;
        // Recorded now, if it was not: the next slot's memory is found by its index.
        recorded = now_recorded(ctx, recorded, base);
    }
    Ok(run)
}

/// Declares slots `indexes` of the table at `place` as one run, if the module's instances
/// declared each of them before and the store has no slot of the table yet (`ModuleGlobals`);
/// returns whether it did.
fn declare_as_run(
    ctx: &mut GlobalsCtx,
    view: &KnownView<'_>,
    memory: &MemoryRef<Memory>,
    place: TablePlace,
    indexes: std::ops::Range<u32>,
    data: &mut [u8],
) -> crate::Result<bool> {
    if !ctx.may_run(memory, place.addr) {
        return Ok(false);
    }
    match view.run(data, indexes) {
        Some(slots) => {
            let guest = memory.clone().map(GuestMemory::Plain);
            ctx.declare_run(guest, place, slots, data)
        }
        None => Ok(false),
    }
}

/// A slot of an ordinary memory to validate in full, then declare: what the module's
/// instances declared is learned from it.
struct Validated<'a> {
    ctx: &'a mut GlobalsCtx,
    module: Option<&'a Known>,
    memory: MemoryRef<GuestMemory>,
    place: TablePlace,
    header: &'a wasmtime_global_abi::Header,
}

impl Validated<'_> {
    /// Validates and declares slot `index` of the table in `data`, with `name` to copy the
    /// slot's name into.
    fn declare(
        self,
        data: &mut [u8],
        index: u32,
        name: &mut validate::NameBuf,
    ) -> crate::Result<Status> {
        let addr = self.place.addr;
        let slot = validate::check_slot(&*data, addr, self.header, index, name)?;
        let how = How::Validated { slot: &slot, data };
        let status = self.ctx.declare(self.memory, self.place, how)?;
        if status == Status::Ok
            && let Some(module) = self.module
            && let Some(bytes) = slot_bytes(data, addr, index)
        {
            module.learn(addr, &slot, &bytes);
        }
        Ok(status)
    }
}

/// [`declare_slots`] in a shared memory: each slot copied out of the memory, then checked.
fn declare_in_shared<T: 'static>(
    caller: &mut Caller<'_, T>,
    get: &impl Fn(&mut T) -> &mut GlobalsCtx,
    memory: SharedMemory,
    call: Call,
) -> Result<Run, SlotTrap> {
    let table_addr = call.table_addr;
    let view = SharedBytes::new(&memory);
    let (header, indexes) = call.read(&view)?;
    let base = memory.data().as_ptr() as usize;
    let mut recorded = memory_ref(find(caller, get, base), memory.clone(), base);
    let ctx = get(caller.data_mut());
    let mut run = Run::default();
    let mut name = [0; MAX_NAME_LEN as usize];
    for index in indexes {
        let at = SlotTrap::at(index);
        // Copied out of the shared memory again for each slot, then checked.
        let slot =
            validate::check_slot(&view, table_addr, &header, index, &mut name).map_err(at)?;
        let guest = recorded.clone().map(GuestMemory::Shared);
        let how = How::Shared { slot: &slot };
        let status = ctx
            .declare(guest, place(table_addr, &header), how)
            .map_err(at)?;
        if status != Status::Ok {
            run.stopped = Some(status);
            break;
        }
        run.declared += 1;
        recorded = now_recorded(ctx, recorded, base);
    }
    Ok(run)
}

/// `memory`, at `base`, as the store's record of it (`found`), or as new.
fn memory_ref<M>(found: Option<MemoryIndex>, memory: M, base: usize) -> MemoryRef<M> {
    match found {
        Some(i) => MemoryRef::Recorded(i),
        None => MemoryRef::New { memory, base },
    }
}

/// `memory` once a declaration may have recorded it.
fn now_recorded<M>(ctx: &GlobalsCtx, memory: MemoryRef<M>, base: usize) -> MemoryRef<M> {
    match memory {
        MemoryRef::New { .. } => ctx.memory_at(base).map_or(memory, MemoryRef::Recorded),
        recorded @ MemoryRef::Recorded(_) => recorded,
    }
}

/// The 64 bytes of slot `index` of the table at `table`, if they are inside `data`.
fn slot_bytes(data: &[u8], table: u32, index: u32) -> Option<[u8; 64]> {
    let at = usize::try_from(u64::from(table) + wasmtime_global_abi::slot_offset(index)).ok()?;
    data.get(at..at.checked_add(64)?)?.try_into().ok()
}

/// The slot indexes `first` to `first + count - 1`, once all of them are below the header's
/// `count`.
///
/// # Errors
///
/// [`Error::SlotIndexOutOfRange`] with the first index that is not.
fn range(
    header: &wasmtime_global_abi::Header,
    first: u32,
    count: u32,
) -> crate::Result<std::ops::Range<u32>> {
    let end = u64::from(first) + u64::from(count);
    if count > 0 && end > u64::from(header.count) {
        return Err(Error::SlotIndexOutOfRange {
            index: first.max(header.count),
            count: header.count,
        });
    }
    // end ≤ header.count, a u32, when count > 0.
    Ok(if count == 0 {
        0..0
    } else {
        first..first + count
    })
}

fn place(addr: u32, header: &wasmtime_global_abi::Header) -> TablePlace {
    TablePlace {
        addr,
        capacity: header.capacity,
    }
}

/// The recorded memory whose base address is, now, `base`.
///
/// Two live memories of non-zero size never share a base address, and a memory is recorded only
/// once it held a validated table, so it is not empty (and never shrinks): comparing base
/// addresses taken at the same moment identifies a memory. An ordinary memory may move when it
/// grows, so the index by base address is checked against the memory it names; if that fails,
/// or nothing is there, every recorded memory is looked at again (once per memory not seen
/// before, or after a move; every other declaration is one lookup). If the caller's memory is
/// empty it may match a recorded one here, but then its table fails validation before anything
/// is recorded or written.
fn find<T: 'static>(
    caller: &mut Caller<'_, T>,
    get: &impl Fn(&mut T) -> &mut GlobalsCtx,
    base: usize,
) -> Option<MemoryIndex> {
    let base_now = |caller: &Caller<'_, T>, memory: GuestMemory| match memory {
        GuestMemory::Plain(m) => m.data_ptr(caller) as usize,
        GuestMemory::Shared(m) => m.data().as_ptr() as usize,
    };
    let ctx = get(caller.data_mut());
    if let Some(i) = ctx.memory_at(base)
        && let Some(memory) = ctx.memory(i)
        && base_now(caller, memory) == base
    {
        return Some(i);
    }
    let indexes = get(caller.data_mut()).memory_indexes();
    let mut bases = Vec::with_capacity(indexes.size_hint().0);
    let mut found = None;
    for i in indexes {
        let memory = get(caller.data_mut()).memory(i)?;
        let now = base_now(caller, memory);
        if now == base && found.is_none() {
            found = Some(i);
        }
        bases.push(now);
    }
    get(caller.data_mut()).rebase(bases);
    found
}
