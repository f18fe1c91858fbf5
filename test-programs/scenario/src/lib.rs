//! The test profile, through the Rust SDK: `init()` declares five globals, `get(i)` reads global
//! `i` as 64 bits, `sum(i, n)` reads it `n` times, `spin(i, old)` reads it until it
//! changes. `tests/all/wat/scenario.wat` is the same guest
//! written from the spec alone.
#![no_std]

use wasmtime_global_guest::{Bool, Duration, F64, I64, U64};

static TEST_BOOL: Bool = Bool::new("TEST_BOOL", true);
static TEST_UINT64: U64 = U64::new("TEST_UINT64", 42);
static TEST_DURATION: Duration =
    Duration::new("TEST_DURATION", core::time::Duration::from_secs(60));
static TEST_INT64: I64 = I64::new("TEST_INT64", -7);
static TEST_FLOAT64: F64 = F64::new("TEST_FLOAT64", 1.5);

/// Declares the five globals in order; traps at the first that fails.
#[unsafe(no_mangle)]
pub extern "C" fn init() {
    let declared = TEST_BOOL
        .declare()
        .and_then(|()| TEST_UINT64.declare())
        .and_then(|()| TEST_DURATION.declare())
        .and_then(|()| TEST_INT64.declare())
        .and_then(|()| TEST_FLOAT64.declare());
    if declared.is_err() {
        core::arch::wasm32::unreachable();
    }
}

#[inline(always)]
fn read(i: i32) -> u64 {
    match i {
        0 => TEST_BOOL.get() as u64,
        1 => TEST_UINT64.get(),
        2 => TEST_DURATION.nanos() as u64,
        3 => TEST_INT64.get() as u64,
        4 => TEST_FLOAT64.get().to_bits(),
        _ => core::arch::wasm32::unreachable(),
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn get(i: i32) -> i64 {
    read(i) as i64
}

#[unsafe(no_mangle)]
pub extern "C" fn sum(i: i32, n: i32) -> i64 {
    let mut total = 0u64;
    for _ in 0..n {
        total = total.wrapping_add(read(i));
    }
    total as i64
}

/// Slot `i`'s change counter.
#[unsafe(no_mangle)]
pub extern "C" fn changes(i: i32) -> i64 {
    (match i {
        0 => TEST_BOOL.changes(),
        1 => TEST_UINT64.changes(),
        2 => TEST_DURATION.changes(),
        3 => TEST_INT64.changes(),
        4 => TEST_FLOAT64.changes(),
        _ => core::arch::wasm32::unreachable(),
    }) as i64
}

/// `n` consistent snapshots of globals `i` and `j`; counts those where they differ.
#[unsafe(no_mangle)]
pub extern "C" fn consistent(i: i32, j: i32, n: i32) -> i32 {
    let mut bad = 0;
    for _ in 0..n {
        let (a, b) = wasmtime_global_guest::consistent(|| (read(i), read(j)));
        bad += (a != b) as i32;
    }
    bad
}

/// Reads global `i` until it is not `old`; returns the new value. No host call.
#[unsafe(no_mangle)]
pub extern "C" fn spin(i: i32, old: i64) -> i64 {
    loop {
        let v = read(i) as i64;
        if v != old {
            return v;
        }
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}
