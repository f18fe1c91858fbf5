//! Whether the etcd server the CLI's etcd tests start runs here (`cfg(etcd_skipped)` if not, so
//! that those tests show as ignored): the probe shared with `tests/build.rs`.

#[path = "tests/support/etcd_probe.rs"]
mod etcd_probe;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=tests/support/etcd_probe.rs");
    etcd_probe::probe();
}
