//! `wasmtime-global run`: a WASI guest with live globals from a file (the etcd mirror's tests,
//! which start a real etcd, are in `etcd.rs`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

mod common;

use common::{COMPONENT, GUEST, command, file, finish, run, stdout, waiting};

#[test]
fn a_command_reads_the_files_value_and_exits_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(dir.path(), "TEST_UINT64 = 7\n");
    let output = run(&["--globals", path.to_str().unwrap(), GUEST]);
    assert_eq!(output.status.code(), Some(7), "{output:?}");
    let output = run(&[GUEST]);
    assert_eq!(
        output.status.code(),
        Some(42),
        "no globals: the guest's default"
    );
}

#[test]
fn a_running_reactor_sees_the_file_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(dir.path(), "TEST_UINT64 = 7\n");
    let child = waiting(&["--globals", path.to_str().unwrap()]);
    std::thread::sleep(Duration::from_millis(300));
    file(dir.path(), "TEST_UINT64 = 9\n");
    let output = finish(child);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(stdout(&output), "9\n");
}

/// Issue 22, item 9: a version of the file refused while the guest runs is said on stderr (with
/// the reason), as is every version applied; `--log` (or `RUST_LOG`) chooses what is said.
#[test]
fn run_logs_every_version_applied_and_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(dir.path(), "TEST_UINT64 = 7\n");
    let child = waiting(&["--globals", path.to_str().unwrap()]);
    std::thread::sleep(Duration::from_millis(300));
    file(dir.path(), "TEST_UINT64 = [\n");
    // The refusal settles first (a version that does not parse), then the good one comes.
    std::thread::sleep(Duration::from_millis(400));
    file(dir.path(), "TEST_UINT64 = 9\n");
    let output = finish(child);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(stdout(&output), "9\n");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let refused: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains("WARN") && l.contains("was refused"))
        .collect();
    assert_eq!(refused.len(), 1, "{stderr}");
    assert!(refused[0].contains(path.to_str().unwrap()), "{stderr}");
    let applied = lines
        .iter()
        .filter(|l| l.contains("INFO") && l.contains("applied a version of the globals file"))
        .count();
    assert_eq!(applied, 2, "the first version and the last: {stderr}");

    // --log warn: the refusal only (none here), no versions applied.
    let output = run(&["--log", "warn", "--globals", path.to_str().unwrap(), GUEST]);
    assert_eq!(output.status.code(), Some(9), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    // RUST_LOG, as Rust tools read it, when --log is not given.
    let output = command(&["--globals", path.to_str().unwrap(), GUEST])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(9), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[test]
fn bad_usage_and_a_bad_file_stop_before_the_guest() {
    // --etcd and --prefix go together.
    let output = run(&["--etcd", "http://127.0.0.1:1", GUEST]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stdout(&output), "");
    assert!(
        String::from_utf8_lossy(&output.stderr).starts_with(
            "error: the following required arguments were not provided:\n  --prefix <PREFIX>\n"
        ),
        "{output:?}"
    );
    let output = run(&["--prefix", "/app/", GUEST]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).starts_with(
            "error: the following required arguments were not provided:\n  --etcd <ENDPOINTS>\n"
        ),
        "{output:?}"
    );
    // No guest; an option run does not have.
    let output = run(&[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).starts_with(
            "error: the following required arguments were not provided:\n  <GUEST.wasm> [ARGS]...\n"
        ),
        "{output:?}"
    );
    let output = run(&["--frobnicate", GUEST]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .starts_with("error: unexpected argument '--frobnicate' found\n"),
        "{output:?}"
    );
    let output = run(&["--globals", "/nonexistent/globals.toml", GUEST]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cannot read /nonexistent/globals.toml")
    );
    let output = run(&["--invoke", "nothing", GUEST]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn dirs_and_environment_reach_the_guest_as_in_wasmtime_run() {
    let wasi = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/wat/wasi.wat");
    assert_eq!(
        run(&[wasi]).status.code(),
        Some(8),
        "no variable, no directory"
    );
    let dir = tempfile::tempdir().unwrap();
    let host = dir.path().to_str().unwrap();
    let output = run(&[
        "--env",
        "A=1",
        "--env",
        "B=2",
        "--dir",
        &format!("{host}::/data"),
        wasi,
    ]);
    assert_eq!(output.status.code(), Some(20), "{output:?}");
    let output = run(&["--env", "A", wasi]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).starts_with(
            "error: invalid value 'A' for '--env <NAME=VALUE>': expected NAME=VALUE\n"
        ),
        "{output:?}"
    );
}

const ESCAPE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/wat/escape.wat");

/// `data/globals.toml` (TEST_UINT64 = 7), `secret/secret.toml` (TEST_UINT64 = 1234) beside it,
/// and an empty `work/`; every path canonical, as `run`'s messages give them.
struct Layout {
    _root: tempfile::TempDir,
    root: PathBuf,
    data: PathBuf,
    globals: PathBuf,
    work: PathBuf,
}

fn layout() -> Layout {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let data = root.join("data");
    let secret = root.join("secret");
    let work = root.join("work");
    for d in [&data, &secret, &work] {
        std::fs::create_dir(d).unwrap();
    }
    std::fs::write(secret.join("secret.toml"), "TEST_UINT64 = 1234\n").unwrap();
    let globals = data.join("globals.toml");
    std::fs::write(&globals, "TEST_UINT64 = 7\n").unwrap();
    Layout {
        _root: dir,
        root,
        data,
        globals,
        work,
    }
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The names in `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// `run`'s refusal of a globals file reached through `dir`, inside `--dir host::guest`.
fn refusal(globals: &str, dir: &Path, host: &str, guest: &str) -> String {
    format!(
        "error: --globals {globals} is reached through {}, inside --dir {host}, which the guest \
         may write: it could put a link or a file of its own in the globals file's place; grant \
         {host} read-only (--dir {host}::{guest}::readonly) or keep the globals file out of it\n",
        dir.display()
    )
}

/// Runs the hostile guest's `attack` with `dir` given as `--dir`, waiting at most 20 s (before
/// the fix, a guest whose attack worked waited for the secret to arrive).
fn attack(layout: &Layout, dir: &str) -> Output {
    let child = command(&[
        "--globals",
        s(&layout.globals),
        "--dir",
        dir,
        "--invoke",
        "attack",
        ESCAPE,
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    finish(child)
}

#[test]
fn a_guest_cannot_reach_a_host_file_through_the_globals_file() {
    let layout = layout();
    // The attack as found: the file's directory granted read-write. Before the fix the guest
    // printed 0 16 0 0 0 1234: it read the secret's value.
    let data = format!("{}::/data", s(&layout.data));
    let output = attack(&layout, &data);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert_eq!(stdout(&output), "");
    assert_eq!(
        String::from_utf8(output.stderr.clone()).unwrap(),
        refusal(s(&layout.globals), &layout.data, s(&layout.data), "/data")
    );
    assert_eq!(entries(&layout.data), ["globals.toml"]);

    // Read-only: the guest runs and reads the file (16 bytes), and can neither create a file
    // (EPERM, 63), nor make the link (63), nor rename (63); the global keeps the file's value.
    let output = attack(&layout, &format!("{data}::readonly"));
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(stdout(&output), "0\n16\n63\n63\n63\n7\n");
    assert_eq!(entries(&layout.data), ["globals.toml"]);
    let kind = std::fs::symlink_metadata(&layout.globals)
        .unwrap()
        .file_type();
    assert!(kind.is_file(), "{kind:?}");
    assert_eq!(
        std::fs::read_to_string(&layout.globals).unwrap(),
        "TEST_UINT64 = 7\n"
    );
}

#[test]
fn run_refuses_a_globals_file_a_guest_could_replace() {
    let layout = layout();
    let root = s(&layout.root);
    let globals = s(&layout.globals);
    let refused = |args: &[&str], dir: &Path, host: &str, guest: &str, globals: &str| {
        let output = run(&[args, &[GUEST]].concat());
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        assert_eq!(
            String::from_utf8(output.stderr.clone()).unwrap(),
            refusal(globals, dir, host, guest),
            "{args:?}"
        );
    };
    // The file's directory below a read-write grant.
    refused(
        &["--globals", globals, "--dir", &format!("{root}::/r")],
        &layout.data,
        root,
        "/r",
        globals,
    );
    // A grant given as a link to the file's directory, guest path the host's.
    let alias = layout.root.join("alias");
    std::os::unix::fs::symlink("data", &alias).unwrap();
    refused(
        &["--globals", globals, "--dir", s(&alias)],
        &layout.data,
        s(&alias),
        s(&alias),
        globals,
    );
    // --globals names a link kept in a writable directory (work/link.toml -> the file): the
    // guest could replace the link.
    let link = layout.work.join("link.toml");
    std::os::unix::fs::symlink("../data/globals.toml", &link).unwrap();
    let work = format!("{}::/work", s(&layout.work));
    refused(
        &["--globals", s(&link), "--dir", &work],
        &layout.work,
        s(&layout.work),
        "/work",
        s(&link),
    );
    // --globals names a link outside every grant (conf/globals.toml) to a file in a writable
    // directory (work/real.toml).
    let conf = layout.root.join("conf");
    std::fs::create_dir(&conf).unwrap();
    std::fs::write(layout.work.join("real.toml"), "TEST_UINT64 = 7\n").unwrap();
    let conf_globals = conf.join("globals.toml");
    std::os::unix::fs::symlink("../work/real.toml", &conf_globals).unwrap();
    refused(
        &["--globals", s(&conf_globals), "--dir", &work],
        &layout.work,
        s(&layout.work),
        "/work",
        s(&conf_globals),
    );
    // A read-write grant among others, given second, is found.
    refused(
        &[
            "--globals",
            globals,
            "--dir",
            &format!("{}::/w", s(&layout.work)),
            "--dir",
            &format!("{}::/d", s(&layout.data)),
        ],
        &layout.data,
        s(&layout.data),
        "/d",
        globals,
    );
    // Relative paths, from the working directory.
    let output = command(&["--globals", "globals.toml", "--dir", ".", GUEST])
        .current_dir(&layout.data)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert_eq!(
        String::from_utf8(output.stderr.clone()).unwrap(),
        refusal("globals.toml", &layout.data, ".", ".")
    );

    // What the guest cannot write is fine: the file's directory read-only, a grant below the
    // file's directory (WASI has no way up), or a grant beside it. The guest reads the file's
    // value, 7.
    let sub = layout.data.join("sub");
    std::fs::create_dir(&sub).unwrap();
    for dir in [
        format!("{}::/data::readonly", s(&layout.data)),
        format!("{}::/r::readonly", root),
        format!("{}::/sub", s(&sub)),
        work.clone(),
    ] {
        let output = run(&["--globals", globals, "--dir", &dir, GUEST]);
        assert_eq!(output.status.code(), Some(7), "--dir {dir}: {output:?}");
    }
    // A link in a read-only grant is fine too.
    let output = run(&[
        "--globals",
        s(&conf_globals),
        "--dir",
        &format!("{work}::readonly"),
        GUEST,
    ]);
    assert_eq!(output.status.code(), Some(7), "{output:?}");
}

#[test]
fn a_dir_mode_is_readonly_or_readwrite() {
    let layout = layout();
    let data = s(&layout.data);
    // Spelled out, read-write is as without a mode: the guest sees the directory (wasi.wat
    // exits with fd_prestat_get's errno, 0).
    let wasi = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/wat/wasi.wat");
    let output = run(&["--dir", &format!("{data}::/data::readwrite"), wasi]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    for bad in [
        format!("{data}::/data::ro"),
        format!("{data}::/data::readonly::x"),
    ] {
        let output = run(&["--dir", &bad, wasi]);
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        let stderr = String::from_utf8(output.stderr.clone()).unwrap();
        assert_eq!(
            stderr.lines().next(),
            Some(
                format!(
                    "error: invalid value '{bad}' for '--dir <HOST[::GUEST[::readonly]]>': \
                     expected HOST, HOST::GUEST or HOST::GUEST::readonly (or ::readwrite)"
                )
                .as_str()
            ),
            "{stderr}"
        );
    }
}

/// Issue 22, item 11: a guest refused by `TYPE_MISMATCH` traps with a bare `unreachable`; `run`
/// says which declaration was refused and why, before the trap.
#[test]
fn a_refused_declaration_is_named_in_the_trap() {
    let guest = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/wat/refused.wat");
    let output = run(&[guest]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    let error = stderr
        .lines()
        .find(|line| line.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line: {stderr}"));
    assert_eq!(
        error,
        "error: declaration of \"TEST_UINT64\" refused (slot 1 of the table at 0x400): the guest \
         declared it F64, it is already U64 (a live declaration, or a value of that type set)",
    );
    assert!(stderr.contains("unreachable"), "the trap follows: {stderr}");
}

/// Issue 24, item 9: `run --help` printed "unknown option" and exited 2; there was no
/// `--version`; `--` before the guest was refused; an option given twice silently kept the last.
#[test]
fn help_version_double_dash_and_repeated_options() {
    for args in [&["--help"][..], &["-h"], &["--globals", "x.toml", "--help"]] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {output:?}");
        assert!(
            stdout(&output).contains("Usage: wasmtime-global run [OPTIONS] <GUEST.wasm> [ARGS]..."),
            "{args:?}: {output:?}"
        );
    }
    let output = Command::new(env!("CARGO_BIN_EXE_wasmtime-global"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stdout(&output),
        format!(
            "wasmtime-global {} (globals ABI {})\n",
            env!("CARGO_PKG_VERSION"),
            wasmtime_global_abi::VERSION
        )
    );

    let output = run(&["--", GUEST]);
    assert_eq!(
        output.status.code(),
        Some(42),
        "`--` then the guest: {output:?}"
    );

    // Each single-valued option given twice, the same value or another: refused, naming it.
    let dir = tempfile::tempdir().unwrap();
    let path = file(dir.path(), "TEST_UINT64 = 7\n");
    let path = path.to_str().unwrap();
    for (option, value, other) in [
        ("--globals <FILE>", path, path),
        ("--globals <FILE>", "a.toml", "b.toml"),
        ("--invoke <EXPORT>", "wait_change", "_start"),
        ("--log <FILTER>", "off", "warn"),
        (
            "--etcd <ENDPOINTS>",
            "http://127.0.0.1:1",
            "http://127.0.0.1:2",
        ),
        ("--prefix <PREFIX>", "/a/", "/b/"),
    ] {
        let name = option.split(' ').next().unwrap();
        let output = run(&[name, value, name, other, GUEST]);
        assert_eq!(output.status.code(), Some(2), "{option}: {output:?}");
        assert_eq!(stdout(&output), "");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(
            stderr.starts_with(&format!(
                "error: the argument '{option}' cannot be used multiple times\n"
            )),
            "{stderr}"
        );
    }
}

const ARGS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/wat/args.wat");

/// The arguments `args.wat` was given, as it wrote them (each followed by a NUL byte), and its
/// exit code (their count).
fn guest_arguments(args: &[&str]) -> (Vec<String>, Option<i32>) {
    let output = run(args);
    let written = String::from_utf8(output.stdout).unwrap();
    let mut arguments: Vec<String> = written.split('\0').map(str::to_owned).collect();
    assert_eq!(arguments.pop().as_deref(), Some(""), "{written:?}");
    (arguments, output.status.code())
}

/// Issue 24, item 9: everything after the guest's path is the guest's, as in `wasmtime run`,
/// even what looks like an option of run's, `-h` or `--`; `--` before the path ends run's
/// options.
#[test]
fn arguments_after_the_guest_are_the_guests() {
    let (args, code) = guest_arguments(&[ARGS, "--x", "y"]);
    assert_eq!(args, [ARGS, "--x", "y"]);
    assert_eq!(code, Some(3));
    let (args, code) = guest_arguments(&[
        "--env",
        "A=1",
        ARGS,
        "--globals",
        "g.toml",
        "-h",
        "--help",
        "--",
        "-V",
        "--env",
        "B",
    ]);
    assert_eq!(
        args,
        [
            ARGS,
            "--globals",
            "g.toml",
            "-h",
            "--help",
            "--",
            "-V",
            "--env",
            "B"
        ]
    );
    assert_eq!(code, Some(9));
    let (args, code) = guest_arguments(&["--log", "off", "--", ARGS, "--x", "--", "y"]);
    assert_eq!(args, [ARGS, "--x", "--", "y"]);
    assert_eq!(code, Some(4));
    let (args, code) = guest_arguments(&[ARGS]);
    assert_eq!(args, [ARGS]);
    assert_eq!(code, Some(1));
}

/// `run` tells a component from a module by itself and runs it with WASI preview 2 and the
/// project's interface: as a `wasi:cli` command (its `run`'s result is the exit code) or through
/// `--invoke`; values come from the file, live (a version renamed over it while the component
/// spins in one call is its next read), and it gets its default back once the file drops it.
#[test]
fn a_component_reads_the_files_values_live() {
    let dir = tempfile::tempdir().unwrap();
    let invoke = |args: &[&str], export: &str| {
        let output = run(&[args, &["--log", "off", "--invoke", export, COMPONENT]].concat());
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        stdout(&output)
    };
    assert_eq!(invoke(&[], "max-items"), "10\n", "its default");
    let output = run(&[COMPONENT]);
    assert_eq!(output.status.code(), Some(1), "run fails at 10: {output:?}");

    let path = file(dir.path(), "MAX_ITEMS = 25\n");
    let globals = ["--globals", path.to_str().unwrap()];
    assert_eq!(invoke(&globals, "max-items"), "25\n");
    let output = run(&[&globals[..], &[COMPONENT]].concat());
    assert_eq!(
        output.status.code(),
        Some(0),
        "run succeeds at 25: {output:?}"
    );

    let child = command(&[&globals[..], &["--invoke", "wait-change", COMPONENT]].concat())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    file(dir.path(), "MAX_ITEMS = 30\n");
    let output = finish(child);
    assert_eq!(stdout(&output), "30\n", "{output:?}");

    file(dir.path(), "# no values\n");
    // The version that drops a name settles before it applies (50 ms).
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(invoke(&[], "max-items"), "10\n");
}

/// The README's WASI command (its Rust block with `fn main() {`), built as a crate of its own
/// for wasm32-wasip2 (the SDK by path, offline, as a guest author would), runs under `run` as a
/// component: the file's value, then its default.
#[test]
#[cfg_attr(
    component_skipped,
    ignore = "the wasm32-wasip2 target was not installed when the tests were built (rustup target add wasm32-wasip2)"
)]
#[cfg_attr(
    all(no_readme, not(component_skipped)),
    ignore = "no README here: a packaged crate"
)]
fn the_readme_command_runs_as_a_component() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("the README");
    let code = readme
        .split("```rust\n")
        .skip(1)
        .filter_map(|b| b.split_once("\n```").map(|(code, _)| code))
        .find(|code| code.contains("fn main() {"))
        .expect("the README's command");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("readme-command-cli");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let manifest = format!(
        "[package]\nname = \"app\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n\
         [dependencies]\nwasmtime-global-guest = {{ path = {:?} }}\n\n[workspace]\n",
        root.join("guest")
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(dir.join("src/main.rs"), format!("{code}\n")).unwrap();
    // The repository's guests' lock: the same versions, all in the local cache.
    std::fs::copy(
        root.join("test-programs/Cargo.lock"),
        dir.join("Cargo.lock"),
    )
    .unwrap();
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    // What the tests' own build set that a guest's build must not inherit.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_MAKEFLAGS",
    ] {
        cargo.env_remove(var);
    }
    let output = cargo
        .args([
            "build",
            "--offline",
            "--release",
            "--target",
            "wasm32-wasip2",
        ])
        .current_dir(&dir)
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "the README's command does not build:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let wasm = dir.join("target/wasm32-wasip2/release/app.wasm");
    let wasm = wasm.to_str().unwrap();
    let files = tempfile::tempdir().unwrap();
    let path = file(files.path(), "MAX_ITEMS = 25\n");
    let output = run(&["--log", "off", "--globals", path.to_str().unwrap(), wasm]);
    assert_eq!(stdout(&output), "MAX_ITEMS=25 BURST=2\n", "{output:?}");
    let output = run(&[wasm]);
    assert_eq!(stdout(&output), "MAX_ITEMS=10 BURST=2\n", "{output:?}");
}
