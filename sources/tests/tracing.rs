//! The file source's `tracing` events: a refused version is a warning that says why, an applied
//! one an info event. One test in its own binary: it installs the process's global subscriber,
//! since the events come from the watch's thread.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use wasmtime_global::Globals;
use wasmtime_global_sources::file::WatchedFile;

/// One event: target, level, and its fields as text.
type Seen = (String, Level, Vec<(String, String)>);

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Seen>>>);

struct Fields(Vec<(String, String)>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(Vec::new());
        event.record(&mut fields);
        let meta = event.metadata();
        self.0
            .lock()
            .unwrap()
            .push((meta.target().to_owned(), *meta.level(), fields.0));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

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
    let seen = recorder.0.lock().unwrap().clone();
    let ours: Vec<&Seen> = seen
        .iter()
        .filter(|(target, ..)| target == "wasmtime_global_sources::file")
        .collect();
    assert_eq!(ours.len(), 2, "{seen:?}");
    let field = |event: &Seen, name: &str| {
        event
            .2
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(ours[0].1, Level::INFO);
    assert_eq!(field(ours[0], "names"), "1");
    assert_eq!(ours[1].1, Level::WARN);
    assert!(
        field(ours[1], "error").starts_with("not TOML"),
        "{:?}",
        ours[1]
    );
    assert!(
        field(ours[1], "path").ends_with("globals.toml"),
        "{:?}",
        ours[1]
    );
}
