//! The `declare` import.

use crate::ctx::GuestMemory;
use crate::shared::SharedBytes;
use crate::{Error, GlobalsCtx, table};
use wasmtime::{Caller, Extern, Linker};
use wasmtime_global_abi::{DECLARE_IMPORT, IMPORT_MODULE, MEMORY_EXPORT, Status, TABLE_EXPORT};

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
        move |mut caller: Caller<'_, T>, index: i32| -> wasmtime::Result<i32> {
            get(caller.data_mut()).count_declare_call();
            Ok(declare(&mut caller, get, index as u32)?.code())
        },
    )?;
    Ok(())
}

/// `declare(slot_index)`: validates the slot and writes its current value. A malformed table is
/// an [`Error`], which traps the guest.
fn declare<T: 'static>(
    caller: &mut Caller<'_, T>,
    get: impl Fn(&mut T) -> &mut GlobalsCtx,
    index: u32,
) -> wasmtime::Result<Status> {
    match caller.get_export(MEMORY_EXPORT) {
        Some(Extern::Memory(memory)) => {
            let instance = find(caller, &get, memory.data_ptr(&*caller));
            let table_addr = table_addr(caller, &get, instance)?;
            let (data, state) = memory.data_and_store_mut(&mut *caller);
            let header = table::read_header(&*data, table_addr)?;
            let slot = table::read_slot(&*data, table_addr, &header, index)?;
            Ok(get(state).declare(instance, memory, table_addr, slot, data)?)
        }
        Some(Extern::SharedMemory(memory)) => {
            let instance = find(caller, &get, memory.data().as_ptr() as *mut u8);
            let table_addr = table_addr(caller, &get, instance)?;
            let view = SharedBytes::new(&memory);
            let header = table::read_header(&view, table_addr)?;
            let slot = table::read_slot(&view, table_addr, &header, index)?;
            let ctx = get(caller.data_mut());
            Ok(ctx.declare_shared(instance, &memory, table_addr, slot)?)
        }
        _ => Err(Error::NoMemory.into()),
    }
}

/// The table address of `instance`, or, for an instance not seen before, the one its
/// `wasmtime_global_table` export returns.
fn table_addr<T: 'static>(
    caller: &mut Caller<'_, T>,
    get: &impl Fn(&mut T) -> &mut GlobalsCtx,
    instance: Option<usize>,
) -> wasmtime::Result<u32> {
    match instance.and_then(|i| get(caller.data_mut()).table_addr(i)) {
        Some(addr) => Ok(addr),
        None => table_address(caller),
    }
}

/// The recorded instance whose memory has, now, the base address `base`.
///
/// Two live memories of non-zero size never share a base address, and every recorded memory holds
/// a validated table so it is not empty: comparing base addresses taken at the same moment
/// identifies a memory even after it grew and moved.
fn find<T: 'static>(
    caller: &mut Caller<'_, T>,
    get: &impl Fn(&mut T) -> &mut GlobalsCtx,
    base: *mut u8,
) -> Option<usize> {
    let mut i = 0;
    while let Some(memory) = get(caller.data_mut()).instance_memory(i) {
        let this = match memory {
            GuestMemory::Plain(m) => m.data_ptr(&*caller),
            GuestMemory::Shared(m, _) => m.data().as_ptr() as *mut u8,
        };
        if this == base {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Calls the guest's `wasmtime_global_table` export.
fn table_address<T: 'static>(caller: &mut Caller<'_, T>) -> wasmtime::Result<u32> {
    let Some(Extern::Func(func)) = caller.get_export(TABLE_EXPORT) else {
        return Err(Error::NoTableExport.into());
    };
    let func = func
        .typed::<(), i32>(&*caller)
        .map_err(|_| Error::TableExportType)?;
    Ok(func.call(&mut *caller, ())? as u32)
}
