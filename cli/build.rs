//! For the CLI's tests alone: whether an etcd server runs here (`cfg(etcd_skipped)` if not, so
//! that the etcd tests in `tests/etcd.rs` show as ignored, with the reason), and whether the
//! wasm32-wasip2 target is installed, for the test that builds the README's command as a
//! component (`cfg(component_skipped)` if not), and whether the workspace's README is there
//! (`cfg(no_readme)`, in a packaged crate). The workspace's tests ask the test-support
//! crate's probe; a published crate's build script cannot depend on that unpublished crate, so
//! this asks the same question itself: does `WASMTIME_GLOBAL_ETCD` (else `etcd`) run?

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    etcd();

    // The README, which two tests check the CLI against: a packaged crate has none, and there
    // they show as ignored (`cfg(no_readme)`).
    println!("cargo::rustc-check-cfg=cfg(no_readme)");
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default();
    let readme = std::path::Path::new(&manifest).join("../README.md");
    println!("cargo:rerun-if-changed={}", readme.display());
    if !readme.is_file() {
        println!("cargo:rustc-cfg=no_readme");
    }

    // The target's library directory: cargo reruns this script while it is missing, so that
    // `rustup target add wasm32-wasip2` after a build without it is noticed.
    println!("cargo::rustc-check-cfg=cfg(component_skipped)");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_default();
    let lib = std::path::Path::new(&sysroot).join("lib/rustlib/wasm32-wasip2/lib");
    println!("cargo:rerun-if-changed={}", lib.display());
    if !lib.is_dir() {
        println!("cargo:rustc-cfg=component_skipped");
    }
}

/// `cfg(etcd_skipped)` where etcd does not run; with `WASMTIME_GLOBAL_REQUIRE_ETCD` set (as
/// `.ci/run` does), a failed build instead.
fn etcd() {
    println!("cargo::rustc-check-cfg=cfg(etcd_skipped)");
    for var in [
        "WASMTIME_GLOBAL_ETCD",
        "WASMTIME_GLOBAL_REQUIRE_ETCD",
        "PATH",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let etcd = std::env::var("WASMTIME_GLOBAL_ETCD").unwrap_or_else(|_| "etcd".into());
    if let Err(e) = Command::new(&etcd).arg("--version").output() {
        let why = format!("no etcd server ({etcd}: {e}); the README's test command installs one");
        assert!(
            std::env::var_os("WASMTIME_GLOBAL_REQUIRE_ETCD").is_none(),
            "WASMTIME_GLOBAL_REQUIRE_ETCD is set: {why}"
        );
        println!("cargo:warning=the CLI's etcd tests will be ignored: {why}");
        println!("cargo:rustc-cfg=etcd_skipped");
    }
}
