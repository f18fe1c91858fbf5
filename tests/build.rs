//! The tests' build: the README's Rust blocks written out for `all/readme.rs` to compile; and
//! what this machine could not provide, as `cfg(<kind>_skipped)`, so that a test that needs it
//! is marked `#[cfg_attr(<kind>_skipped, ignore = "...")]` and cargo's own summary counts it as
//! ignored, with its reason, rather than as passed: the guests `wasmtime-global-test-artifacts`
//! could not build (its build script's metadata), and etcd (the test-support crate's probe).

use std::path::{Path, PathBuf};
use std::{env, fs};

#[path = "src/readme.rs"]
mod readme;

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest.parent().expect("tests/ has a parent");
    for kind in ["go", "c", "atomics", "component"] {
        println!("cargo::rustc-check-cfg=cfg({kind}_skipped)");
        let var = format!(
            "DEP_WASMTIME_GLOBAL_TEST_ARTIFACTS_SKIPPED_{}",
            kind.to_uppercase()
        );
        if env::var_os(var).is_some() {
            println!("cargo:rustc-cfg={kind}_skipped");
        }
    }
    wasmtime_global_test_support::etcd_probe::probe();
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets it"));
    readme_blocks(root, &out.join("readme"));
}

/// Writes each Rust block of the README that embeds the host to `readme/rust_<i>.rs`, as one
/// block expression, for `tests/all/readme.rs` to `include!` where the variables it uses are
/// defined.
fn readme_blocks(root: &Path, out: &Path) {
    let path = root.join("README.md");
    println!("cargo:rerun-if-changed={}", path.display());
    let text = fs::read_to_string(&path).expect("the README is readable");
    fs::create_dir_all(out).expect("OUT_DIR is writable");
    for (i, block) in readme::host_blocks(&text).iter().enumerate() {
        let code = format!("// README.md, line {}\n{{\n{}}}\n", block.line, block.code);
        fs::write(out.join(format!("rust_{i}.rs")), code).expect("OUT_DIR is writable");
    }
}
