//! Declares globals until the table is full, to test capacity handling.
#![no_std]

use wasmtime_global_guest::{CAPACITY, DeclareError, U64, declared};

static MISMATCH: U64 = U64::new("MISMATCH", 1);

/// Declares run-time globals named "FILL" until one fails; returns how many were declared,
/// or -1 if the failure was not `TableFull` with the SDK's capacity.
#[unsafe(no_mangle)]
pub extern "C" fn fill() -> i32 {
    let mut n = 0;
    loop {
        match U64::new("FILL", 7).declare() {
            Ok(()) => n += 1,
            Err(DeclareError::TableFull { capacity }) if capacity == CAPACITY => return n,
            Err(_) => return -1,
        }
    }
}

/// Reads a run-time global past the capacity: the SDK panics, which traps.
#[unsafe(no_mangle)]
pub extern "C" fn overflow() -> i64 {
    U64::new("ONE_TOO_MANY", 1).get() as i64
}

/// Declares `MISMATCH` twice; the host has it with another type. Returns the slots used by the
/// two tries (1: the refusal is remembered), or -1 if either answer or `error()` is not
/// `TypeMismatch`.
#[unsafe(no_mangle)]
pub extern "C" fn refused_twice() -> i32 {
    let before = declared();
    let first = MISMATCH.declare();
    let second = MISMATCH.declare();
    let mismatch = Err(DeclareError::TypeMismatch);
    if first != mismatch
        || second != mismatch
        || MISMATCH.error() != Some(DeclareError::TypeMismatch)
    {
        return -1;
    }
    (declared() - before) as i32
}

#[unsafe(no_mangle)]
pub extern "C" fn capacity() -> i32 {
    CAPACITY as i32
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}
