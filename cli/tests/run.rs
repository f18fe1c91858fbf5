//! `wasmtime-global run`: a WASI guest with live globals from a file and from a real etcd.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
// The workspace's etcd harness (`tests/src/etcd.rs`), linked here so that the packaged crate's
// tests build on their own.
#[path = "support/etcd.rs"]
#[allow(dead_code)]
mod etcd;

use etcd::Etcd;

const GUEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/wat/live.wat");

fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wasmtime-global"));
    command.arg("run").args(args);
    command
}

fn run(args: &[&str]) -> Output {
    command(args).output().expect("the command runs")
}

fn file(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("globals.toml");
    let tmp = dir.join("globals.new");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    path
}

/// Waits for `child` to exit, for at most 20 s.
fn finish(mut child: Child) -> Output {
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the guest never saw the change");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

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
    let child = command(&[
        "--globals",
        path.to_str().unwrap(),
        "--invoke",
        "wait_change",
        GUEST,
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    file(dir.path(), "TEST_UINT64 = 9\n");
    let output = finish(child);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(stdout(&output), "9\n");
}

#[test]
fn bad_usage_and_a_bad_file_stop_before_the_guest() {
    let output = run(&["--etcd", "http://127.0.0.1:1", GUEST]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--etcd and --prefix go together"));
    let output = run(&["--globals", "/nonexistent/globals.toml", GUEST]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cannot read /nonexistent/globals.toml")
    );
    let output = run(&["--invoke", "nothing", GUEST]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn etcd_values_reach_the_guest_and_the_file_overrides_them() {
    let etcd = match Etcd::start() {
        Ok(etcd) => etcd,
        Err(why) => return eprintln!("skipped: {why}"),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut client = runtime
        .block_on(etcd_client::Client::connect([etcd.endpoint()], None))
        .unwrap();
    runtime
        .block_on(client.put("/app/TEST_UINT64", "5", None))
        .unwrap();
    let endpoint = etcd.endpoint();
    let fleet = ["--etcd", endpoint.as_str(), "--prefix", "/app/"];
    let output = run(&[&fleet[..], &[GUEST]].concat());
    assert_eq!(output.status.code(), Some(5), "{output:?}");

    let dir = tempfile::tempdir().unwrap();
    let path = file(dir.path(), "TEST_UINT64 = 3\n");
    let local = ["--globals", path.to_str().unwrap()];
    let output = run(&[&fleet[..], &local, &[GUEST]].concat());
    assert_eq!(output.status.code(), Some(3), "the file wins: {output:?}");

    // Live: a reactor spinning until the value is not 7 sees a put.
    runtime
        .block_on(client.put("/app/TEST_UINT64", "7", None))
        .unwrap();
    let child = command(&[&fleet[..], &["--invoke", "wait_change", GUEST]].concat())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    runtime
        .block_on(client.put("/app/TEST_UINT64", "11", None))
        .unwrap();
    let output = finish(child);
    assert_eq!(stdout(&output), "11\n", "{output:?}");
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
}

/// The README's line of the command `cargo run … -- run …`, split into the command's arguments
/// (after `--`); `None` in a package, which has no README.
fn readme_run_arguments() -> Option<Vec<String>> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"));
    let line = readme
        .ok()?
        .lines()
        .find(|l| l.starts_with("cargo run --locked -p wasmtime-global-cli -- run "))?
        .to_owned();
    Some(
        line.split_once(" -- ")?
            .1
            .split_whitespace()
            .skip(1)
            .map(str::to_owned)
            .collect(),
    )
}

/// The README's `run` command, with its file, etcd and guest made real: the file's value
/// reaches the guest (a command that exits with it).
#[test]
fn the_readme_run_command_runs() {
    let Some(args) = readme_run_arguments() else {
        return eprintln!("skipped: no README (a packaged crate)");
    };
    let etcd = match Etcd::start() {
        Ok(etcd) => etcd,
        Err(why) => return eprintln!("skipped: {why}"),
    };
    let dir = tempfile::tempdir().unwrap();
    let path = file(dir.path(), "TEST_UINT64 = 3\n");
    let endpoint = etcd.endpoint();
    let real: Vec<&str> = args
        .iter()
        .map(|arg| match arg.as_str() {
            "globals.toml" => path.to_str().unwrap(),
            "http://10.0.0.1:2379" => endpoint.as_str(),
            "guest.wasm" => GUEST,
            other => other,
        })
        .collect();
    assert_eq!(
        real.iter()
            .filter(|a| args.contains(&a.to_string()))
            .count(),
        args.len() - 3,
        "the README's command changed: {args:?}"
    );
    let output = run(&real);
    assert_eq!(output.status.code(), Some(3), "{output:?}");
}
