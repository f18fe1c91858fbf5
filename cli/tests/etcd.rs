//! `wasmtime-global run --etcd`: values from a real etcd (started on loopback ports by the
//! workspace's test support) reach modules and components, and the file overrides them. Not in
//! the published package: the test-support crate is the workspace's own.

use std::time::Duration;
use wasmtime_global_test_support::etcd::Etcd;

mod common;

use common::{COMPONENT, GUEST, file, finish, run, stdout, waiting};

/// A real etcd and a client of it.
struct Server {
    etcd: Etcd,
    runtime: tokio::runtime::Runtime,
    client: Option<etcd_client::Client>,
}

impl Server {
    /// Starts etcd; these tests are ignored where the build found none.
    fn start() -> Server {
        let etcd = match Etcd::start() {
            Ok(etcd) => etcd,
            Err(why) => panic!("etcd was found when the tests were built, and now: {why}"),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        Server {
            etcd,
            runtime,
            client: None,
        }
    }

    fn endpoint(&self) -> String {
        self.etcd.endpoint()
    }

    fn put(&mut self, key: &str, value: &str) {
        let endpoint = self.etcd.endpoint();
        let runtime = &self.runtime;
        let client = self.client.get_or_insert_with(|| {
            runtime
                .block_on(etcd_client::Client::connect([endpoint], None))
                .unwrap()
        });
        runtime.block_on(client.put(key, value, None)).unwrap();
    }
}

#[test]
#[cfg_attr(
    etcd_skipped,
    ignore = "no etcd server when the tests were built (the README's test command installs etcd)"
)]
fn etcd_values_reach_the_guest_and_the_file_overrides_them() {
    let mut etcd = Server::start();
    etcd.put("/app/TEST_UINT64", "5");
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
    etcd.put("/app/TEST_UINT64", "7");
    let child = waiting(&fleet);
    std::thread::sleep(Duration::from_millis(500));
    etcd.put("/app/TEST_UINT64", "11");
    let output = finish(child);
    assert_eq!(stdout(&output), "11\n", "{output:?}");
    // The list at start and the put's revision, each said on stderr (issue 22, item 9).
    let stderr = String::from_utf8_lossy(&output.stderr);
    let applied = stderr
        .lines()
        .filter(|l| l.contains("INFO") && l.contains("applied an etcd revision"))
        .count();
    assert_eq!(applied, 2, "{stderr}");
}

/// The README's line of the command `cargo run … -- run …`, split into the command's arguments
/// (after `--`).
fn readme_run_arguments() -> Vec<String> {
    let readme = include_str!("../../README.md");
    let line = readme
        .lines()
        .find(|l| l.starts_with("cargo run --locked -p wasmtime-global-cli -- run "))
        .expect("the README shows `run`");
    let (_, args) = line
        .split_once(" -- ")
        .expect("the README's line has ` -- `");
    args.split_whitespace().skip(1).map(str::to_owned).collect()
}

/// The README's `run` command, with its file, etcd and guest made real: the file's value
/// reaches the guest (a command that exits with it).
#[test]
#[cfg_attr(
    etcd_skipped,
    ignore = "no etcd server when the tests were built (the README's test command installs etcd)"
)]
fn the_readme_run_command_runs() {
    let args = readme_run_arguments();
    let etcd = Server::start();
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

/// A component run with `--etcd` reads the etcd prefix's values through the project's
/// interface, as a module does.
#[test]
#[cfg_attr(
    etcd_skipped,
    ignore = "no etcd server when the tests were built (the README's test command installs etcd)"
)]
fn a_component_reads_etcds_values() {
    let mut etcd = Server::start();
    etcd.put("/app/MAX_ITEMS", "12");
    let endpoint = etcd.endpoint();
    let fleet = ["--etcd", endpoint.as_str(), "--prefix", "/app/"];
    let output = run(&[&fleet[..], &["--invoke", "max-items", COMPONENT]].concat());
    assert_eq!(stdout(&output), "12\n", "{output:?}");
    let output = run(&[&fleet[..], &[COMPONENT]].concat());
    assert_eq!(
        output.status.code(),
        Some(0),
        "run succeeds at 12: {output:?}"
    );
}
