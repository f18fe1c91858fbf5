//! The raw ABI: the imports of version 3 ([the ABI](wasmtime_global_abi::spec) §7).

#[cfg(target_arch = "wasm32")]
mod imports {
    // The module and field names are `wasmtime_global_abi::{IMPORT_MODULE, DECLARE_IMPORT,
    // DECLARE_RANGE_IMPORT}`; attributes need literals, and the host's tests fail to link a guest
    // if they ever differ.
    #[link(wasm_import_module = "wasmtime_global_v3")]
    unsafe extern "C" {
        #[link_name = "declare"]
        pub(super) fn declare(table: i32, slot_index: i32) -> i32;
        #[link_name = "declare_range"]
        pub(super) fn declare_range(table: i32, first: i32, count: i32) -> i32;
    }
}

/// Declares slot `index` of the table at `table`, whose fields the caller has written; returns
/// the host's status code.
pub(crate) fn declare(table: *const u8, index: u32) -> i32 {
    #[cfg(target_arch = "wasm32")]
    {
        // SAFETY: the import takes and returns plain integers; the host reads only our table and
        // the name it points to, and writes only the `value` field of slot `index` (and, later,
        // `changes` and the header's `generation`), which we access only through raw pointers.
        unsafe { imports::declare(table as usize as i32, index as i32) }
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        if test_host::refused(table) == index {
            return wasmtime_global_abi::Status::TypeMismatch.code();
        }
        wasmtime_global_abi::Status::Ok.code()
    }
}

/// Declares slots `first` to `first + count - 1` of the table at `table`, whose fields the caller
/// has written, in that order; returns how many the host declared before the first it did not
/// (whose status a `declare` of it tells).
pub(crate) fn declare_range(table: *const u8, first: u32, count: u32) -> u32 {
    #[cfg(target_arch = "wasm32")]
    {
        // SAFETY: as for `declare`, for each slot of the range. The host returns 0 to `count`.
        let n =
            unsafe { imports::declare_range(table as usize as i32, first as i32, count as i32) };
        (n as u32).min(count)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let refused = test_host::refused(table);
        if refused >= first && refused - first < count {
            return refused - first;
        }
        count
    }
}

/// Off wasm there is no host: every declaration is accepted, except that unit tests may have one
/// slot of one table refused, to exercise the SDK's refusal paths.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) mod test_host {
    use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

    static TABLE: AtomicPtr<u8> = AtomicPtr::new(core::ptr::null_mut());
    static INDEX: AtomicU32 = AtomicU32::new(u32::MAX);

    /// The slot index of `table` that the host refuses with TYPE_MISMATCH (`u32::MAX`: none).
    pub(crate) fn refused(table: *const u8) -> u32 {
        if TABLE.load(Ordering::Acquire).cast_const() == table {
            INDEX.load(Ordering::Acquire)
        } else {
            u32::MAX
        }
    }

    /// Makes the host refuse slot `index` of the table at `table`, for good.
    #[cfg(test)]
    pub(crate) fn refuse(table: *const u8, index: u32) {
        INDEX.store(index, Ordering::Release);
        TABLE.store(table.cast_mut(), Ordering::Release);
    }
}
