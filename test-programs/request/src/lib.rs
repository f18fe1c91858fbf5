//! An instance-per-request guest for the `request` benchmark: `handle(n)` reads the first `n` of
//! its 64 `U64` globals (declaring each at its first read, as the SDK does) and returns their sum.
//! `handle(0)` touches no global: the baseline. `touch(n)` makes `n` pages of its memory dirty.
//! `handle_each(n, k)` reads each of the first `n` globals `k` times; `handle_all(n, k)` too,
//! after declaring them all in one call (`declare_all`); `handle_static(n, k)` too, from a
//! table made at compile time (`table!`); `seed(n, k)` reads the same
//! values `k` times each through wazero-global's design (the name and the default copied into a
//! buffer, one host call that looks the name up and writes the value back), the design a
//! per-request host would otherwise pick.
#![no_std]

use wasmtime_global_guest::U64;

macro_rules! globals {
    ($($name:ident),* $(,)?) => {
        static GLOBALS: [U64; 64] = [$(U64::new(stringify!($name), 1)),*];
        static NAMES: [&str; 64] = [$(stringify!($name)),*];
    };
}

globals!(
    REQ_00, REQ_01, REQ_02, REQ_03, REQ_04, REQ_05, REQ_06, REQ_07, REQ_08, REQ_09, REQ_10, REQ_11,
    REQ_12, REQ_13, REQ_14, REQ_15, REQ_16, REQ_17, REQ_18, REQ_19, REQ_20, REQ_21, REQ_22, REQ_23,
    REQ_24, REQ_25, REQ_26, REQ_27, REQ_28, REQ_29, REQ_30, REQ_31, REQ_32, REQ_33, REQ_34, REQ_35,
    REQ_36, REQ_37, REQ_38, REQ_39, REQ_40, REQ_41, REQ_42, REQ_43, REQ_44, REQ_45, REQ_46, REQ_47,
    REQ_48, REQ_49, REQ_50, REQ_51, REQ_52, REQ_53, REQ_54, REQ_55, REQ_56, REQ_57, REQ_58, REQ_59,
    REQ_60, REQ_61, REQ_62, REQ_63,
);

#[unsafe(no_mangle)]
pub extern "C" fn handle(n: i32) -> i64 {
    let mut total = 0u64;
    for global in GLOBALS.iter().take(n.max(0) as usize) {
        total = total.wrapping_add(global.get());
    }
    total as i64
}

#[unsafe(no_mangle)]
pub extern "C" fn handle_each(n: i32, k: i32) -> i64 {
    let mut total = 0u64;
    for global in GLOBALS.iter().take(n.max(0) as usize) {
        for _ in 0..k {
            total = total.wrapping_add(global.get());
        }
    }
    total as i64
}

/// `handle_each` for a handler that declares its globals first, all in one host call: what a
/// per-request guest should do.
#[unsafe(no_mangle)]
pub extern "C" fn handle_all(n: i32, k: i32) -> i64 {
    let n = n.clamp(0, 16) as usize;
    let all: [wasmtime_global_guest::Declarable<'_>; 16] =
        core::array::from_fn(|i| GLOBALS[i].declarable());
    if wasmtime_global_guest::declare_all(&all[..n]).is_err() {
        core::arch::wasm32::unreachable()
    }
    handle_each(n as i32, k)
}

wasmtime_global_guest::table! {
    static TABLE;
    static S_00: u64 = ("REQ_00", 1);
    static S_01: u64 = ("REQ_01", 1);
    static S_02: u64 = ("REQ_02", 1);
    static S_03: u64 = ("REQ_03", 1);
    static S_04: u64 = ("REQ_04", 1);
    static S_05: u64 = ("REQ_05", 1);
    static S_06: u64 = ("REQ_06", 1);
    static S_07: u64 = ("REQ_07", 1);
    static S_08: u64 = ("REQ_08", 1);
    static S_09: u64 = ("REQ_09", 1);
    static S_10: u64 = ("REQ_10", 1);
    static S_11: u64 = ("REQ_11", 1);
    static S_12: u64 = ("REQ_12", 1);
    static S_13: u64 = ("REQ_13", 1);
    static S_14: u64 = ("REQ_14", 1);
    static S_15: u64 = ("REQ_15", 1);
}

/// Reads each of the table's first `n` globals `k` times, by name, as a handler does: each read
/// is of a constant `static`, so no array of references is read (a page of its own that a fresh
/// instance would fault in), and no dispatch on an index sits in the loop (a `match` on `i`
/// there was compiled to a jump table taken at every read, several times the cost of the C
/// guest's read in `cargo bench -p wasmtime-global-tests --bench request`).
macro_rules! read_by_name {
    ($total:ident, $n:ident, $k:ident; $($i:literal => $global:ident),+ $(,)?) => {
        $(
            if $n > $i {
                for _ in 0..$k {
                    $total = $total.wrapping_add($global.get());
                }
            }
        )+
    };
}

/// `handle_each` for the globals of a table made at compile time (`table!`): the first read
/// declares all 16 with one host call, and only the table's page is written.
#[unsafe(no_mangle)]
pub extern "C" fn handle_static(n: i32, k: i32) -> i64 {
    let mut total = 0u64;
    read_by_name!(total, n, k;
        0 => S_00, 1 => S_01, 2 => S_02, 3 => S_03, 4 => S_04, 5 => S_05, 6 => S_06, 7 => S_07,
        8 => S_08, 9 => S_09, 10 => S_10, 11 => S_11, 12 => S_12, 13 => S_13, 14 => S_14,
        15 => S_15,
    );
    total as i64
}

#[link(wasm_import_module = "bench")]
unsafe extern "C" {
    /// wazero-global's design: the host reads the name at `name`, looks it up, and writes its
    /// value at `value` if it has one (the guest wrote its default there).
    fn global_get(name: i32, name_len: i32, value: i32);
}

/// wazero-global's guest copies the name and its default into static buffers before each call.
static mut NAME_BUF: [u8; 64] = [0; 64];
static mut VALUE_BUF: u64 = 0;

#[unsafe(no_mangle)]
pub extern "C" fn seed(n: i32, k: i32) -> i64 {
    let mut total = 0u64;
    for name in NAMES.iter().take(n.max(0) as usize) {
        for _ in 0..k {
            // SAFETY: single-threaded; the buffers are this module's statics, which the host
            // writes only during the call.
            unsafe {
                let buf = &raw mut NAME_BUF;
                core::ptr::copy_nonoverlapping(name.as_ptr(), buf.cast::<u8>(), name.len());
                core::ptr::write_volatile(&raw mut VALUE_BUF, 1);
                global_get(buf as i32, name.len() as i32, (&raw mut VALUE_BUF) as i32);
                total = total.wrapping_add(core::ptr::read_volatile(&raw const VALUE_BUF));
            }
        }
    }
    total as i64
}

/// Zeroed pages that only `touch` writes.
#[repr(C, align(4096))]
struct Pages([[u8; 4096]; 8]);
static mut PAGES: Pages = Pages([[0; 4096]; 8]);

/// Writes one byte in each of the first `n` (up to 8) pages of a zeroed static: what it costs a
/// fresh instance to make pages of its memory dirty, for comparison with the globals' own cost.
#[unsafe(no_mangle)]
pub extern "C" fn touch(n: i32) -> i64 {
    for page in 0..n.clamp(0, 8) as usize {
        // SAFETY: one thread; `PAGES` is only accessed here, through a raw pointer.
        unsafe { core::ptr::write_volatile(&raw mut PAGES.0[page][0], 1) };
    }
    0
}

/// A static in `.data` (initialised, so in the module's data image), one in `.rodata`, and
/// `PAGES` in `.bss`: the three kinds of page a first read of globals touches (the globals'
/// statics written, their names read by the host, the table written).
static mut DATA: [u64; 512] = [1; 512];
static RODATA: [u8; 4096] = [2; 4096];

/// Touches one page of each kind the SDK's first declaration touches, without declaring: what
/// the pages alone cost a fresh instance.
#[unsafe(no_mangle)]
pub extern "C" fn touch_like_globals() -> i64 {
    // SAFETY: one thread; the statics are only accessed here, through raw pointers.
    unsafe {
        core::ptr::write_volatile(&raw mut DATA[0], 3);
        core::ptr::write_volatile(&raw mut PAGES.0[0][0], 1);
        i64::from(core::ptr::read_volatile(&RODATA[0]))
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}
