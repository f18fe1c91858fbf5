//! Declare, set, del, batch, sync, grow, guest writes and drops against a guest whose table
//! comes from the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wasmtime_global_fuzzing::{OpsInput, ops};

fuzz_target!(|input: OpsInput| {
    ops(&input);
});
