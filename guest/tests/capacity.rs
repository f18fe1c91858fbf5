//! Filling the table, natively (no host: every declaration succeeds). One test in a binary of its
//! own, so nothing else shares its table.

use wasmtime_global_guest::{CAPACITY, DeclareError, U64, declared};

#[test]
fn the_table_fills_up_and_says_so() {
    assert_eq!(CAPACITY, 64, "the default capacity");
    for i in 0..CAPACITY {
        assert_eq!(declared(), i);
        assert_eq!(U64::new("X", 1).declare(), Ok(()));
    }
    let full = Err(DeclareError::TableFull { capacity: CAPACITY });
    assert_eq!(U64::new("X", 1).declare(), full);
    assert_eq!(declared(), CAPACITY, "a failed declaration takes no slot");

    let panic = std::panic::catch_unwind(|| U64::new("Y", 1).get()).expect_err("must panic");
    let message = panic.downcast_ref::<String>().expect("a formatted message");
    assert_eq!(
        message,
        "wasmtime-global: cannot declare \"Y\": the table is full (64 slots; raise \
         WASMTIME_GLOBAL_CAPACITY)"
    );
}
