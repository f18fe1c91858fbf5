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
    assert_eq!(text.lines().filter(|l| l.starts_with("PASS  ")).count(), 16);
    assert!(
        text.contains("SKIP  shared-no-sync       the guest's memory is ordinary\n"),
        "{text}"
    );
    assert!(text.ends_with("16 passed, 0 failed, 1 skipped\n"), "{text}");
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
        text.contains(
            "step 4 (read global 1 (\"conf.u64\"), after call wgc_init): wgc_get(1) returned \
             0x0000000000000029, expected 0x000000000000002a"
        ),
        "{text}"
    );
    assert!(text.ends_with("13 passed, 3 failed, 1 skipped\n"), "{text}");
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
    // No subcommand: the help, on stderr.
    let out = cli(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("Usage: wasmtime-global <COMMAND>"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&out), "");
    let out = cli(&["inspect", reference(), "--set", "no-equals-sign"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with(
            "error: invalid value 'no-equals-sign' for '--set <NAME=BITS>': expected NAME=BITS\n"
        ),
        "{}",
        stderr(&out)
    );
}

/// Issue 24, item 9: every usage error exits with 2 and says what is wrong, before anything
/// runs.
#[test]
fn usage_errors_exit_with_2() {
    let cases: [(&[&str], &str); 7] = [
        (&["bogus"], "error: unrecognized subcommand 'bogus'"),
        (
            &["conformance"],
            "error: the following required arguments were not provided:\n  <GUEST.wasm>",
        ),
        (
            &["conformance", "a.wasm", "b.wasm"],
            "error: unexpected argument 'b.wasm' found",
        ),
        (
            &["checks", "extra"],
            "error: unexpected argument 'extra' found",
        ),
        (
            &["inspect", "--call", "wgc_init"],
            "error: the following required arguments were not provided:\n  <GUEST.wasm>",
        ),
        (
            &["inspect", "g.wasm", "--set", "x=0xzz"],
            "error: invalid value 'x=0xzz' for '--set <NAME=BITS>': BITS \"0xzz\": invalid digit \
             found in string (expected decimal, or hexadecimal after 0x)",
        ),
        (
            &["inspect", "g.wasm", "--frobnicate"],
            "error: unexpected argument '--frobnicate' found",
        ),
    ];
    for (args, error) in cases {
        let out = cli(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(
            stderr(&out).starts_with(error),
            "{args:?}: {}",
            stderr(&out)
        );
        assert_eq!(stdout(&out), "", "{args:?}");
    }
}

/// Issue 24, item 9: `--version` (and `-V`) prints the version and the ABI's, and exits 0.
#[test]
fn version_prints_the_command_and_abi_versions() {
    for flag in ["--version", "-V"] {
        let out = cli(&[flag]);
        assert_eq!(out.status.code(), Some(0), "{flag}: {out:?}");
        assert_eq!(
            stdout(&out),
            "wasmtime-global 0.1.0 (globals ABI 3)\n",
            "{flag}"
        );
        assert_eq!(
            stdout(&out),
            format!(
                "wasmtime-global {} (globals ABI {})\n",
                env!("CARGO_PKG_VERSION"),
                wasmtime_global_abi::VERSION
            )
        );
        assert_eq!(stderr(&out), "", "{flag}");
    }
}

/// Each subcommand, and what its help must mention: its options and what its long help says.
const SUBCOMMANDS: [(&str, &[&str]); 4] = [
    (
        "run",
        &[
            "Usage: wasmtime-global run [OPTIONS] <GUEST.wasm> [ARGS]...",
            "--globals <FILE>",
            "--etcd <ENDPOINTS>",
            "--prefix <PREFIX>",
            "--invoke <EXPORT>",
            "--dir <HOST[::GUEST[::readonly]]>",
            "--env <NAME=VALUE>",
            "--log <FILTER>",
        ],
    ),
    (
        "conformance",
        &[
            "Usage: wasmtime-global conformance <GUEST.wasm>",
            "Exit status: 0 if every check passed",
        ],
    ),
    (
        "inspect",
        &[
            "Usage: wasmtime-global inspect [OPTIONS] <GUEST.wasm>",
            "--call <EXPORT>",
            "--set <NAME=BITS>",
        ],
    ),
    (
        "checks",
        &[
            "Usage: wasmtime-global checks",
            "List the conformance checks",
        ],
    ),
];

/// Issue 24, item 9: `--help`, `help SUBCOMMAND`, `SUBCOMMAND --help` and `SUBCOMMAND -h` print
/// help on stdout and exit 0; the top level's lists every subcommand.
#[test]
fn help_for_the_command_and_every_subcommand() {
    for args in [&["--help"][..], &["-h"], &["help"]] {
        let out = cli(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
        let text = stdout(&out);
        assert!(
            text.contains("Usage: wasmtime-global <COMMAND>"),
            "{args:?}: {text}"
        );
        for (sub, _) in SUBCOMMANDS {
            assert!(
                text.contains(&format!("\n  {sub} ")),
                "{args:?}: no {sub}: {text}"
            );
        }
        assert!(text.contains("-V, --version"), "{args:?}: {text}");
        assert_eq!(stderr(&out), "", "{args:?}");
    }
    for (sub, mentions) in SUBCOMMANDS {
        let long = cli(&["help", sub]);
        for args in [&["help", sub][..], &[sub, "--help"], &[sub, "-h"]] {
            let out = cli(args);
            assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
            let text = stdout(&out);
            for mention in mentions {
                assert!(
                    text.contains(mention),
                    "{args:?}: no {mention:?} in\n{text}"
                );
            }
            assert_eq!(stderr(&out), "", "{args:?}");
            if args[1] == "--help" {
                assert_eq!(text, stdout(&long), "`help {sub}` is `{sub} --help`");
            }
        }
    }
}

/// The long help of `run` keeps what the hand-written usage said: the sources, the guest's
/// arguments, the rule of the globals file and `--dir`, logging, and the exit codes.
#[test]
fn run_help_says_the_rules_and_the_exit_codes() {
    let out = cli(&["run", "--help"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = stdout(&out);
    // The text as words, whatever its lines and their indentation.
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for said in [
        "a name in the file wins; one it drops falls back to etcd's",
        "a reactor runs _initialize, then --invoke EXPORT",
        "told from a module by its header",
        "A guest refused a declaration traps",
        "renaming a complete new version over it",
        "[\"$types\"]",
        "a duration needs a unit (\"30s\")",
        "read-only with ::readonly",
        "run refuses to start if the globals file is reached through a directory inside a \
         read-write --dir",
        "the guest could put a link to another host file",
        "Grant that directory ::readonly, or keep the globals file out of it",
        "else RUST_LOG, else warn,wasmtime_global_sources=info",
        "--log off says nothing",
        "Exit status: the guest's exit code (0 when it returns",
        "1 if it traps, 2 if it cannot start (a usage error included)",
    ] {
        assert!(words.contains(said), "no {said:?} in\n{text}");
    }
    // The short help keeps the exit codes, and points to the long one.
    let out = cli(&["run", "-h"]);
    let short = stdout(&out);
    assert!(
        short.contains(
            "Exit status: the guest's (0 when it returns), 1 if it traps, 2 if it cannot start."
        ),
        "{short}"
    );
    assert!(short.len() < text.len() / 2, "{short}");
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
/// for the reference guest: each of its lines, in order. Ignored in a package, which has no
/// README.
#[test]
#[cfg_attr(no_readme, ignore = "no README here: a packaged crate")]
fn the_readme_inspect_output_is_what_inspect_prints() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).expect("the README");
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
