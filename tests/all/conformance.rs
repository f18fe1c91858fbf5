//! Every guest built from the spec passes the conformance suite: the Rust SDK's, the C SDK's and
//! the WAT reference, each with an ordinary and with a shared memory, and the Go SDK's (ordinary
//! memory: standard Go has no threads on wasip1).

use wasmtime_global_conformance::{CHECKS, Guest, Outcome, Report, run};
use wasmtime_global_test_artifacts::guests;

const REFERENCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../spec/reference/conformance.wat"
);

/// Runs the suite and expects every check to pass, but `shared-no-sync`, which passes for a
/// shared memory and is skipped for an ordinary one; and the guest to speak ABI version 3.
fn passes(guest: &Guest, shared: bool) -> Report {
    passes_as(guest, shared, 3)
}

/// [`passes`], for a guest that speaks ABI version `version`.
fn passes_as(guest: &Guest, shared: bool, version: u32) -> Report {
    let report = run(guest);
    assert_eq!(report.shared_memory, shared, "{report}");
    assert_eq!(report.abi_version, Some(version), "{report}");
    assert!(
        report
            .to_string()
            .starts_with(&format!("guest: ABI version {version}, ")),
        "{report}"
    );
    assert_eq!(report.outcomes.len(), CHECKS.len());
    for (check, outcome) in &report.outcomes {
        let expected = if check.name == "shared-no-sync" && !shared {
            Outcome::Skip("the guest's memory is ordinary".to_owned())
        } else {
            Outcome::Pass
        };
        assert_eq!(*outcome, expected, "{}\n{report}", check.name);
    }
    assert!(report.passed());
    report
}

/// The reference guest with a shared memory: its reads become atomic loads (spec §10.1).
pub fn shared_reference() -> String {
    let wat = std::fs::read_to_string(REFERENCE).expect("the reference guest exists");
    let shared = wat
        .replace(
            r#"(memory (export "memory") 1)"#,
            r#"(memory (export "memory") 1 1024 shared)"#,
        )
        .replace("(i64.load offset=32", "(i64.atomic.load offset=32");
    assert_ne!(shared, wat);
    shared
}

#[test]
fn the_wat_reference_guest_passes() {
    passes(&Guest::from_file(REFERENCE).unwrap(), false);
}

/// ABI version 3 keeps version 2 guests working: the reference guest as it was before version 3
/// (one `declare` a slot, header version 2) passes, and the runner says it speaks version 2.
#[test]
fn the_version_2_reference_guest_passes() {
    let v2 = include_str!("wat/conformance_v2.wat");
    passes_as(&Guest::new(v2.as_bytes()).unwrap(), false, 2);
}

#[test]
fn the_wat_reference_guest_with_a_shared_memory_passes() {
    passes(&Guest::new(shared_reference().as_bytes()).unwrap(), true);
}

#[test]
fn the_rust_sdk_guest_passes() {
    passes(&Guest::from_file(guests::CONFORMANCE).unwrap(), false);
}

#[test]
#[cfg_attr(
    atomics_skipped,
    ignore = "the atomics guests need nightly with rust-src (rustup component add rust-src --toolchain nightly)"
)]
fn the_rust_sdk_guest_with_atomics_passes() {
    if guests::CONFORMANCE_ATOMICS.is_empty() {
        panic!(
            "not built: {}",
            guests::SCENARIO_ATOMICS_SKIPPED.unwrap_or("the atomics guest was not built")
        );
    }
    passes(
        &Guest::from_file(guests::CONFORMANCE_ATOMICS).unwrap(),
        true,
    );
}

#[test]
#[cfg_attr(
    c_skipped,
    ignore = "no C compiler was found when the tests were built (the README's test command installs zig)"
)]
fn the_c_sdk_guest_passes() {
    if guests::C_CONFORMANCE.is_empty() {
        panic!("not built: {}", guests::C_SKIPPED.unwrap_or("not built"));
    }
    passes(&Guest::from_file(guests::C_CONFORMANCE).unwrap(), false);
}

#[test]
#[cfg_attr(
    c_skipped,
    ignore = "no C compiler was found when the tests were built (the README's test command installs zig)"
)]
fn the_c_sdk_guest_with_a_shared_memory_passes() {
    if guests::C_CONFORMANCE_SHARED.is_empty() {
        panic!("not built: {}", guests::C_SKIPPED.unwrap_or("not built"));
    }
    passes(
        &Guest::from_file(guests::C_CONFORMANCE_SHARED).unwrap(),
        true,
    );
}

#[test]
#[cfg_attr(
    go_skipped,
    ignore = "Go was not found when the tests were built; the README test command installs it in .venv-tools"
)]
fn the_go_sdk_guest_passes() {
    if guests::GO_CONFORMANCE.is_empty() {
        panic!("not built: {}", guests::GO_SKIPPED.unwrap_or("not built"));
    }
    let report = passes(&Guest::from_file(guests::GO_CONFORMANCE).unwrap(), false);
    assert!(report.wasi, "a Go reactor imports WASI preview 1");
}

/// The README's C example compiles with the flags the README gives (with the compiler the build
/// found: clang, or `zig cc` where the README's test command installed it), and declares what it
/// says.
#[test]
#[cfg_attr(
    c_skipped,
    ignore = "no C compiler was found when the tests were built (the README's test command installs zig)"
)]
fn the_readme_c_example_builds_and_declares_its_three_globals() {
    let readme = include_str!("../../README.md");
    let source = readme
        .split("```c\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the README has a C example");
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let (c, wasm) = (dir.join("readme.c"), dir.join("readme.wasm"));
    std::fs::write(&c, source).unwrap();
    let sdk = concat!(env!("CARGO_MANIFEST_DIR"), "/../guest/c");
    let status = std::process::Command::new(guests::C_CC)
        .args(guests::C_CC_LEADING.split(' '))
        .args(["-O2", "-ffreestanding", "-nostdlib"])
        .args([
            "-Wall",
            "-Wextra",
            "-Werror",
            "-Wl,--no-entry",
            "-I",
            sdk,
            "-o",
        ])
        .arg(&wasm)
        .arg(&c)
        .status();
    match status {
        Ok(s) => assert!(
            s.success(),
            "the C compiler failed on the README's C example"
        ),
        // Where the build found no C compiler this test is ignored (`cfg(c_skipped)`).
        Err(e) => panic!("cannot run the C compiler: {e}"),
    }
    let globals = wasmtime_global::Globals::new();
    globals.set("TEST_UINT64", 7).unwrap();
    let guest = Guest::from_file(&wasm).unwrap();
    let found = wasmtime_global_conformance::inspect(&guest, &globals, &["test"]).unwrap();
    let rows: Vec<(String, String)> = found
        .globals
        .iter()
        .map(|(d, v)| (d.name.clone(), format!("{v:?}")))
        .collect();
    assert_eq!(
        rows,
        [
            ("TEST_BOOL".to_owned(), "Bool(true)".to_owned()),
            ("TEST_UINT64".to_owned(), "U64(7)".to_owned()),
            (
                "TEST_DURATION".to_owned(),
                "Duration(60000000000)".to_owned()
            ),
        ]
    );
}
