//! Reads the table capacity from `WASMTIME_GLOBAL_CAPACITY` (default 64).

use std::{env, fs, path::PathBuf};

const DEFAULT: u32 = 64;
const MAX: u32 = 65_536;

fn main() {
    println!("cargo:rerun-if-env-changed=WASMTIME_GLOBAL_CAPACITY");
    let capacity = match env::var("WASMTIME_GLOBAL_CAPACITY") {
        Err(_) => DEFAULT,
        Ok(s) => match s.trim().parse::<u32>() {
            Ok(n) if (1..=MAX).contains(&n) => n,
            _ => {
                panic!("WASMTIME_GLOBAL_CAPACITY must be a whole number from 1 to {MAX}, not {s:?}")
            }
        },
    };
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("capacity.rs"), format!("{capacity}\n")).expect("OUT_DIR is writable");
}
