//! Reads the table capacity from `WASMTIME_GLOBAL_CAPACITY` (default 64), and tells the crate
//! whether it is built for a component (`cfg(component)`: wasm32-wasip2).

use std::{env, fs, path::PathBuf};

const DEFAULT: u32 = 64;
const MAX: u32 = 65_536;

fn main() {
    // A component (wasm32-wasip2) cannot share its memory with the host: `component` selects the
    // SDK's reads through the project's WIT interface (`src/component.rs`).
    println!("cargo::rustc-check-cfg=cfg(component)");
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "wasi" && target_env == "p2" {
        println!("cargo:rustc-cfg=component");
    }
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
