//! The read benchmark's guest: the same loop over five ways to read a 64-bit value that the host
//! can change. Each export reads `n` times and returns the wrapping sum, so nothing is folded away.
#![no_std]

use core::ptr;
use wasmtime_global_guest::U64;

/// 1. The floor: a static at a constant address, read with a volatile load like the SDK's.
static mut PLAIN: u64 = 42;

/// 2. This project's SDK.
static LIMIT: U64 = U64::new("LIMIT", 42);

// 2b. The same global in a table made at compile time.
wasmtime_global_guest::table! {
    static TABLE;
    static FIXED_LIMIT: u64 = ("LIMIT", 42);
}

#[link(wasm_import_module = "bench")]
unsafe extern "C" {
    /// 4. The fastest host-call design: the value of global `index`.
    fn get_by_index(index: i32) -> i64;
    /// 5. wazero-global's design: the host reads the name (and the default) from these
    ///    addresses, looks the name up in a map and writes the value at `value`.
    fn global_get(name: i32, name_len: i32, value: i32);
}

const NAME: &[u8] = b"LIMIT";
/// wazero-global's guest copies the name and its default into static buffers before each call.
static mut NAME_BUF: [u8; 64] = [0; 64];
static mut VALUE_BUF: u64 = 0;

#[unsafe(no_mangle)]
pub extern "C" fn plain(n: i32) -> i64 {
    let mut sum = 0u64;
    for _ in 0..n {
        // SAFETY: a single-threaded module reads its own static.
        sum = sum.wrapping_add(unsafe { ptr::read_volatile(&raw const PLAIN) });
    }
    sum as i64
}

#[unsafe(no_mangle)]
pub extern "C" fn sdk(n: i32) -> i64 {
    let mut sum = 0u64;
    for _ in 0..n {
        sum = sum.wrapping_add(LIMIT.get());
    }
    sum as i64
}

#[unsafe(no_mangle)]
pub extern "C" fn sdk_table(n: i32) -> i64 {
    let mut sum = 0u64;
    for _ in 0..n {
        sum = sum.wrapping_add(FIXED_LIMIT.get());
    }
    sum as i64
}

#[unsafe(no_mangle)]
pub extern "C" fn host_call(n: i32) -> i64 {
    let mut sum = 0u64;
    for _ in 0..n {
        // SAFETY: the import takes and returns integers.
        sum = sum.wrapping_add(unsafe { get_by_index(0) } as u64);
    }
    sum as i64
}

#[unsafe(no_mangle)]
pub extern "C" fn wazero_style(n: i32) -> i64 {
    let mut sum = 0u64;
    for _ in 0..n {
        // SAFETY: single-threaded; the buffers are this module's statics, which the host writes
        // only during the call.
        unsafe {
            let buf = &raw mut NAME_BUF;
            ptr::copy_nonoverlapping(NAME.as_ptr(), buf.cast::<u8>(), NAME.len());
            ptr::write_volatile(&raw mut VALUE_BUF, 42);
            global_get(buf as i32, NAME.len() as i32, (&raw mut VALUE_BUF) as i32);
            sum = sum.wrapping_add(ptr::read_volatile(&raw const VALUE_BUF));
        }
    }
    sum as i64
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}
