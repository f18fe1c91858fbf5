//! The `declare` import.

use crate::ctx::{GuestMemory, TablePlace};
use crate::shared::SharedBytes;
use crate::{Error, GlobalsCtx, table};
use wasmtime::{Caller, Extern, Linker};
use wasmtime_global_abi::{DECLARE_IMPORT, IMPORT_MODULE, MAX_NAME_LEN, MEMORY_EXPORT, Status};

/// Adds the wasmtime-global imports to `linker`: wazero-global's `Register`.
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
    linker.func_wrap(
        IMPORT_MODULE,
        DECLARE_IMPORT,
        move |mut caller: Caller<'_, T>, table: i32, index: i32| -> wasmtime::Result<i32> {
            get(caller.data_mut()).count_declare_call();
            let (table, index) = (table as u32, index as u32);
            match declare(&mut caller, get, table, index) {
                Ok(status) => Ok(status.code()),
                Err(e) => {
                    get(caller.data_mut()).trapped(table, index, &e);
                    Err(e.into())
                }
            }
        },
    )?;
    Ok(())
}

/// `declare(table, slot_index)`: validates the slot and writes its current value. A malformed
/// table is an [`Error`], which traps the guest. Never calls into the guest, so it works the same
/// in a store with async support.
fn declare<T: 'static>(
    caller: &mut Caller<'_, T>,
    get: impl Fn(&mut T) -> &mut GlobalsCtx,
    table_addr: u32,
    index: u32,
) -> crate::Result<Status> {
    let by_index = get(caller.data_mut()).memory_export();
    let memory = by_index.and_then(|export| caller.get_module_export(&export));
    match memory.or_else(|| caller.get_export(MEMORY_EXPORT)) {
        Some(Extern::Memory(memory)) => {
            let base = memory.data_ptr(&*caller) as usize;
            let known = find(caller, &get, base).ok_or((memory, base));
            let (data, state) = memory.data_and_store_mut(&mut *caller);
            let header = table::read_header(&*data, table_addr)?;
            let mut name = [0; MAX_NAME_LEN as usize];
            let slot = table::check_slot(&*data, table_addr, &header, index, &mut name)?;
            get(state).declare(known, place(table_addr, &header), &slot, data)
        }
        Some(Extern::SharedMemory(memory)) => {
            let view = SharedBytes::new(&memory);
            let header = table::read_header(&view, table_addr)?;
            let mut name = [0; MAX_NAME_LEN as usize];
            let slot = table::check_slot(&view, table_addr, &header, index, &mut name)?;
            let base = memory.data().as_ptr() as usize;
            let known = find(caller, &get, base).ok_or((memory, base));
            let ctx = get(caller.data_mut());
            ctx.declare_shared(known, place(table_addr, &header), &slot)
        }
        _ => Err(Error::NoMemory),
    }
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
) -> Option<usize> {
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
    let count = get(caller.data_mut()).memory_count();
    let mut bases = Vec::with_capacity(count);
    for i in 0..count {
        let memory = get(caller.data_mut()).memory(i)?;
        bases.push(base_now(caller, memory));
    }
    let found = bases.iter().position(|&b| b == base);
    get(caller.data_mut()).rebase(bases);
    found
}
