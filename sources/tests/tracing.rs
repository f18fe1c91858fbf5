//! The file source's `tracing` events: a refused version is a warning that says why, an applied
//! one an info event. One test in its own binary: it installs the process's global subscriber,
//! since the events come from the watch's thread.

use std::time::Duration;
use tracing::Level;
use wasmtime_global::Globals;
use wasmtime_global_sources::file::WatchedFile;
use wasmtime_global_test_support::recorder::Recorder;

#[test]
fn a_refused_version_is_a_warning_with_the_reason_and_an_applied_one_is_info() {
    let recorder = Recorder::default();
    tracing::subscriber::set_global_default(recorder.clone()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("globals.toml");
    std::fs::write(&path, "A = 1\n").unwrap();
    let watch = WatchedFile::start(&path, &Globals::new()).unwrap();
    std::fs::write(dir.path().join("new"), "A = [\n").unwrap();
    std::fs::rename(dir.path().join("new"), &path).unwrap();
    let (status, done) = watch.wait_for(Duration::from_secs(10), |s| s.failures == 1);
    assert!(done, "{status:?}");
    let ours = recorder.seen("wasmtime_global_sources::file");
    assert_eq!(ours.len(), 2, "{ours:?}");
    assert_eq!(ours[0].level, Level::INFO);
    assert_eq!(ours[0].field("names"), "1");
    assert_eq!(ours[1].level, Level::WARN);
    assert!(
        ours[1].field("error").starts_with("not TOML"),
        "{:?}",
        ours[1]
    );
    assert!(
        ours[1].field("path").ends_with("globals.toml"),
        "{:?}",
        ours[1]
    );
}
