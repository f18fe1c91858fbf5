//! What the CLI's test binaries share: the real `wasmtime-global` binary run on the test
//! guests, and the globals file written as a source sees it (renamed into place).

#![allow(dead_code)] // each test binary uses a part

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A reactor and command that reads `TEST_UINT64` (`tests/wat/live.wat`).
pub const GUEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/wat/live.wat");

/// `wasmtime-global run` with `args`.
pub fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wasmtime-global"));
    command.arg("run").args(args);
    command
}

/// Runs `wasmtime-global run` with `args` to its end.
pub fn run(args: &[&str]) -> Output {
    command(args).output().expect("the command runs")
}

/// Writes `dir/globals.toml` as a new version renamed into place.
pub fn file(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("globals.toml");
    let tmp = dir.join("globals.new");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    path
}

/// Starts the guest as a reactor whose `wait_change` returns (and prints) `TEST_UINT64` once it
/// is no longer what it was, with `args` before it; stdout and stderr piped.
pub fn waiting(args: &[&str]) -> Child {
    command(&[args, &["--invoke", "wait_change", GUEST]].concat())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child` to exit, for at most 20 s.
pub fn finish(mut child: Child) -> Output {
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the guest did not exit within 20 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

/// The output's stdout as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// A component (written in text from `spec/wit/globals.wit` alone) that reads MAX_ITEMS through
/// the project's interface.
pub const COMPONENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/wat/component.wat");
