//! Whether the etcd server the CLI's etcd tests start runs here (`cfg(etcd_skipped)` if not, so
//! that those tests show as ignored): the probe shared with `tests/build.rs`; and whether the
//! wasm32-wasip2 target is installed, for the test that builds the README's command as a
//! component (`cfg(component_skipped)` if not).

#[path = "tests/support/etcd_probe.rs"]
mod etcd_probe;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=tests/support/etcd_probe.rs");
    etcd_probe::probe();

    // The target's library directory: cargo reruns this script while it is missing, so that
    // `rustup target add wasm32-wasip2` after a build without it is noticed.
    println!("cargo::rustc-check-cfg=cfg(component_skipped)");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = std::process::Command::new(rustc)
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
