//! The conformance profile (`spec/CONFORMANCE.md`) through the Rust SDK: the runner
//! (`wasmtime-global conformance`) drives these exports.
#![no_std]

use core::sync::atomic::{AtomicU32, Ordering};
use wasmtime_global_guest::{Bool, CAPACITY, DeclareError, Duration, F64, I64, U64};

/// 255 bytes: the longest name.
const LONG: &str = match core::str::from_utf8(&[b'N'; 255]) {
    Ok(name) => name,
    Err(_) => panic!("ASCII is UTF-8"),
};

static BOOL: Bool = Bool::new("conf.bool", true);
static U: U64 = U64::new("conf.u64", 42);
static I: I64 = I64::new("conf.i64", -42);
static F: F64 = F64::new("conf.f64", 1.5);
static DURATION: Duration = Duration::new("conf.duration", core::time::Duration::from_secs(60));
static COLLIDE_A: U64 = U64::new("5j3rldmyid5yi", 5);
static COLLIDE_B: U64 = U64::new("pkj7qegsilwso", 6);
static LONG_NAME: U64 = U64::new(LONG, 255);
static UNSET: U64 = U64::new("conf.unset", 8);
static EARLY: U64 = U64::new("conf.early", 9);

/// The profile's last five globals, in order, as `wgc_get` numbers them.
static FIXED: [&U64; 5] = [&COLLIDE_A, &COLLIDE_B, &LONG_NAME, &UNSET, &EARLY];

/// One object per slot that `wgc_fill` may declare.
static FILL: [U64; CAPACITY as usize] = [const { U64::new("conf.fill", 7) }; CAPACITY as usize];
static FILLED: AtomicU32 = AtomicU32::new(0);

#[unsafe(no_mangle)]
pub extern "C" fn wgc_init() {
    // The ten in one host call (ABI §7.5), in the profile's order.
    let declared = wasmtime_global_guest::declare_all!(
        BOOL, U, I, F, DURATION, COLLIDE_A, COLLIDE_B, LONG_NAME, UNSET, EARLY
    );
    if declared.is_err() {
        core::arch::wasm32::unreachable();
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn wgc_get(i: i32) -> i64 {
    let bits = match i {
        0 => u64::from(BOOL.get()),
        1 => U.get(),
        2 => I.get() as u64,
        3 => F.get().to_bits(),
        4 => DURATION.nanos() as u64,
        5..=9 => FIXED[i as usize - 5].get(),
        _ => FILL.get(i as usize - 10).map_or(0, U64::get),
    };
    bits as i64
}

#[unsafe(no_mangle)]
pub extern "C" fn wgc_capacity() -> i32 {
    CAPACITY as i32
}

#[unsafe(no_mangle)]
pub extern "C" fn wgc_fill() -> i32 {
    let mut n = 0;
    for global in &FILL[FILLED.load(Ordering::Relaxed) as usize..] {
        match global.declare() {
            Ok(()) => n += 1,
            Err(DeclareError::TableFull { .. }) => break,
            Err(_) => core::arch::wasm32::unreachable(),
        }
    }
    FILLED.fetch_add(n, Ordering::Relaxed);
    n as i32
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}
