//! Table and slot validation over arbitrary memory and an arbitrary table address.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wasmtime_global_fuzzing::{TableInput, table};

fuzz_target!(|input: TableInput| table(&input));
