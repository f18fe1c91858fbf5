//! The raw ABI: the one import and the one export (`spec/ABI.md`, "Imports" and "Exports").

#[cfg(target_arch = "wasm32")]
mod imports {
    // The module and field names are `wasmtime_global_abi::{IMPORT_MODULE, DECLARE_IMPORT}`;
    // attributes need literals, and the host's tests fail to link a guest if they ever differ.
    #[link(wasm_import_module = "wasmtime_global_v1")]
    unsafe extern "C" {
        #[link_name = "declare"]
        pub(super) fn declare(slot_index: i32) -> i32;
    }
}

/// Declares slot `index`, whose fields the caller has written; returns the host's status code.
pub(crate) fn declare(index: u32) -> i32 {
    #[cfg(target_arch = "wasm32")]
    {
        // SAFETY: the import takes and returns plain integers; the host reads only our table
        // and writes only the value field of slot `index`, which we hold no reference to.
        unsafe { imports::declare(index as i32) }
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = index;
        wasmtime_global_abi::Status::Ok.code()
    }
}

/// `wasmtime_global_table() -> i32`: the address of the table.
#[cfg(target_arch = "wasm32")]
#[unsafe(export_name = "wasmtime_global_table")]
pub extern "C" fn wasmtime_global_table() -> i32 {
    crate::table::address() as i32
}
