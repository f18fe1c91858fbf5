//! The quick-start guest: wazero-global's example, in Rust.
#![no_std]

use wasmtime_global_guest::{Bool, Duration, U64};

static TEST_BOOL: Bool = Bool::new("TEST_BOOL", true);
static TEST_UINT64: U64 = U64::new("TEST_UINT64", 42);
static TEST_DURATION: Duration =
    Duration::new("TEST_DURATION", core::time::Duration::from_secs(60));

#[unsafe(no_mangle)]
pub extern "C" fn test_bool() -> i32 {
    TEST_BOOL.get() as i32
}

#[unsafe(no_mangle)]
pub extern "C" fn test_uint64() -> i64 {
    TEST_UINT64.get() as i64
}

#[unsafe(no_mangle)]
pub extern "C" fn test_duration_ms() -> i64 {
    TEST_DURATION.get().as_millis() as i64
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}
