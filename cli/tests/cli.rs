//! The `wasmtime-global` command: exit codes and output.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;
use wasmtime_global_conformance::REFERENCE_WAT;

/// The reference guest of the conformance profile, as a file.
fn reference() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("reference.wat");
        std::fs::write(&path, REFERENCE_WAT).unwrap();
        path.to_str().unwrap().to_owned()
    })
}

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wasmtime-global"))
        .args(args)
        .output()
        .expect("the command runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// The reference guest with `from` replaced by `to`, written to a file named `name`.
fn variant(name: &str, from: &str, to: &str) -> PathBuf {
    let wat = REFERENCE_WAT.to_owned();
    assert_eq!(wat.matches(from).count(), 1, "{from:?}");
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, wat.replace(from, to)).unwrap();
    path
}

/// The reference guest as a WASI command: `_start` declares the globals, then exits with
/// `status`.
fn wasi_command(status: i32) -> PathBuf {
    // The reference guest's last import: WASI's comes after it, then `_start`.
    let declare = r#"(func $declare_range (param i32 i32 i32) (result i32)))"#;
    let with_wasi = format!(
        "{declare}\n  (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $exit (param i32)))\n  \
         (func (export \"_start\") (call $init) (call $exit (i32.const {status})))"
    );
    let wat = REFERENCE_WAT.replace(declare, &with_wasi).replace(
        "(func (export \"wgc_init\")",
        "(func $init (export \"wgc_init\")",
    );
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("wasi-exit-{status}.wat"));
    std::fs::write(&path, wat).unwrap();
    path
}

#[test]
fn conformance_of_the_reference_guest_passes_with_exit_code_0() {
    let out = cli(&["conformance", reference()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().filter(|l| l.starts_with("PASS  ")).count(), 14);
    assert!(
        text.contains("SKIP  shared-no-sync       the guest's memory is ordinary\n"),
        "{text}"
    );
    assert!(text.ends_with("14 passed, 0 failed, 1 skipped\n"), "{text}");
}

#[test]
fn a_failing_guest_exits_with_1_and_says_why() {
    let path = variant(
        "wrong-default.wat",
        "(i64.const 42)) ;; 1: conf.u64",
        "(i64.const 41)) ;; 1: conf.u64",
    );
    let out = cli(&["conformance", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("FAIL  defaults"), "{text}");
    assert!(
        text.contains("global 1 (\"conf.u64\", U64) after wgc_init: wgc_get returned 0x0000000000000029, expected 0x000000000000002a"),
        "{text}"
    );
    assert!(text.ends_with("11 passed, 3 failed, 1 skipped\n"), "{text}");
}

#[test]
fn a_missing_file_or_bad_arguments_exit_with_2() {
    let out = cli(&["conformance", "/nonexistent/guest.wasm"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("error: cannot read /nonexistent/guest.wasm: "),
        "{}",
        stderr(&out)
    );
    let out = cli(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with("usage:"), "{}", stderr(&out));
    let out = cli(&["inspect", reference(), "--set", "no-equals-sign"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("error: --set \"no-equals-sign\": expected NAME=BITS"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn checks_lists_every_check() {
    let out = cli(&["checks"]);
    assert_eq!(out.status.code(), Some(0));
    let names: Vec<String> = stdout(&out)
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .collect();
    let expected: Vec<&str> = wasmtime_global_conformance::CHECKS
        .iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, expected);
}

#[test]
fn inspect_lists_names_types_defaults_and_current_values() {
    let out = cli(&[
        "inspect",
        reference(),
        "--call",
        "wgc_init",
        "--set",
        "conf.u64=7",
        "--set",
        "conf.f64=0x8000000000000000",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[1], "memory: ordinary; called: wgc_init", "{text}");
    assert_eq!(lines[2], "10 globals declared", "{text}");
    let row = |name: &str| {
        lines
            .iter()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| panic!("no row for {name} in\n{text}"))
    };
    assert_eq!(row("conf.u64"), "1 conf.u64 U64 42 7");
    assert_eq!(row("conf.bool"), "0 conf.bool BOOL true true");
    assert_eq!(
        row("conf.f64"),
        "3 conf.f64 F64 1.5 (0x3ff8000000000000) -0.0 (0x8000000000000000)"
    );
    assert_eq!(
        row("conf.duration"),
        "4 conf.duration DURATION 60000000000 ns (60s) 60000000000 ns (60s)"
    );
}

#[test]
fn inspect_runs_a_wasi_command_and_accepts_exit_status_0() {
    let path = wasi_command(0);
    let out = cli(&["inspect", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("memory: ordinary; called: _start\n10 globals declared\n"),
        "{text}"
    );
}

#[test]
fn inspect_reports_a_wasi_command_that_exits_with_a_failure() {
    let path = wasi_command(3);
    let out = cli(&["inspect", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: the guest's initialisation (_start) failed: "),
        "{err}"
    );
    assert!(err.contains("Exited with i32 exit status 3"), "{err}");
}

#[test]
fn inspect_of_an_export_of_another_type_says_what_it_is() {
    let out = cli(&["inspect", reference(), "--call", "wgc_get"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "error: the guest's export \"wgc_get\" is a function (i32) -> (i64), not a function of \
         type () -> ()\n"
    );
    let out = cli(&["inspect", reference(), "--call", "memory"]);
    assert_eq!(
        stderr(&out),
        "error: the guest's export \"memory\" is a memory, not a function of type () -> ()\n"
    );
}

#[test]
fn inspect_of_a_guest_with_an_unknown_export_to_call_fails() {
    let out = cli(&["inspect", reference(), "--call", "no_such_export"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "error: the guest has no export \"no_such_export\" to call\n"
    );
}

/// The README's `inspect` output (a `text` block, some lines cut) is what the command prints
/// for the reference guest: each of its lines, in order. Skipped in a package, which has no
/// README.
#[test]
fn the_readme_inspect_output_is_what_inspect_prints() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let Ok(readme) = std::fs::read_to_string(format!("{root}/README.md")) else {
        return eprintln!("skipped: no README (a packaged crate)");
    };
    let block = readme
        .split("```text\n$ wasmtime-global ")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("the README shows inspect's output");
    let mut lines = block.lines();
    let command: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    let out = Command::new(env!("CARGO_BIN_EXE_wasmtime-global"))
        .args(&command)
        .current_dir(root)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let printed = stdout(&out);
    let mut rest = printed.lines();
    for line in lines {
        assert!(
            rest.any(|l| l == line),
            "inspect does not print, in the README's order: {line:?}\n{printed}"
        );
    }
}
